import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateReplicationGroupCommand,
  CreateSnapshotCommand,
  DeleteReplicationGroupCommand,
  DescribeReplicationGroupsCommand,
  ElastiCacheClient,
  type ReplicationGroup,
} from '@aws-sdk/client-elasticache';
import { DisableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../sandbox/index.js';
import { REPLICATION_TIMESTAMP_KEY, RedisDataPlane } from '../../sandbox/redis/dataplane.js';
import { parseInfo } from '../../sandbox/redis/server.js';
import {
  connect,
  connectByName,
  databaseContents,
  sandboxResolver,
  seedData,
  settledGroup,
  settledSnapshot,
} from './redis-dataplane-support.js';
import { pollUntil, sdkConfig } from './sdk-support.js';

const AT_REST_KEY = '5c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f';
const SNAPSHOT_KEY = '6d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a';

let sandbox: Sandbox;
let dataPlane: RedisDataPlane;
let ec: ElastiCacheClient;
let kms: KMSClient;
const clients: Redis[] = [];

beforeAll(async () => {
  dataPlane = await RedisDataPlane.start();
  sandbox = await startSandbox({
    dataPlane,
    fixture: {
      timeScale: 0.001,
      kms: {
        keys: [
          { id: AT_REST_KEY, aliases: ['alias/cache-at-rest'] },
          { id: SNAPSHOT_KEY, aliases: ['alias/snapshots'] },
        ],
      },
      elasticache: { replicationGroups: [{ id: 'orders', replicasPerShard: 2 }] },
    },
  });
  ec = new ElastiCacheClient(sdkConfig(sandbox));
  kms = new KMSClient(sdkConfig(sandbox));
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  ec?.destroy();
  kms?.destroy();
  await sandbox?.stop();
});

async function describeGroup(id: string): Promise<ReplicationGroup> {
  const out = await ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: id }));
  return out.ReplicationGroups![0]!;
}

/** A client of the group's primary, reached through its primary endpoint's name. */
async function primaryOf(group: ReplicationGroup): Promise<Redis> {
  const endpoint = group.NodeGroups![0]!.PrimaryEndpoint!;
  const client = await connectByName(sandboxResolver(sandbox), endpoint.Address!, endpoint.Port!);
  clients.push(client);
  return client;
}

async function restore(id: string, snapshotName: string, extra: Record<string, unknown> = {}) {
  await ec.send(
    new CreateReplicationGroupCommand({
      ReplicationGroupId: id,
      ReplicationGroupDescription: `restored from ${snapshotName}`,
      SnapshotName: snapshotName,
      NumCacheClusters: 2,
      AtRestEncryptionEnabled: true,
      KmsKeyId: 'alias/cache-at-rest',
      ...extra,
    }),
  );
  return settledGroup(ec, id);
}

/** Snapshot files of the data plane, with their first bytes. */
async function snapshotFiles(): Promise<Map<string, string>> {
  const dir = join(dataPlane.dir, 'snapshots');
  const files = new Map<string, string>();
  for (const name of await readdir(dir)) {
    files.set(name, (await readFile(join(dir, name))).subarray(0, 5).toString('latin1'));
  }
  return files;
}

