/**
 * One compliant / non-compliant pair per ElastiCache rule the sandbox enforces
 * (sandbox/services/elasticache/rules.ts, store.ts, service.ts), through the real SDK client.
 */
import {
  AddTagsToResourceCommand,
  CreateReplicationGroupCommand,
  type CreateReplicationGroupCommandInput,
  CreateSnapshotCommand,
  DeleteReplicationGroupCommand,
  DeleteSnapshotCommand,
  DescribeReplicationGroupsCommand,
  DescribeSnapshotsCommand,
  ElastiCacheClient,
  ListTagsForResourceCommand,
  ModifyReplicationGroupCommand,
} from '@aws-sdk/client-elasticache';
import { DisableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../sandbox/index.js';
import { failure, orGone, pollUntil, sdkConfig } from './sdk-support.js';

const CMK = '11111111-2222-4333-8444-555555555555';
const DISABLED = '22222222-3333-4444-8555-666666666666';
const RSA = '33333333-4444-4555-8666-777777777777';
const LATER_DISABLED = '44444444-5555-4666-8777-888888888888';
const arnOfGroup = (id: string) => `arn:aws:elasticache:us-east-1:123456789012:replicationgroup:${id}`;

const invalidValue = { name: 'InvalidParameterValueException', status: 400 };
const invalidCombination = { name: 'InvalidParameterCombinationException', status: 400 };
const invalidState = { name: 'InvalidReplicationGroupStateFault', status: 400 };

let sandbox: Sandbox;
let ec: ElastiCacheClient;
let kms: KMSClient;

beforeAll(async () => {
  sandbox = await startSandbox({
    fixture: {
      // Life cycles complete on the next read.
      timeScale: 0,
      kms: {
        keys: [
          { id: CMK, aliases: ['alias/cache'] },
          { id: DISABLED, aliases: ['alias/disabled'], state: 'Disabled' },
          { id: RSA, spec: 'RSA_2048' },
          { id: LATER_DISABLED, aliases: ['alias/later-disabled'] },
        ],
      },
      elasticache: {
        userGroups: ['rbac-users'],
        replicationGroups: [
          { id: 'base', replicasPerShard: 2, automaticFailover: true },
          { id: 'sharded', clusterMode: 'enabled', shards: 2, replicasPerShard: 1 },
          { id: 'tiny', nodeType: 'cache.t1.micro', replicasPerShard: 0, engineVersion: '6.2' },
          { id: 'quota', replicasPerShard: 2, automaticFailover: true },
          { id: 'global-member', globalReplicationGroupId: 'ldgnf-orders-global' },
          {
            id: 'encrypted-later-disabled',
            atRestEncryption: true,
            kmsKey: 'alias/later-disabled',
            replicasPerShard: 1,
          },
        ],
      },
    },
  });
  ec = new ElastiCacheClient(sdkConfig(sandbox));
  kms = new KMSClient(sdkConfig(sandbox));
});
afterAll(async () => {
  ec?.destroy();
  kms?.destroy();
  await sandbox?.stop();
});

let counter = 0;
/** A minimal valid CreateReplicationGroup request, with `overrides` applied. */
const request = (overrides: Partial<CreateReplicationGroupCommandInput> = {}) =>
  ({
    ReplicationGroupId: `rg-${++counter}`,
    ReplicationGroupDescription: 'rule test',
    Engine: 'redis',
    EngineVersion: '7.1',
    CacheNodeType: 'cache.r6g.large',
    AtRestEncryptionEnabled: false,
    ...overrides,
  }) as CreateReplicationGroupCommandInput;
const create = async (overrides: Partial<CreateReplicationGroupCommandInput> = {}) =>
  (await ec.send(new CreateReplicationGroupCommand(request(overrides)))).ReplicationGroup!;
const describeGroup = async (id: string) =>
  (await ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: id }))).ReplicationGroups![0]!;
const groupStatus = (id: string) =>
  orGone(
    describeGroup(id).then((g) => g.Status),
    'ReplicationGroupNotFoundFault',
  );
