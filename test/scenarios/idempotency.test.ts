import { DescribeReplicationGroupsCommand, ListTagsForResourceCommand } from '@aws-sdk/client-elasticache';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MigrationState } from '../../lambdas/migration/state.js';
import {
  callStep,
  fleet,
  migrateThroughFlip,
  pollStep,
  startWorkflowBed,
  type WorkflowBed,
  ZONE_ID,
} from '../support/workflow.js';

let bed: WorkflowBed;
beforeAll(async () => {
  bed = await startWorkflowBed();
});
afterAll(() => bed.stop());
beforeEach(() => bed.sandbox.reset(fleet()));

const call = (fn: string, event: unknown) => callStep(bed, fn, event);
const until = (fn: string, action: string, state: MigrationState, done: (s: MigrationState) => boolean) =>
  pollStep(bed, fn, action, state, done);

const input = {
  sourceReplicationGroupId: 'orders',
  dnsRecords: [
    { hostedZoneId: ZONE_ID, recordName: 'orders.example.internal', endpoint: 'primary', lowerTtlTo: 30 },
  ],
};

/** What an operator would look at: groups, snapshots, the CNAME, the source's tags. */
async function world() {
  const out = await bed.elasticache.send(new DescribeReplicationGroupsCommand({}));
  const source = out.ReplicationGroups?.find((g) => g.ReplicationGroupId === 'orders');
  // ElastiCache lists tags only while a group is available; in other states the operator's view
  // is the sandbox's own record of them.
  const sourceTags =
    source?.Status === 'available'
      ? (await bed.elasticache.send(new ListTagsForResourceCommand({ ResourceName: source.ARN }))).TagList
      : source
        ? [...(bed.sandbox.elasticache.groups.get('orders')?.tags ?? [])].map(([Key, Value]) => ({
            Key,
            Value,
          }))
        : undefined;
  return {
    groups: await bed.groupIds(),
    snapshots: await bed.snapshotNames(),
    cname: await bed.cname('orders.example.internal.'),
    sourceTags,
  };
}

/**
 * Ignores timings, and the id of a re-submitted Route 53 change: an identical UPSERT sent twice
 * leaves the same records but gets a new change id (only its presence matters).
 */
function comparable(state: MigrationState) {
  const { steps: _steps, deadlines: _deadlines, ...rest } = structuredClone(state);
  if (rest.progress.dns?.pendingChangeId) rest.progress.dns.pendingChangeId = 'a pending change';
  if (rest.summary) rest.summary.stepSeconds = {};
  return rest;
}

/** Runs an action twice on the same input (a retry after a lost response) and checks both agree. */
async function twice(
  fn: string,
  event: { action?: string; state?: MigrationState } & Record<string, unknown>,
  options: { clockRuns?: boolean } = {},
) {
  // Simulated time stands still between the two calls, so any difference is the repeat's doing;
  // except for a step that waits on AWS itself (the snapshot step waits out the `modifying` of
  // its tag change), where it must run.
  if (!options.clockRuns) bed.sandbox.clock.pause();
  try {
    const first = await call(fn, event);
    const after1 = await world();
    const second = await call(fn, event);
    expect(comparable(second)).toEqual(comparable(first));
    expect(await world()).toEqual(after1);
    return second;
  } finally {
    bed.sandbox.clock.resume();
  }
}

describe('every step, run twice in a row on the same input, reaches the same state', () => {
  it('from preflight to the finished migration', async () => {
    let state = await twice('preflight', { input, migrationId: 'twice-1' });
    state = await twice('snapshot', { action: 'start', state }, { clockRuns: true });
    expect((await world()).snapshots).toHaveLength(1);
    state = await until('snapshot', 'check', state, (s) => s.progress.snapshotReady === true);
    state = await twice('snapshot', { action: 'check', state });

    state = await twice('restore', { action: 'start', state });
    expect((await world()).groups).toEqual(['orders', 'orders-atrest', 'sessions']);
    state = await until('restore', 'check', state, (s) => s.progress.targetReady === true);
    state = await twice('restore', { action: 'check', state });
    state = await twice('verify-target', { action: 'verify', state });

    state = await twice('cutover', { action: 'prepare', state });
    state = await until('cutover', 'check-change', state, (s) => s.progress.dns?.changeInSync === true);
    state = await twice('cutover', { action: 'flip', state });
    state = await until('cutover', 'check-change', state, (s) => s.progress.dns?.changeInSync === true);
    state = await twice('cutover', { action: 'confirm', state });

    state = await twice('decommission', { action: 'start', state });
    state = await until('decommission', 'check', state, (s) => s.progress.sourceDeleted === true);
    state = await twice('decommission', { action: 'check', state });
    state = await twice('decommission', { action: 'finish', state });

    expect(state.outcome).toBe('migrated');
    expect(await world()).toEqual({
      groups: ['orders-atrest', 'sessions'],
      snapshots: [state.plan!.finalSnapshotName],
      cname: expect.stringContaining('orders-atrest'),
      sourceTags: undefined,
    });
  });

  it('for every pass of the rollback after a flip', async () => {
    const state = await migrateThroughFlip(bed, input, 'twice-2');
    const original = state.plan!.dns[0]!.originalValue;
    expect(await bed.cname('orders.example.internal.')).not.toBe(original);

    const failed = {
      ...state,
      failure: { Error: 'ApprovalRejectedError', Cause: 'test' },
      rollbackScope: { dns: true },
    };
    // The rollback is a reconciler: a pass run twice may find that time moved things on (a group
    // finished deleting), so the second run may be further along, never behind, and never fails.
    let current: MigrationState = failed;
    for (let pass = 0; pass < 400 && !current.progress.rollback?.done; pass++) {
      const first = await call('rollback', { action: 'step', state: current });
      const second = await call('rollback', { action: 'step', state: current });
      for (const [flag, value] of Object.entries(first.progress.rollback ?? {})) {
        if (value === true) expect(second.progress.rollback, flag).toHaveProperty(flag, true);
      }
      current = second;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(current.progress.rollback?.done).toBe(true);
    expect(await world()).toEqual({
      groups: ['orders', 'sessions'],
      // The new group served clients after the flip: it went with a final snapshot, once.
      snapshots: [`orders-atrest-final-${state.plan!.shortId}`],
      cname: original,
      // The owner's tags stay; the migration's claim is gone.
      sourceTags: [
        { Key: 'team', Value: 'payments' },
        { Key: 'env', Value: 'prod' },
      ],
    });
  });
});
