import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisEndpointSpec, verify } from '../../../lambdas/verifier/index.js';
import { keySlot } from '../../../lambdas/verifier/slots.js';
import { type RedisCluster, startRedisCluster } from '../../../sandbox/redis/cluster.js';
import { TEST_TUNING } from './helpers.js';

const KEYS = 600;

function clusterClient(cluster: RedisCluster): Cluster {
  const seed = cluster.primaries[0];
  return new Cluster([{ host: '127.0.0.1', port: seed?.port ?? 0 }], { redisOptions: { protocol: 2 } });
}

function clusterSpec(cluster: RedisCluster): RedisEndpointSpec {
  const seed = cluster.primaries[1];
  return { host: '127.0.0.1', port: seed?.port ?? 0, tls: false, clusterMode: true };
}

async function seed(client: Cluster, expireAt: number): Promise<void> {
  for (let i = 0; i < KEYS; i++) {
    switch (i % 6) {
      case 0:
        await client.set(`str:${i}`, `value-${i}`);
        break;
      case 1:
        await client.set(`ttl:${i}`, `value-${i}`, 'PXAT', expireAt + i);
        break;
      case 2:
        await client.hset(
          `hash:${i}`,
          Object.fromEntries(Array.from({ length: 40 }, (_, f) => [`f${f}`, `v${f}`])),
        );
        break;
      case 3:
        await client.sadd(`set:${i}`, ...Array.from({ length: 40 }, (_, m) => `m${m}`));
        break;
      case 4:
        await client.zadd(`zset:{tag}:${i}`, 1, 'a', 2, 'b');
        break;
      default:
        await client.rpush(`list:${i}`, 'a', 'b', String(i));
    }
  }
}

/** Two clusters seeded alike; `change` then alters the target through a cluster client. */
async function seededClusters(
  shards: { source: number; target: number },
  change: (target: Cluster) => Promise<void>,
): Promise<[RedisCluster, RedisCluster]> {
  const clusters = await Promise.all([
    startRedisCluster({ shards: shards.source }),
    startRedisCluster({ shards: shards.target }),
  ]);
  const [s, t] = clusters.map(clusterClient) as [Cluster, Cluster];
  const expireAt = Date.now() + 86_400_000;
  await Promise.all([seed(s, expireAt), seed(t, expireAt)]);
  await change(t);
  await Promise.all([s.quit(), t.quit()]);
  return clusters;
}

describe('cluster mode enabled (3 shards)', () => {
  let source: RedisCluster;
  let target: RedisCluster;
  beforeAll(async () => {
    [source, target] = await seededClusters({ source: 3, target: 3 }, async (t) => {
      // Same contents, different history on the target: its hashtable sets iterate differently.
      await t.sadd('set:3', ...Array.from({ length: 500 }, (_, m) => `tmp${m}`));
      await t.srem('set:3', ...Array.from({ length: 500 }, (_, m) => `tmp${m}`));
      await t.del('str:6');
      await t.set('only-on-target', 'x');
      await t.hset('hash:8', 'f3', 'changed');
      await t.pexpireat('list:5', Date.now() + 3_600_000);
    });
  });
  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  for (const fastPath of ['lua', 'dump'] as const) {
    it(`checks the keys of every shard and finds each difference (${fastPath} fast path)`, async () => {
      const result = await verify({
        source: clusterSpec(source),
        target: clusterSpec(target),
        timeBudgetMs: 60_000,
        revealKeyNames: true,
        tuning: { ...TEST_TUNING, fastPath, batchSize: 100 },
      });

      expect(result.done).toBe(true);
      expect(result.report.keysChecked).toBe(KEYS);
      expect(result.report.targetKeysScanned).toBe(KEYS);
      expect(
        Object.fromEntries(Object.entries(result.report.examples).filter(([, keys]) => keys.length > 0)),
      ).toEqual({
        missing: ['db0:str:6'],
        extra: ['db0:only-on-target'],
        value: ['db0:hash:8'],
        expiry: ['db0:list:5'],
      });
    });
  }

  it('resumes on the right shard from a cursor', async () => {
    let result = await verify({
      source: clusterSpec(source),
      target: clusterSpec(target),
      timeBudgetMs: 1,
      tuning: { ...TEST_TUNING, batchSize: 100 },
    });
    const shardsSeen = new Set<number | undefined>();
    let calls = 1;
    while (!result.done) {
      const forward = result.cursor?.forward;
      if (forward !== undefined && forward !== 'done') shardsSeen.add(forward.shardFirstSlot);
      result = await verify({
        source: clusterSpec(source),
        target: clusterSpec(target),
        timeBudgetMs: 1,
        cursor: JSON.parse(JSON.stringify(result.cursor)),
        tuning: { ...TEST_TUNING, batchSize: 100 },
      });
      calls++;
    }
    expect(calls).toBeGreaterThan(3);
    expect([...shardsSeen].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([0, 5461, 10922]);
    expect(result.report.keysChecked).toBe(KEYS);
    expect(result.report.counts).toEqual({
      missing: 1,
      extra: 1,
      type: 0,
      value: 1,
      expiry: 1,
      changedDuringCheck: 0,
    });
  });

  it('computes the same key slots as the server, hash tags included', async () => {
    const node = source.primaries[0]?.client();
    for (const key of [
      'foo',
      '123456789',
      '{user1000}.following',
      'a{}b',
      'a{b}{c}',
      '{{x}}',
      'zset:{tag}:4',
      'é',
    ]) {
      expect(keySlot(Buffer.from(key)), key).toBe(await node?.call('CLUSTER', 'KEYSLOT', key));
    }
    node?.disconnect();
  });
});

describe('cluster mode enabled, shards laid out differently on the two sides', () => {
  let source: RedisCluster;
  let target: RedisCluster;
  beforeAll(async () => {
    [source, target] = await seededClusters({ source: 3, target: 2 }, async (t) => {
      await t.del('ttl:7');
      await t.set('only-on-target', 'x');
      await t.sadd('set:9', 'one-more');
    });
  });
  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('routes each key to the node that holds it on the other side', async () => {
    // A source shard's keys live on two target nodes (and the other way round), so keys are
    // routed one by one instead of passed on as one packed list.
    const result = await verify({
      source: clusterSpec(source),
      target: clusterSpec(target),
      timeBudgetMs: 60_000,
      revealKeyNames: true,
      tuning: { ...TEST_TUNING, batchSize: 100 },
    });

    expect(result.report.keysChecked).toBe(KEYS);
    expect(result.report.targetKeysScanned).toBe(KEYS);
    expect(
      Object.fromEntries(Object.entries(result.report.examples).filter(([, keys]) => keys.length > 0)),
    ).toEqual({ missing: ['db0:ttl:7'], extra: ['db0:only-on-target'], value: ['db0:set:9'] });
  });
});
