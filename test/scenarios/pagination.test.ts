import {
  CreateSnapshotCommand,
  DescribeReplicationGroupsCommand,
  DescribeSnapshotsCommand,
} from '@aws-sdk/client-elasticache';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executionHistory, listExecutions, listStateMachines } from '../../cli/aws.js';
import { getMigration } from '../../lambdas/api/migrations.js';
import { nodesInRegion } from '../../lambdas/fleet/admit.js';
import { readHistory } from '../../lambdas/handlers/fleet-record.js';
import { changeTrackingStatus, enableChangeTracking } from '../../lambdas/migration/change-tracking.js';
import type { MigrationState, MigrationSummary } from '../../lambdas/migration/state.js';
import type { FixtureInput } from '../../sandbox/index.js';
import { localFunctionArn } from '../../sandbox/workflow.js';
import { causeText } from '../support/fault-matrix.js';
import { fleet, startWorkflowBed, type WorkflowBed, ZONE_ID } from '../support/workflow.js';

const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:MigrateReplicationGroup';
const ROLLBACK = 'arn:aws:states:us-east-1:123456789012:stateMachine:RollbackStoppedMigration';

/**
 * Every list the workflow reads, held on many pages. The fixture's `pageSize: 1` makes the sandbox
 * answer one item a page whatever MaxRecords/MaxItems asks, so anything but the first item of a
 * list is on page 2 or later: a call site that reads only the first page misses it, and the
 * assertions below say what a user would then see (a record left on the old group, a quota
 * refusal missed, a false headroom warning, a shared parameter group not named, a short count of
 * nodes, a fleet missing groups). docs/aws-behaviour.md: Paging.
 *
 * Each call site was checked by making it read only its first page, which fails the test named:
 * findRecord (lambdas/migration/aws.ts) and listAlarms (lambdas/migration/alarms.ts): "flips
 * both records"; readHeadroomParameters and readManualSnapshots (preflight/reads.ts): "reads
 * reserved-memory-percent", "counts manual backups"; parametersOf and otherUsers
 * (change-tracking.ts): "finds notify-keyspace-events"; nodesInRegion (fleet/admit.ts) and
 * listGroups (fleet/discover.ts): the fleet tests; readExecution (api/migrations.ts), readHistory
 * (handlers/fleet-record.ts) and cli/aws.ts's listStateMachines, listExecutions and
 * executionHistory: "the API's GET"; recoverStoppedMigration: "the rollback of a stopped migration".
 */
function world(
  options: { reservedMemoryPercent?: string; keyspaceEvents?: string; alarms?: boolean } = {},
): FixtureInput {
  const base = fleet({ orders: { parameterGroup: 'shared-pg' } });
  const groups = base.elasticache?.replicationGroups ?? [];
  return {
    ...base,
    pageSize: 1,
    // DescribeAlarms pages at 100 (MaxRecords) whatever pageSize says: 120 alarms of another group
    // sort before the source's one, which is then on page 2.
    ...(options.alarms
      ? {
          cloudwatch: {
            alarms: [
              ...Array.from({ length: 120 }, (_, i) => ({
                name: `aaa-filler-${String(i).padStart(3, '0')}`,
                metricName: 'CurrConnections',
                dimensions: { CacheClusterId: 'zz-other-001' },
                threshold: 1000,
              })),
              {
                name: 'orders-memory',
                metricName: 'DatabaseMemoryUsagePercentage',
                dimensions: { ReplicationGroupId: 'orders' },
                threshold: 75,
              },
            ],
          },
        }
      : {}),
    elasticache: {
      ...base.elasticache,
      // `zz-other` shares the source's parameter group; its node sorts last (the last page).
      replicationGroups: [
        ...groups,
        { id: 'zz-other', engineVersion: '7.1', replicasPerShard: 0, parameterGroup: 'shared-pg' },
      ],
      parameterGroups: [
        {
          name: 'shared-pg',
          family: 'redis7',
          parameters: {
            'reserved-memory-percent': options.reservedMemoryPercent ?? '25',
            ...(options.keyspaceEvents === undefined
              ? {}
              : { 'notify-keyspace-events': options.keyspaceEvents }),
          },
        },
      ],
    },
  };
}