const snapshotStatus = async (name: string) =>
  orGone(
    ec
      .send(new DescribeSnapshotsCommand({ SnapshotName: name }))
      .then((out) => out.Snapshots?.[0]?.SnapshotStatus),
    'SnapshotNotFoundFault',
  );
/** Waits for the end of a group's create (available or create-failed). */
const settled = (id: string) =>
  pollUntil(
    () => groupStatus(id),
    (s) => s !== 'creating',
  );
const snapshot = async (input: {
  ReplicationGroupId?: string;
  CacheClusterId?: string;
  SnapshotName: string;
}) => {
  await ec.send(new CreateSnapshotCommand(input));
  return pollUntil(
    () => snapshotStatus(input.SnapshotName.toLowerCase()),
    (s) => s !== 'creating',
  );
};

describe('identifiers: 1–40 letters, digits or hyphens, starting with a letter, stored lowercase', () => {
  it('accepts a mixed-case group id and stores it lowercase', async () => {
    expect((await create({ ReplicationGroupId: 'Orders-Cache-2' })).ReplicationGroupId).toBe(
      'orders-cache-2',
    );
    expect((await describeGroup('ORDERS-CACHE-2')).ReplicationGroupId).toBe('orders-cache-2');
    expect((await create({ ReplicationGroupId: `a${'b'.repeat(39)}` })).ReplicationGroupId).toHaveLength(40);
  });

  it.each([
    ['41 characters', `a${'b'.repeat(40)}`],
    ['a leading digit', '1orders'],
    ['two consecutive hyphens', 'orders--cache'],
    ['a trailing hyphen', 'orders-'],
    ['an underscore', 'orders_cache'],
  ])('rejects a group id with %s with InvalidParameterValue', async (_, id) => {
    expect(await failure(create({ ReplicationGroupId: id }))).toEqual(invalidValue);
  });

  it('accepts a mixed-case snapshot name and stores it lowercase', async () => {
    await snapshot({ ReplicationGroupId: 'base', SnapshotName: 'Base-Nightly' });
    expect(await snapshotStatus('base-nightly')).toBe('available');
  });

  it('rejects a snapshot name or final snapshot identifier that breaks the pattern', async () => {
    expect(
      await failure(
        ec.send(new CreateSnapshotCommand({ ReplicationGroupId: 'base', SnapshotName: 'nightly-' })),
      ),
    ).toEqual(invalidValue);
    const doomed = await create();
    await settled(doomed.ReplicationGroupId!);
    expect(
      await failure(
        ec.send(
          new DeleteReplicationGroupCommand({
            ReplicationGroupId: doomed.ReplicationGroupId,
            FinalSnapshotIdentifier: '9-final',
          }),
        ),
      ),
    ).toEqual(invalidValue);
  });
});

describe('AuthToken: only with in-transit encryption; 16–128 printable characters, specials ! & # $ ^ < > -', () => {
  it('accepts tokens of 16 and 128 characters using every allowed special character', async () => {
    const group = await create({ TransitEncryptionEnabled: true, AuthToken: 'Ab1!&#$^<>-xyzQQ' });
    await settled(group.ReplicationGroupId!);
    expect(await describeGroup(group.ReplicationGroupId!)).toMatchObject({ AuthTokenEnabled: true });
    expect(await create({ TransitEncryptionEnabled: true, AuthToken: 'x'.repeat(128) })).toMatchObject({
      AuthTokenEnabled: true,
    });
  });

  it('accepts a user group without a token, and refuses a token together with a user group (AUTH or RBAC)', async () => {
    expect(await create({ TransitEncryptionEnabled: true, UserGroupIds: ['rbac-users'] })).toMatchObject({
      UserGroupIds: ['rbac-users'],
    });
    expect(
      await failure(
        create({
          TransitEncryptionEnabled: true,
          AuthToken: 'a-valid-token-12345',
          UserGroupIds: ['rbac-users'],
        }),
      ),
    ).toEqual(invalidCombination);
  });

  it('rejects a token without in-transit encryption with InvalidParameterCombination', async () => {
    expect(await failure(create({ AuthToken: 'a-valid-token-12345' }))).toEqual(invalidCombination);
  });

  it.each([
    ['15 characters', 'x'.repeat(15)],
    ['129 characters', 'x'.repeat(129)],
    ['an @', 'abcdefghijklmnop@'],
    ['a space', 'abcdefgh ijklmnop'],
  ])('rejects a token of %s with InvalidParameterValue', async (_, token) => {
    expect(await failure(create({ TransitEncryptionEnabled: true, AuthToken: token }))).toEqual(invalidValue);
  });
});

