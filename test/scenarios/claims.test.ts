import { ListTagsForResourceCommand } from '@aws-sdk/client-elasticache';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MigrationState, MigrationSummary } from '../../lambdas/migration/state.js';
import { SOURCE_ARN } from '../support/fault-matrix.js';
import {
  callStep,
  fleet,
  pollStep,
  startWorkflowBed,
  type WorkflowBed,
  ZONE_ID,
} from '../support/workflow.js';

/**
 * The exclusive claim of a source: of executions started together for one source, exactly one
 * proceeds (a conditional write in the migrations table, served by dynalite in the sandbox), the
 * others fail with MigrationInProgressError before they change anything, and the claim is gone
 * once the winner finishes or rolls back.
 */
let bed: WorkflowBed;
beforeAll(async () => {
  bed = await startWorkflowBed();
});
afterAll(() => bed.stop());
beforeEach(() => bed.sandbox.reset(fleet()));

const N = 5;
const RECORDS = [
  { hostedZoneId: ZONE_ID, recordName: 'orders.example.internal', endpoint: 'primary' },
  { hostedZoneId: ZONE_ID, recordName: 'orders-ro.example.internal', endpoint: 'reader' },
];
const ORIGINAL = {
  primary: 'orders.eb805c.ng.0001.use1.cache.amazonaws.com',
  reader: 'orders-ro.eb805c.ng.0001.use1.cache.amazonaws.com',
};

/** Everything a migration may change: groups, snapshots, both CNAMEs, the source's tags, claims. */
async function world() {
  const groups = await bed.groupIds();
  const sourceTags = groups.includes('orders')
    ? (await bed.elasticache.send(new ListTagsForResourceCommand({ ResourceName: SOURCE_ARN }))).TagList
    : undefined;
  return {
    groups,
    snapshots: await bed.snapshotNames(),
    primary: await bed.cname('orders.example.internal.'),
    reader: await bed.cname('orders-ro.example.internal.'),
    sourceTags,
    claims: await bed.sandbox.dynamodb.claims(),
  };
}

const OWNER_TAGS = [
  { Key: 'team', Value: 'payments' },
  { Key: 'env', Value: 'prod' },
];

/** What one migration alone leaves behind, from its own output (the summary). */
function madeByWinnerAlone(summary: MigrationSummary, dns: boolean, deleteSource: boolean) {
  const target = summary.target.id;
  const endpoint = (kind: 'primary' | 'reader') => summary.target.endpoints[kind] ?? `no ${kind} endpoint`;
  return {
    groups: (deleteSource ? [target, 'sessions'] : ['orders', target, 'sessions']).sort(),
    snapshots: deleteSource ? [summary.source.finalSnapshotName] : [],
    primary: dns ? endpoint('primary') : ORIGINAL.primary,
    reader: dns ? endpoint('reader') : ORIGINAL.reader,
    sourceTags: deleteSource ? undefined : OWNER_TAGS,
    claims: [],
  };
}

describe(`${N} executions started at once for one source`, () => {
  it.each([
    ['the same input, with DNS records', true, false, true],
    ['the same input, without DNS records, keeping the source', false, false, false],
    ['different target ids, with DNS records', true, true, true],
    ['different target ids, without DNS records, keeping the source', false, true, false],
  ])(
    '%s: exactly one proceeds, the others change nothing',
    async (_what, dns, distinctTargets, deleteSource) => {
      const before = await world();
      expect(before.claims).toEqual([]);
      const results = await Promise.all(
        Array.from({ length: N }, (_, i) =>
          bed.run({
            sourceReplicationGroupId: 'orders',
            ...(distinctTargets ? { targetReplicationGroupId: `orders-enc-${i}` } : {}),
            ...(dns ? { dnsRecords: RECORDS } : {}),
            deleteSource,
          }),
        ),
      );
      const winners = results.filter((r) => r.status === 'SUCCEEDED');
      const losers = results.filter((r) => r.status !== 'SUCCEEDED');
      expect(
        winners.length,
        results.map((r) => `${r.status} ${r.error ?? ''} ${r.cause ?? ''}`).join('\n'),
      ).toBe(1);
      for (const loser of losers) {
        expect(loser.error, loser.cause).toBe('MigrationInProgressError');
        expect(loser.cause).toContain(`already being migrated by execution '${winners[0]!.executionName}'`);
        // Refused at preflight: no rollback ran, nothing was created for it.
        expect(loser.events.some((e) => e.state?.name === 'RollBackChanges')).toBe(false);
      }
      const summary = winners[0]!.output as MigrationSummary;
      expect(summary.migrationId).toBe(winners[0]!.executionName);
      if (distinctTargets) expect(summary.target.id).toMatch(/^orders-enc-\d$/);
      expect(await world()).toEqual(madeByWinnerAlone(summary, dns, deleteSource));
    },
  );
});

