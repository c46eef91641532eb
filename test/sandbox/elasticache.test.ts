import {
  AddTagsToResourceCommand,
  CreateCacheParameterGroupCommand,
  CreateReplicationGroupCommand,
  CreateSnapshotCommand,
  DeleteReplicationGroupCommand,
  DeleteSnapshotCommand,
  DescribeCacheClustersCommand,
  DescribeCacheSubnetGroupsCommand,
  DescribeReplicationGroupsCommand,
  DescribeSnapshotsCommand,
  DescribeUserGroupsCommand,
  ElastiCacheClient,
  ListTagsForResourceCommand,
  ModifyReplicationGroupCommand,
  paginateDescribeCacheClusters,
  paginateDescribeReplicationGroups,
  paginateDescribeSnapshots,
  RemoveTagsFromResourceCommand,
} from '@aws-sdk/client-elasticache';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureInput, type Sandbox, startSandbox } from '../../sandbox/index.js';
import { failure, orGone, pollUntil, sdkConfig, statusTrail } from './sdk-support.js';

const KEY_ID = '0b6f1c2e-3d4a-4f5b-8c6d-7e8f9a0b1c2d';
const KEY_ARN = `arn:aws:kms:us-east-1:123456789012:key/${KEY_ID}`;
const ACCOUNT = '123456789012';
const groupArn = (id: string) => `arn:aws:elasticache:us-east-1:${ACCOUNT}:replicationgroup:${id}`;
const snapshotArn = (name: string) => `arn:aws:elasticache:us-east-1:${ACCOUNT}:snapshot:${name}`;

const fixture: FixtureInput = {
  // A 6-minute create takes 0.7 s; a 1-minute snapshot 0.12 s.
  timeScale: 0.002,
  kms: { keys: [{ id: KEY_ID, aliases: ['alias/cache'] }] },
  elasticache: {
    subnetGroups: ['default', 'private-a', 'private-b'],
    userGroups: ['orders-users'],
    parameterGroups: [
      { name: 'orders-params', family: 'redis7', parameters: { 'maxmemory-policy': 'allkeys-lru' } },
    ],
    replicationGroups: [
      {
        id: 'orders',
        description: 'orders cache',
        engineVersion: '7.1',
        replicasPerShard: 2,
        automaticFailover: true,
        multiAz: true,
        availabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
        securityGroupIds: ['sg-0a1b2c3d4e', 'sg-0f0e0d0c0b'],
        subnetGroup: 'private-a',
        parameterGroup: 'orders-params',
        snapshotRetentionLimit: 7,
        tags: { team: 'orders', env: 'prod' },
        dataSizeMb: 100,
      },
      {
        id: 'catalog',
        clusterMode: 'enabled',
        shards: 3,
        replicasPerShard: 1,
        parameterGroup: 'default.redis7.cluster.on',
        securityGroupIds: ['sg-0123456789'],
      },
      {
        id: 'sessions',
        engine: 'valkey',
        engineVersion: '7.2',
        replicasPerShard: 1,
        transitEncryption: true,
        atRestEncryption: true,
        kmsKey: 'alias/cache',
      },
    ],
  },
};

let sandbox: Sandbox;
let ec: ElastiCacheClient;

beforeAll(async () => {
  sandbox = await startSandbox({ fixture });
  ec = new ElastiCacheClient(sdkConfig(sandbox));
});
afterAll(async () => {
  ec?.destroy();
  await sandbox?.stop();
});

const describeGroup = async (id: string) => {
  const out = await ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: id }));
  return out.ReplicationGroups![0]!;
};
const describeSnapshot = async (name: string, showNodeGroupConfig = false) => {
  const out = await ec.send(
    new DescribeSnapshotsCommand({ SnapshotName: name, ShowNodeGroupConfig: showNodeGroupConfig }),
  );
  return out.Snapshots![0]!;
};
const groupStatus = (id: string) =>
  orGone(
    describeGroup(id).then((g) => g.Status),
    'ReplicationGroupNotFoundFault',
  );
const snapshotStatus = (name: string) =>
  orGone(
    describeSnapshot(name).then((s) => s.SnapshotStatus),
    'SnapshotNotFoundFault',
  );
const groupIds = async () =>
  ((await ec.send(new DescribeReplicationGroupsCommand({}))).ReplicationGroups ?? []).map(
    (g) => g.ReplicationGroupId,
  );
const tagsOf = async (arn: string) =>
  (await ec.send(new ListTagsForResourceCommand({ ResourceName: arn }))).TagList;

