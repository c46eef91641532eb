import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  ListTagsForResourceCommand,
  type MetricAlarm,
  PutMetricAlarmCommand,
} from '@aws-sdk/client-cloudwatch';
import {
  DescribeCacheClustersCommand,
  DescribeReplicationGroupsCommand,
  DescribeSnapshotsCommand,
} from '@aws-sdk/client-elasticache';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MigrationState, MigrationSummary } from '../../lambdas/migration/state.js';
import type { FixtureInput } from '../../sandbox/index.js';
import {
  callStep,
  fleet,
  migrateThroughFlip,
  pollStep,
  startWorkflowBed,
  type WorkflowBed,
  ZONE_ID,
} from '../support/workflow.js';

/**
 * Alarms follow the data (issue 14): the source's alarms are carried over to the new group's
 * members, the old ones go with the source, a rollback leaves the account's alarms as they were;
 * the new group's automatic backups run on a replica.
 */
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:migration-approvals';
const OPS = 'arn:aws:sns:us-east-1:123456789012:ops';
/** The deployment's cache-events topic (sandbox/workflow.ts, CACHE_EVENTS_TOPIC_ARN). */
const CACHE_EVENTS = 'arn:aws:sns:us-east-1:123456789012:cache-events';

/** Three alarms on the source (one on the group, two on members) and one on another group. */
function withAlarms(): FixtureInput {
  return {
    ...fleet(),
    sns: { topics: ['migration-approvals', 'ops'] },
    cloudwatch: {
      alarms: [
        {
          name: 'orders-memory',
          metricName: 'DatabaseMemoryUsagePercentage',
          dimensions: { ReplicationGroupId: 'orders' },
          statistic: 'Maximum',
          period: 60,
          evaluationPeriods: 3,
          threshold: 75,
          alarmActions: [OPS],
          okActions: [OPS],
          description: 'orders is filling up',
          tags: { team: 'payments' },
        },
        {
          name: 'orders-primary-cpu',
          metricName: 'EngineCPUUtilization',
          dimensions: { CacheClusterId: 'orders-001', CacheNodeId: '0001' },
          threshold: 85,
          alarmActions: [OPS],
          tags: { team: 'payments', severity: 'page' },
        },
        {
          name: 'orders-replica-connections',
          metricName: 'CurrConnections',
          dimensions: { CacheClusterId: 'orders-003' },
          statistic: 'Maximum',
          threshold: 2000,
          comparisonOperator: 'GreaterThanOrEqualToThreshold',
          alarmActions: [OPS],
        },
        {
          name: 'sessions-cpu',
          metricName: 'EngineCPUUtilization',
          dimensions: { CacheClusterId: 'sessions-0001-001' },
          threshold: 90,
        },
      ],
    },
  };
}

