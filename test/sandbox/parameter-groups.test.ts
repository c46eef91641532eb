/**
 * Cache parameter groups over the query protocol, driven by the AWS CLI v2 (an independent
 * client) and the JS SDK, with their effect on the running Redis nodes.
 */
import {
  DescribeCacheClustersCommand,
  ElastiCacheClient,
  ModifyCacheParameterGroupCommand,
} from '@aws-sdk/client-elasticache';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../sandbox/index.js';
import { adminCall } from '../../sandbox/redis/server.js';
import { awsCli } from './aws-cli-support.js';
import { connect, settledGroup } from './redis-dataplane-support.js';
import { failure, sdkConfig } from './sdk-support.js';

let sandbox: Sandbox;
let ec: ElastiCacheClient;
const clients: Redis[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({
    dataPlane: 'redis',
    fixture: {
      timeScale: 0.001,
      elasticache: {
        parameterGroups: [
          { name: 'declared', family: 'redis7', parameters: { 'notify-keyspace-events': 'Kx' } },
        ],
        replicationGroups: [
          { id: 'orders', replicasPerShard: 1 },
          { id: 'declared-user', replicasPerShard: 0, parameterGroup: 'declared' },
        ],
      },
    },
  });
  ec = new ElastiCacheClient(sdkConfig(sandbox));
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  ec?.destroy();
  await sandbox?.stop();
});

/** `notify-keyspace-events` as every node of the group has it (through the operator's CONFIG). */
async function nodeSetting(groupId: string, name = 'notify-keyspace-events'): Promise<string[]> {
  const members = sandbox.elasticache.groups.get(groupId)!.shards.flatMap((s) => s.members);
  return Promise.all(
    members.map(async (m) => {
      const client = await connect(m.address!.host, m.address!.port);
      clients.push(client);
      const [, value] = (await adminCall(client, 'CONFIG', 'GET', name)) as [string, string];
      return value;
    }),
  );
}

const sorted = (flags: string) => [...flags].sort().join('');