describe('DescribeReplicationGroups', () => {
  it('describes a cluster-mode-disabled group with primary and reader endpoints and member roles', async () => {
    const group = await describeGroup('orders');
    expect(group).toMatchObject({
      ReplicationGroupId: 'orders',
      Description: 'orders cache',
      Status: 'available',
      ClusterEnabled: false,
      ClusterMode: 'disabled',
      AutomaticFailover: 'enabled',
      MultiAZ: 'enabled',
      MemberClusters: ['orders-001', 'orders-002', 'orders-003'],
      SnapshotRetentionLimit: 7,
      ARN: groupArn('orders'),
      Engine: 'redis',
    });
    expect(group.ConfigurationEndpoint).toBeUndefined();
    expect(group.NodeGroups).toHaveLength(1);
    const shard = group.NodeGroups![0]!;
    expect(shard.PrimaryEndpoint?.Address).toMatch(/^orders\.\w+\.ng\.0001\.use1\.cache\.amazonaws\.com$/);
    expect(shard.ReaderEndpoint?.Address).toMatch(/^orders-ro\.\w+\.ng\.0001\.use1\.cache\.amazonaws\.com$/);
    expect(shard.PrimaryEndpoint?.Port).toBe(6379);
    expect(shard.NodeGroupMembers?.map((m) => [m.CacheClusterId, m.CurrentRole])).toEqual([
      ['orders-001', 'primary'],
      ['orders-002', 'replica'],
      ['orders-003', 'replica'],
    ]);
    expect(shard.NodeGroupMembers?.map((m) => m.PreferredAvailabilityZone)).toEqual([
      'us-east-1a',
      'us-east-1b',
      'us-east-1c',
    ]);
    expect(shard.NodeGroupMembers?.[1]?.ReadEndpoint?.Address).toMatch(/^orders-002\./);
  });

  it('describes a cluster-mode-enabled group by its configuration endpoint, shards and slots', async () => {
    const group = await describeGroup('catalog');
    expect(group).toMatchObject({
      ClusterEnabled: true,
      ClusterMode: 'enabled',
      AutomaticFailover: 'enabled',
    });
    expect(group.ConfigurationEndpoint?.Address).toMatch(
      /^catalog\.\w+\.clustercfg\.use1\.cache\.amazonaws\.com$/,
    );
    expect(group.NodeGroups?.map((n) => [n.NodeGroupId, n.Slots, n.NodeGroupMembers?.length])).toEqual([
      ['0001', '0-5460', 2],
      ['0002', '5461-10921', 2],
      ['0003', '10922-16383', 2],
    ]);
    expect(group.NodeGroups?.[0]?.PrimaryEndpoint).toBeUndefined();
    expect(group.MemberClusters).toEqual([
      'catalog-0001-001',
      'catalog-0001-002',
      'catalog-0002-001',
      'catalog-0002-002',
      'catalog-0003-001',
      'catalog-0003-002',
    ]);
  });

  it('reports at-rest encryption under a customer key as the key ARN with StorageEncryptionType sse-kms', async () => {
    const encrypted = await describeGroup('sessions');
    expect(encrypted).toMatchObject({
      AtRestEncryptionEnabled: true,
      KmsKeyId: KEY_ARN,
      StorageEncryptionType: 'sse-kms',
      TransitEncryptionEnabled: true,
      TransitEncryptionMode: 'required',
      Engine: 'valkey',
    });
    // Groups with in-transit encryption get master./replica. endpoint names.
    expect(encrypted.NodeGroups?.[0]?.PrimaryEndpoint?.Address).toMatch(/^master\.sessions\./);
    const plain = await describeGroup('orders');
    expect(plain).toMatchObject({ AtRestEncryptionEnabled: false, StorageEncryptionType: 'none' });
    expect(plain.KmsKeyId).toBeUndefined();
  });

  it('finds a group whatever the letter case of the id it is asked for', async () => {
    expect((await describeGroup('ORDERS')).ReplicationGroupId).toBe('orders');
  });

  it('lists every group when no id is given', async () => {
    const out = await ec.send(new DescribeReplicationGroupsCommand({}));
    expect(out.ReplicationGroups?.map((g) => g.ReplicationGroupId)).toEqual(
      expect.arrayContaining(['orders', 'catalog', 'sessions']),
    );
  });

  it('fails with ReplicationGroupNotFoundFault (HTTP 404) for an unknown group', async () => {
    expect(await failure(describeGroup('nope'))).toEqual({
      name: 'ReplicationGroupNotFoundFault',
      status: 404,
    });
  });

  it('rejects MaxRecords outside 20–100 with InvalidParameterValueException (HTTP 400)', async () => {
    expect(await failure(ec.send(new DescribeReplicationGroupsCommand({ MaxRecords: 10 })))).toEqual({
      name: 'InvalidParameterValueException',
      status: 400,
    });
  });
});