describe('replica and failover combinations', () => {
  it('accepts 6 cache clusters, and 2 with automatic failover', async () => {
    expect((await create({ NumCacheClusters: 6 })).MemberClusters).toHaveLength(6);
    expect(await create({ NumCacheClusters: 2, AutomaticFailoverEnabled: true })).toMatchObject({
      AutomaticFailover: 'enabled',
    });
  });

  it('rejects 7 cache clusters with InvalidParameterValue', async () => {
    expect(await failure(create({ NumCacheClusters: 7 }))).toEqual(invalidValue);
  });

  it('rejects automatic failover with a single cache cluster with InvalidParameterCombination', async () => {
    expect(await failure(create({ NumCacheClusters: 1, AutomaticFailoverEnabled: true }))).toEqual(
      invalidCombination,
    );
  });

  it('accepts 5 replicas per shard and rejects 6 with InvalidParameterValue', async () => {
    const sharded = { ClusterMode: 'enabled', NumNodeGroups: 2, AutomaticFailoverEnabled: true } as const;
    expect((await create({ ...sharded, ReplicasPerNodeGroup: 5 })).MemberClusters).toHaveLength(12);
    expect(await failure(create({ ...sharded, ReplicasPerNodeGroup: 6 }))).toEqual(invalidValue);
  });

  it('requires automatic failover with cluster mode enabled', async () => {
    const sharded = { ClusterMode: 'enabled', NumNodeGroups: 2, ReplicasPerNodeGroup: 1 } as const;
    expect((await create({ ...sharded, AutomaticFailoverEnabled: true })).ClusterEnabled).toBe(true);
    expect(await failure(create({ ...sharded, AutomaticFailoverEnabled: false }))).toEqual(
      invalidCombination,
    );
  });

  it('requires automatic failover for Multi-AZ, on create and on modify', async () => {
    const both = { NumCacheClusters: 2, MultiAZEnabled: true };
    expect(await create({ ...both, AutomaticFailoverEnabled: true })).toMatchObject({ MultiAZ: 'enabled' });
    expect(await failure(create({ ...both, AutomaticFailoverEnabled: false }))).toEqual(invalidCombination);
    expect(
      await failure(
        ec.send(
          new ModifyReplicationGroupCommand({
            ReplicationGroupId: 'base',
            MultiAZEnabled: true,
            AutomaticFailoverEnabled: false,
          }),
        ),
      ),
    ).toEqual(invalidCombination);
  });
});

