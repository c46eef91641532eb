/**
 * The application workload (sandbox/workload.ts) against real redis-server nodes of a sandbox
 * with a Redis data plane, through real DNS (the sandbox's server) and a real Route 53 flip.
 */
import { DescribeReplicationGroupsCommand, ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { ChangeResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { Cluster, type Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../sandbox/index.js';
import { Workload, type WorkloadOptions } from '../../sandbox/workload.js';
import { connect, sandboxResolver } from './redis-dataplane-support.js';
import { sdkConfig } from './sdk-support.js';

const ZONE = 'Z0WORKLOAD0001';
const DOMAIN = 'work.internal';
const AUTH_TOKEN = 'Workload-Test-Auth-Token-0123456789';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let sandbox: Sandbox;
let ec: ElastiCacheClient;
let route53: Route53Client;
const admins: (Redis | Cluster)[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({
    dataPlane: 'redis',
    fixture: {
      timeScale: 0.001,
      elasticache: {
        replicationGroups: [
          { id: 'alpha', replicasPerShard: 0 },
          { id: 'beta', replicasPerShard: 0 },
          { id: 'gamma', clusterMode: 'enabled', shards: 3, replicasPerShard: 0 },
          {
            id: 'delta',
            replicasPerShard: 0,
            transitEncryption: true,
            transitEncryptionMode: 'required',
            authTokenSecret: 'work/auth-token',
          },
        ],
      },
      secretsManager: { secrets: [{ name: 'work/auth-token', value: AUTH_TOKEN }] },
      route53: {
        hostedZones: [
          {
            id: ZONE,
            name: DOMAIN,
            records: [
              { name: `steady.${DOMAIN}`, ttl: 5, values: [{ group: 'alpha' }] },
              { name: `moving.${DOMAIN}`, ttl: 5, values: [{ group: 'alpha' }] },
              { name: `secure.${DOMAIN}`, ttl: 5, values: [{ group: 'delta' }] },
              { name: `sharded.${DOMAIN}`, ttl: 5, values: [{ group: 'gamma', endpoint: 'configuration' }] },
            ],
          },
        ],
      },
    },
  });
  ec = new ElastiCacheClient(sdkConfig(sandbox));
  route53 = new Route53Client(sdkConfig(sandbox));
});
afterAll(async () => {
  for (const admin of admins) admin.disconnect();
  ec?.destroy();
  route53?.destroy();
  await sandbox?.stop();
});

function groupOf(address: string): string {
  for (const group of sandbox.elasticache.groups.values())
    for (const shard of group.shards)
      if (shard.members.some((m) => m.address?.host === address)) return group.id;
  return 'unknown';
}

function workload(recordName: string, extra: Partial<WorkloadOptions> = {}): Workload {
  return new Workload({
    recordName: `${recordName}.${DOMAIN}`,
    dnsServer: sandbox.dnsServer!,
    port: 6379,
    clusterMode: false,
    redisOptions: { protocol: 2 },
    opsPerSecond: 1_000,
    groupOf,
    ...extra,
  });
}

/** A direct connection to a group's primary (standalone groups). */
async function admin(groupId: string): Promise<Redis> {
  const out = await ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: groupId }));
  const endpoint = out.ReplicationGroups![0]!.NodeGroups![0]!.PrimaryEndpoint!;
  const [address] = await sandboxResolver(sandbox).resolve4(endpoint.Address!);
  const client = await connect(address!, endpoint.Port!);
  admins.push(client);
  return client;
}

