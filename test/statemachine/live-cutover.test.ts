import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MigrationSummary } from '../../lambdas/migration/state.js';
import { seedKeys } from '../../sandbox/demo/seed.js';
import { type FixtureInput, type Sandbox, startSandbox } from '../../sandbox/index.js';
import type { LambdaHandler } from '../../sandbox/stepfunctions.js';
import {
  configureLocalEnvironment,
  LOCAL_APPROVAL_TOPIC,
  LOCAL_KMS_ALIAS,
  loadHandlers,
  runMigration,
} from '../../sandbox/workflow.js';
import { Workload, type WorkloadOptions } from '../../sandbox/workload.js';

/**
 * The README's first promise with an application writing the whole time: migrations on real
 * Redis nodes while a live workload (overwrites of hot keys, counters, inserts, deletes, keys with
 * expiry) writes through the CNAME, with no application-side freeze. Every acknowledged write
 * must be on the group the CNAME leads to at the end.
 */
const ZONE = 'Z0LIVECUTOVER1';
const TOKEN = 'Live-Cutover-Test-Token-0001';

function fixture(): FixtureInput {
  return {
    timeScale: 0.0005,
    kms: { keys: [{ aliases: [LOCAL_KMS_ALIAS] }] },
    sns: { topics: [LOCAL_APPROVAL_TOPIC] },
    secretsManager: { secrets: [{ name: 'live-auth', value: TOKEN }] },
    elasticache: {
      replicationGroups: [
        { id: 'plain', replicasPerShard: 1, engineVersion: '7.0' },
        { id: 'sharded', clusterMode: 'enabled', shards: 3, replicasPerShard: 1, engineVersion: '7.0' },
        {
          id: 'secure',
          replicasPerShard: 1,
          engineVersion: '7.0',
          transitEncryption: true,
          transitEncryptionMode: 'required',
          authTokenSecret: 'live-auth',
        },
        { id: 'legacy', replicasPerShard: 1, engineVersion: '6.0' },
      ],
    },
    route53: {
      hostedZones: [
        {
          id: ZONE,
          name: 'live.internal.',
          records: (['plain', 'secure', 'legacy', 'sharded'] as const).map((id) => ({
            name: `${id}.live.internal.`,
            ttl: 1,
            values: [
              { group: id, endpoint: id === 'sharded' ? ('configuration' as const) : ('primary' as const) },
            ],
          })),
        },
      ],
    },
  };
}

let sandbox: Sandbox;
let handlers: Record<string, LambdaHandler>;

beforeAll(async () => {
  sandbox = await startSandbox({ fixture: fixture(), dataPlane: 'redis' });
  configureLocalEnvironment(sandbox, {
    DNS_SERVERS: sandbox.dnsServer!,
    ...(sandbox.tlsCa ? { REDIS_TLS_CA_FILE: sandbox.tlsCa.certFile } : {}),
    VERIFY_TIME_BUDGET_MS: '3000',
  });
  handlers = await loadHandlers();
}, 120_000);
afterAll(() => sandbox?.stop());

function secureOptions(): RedisOptions {
  return { password: TOKEN, tls: { ca: sandbox.tlsCa!.certPem, checkServerIdentity: () => undefined } };
}

function connect(groupId: string, options: RedisOptions = {}): Redis | Cluster {
  const group = sandbox.elasticache.groups.get(groupId)!;
  const node = group.shards[0]!.members[0]!.address!;
  return group.clusterEnabled
    ? new Cluster([node], { redisOptions: options })
    : new Redis({ ...options, ...node });
}

function workloadFor(id: string, overrides: Partial<WorkloadOptions> = {}): Workload {
  const group = sandbox.elasticache.groups.get(id)!;
  return new Workload({
    recordName: `${id}.live.internal`,
    dnsServer: sandbox.dnsServer!,
    port: group.shards[0]!.members[0]!.address!.port,
    clusterMode: group.clusterEnabled,
    opsPerSecond: 800,
    concurrency: 4,
    groupOf: (address) => {
      for (const g of sandbox.elasticache.groups.values())
        for (const shard of g.shards) if (shard.members.some((m) => m.address?.host === address)) return g.id;
      return 'unknown';
    },
    ...(id === 'secure' ? { redisOptions: secureOptions() } : {}),
    ...overrides,
  });
}

async function seed(id: string, keys: number) {
  const client = connect(id, id === 'secure' ? secureOptions() : {});
  await seedKeys(client, keys, { clusterMode: id === 'sharded' });
  await client.quit();
}

describe.sequential('migrations while the application writes', () => {
  it.each([
    ['plain', 'primary'],
    ['sharded', 'configuration'],
    ['secure', 'primary'],
  ] as const)('moves %s with every acknowledged write on the new group', async (id, endpoint) => {
    await sandbox.reset(fixture());
    await seed(id, 5000);
    const workload = workloadFor(id);
    workload.start();
    const result = await runMigration({
      functions: handlers,
      executionName: `live-${id}`,
      input: {
        sourceReplicationGroupId: id,
        dnsRecords: [{ hostedZoneId: ZONE, recordName: `${id}.live.internal`, endpoint }],
        pollIntervalSeconds: 1,
        cutover: { freezeBudgetSeconds: 10 },
        ...(id === 'secure' ? { authTokenSecretArn: sandbox.secrets.resolve('live-auth')!.arn } : {}),
      },
      waitMs: 10,
      retryMs: 10,
    });
    await new Promise((r) => setTimeout(r, 1500));
    await workload.stop();
    expect(result.error, result.cause).toBeUndefined();
    const summary = result.output as MigrationSummary;
    const verdict = await workload.verify();
    expect(verdict.lost).toEqual([]);
    expect(verdict.counters.every((c) => c.ok)).toBe(true);
    expect(workload.stats.acknowledged).toBeGreaterThan(500);
    // Writes landed on both groups: the application wrote through the whole migration.
    expect(workload.stats.byGroup[id]).toBeGreaterThan(0);
    expect(workload.stats.byGroup[summary.target.id]).toBeGreaterThan(0);
    expect(summary.cutover?.method).toBe('pause');
    expect(summary.cutover?.keysCopied).toBeGreaterThan(0);
    expect([...sandbox.elasticache.groups.keys()]).not.toContain(id);
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  });
});