describe('at-rest encryption', () => {
  it('accepts KmsKeyId with at-rest encryption and reports the key ARN', async () => {
    const group = await create({ AtRestEncryptionEnabled: true, KmsKeyId: 'alias/cache' });
    expect(group.KmsKeyId).toBe(`arn:aws:kms:us-east-1:123456789012:key/${CMK}`);
  });

  it('rejects KmsKeyId without at-rest encryption with InvalidParameterCombination', async () => {
    expect(await failure(create({ AtRestEncryptionEnabled: false, KmsKeyId: 'alias/cache' }))).toEqual(
      invalidCombination,
    );
    // Redis OSS defaults to no at-rest encryption, so omitting the flag is the same mistake.
    expect(await failure(create({ AtRestEncryptionEnabled: undefined, KmsKeyId: 'alias/cache' }))).toEqual(
      invalidCombination,
    );
  });

  it('defaults AtRestEncryptionEnabled to true for Valkey and false for Redis OSS', async () => {
    const valkey = await create({
      Engine: 'valkey',
      EngineVersion: undefined,
      AtRestEncryptionEnabled: undefined,
    });
    expect(valkey).toMatchObject({ AtRestEncryptionEnabled: true, StorageEncryptionType: 'sse-elasticache' });
    const redis = await create({ AtRestEncryptionEnabled: undefined });
    expect(redis).toMatchObject({ AtRestEncryptionEnabled: false, StorageEncryptionType: 'none' });
  });

  it('allows at-rest encryption from Redis OSS 4.0.10 and rejects older versions', async () => {
    expect(await create({ EngineVersion: '4.0.10', AtRestEncryptionEnabled: true })).toMatchObject({
      AtRestEncryptionEnabled: true,
    });
    expect(await failure(create({ EngineVersion: '3.2.10', AtRestEncryptionEnabled: true }))).toEqual(
      invalidCombination,
    );
  });

  it('rejects a KMS key that is not symmetric, or does not exist, with InvalidKMSKeyFault', async () => {
    const invalidKey = { name: 'InvalidKMSKeyFault', status: 400 };
    expect(await failure(create({ AtRestEncryptionEnabled: true, KmsKeyId: RSA }))).toEqual(invalidKey);
    expect(await failure(create({ AtRestEncryptionEnabled: true, KmsKeyId: 'alias/nope' }))).toEqual(
      invalidKey,
    );
  });

  it('ends a create under a disabled KMS key in create-failed, and the failed group can be deleted', async () => {
    const good = await create({ AtRestEncryptionEnabled: true, KmsKeyId: CMK });
    expect(await settled(good.ReplicationGroupId!)).toBe('available');
    const bad = await create({ AtRestEncryptionEnabled: true, KmsKeyId: 'alias/disabled' });
    expect(bad.Status).toBe('creating');
    expect(await settled(bad.ReplicationGroupId!)).toBe('create-failed');
    await ec.send(new DeleteReplicationGroupCommand({ ReplicationGroupId: bad.ReplicationGroupId }));
    expect(
      await pollUntil(
        () => groupStatus(bad.ReplicationGroupId!),
        (s) => s === 'gone',
      ),
    ).toBe('gone');
  });

  it('ends a restore from a snapshot whose KMS key was disabled since in create-failed', async () => {
    expect(
      await snapshot({ ReplicationGroupId: 'encrypted-later-disabled', SnapshotName: 'under-key' }),
    ).toBe('available');
    const restore = {
      SnapshotName: 'under-key',
      NumCacheClusters: 2,
      AtRestEncryptionEnabled: true,
      KmsKeyId: CMK,
    };
    const before = await create({ ...restore, CacheNodeType: undefined, EngineVersion: undefined });
    expect(await settled(before.ReplicationGroupId!)).toBe('available');

    await kms.send(new DisableKeyCommand({ KeyId: 'alias/later-disabled' }));
    const after = await create({ ...restore, CacheNodeType: undefined, EngineVersion: undefined });
    expect(after.Status).toBe('creating');
    expect(await settled(after.ReplicationGroupId!)).toBe('create-failed');
  });
});

describe('in-transit encryption mode', () => {
  it('creates a group directly in preferred mode on Redis OSS 7.0+', async () => {
    expect(
      await create({
        EngineVersion: '7.0',
        TransitEncryptionEnabled: true,
        TransitEncryptionMode: 'preferred',
      }),
    ).toMatchObject({ TransitEncryptionEnabled: true, TransitEncryptionMode: 'preferred' });
  });

  it('rejects a mode without in-transit encryption, or on Redis OSS before 7.0', async () => {
    expect(await failure(create({ TransitEncryptionMode: 'preferred' }))).toEqual(invalidCombination);
    expect(
      await failure(
        create({ EngineVersion: '6.2', TransitEncryptionEnabled: true, TransitEncryptionMode: 'preferred' }),
      ),
    ).toEqual(invalidCombination);
  });

  it('turns in-transit encryption on in place through preferred, then required', async () => {
    const group = await create();
    const id = group.ReplicationGroupId!;
    await settled(id);
    const modify = (mode: 'preferred' | 'required') =>
      ec.send(
        new ModifyReplicationGroupCommand({
          ReplicationGroupId: id,
          TransitEncryptionEnabled: true,
          TransitEncryptionMode: mode,
          ApplyImmediately: true,
        }),
      );
    // Straight to required is refused: clients that do not speak TLS yet would break.
    expect(await failure(modify('required'))).toEqual(invalidCombination);
    await modify('preferred');
    await pollUntil(
      () => groupStatus(id),
      (s) => s === 'available',
    );
    expect(await describeGroup(id)).toMatchObject({ TransitEncryptionMode: 'preferred' });
    await modify('required');
    await pollUntil(
      () => groupStatus(id),
      (s) => s === 'available',
    );
    expect(await describeGroup(id)).toMatchObject({
      TransitEncryptionEnabled: true,
      TransitEncryptionMode: 'required',
    });
  });
});