let bed: WorkflowBed;
let sfn: SFNClient;
beforeAll(async () => {
  bed = await startWorkflowBed(world());
  sfn = new SFNClient({
    endpoint: bed.sandbox.endpoint,
    region: bed.sandbox.region,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
});
afterAll(async () => {
  sfn?.destroy();
  await bed.stop();
});

async function settled(executionArn: string): Promise<DescribeExecutionCommandOutput> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const out = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (out.status !== 'RUNNING') return out;
    if (Date.now() > deadline) throw new Error(`${executionArn} still running`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const primaryRecord = { hostedZoneId: ZONE_ID, recordName: 'orders.example.internal', endpoint: 'primary' };
const readerRecord = { hostedZoneId: ZONE_ID, recordName: 'orders-ro.example.internal', endpoint: 'reader' };

describe('the migration with one item a page', () => {
  it('flips both records, which sort after the zone apex, carries over the alarm on page 2, and deletes the source', async () => {
    await bed.sandbox.reset(world({ alarms: true }));
    const result = await bed.run({
      sourceReplicationGroupId: 'orders',
      dnsRecords: [primaryRecord, readerRecord],
    });
    expect(result.error, causeText(result.cause)).toBeUndefined();
    const target = bed.sandbox.elasticache.groups.get('orders-atrest');
    expect(target).toBeDefined();
    expect(await bed.cname('orders.example.internal.')).toContain('orders-atrest');
    expect(await bed.cname('orders-ro.example.internal.')).toContain('orders-atrest');
    expect(await bed.cname('sessions.example.internal.')).not.toContain('orders');
    expect(await bed.groupIds()).toEqual(['orders-atrest', 'sessions', 'zz-other']);
    // The source's alarm, on page 2 of DescribeAlarms, was carried over and removed with the source.
    expect((result.output as MigrationSummary).alarms).toMatchObject({
      copied: [{ from: 'orders-memory', name: 'at-rest-migrator/orders-atrest/orders-memory' }],
      sourceAlarmsDeleted: ['orders-memory'],
    });
  });

  it('reads reserved-memory-percent from the last page of the parameters: no headroom warning at 25, a warning at 10', async () => {
    await bed.sandbox.reset(world());
    const enough = (await bed.run({ sourceReplicationGroupId: 'orders', dryRun: true }))
      .output as MigrationState;
    expect(enough.plan!.warnings.filter((w) => /headroom/i.test(w))).toEqual([]);
    await bed.sandbox.reset(world({ reservedMemoryPercent: '10' }));
    const low = (await bed.run({ sourceReplicationGroupId: 'orders', dryRun: true }))
      .output as MigrationState;
    expect(low.plan!.warnings.join('\n')).toMatch(
      /reserved-memory-percent is 10 in parameter group 'shared-pg'/,
    );
  });

  it('counts manual backups on every page: 20 of a node spread over 20 pages use up its quota', async () => {
    await bed.sandbox.reset({ ...world(), timeScale: 0 });
    const snapshot = async (name: string) => {
      await bed.elasticache.send(
        new CreateSnapshotCommand({ SnapshotName: name, CacheClusterId: 'orders-002' }),
      );
      for (;;) {
        const out = await bed.elasticache.send(new DescribeSnapshotsCommand({ SnapshotName: name }));
        if (out.Snapshots?.[0]?.SnapshotStatus === 'available') return;
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    };
    for (let i = 1; i <= 19; i++) await snapshot(`orders-manual-${String(i).padStart(2, '0')}`);
    const under = await bed.run({ sourceReplicationGroupId: 'orders', dryRun: true });
    expect(under.error, causeText(under.cause)).toBeUndefined();
    await snapshot('orders-manual-20');
    const over = await bed.run({ sourceReplicationGroupId: 'orders', dryRun: true });
    expect(over.error).toBe('SnapshotQuotaError');
    expect(causeText(over.cause)).toMatch(/orders-002 already has 20 manual backups/);
  });
});

describe('change tracking with one item a page', () => {
  it('finds notify-keyspace-events on a later page, and names the group sharing the parameter group from the last page', async () => {
    await bed.sandbox.reset(world({ keyspaceEvents: 'KEA' }));
    const source = (
      await bed.elasticache.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: 'orders' }))
    ).ReplicationGroups![0]!;
    expect(await changeTrackingStatus(bed.elasticache, source)).toMatchObject({
      parameterGroup: 'shared-pg',
      notifyKeyspaceEvents: 'KEA',
      covers: true,
    });
    await bed.sandbox.reset(world());
    const enabled = await enableChangeTracking(bed.elasticache, {
      groupId: 'orders',
      migrationShortId: 'p1',
    });
    expect(enabled.warnings.join('\n')).toMatch(/shared-pg is shared with zz-other/);
  });
});

describe('the fleet batch with one item a page', () => {
  it('counts every node of the Region for admission', async () => {
    await bed.sandbox.reset(world());
    // orders: primary + 2 replicas; sessions: 3 shards of 2; zz-other: 1.
    expect(await nodesInRegion(bed.elasticache)).toBe(10);
  });

  it('discovers every replication group of the Region', async () => {
    await bed.sandbox.reset(world());
    const discover = bed.handlers[localFunctionArn('fleet-discover')];
    expect(discover).toBeDefined();
    const result = (await discover!({ input: { dryRun: true }, executionName: 'pages-batch' })) as {
      counts: Record<string, number>;
      items: { groupId: string }[];
    };
    const total = Object.values(result.counts).reduce((a, b) => a + b, 0);
    expect(total).toBe(3);
  });
});

describe('Step Functions with one item a page', () => {
  it("the API's GET of a migration, the fleet recorder and the operator CLI read whole histories and lists", async () => {
    await bed.sandbox.reset(world());
    const started = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: MACHINE,
        name: 'pages-dry-run',
        input: JSON.stringify({ sourceReplicationGroupId: 'orders', dryRun: true }),
      }),
    );
    expect((await settled(started.executionArn!)).status).toBe('SUCCEEDED');
    const details = await getMigration({ sfn, stateMachineArn: MACHINE } as never, 'pages-dry-run');
    // Steps are the Task and Wait states: a dry run has one.
    expect(details.steps.map((s) => s.name)).toEqual(['RunPreflight']);
    expect(details.currentStep).toBe('DryRunPlan');
    // The fleet's recorder reads a child's history the same way, for its timeline.
    const history = await readHistory(started.executionArn!);
    expect(history[0]?.type).toBe('ExecutionStarted');
    expect(history.at(-1)?.type).toBe('ExecutionSucceeded');
    expect(history.filter((e) => e.stateEnteredEventDetails?.name === 'RunPreflight')).toHaveLength(1);

    // The operator CLI's reads (cli/aws.ts): every state machine, execution and event.
    const second = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: MACHINE,
        name: 'pages-dry-run-2',
        input: JSON.stringify({ sourceReplicationGroupId: 'sessions', dryRun: true }),
      }),
    );
    await settled(second.executionArn!);
    expect((await listStateMachines(sfn)).map((m) => m.name).sort()).toEqual([
      'MigrateFleet',
      'MigrateReplicationGroup',
      'RollbackStoppedMigration',
    ]);
    expect((await listExecutions(sfn, MACHINE)).map((e) => e.name).sort()).toEqual([
      'pages-dry-run',
      'pages-dry-run-2',
    ]);
    const cliHistory = await executionHistory(sfn, started.executionArn!);
    expect(cliHistory.map((e) => e.type)).toEqual(history.map((e) => e.type));
  });

  it('the rollback of a stopped migration finds its last state document pages back, and removes what it made', async () => {
    await bed.sandbox.reset(world());
    const started = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: MACHINE,
        name: 'pages-stop',
        input: JSON.stringify({
          sourceReplicationGroupId: 'orders',
          dnsRecords: [primaryRecord],
          verification: { mode: 'off' },
          approvals: { beforeCutover: true },
          pollIntervalSeconds: 1,
        }),
      }),
    );
    const deadline = Date.now() + 60_000;
    while (!bed.sandbox.elasticache.groups.get('orders-atrest') || (await bed.snapshotNames()).length === 0) {
      if (Date.now() > deadline) throw new Error('the migration never reached its restore');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await sfn.send(new StopExecutionCommand({ executionArn: started.executionArn! }));
    let rollbacks: { executionArn?: string }[] = [];
    for (;;) {
      rollbacks = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: ROLLBACK }))).executions ?? [];
      if (rollbacks.length > 0) break;
      if (Date.now() > deadline) throw new Error('no rollback started');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const rollback = await settled(rollbacks[0]!.executionArn!);
    expect(rollback.status, rollback.cause).toBe('SUCCEEDED');
    expect(JSON.parse(rollback.output ?? '{}')).not.toMatchObject({ nothingToRollBack: true });
    expect(await bed.groupIds()).toEqual(['orders', 'sessions', 'zz-other']);
    expect(await bed.snapshotNames()).toEqual([]);
    expect(await bed.cname('orders.example.internal.')).not.toContain('orders-atrest');
  });
});