describe('cache parameter groups through the AWS CLI', () => {
  it('creates a custom group, describes its parameters, modifies one and moves a replication group onto it', async () => {
    const created = await awsCli(sandbox, [
      'elasticache',
      'create-cache-parameter-group',
      '--cache-parameter-group-name',
      'Orders-Events',
      '--cache-parameter-group-family',
      'redis7',
      '--description',
      'keyspace events for orders',
    ]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.json!.CacheParameterGroup).toMatchObject({
      CacheParameterGroupName: 'orders-events',
      CacheParameterGroupFamily: 'redis7',
      Description: 'keyspace events for orders',
      ARN: 'arn:aws:elasticache:us-east-1:123456789012:parametergroup:orders-events',
    });

    const params = await awsCli(sandbox, [
      'elasticache',
      'describe-cache-parameters',
      '--cache-parameter-group-name',
      'orders-events',
    ]);
    expect(params.code, params.stderr).toBe(0);
    const byName = new Map(
      (params.json!.Parameters as { ParameterName: string }[]).map((p) => [p.ParameterName, p]),
    );
    expect(byName.get('notify-keyspace-events')).toMatchObject({
      IsModifiable: true,
      ChangeType: 'immediate',
    });
    expect((byName.get('notify-keyspace-events') as { ParameterValue?: string }).ParameterValue ?? '').toBe(
      '',
    );
    expect(byName.get('reserved-memory-percent')).toMatchObject({ ParameterValue: '25', IsModifiable: true });
    expect(byName.get('maxmemory-policy')).toMatchObject({
      ParameterValue: 'volatile-lru',
      IsModifiable: true,
    });
    expect(byName.get('lua-time-limit')).toMatchObject({ IsModifiable: false });

    const modified = await awsCli(sandbox, [
      'elasticache',
      'modify-cache-parameter-group',
      '--cache-parameter-group-name',
      'orders-events',
      '--parameter-name-values',
      'ParameterName=notify-keyspace-events,ParameterValue=KEA',
      'ParameterName=maxmemory-policy,ParameterValue=allkeys-lru',
    ]);
    expect(modified.code, modified.stderr).toBe(0);
    expect(modified.json).toEqual({ CacheParameterGroupName: 'orders-events' });
    const user = await awsCli(sandbox, [
      'elasticache',
      'describe-cache-parameters',
      '--cache-parameter-group-name',
      'orders-events',
      '--source',
      'user',
    ]);
    expect(
      (user.json!.Parameters as { ParameterName: string; ParameterValue: string }[]).map((p) => [
        p.ParameterName,
        p.ParameterValue,
      ]),
    ).toEqual([
      ['maxmemory-policy', 'allkeys-lru'],
      ['notify-keyspace-events', 'KEA'],
    ]);

    expect(await nodeSetting('orders')).toEqual(['', '']);
    const moved = await awsCli(sandbox, [
      'elasticache',
      'modify-replication-group',
      '--replication-group-id',
      'orders',
      '--cache-parameter-group-name',
      'orders-events',
      '--apply-immediately',
    ]);
    expect(moved.code, moved.stderr).toBe(0);
    expect((moved.json!.ReplicationGroup as { Status: string }).Status).toBe('modifying');
    await settledGroup(ec, 'orders');
    // Redis normalises KEA to AKE.
    expect((await nodeSetting('orders')).map(sorted)).toEqual([sorted('AKE'), sorted('AKE')]);
    expect(await nodeSetting('orders', 'maxmemory-policy')).toEqual(['allkeys-lru', 'allkeys-lru']);

    const clusters = await awsCli(sandbox, ['elasticache', 'describe-cache-clusters']);
    const orders = (
      clusters.json!.CacheClusters as { ReplicationGroupId: string; CacheParameterGroup: unknown }[]
    ).filter((c) => c.ReplicationGroupId === 'orders');
    expect(orders).toHaveLength(2);
    for (const member of orders) {
      expect(member.CacheParameterGroup).toEqual({
        CacheParameterGroupName: 'orders-events',
        ParameterApplyStatus: 'in-sync',
      });
    }
  });

  it('refuses what AWS refuses, with the error codes the CLI shows', async () => {
    const run = (args: string[]) => awsCli(sandbox, ['elasticache', ...args]);
    const invalidFlags = await run([
      'modify-cache-parameter-group',
      '--cache-parameter-group-name',
      'orders-events',
      '--parameter-name-values',
      'ParameterName=notify-keyspace-events,ParameterValue=KEq',
    ]);
    expect(invalidFlags.code).not.toBe(0);
    expect(invalidFlags.stderr).toContain('(InvalidParameterValue)');
    const meaningless = await run([
      'modify-cache-parameter-group',
      '--cache-parameter-group-name',
      'orders-events',
      '--parameter-name-values',
      'ParameterName=notify-keyspace-events,ParameterValue=g$',
    ]);
    expect(meaningless.stderr).toContain('(InvalidParameterValue)');
    const fixed = await run([
      'modify-cache-parameter-group',
      '--cache-parameter-group-name',
      'orders-events',
      '--parameter-name-values',
      'ParameterName=lua-time-limit,ParameterValue=100',
    ]);
    expect(fixed.stderr).toMatch(/\(InvalidParameterValue\).*not modifiable/);
    const defaultGroup = await run([
      'modify-cache-parameter-group',
      '--cache-parameter-group-name',
      'default.redis7',
      '--parameter-name-values',
      'ParameterName=notify-keyspace-events,ParameterValue=KEA',
    ]);
    expect(defaultGroup.stderr).toContain('(InvalidCacheParameterGroupState)');
    const inUse = await run([
      'delete-cache-parameter-group',
      '--cache-parameter-group-name',
      'orders-events',
    ]);
    expect(inUse.stderr).toContain('(InvalidCacheParameterGroupState)');
    const unknown = await run([
      'modify-replication-group',
      '--replication-group-id',
      'orders',
      '--cache-parameter-group-name',
      'no-such-group',
      '--apply-immediately',
    ]);
    expect(unknown.stderr).toContain('(CacheParameterGroupNotFound)');
    expect(
      (
        await run([
          'create-cache-parameter-group',
          '--cache-parameter-group-name',
          'valkey-params',
          '--cache-parameter-group-family',
          'valkey7',
          '--description',
          'x',
        ])
      ).code,
    ).toBe(0);
    const otherFamily = await run([
      'modify-replication-group',
      '--replication-group-id',
      'orders',
      '--cache-parameter-group-name',
      'valkey-params',
      '--apply-immediately',
    ]);
    expect(otherFamily.stderr).toContain('(InvalidParameterCombination)');
    const clusterDefault = await run([
      'modify-replication-group',
      '--replication-group-id',
      'orders',
      '--cache-parameter-group-name',
      'default.redis7.cluster.on',
      '--apply-immediately',
    ]);
    expect(clusterDefault.stderr).toContain('(InvalidParameterCombination)');
    const duplicate = await run([
      'create-cache-parameter-group',
      '--cache-parameter-group-name',
      'valkey-params',
      '--cache-parameter-group-family',
      'valkey7',
      '--description',
      'x',
    ]);
    expect(duplicate.stderr).toContain('(CacheParameterGroupAlreadyExists)');
    const deleted = await run([
      'delete-cache-parameter-group',
      '--cache-parameter-group-name',
      'valkey-params',
    ]);
    expect(deleted.code, deleted.stderr).toBe(0);
    const listed = await run(['describe-cache-parameter-groups', '--max-items', '1000']);
    const names = (listed.json!.CacheParameterGroups as { CacheParameterGroupName: string }[]).map(
      (g) => g.CacheParameterGroupName,
    );
    expect(names).toEqual(
      expect.arrayContaining([
        'default.redis7',
        'default.valkey7',
        'default.redis6.x',
        'orders-events',
        'declared',
      ]),
    );
    expect(names).not.toContain('valkey-params');
  });
});

describe('a parameter group in use', () => {
  it('starts fixture groups with its values and applies a change to their running nodes at once', async () => {
    expect((await nodeSetting('declared-user')).map(sorted)).toEqual([sorted('xK')]);
    await ec.send(
      new ModifyCacheParameterGroupCommand({
        CacheParameterGroupName: 'declared',
        ParameterNameValues: [{ ParameterName: 'notify-keyspace-events', ParameterValue: 'Eg' }],
      }),
    );
    expect((await nodeSetting('declared-user')).map(sorted)).toEqual([sorted('gE')]);
    const member = await ec.send(new DescribeCacheClustersCommand({ CacheClusterId: 'declared-user-001' }));
    expect(member.CacheClusters?.[0]?.CacheParameterGroup?.CacheParameterGroupName).toBe('declared');
  });

  it('keeps the default groups unmodifiable through the SDK too', async () => {
    expect(
      await failure(
        ec.send(
          new ModifyCacheParameterGroupCommand({
            CacheParameterGroupName: 'default.valkey7',
            ParameterNameValues: [{ ParameterName: 'notify-keyspace-events', ParameterValue: 'KEA' }],
          }),
        ),
      ),
    ).toEqual({ name: 'InvalidCacheParameterGroupStateFault', status: 400 });
  });
});