describe('snapshots', () => {
  it('allows 20 manual backups per node in 24 hours, then fails with SnapshotQuotaExceededFault', async () => {
    for (let i = 1; i <= 20; i++)
      expect(await snapshot({ CacheClusterId: 'quota-002', SnapshotName: `quota-${i}` })).toBe('available');
    expect(
      await failure(
        ec.send(new CreateSnapshotCommand({ CacheClusterId: 'quota-002', SnapshotName: 'quota-21' })),
      ),
    ).toEqual({ name: 'SnapshotQuotaExceededFault', status: 400 });
    // The quota is per node: another replica can still be backed up.
    expect(await snapshot({ CacheClusterId: 'quota-003', SnapshotName: 'quota-other-node' })).toBe(
      'available',
    );
  });

  it('fails with SnapshotAlreadyExistsFault for a name in use, whatever its letter case', async () => {
    await snapshot({ ReplicationGroupId: 'base', SnapshotName: 'base-dup' });
    expect(
      await failure(
        ec.send(new CreateSnapshotCommand({ ReplicationGroupId: 'base', SnapshotName: 'BASE-DUP' })),
      ),
    ).toEqual({ name: 'SnapshotAlreadyExistsFault', status: 400 });
    const doomed = await create();
    await settled(doomed.ReplicationGroupId!);
    expect(
      await failure(
        ec.send(
          new DeleteReplicationGroupCommand({
            ReplicationGroupId: doomed.ReplicationGroupId,
            FinalSnapshotIdentifier: 'base-dup',
          }),
        ),
      ),
    ).toEqual({ name: 'SnapshotAlreadyExistsFault', status: 400 });
  });

  it('refuses to back up cache.t1.micro nodes with SnapshotFeatureNotSupportedFault', async () => {
    const unsupported = { name: 'SnapshotFeatureNotSupportedFault', status: 400 };
    expect(
      await failure(
        ec.send(new CreateSnapshotCommand({ ReplicationGroupId: 'tiny', SnapshotName: 'tiny-1' })),
      ),
    ).toEqual(unsupported);
    expect(
      await failure(
        ec.send(
          new DeleteReplicationGroupCommand({
            ReplicationGroupId: 'tiny',
            FinalSnapshotIdentifier: 'tiny-final',
          }),
        ),
      ),
    ).toEqual(unsupported);
    expect(await groupStatus('tiny')).toBe('available');
  });

  it('backs up a cluster-mode-enabled group by ReplicationGroupId but not by a node id', async () => {
    expect(await snapshot({ ReplicationGroupId: 'sharded', SnapshotName: 'sharded-1' })).toBe('available');
    expect(
      await failure(
        ec.send(new CreateSnapshotCommand({ CacheClusterId: 'sharded-0001-002', SnapshotName: 'sharded-2' })),
      ),
    ).toEqual(invalidCombination);
  });

  it('needs exactly one of ReplicationGroupId and CacheClusterId', async () => {
    expect(
      await failure(
        ec.send(
          new CreateSnapshotCommand({
            ReplicationGroupId: 'base',
            CacheClusterId: 'base-002',
            SnapshotName: 's-both',
          }),
        ),
      ),
    ).toEqual(invalidCombination);
    expect(await failure(ec.send(new CreateSnapshotCommand({ SnapshotName: 's-none' })))).toEqual(
      invalidCombination,
    );
  });

  it('restores a cluster-mode-enabled snapshot as cluster mode enabled, never disabled', async () => {
    const restore = { SnapshotName: 'sharded-1', CacheNodeType: undefined, EngineVersion: undefined };
    expect(await failure(create({ ...restore, ClusterMode: 'disabled' }))).toEqual(invalidCombination);
    // Without its shape (undocumented on AWS: the stricter case, refused; docs/aws-behaviour.md, Restore).
    expect(await failure(create(restore))).toEqual(invalidCombination);
    const restored = await create({ ...restore, ClusterMode: 'enabled', NumNodeGroups: 2 });
    expect(restored).toMatchObject({ ClusterEnabled: true });
    expect(restored.NodeGroups).toHaveLength(2);
  });

  it('keeps the shard count of the snapshot on restore', async () => {
    expect(
      await failure(create({ SnapshotName: 'sharded-1', NumNodeGroups: 3, CacheNodeType: undefined })),
    ).toEqual(invalidCombination);
  });
});