async function scanKeys(client: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

describe('the application workload', () => {
  it('(a) at ~2,000 writes/s for 2 s: every acknowledged write is there, counters exact', async () => {
    const w = workload('steady', { opsPerSecond: 2_000 });
    w.start();
    await sleep(2_000);
    await w.stop();
    const started = Date.now();
    const result = await w.verify();
    const verifyMs = Date.now() - started;

    expect(w.stats.acknowledged).toBeGreaterThan(2_800);
    expect(w.stats.acknowledged).toBeLessThan(4_400);
    expect(w.stats.unacknowledged).toBe(0);
    expect(w.stats.errors).toBe(0);
    for (const kind of ['overwrite', 'counter', 'insert', 'delete', 'expiring'] as const)
      expect(w.stats.byKind[kind]).toBeGreaterThan(0);
    expect(Object.keys(w.stats.byGroup)).toEqual(['alpha']);
    expect(result.lost).toEqual([]);
    expect(result.counters).toHaveLength(8);
    for (const c of result.counters) expect(c).toMatchObject({ uncertain: 0, actual: c.expected, ok: true });
    expect(result.counters.reduce((sum, c) => sum + c.actual, 0)).toBe(w.stats.byKind.counter);
    expect(result.checked).toBeGreaterThan(1_000);
    expect(verifyMs).toBeLessThan(5_000);
  });

  it('(b) reports exactly the writes a test destroys behind its back', async () => {
    const w = workload('steady', { opsPerSecond: 1_000, counters: 4 });
    const redis = await admin('alpha');
    const space = w.keyspace;
    w.start();
    await sleep(500);
    const insertedEarly = await scanKeys(redis, `${space}ins:*`);
    await sleep(700);
    await w.stop();
    // Present then, gone now: the workload deleted them (acknowledged: no write failed).
    const remaining = new Set(await scanKeys(redis, `${space}ins:*`));
    const deleted = insertedEarly.filter((key) => !remaining.has(key));
    expect(w.stats.errors).toBe(0);
    expect(deleted.length).toBeGreaterThan(0);

    const inserted = (await scanKeys(redis, `${space}ins:*`)).slice(0, 3);
    const [hotDeleted, hotChanged] = await scanKeys(redis, `${space}hot:*`);
    const [persisted] = await scanKeys(redis, `${space}exp:*`);
    const counter = `${space}ctr:{c0}`;
    const count = Number(await redis.get(counter));
    expect(inserted).toHaveLength(3);
    expect(count).toBeGreaterThan(5);

    await redis.del(...inserted, hotDeleted!);
    await redis.set(hotChanged!, 'tampered');
    await redis.persist(persisted!);
    await redis.set(counter, count - 3);
    // A stale copy brings a deleted key back.
    await redis.set(deleted[0]!, 'stale copy');

    const result = await w.verify();
    const problems = Object.fromEntries(result.lost.map((l) => [l.key, [l.problem, l.actual]]));
    expect(problems).toEqual({
      ...Object.fromEntries(inserted.map((key) => [key, ['missing', null]])),
      [hotDeleted!]: ['missing', null],
      [hotChanged!]: ['wrong-value', 'tampered'],
      [persisted!]: ['expiry-lost', expect.any(String)],
      [counter]: ['counter-out-of-range', String(count - 3)],
      [deleted[0]!]: ['not-deleted', 'stale copy'],
    });
    expect(result.counters.find((c) => c.key === counter)).toEqual({
      key: counter,
      expected: count,
      uncertain: 0,
      actual: count - 3,
      ok: false,
    });
    expect(result.lost.find((l) => l.key === hotChanged)?.expected).toMatch(new RegExp(`^${space}v`));
  });

  it('(c) follows a CNAME flip: reconnects to the new address after its connection is killed, nothing lost', async () => {
    const w = workload('moving', { opsPerSecond: 1_000 });
    const alpha = await admin('alpha');
    const beta = await admin('beta');
    w.start();
    await sleep(1_000);

    // The cutover: freeze writes on the old node, copy the data, flip the CNAME, drop clients.
    await alpha.call('CLIENT', 'PAUSE', '10000', 'WRITE');
    const keys = await scanKeys(alpha, `${w.keyspace}*`);
    for (const key of keys) {
      const [dump, pttl] = await Promise.all([alpha.dumpBuffer(key), alpha.pttl(key)]);
      if (dump === null || pttl === -2) continue;
      await beta.restore(key, Math.max(pttl, 0), dump, 'REPLACE');
    }
    const target = await ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: 'beta' }));
    await route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: ZONE,
        ChangeBatch: {
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: {
                Name: `moving.${DOMAIN}`,
                Type: 'CNAME',
                TTL: 5,
                ResourceRecords: [
                  { Value: target.ReplicationGroups![0]!.NodeGroups![0]!.PrimaryEndpoint!.Address! },
                ],
              },
            },
          ],
        },
      }),
    );
    const killed = Number(await alpha.call('CLIENT', 'KILL', 'TYPE', 'normal'));
    await alpha.call('CLIENT', 'UNPAUSE');
    expect(killed).toBeGreaterThan(0);

    await sleep(1_000);
    await w.stop();
    const result = await w.verify();
    expect(result.lost).toEqual([]);
    for (const c of result.counters) expect(c.ok).toBe(true);
    expect(w.stats.byGroup.alpha).toBeGreaterThan(300);
    expect(w.stats.byGroup.beta).toBeGreaterThan(300);
    expect(w.stats.reconnects).toBeGreaterThanOrEqual(1);
    // The writes held by the pause had no reply: unknown, not counted, never resent.
    expect(w.stats.unacknowledged).toBeGreaterThan(0);
    expect(w.stats.unacknowledged).toBeLessThanOrEqual(4);
    expect(w.stats.longestStallMs).toBeGreaterThan(0);
  });

  it('(d) measures a write freeze: CLIENT PAUSE WRITE 1500 shows as a stall of about 1.5 s', async () => {
    const w = workload('steady', { opsPerSecond: 500 });
    const alpha = await admin('alpha');
    w.start();
    await sleep(300);
    await alpha.call('CLIENT', 'PAUSE', '1500', 'WRITE');
    await sleep(2_200);
    await w.stop();
    const result = await w.verify();

    expect(w.stats.longestStallMs).toBeGreaterThanOrEqual(1_400);
    expect(w.stats.longestStallMs).toBeLessThan(2_500);
    expect(w.stats.stalls[0]!.ms).toBe(w.stats.longestStallMs);
    expect(w.stats.unacknowledged).toBe(0);
    expect(result.lost).toEqual([]);
  });

  it('(e) cluster mode: writes spread over every shard of a cluster group behind a CNAME; nothing lost', async () => {
    const w = workload('sharded', { clusterMode: true, opsPerSecond: 1_000 });
    w.start();
    await sleep(1_500);
    await w.stop();
    const result = await w.verify();
    expect(w.stats.unacknowledged).toBe(0);
    expect(w.stats.acknowledged).toBeGreaterThan(1_000);
    expect(Object.keys(w.stats.byGroup)).toEqual(['gamma']);
    expect(result.lost).toEqual([]);
    for (const c of result.counters) expect(c).toMatchObject({ uncertain: 0, actual: c.expected });

    // Every primary holds some of the workload's keys, and a lost one is caught through the cluster.
    const out = await ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: 'gamma' }));
    const endpoint = out.ReplicationGroups![0]!.ConfigurationEndpoint!;
    const addresses = await sandboxResolver(sandbox).resolve4(endpoint.Address!);
    const cluster = new Cluster([{ host: addresses[0]!, port: endpoint.Port! }], {
      redisOptions: { protocol: 2 },
    });
    admins.push(cluster);
    const victim = `${w.keyspace}hot:{h5}`;
    expect(await cluster.del(victim)).toBe(1);
    const perNode = await Promise.all(
      cluster.nodes('master').map(async (node) => (await scanKeys(node, `${w.keyspace}*`)).length),
    );
    expect(perNode).toHaveLength(3);
    for (const n of perNode) expect(n).toBeGreaterThan(50);
    const again = await w.verify();
    expect(again.lost.map((l) => [l.key, l.problem])).toEqual([[victim, 'missing']]);
  });

  it('reconnectEvery: planned reconnects re-resolve and lose nothing (writes in flight finish before QUIT)', async () => {
    const w = workload('steady', { opsPerSecond: 1_000, reconnectEvery: 200 });
    w.start();
    await sleep(1_100);
    await w.stop();
    expect(w.stats.reconnects).toBeGreaterThanOrEqual(3);
    expect(w.stats.unacknowledged).toBe(0);
    expect(w.stats.errors).toBe(0);
    const result = await w.verify();
    expect(result.lost).toEqual([]);
    for (const c of result.counters) expect(c).toMatchObject({ uncertain: 0, actual: c.expected });
  });

  it('short-TTL keys must stay expired: one brought back after its expiry is reported', async () => {
    const w = workload('steady', { opsPerSecond: 200, mix: { expiring: 1 }, shortTtlShare: 1 });
    w.start();
    await sleep(300);
    await w.stop();
    const redis = await admin('alpha');
    const written = await scanKeys(redis, `${w.keyspace}tmp:*`);
    expect(written.length).toBe(w.stats.byKind.expiring);
    expect(written.length).toBeGreaterThan(20);
    const early = await w.verify();
    expect(early.lost).toEqual([]);
    // Every TTL (1–3 s) has passed, with the margin.
    await sleep(3_400);
    await redis.set(written[0]!, 'resurrected by a copy without its TTL');
    const late = await w.verify();
    expect(late.skipped).toBe(0);
    expect(late.lost.map((l) => [l.key, l.problem])).toEqual([[written[0], 'resurrected']]);
  });

  it('TLS and AUTH: works with the token; a wrong one fails without the secret in any message', async () => {
    const tls = { ca: sandbox.tlsCa!.certPem, checkServerIdentity: () => undefined };
    const good = workload('secure', { redisOptions: { protocol: 2, password: AUTH_TOKEN, tls } });
    good.start();
    await sleep(700);
    await good.stop();
    expect(good.stats.acknowledged).toBeGreaterThan(400);
    expect((await good.verify()).lost).toEqual([]);

    const wrong = 'Not-The-Token-But-Still-Secret-42';
    const bad = workload('secure', { redisOptions: { protocol: 2, password: wrong, tls } });
    bad.start();
    await sleep(300);
    await bad.stop();
    expect(bad.stats.acknowledged).toBe(0);
    expect(bad.stats.errors).toBeGreaterThan(0);
    expect(bad.stats.lastError).toBeDefined();
    expect(JSON.stringify(bad.stats)).not.toContain(wrong);
    const failure = await bad.verify().then(
      () => undefined,
      (error: Error) => error,
    );
    expect(failure?.message).toMatch(/^verify through secure\.work\.internal/);
    expect(`${failure?.message} ${failure?.stack}`).not.toContain(wrong);
  });
});