describe('DescribeCacheClusters', () => {
  it('describes each member cluster with its security groups, subnet group, parameter group and engine version', async () => {
    const out = await ec.send(new DescribeCacheClustersCommand({ CacheClusterId: 'orders-002' }));
    expect(out.CacheClusters).toHaveLength(1);
    expect(out.CacheClusters![0]).toMatchObject({
      CacheClusterId: 'orders-002',
      ReplicationGroupId: 'orders',
      CacheClusterStatus: 'available',
      Engine: 'redis',
      EngineVersion: '7.1',
      CacheNodeType: 'cache.r6g.large',
      CacheSubnetGroupName: 'private-a',
      CacheParameterGroup: { CacheParameterGroupName: 'orders-params' },
      SecurityGroups: [
        { SecurityGroupId: 'sg-0a1b2c3d4e', Status: 'active' },
        { SecurityGroupId: 'sg-0f0e0d0c0b', Status: 'active' },
      ],
      PreferredAvailabilityZone: 'us-east-1b',
      AtRestEncryptionEnabled: false,
    });
  });

  it('shows node endpoints only when ShowCacheNodeInfo is set', async () => {
    const without = await ec.send(new DescribeCacheClustersCommand({ CacheClusterId: 'orders-001' }));
    expect(without.CacheClusters![0]!.CacheNodes).toBeUndefined();
    const withNodes = await ec.send(
      new DescribeCacheClustersCommand({ CacheClusterId: 'orders-001', ShowCacheNodeInfo: true }),
    );
    expect(withNodes.CacheClusters![0]!.CacheNodes?.[0]).toMatchObject({
      CacheNodeId: '0001',
      CacheNodeStatus: 'available',
      Endpoint: { Port: 6379 },
    });
    expect(withNodes.CacheClusters![0]!.CacheNodes?.[0]?.Endpoint?.Address).toMatch(/^orders-001\./);
  });

  it('lists the nodes of every group when no id is given', async () => {
    const out = await ec.send(new DescribeCacheClustersCommand({}));
    expect(out.CacheClusters?.map((c) => c.CacheClusterId)).toEqual(
      expect.arrayContaining(['orders-001', 'catalog-0003-002', 'sessions-002']),
    );
  });

  it('fails with CacheClusterNotFoundFault (HTTP 404) for an unknown cluster', async () => {
    expect(await failure(ec.send(new DescribeCacheClustersCommand({ CacheClusterId: 'nope-001' })))).toEqual({
      name: 'CacheClusterNotFoundFault',
      status: 404,
    });
  });
});

describe('paging', () => {
  let big: Sandbox;
  let client: ElastiCacheClient;
  beforeAll(async () => {
    const replicationGroups = Array.from({ length: 45 }, (_, i) => ({
      id: `g${String(i).padStart(2, '0')}`,
      replicasPerShard: 0,
    }));
    big = await startSandbox({ fixture: { timeScale: 0, elasticache: { replicationGroups } } });
    client = new ElastiCacheClient(sdkConfig(big));
  });
  afterAll(async () => {
    client?.destroy();
    await big?.stop();
  });

  it('pages DescribeReplicationGroups with MaxRecords and Marker', async () => {
    const pages: string[][] = [];
    for await (const page of paginateDescribeReplicationGroups({ client, pageSize: 20 }, {}))
      pages.push(page.ReplicationGroups!.map((g) => g.ReplicationGroupId!));
    expect(pages.map((p) => p.length)).toEqual([20, 20, 5]);
    expect(new Set(pages.flat()).size).toBe(45);
  });

  it('pages DescribeCacheClusters with MaxRecords and Marker', async () => {
    const sizes: number[] = [];
    for await (const page of paginateDescribeCacheClusters({ client, pageSize: 40 }, {}))
      sizes.push(page.CacheClusters!.length);
    expect(sizes).toEqual([40, 5]);
  });

  it('pages DescribeSnapshots, which allows at most 50 records a page', async () => {
    for (let i = 0; i < 25; i++) {
      const id = `g${String(i).padStart(2, '0')}`;
      await client.send(new CreateSnapshotCommand({ ReplicationGroupId: id, SnapshotName: `${id}-snap` }));
    }
    const sizes: number[] = [];
    for await (const page of paginateDescribeSnapshots({ client, pageSize: 20 }, {}))
      sizes.push(page.Snapshots!.length);
    expect(sizes).toEqual([20, 5]);
    expect(await failure(client.send(new DescribeSnapshotsCommand({ MaxRecords: 51 })))).toEqual({
      name: 'InvalidParameterValueException',
      status: 400,
    });
    expect((await client.send(new DescribeSnapshotsCommand({ MaxRecords: 50 }))).Snapshots).toHaveLength(25);
  });
});

