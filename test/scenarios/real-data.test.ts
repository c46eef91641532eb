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
  localFunctionArn,
  runMigration,
} from '../../sandbox/workflow.js';

/**
 * Migrations on real data: every node is a redis-server, the CNAMEs are served by the sandbox's
 * DNS server, and the verify-data step compares source and target over the Redis protocol.
 */
const ZONE = 'Z0REALDATA0001';
const TOKEN = 'Real-Data-Test-Token-0001';

function fixture(): FixtureInput {
  return {
    timeScale: 0.0005,
    kms: { keys: [{ aliases: [LOCAL_KMS_ALIAS] }] },
    sns: { topics: [LOCAL_APPROVAL_TOPIC] },
    secretsManager: { secrets: [{ name: 'tls-auth', value: TOKEN }] },
    elasticache: {
      replicationGroups: [
        { id: 'plain', replicasPerShard: 2 },
        { id: 'sharded', clusterMode: 'enabled', shards: 3, replicasPerShard: 1 },
        {
          id: 'secure',
          replicasPerShard: 1,
          transitEncryption: true,
          transitEncryptionMode: 'required',
          authTokenSecret: 'tls-auth',
        },
      ],
    },
    route53: {
      hostedZones: [
        {
          id: ZONE,
          name: 'real.internal.',
          records: [
            { name: 'plain.real.internal.', values: [{ group: 'plain', endpoint: 'primary' }] },
            { name: 'sharded.real.internal.', values: [{ group: 'sharded', endpoint: 'configuration' }] },
            { name: 'secure.real.internal.', values: [{ group: 'secure', endpoint: 'primary' }] },
          ],
        },
      ],
    },
  };
}

let sandbox: Sandbox;
let handlers: Record<string, LambdaHandler>;
let ca: string | undefined;

beforeAll(async () => {
  sandbox = await startSandbox({ fixture: fixture(), dataPlane: 'redis' });
  ca = sandbox.tlsCa?.certPem;
  configureLocalEnvironment(sandbox, {
    DNS_SERVERS: sandbox.dnsServer!,
    ...(sandbox.tlsCa ? { REDIS_TLS_CA_FILE: sandbox.tlsCa.certFile } : {}),
    VERIFY_TIME_BUDGET_MS: '2000',
  });
  handlers = await loadHandlers();
}, 120_000);
afterAll(() => sandbox?.stop());

function connect(groupId: string, options: RedisOptions = {}): Redis | Cluster {
  const group = sandbox.elasticache.groups.get(groupId)!;
  const node = group.shards[0]!.members[0]!.address!;
  return group.clusterEnabled
    ? new Cluster([node], { redisOptions: options })
    : new Redis({ ...options, ...node });
}

async function groupIds(): Promise<string[]> {
  return [...sandbox.elasticache.groups.keys()].sort();
}

const secureOptions = (): RedisOptions => ({
  password: TOKEN,
  tls: { ca, checkServerIdentity: () => undefined },
});

describe.sequential('migrations on real Redis data', () => {
  it.each([
    ['plain', 'primary', { throttled: true }],
    ['sharded', 'configuration', {}],
    ['secure', 'primary', { tls: true }],
  ] as const)(
    'moves %s to an encrypted group holding every key, and DNS to it',
    async (id, endpoint, flags) => {
      const options = 'tls' in flags ? secureOptions() : {};
      const source = connect(id, options);
      await seedKeys(source, 5000, { clusterMode: id === 'sharded' });
      await source.quit();
      const result = await runMigration({
        functions: handlers,
        executionName: `real-${id}`,
        input: {
          sourceReplicationGroupId: id,
          dnsRecords: [{ hostedZoneId: ZONE, recordName: `${id}.real.internal`, endpoint }],
          writesFrozen: true,
          ...('tls' in flags ? { authTokenSecretArn: sandbox.secrets.resolve('tls-auth')!.arn } : {}),
          // 5,000 keys at 2,000 keys/s: the catch-up pass cannot take less than 2.5 s.
          ...('throttled' in flags ? { verification: { maxKeysPerSecond: 2000 } } : {}),
        },
        waitMs: 10,
        retryMs: 10,
      });
      expect(result.error, result.cause).toBeUndefined();
      const summary = result.output as MigrationSummary;
      const catchUp = (result as unknown as { output: MigrationSummary }).output.cutover!;
      expect(catchUp.method).toBe('pause');
      expect(catchUp.catchUpPasses).toBeGreaterThanOrEqual(1);
      expect(catchUp.keysCopied).toBe(0); // nothing was written after the snapshot
      if ('throttled' in flags) expect(summary.stepSeconds.catchUp).toBeGreaterThanOrEqual(2.4);
      expect(await groupIds()).not.toContain(id);
      const target = connect(summary.target.id, options);
      expect(await target.get('demo:{b0}:5')).toBe('value-5');
      expect(await target.hget('demo:{b0}:0:h', 'name')).toBe('user-0');
      await target.quit();
      // The token went nowhere near the execution's output or history.
      expect(JSON.stringify(result)).not.toContain(TOKEN);
    },
  );

  it("repairs a difference planted in the new group after the restore, and ends with the source's data", async () => {
    await sandbox.reset(fixture());
    const source = connect('plain');
    await seedKeys(source, 2000, { clusterMode: false });
    await source.quit();
    // The difference is planted in the restored group just before the catch-up first runs.
    const dataArn = localFunctionArn('verify-data');
    const realData = handlers[dataArn]!;
    let planted = 0;
    const functions = {
      ...handlers,
      [dataArn]: async (event: { action: string; state: { plan: { target: { id: string } } } }) => {
        if (event.action === 'catch-up' && planted === 0) {
          const target = connect(event.state.plan.target.id);
          await target.set('demo:{b0}:5', 'changed after the restore');
          await target.set('only-on-the-new-group', 'x');
          await target.quit();
          planted++;
        }
        return realData(event);
      },
    };
    const result = await runMigration({
      functions,
      executionName: 'real-planted',
      input: {
        sourceReplicationGroupId: 'plain',
        dnsRecords: [{ hostedZoneId: ZONE, recordName: 'plain.real.internal' }],
      },
      waitMs: 10,
      retryMs: 10,
    });
    expect(planted).toBe(1);
    expect(result.error, result.cause).toBeUndefined();
    const summary = result.output as MigrationSummary;
    expect(summary.cutover?.keysCopied).toBe(2);
    const target = connect(summary.target.id);
    expect(await target.get('demo:{b0}:5')).toBe('value-5');
    expect(await target.exists('only-on-the-new-group')).toBe(0);
    await target.quit();
  });
});