let bed: WorkflowBed;
let cw: CloudWatchClient;
beforeAll(async () => {
  bed = await startWorkflowBed(withAlarms());
  cw = new CloudWatchClient({
    endpoint: bed.sandbox.endpoint,
    region: bed.sandbox.region,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
});
afterAll(() => bed.stop());
beforeEach(() => bed.sandbox.reset(withAlarms()));

const input = {
  sourceReplicationGroupId: 'orders',
  dnsRecords: [{ hostedZoneId: ZONE_ID, recordName: 'orders.example.internal', endpoint: 'primary' }],
};

async function alarms(): Promise<MetricAlarm[]> {
  const out = await cw.send(new DescribeAlarmsCommand({ MaxRecords: 100 }));
  return out.MetricAlarms ?? [];
}

/** Every alarm as an operator sees it: settings and tags, without timestamps. */
async function account() {
  const all = await alarms();
  return Promise.all(
    all.map(async (a) => {
      const tags = await cw.send(new ListTagsForResourceCommand({ ResourceARN: a.AlarmArn }));
      const {
        AlarmConfigurationUpdatedTimestamp: _a,
        StateUpdatedTimestamp: _b,
        StateTransitionedTimestamp: _c,
        ...rest
      } = a;
      return { ...rest, tags: tags.Tags };
    }),
  );
}

const dims = (a: MetricAlarm) => Object.fromEntries((a.Dimensions ?? []).map((d) => [d.Name, d.Value]));

/** The notification topic of every member of a group, as DescribeCacheClusters shows it. */
async function notificationTopics(groupId: string) {
  const out = await bed.elasticache.send(new DescribeCacheClustersCommand({}));
  return (out.CacheClusters ?? [])
    .filter((c) => c.ReplicationGroupId === groupId)
    .map((c) => c.NotificationConfiguration?.TopicArn);
}

/** Runs the new group's daily backup, failing, and returns what its topics received. */
async function failedDailyBackup(groupId: string) {
  bed.sandbox.injectFaults({ type: 'snapshot', name: 'automatic.*', outcome: 'failed' });
  const backup = bed.sandbox.elasticache.beginAutomaticBackup(groupId, 1000);
  await expect
    .poll(
      async () =>
        (await bed.elasticache.send(new DescribeSnapshotsCommand({ SnapshotName: backup.name })))
          .Snapshots?.[0]?.SnapshotStatus,
      { timeout: 10_000 },
    )
    .toBe('failed');
  return bed.sandbox.sns.published.filter((m) => m.subject === 'ElastiCache:SnapshotFailed');
}

describe('alarms carried over', () => {
  it('after the migration, three equivalent alarms watch the new group and the old ones are gone', async () => {
    const result = await bed.run(input);
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const after = await alarms();
    expect(after.map((a) => a.AlarmName).sort()).toEqual([
      'at-rest-migrator/orders-atrest/orders-memory',
      'at-rest-migrator/orders-atrest/orders-primary-cpu',
      'at-rest-migrator/orders-atrest/orders-replica-connections',
      'sessions-cpu',
    ]);
    const byName = Object.fromEntries(after.map((a) => [a.AlarmName, a]));
    const memory = byName['at-rest-migrator/orders-atrest/orders-memory']!;
    expect(dims(memory)).toEqual({ ReplicationGroupId: 'orders-atrest' });
    expect(memory).toMatchObject({
      MetricName: 'DatabaseMemoryUsagePercentage',
      Namespace: 'AWS/ElastiCache',
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 3,
      Threshold: 75,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [OPS],
      OKActions: [OPS],
      AlarmDescription: 'orders is filling up',
    });
    const cpu = byName['at-rest-migrator/orders-atrest/orders-primary-cpu']!;
    expect(dims(cpu)).toEqual({ CacheClusterId: 'orders-atrest-001', CacheNodeId: '0001' });
    expect(cpu.Threshold).toBe(85);
    const connections = byName['at-rest-migrator/orders-atrest/orders-replica-connections']!;
    expect(dims(connections)).toEqual({ CacheClusterId: 'orders-atrest-003' });
    expect(connections.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
    // Every member the alarms name exists on the new group.
    const groups = await bed.elasticache.send(
      new DescribeReplicationGroupsCommand({ ReplicationGroupId: 'orders-atrest' }),
    );
    expect(groups.ReplicationGroups?.[0]?.MemberClusters).toEqual(
      expect.arrayContaining(['orders-atrest-001', 'orders-atrest-003']),
    );
    // The source's tags come along, with the migration's own.
    const tags = await cw.send(new ListTagsForResourceCommand({ ResourceARN: cpu.AlarmArn }));
    expect(Object.fromEntries((tags.Tags ?? []).map((t) => [t.Key, t.Value]))).toEqual({
      team: 'payments',
      severity: 'page',
      'at-rest-migrator:migration-id': result.executionName,
      'at-rest-migrator:role': 'alarm',
    });
    // The execution's output is the summary.
    const summary = result.output as MigrationSummary;
    expect(summary.alarms).toEqual({
      copied: [
        { from: 'orders-memory', name: 'at-rest-migrator/orders-atrest/orders-memory' },
        { from: 'orders-primary-cpu', name: 'at-rest-migrator/orders-atrest/orders-primary-cpu' },
        {
          from: 'orders-replica-connections',
          name: 'at-rest-migrator/orders-atrest/orders-replica-connections',
        },
      ],
      recommended: [],
      sourceAlarmsDeleted: ['orders-memory', 'orders-primary-cpu', 'orders-replica-connections'],
      kept: [],
    });
  });

  it('keeps the source alarms when asked (alarms.keepSourceAlarms)', async () => {
    const result = await bed.run({ ...input, alarms: { keepSourceAlarms: true } });
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const names = (await alarms()).map((a) => a.AlarmName).sort();
    expect(names).toEqual([
      'at-rest-migrator/orders-atrest/orders-memory',
      'at-rest-migrator/orders-atrest/orders-primary-cpu',
      'at-rest-migrator/orders-atrest/orders-replica-connections',
      'orders-memory',
      'orders-primary-cpu',
      'orders-replica-connections',
      'sessions-cpu',
    ]);
    // Kept alarms carry no mark of the migration.
    const kept = (await account()).find((a) => a.AlarmName === 'orders-primary-cpu');
    expect(kept?.tags).toEqual([
      { Key: 'team', Value: 'payments' },
      { Key: 'severity', Value: 'page' },
    ]);
  });

  it('a rollback after the alarms were created leaves the account alarms as they were', async () => {
    const before = await account();
    const result = await bed.run(
      { ...input, approvals: { beforeDeleteSource: true } },
      {
        decide: async (request) => {
          if (request.gate !== 'beforeDeleteSource') return { output: { approved: true } };
          // The copies exist and the source's alarms are marked at this point.
          const names = (await alarms()).map((a) => a.AlarmName);
          expect(names).toContain('at-rest-migrator/orders-atrest/orders-primary-cpu');
          return { error: 'ApprovalRejectedError', cause: 'rejected' };
        },
      },
    );
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('ApprovalRejectedError');
    expect(await bed.groupIds()).toEqual(['orders', 'sessions']);
    expect(await account()).toEqual(before);
  });

  it('a CopyAlarms that fails half-way rolls back: the copies it made are deleted, the source alarms unmarked', async () => {
    const before = await account();
    // The first copy is created, every later PutMetricAlarm is denied.
    bed.sandbox.injectFaults({
      type: 'api-error',
      service: 'monitoring',
      operation: 'PutMetricAlarm',
      code: 'AccessDenied',
      skip: 1,
      times: 'always',
    });
    const result = await bed.run(input);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('AccessDenied');
    expect(await bed.groupIds()).toEqual(['orders', 'sessions']);
    expect(await account()).toEqual(before);
  });

  it("refuses to overwrite an alarm of the copy's name that it did not create, and leaves the account's alarms as they were", async () => {
    // Somebody's own alarm already has the name the second copy would get.
    await cw.send(
      new PutMetricAlarmCommand({
        AlarmName: 'at-rest-migrator/orders-atrest/orders-primary-cpu',
        Namespace: 'AWS/ElastiCache',
        MetricName: 'EngineCPUUtilization',
        Dimensions: [{ Name: 'CacheClusterId', Value: 'sessions-0001-001' }],
        Statistic: 'Average',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 50,
        ComparisonOperator: 'GreaterThanThreshold',
      }),
    );
    const before = await account();
    const result = await bed.run(input);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('AlarmNameTakenError');
    expect(result.cause).toContain("'at-rest-migrator/orders-atrest/orders-primary-cpu'");
    expect(await bed.groupIds()).toEqual(['orders', 'sessions']);
    expect(await account()).toEqual(before);
  });

  it('rides out CloudWatch throttling (DescribeAlarms throttled, the step retried)', async () => {
    bed.sandbox.injectFaults({
      type: 'api-error',
      service: 'monitoring',
      operation: 'DescribeAlarms',
      code: 'Throttling',
      times: 3,
    });
    const result = await bed.run(input);
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect((result.output as MigrationSummary).alarms?.copied).toHaveLength(3);
  });

  it('creates the recommended set on request, to the deployment topic, where the source has none', async () => {
    await bed.sandbox.reset(fleet());
    const result = await bed.run({ ...input, alarms: { recommended: true } });
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const created = await alarms();
    const members = ['orders-atrest-001', 'orders-atrest-002', 'orders-atrest-003'];
    const metrics = ['CurrConnections', 'DatabaseMemoryUsagePercentage', 'EngineCPUUtilization', 'SwapUsage'];
    expect(created.map((a) => a.AlarmName).sort()).toEqual(
      members.flatMap((m) => metrics.map((metric) => `at-rest-migrator/orders-atrest/${m}-${metric}`)).sort(),
    );
    for (const alarm of created) {
      expect(alarm.AlarmActions).toEqual([TOPIC]);
      expect(alarm.OKActions).toEqual([TOPIC]);
      expect(members).toContain(dims(alarm).CacheClusterId);
    }
    const threshold = (metric: string) => created.find((a) => a.MetricName === metric)?.Threshold;
    expect(threshold('EngineCPUUtilization')).toBe(90);
    expect(threshold('SwapUsage')).toBe(50 * 1024 * 1024);
    expect(threshold('DatabaseMemoryUsagePercentage')).toBe(80);
    // cache.r6g.large has 2 vCPUs: 1,000 connections each.
    expect(threshold('CurrConnections')).toBe(2000);
  });

  it("watches backup failures on request: the new group notifies the deployment's cache-events topic", async () => {
    await bed.sandbox.reset(fleet());
    const result = await bed.run({ ...input, alarms: { recommended: true } });
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(await notificationTopics('orders-atrest')).toEqual([CACHE_EVENTS, CACHE_EVENTS, CACHE_EVENTS]);
    const summary = result.output as MigrationSummary;
    expect(summary.alarms?.backupFailures).toEqual({ topicArn: CACHE_EVENTS, from: 'deployment' });
    expect(summary.changes).toContainEqual(
      expect.objectContaining({ setting: 'NotificationTopicArn', from: 'none', to: CACHE_EVENTS }),
    );
    // A failed daily backup of the new group reaches the topic, naming the node.
    const messages = await failedDailyBackup('orders-atrest');
    expect(messages).toHaveLength(1);
    expect(messages[0]?.topicArn).toBe(CACHE_EVENTS);
    expect(JSON.parse(messages[0]!.message)).toMatchObject({
      SourceIdentifier: summary.backupNode,
      SourceType: 'cache-cluster',
    });
  });

  it("keeps the source's own notification topic for the backup-failure watch", async () => {
    await bed.sandbox.reset({
      ...fleet({ orders: { notificationTopicArn: OPS } }),
      sns: { topics: ['migration-approvals', 'ops'] },
    });
    const result = await bed.run({ ...input, alarms: { recommended: true } });
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(await notificationTopics('orders-atrest')).toEqual([OPS, OPS, OPS]);
    const summary = result.output as MigrationSummary;
    expect(summary.alarms?.backupFailures).toEqual({ topicArn: OPS, from: 'source' });
    expect(summary.changes?.map((c) => c.setting)).not.toContain('NotificationTopicArn');
    expect((await failedDailyBackup('orders-atrest')).map((m) => m.topicArn)).toEqual([OPS]);
  });

  it('sets no notification topic when the recommended set is not asked for', async () => {
    await bed.sandbox.reset(fleet());
    const result = await bed.run(input);
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(await notificationTopics('orders-atrest')).toEqual([undefined, undefined, undefined]);
    expect((result.output as MigrationSummary).alarms?.backupFailures).toBeUndefined();
    expect(await failedDailyBackup('orders-atrest')).toEqual([]);
  });

  it('a rollback removes the backup-failure watch with the new group, and the account alarms are as they were', async () => {
    await bed.sandbox.reset(fleet());
    const before = await account();
    const result = await bed.run(
      { ...input, alarms: { recommended: true }, approvals: { beforeDeleteSource: true } },
      {
        decide: async (request) => {
          if (request.gate !== 'beforeDeleteSource') return { output: { approved: true } };
          // The watch and the recommended alarms exist at this point.
          expect(await notificationTopics('orders-atrest')).toContain(CACHE_EVENTS);
          expect((await alarms()).length).toBeGreaterThan(0);
          return { error: 'ApprovalRejectedError', cause: 'rejected' };
        },
      },
    );
    expect(result.status).toBe('FAILED');
    expect(await bed.groupIds()).toEqual(['orders', 'sessions']);
    expect(await notificationTopics('orders')).toEqual([undefined, undefined, undefined]);
    expect(await account()).toEqual(before);
  });

  it('recommends only the metrics the source did not watch', async () => {
    const result = await bed.run({ ...input, alarms: { recommended: true } });
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const recommended = (await alarms()).filter((a) => /orders-atrest-00\d-/.test(a.AlarmName ?? ''));
    expect([...new Set(recommended.map((a) => a.MetricName))].sort()).toEqual(['SwapUsage']);
  });
});

describe('backups from a replica', () => {
  it('the new group takes its automatic backups from a replica, and the summary names it', async () => {
    const result = await bed.run(input);
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const out = await bed.elasticache.send(
      new DescribeReplicationGroupsCommand({ ReplicationGroupId: 'orders-atrest' }),
    );
    const group = out.ReplicationGroups![0]!;
    const node = group.SnapshottingClusterId;
    const role = group.NodeGroups?.[0]?.NodeGroupMembers?.find((m) => m.CacheClusterId === node)?.CurrentRole;
    expect(role).toBe('replica');
    expect((result.output as MigrationSummary).backupNode).toBe(node);
    // The daily backup then runs on that replica.
    const backup = bed.sandbox.elasticache.beginAutomaticBackup('orders-atrest', 60_000);
    expect(backup.cacheClusterId).toBe(node);
  });

  it('leaves a cluster-mode-enabled group to ElastiCache (the parameter cannot be set there)', async () => {
    const result = await bed.run({
      sourceReplicationGroupId: 'sessions',
      dnsRecords: [
        { hostedZoneId: ZONE_ID, recordName: 'sessions.example.internal', endpoint: 'configuration' },
      ],
    });
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect((result.output as MigrationSummary).backupNode).toBeUndefined();
    const out = await bed.elasticache.send(
      new DescribeReplicationGroupsCommand({ ReplicationGroupId: 'sessions-atrest' }),
    );
    expect(out.ReplicationGroups?.[0]?.SnapshottingClusterId).toBeUndefined();
  });
});

describe('every new step, run twice, reaches the same state', () => {
  const comparable = (s: MigrationState) => {
    const { steps: _s, deadlines: _d, ...rest } = structuredClone(s);
    return rest;
  };
  const twice = async (fn: string, action: string, state: MigrationState) => {
    bed.sandbox.clock.pause();
    try {
      const first = await callStep(bed, fn, { action, state });
      const after1 = await account();
      const second = await callStep(bed, fn, { action, state });
      expect(comparable(second)).toEqual(comparable(first));
      expect(await account()).toEqual(after1);
      return second;
    } finally {
      bed.sandbox.clock.resume();
    }
  };

  it('SetBackupNode, CopyAlarms, DeleteSourceAlarms and the rollback of alarms', async () => {
    const before = await account();
    let state = await migrateThroughFlip(bed, { ...input, alarms: { recommended: true } }, 'alarms-twice');
    // SetBackupNode: the request, then the wait for the group to settle.
    state = await callStep(bed, 'restore', { action: 'backup-node', state });
    expect(state.progress.backupNode?.requested).toBe(true);
    state = await pollStep(bed, 'restore', 'backup-node', state, (s) => s.progress.backupNode?.done === true);
    state = await twice('restore', 'backup-node', state);

    // The backup-failure watch came with the new group (its create request), set once.
    expect(await notificationTopics('orders-atrest')).toEqual([CACHE_EVENTS, CACHE_EVENTS, CACHE_EVENTS]);
    state = await twice('alarms', 'copy', state);
    expect(state.progress.alarms?.copied).toHaveLength(3);
    expect(state.progress.alarms?.recommended).toHaveLength(3); // SwapUsage on each member
    expect(state.progress.alarms?.marked).toHaveLength(3);

    // A rollback of the alarms, run twice, then the account is as before.
    const failed = { ...state, failure: { Error: 'ApprovalRejectedError', Cause: 'test' } };
    const rolled = await pollStep(bed, 'rollback', 'step', failed as MigrationState, (s) =>
      Boolean(s.progress.rollback?.alarmsRemoved),
    );
    expect(await account()).toEqual(before);
    const again = await callStep(bed, 'rollback', {
      action: 'step',
      state: {
        ...rolled,
        progress: { ...rolled.progress, rollback: { ...rolled.progress.rollback, alarmsRemoved: false } },
      },
    });
    expect(again.progress.rollback?.alarmsRemoved).toBe(true);
    expect(await account()).toEqual(before);
  });

  it('DeleteSourceAlarms after the source is gone', async () => {
    let state = await migrateThroughFlip(bed, input, 'alarms-delete-twice');
    state = await callStep(bed, 'alarms', { action: 'copy', state });
    state = await callStep(bed, 'decommission', { action: 'start', state });
    state = await pollStep(bed, 'decommission', 'check', state, (s) => s.progress.sourceDeleted === true);
    state = await twice('alarms', 'delete-source', state);
    expect(state.progress.alarms?.sourceAlarmsDeleted).toEqual([
      'orders-memory',
      'orders-primary-cpu',
      'orders-replica-connections',
    ]);
    expect((await alarms()).map((a) => a.AlarmName)).not.toContain('orders-memory');
  });
});