describe('CreateReplicationGroup', () => {
  it('creates a cluster-mode-disabled group that goes from creating to available with what was asked for', async () => {
    const created = await ec.send(
      new CreateReplicationGroupCommand({
        ReplicationGroupId: 'New-Orders',
        ReplicationGroupDescription: 'new orders cache',
        Engine: 'redis',
        EngineVersion: '7.1',
        CacheNodeType: 'cache.r7g.large',
        NumCacheClusters: 3,
        AutomaticFailoverEnabled: true,
        MultiAZEnabled: true,
        PreferredCacheClusterAZs: ['us-east-1c', 'us-east-1a', 'us-east-1b'],
        SecurityGroupIds: ['sg-0a1b2c3d4e'],
        TransitEncryptionEnabled: true,
        TransitEncryptionMode: 'preferred',
        AuthToken: 'a-very-secret-token-123',
        AtRestEncryptionEnabled: true,
        KmsKeyId: 'alias/cache',
        Tags: [{ Key: 'team', Value: 'orders' }],
      }),
    );
    expect(created.ReplicationGroup).toMatchObject({ ReplicationGroupId: 'new-orders', Status: 'creating' });
    const trail = await statusTrail(
      'creating',
      () => groupStatus('new-orders'),
      (s) => s !== 'creating',
    );
    expect(trail).toEqual(['creating', 'available']);

    const group = await describeGroup('new-orders');
    expect(group).toMatchObject({
      CacheNodeType: 'cache.r7g.large',
      MemberClusters: ['new-orders-001', 'new-orders-002', 'new-orders-003'],
      AutomaticFailover: 'enabled',
      MultiAZ: 'enabled',
      TransitEncryptionEnabled: true,
      TransitEncryptionMode: 'preferred',
      AuthTokenEnabled: true,
      AtRestEncryptionEnabled: true,
      KmsKeyId: KEY_ARN,
      StorageEncryptionType: 'sse-kms',
    });
    expect(group.NodeGroups?.[0]?.NodeGroupMembers?.map((m) => m.PreferredAvailabilityZone)).toEqual([
      'us-east-1c',
      'us-east-1a',
      'us-east-1b',
    ]);
    // The token itself is never returned.
    expect(JSON.stringify(group)).not.toContain('a-very-secret-token-123');
    expect(await tagsOf(groupArn('new-orders'))).toEqual([{ Key: 'team', Value: 'orders' }]);
    const member = await ec.send(new DescribeCacheClustersCommand({ CacheClusterId: 'new-orders-003' }));
    expect(member.CacheClusters![0]!.SecurityGroups).toEqual([
      { SecurityGroupId: 'sg-0a1b2c3d4e', Status: 'active' },
    ]);
  });

  it('creates a cluster-mode-enabled group with the shards and replicas asked for, slots split evenly', async () => {
    await ec.send(
      new CreateReplicationGroupCommand({
        ReplicationGroupId: 'new-catalog',
        ReplicationGroupDescription: 'sharded',
        CacheNodeType: 'cache.r6g.large',
        ClusterMode: 'enabled',
        NumNodeGroups: 2,
        ReplicasPerNodeGroup: 2,
        AutomaticFailoverEnabled: true,
        AtRestEncryptionEnabled: false,
      }),
    );
    await pollUntil(
      () => groupStatus('new-catalog'),
      (s) => s === 'available',
    );
    const group = await describeGroup('new-catalog');
    expect(group.ClusterEnabled).toBe(true);
    expect(group.ConfigurationEndpoint?.Address).toContain('clustercfg');
    expect(group.NodeGroups?.map((n) => [n.Slots, n.NodeGroupMembers?.length])).toEqual([
      ['0-8191', 3],
      ['8192-16383', 3],
    ]);
  });
});