describe('operations that need an available group (InvalidReplicationGroupStateFault)', () => {
  let slow: Sandbox;
  let client: ElastiCacheClient;
  beforeAll(async () => {
    // Real durations: a group stays creating for minutes, a snapshot takes a minute or more.
    slow = await startSandbox({
      fixture: { timeScale: 1, elasticache: { replicationGroups: [{ id: 'snapper', replicasPerShard: 1 }] } },
    });
    client = new ElastiCacheClient(sdkConfig(slow));
    await client.send(new CreateReplicationGroupCommand(request({ ReplicationGroupId: 'busy' })));
  });
  afterAll(async () => {
    client?.destroy();
    await slow?.stop();
  });

  it('refuses CreateSnapshot, Modify, Delete and ListTagsForResource while the group is creating', async () => {
    expect(
      await failure(
        client.send(new CreateSnapshotCommand({ ReplicationGroupId: 'busy', SnapshotName: 'b1' })),
      ),
    ).toEqual(invalidState);
    expect(
      await failure(
        client.send(
          new ModifyReplicationGroupCommand({ ReplicationGroupId: 'busy', SnapshotRetentionLimit: 7 }),
        ),
      ),
    ).toEqual(invalidState);
    expect(
      await failure(client.send(new DeleteReplicationGroupCommand({ ReplicationGroupId: 'busy' }))),
    ).toEqual(invalidState);
    expect(
      await failure(client.send(new ListTagsForResourceCommand({ ResourceName: arnOfGroup('busy') }))),
    ).toEqual(invalidState);
  });

  it('refuses a second snapshot or a restore from a snapshot still being created', async () => {
    await client.send(new CreateSnapshotCommand({ ReplicationGroupId: 'snapper', SnapshotName: 'first' }));
    expect(
      await failure(
        client.send(new CreateSnapshotCommand({ ReplicationGroupId: 'snapper', SnapshotName: 'second' })),
      ),
    ).toEqual(invalidState);
    expect(
      await failure(
        client.send(
          new CreateReplicationGroupCommand(request({ SnapshotName: 'first', CacheNodeType: undefined })),
        ),
      ),
    ).toEqual({ name: 'InvalidSnapshotStateFault', status: 400 });
    expect(await failure(client.send(new DeleteSnapshotCommand({ SnapshotName: 'first' })))).toEqual({
      name: 'InvalidSnapshotStateFault',
      status: 400,
    });
  });

  it('allows the same operations once the group is available', async () => {
    const arn = arnOfGroup('base');
    expect((await ec.send(new ListTagsForResourceCommand({ ResourceName: arn }))).TagList).toEqual([]);
    expect(await snapshot({ ReplicationGroupId: 'base', SnapshotName: 'base-ok' })).toBe('available');
    const modified = await ec.send(
      new ModifyReplicationGroupCommand({ ReplicationGroupId: 'base', SnapshotRetentionLimit: 7 }),
    );
    expect(modified.ReplicationGroup?.Status).toBe('modifying');
    await pollUntil(
      () => groupStatus('base'),
      (s) => s === 'available',
    );
    const doomed = await create();
    await settled(doomed.ReplicationGroupId!);
    const deleted = await ec.send(
      new DeleteReplicationGroupCommand({ ReplicationGroupId: doomed.ReplicationGroupId }),
    );
    expect(deleted.ReplicationGroup?.Status).toBe('deleting');
  });
});

