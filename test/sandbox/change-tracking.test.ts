/**
 * lambdas/migration/change-tracking.ts against the sandbox with real Redis nodes: the parameter
 * group dance through the ElastiCache API, and keyspace notifications a subscriber really gets.
 */
import {
  DescribeCacheParameterGroupsCommand,
  DescribeReplicationGroupsCommand,
  ElastiCacheClient,
  type ReplicationGroup,
} from '@aws-sdk/client-elasticache';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChangeTrackingChange,
  changeTrackingStatus,
  copyName,
  coversChangeTracking,
  enableChangeTracking,
  restoreChangeTracking,
} from '../../lambdas/migration/change-tracking.js';
import { type Sandbox, startSandbox } from '../../sandbox/index.js';
import { connect } from './redis-dataplane-support.js';
import { failure, sdkConfig } from './sdk-support.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
          { name: 'shared-params', family: 'redis7', parameters: { 'notify-keyspace-events': 'Ex' } },
        ],
        replicationGroups: [
          { id: 'orders', replicasPerShard: 1 },
          { id: 'carts', replicasPerShard: 0, parameterGroup: 'shared-params' },
          { id: 'wishlists', replicasPerShard: 0, parameterGroup: 'shared-params' },
          { id: 'catalog', clusterMode: 'enabled', shards: 2, replicasPerShard: 0 },
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

async function describeGroup(id: string): Promise<ReplicationGroup> {
  const out = await ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: id }));
  return out.ReplicationGroups![0]!;
}

async function primaries(groupId: string): Promise<Redis[]> {
  const members = sandbox.elasticache.groups.get(groupId)!.shards.map((s) => s.members[0]!);
  return Promise.all(
    members.map(async (m) => {
      const client = await connect(m.address!.host, m.address!.port);
      clients.push(client);
      return client;
    }),
  );
}

/** Keyspace events a PSUBSCRIBE on `node` receives while another client SETs `key` there. */
async function eventsFor(node: Redis, key: string): Promise<string[]> {
  const subscriber = node.duplicate();
  subscriber.on('error', () => {});
  clients.push(subscriber);
  const seen: string[] = [];
  subscriber.on('pmessage', (_pattern: string, channel: string, message: string) => {
    if (channel.endsWith(`:${key}`)) seen.push(`${channel} ${message}`);
  });
  await subscriber.psubscribe('__keyspace@*__:*');
  const writer = node.duplicate();
  writer.on('error', () => {});
  clients.push(writer);
  await writer.set(key, 'v');
  await sleep(200);
  subscriber.disconnect();
  writer.disconnect();
  return seen;
}

/** Calls `step` until it reports done; returns the results of every call. */
async function untilDone<T extends { done: boolean }>(step: () => Promise<T>, max = 400): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < max; i++) {
    const result = await step();
    results.push(result);
    if (result.done) return results;
    await sleep(10);
  }
  throw new Error(`not done after ${max} calls: ${JSON.stringify(results.at(-1))}`);
}

describe('coversChangeTracking', () => {
  it('wants K with A or every class A stands for', () => {
    expect(coversChangeTracking('KEA')).toBe(true);
    expect(coversChangeTracking('AK')).toBe(true);
    expect(coversChangeTracking('Kg$lshzxet')).toBe(true);
    expect(coversChangeTracking('Kg$lshzxe')).toBe(false); // no evictions
    expect(coversChangeTracking('EA')).toBe(false); // keyevent only
    expect(coversChangeTracking('')).toBe(false);
  });

  it('names the copy within 255 characters, without a trailing or double hyphen', () => {
    expect(copyName('orders', 'ab12')).toBe('orders-mig-ab12');
    const long = copyName(`${'a'.repeat(250)}-x`, 'ab12');
    expect(long.length).toBeLessThanOrEqual(255);
    expect(long).toMatch(/^[a-z][a-z0-9-]*[a-z0-9]$/);
    expect(long).not.toContain('--');
  });
});

