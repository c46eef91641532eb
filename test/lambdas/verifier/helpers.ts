/** Shared fixtures of the verifier tests: real redis-servers started through the sandbox helper. */
import type { Redis } from 'ioredis';
import type { RedisEndpointSpec, VerifierTuning } from '../../../lambdas/verifier/index.js';
import {
  type RedisServer,
  type RedisServerOptions,
  startRedisServer,
  stopAll,
} from '../../../sandbox/redis/server.js';

/** Re-check rounds short enough for tests. */
export const TEST_TUNING: VerifierTuning = { recheckRounds: 2, recheckIntervalMs: 20 };

export function specOf(server: RedisServer, overrides: Partial<RedisEndpointSpec> = {}): RedisEndpointSpec {
  return {
    host: server.host,
    port: server.port,
    tls: server.tls,
    ...(server.caPem !== undefined ? { caPem: server.caPem, servername: 'localhost' } : {}),
    ...(server.password !== undefined ? { authToken: server.password } : {}),
    clusterMode: false,
    ...overrides,
  };
}

export interface Pair {
  readonly source: RedisServer;
  readonly target: RedisServer;
  /** Clients (cluster mode disabled: database 0 selected). */
  readonly src: Redis;
  readonly tgt: Redis;
  readonly sourceSpec: RedisEndpointSpec;
  readonly targetSpec: RedisEndpointSpec;
  stop(): Promise<void>;
}

/**
 * A source seeded by `seed`, and a target restored from the source's RDB snapshot (the
 * migration's own path: equal data, encodings and DUMP bytes as a restore gives them).
 */
export async function restoredPair(
  seed: (source: Redis) => Promise<void>,
  options: RedisServerOptions = {},
): Promise<Pair> {
  const source = await startRedisServer(options);
  let target: RedisServer | undefined;
  try {
    const seeder = source.client();
    await seed(seeder);
    seeder.disconnect();
    const rdb = await source.save();
    target = await startRedisServer({ ...options, rdbFile: rdb });
    const src = source.client();
    const tgt = target.client();
    const t = target;
    return {
      source,
      target: t,
      src,
      tgt,
      sourceSpec: specOf(source),
      targetSpec: specOf(t),
      stop: async () => {
        src.disconnect();
        tgt.disconnect();
        await stopAll([source, t]);
      },
    };
  } catch (error) {
    await stopAll([source, target]);
    throw error;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
