import { describe, expect, it } from 'vitest';
import { parseMigrationInput } from '../../../../lambdas/migration/input.js';
import { planMigration, watchBackupFailures } from '../../../../lambdas/migration/preflight/plan.js';
import { BASE_INPUT, details, KEY_ARN, PRIMARY_ENDPOINT, RECORD, sourceGroup, ZONE } from './facts.js';

const NOW = Date.parse('2026-11-29T12:00:00Z');
const plan = (input: Record<string, unknown>, facts: Parameters<typeof planMigration>[0]['facts']) =>
  planMigration({
    input: parseMigrationInput({ ...BASE_INPUT, ...input }),
    migrationId: 'mig-1',
    facts,
    settings: { allowedHostedZoneIds: [] },
    now: NOW,
  });

describe('the plan, from facts alone', () => {
  it('is the exact CreateReplicationGroup request, the planned changes and the derived target id', () => {
    const verdict = plan({}, { source: sourceGroup(), details: details() });
    if (verdict.outcome !== 'planned') throw new Error(`expected a plan, got ${JSON.stringify(verdict)}`);
    expect(verdict.plan.target).toEqual({ id: 'orders-atrest', idDerivation: 'source-atrest' });
    expect(verdict.plan.createRequest).toMatchObject({
      ReplicationGroupId: 'orders-atrest',
      SnapshotName: verdict.plan.snapshotName,
      AtRestEncryptionEnabled: true,
      KmsKeyId: KEY_ARN,
      TransitEncryptionEnabled: false,
      CacheSubnetGroupName: 'private-subnets',
      CacheParameterGroupName: 'default.redis7',
      SecurityGroupIds: ['sg-0123'],
      NumCacheClusters: 2,
      PreferredCacheClusterAZs: ['eu-west-1a', 'eu-west-1b'],
      SnapshotRetentionLimit: 7,
      Tags: [
        { Key: 'team', Value: 'payments' },
        { Key: 'at-rest-migrator:migration-id', Value: 'mig-1' },
        { Key: 'at-rest-migrator:role', Value: 'target' },
        { Key: 'at-rest-migrator:source', Value: 'orders' },
      ],
    });
    expect(verdict.plan.changes.map((c) => c.setting)).toEqual([
      'AtRestEncryptionEnabled',
      'SnapshotRetentionLimit',
    ]);
    expect(verdict.plan.source.snapshotClusterId).toBe('orders-002');
    expect(verdict.plan.dns).toEqual([
      {
        hostedZoneId: ZONE,
        recordName: RECORD,
        endpoint: 'primary',
        type: 'CNAME',
        originalValue: PRIMARY_ENDPOINT,
        originalTtl: 60,
        sourceEndpoint: PRIMARY_ENDPOINT,
      },
    ]);
    expect(verdict.plan.warnings).toEqual([]);
  });

  it('lists every refusal in rule order (preflight fails with the first)', () => {
    const verdict = plan(
      { targetReplicationGroupId: 'orders' },
      { source: sourceGroup(), details: details({ claim: { owner: 'mig-0' }, zones: { [ZONE]: false } }) },
    );
    expect(verdict.outcome).toBe('refused');
    if (verdict.outcome !== 'refused') return;
    expect(verdict.refusals.map((e) => e.name)).toEqual([
      'MigrationInProgressError',
      'InvalidInputError',
      'DnsRecordMismatchError',
    ]);
  });

  it('refuses a missing source, says an encrypted one needs nothing, and judges the source before reading more', () => {
    expect(plan({}, { source: undefined })).toMatchObject({
      outcome: 'refused',
      refusals: [expect.objectContaining({ name: 'SourceNotFoundError' })],
    });
    expect(plan({}, { source: sourceGroup({ AtRestEncryptionEnabled: true, KmsKeyId: KEY_ARN }) })).toEqual({
      outcome: 'already-encrypted',
      message: `Replication group 'orders' is already encrypted at rest with ${KEY_ARN}; nothing to do.`,
    });
    expect(plan({}, { source: sourceGroup({ Status: 'snapshotting' }) })).toMatchObject({
      outcome: 'refused',
      refusals: [expect.objectContaining({ name: 'SourceNotAvailableError' })],
    });
  });
});

describe('the backup-failure watch (alarms.recommended)', () => {
  const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:cache-events';
  const SOURCE_TOPIC = 'arn:aws:sns:eu-west-1:123456789012:ops';
  const watch = (
    recommended: boolean,
    notification: { TopicArn: string; TopicStatus: string } | undefined,
    cacheEventsTopicArn: string | null = TOPIC,
  ) => {
    const request: Parameters<typeof watchBackupFailures>[3] = {
      ReplicationGroupId: 'orders-atrest',
      ReplicationGroupDescription: 'orders',
    };
    const changes: Parameters<typeof watchBackupFailures>[4] = [];
    const warnings: string[] = [];
    const topic = watchBackupFailures(
      parseMigrationInput({ ...BASE_INPUT, alarms: { recommended } }),
      { CacheClusterId: 'orders-001', NotificationConfiguration: notification },
      { allowedHostedZoneIds: [], cacheEventsTopicArn: cacheEventsTopicArn ?? undefined },
      request,
      changes,
      warnings,
    );
    return { topic, requested: request.NotificationTopicArn, changes, warnings };
  };

  it("gives a source without a topic the deployment's cache-events topic, and the plan says so", () => {
    const { topic, requested, changes, warnings } = watch(true, undefined);
    expect(topic).toEqual({ topicArn: TOPIC, from: 'deployment' });
    expect(requested).toBe(TOPIC);
    expect(changes).toEqual([
      expect.objectContaining({ setting: 'NotificationTopicArn', from: 'none', to: TOPIC }),
    ]);
    expect(warnings).toEqual([]);
  });

  it("keeps the source's active topic, unchanged", () => {
    const { topic, requested, changes } = watch(true, { TopicArn: SOURCE_TOPIC, TopicStatus: 'active' });
    expect(topic).toEqual({ topicArn: SOURCE_TOPIC, from: 'source' });
    expect(requested).toBe(SOURCE_TOPIC);
    expect(changes).toEqual([]);
  });

  it('replaces an inactive source topic (ElastiCache no longer publishes to it)', () => {
    const { topic, changes } = watch(true, { TopicArn: SOURCE_TOPIC, TopicStatus: 'inactive' });
    expect(topic).toEqual({ topicArn: TOPIC, from: 'deployment' });
    expect(changes[0]?.from).toBe(`${SOURCE_TOPIC} (inactive)`);
  });

  it('warns, and sets nothing, when the deployment has no cache-events topic', () => {
    const { topic, requested, warnings } = watch(true, undefined, null);
    expect(topic).toBeUndefined();
    expect(requested).toBeUndefined();
    expect(warnings[0]).toMatch(
      /Backup failures of the new group will not be notified.*CACHE_EVENTS_TOPIC_ARN/,
    );
  });

  it('sets nothing when the recommended set is not asked for', () => {
    const { topic, requested, changes, warnings } = watch(false, undefined);
    expect([topic, requested, changes, warnings]).toEqual([undefined, undefined, [], []]);
  });
});
