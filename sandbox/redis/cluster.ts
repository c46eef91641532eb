/**
 * Forms a real Redis Cluster from started nodes: slots split evenly over the primaries with
 * CLUSTER ADDSLOTSRANGE, every node introduced with CLUSTER MEET, replicas attached with
 * CLUSTER REPLICATE, then waits until every node reports `cluster_state:ok`.
 */
import type { Redis } from 'ioredis';
import { parseInfo, type RedisServer, type RedisServerOptions, startRedisServer, stopAll } from './server.js';

export const CLUSTER_SLOTS = 16384;

export interface RedisCluster {
  /** One node per shard, in slot order (shard i owns {@link RedisCluster.slotRanges}[i]). */
  readonly primaries: readonly RedisServer[];
  /** Replicas of each shard, same order as `primaries`. */
  readonly replicas: readonly (readonly RedisServer[])[];
  readonly slotRanges: readonly (readonly [number, number])[];
  /** Every node, primaries first. */
  readonly nodes: readonly RedisServer[];
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  /** @default 3 */
  readonly shards?: number;
  /** @default 0 */
  readonly replicasPerShard?: number;
  /** Options for every node (`clusterEnabled` is forced on). */
  readonly server?: RedisServerOptions;
  /** @default 30000 */
  readonly readyTimeoutMs?: number;
}

/** Starts `shards × (1 + replicasPerShard)` nodes and forms a cluster of them. */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const shards = options.shards ?? 3;
  const replicasPerShard = options.replicasPerShard ?? 0;
  const serverOptions: RedisServerOptions = { ...options.server, clusterEnabled: true };
  const started: RedisServer[] = [];
  try {
    const all = await Promise.all(
      Array.from({ length: shards * (1 + replicasPerShard) }, async () => {
        const server = await startRedisServer({
          ...serverOptions,
          ...(serverOptions.requirepass !== undefined ? { masterAuth: serverOptions.requirepass } : {}),
        });
        started.push(server);
        return server;
      }),
    );
    const primaries = all.slice(0, shards);
    const replicas = primaries.map((_, i) =>
      all.slice(shards + i * replicasPerShard, shards + (i + 1) * replicasPerShard),
    );
    const slotRanges = await formRedisCluster(primaries, replicas, options.readyTimeoutMs);
    return {
      primaries,
      replicas,
      slotRanges,
      nodes: all,
      stop: () => stopAll(all),
    };
  } catch (error) {
    await stopAll(started);
    throw error;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function withClients<T>(
  servers: readonly RedisServer[],
  fn: (clients: Redis[]) => Promise<T>,
): Promise<T> {
  const clients = servers.map((server) => server.client({ lazyConnect: false }));
  for (const client of clients) client.on('error', () => {});
  try {
    return await fn(clients);
  } finally {
    for (const client of clients) client.disconnect();
  }
}

/**
 * Forms a cluster from started, empty, `clusterEnabled` servers. Returns the slot range of each
 * primary. Replicas are given per primary.
 */
export async function formRedisCluster(
  primaries: readonly RedisServer[],
  replicas: readonly (readonly RedisServer[])[] = [],
  readyTimeoutMs = 30_000,
): Promise<[number, number][]> {
  if (primaries.length === 0) throw new Error('a cluster needs at least one primary');
  const all = [...primaries, ...replicas.flat()];
  const slotRanges: [number, number][] = primaries.map((_, i) => [
    Math.floor((i * CLUSTER_SLOTS) / primaries.length),
    Math.floor(((i + 1) * CLUSTER_SLOTS) / primaries.length) - 1,
  ]);
  await withClients(all, async (clients) => {
    const deadline = Date.now() + readyTimeoutMs;
    const ids = await Promise.all(clients.map((c) => c.call('CLUSTER', 'MYID') as Promise<string>));
    await Promise.all(
      primaries.map((_, i) => {
        const [first, last] = slotRanges[i] as [number, number];
        return clients[i]?.call('CLUSTER', 'ADDSLOTSRANGE', first, last);
      }),
    );
    const seed = all[0] as RedisServer;
    await Promise.all(
      clients
        .slice(1)
        .map((c) => c.call('CLUSTER', 'MEET', seed.host, seed.port, seed.busPort ?? seed.port + 10000)),
    );
    // Every node must know every other before replicas can name their primary.
    for (;;) {
      const views = await Promise.all(clients.map((c) => c.call('CLUSTER', 'NODES') as Promise<string>));
      const complete = views.every((view) => {
        const lines = view.trim().split('\n');
        return lines.length === all.length && lines.every((line) => !/handshake|noaddr/.test(line));
      });
      if (complete) break;
      if (Date.now() > deadline) throw new Error('cluster nodes did not all meet in time');
      await sleep(50);
    }
    await Promise.all(
      replicas.flatMap((group, shard) =>
        group.map((replica) => {
          const index = all.indexOf(replica);
          return clients[index]?.call('CLUSTER', 'REPLICATE', ids[shard] as string);
        }),
      ),
    );
    for (;;) {
      const infos = await Promise.all(clients.map((c) => c.call('CLUSTER', 'INFO') as Promise<string>));
      const ok = infos.every((info) => {
        const fields = parseInfo(info);
        return fields.cluster_state === 'ok' && fields.cluster_slots_assigned === String(CLUSTER_SLOTS);
      });
      if (ok) {
        const links = await Promise.all(
          replicas.flat().map(async (replica) => {
            const info = parseInfo((await clients[all.indexOf(replica)]?.info('replication')) ?? '');
            return info.master_link_status === 'up';
          }),
        );
        if (links.every(Boolean)) break;
      }
      if (Date.now() > deadline) throw new Error('cluster did not reach cluster_state:ok in time');
      await sleep(50);
    }
  });
  return slotRanges;
}