describe('CreateSnapshot, DescribeSnapshots and DeleteSnapshot', () => {
  it('backs up a cluster-mode-disabled group from the replica named by CacheClusterId', async () => {
    const out = await ec.send(
      new CreateSnapshotCommand({ CacheClusterId: 'orders-003', SnapshotName: 'Orders-From-Replica' }),
    );
    expect(out.Snapshot).toMatchObject({
      SnapshotName: 'orders-from-replica',
      SnapshotStatus: 'creating',
      ReplicationGroupId: 'orders',
      CacheClusterId: 'orders-003',
      SnapshotSource: 'manual',
    });
    const during = await describeGroup('orders');
    expect(during).toMatchObject({ Status: 'snapshotting', SnapshottingClusterId: 'orders-003' });
    await pollUntil(
      () => snapshotStatus('orders-from-replica'),
      (s) => s === 'available',
    );
    const snapshot = await describeSnapshot('orders-from-replica');
    expect(snapshot.NodeSnapshots?.map((n) => n.CacheClusterId)).toEqual(['orders-003']);
    expect(snapshot).toMatchObject({
      CacheNodeType: 'cache.r6g.large',
      Engine: 'redis',
      EngineVersion: '7.1',
      CacheParameterGroupName: 'orders-params',
      CacheSubnetGroupName: 'private-a',
      AutomaticFailover: 'enabled',
      NumNodeGroups: 1,
      ARN: snapshotArn('orders-from-replica'),
    });
    const after = await describeGroup('orders');
    expect(after.Status).toBe('available');
    expect(after.SnapshottingClusterId).toBeUndefined();
  });

  it('backs up every shard of a cluster-mode-enabled group, with its slot layout', async () => {
    await ec.send(new CreateSnapshotCommand({ ReplicationGroupId: 'catalog', SnapshotName: 'catalog-snap' }));
    await pollUntil(
      () => snapshotStatus('catalog-snap'),
      (s) => s === 'available',
    );
    const snapshot = await describeSnapshot('catalog-snap', true);
    expect(snapshot.NumNodeGroups).toBe(3);
    expect(snapshot.NodeSnapshots?.map((n) => [n.NodeGroupId, n.NodeGroupConfiguration?.Slots])).toEqual([
      ['0001', '0-5460'],
      ['0002', '5461-10921'],
      ['0003', '10922-16383'],
    ]);
    // By default a replica of each shard is backed up, keeping load off the primaries.
    expect(snapshot.NodeSnapshots?.map((n) => n.CacheClusterId)).toEqual([
      'catalog-0001-002',
      'catalog-0002-002',
      'catalog-0003-002',
    ]);
  });

  it('encrypts a snapshot under the KMS key passed to CreateSnapshot and reports its ARN', async () => {
    await ec.send(
      new CreateSnapshotCommand({
        ReplicationGroupId: 'orders',
        SnapshotName: 'orders-kms',
        KmsKeyId: 'alias/cache',
      }),
    );
    expect((await describeSnapshot('orders-kms')).KmsKeyId).toBe(KEY_ARN);
    await pollUntil(
      () => snapshotStatus('orders-kms'),
      (s) => s === 'available',
    );
  });

  it('filters snapshots by group, by node and by source', async () => {
    const byGroup = await ec.send(new DescribeSnapshotsCommand({ ReplicationGroupId: 'catalog' }));
    expect(byGroup.Snapshots?.map((s) => s.SnapshotName)).toEqual(['catalog-snap']);
    const byNode = await ec.send(new DescribeSnapshotsCommand({ CacheClusterId: 'orders-003' }));
    expect(byNode.Snapshots?.map((s) => s.SnapshotName)).toEqual(['orders-from-replica']);
    const system = await ec.send(new DescribeSnapshotsCommand({ SnapshotSource: 'system' }));
    expect(system.Snapshots).toEqual([]);
  });

  it('deletes a snapshot: deleting, then gone', async () => {
    const out = await ec.send(new DeleteSnapshotCommand({ SnapshotName: 'catalog-snap' }));
    expect(out.Snapshot?.SnapshotStatus).toBe('deleting');
    const trail = await statusTrail(
      'deleting',
      () => snapshotStatus('catalog-snap'),
      (s) => s === 'gone',
    );
    expect(trail).toEqual(['deleting', 'gone']);
  });

  it('fails with SnapshotNotFoundFault (HTTP 404) for an unknown snapshot', async () => {
    const notFound = { name: 'SnapshotNotFoundFault', status: 404 };
    expect(await failure(describeSnapshot('nope'))).toEqual(notFound);
    expect(await failure(ec.send(new DeleteSnapshotCommand({ SnapshotName: 'nope' })))).toEqual(notFound);
  });

  it('fails with ReplicationGroupNotFoundFault or CacheClusterNotFoundFault when the source is unknown', async () => {
    expect(
      await failure(ec.send(new CreateSnapshotCommand({ ReplicationGroupId: 'nope', SnapshotName: 's1' }))),
    ).toEqual({ name: 'ReplicationGroupNotFoundFault', status: 404 });
    expect(
      await failure(ec.send(new CreateSnapshotCommand({ CacheClusterId: 'nope-001', SnapshotName: 's1' }))),
    ).toEqual({ name: 'CacheClusterNotFoundFault', status: 404 });
  });
});

describe('subnet groups and user groups', () => {
  it('describes the subnet and user groups that exist; a missing one is CacheSubnetGroupNotFoundFault / UserGroupNotFound (404)', async () => {
    const subnet = await ec.send(new DescribeCacheSubnetGroupsCommand({ CacheSubnetGroupName: 'private-a' }));
    expect(subnet.CacheSubnetGroups?.map((g) => g.CacheSubnetGroupName)).toEqual(['private-a']);
    expect(
      await failure(ec.send(new DescribeCacheSubnetGroupsCommand({ CacheSubnetGroupName: 'gone' }))),
    ).toEqual({
      name: 'CacheSubnetGroupNotFoundFault',
      status: 400,
    });
    const users = await ec.send(new DescribeUserGroupsCommand({ UserGroupId: 'orders-users' }));
    expect(users.UserGroups?.map((g) => [g.UserGroupId, g.Status])).toEqual([['orders-users', 'active']]);
    expect(await failure(ec.send(new DescribeUserGroupsCommand({ UserGroupId: 'gone' })))).toEqual({
      name: 'UserGroupNotFoundFault',
      status: 404,
    });
  });

  it('creates a group in a subnet group and with user groups that exist, and refuses missing ones', async () => {
    const create = (id: string, extra: Record<string, unknown>) =>
      ec.send(
        new CreateReplicationGroupCommand({
          ReplicationGroupId: id,
          ReplicationGroupDescription: 'network',
          Engine: 'redis',
          CacheNodeType: 'cache.t4g.micro',
          NumCacheClusters: 1,
          TransitEncryptionEnabled: true,
          ...extra,
        }),
      );
    expect(await failure(create('net-subnet', { CacheSubnetGroupName: 'gone' }))).toMatchObject({
      name: 'CacheSubnetGroupNotFoundFault',
    });
    expect(
      await failure(create('net-users', { CacheSubnetGroupName: 'private-a', UserGroupIds: ['gone'] })),
    ).toMatchObject({
      name: 'UserGroupNotFoundFault',
    });
    expect(await groupIds()).not.toContain('net-subnet');
    const made = await create('net-ok', {
      CacheSubnetGroupName: 'private-a',
      UserGroupIds: ['orders-users'],
    });
    expect(made.ReplicationGroup?.UserGroupIds).toEqual(['orders-users']);
    await pollUntil(
      () => groupStatus('net-ok'),
      (status) => status === 'available',
    );
    expect(
      await failure(
        ec.send(
          new ModifyReplicationGroupCommand({
            ReplicationGroupId: 'net-ok',
            UserGroupIdsToAdd: ['gone'],
            ApplyImmediately: true,
          }),
        ),
      ),
    ).toMatchObject({ name: 'UserGroupNotFoundFault' });
    await ec.send(new DeleteReplicationGroupCommand({ ReplicationGroupId: 'net-ok' }));
  });
});

