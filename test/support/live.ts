/**
 * The live-cutover test bed: a sandbox with real Redis nodes and real DNS, the real handlers, and
 * a live application ({@link Workload}) that writes through each group's CNAME. Shared by
 * test/scenarios/live-cutover*.test.ts (one sandbox per file, `reset` between tests).
 */
import {
  DescribeCacheClustersCommand,
  DescribeCacheParameterGroupsCommand,
  DescribeReplicationGroupsCommand,
  DescribeSnapshotsCommand,
  ElastiCacheClient,
} from '@aws-sdk/client-elasticache';
import { ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { MigrationState } from '../../lambdas/migration/state.js';
import { seedKeys } from '../../sandbox/demo/seed.js';
import { type FixtureInput, type Sandbox, startSandbox } from '../../sandbox/index.js';
import type { LambdaHandler, LocalExecutionResult } from '../../sandbox/stepfunctions.js';
import {
  configureLocalEnvironment,
  LOCAL_APPROVAL_TOPIC,
  LOCAL_KMS_ALIAS,
  loadHandlers,
  localFunctionArn,
} from '../../sandbox/workflow.js';
import { Workload, type WorkloadOptions } from '../../sandbox/workload.js';

export const LIVE_ZONE = 'Z0LIVECUTOVER1';
export const LIVE_TOKEN = 'Live-Cutover-Test-Token-0001';

/**
 * The groups a live test may use: `plain` (Redis 7.0, one replica), `sharded` (3 shards),
 * `secure` (TLS required + AUTH), `legacy` (Redis 6.0: no CLIENT PAUSE WRITE).
 */
export type LiveGroupId = 'plain' | 'sharded' | 'secure' | 'legacy';
const ALL: readonly LiveGroupId[] = ['plain', 'sharded', 'secure', 'legacy'];

/** Only the groups a file needs: each is real redis-server processes. */
export function liveFixture(ids: readonly LiveGroupId[] = ALL): FixtureInput {
  const groups = {
    plain: { id: 'plain', replicasPerShard: 1, engineVersion: '7.0' },
    sharded: { id: 'sharded', clusterMode: 'enabled', shards: 3, replicasPerShard: 1, engineVersion: '7.0' },
    secure: {
      id: 'secure',
      replicasPerShard: 1,
      engineVersion: '7.0',
      transitEncryption: true,
      transitEncryptionMode: 'required',
      authTokenSecret: 'live-auth',
    },
    legacy: { id: 'legacy', replicasPerShard: 1, engineVersion: '6.0' },
  } as const;
  return {
    timeScale: 0.0005,
    kms: { keys: [{ aliases: [LOCAL_KMS_ALIAS] }] },
    sns: { topics: [LOCAL_APPROVAL_TOPIC] },
    secretsManager: { secrets: [{ name: 'live-auth', value: LIVE_TOKEN }] },
    elasticache: { replicationGroups: ids.map((id) => ({ ...groups[id] })) },
    route53: {
      hostedZones: [
        {
          id: LIVE_ZONE,
          name: 'live.internal.',
          records: ids.map((id) => ({
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

export interface LiveBed {
  sandbox: Sandbox;
  handlers: Record<string, LambdaHandler>;
  elasticache: ElastiCacheClient;
  route53: Route53Client;
  /** A fresh account with the file's groups (between tests). */
  reset(): Promise<void>;
  /** TLS + AUTH options for `secure`. */
  secureOptions(): RedisOptions;
  /** A direct connection to a group's first primary (a cluster client in cluster mode). */
  connect(groupId: string, options?: RedisOptions): Redis | Cluster;
  /** A direct connection to the primary node of a cluster-mode-disabled group. */
  primary(groupId: string): Redis;
  /** The application: writes through `<id>.live.internal`. */
  workloadFor(id: LiveGroupId, overrides?: Partial<WorkloadOptions>): Workload;
  seed(id: LiveGroupId, keys: number): Promise<void>;
  /** The DNS record input of a group, for the migration input. */
  dnsRecord(id: LiveGroupId): { hostedZoneId: string; recordName: string; endpoint: string };
  /** The CNAME's value now (Route 53). */
  cname(id: LiveGroupId): Promise<string | undefined>;
  /** The replication group a value of the CNAME leads to, by its endpoint host name. */
  groupBehind(value: string | undefined): Promise<string | undefined>;
  groupIds(): Promise<string[]>;
  snapshotNames(): Promise<string[]>;
  parameterGroupNames(): Promise<string[]>;
  /** The parameter group each node of a group is on (DescribeCacheClusters). */
  parameterGroupsOf(groupId: string): Promise<string[]>;
  stop(): Promise<void>;
}

/** One bed per test file: the handlers bind their clients and settings at import. */
export async function startLiveBed(
  ids: readonly LiveGroupId[] = ALL,
  env: Record<string, string> = {},
): Promise<LiveBed> {
  const sandbox = await startSandbox({ fixture: liveFixture(ids), dataPlane: 'redis' });
  configureLocalEnvironment(sandbox, {
    DNS_SERVERS: sandbox.dnsServer!,
    ...(sandbox.tlsCa ? { REDIS_TLS_CA_FILE: sandbox.tlsCa.certFile } : {}),
    VERIFY_TIME_BUDGET_MS: '3000',
    ...env,
  });
  const handlers = await loadHandlers();
  const config = {
    endpoint: sandbox.endpoint,
    region: sandbox.region,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  };
  const elasticache = new ElastiCacheClient(config);
  const route53 = new Route53Client(config);

  const secureOptions = (): RedisOptions => ({
    password: LIVE_TOKEN,
    tls: { ca: sandbox.tlsCa!.certPem, checkServerIdentity: () => undefined },
  });
  const connect = (groupId: string, options: RedisOptions = {}): Redis | Cluster => {
    const group = sandbox.elasticache.groups.get(groupId);
    if (!group) throw new Error(`no group ${groupId}`);
    const node = group.shards[0]!.members[0]!.address!;
    return group.clusterEnabled
      ? new Cluster([node], { redisOptions: options })
      : new Redis({ ...options, ...node });
  };
  const bed: LiveBed = {
    sandbox,
    handlers,
    elasticache,
    route53,
    reset: () => sandbox.reset(liveFixture(ids)),
    secureOptions,
    connect,
    primary(groupId) {
      const client = connect(groupId, groupId.startsWith('secure') ? secureOptions() : {});
      if (client instanceof Cluster) throw new Error(`${groupId} is in cluster mode`);
      return client;
    },
    workloadFor(id, overrides = {}) {
      const group = sandbox.elasticache.groups.get(id)!;
      return new Workload({
        recordName: `${id}.live.internal`,
        dnsServer: sandbox.dnsServer!,
        port: group.shards[0]!.members[0]!.address!.port,
        clusterMode: group.clusterEnabled,
        opsPerSecond: 600,
        concurrency: 4,
        groupOf: (address) => {
          for (const g of sandbox.elasticache.groups.values())
            for (const shard of g.shards)
              if (shard.members.some((m) => m.address?.host === address)) return g.id;
          return 'unknown';
        },
        ...(id === 'secure' ? { redisOptions: secureOptions() } : {}),
        ...overrides,
      });
    },
    async seed(id, keys) {
      const client = connect(id, id === 'secure' ? secureOptions() : {});
      await seedKeys(client, keys, { clusterMode: id === 'sharded' });
      await client.quit();
    },
    dnsRecord: (id) => ({
      hostedZoneId: LIVE_ZONE,
      recordName: `${id}.live.internal`,
      endpoint: id === 'sharded' ? 'configuration' : 'primary',
    }),
    async cname(id) {
      const name = `${id}.live.internal.`;
      const out = await route53.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: LIVE_ZONE,
          StartRecordName: name,
          StartRecordType: 'CNAME',
          MaxItems: 1,
        }),
      );
      const record = out.ResourceRecordSets?.[0];
      return record?.Name === name && record.Type === 'CNAME'
        ? record.ResourceRecords?.[0]?.Value
        : undefined;
    },
    async groupBehind(value) {
      if (!value) return undefined;
      const host = value.replace(/\.$/, '').toLowerCase();
      const out = await elasticache.send(new DescribeReplicationGroupsCommand({}));
      for (const g of out.ReplicationGroups ?? []) {
        const endpoints = [
          g.ConfigurationEndpoint?.Address,
          ...(g.NodeGroups ?? []).flatMap((n) => [n.PrimaryEndpoint?.Address, n.ReaderEndpoint?.Address]),
        ];
        if (endpoints.some((e) => e?.toLowerCase() === host)) return g.ReplicationGroupId;
      }
      return undefined;
    },
    async groupIds() {
      const out = await elasticache.send(new DescribeReplicationGroupsCommand({}));
      return (out.ReplicationGroups ?? []).map((g) => g.ReplicationGroupId!).sort();
    },
    async snapshotNames() {
      const out = await elasticache.send(new DescribeSnapshotsCommand({}));
      return (out.Snapshots ?? []).map((s) => s.SnapshotName!).sort();
    },
    async parameterGroupNames() {
      const out = await elasticache.send(new DescribeCacheParameterGroupsCommand({}));
      return (out.CacheParameterGroups ?? []).map((g) => g.CacheParameterGroupName!).sort();
    },
    async parameterGroupsOf(groupId) {
      const out = await elasticache.send(new DescribeCacheClustersCommand({}));
      return (out.CacheClusters ?? [])
        .filter((c) => c.ReplicationGroupId === groupId)
        .map((c) => c.CacheParameterGroup?.CacheParameterGroupName ?? '');
    },
    async stop() {
      elasticache.destroy();
      route53.destroy();
      await sandbox.stop();
    },
  };
  return bed;
}

/** An event passed to a step function: `{ action, state }`. */
export interface StepCall {
  action: string;
  state: MigrationState;
}

/**
 * The handlers with one function wrapped: `wrap` gets each event and the real handler (call it,
 * or not, and add a fault around it).
 */
export function wrapFunction(
  handlers: Record<string, LambdaHandler>,
  fn: string,
  wrap: (event: StepCall, real: (event: StepCall) => Promise<MigrationState>) => Promise<unknown>,
): Record<string, LambdaHandler> {
  const arn = localFunctionArn(fn);
  const real = handlers[arn];
  if (!real) throw new Error(`no handler ${fn}`);
  return {
    ...handlers,
    [arn]: (event: StepCall) => wrap(event, (e) => real(e) as Promise<MigrationState>),
  };
}

/** The names of the states an execution entered, in order. */
export function statesEntered(result: LocalExecutionResult): string[] {
  return result.events.filter((e) => e.type === 'StateEntered').map((e) => e.state?.name ?? '');
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An error with a name of its own, as a Lambda function's error surfaces in Step Functions. */
export class InjectedFaultError extends Error {
  override name = 'InjectedFaultError';
}

/** Calls one step function directly, as Lambda would (the event JSON round-tripped). */
export async function callLiveStep(bed: LiveBed, fn: string, event: unknown): Promise<MigrationState> {
  const handler = bed.handlers[localFunctionArn(fn)];
  if (!handler) throw new Error(`no handler ${fn}`);
  return (await handler(JSON.parse(JSON.stringify(event)))) as MigrationState;
}

/** Polls a step's action, as the state machine's wait loops do, until `done` (at most `ms`). */
export async function pollLiveStep(
  bed: LiveBed,
  fn: string,
  action: string,
  state: MigrationState,
  done: (s: MigrationState) => boolean,
  ms = 60_000,
): Promise<MigrationState> {
  let current = state;
  const deadline = Date.now() + ms;
  while (!done(current)) {
    if (Date.now() > deadline) throw new Error(`${fn}:${action} did not finish in ${ms} ms`);
    await sleep(20);
    current = await callLiveStep(bed, fn, { action, state: current });
  }
  return current;
}
