import {
  CloudWatchClient,
  DeleteAlarmsCommand,
  DescribeAlarmsCommand,
  ListTagsForResourceCommand,
  PutMetricAlarmCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../sandbox/index.js';
import { awsCli } from './aws-cli-support.js';
import { failure, sdkConfig } from './sdk-support.js';

/**
 * CloudWatch alarms through both clients the sandbox must understand: the JS SDK v3 (awsJson1_0
 * with the awsQueryCompatible trait) and the AWS CLI v2.9 (awsQuery, form-encoded, XML back).
 */
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:ops';
const fixture = {
  sns: { topics: ['ops'] },
  cloudwatch: {
    alarms: [
      {
        name: 'orders-001-cpu',
        metricName: 'EngineCPUUtilization',
        dimensions: { CacheClusterId: 'orders-001', CacheNodeId: '0001' },
        threshold: 80,
        alarmActions: [TOPIC],
        tags: { team: 'payments' },
      },
    ],
  },
};

let sandbox: Sandbox;
let cw: CloudWatchClient;
beforeAll(async () => {
  sandbox = await startSandbox({ fixture });
  cw = new CloudWatchClient(sdkConfig(sandbox));
});
afterAll(() => sandbox?.stop());
beforeEach(() => sandbox.reset(fixture));

const put = (name: string, extra: Record<string, unknown> = {}) =>
  cw.send(
    new PutMetricAlarmCommand({
      AlarmName: name,
      Namespace: 'AWS/ElastiCache',
      MetricName: 'CurrConnections',
      Dimensions: [{ Name: 'ReplicationGroupId', Value: 'orders' }],
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 3,
      Threshold: 1000,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [TOPIC],
      Tags: [{ Key: 'team', Value: 'payments' }],
      ...extra,
    }),
  );

describe('CloudWatch through the JS SDK (awsJson1_0, query-compatible)', () => {
  it('creates an alarm and describes it with every setting it was given', async () => {
    await put('orders-connections');
    const out = await cw.send(new DescribeAlarmsCommand({ AlarmNames: ['orders-connections'] }));
    const alarm = out.MetricAlarms?.[0];
    expect(alarm).toMatchObject({
      AlarmName: 'orders-connections',
      AlarmArn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:orders-connections',
      MetricName: 'CurrConnections',
      Dimensions: [{ Name: 'ReplicationGroupId', Value: 'orders' }],
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 3,
      Threshold: 1000,
      AlarmActions: [TOPIC],
      StateValue: 'INSUFFICIENT_DATA',
    });
    expect(alarm?.AlarmConfigurationUpdatedTimestamp).toBeInstanceOf(Date);
    const tags = await cw.send(new ListTagsForResourceCommand({ ResourceARN: alarm!.AlarmArn }));
    expect(tags.Tags).toEqual([{ Key: 'team', Value: 'payments' }]);
  });

  it('keeps the tags of an alarm that is put again (tags are set at creation only)', async () => {
    await put('orders-connections');
    await put('orders-connections', { Threshold: 500, Tags: [{ Key: 'team', Value: 'other' }] });
    const out = await cw.send(new DescribeAlarmsCommand({ AlarmNames: ['orders-connections'] }));
    expect(out.MetricAlarms?.[0]?.Threshold).toBe(500);
    const tags = await cw.send(
      new ListTagsForResourceCommand({ ResourceARN: out.MetricAlarms![0]!.AlarmArn }),
    );
    expect(tags.Tags).toEqual([{ Key: 'team', Value: 'payments' }]);
  });

  it('pages DescribeAlarms and filters by name prefix', async () => {
    for (let i = 0; i < 7; i++) await put(`bulk-${i}`);
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await cw.send(
        new DescribeAlarmsCommand({ AlarmNamePrefix: 'bulk-', MaxRecords: 3, NextToken: token }),
      );
      names.push(...(page.MetricAlarms ?? []).map((a) => a.AlarmName!));
      token = page.NextToken;
    } while (token);
    expect(names).toEqual(['bulk-0', 'bulk-1', 'bulk-2', 'bulk-3', 'bulk-4', 'bulk-5', 'bulk-6']);
  });

  it('deletes nothing when one of the names does not exist (ResourceNotFound, 404)', async () => {
    await put('orders-connections');
    expect(
      await failure(cw.send(new DeleteAlarmsCommand({ AlarmNames: ['orders-connections', 'nope'] }))),
    ).toEqual({ name: 'ResourceNotFound', status: 404 });
    const out = await cw.send(new DescribeAlarmsCommand({}));
    expect(out.MetricAlarms?.map((a) => a.AlarmName)).toEqual(['orders-001-cpu', 'orders-connections']);
    await cw.send(new DeleteAlarmsCommand({ AlarmNames: ['orders-connections'] }));
    const after = await cw.send(new DescribeAlarmsCommand({}));
    expect(after.MetricAlarms?.map((a) => a.AlarmName)).toEqual(['orders-001-cpu']);
  });

  it('refuses invalid alarms with the modelled errors', async () => {
    expect(await failure(put('bad-period', { Period: 45 }))).toEqual({
      name: 'InvalidParameterValueException',
      status: 400,
    });
    expect(await failure(put('too-long', { Period: 60, EvaluationPeriods: 1441 }))).toEqual({
      name: 'InvalidParameterValueException',
      status: 400,
    });
    expect(await failure(put('both-stats', { ExtendedStatistic: 'p99' }))).toEqual({
      name: 'InvalidParameterCombinationException',
      status: 400,
    });
    const out = await cw.send(new DescribeAlarmsCommand({ AlarmNamePrefix: 'b' }));
    expect(out.MetricAlarms).toEqual([]);
  });

  it('tags and untags an alarm; an unknown ARN is ResourceNotFoundException', async () => {
    const arn = 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:orders-001-cpu';
    await cw.send(new TagResourceCommand({ ResourceARN: arn, Tags: [{ Key: 'env', Value: 'prod' }] }));
    await cw.send(new UntagResourceCommand({ ResourceARN: arn, TagKeys: ['team'] }));
    expect((await cw.send(new ListTagsForResourceCommand({ ResourceARN: arn }))).Tags).toEqual([
      { Key: 'env', Value: 'prod' },
    ]);
    expect(await failure(cw.send(new ListTagsForResourceCommand({ ResourceARN: `${arn}-gone` })))).toEqual({
      name: 'ResourceNotFoundException',
      status: 404,
    });
  });
});