describe('tags', () => {
  // A test that pauses simulated time never leaves it paused for the next one.
  afterEach(() => sandbox.clock.resume());

  it('lists, adds, overwrites and removes the tags of an available group, which passes through modifying after each change', async () => {
    const arn = groupArn('orders');
    // Simulated time is paused across each change, so its short `modifying` is seen for sure.
    const passesThroughModifying = async () => {
      expect(await groupStatus('orders')).toBe('modifying');
      sandbox.clock.resume();
      await pollUntil(
        () => groupStatus('orders'),
        (status) => status === 'available',
      );
    };
    expect(await tagsOf(arn)).toEqual([
      { Key: 'team', Value: 'orders' },
      { Key: 'env', Value: 'prod' },
    ]);
    sandbox.clock.pause();
    const added = await ec.send(
      new AddTagsToResourceCommand({
        ResourceName: arn,
        Tags: [
          { Key: 'env', Value: 'staging' },
          { Key: 'owner', Value: 'platform' },
        ],
      }),
    );
    expect(added.TagList).toEqual([
      { Key: 'team', Value: 'orders' },
      { Key: 'env', Value: 'staging' },
      { Key: 'owner', Value: 'platform' },
    ]);
    await passesThroughModifying();
    sandbox.clock.pause();
    const removed = await ec.send(
      new RemoveTagsFromResourceCommand({ ResourceName: arn, TagKeys: ['owner'] }),
    );
    expect(removed.TagList).toEqual([
      { Key: 'team', Value: 'orders' },
      { Key: 'env', Value: 'staging' },
    ]);
    await passesThroughModifying();
    expect(await tagsOf(arn)).toEqual(removed.TagList);
  });

  it('refuses to list, add or remove the tags of a group that is not available (modifying after a tag change, snapshotting)', async () => {
    const arn = groupArn('orders');
    const memberArn = `arn:aws:elasticache:us-east-1:${ACCOUNT}:cluster:orders-001`;
    // Simulated time stands still while the states are probed (no race with the short `modifying`).
    sandbox.clock.pause();
    await ec.send(new AddTagsToResourceCommand({ ResourceName: arn, Tags: [{ Key: 'step', Value: '1' }] }));
    const refused = { name: 'InvalidReplicationGroupStateFault', status: 400 };
    expect(await failure(ec.send(new ListTagsForResourceCommand({ ResourceName: arn })))).toEqual(refused);
    expect(await failure(ec.send(new ListTagsForResourceCommand({ ResourceName: memberArn })))).toEqual(
      refused,
    );
    expect(
      await failure(
        ec.send(new AddTagsToResourceCommand({ ResourceName: arn, Tags: [{ Key: 'step', Value: '2' }] })),
      ),
    ).toEqual(refused);
    expect(
      await failure(ec.send(new RemoveTagsFromResourceCommand({ ResourceName: arn, TagKeys: ['step'] }))),
    ).toEqual(refused);
    sandbox.clock.resume();
    await pollUntil(
      () => groupStatus('orders'),
      (s) => s === 'available',
    );
    // The daily backup window: snapshotting refuses tag reads and changes alike.
    sandbox.clock.pause();
    sandbox.elasticache.beginAutomaticBackup('orders');
    expect(await groupStatus('orders')).toBe('snapshotting');
    expect(await failure(ec.send(new ListTagsForResourceCommand({ ResourceName: arn })))).toEqual(refused);
    expect(
      await failure(ec.send(new RemoveTagsFromResourceCommand({ ResourceName: arn, TagKeys: ['step'] }))),
    ).toEqual(refused);
    sandbox.clock.resume();
    await pollUntil(
      () => groupStatus('orders'),
      (s) => s === 'available',
    );
    expect(await tagsOf(arn)).toContainEqual({ Key: 'step', Value: '1' });
    await ec.send(new RemoveTagsFromResourceCommand({ ResourceName: arn, TagKeys: ['step'] }));
    await pollUntil(
      () => groupStatus('orders'),
      (s) => s === 'available',
    );
  });

  it('tags snapshots, starting with the tags given to CreateSnapshot', async () => {
    await ec.send(
      new CreateSnapshotCommand({
        ReplicationGroupId: 'sessions',
        SnapshotName: 'sessions-tagged',
        Tags: [{ Key: 'purpose', Value: 'migration' }],
      }),
    );
    expect(await tagsOf(snapshotArn('sessions-tagged'))).toEqual([{ Key: 'purpose', Value: 'migration' }]);
    await pollUntil(
      () => snapshotStatus('sessions-tagged'),
      (s) => s === 'available',
    );
  });

  it('fails with TagNotFoundFault (HTTP 404) when removing a tag the resource does not have', async () => {
    expect(
      await failure(
        ec.send(new RemoveTagsFromResourceCommand({ ResourceName: groupArn('orders'), TagKeys: ['absent'] })),
      ),
    ).toEqual({ name: 'TagNotFoundFault', status: 404 });
  });

  it('fails with InvalidARNFault for a malformed ARN and a not-found fault for an unknown resource', async () => {
    expect(await failure(tagsOf('orders'))).toEqual({ name: 'InvalidARNFault', status: 400 });
    expect(await failure(tagsOf(groupArn('nope')))).toEqual({
      name: 'ReplicationGroupNotFoundFault',
      status: 404,
    });
    expect(await failure(tagsOf(snapshotArn('nope')))).toEqual({
      name: 'SnapshotNotFoundFault',
      status: 404,
    });
  });
});