describe('existing names', () => {
  it('fails with ReplicationGroupAlreadyExistsFault for a group id in use, whatever its letter case', async () => {
    expect(await failure(create({ ReplicationGroupId: 'BASE' }))).toEqual({
      name: 'ReplicationGroupAlreadyExistsFault',
      status: 400,
    });
    expect((await create({ ReplicationGroupId: 'base-2' })).Status).toBe('creating');
  });
});

describe('tags: at most 50 per resource, no aws: prefix', () => {
  const tags = (n: number, prefix = 'k') =>
    Array.from({ length: n }, (_, i) => ({ Key: `${prefix}${i}`, Value: 'v' }));

  it('accepts 50 tags on create and rejects 51 with TagQuotaPerResourceExceeded', async () => {
    expect(await create({ Tags: tags(50) })).toMatchObject({ Status: 'creating' });
    expect(await failure(create({ Tags: tags(51) }))).toEqual({
      name: 'TagQuotaPerResourceExceeded',
      status: 400,
    });
  });

  it('counts existing tags when adding, but not tags that are overwritten', async () => {
    const group = await create({ Tags: tags(49) });
    const id = group.ReplicationGroupId!;
    await settled(id);
    const add = (list: { Key: string; Value: string }[]) =>
      ec.send(new AddTagsToResourceCommand({ ResourceName: arnOfGroup(id), Tags: list }));
    expect((await add([...tags(10), { Key: 'fiftieth', Value: 'v' }])).TagList).toHaveLength(50);
    expect(await failure(add([{ Key: 'fifty-first', Value: 'v' }]))).toEqual({
      name: 'TagQuotaPerResourceExceeded',
      status: 400,
    });
  });

  it('rejects tag keys with the reserved aws: prefix with InvalidParameterValue', async () => {
    expect(await create({ Tags: [{ Key: 'awsome', Value: 'fine' }] })).toMatchObject({ Status: 'creating' });
    expect(await failure(create({ Tags: [{ Key: 'aws:owner', Value: 'x' }] }))).toEqual(invalidValue);
  });
});

describe('request validation', () => {
  it('rejects a security group id that is not an sg- id with InvalidParameterValue', async () => {
    expect(await create({ SecurityGroupIds: ['sg-0123abcd'] })).toMatchObject({ Status: 'creating' });
    expect(await failure(create({ SecurityGroupIds: ['default'] }))).toEqual(invalidValue);
  });

  it('answers a request without a required member with MissingParameter (HTTP 400)', async () => {
    expect(await failure(create({ ReplicationGroupDescription: undefined }))).toEqual({
      name: 'MissingParameter',
      status: 400,
    });
  });

  it('rejects a ModifyReplicationGroup that changes nothing with InvalidParameterCombination', async () => {
    expect(
      await failure(
        ec.send(new ModifyReplicationGroupCommand({ ReplicationGroupId: 'base', ApplyImmediately: true })),
      ),
    ).toEqual(invalidCombination);
  });
});

describe('Global Datastore', () => {
  it('shows GlobalReplicationGroupInfo on a Global Datastore member and not on other groups', async () => {
    expect((await describeGroup('global-member')).GlobalReplicationGroupInfo).toEqual({
      GlobalReplicationGroupId: 'ldgnf-orders-global',
      GlobalReplicationGroupMemberRole: 'PRIMARY',
    });
    expect((await describeGroup('base')).GlobalReplicationGroupInfo).toBeUndefined();
  });
});