describe('the claim item', () => {
  const input = { sourceReplicationGroupId: 'orders', dnsRecords: [RECORDS[0]] };

  it("is held while a migration runs; a loser's failure and a loser's rollback leave it in place", async () => {
    const winner = await callStep(bed, 'preflight', {
      input,
      migrationId: 'winner',
      executionArn: 'arn:aws:states:us-east-1:123456789012:execution:local:winner',
    });
    const started = await callStep(bed, 'snapshot', { action: 'start', state: winner });
    const held = {
      pk: SOURCE_ARN,
      owner: 'winner',
      executionArn: 'arn:aws:states:us-east-1:123456789012:execution:local:winner',
      sourceReplicationGroupId: 'orders',
      claimedAt: expect.any(String),
    };
    expect(await bed.sandbox.dynamodb.claims()).toEqual([held]);

    const loser = await bed.run(input);
    expect(loser.error, loser.cause).toBe('MigrationInProgressError');
    expect(loser.cause).toContain("'winner' (arn:aws:states:us-east-1:123456789012:execution:local:winner)");
    expect(loser.cause).toContain("takeOverStaleClaim: 'winner'");
    const during = await world();
    expect(during.claims).toEqual([held]);

    // Were a loser ever to reach the rollback (its own plan, the same source), it releases only
    // what is its own: the winner's claim item and claim tags stay.
    const loserState = structuredClone(winner);
    loserState.migrationId = 'loser';
    loserState.plan!.migrationId = 'loser';
    loserState.plan!.snapshotName = 'orders-mig-loser';
    const rolledBack = await pollStep(
      bed,
      'rollback',
      'step',
      { ...loserState, failure: { Error: 'SnapshotFailedError', Cause: 'test' } } as MigrationState,
      (s) => s.progress.rollback?.done === true,
    );
    expect(rolledBack.progress.rollback?.done).toBe(true);
    expect(await world()).toEqual(during);

    // The winner's own rollback releases it.
    await pollStep(
      bed,
      'rollback',
      'step',
      { ...started, failure: { Error: 'SnapshotFailedError', Cause: 'test' } } as MigrationState,
      (s) => s.progress.rollback?.done === true,
    );
    expect(await world()).toMatchObject({
      claims: [],
      sourceTags: OWNER_TAGS,
      groups: ['orders', 'sessions'],
    });
  });

  it('is gone after a migration rolls back', async () => {
    bed.sandbox.injectFaults({
      type: 'api-error',
      service: 'elasticache',
      operation: 'CreateSnapshot',
      code: 'AccessDenied',
      times: 'always',
    });
    const result = await bed.run(input);
    expect(result.error, result.cause).toBe('AccessDenied');
    expect(result.events.some((e) => e.state?.name === 'RollBackChanges')).toBe(true);
    expect(await world()).toMatchObject({
      claims: [],
      sourceTags: OWNER_TAGS,
      groups: ['orders', 'sessions'],
    });
  });

  it('of a dead execution refuses the next migration until an operator takes it over', async () => {
    // An execution that claimed the source and died (its rollback never ran).
    const dead = await callStep(bed, 'preflight', { input, migrationId: 'dead-1' });
    await callStep(bed, 'snapshot', { action: 'start', state: dead });

    const refused = await bed.run(input);
    expect(refused.error, refused.cause).toBe('MigrationInProgressError');
    expect(refused.cause).toContain("execution 'dead-1'");
    const wrongTakeOver = await bed.run({ ...input, takeOverStaleClaim: 'someone-else' });
    expect(wrongTakeOver.error, wrongTakeOver.cause).toBe('MigrationInProgressError');

    const takeOver = await bed.run({ ...input, takeOverStaleClaim: 'dead-1' });
    expect(takeOver.status, takeOver.cause).toBe('SUCCEEDED');
    expect((await world()).claims).toEqual([]);
  });
});