describe('ModifyReplicationGroup and DeleteReplicationGroup', () => {
  it('fail with ReplicationGroupNotFoundFault (HTTP 404) for an unknown group', async () => {
    const notFound = { name: 'ReplicationGroupNotFoundFault', status: 404 };
    expect(
      await failure(
        ec.send(new ModifyReplicationGroupCommand({ ReplicationGroupId: 'nope', SnapshotRetentionLimit: 7 })),
      ),
    ).toEqual(notFound);
    expect(await failure(ec.send(new DeleteReplicationGroupCommand({ ReplicationGroupId: 'nope' })))).toEqual(
      notFound,
    );
  });

  it('shows a pending in-transit encryption change while modifying, then applies it', async () => {
    await ec.send(
      new CreateReplicationGroupCommand({
        ReplicationGroupId: 'plaintext',
        ReplicationGroupDescription: 'no TLS yet',
        CacheNodeType: 'cache.r6g.large',
        EngineVersion: '7.1',
        AtRestEncryptionEnabled: false,
      }),
    );
    await pollUntil(
      () => groupStatus('plaintext'),
      (s) => s === 'available',
    );
    const out = await ec.send(
      new ModifyReplicationGroupCommand({
        ReplicationGroupId: 'plaintext',
        TransitEncryptionEnabled: true,
        TransitEncryptionMode: 'preferred',
        ApplyImmediately: true,
      }),
    );
    expect(out.ReplicationGroup).toMatchObject({
      Status: 'modifying',
      TransitEncryptionEnabled: false,
      PendingModifiedValues: { TransitEncryptionEnabled: true, TransitEncryptionMode: 'preferred' },
    });
    await pollUntil(
      () => groupStatus('plaintext'),
      (s) => s === 'available',
    );
    expect(await describeGroup('plaintext')).toMatchObject({
      TransitEncryptionEnabled: true,
      TransitEncryptionMode: 'preferred',
    });
  });
});

