import {
  DescribeReplicationGroupsCommand,
  DescribeSnapshotsCommand,
  ListTagsForResourceCommand,
  type ReplicationGroup,
} from '@aws-sdk/client-elasticache';
import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MigrationSummary } from '../../lambdas/migration/state.js';
import type { LambdaHandler } from '../../sandbox/stepfunctions.js';
import { LOCAL_KMS_ALIAS } from '../../sandbox/workflow.js';
import { startQuietBed } from '../support/fault-matrix.js';
import { AUTH_TOKEN, fleet, type WorkflowBed, ZONE_ID } from '../support/workflow.js';

let bed: WorkflowBed;
beforeAll(async () => {
  bed = await startQuietBed();
});
afterAll(() => bed.stop());
beforeEach(() => bed.sandbox.reset(fleet()));

const ordersRecords = [
  { hostedZoneId: ZONE_ID, recordName: 'orders.example.internal', endpoint: 'primary' },
  { hostedZoneId: ZONE_ID, recordName: 'orders-ro.example.internal', endpoint: 'reader' },
];

async function group(id: string): Promise<ReplicationGroup | undefined> {
  const out = await bed.elasticache.send(new DescribeReplicationGroupsCommand({})); // lists, never throws
  return out.ReplicationGroups?.find((g) => g.ReplicationGroupId === id);
}

async function tagsOf(arn: string): Promise<Record<string, string>> {
  const out = await bed.elasticache.send(new ListTagsForResourceCommand({ ResourceName: arn }));
  return Object.fromEntries((out.TagList ?? []).map((t) => [t.Key!, t.Value!]));
}

async function ttlOf(name: string): Promise<number | undefined> {
  const out = await bed.route53.send(
    new ListResourceRecordSetsCommand({ HostedZoneId: ZONE_ID, StartRecordName: name, MaxItems: 1 }),
  );
  return out.ResourceRecordSets?.[0]?.TTL;
}

const migrationTags = (tags: Record<string, string>) =>
  Object.keys(tags).filter((k) => k.startsWith('at-rest-migrator:'));

async function runOk(input: Record<string, unknown>, functions?: Record<string, LambdaHandler>) {
  const result = await bed.run(input, { waitMs: 2, retryMs: 2, ...(functions ? { functions } : {}) });
  expect(result.error, result.cause).toBeUndefined();
  expect(result.status).toBe('SUCCEEDED');
  return { result, summary: result.output as MigrationSummary };
}

describe('a migration of a cluster-mode-enabled group (3 shards)', () => {
  it('restores every shard with its slots into an encrypted group and moves the configuration endpoint CNAME', async () => {
    const source = (await group('sessions'))!;
    const { summary } = await runOk({
      sourceReplicationGroupId: 'sessions',
      dnsRecords: [
        { hostedZoneId: ZONE_ID, recordName: 'sessions.example.internal', endpoint: 'configuration' },
      ],
    });

    const target = (await group('sessions-atrest'))!;
    expect(target.AtRestEncryptionEnabled).toBe(true);
    expect(target.KmsKeyId).toBe(bed.sandbox.kms.resolve(LOCAL_KMS_ALIAS)!.arn);
    expect(target.ClusterEnabled).toBe(true);
    expect(target.AutomaticFailover).toBe('enabled');
    expect(target.NodeGroups?.map((ng) => [ng.Slots, ng.NodeGroupMembers?.length])).toEqual(
      source.NodeGroups?.map((ng) => [ng.Slots, 2]),
    );
    expect(target.NodeGroups).toHaveLength(3);
    expect(await bed.cname('sessions.example.internal.')).toBe(target.ConfigurationEndpoint!.Address);
    expect(summary.dns).toEqual([
      {
        recordName: 'sessions.example.internal.',
        hostedZoneId: ZONE_ID,
        from: source.ConfigurationEndpoint!.Address,
        to: target.ConfigurationEndpoint!.Address,
      },
    ]);

    expect(await bed.groupIds()).toEqual(['orders', 'sessions-atrest']);
    expect(summary.source).toMatchObject({ id: 'sessions', deleted: true });
    const final = (
      await bed.elasticache.send(
        new DescribeSnapshotsCommand({ SnapshotName: summary.source.finalSnapshotName }),
      )
    ).Snapshots![0]!;
    expect(final.SnapshotStatus).toBe('available');
    expect(final.NodeSnapshots).toHaveLength(3);
    expect(await bed.snapshotNames()).toEqual([summary.source.finalSnapshotName]);
    // The orders records were not part of this migration.
    expect(await bed.cname('orders.example.internal.')).toBe(
      (await group('orders'))!.NodeGroups![0]!.PrimaryEndpoint!.Address,
    );
  });
});

