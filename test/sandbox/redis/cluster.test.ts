import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisCluster, startRedisCluster } from '../../../sandbox/redis/cluster.js';
import { parseInfo } from '../../../sandbox/redis/server.js';

describe('a sandbox Redis Cluster', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster({ shards: 3, replicasPerShard: 1 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('splits all 16384 slots over three primaries and reports cluster_state:ok', async () => {
    expect(cluster.slotRanges).toEqual([
      [0, 5460],
      [5461, 10921],
      [10922, 16383],
    ]);
    for (const node of cluster.nodes) {
      const client = node.client();
      const info = parseInfo(String(await client.call('CLUSTER', 'INFO')));
      client.disconnect();
      expect(info.cluster_state).toBe('ok');
      expect(info.cluster_known_nodes).toBe('6');
    }
  });

  it('gives every primary a replica that follows it', async () => {
    for (const [shard, replicas] of cluster.replicas.entries()) {
      const replica = replicas[0];
      expect(replica).toBeDefined();
      const client = replica?.client();
      const info = parseInfo((await client?.info('replication')) ?? '');
      client?.disconnect();
      expect(info.role).toBe('slave');
      expect(Number(info.master_port)).toBe(cluster.primaries[shard]?.port);
    }
  });

  it('routes keys of every slot range through an ioredis Cluster client', async () => {
    const seed = cluster.primaries[0];
    const client = new Cluster([{ host: '127.0.0.1', port: seed?.port ?? 0 }], {
      redisOptions: { protocol: 2 },
    });
    for (let i = 0; i < 300; i++) await client.set(`key:${i}`, String(i));
    const counts = await Promise.all(
      cluster.primaries.map(async (primary) => {
        const direct = primary.client();
        const size = await direct.dbsize();
        direct.disconnect();
        return size;
      }),
    );
    await client.quit();
    expect(counts.reduce((a, b) => a + b, 0)).toBe(300);
    for (const count of counts) expect(count).toBeGreaterThan(50);
  });
});
