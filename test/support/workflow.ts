import {
  ElastiCacheClient,
  paginateDescribeReplicationGroups,
  paginateDescribeSnapshots,
} from '@aws-sdk/client-elasticache';
import { ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import type { MigrationState } from '../../lambdas/migration/state.js';
import { type FixtureInput, type Sandbox, startSandbox } from '../../sandbox/index.js';
import type { LambdaHandler } from '../../sandbox/stepfunctions.js';
import {
  configureLocalEnvironment,
  LOCAL_APPROVAL_TOPIC,
  LOCAL_KMS_ALIAS,
  loadHandlers,
  localFunctionArn,
  type MigrationRunOptions,
  runMigration,
} from '../../sandbox/workflow.js';

export const ZONE_ID = 'Z0PRIVATE00001';
export const AUTH_TOKEN = 'Correct-Horse-Battery-Staple-42';

/** A small fleet: a cluster-mode-disabled group (primary + 2 replicas) and a 3-shard cluster. */
export function fleet(
  extra: Partial<Record<'orders' | 'sessions', Record<string, unknown>>> = {},
): FixtureInput {
  return {
    timeScale: 0.0002,
    kms: {
      keys: [
        { aliases: [LOCAL_KMS_ALIAS], description: 'migration key' },
        { aliases: ['alias/disabled-key'], state: 'Disabled' },
        { aliases: ['alias/rsa-key'], spec: 'RSA_2048' },
      ],
    },
    sns: { topics: [LOCAL_APPROVAL_TOPIC] },
    secretsManager: { secrets: [{ name: 'orders-auth', value: JSON.stringify({ auth_token: AUTH_TOKEN }) }] },
    elasticache: {
      replicationGroups: [
        {
          id: 'orders',
          description: 'orders cache',
          engineVersion: '7.1',
          replicasPerShard: 2,
          multiAz: true,
          securityGroupIds: ['sg-0a1b2c3d4e5f60718'],
          userGroupIds: ['orders-users'],
          logDelivery: [
            {
              logType: 'slow-log',
              destinationType: 'cloudwatch-logs',
              destination: '/elasticache/orders/slow',
            },
          ],
          snapshotRetentionLimit: 1,
          tags: { team: 'payments', env: 'prod' },
          availabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
          dataSizeMb: 512,
          ...extra.orders,
        },
        {
          id: 'sessions',
          clusterMode: 'enabled',
          shards: 3,
          replicasPerShard: 1,
          engine: 'valkey',
          engineVersion: '7.2',
          securityGroupIds: ['sg-0fedcba987654321'],
          ...extra.sessions,
        },
      ],
    },
    route53: {
      hostedZones: [
        {
          id: ZONE_ID,
          name: 'example.internal.',
          private: true,
          records: [
            {
              name: 'orders.example.internal.',
              ttl: 300,
              values: [{ group: 'orders', endpoint: 'primary' }],
            },
            {
              name: 'orders-ro.example.internal.',
              ttl: 300,
              values: [{ group: 'orders', endpoint: 'reader' }],
            },
            {
              name: 'sessions.example.internal.',
              ttl: 60,
              values: [{ group: 'sessions', endpoint: 'configuration' }],
            },
          ],
        },
      ],
    },
  };
}

export interface WorkflowBed {
  sandbox: Sandbox;
  handlers: Record<string, LambdaHandler>;
  elasticache: ElastiCacheClient;
  route53: Route53Client;
  run(input: unknown, options?: Partial<MigrationRunOptions>): ReturnType<typeof runMigration>;
  /** The current value of a CNAME in the test zone. */
  cname(name: string): Promise<string | undefined>;
  groupIds(): Promise<string[]>;
  snapshotNames(): Promise<string[]>;
  stop(): Promise<void>;
}

let runs = 0;

/** One sandbox per test file (handlers bind their clients at import); `reset` between tests. */
export async function startWorkflowBed(fixture: FixtureInput = fleet()): Promise<WorkflowBed> {
  const sandbox = await startSandbox({ fixture, dns: true });
  configureLocalEnvironment(sandbox, { DNS_SERVERS: sandbox.dnsServer! });
  const handlers = await loadHandlers();
  const config = {
    endpoint: sandbox.endpoint,
    region: sandbox.region,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  };
  const elasticache = new ElastiCacheClient(config);
  const route53 = new Route53Client(config);
  return {
    sandbox,
    handlers,
    elasticache,
    route53,
    // This bed's nodes hold no data (NullDataPlane), so data verification is off unless a test
    // asks for it; DNS is served, so the post-flip resolution check runs. Real data:
    // test/scenarios/real-data.test.ts.
    run: (input, options = {}) =>
      runMigration({
        functions: handlers,
        input:
          input && typeof input === 'object' && !('verification' in input)
            ? { ...input, verification: { mode: 'off' } }
            : input,
        executionName: `test-${process.pid}-${++runs}`,
        waitMs: 5,
        retryMs: 5,
        ...options,
      }),
    async cname(name) {
      const out = await route53.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: ZONE_ID,
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
    // Every page: a fixture's pageSize can put the groups and snapshots on many.
    async groupIds() {
      const ids: string[] = [];
      for await (const page of paginateDescribeReplicationGroups({ client: elasticache }, {}))
        ids.push(...(page.ReplicationGroups ?? []).map((g) => g.ReplicationGroupId!));
      return ids.sort();
    },
    async snapshotNames() {
      const names: string[] = [];
      for await (const page of paginateDescribeSnapshots({ client: elasticache }, {}))
        names.push(...(page.Snapshots ?? []).map((s) => s.SnapshotName!));
      return names.sort();
    },
    stop: () => sandbox.stop(),
  };
}

/** Calls one step handler directly, as Lambda would (the event JSON round-tripped). */
export function callStep(bed: WorkflowBed, fn: string, event: unknown): Promise<MigrationState> {
  const handler = bed.handlers[localFunctionArn(fn)];
  if (!handler) throw new Error(`no handler ${fn}`);
  return handler(JSON.parse(JSON.stringify(event))) as Promise<MigrationState>;
}

/** Polls a step's action, as the state machine's wait loop does, until `done` (or 400 polls). */
export async function pollStep(
  bed: WorkflowBed,
  fn: string,
  action: string,
  state: MigrationState,
  done: (s: MigrationState) => boolean,
): Promise<MigrationState> {
  let current = state;
  for (let i = 0; i < 400 && !done(current); i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    current = await callStep(bed, fn, { action, state: current });
  }
  if (!done(current)) throw new Error(`${fn}:${action} did not finish in 400 polls`);
  return current;
}

/**
 * Drives one migration through its steps, as the state machine does, up to a flipped and
 * INSYNC DNS change: the state a late failure starts its rollback from.
 */
export async function migrateThroughFlip(
  bed: WorkflowBed,
  input: unknown,
  migrationId: string,
): Promise<MigrationState> {
  // The null data plane holds no data: like `run`, the snapshot-only policy unless asked.
  const withPolicy =
    input && typeof input === 'object' && !('verification' in input)
      ? { ...input, verification: { mode: 'off' } }
      : input;
  let state = await callStep(bed, 'preflight', { input: withPolicy, migrationId });
  state = await callStep(bed, 'snapshot', { action: 'start', state });
  state = await pollStep(bed, 'snapshot', 'check', state, (s) => s.progress.snapshotReady === true);
  state = await callStep(bed, 'restore', { action: 'start', state });
  state = await pollStep(bed, 'restore', 'check', state, (s) => s.progress.targetReady === true);
  state = await callStep(bed, 'verify-target', { action: 'verify', state });
  state = await callStep(bed, 'cutover', { action: 'prepare', state });
  state = await pollStep(bed, 'cutover', 'check-change', state, (s) => s.progress.dns?.changeInSync === true);
  state = await callStep(bed, 'cutover', { action: 'flip', state });
  return pollStep(bed, 'cutover', 'check-change', state, (s) => s.progress.dns?.changeInSync === true);
}
