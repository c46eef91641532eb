/**
 * Helpers for the Redis data plane tests: the control plane through the SDK, names through the
 * sandbox's DNS server (Node's Resolver), data through ioredis.
 */
import { Resolver } from 'node:dns/promises';
import {
  DescribeReplicationGroupsCommand,
  DescribeSnapshotsCommand,
  type ElastiCacheClient,
  type ReplicationGroup,
} from '@aws-sdk/client-elasticache';
import { Redis, type RedisOptions } from 'ioredis';
import type { Sandbox } from '../../sandbox/index.js';
import { REPLICATION_TIMESTAMP_KEY } from '../../sandbox/redis/dataplane.js';
import { pollUntil } from './sdk-support.js';

/** A resolver that asks only the sandbox's DNS server. */
export function sandboxResolver(sandbox: Sandbox): Resolver {
  if (!sandbox.dnsServer) throw new Error('the sandbox serves no DNS');
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([sandbox.dnsServer]);
  return resolver;
}

/** Waits for a group to reach a final status and returns it as DescribeReplicationGroups shows it. */
export async function settledGroup(ec: ElastiCacheClient, id: string): Promise<ReplicationGroup> {
  const out = await pollUntil(
    () => ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: id })),
    (o) => ['available', 'create-failed'].includes(o.ReplicationGroups?.[0]?.Status ?? ''),
    30_000,
  );
  return out.ReplicationGroups![0]!;
}

export async function settledSnapshot(ec: ElastiCacheClient, name: string): Promise<string> {
  const out = await pollUntil(
    () => ec.send(new DescribeSnapshotsCommand({ SnapshotName: name })),
    (o) => ['available', 'failed'].includes(o.Snapshots?.[0]?.SnapshotStatus ?? ''),
    30_000,
  );
  return out.Snapshots![0]!.SnapshotStatus!;
}

/** Resolves `host` through the sandbox's DNS and connects to its first address (TLS checks `host`). */
export async function connectByName(
  resolver: Resolver,
  host: string,
  port: number,
  options: RedisOptions = {},
): Promise<Redis> {
  const [address] = await resolver.resolve4(host);
  if (!address) throw new Error(`${host} has no address`);
  return connect(address, port, options);
}

export async function connect(host: string, port: number, options: RedisOptions = {}): Promise<Redis> {
  const client = new Redis({
    host,
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2000,
    // RESP2, so a refused AUTH shows as the command's error rather than a failed HELLO.
    protocol: 2,
    ...options,
  });
  client.on('error', () => {});
  await client.connect();
  return client;
}

/**
 * Every key of one database but ElastiCache's own {@link REPLICATION_TIMESTAMP_KEY} (not
 * application data; each group writes its own): type, contents and absolute expiry (PEXPIRETIME),
 * for comparisons.
 */
export async function databaseContents(client: Redis, db: number): Promise<Record<string, unknown>> {
  await client.select(db);
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'COUNT', 500);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  const contents: Record<string, unknown> = {};
  for (const key of keys.sort()) {
    if (key === REPLICATION_TIMESTAMP_KEY) continue;
    const type = await client.type(key);
    const expiry = Number(await client.call('PEXPIRETIME', key));
    contents[key] = { type, value: await contentsOf(client, key, type), expiry };
  }
  await client.select(0);
  return contents;
}

async function contentsOf(client: Redis, key: string, type: string): Promise<unknown> {
  switch (type) {
    case 'string':
      return client.get(key);
    case 'hash':
      return client.hgetall(key);
    case 'list':
      return client.lrange(key, 0, -1);
    case 'set':
      return (await client.smembers(key)).sort();
    case 'zset':
      return client.zrange(key, '0', '-1', 'WITHSCORES');
    case 'stream':
      return client.call('XRANGE', key, '-', '+');
    default:
      throw new Error(`no comparison for type ${type}`);
  }
}

/** Writes keys of every type to dbs 0 and 3, some with an expiry an hour or a day away. */
/** DBSIZE without ElastiCache's own {@link REPLICATION_TIMESTAMP_KEY}: the application's keys. */
export async function applicationKeyCount(client: Redis): Promise<number> {
  // A cluster node answers MOVED for a key outside its slots: then the key is not in its DBSIZE.
  const own = await client.exists(REPLICATION_TIMESTAMP_KEY).catch((error: Error) => {
    if (error.message.startsWith('MOVED ')) return 0;
    throw error;
  });
  return (await client.dbsize()) - own;
}

export async function seedData(client: Redis): Promise<void> {
  const inAnHour = Date.now() + 3_600_000;
  for (const db of [0, 3]) {
    await client.select(db);
    const pipeline = client.pipeline();
    for (let i = 0; i < 50; i++) {
      pipeline.set(`db${db}:string:${i}`, `value-${db}-${i}`);
      if (i % 5 === 0) pipeline.pexpireat(`db${db}:string:${i}`, inAnHour + i);
    }
    pipeline.hset(`db${db}:hash`, { a: '1', b: '2', c: 'three' });
    pipeline.pexpireat(`db${db}:hash`, inAnHour + 86_400_000);
    pipeline.rpush(`db${db}:list`, 'x', 'y', 'z', 'x');
    pipeline.sadd(`db${db}:set`, 'm1', 'm2', 'm3');
    pipeline.zadd(`db${db}:zset`, 1, 'one', 2.5, 'two-and-a-half', -3, 'minus-three');
    pipeline.xadd(`db${db}:stream`, '1-1', 'field', 'value');
    await pipeline.exec();
  }
  await client.select(0);
}