describe('CloudWatch through the AWS CLI (awsQuery)', () => {
  it('describes, creates, tags and deletes alarms', async () => {
    const described = await awsCli(sandbox, ['cloudwatch', 'describe-alarms']);
    expect(described.code, described.stderr).toBe(0);
    const alarms = described.json!.MetricAlarms as Record<string, unknown>[];
    expect(alarms).toHaveLength(1);
    expect(alarms[0]).toMatchObject({
      AlarmName: 'orders-001-cpu',
      MetricName: 'EngineCPUUtilization',
      Dimensions: [
        { Name: 'CacheClusterId', Value: 'orders-001' },
        { Name: 'CacheNodeId', Value: '0001' },
      ],
      Threshold: 80,
      AlarmActions: [TOPIC],
    });

    const created = await awsCli(sandbox, [
      'cloudwatch',
      'put-metric-alarm',
      '--alarm-name',
      'cli-swap',
      '--namespace',
      'AWS/ElastiCache',
      '--metric-name',
      'SwapUsage',
      '--dimensions',
      'Name=CacheClusterId,Value=orders-002',
      '--statistic',
      'Average',
      '--period',
      '300',
      '--evaluation-periods',
      '2',
      '--threshold',
      '52428800',
      '--comparison-operator',
      'GreaterThanThreshold',
      '--alarm-actions',
      TOPIC,
      '--tags',
      'Key=team,Value=payments',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const sdkView = await cw.send(new DescribeAlarmsCommand({ AlarmNames: ['cli-swap'] }));
    expect(sdkView.MetricAlarms?.[0]).toMatchObject({
      MetricName: 'SwapUsage',
      Threshold: 52428800,
      EvaluationPeriods: 2,
      Dimensions: [{ Name: 'CacheClusterId', Value: 'orders-002' }],
    });
    const tags = await awsCli(sandbox, [
      'cloudwatch',
      'list-tags-for-resource',
      '--resource-arn',
      sdkView.MetricAlarms![0]!.AlarmArn!,
    ]);
    expect(tags.code, tags.stderr).toBe(0);
    expect(tags.json!.Tags).toEqual([{ Key: 'team', Value: 'payments' }]);

    const missing = await awsCli(sandbox, ['cloudwatch', 'delete-alarms', '--alarm-names', 'nope']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('ResourceNotFound');
    const deleted = await awsCli(sandbox, [
      'cloudwatch',
      'delete-alarms',
      '--alarm-names',
      'cli-swap',
      'orders-001-cpu',
    ]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect((await cw.send(new DescribeAlarmsCommand({}))).MetricAlarms).toEqual([]);
  });
});