describe('a migration to TLS with an AUTH token', () => {
  it('creates the group with the token from Secrets Manager and never lets the token into the workflow', async () => {
    // A source without RBAC user groups: AUTH tokens and user groups are alternatives.
    await bed.sandbox.reset(fleet({ orders: { userGroupIds: [] } }));
    const documents: unknown[] = [];
    const functions = Object.fromEntries(
      Object.entries(bed.handlers).map(([arn, handler]) => [
        arn,
        async (event: unknown) => {
          documents.push(event);
          const out = await handler(event);
          documents.push(out);
          return out;
        },
      ]),
    );
    const { result, summary } = await runOk(
      {
        sourceReplicationGroupId: 'orders',
        dnsRecords: ordersRecords,
        transitEncryption: 'required',
        authTokenSecretArn: bed.sandbox.secrets.resolve('orders-auth')!.arn,
      },
      functions,
    );

    const target = (await group('orders-atrest'))!;
    expect(target.TransitEncryptionEnabled).toBe(true);
    expect(target.TransitEncryptionMode).toBe('required');
    expect(target.AuthTokenEnabled).toBe(true);
    expect(bed.sandbox.elasticache.groups.get('orders-atrest')?.authToken).toBe(AUTH_TOKEN);
    expect(await bed.cname('orders.example.internal.')).toBe(target.NodeGroups![0]!.PrimaryEndpoint!.Address);
    expect(summary.warnings.join('\n')).toMatch(/requires TLS/);
    expect(summary.warnings.join('\n')).toMatch(/verify TLS host names fail through a custom CNAME/);

    expect(documents.length).toBeGreaterThan(10);
    expect(JSON.stringify(documents)).not.toContain(AUTH_TOKEN);
    expect(JSON.stringify(result.output)).not.toContain(AUTH_TOKEN);
    expect(JSON.stringify(result.events)).not.toContain(AUTH_TOKEN);
  });
});

describe('a migration that keeps the source (deleteSource: false)', () => {
  it('moves the records and leaves the source running, released from the migration', async () => {
    const sourceArn = (await group('orders'))!.ARN!;
    const tagsBefore = await tagsOf(sourceArn);
    const { summary } = await runOk({
      sourceReplicationGroupId: 'orders',
      dnsRecords: ordersRecords,
      deleteSource: false,
    });

    expect(summary.outcome).toBe('migrated-source-kept');
    expect(summary.source).toEqual({ id: 'orders', deleted: false });
    expect((await group('orders'))?.Status).toBe('available');
    const tagsAfter = await tagsOf(sourceArn);
    expect(migrationTags(tagsAfter)).toEqual([]);
    expect(tagsAfter).toEqual(tagsBefore);
    const target = (await group('orders-atrest'))!;
    expect(await bed.cname('orders.example.internal.')).toBe(target.NodeGroups![0]!.PrimaryEndpoint!.Address);
    expect(await bed.cname('orders-ro.example.internal.')).toBe(
      target.NodeGroups![0]!.ReaderEndpoint!.Address,
    );
    expect(await bed.groupIds()).toEqual(['orders', 'orders-atrest', 'sessions']);
    expect(await bed.snapshotNames()).toEqual([]);
  });
});

describe('a migration that keeps the intermediate snapshot', () => {
  it('leaves the encrypted intermediate snapshot, tagged as this migration’s', async () => {
    const { summary } = await runOk({
      sourceReplicationGroupId: 'orders',
      dnsRecords: ordersRecords,
      keepIntermediateSnapshot: true,
    });

    expect(summary.intermediateSnapshot.deleted).toBe(false);
    expect(await bed.snapshotNames()).toEqual(
      [summary.intermediateSnapshot.name, summary.source.finalSnapshotName].sort(),
    );
    const snapshot = (
      await bed.elasticache.send(
        new DescribeSnapshotsCommand({ SnapshotName: summary.intermediateSnapshot.name }),
      )
    ).Snapshots![0]!;
    expect(snapshot.SnapshotStatus).toBe('available');
    expect(snapshot.KmsKeyId).toBe(bed.sandbox.kms.resolve(LOCAL_KMS_ALIAS)!.arn);
    expect(await tagsOf(snapshot.ARN!)).toMatchObject({
      'at-rest-migrator:migration-id': summary.migrationId,
      'at-rest-migrator:role': 'intermediate-snapshot',
    });
    expect(await bed.groupIds()).toEqual(['orders-atrest', 'sessions']);
  });
});

describe('a migration that lowers the TTL first (lowerTtlTo)', () => {
  it('lowers the TTL while the record still points at the source, flips, and warns to raise it again', async () => {
    const sourcePrimary = (await group('orders'))!.NodeGroups![0]!.PrimaryEndpoint!.Address;
    const seenAtFlip: { value?: string; ttl?: number }[] = [];
    const functions = Object.fromEntries(
      Object.entries(bed.handlers).map(([arn, handler]) => [
        arn,
        async (event: { action?: string }) => {
          if (arn.endsWith('-cutover') && event.action === 'flip') {
            seenAtFlip.push({
              value: await bed.cname('orders.example.internal.'),
              ttl: await ttlOf('orders.example.internal.'),
            });
          }
          return handler(event);
        },
      ]),
    );
    const { summary } = await runOk(
      {
        sourceReplicationGroupId: 'orders',
        dnsRecords: [{ ...ordersRecords[0], lowerTtlTo: 30 }, ordersRecords[1]],
      },
      functions,
    );

    expect(seenAtFlip).toEqual([{ value: sourcePrimary, ttl: 30 }]);
    const target = (await group('orders-atrest'))!;
    expect(await bed.cname('orders.example.internal.')).toBe(target.NodeGroups![0]!.PrimaryEndpoint!.Address);
    expect(await ttlOf('orders.example.internal.')).toBe(30);
    expect(await ttlOf('orders-ro.example.internal.')).toBe(300);
    expect(summary.warnings).toContain(
      'CNAME orders.example.internal. keeps its lowered TTL of 30s; raise it back to 300s when satisfied.',
    );
    expect(summary.warnings.join('\n')).not.toContain('orders-ro.example.internal.');
  });
});