describe('life cycle', () => {
  it('drives a group from create through snapshot, encrypted restore, modify and delete with a final snapshot', async () => {
    await ec.send(
      new CreateCacheParameterGroupCommand({
        CacheParameterGroupName: 'src-params',
        CacheParameterGroupFamily: 'redis7',
        Description: 'source parameters',
      }),
    );
    // 1. Create the source group.
    const created = await ec.send(
      new CreateReplicationGroupCommand({
        ReplicationGroupId: 'src',
        ReplicationGroupDescription: 'source',
        Engine: 'redis',
        EngineVersion: '7.1',
        CacheNodeType: 'cache.m6g.large',
        NumCacheClusters: 2,
        AutomaticFailoverEnabled: true,
        Port: 6380,
        CacheParameterGroupName: 'src-params',
        CacheSubnetGroupName: 'private-b',
        SecurityGroupIds: ['sg-0aaa1111bb'],
        SnapshotRetentionLimit: 5,
        SnapshotWindow: '02:00-03:00',
        PreferredMaintenanceWindow: 'tue:04:00-tue:05:00',
        AtRestEncryptionEnabled: false,
        Tags: [{ Key: 'app', Value: 'src' }],
      }),
    );
    expect(
      await statusTrail(
        created.ReplicationGroup?.Status,
        () => groupStatus('src'),
        (s) => s === 'available',
      ),
    ).toEqual(['creating', 'available']);
    expect(await describeGroup('src')).toMatchObject({
      AtRestEncryptionEnabled: false,
      StorageEncryptionType: 'none',
    });

    // 2. Back it up from its replica: the group is snapshotting until the snapshot is available.
    const snap = await ec.send(
      new CreateSnapshotCommand({ CacheClusterId: 'src-002', SnapshotName: 'src-backup' }),
    );
    // Group and snapshot status as one consistent reading (the snapshot did not change meanwhile).
    const both = async (group: string, snapshot: string): Promise<string> => {
      const before = await snapshotStatus(snapshot);
      const groupNow = await groupStatus(group);
      const after = await snapshotStatus(snapshot);
      return before === after ? `${groupNow} / ${after}` : both(group, snapshot);
    };
    expect(
      await statusTrail(
        `snapshotting / ${snap.Snapshot?.SnapshotStatus}`,
        () => both('src', 'src-backup'),
        (s) => s === 'available / available',
      ),
    ).toEqual(['snapshotting / creating', 'available / available']);

    // 3. Restore it into a new group encrypted at rest under the customer key, copying what the
    //    snapshot does not carry (security groups, tags) from the source.
    const member = await ec.send(new DescribeCacheClustersCommand({ CacheClusterId: 'src-001' }));
    const securityGroupIds = member.CacheClusters![0]!.SecurityGroups!.map((g) => g.SecurityGroupId!);
    const restored = await ec.send(
      new CreateReplicationGroupCommand({
        ReplicationGroupId: 'dst',
        ReplicationGroupDescription: 'restored, encrypted',
        SnapshotName: 'src-backup',
        NumCacheClusters: 2,
        AtRestEncryptionEnabled: true,
        KmsKeyId: 'alias/cache',
        SecurityGroupIds: securityGroupIds,
        Tags: await tagsOf(groupArn('src')),
      }),
    );
    expect(restored.ReplicationGroup?.Status).toBe('creating');
    expect(
      await statusTrail(
        await both('dst', 'src-backup'),
        () => both('dst', 'src-backup'),
        (s) => s === 'available / available',
      ),
    ).toEqual(['creating / restoring', 'available / available']);
    const dst = await describeGroup('dst');
    expect(dst).toMatchObject({
      CacheNodeType: 'cache.m6g.large',
      AutomaticFailover: 'enabled',
      SnapshotRetentionLimit: 5,
      SnapshotWindow: '02:00-03:00',
      AtRestEncryptionEnabled: true,
      KmsKeyId: KEY_ARN,
      StorageEncryptionType: 'sse-kms',
      MemberClusters: ['dst-001', 'dst-002'],
    });
    expect(dst.NodeGroups?.[0]?.PrimaryEndpoint?.Port).toBe(6380);
    const dstMember = (await ec.send(new DescribeCacheClustersCommand({ CacheClusterId: 'dst-001' })))
      .CacheClusters![0]!;
    expect(dstMember).toMatchObject({
      EngineVersion: '7.1',
      CacheParameterGroup: { CacheParameterGroupName: 'src-params' },
      CacheSubnetGroupName: 'private-b',
      PreferredMaintenanceWindow: 'tue:04:00-tue:05:00',
      SecurityGroups: [{ SecurityGroupId: 'sg-0aaa1111bb', Status: 'active' }],
    });
    expect(await tagsOf(groupArn('dst'))).toEqual([{ Key: 'app', Value: 'src' }]);

    // 4. Modify the new group.
    const modified = await ec.send(
      new ModifyReplicationGroupCommand({
        ReplicationGroupId: 'dst',
        SnapshotRetentionLimit: 7,
        ApplyImmediately: true,
      }),
    );
    expect(
      await statusTrail(
        modified.ReplicationGroup?.Status,
        () => groupStatus('dst'),
        (s) => s === 'available',
      ),
    ).toEqual(['modifying', 'available']);
    expect((await describeGroup('dst')).SnapshotRetentionLimit).toBe(7);

    // 5. Delete the source with a final snapshot taken from its primary.
    const deleted = await ec.send(
      new DeleteReplicationGroupCommand({ ReplicationGroupId: 'src', FinalSnapshotIdentifier: 'src-final' }),
    );
    expect(deleted.ReplicationGroup?.Status).toBe('deleting');
    expect(
      await statusTrail(
        await both('src', 'src-final'),
        () => both('src', 'src-final'),
        (s) => s === 'gone / available',
      ),
    ).toEqual(['deleting / creating', 'deleting / available', 'gone / available']);
    expect(await failure(describeGroup('src'))).toEqual({
      name: 'ReplicationGroupNotFoundFault',
      status: 404,
    });
    const final = await describeSnapshot('src-final');
    expect(final).toMatchObject({ ReplicationGroupId: 'src', SnapshotStatus: 'available' });
    expect(final.NodeSnapshots?.map((n) => n.CacheClusterId)).toEqual(['src-001']);

    // 6. Delete the snapshots.
    for (const name of ['src-backup', 'src-final']) {
      const out = await ec.send(new DeleteSnapshotCommand({ SnapshotName: name }));
      expect(
        await statusTrail(
          out.Snapshot?.SnapshotStatus,
          () => snapshotStatus(name),
          (s) => s === 'gone',
        ),
      ).toEqual(['deleting', 'gone']);
    }
  });
});