describe('a group on a default parameter group', () => {
  let changed: ChangeTrackingChange;

  it('is moved to a custom copy with KEA, step by step, and then a subscriber sees every SET', async () => {
    const before = await changeTrackingStatus(ec, await describeGroup('orders'));
    expect(before).toEqual({
      parameterGroup: 'default.redis7',
      isDefault: true,
      notifyKeyspaceEvents: '',
      covers: false,
    });
    const [primary] = await primaries('orders');
    expect(await eventsFor(primary!, 'before-enable')).toEqual([]);

    const input = { groupId: 'orders', migrationShortId: 'ab12' };
    // Called again while the group is modifying: nothing more happens, the same answer.
    const first = await enableChangeTracking(ec, input);
    expect(first.done).toBe(false);
    expect((await describeGroup('orders')).Status).toBe('modifying');
    const again = await enableChangeTracking(ec, { ...input, previous: first.changed });
    expect(again).toEqual(first);
    const rest = await untilDone(() => enableChangeTracking(ec, { ...input, previous: first.changed }));
    changed = rest.at(-1)!.changed;
    expect(changed).toEqual({
      parameterGroup: 'orders-mig-ab12',
      previousValue: '',
      createdCopy: 'orders-mig-ab12',
      previousParameterGroup: 'default.redis7',
    });
    expect(rest.at(-1)!.warnings).toEqual([]);
    // Done is stable, and so is a call that lost its earlier result.
    expect(await enableChangeTracking(ec, { ...input, previous: changed })).toMatchObject({
      done: true,
      changed,
    });
    expect(await enableChangeTracking(ec, input)).toMatchObject({ done: true, changed });

    const after = await changeTrackingStatus(ec, await describeGroup('orders'));
    expect(after).toMatchObject({ parameterGroup: 'orders-mig-ab12', isDefault: false, covers: true });
    expect(await eventsFor(primary!, 'written-after-enable')).toEqual([
      '__keyspace@0__:written-after-enable set',
    ]);
  });

  it('is moved back to the default group and the copy deleted; notifications stop', async () => {
    const steps = await untilDone(() => restoreChangeTracking(ec, 'orders', changed));
    expect(steps.length).toBeGreaterThan(1);
    expect(await restoreChangeTracking(ec, 'orders', changed)).toEqual({ done: true, warnings: [] });
    expect(await changeTrackingStatus(ec, await describeGroup('orders'))).toMatchObject({
      parameterGroup: 'default.redis7',
      covers: false,
    });
    expect(
      await failure(
        ec.send(new DescribeCacheParameterGroupsCommand({ CacheParameterGroupName: 'orders-mig-ab12' })),
      ),
    ).toMatchObject({ name: 'CacheParameterGroupNotFoundFault' });
    const [primary] = await primaries('orders');
    expect(await eventsFor(primary!, 'written-after-restore')).toEqual([]);
  });
});

describe('a group on a shared custom parameter group', () => {
  it('gets the union of its flags and KEA, with a warning naming the other group, and its value back at restore', async () => {
    const input = { groupId: 'carts', migrationShortId: 'cd34' };
    const first = await enableChangeTracking(ec, input);
    expect(first.done).toBe(true);
    expect(first.changed).toEqual({ parameterGroup: 'shared-params', previousValue: 'Ex' });
    expect(first.warnings).toHaveLength(1);
    expect(first.warnings[0]).toContain('wishlists');
    const second = await enableChangeTracking(ec, { ...input, previous: first.changed });
    expect(second.changed).toEqual(first.changed);
    expect((await changeTrackingStatus(ec, await describeGroup('carts'))).notifyKeyspaceEvents).toBe('ExKA');
    const [carts] = await primaries('carts');
    expect(await eventsFor(carts!, 'cart:1')).toEqual(['__keyspace@0__:cart:1 set']);

    expect(await restoreChangeTracking(ec, 'carts', first.changed)).toEqual({ done: true, warnings: [] });
    expect(await restoreChangeTracking(ec, 'carts', first.changed)).toEqual({ done: true, warnings: [] });
    expect((await changeTrackingStatus(ec, await describeGroup('carts'))).notifyKeyspaceEvents).toBe('Ex');
    expect(await eventsFor(carts!, 'cart:2')).toEqual([]);
  });
});

describe('a cluster mode enabled group', () => {
  it('gets a copy with cluster-enabled yes; every primary notifies; restore puts default.redis7.cluster.on back', async () => {
    const steps = await untilDone(() =>
      enableChangeTracking(ec, { groupId: 'catalog', migrationShortId: 'ef56' }),
    );
    const { changed } = steps.at(-1)!;
    expect(changed.previousParameterGroup).toBe('default.redis7.cluster.on');
    for (const [i, node] of (await primaries('catalog')).entries()) {
      // A key in this primary's own slots.
      let key = '';
      for (let n = 0; n < 100 && !key; n++) {
        const candidate = `item:${i}:${n}`;
        const slot = Number(await node.call('CLUSTER', 'KEYSLOT', candidate));
        const [first, last] = sandbox.elasticache.groups
          .get('catalog')!
          .shards[i]!.slots!.split('-')
          .map(Number);
        if (slot >= first! && slot <= last!) key = candidate;
      }
      expect(await eventsFor(node, key)).toEqual([`__keyspace@0__:${key} set`]);
    }
    await untilDone(() => restoreChangeTracking(ec, 'catalog', changed));
    expect((await changeTrackingStatus(ec, await describeGroup('catalog'))).parameterGroup).toBe(
      'default.redis7.cluster.on',
    );
  });

  it('treats a group that no longer exists as restored', async () => {
    expect(
      await restoreChangeTracking(ec, 'gone', {
        parameterGroup: 'gone-mig-1',
        previousValue: '',
        createdCopy: 'gone-mig-1',
        previousParameterGroup: 'default.redis7',
      }),
    ).toEqual({ done: true, warnings: [] });
  });
});