describe('a cluster mode disabled group of the Redis data plane', () => {
  let source: ReplicationGroup;
  let before: Record<number, Record<string, unknown>>;

  it('replicates what is written to the primary to both replicas, each on its own address and the group port', async () => {
    source = await describeGroup('orders');
    const primary = await primaryOf(source);
    await seedData(primary);
    expect(await primary.call('WAIT', 2, 2000)).toBe(2);

    const resolver = sandboxResolver(sandbox);
    const reader = source.NodeGroups![0]!.ReaderEndpoint!;
    const replicaAddresses = await resolver.resolve4(reader.Address!);
    const [primaryAddress] = await resolver.resolve4(source.NodeGroups![0]!.PrimaryEndpoint!.Address!);
    expect(replicaAddresses).toHaveLength(2);
    expect(new Set([primaryAddress, ...replicaAddresses]).size).toBe(3);
    for (const address of replicaAddresses) {
      expect(address).toMatch(/^127\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.\d+\.\d+$/);
      const replica = await connect(address, reader.Port!);
      clients.push(replica);
      expect(parseInfo(await replica.info('replication')).role).toBe('slave');
      expect(await replica.get('db0:string:7')).toBe('value-0-7');
      expect(await databaseContents(replica, 3)).toEqual(await databaseContents(primary, 3));
    }
    expect(reader.Port).toBe(6379);
  });

  it('restores a snapshot of a replica into an encrypted group with every key, value and absolute expiry of dbs 0 and 3', async () => {
    const primary = await primaryOf(source);
    before = { 0: await databaseContents(primary, 0), 3: await databaseContents(primary, 3) };
    expect(Object.keys(before[0]!)).toHaveLength(55);

    await ec.send(new CreateSnapshotCommand({ SnapshotName: 'orders-manual', CacheClusterId: 'orders-002' }));
    expect(await settledSnapshot(ec, 'orders-manual')).toBe('available');
    await primary.set('written-after-the-snapshot', 'x');

    const restored = await restore('orders-encrypted', 'orders-manual');
    expect(restored).toMatchObject({ Status: 'available', AtRestEncryptionEnabled: true });
    const target = await primaryOf(restored);
    expect(await databaseContents(target, 0)).toEqual(before[0]);
    expect(await databaseContents(target, 3)).toEqual(before[3]);
    expect(await target.exists('written-after-the-snapshot')).toBe(0);
    // ElastiCache's own key: the restored group's primary writes its own, so it differs from the source's.
    const [sourceTime, targetTime] = await Promise.all([
      primary.get(REPLICATION_TIMESTAMP_KEY),
      target.get(REPLICATION_TIMESTAMP_KEY),
    ]);
    expect(targetTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(sourceTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Math.abs(Date.parse(targetTime!) - Date.now())).toBeLessThan(5_000);
    // The restored group's replica synced from its primary.
    const [replicaAddress] = await sandboxResolver(sandbox).resolve4(
      restored.NodeGroups![0]!.ReaderEndpoint!.Address!,
    );
    const replica = await connect(replicaAddress!, 6379);
    clients.push(replica);
    expect(await databaseContents(replica, 3)).toEqual(before[3]);
  });

  it('keeps a snapshot taken under a KMS key encrypted on disk, restores it while the key is enabled, and fails the restore once the key is disabled', async () => {
    const plainFiles = await snapshotFiles();
    expect([...plainFiles.values()]).toEqual(['REDIS']);

    await ec.send(
      new CreateSnapshotCommand({
        SnapshotName: 'orders-kms',
        ReplicationGroupId: 'orders',
        KmsKeyId: 'alias/snapshots',
      }),
    );
    expect(await settledSnapshot(ec, 'orders-kms')).toBe('available');
    const encrypted = [...(await snapshotFiles())].filter(([name]) => !plainFiles.has(name));
    expect(encrypted).toHaveLength(1);
    expect(encrypted[0]![1]).not.toBe('REDIS');

    const restored = await restore('orders-from-kms', 'orders-kms');
    expect(restored.Status).toBe('available');
    const target = await primaryOf(restored);
    expect(await target.get('written-after-the-snapshot')).toBe('x');
    expect(await databaseContents(target, 3)).toEqual(before[3]);

    await kms.send(new DisableKeyCommand({ KeyId: 'alias/snapshots' }));
    const failed = await restore('orders-key-disabled', 'orders-kms');
    expect(failed.Status).toBe('create-failed');
  });

  it('refuses to decrypt a snapshot whose KMS key is disabled in the data plane itself', async () => {
    const snapshot = sandbox.elasticache.snapshots.get('orders-kms')!;
    const layout = {
      groupId: 'direct-restore',
      clusterMode: false,
      port: 6379,
      shards: [{ nodeGroupId: '0001', nodeIds: ['direct-restore-001'] }],
      transitEncryption: false,
    };
    await expect(dataPlane.createGroup(layout, snapshot.data, sandbox.kms)).rejects.toThrow(/is disabled/);
    expect(dataPlane.server('direct-restore', 'direct-restore-001')).toBeUndefined();
  });

  it('takes the final snapshot of a deleted group, which restores its data', async () => {
    await ec.send(
      new DeleteReplicationGroupCommand({
        ReplicationGroupId: 'orders-encrypted',
        FinalSnapshotIdentifier: 'orders-encrypted-final',
      }),
    );
    expect(await settledSnapshot(ec, 'orders-encrypted-final')).toBe('available');
    await pollUntil(
      () => ec.send(new DescribeReplicationGroupsCommand({})),
      (out) => !out.ReplicationGroups?.some((g) => g.ReplicationGroupId === 'orders-encrypted'),
    );
    const restored = await restore('orders-from-final', 'orders-encrypted-final');
    expect(restored.Status).toBe('available');
    const target = await primaryOf(restored);
    expect(await databaseContents(target, 0)).toEqual(before[0]);
    expect(await databaseContents(target, 3)).toEqual(before[3]);
  });
});
