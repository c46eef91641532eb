import type { Cluster, Redis } from 'ioredis';

/**
 * Seeds a group with mixed data through pipelines: strings with and without expiry, hashes,
 * lists, sets and sorted sets, and (cluster mode disabled) some keys in database 1. Keys share a
 * hash tag per batch, so every pipeline on a cluster targets one slot.
 */
export async function seedKeys(
  client: Redis | Cluster,
  count: number,
  options: { clusterMode: boolean },
): Promise<number> {
  const batch = 500;
  let written = 0;
  for (let start = 0; start < count; start += batch) {
    const tag = `{b${start / batch}}`;
    const pipeline = client.pipeline();
    const end = Math.min(count, start + batch);
    for (let i = start; i < end; i++) {
      const key = `demo:${tag}:${i}`;
      switch (i % 10) {
        case 0:
          pipeline.hset(`${key}:h`, {
            name: `user-${i}`,
            plan: i % 3 ? 'pro' : 'free',
            visits: String(i % 97),
          });
          break;
        case 1:
          pipeline.rpush(`${key}:l`, 'a', 'b', String(i));
          break;
        case 2:
          pipeline.sadd(`${key}:s`, 'red', 'green', String(i % 13));
          break;
        case 3:
          pipeline.zadd(`${key}:z`, 1, 'one', 2.5, 'two', i, 'n');
          break;
        case 4:
          pipeline.set(`${key}:ttl`, `expiring-${i}`, 'EX', 3600 + (i % 600));
          break;
        default:
          pipeline.set(key, `value-${i}`);
      }
    }
    await pipeline.exec();
    written += end - start;
  }
  if (!options.clusterMode) {
    const redis = client as Redis;
    await redis.select(1);
    const pipeline = redis.pipeline();
    for (let i = 0; i < Math.min(1000, count); i++) pipeline.set(`demo:db1:${i}`, `db1-${i}`);
    await pipeline.exec();
    await redis.select(0);
    written += Math.min(1000, count);
  }
  return written;
}
