import { LOCAL_API_STAGE, LocalMigrationsApi, loadApiHandler } from './api-gateway.js';
import { Clock } from './clock.js';
import { type DataPlane, NullDataPlane } from './dataplane.js';
import { SandboxDnsServer } from './dns.js';
import { SandboxDynamoDb } from './dynamodb.js';
import { FaultInjector, type FaultSpec } from './faults.js';
import { type Fixture, type FixtureInput, parseFixture } from './fixture.js';
import { RedisDataPlane, type RedisDataPlaneOptions } from './redis/dataplane.js';
import { SandboxServer } from './server.js';
import { CloudWatchStore, cloudWatchService } from './services/cloudwatch.js';
import { ElastiCacheStore, elastiCacheService } from './services/elasticache/service.js';
import { EventBridgeStore, eventBridgeService } from './services/eventbridge.js';
import { KmsStore, kmsService } from './services/kms.js';
import { Route53Store, route53Service } from './services/route53.js';
import { S3Store, s3Service } from './services/s3.js';
import { SecretStore, secretsManagerService } from './services/secretsmanager.js';
import { SnsStore, snsService } from './services/sns.js';
import { stepFunctionsService } from './services/stepfunctions/service.js';
import { StepFunctionsStore } from './services/stepfunctions/store.js';
import type { SandboxContext } from './services/types.js';
import type { LambdaHandler } from './stepfunctions.js';
import {
  LOCAL_CACHE_EVENTS_TOPIC,
  LOCAL_FLEET_TOPIC,
  LOCAL_REPORTS_BUCKET,
  localStateMachines,
  STOPPED_MIGRATION_RULES,
} from './workflow.js';

export type { ClaimItem } from './dynamodb.js';
export { SANDBOX_MIGRATIONS_TABLE } from './dynamodb.js';
export type { FaultSpec } from './faults.js';
export type { FixtureInput } from './fixture.js';
export { FixtureError, loadFixtureFile, parseFixture } from './fixture.js';

/** The S3 bucket every sandbox has: the fleet batch's plans and reports (REPORTS_BUCKET_NAME). */
export const SANDBOX_REPORTS_BUCKET = LOCAL_REPORTS_BUCKET;

export interface SandboxOptions {
  fixture?: FixtureInput | Fixture;
  /** Port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** Overrides the fixture's timeScale. */
  timeScale?: number;
  /**
   * Where group data lives: `'null'` (the default: nodes have no data and nothing listens),
   * `'redis'` (a real redis-server per node, see sandbox/redis/dataplane.ts) or an instance.
   * The sandbox closes it on `stop()`.
   */
  dataPlane?: DataPlane | 'null' | 'redis';
  /**
   * Options of the Redis data plane started for `dataPlane: 'redis'`, e.g.
   * `{ replicationTimestamp: false }` for an empty keyspace (no ElastiCacheMasterReplicationTimestamp).
   */
  redis?: RedisDataPlaneOptions;
  /**
   * Serve the hosted zones and the endpoint host names as DNS on 127.0.0.1 (UDP and TCP).
   * @default true with a Redis data plane, false otherwise
   */
  dns?: boolean;
}

/** The simulated account: every store, seeded from one fixture. */
export interface SandboxWorld {
  /** Simulated time; `pause()` freezes every life cycle (tests of repeated calls). */
  clock: Clock;
  region: string;
  accountId: string;
  faults: FaultInjector;
  kms: KmsStore;
  secrets: SecretStore;
  elasticache: ElastiCacheStore;
  route53: Route53Store;
  sns: SnsStore;
  s3: S3Store;
  eventBridge: EventBridgeStore;
  cloudwatch: CloudWatchStore;
  /**
   * Step Functions: every workflow of `statemachine/` preloaded under the deployment's name, run
   * on the local engine with the project's handlers (docs/stepfunctions-sandbox.md).
   */
  stepfunctions: StepFunctionsStore;
}

export interface Sandbox extends SandboxWorld {
  /** The URL to put in AWS_ENDPOINT_URL. */
  endpoint: string;
  /** Environment variables that point the AWS SDK (and the AWS CLI) at this sandbox. */
  env: Record<string, string>;
  server: SandboxServer;
  /** `127.0.0.1:PORT` of the DNS server (for `Resolver.setServers`), when `dns` is on. */
  dnsServer?: string;
  /**
   * DynamoDB (dynalite, in memory) with the migrations table, on its own endpoint
   * (`AWS_ENDPOINT_URL_DYNAMODB` in `env`); emptied by `reset`, stopped by `stop`.
   */
  dynamodb: SandboxDynamoDb;
  /** PEM and file of the CA that signs every node's TLS certificate, with a Redis data plane. */
  tlsCa?: { readonly certPem: string; readonly certFile: string };
  injectFaults(...faults: FaultSpec[]): void;
  /** Replaces the whole account with a freshly seeded one, on the same endpoint. */
  reset(fixture?: FixtureInput | Fixture): Promise<void>;
  stop(): Promise<void>;
}

async function buildWorld(
  fixture: Fixture,
  timeScale: number,
  dataPlane: DataPlane,
  functions: () => Promise<Record<string, LambdaHandler>>,
) {
  const ctx: SandboxContext = {
    region: fixture.region,
    accountId: fixture.accountId,
    clock: new Clock(timeScale),
    faults: new FaultInjector(),
    ...(fixture.pageSize === undefined ? {} : { pageSize: fixture.pageSize }),
  };
  const kms = new KmsStore(ctx);
  const secrets = new SecretStore(ctx);
  const sns = new SnsStore(ctx);
  const cloudwatch = new CloudWatchStore(ctx);
  const elasticache = new ElastiCacheStore(ctx, kms, secrets, dataPlane);
  const route53 = new Route53Store(ctx, (ref) => elasticache.endpointOf(ref.group, ref.endpoint));
  const s3 = new S3Store(ctx);
  s3.addBucket(SANDBOX_REPORTS_BUCKET);
  const eventBridge = new EventBridgeStore();

  for (const key of fixture.kms.keys) kms.addKey(key);
  for (const secret of fixture.secretsManager.secrets) secrets.add(secret.name, secret.value);
  for (const topic of fixture.sns.topics) sns.addTopic(topic);
  sns.addTopic(LOCAL_FLEET_TOPIC);
  sns.addTopic(LOCAL_CACHE_EVENTS_TOPIC);
  elasticache.notify = (topicArn, event, message) => sns.deliver(topicArn, event, message);
  for (const group of fixture.elasticache.parameterGroups) elasticache.seedParameterGroup(group);
  for (const group of fixture.elasticache.replicationGroups) await elasticache.seedGroup(group);
  elasticache.seedNetwork(fixture.elasticache);
  for (const zone of fixture.route53.hostedZones) route53.seedZone(zone);
  for (const alarm of fixture.cloudwatch.alarms) cloudwatch.seed(alarm);
  ctx.faults.add(...fixture.faults);
  const stepfunctions = new StepFunctionsStore(ctx, { functions, timeScale });
  for (const machine of localStateMachines((name) => stepfunctions.machineArn(name)))
    stepfunctions.addMachine(machine.name, machine.definition);
  for (const rule of STOPPED_MIGRATION_RULES)
    if (
      [rule.source, rule.target].every((name) => stepfunctions.machines.has(stepfunctions.machineArn(name)))
    )
      stepfunctions.rules.push(rule);

  const world: SandboxWorld = {
    clock: ctx.clock,
    region: ctx.region,
    accountId: ctx.accountId,
    faults: ctx.faults,
    kms,
    secrets,
    elasticache,
    route53,
    sns,
    s3,
    eventBridge,
    cloudwatch,
    stepfunctions,
  };
  const services = [
    elastiCacheService(ctx, elasticache),
    route53Service(ctx, route53),
    kmsService(ctx, kms),
    secretsManagerService(ctx, secrets),
    snsService(ctx, sns),
    s3Service(ctx, s3),
    eventBridgeService(ctx, eventBridge),
    cloudWatchService(ctx, cloudwatch),
    stepFunctionsService(ctx, stepfunctions),
  ];
  return { world, services };
}

/** Starts a local AWS (ElastiCache, Route 53, KMS, Secrets Manager, SNS, CloudWatch) seeded from a fixture. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const dataPlane: DataPlane =
    options.dataPlane === 'redis'
      ? await RedisDataPlane.start(options.redis)
      : options.dataPlane === 'null' || options.dataPlane === undefined
        ? new NullDataPlane()
        : options.dataPlane;
  // The handlers bind their clients at import: the first execution points the process at this
  // sandbox (as a deployment's environment would), unless a test already did.
  const functions = async () => {
    const { configureLocalEnvironment, loadHandlers } = await import('./workflow.js');
    if (process.env.AWS_ENDPOINT_URL !== sandbox.endpoint)
      configureLocalEnvironment(sandbox, sandbox.dnsServer ? { DNS_SERVERS: sandbox.dnsServer } : {});
    return loadHandlers();
  };
  const seed = (input?: FixtureInput | Fixture) => {
    const fixture = parseFixture(input ?? {});
    return buildWorld(fixture, options.timeScale ?? fixture.timeScale, dataPlane, functions);
  };
  let world: SandboxWorld;
  let dns: SandboxDnsServer | undefined;
  let dynamodb: SandboxDynamoDb | undefined;
  let server: SandboxServer;
  let endpoint: string;
  try {
    const first = await seed(options.fixture);
    world = first.world;
    dynamodb = await SandboxDynamoDb.start(world.region);
    // The DNS server reads the current world at query time (reset replaces it).
    if (options.dns ?? dataPlane instanceof RedisDataPlane) dns = await SandboxDnsServer.start(() => world);
    server = new SandboxServer(first.services);
    server.serveApi(
      new LocalMigrationsApi(
        () => world.accountId,
        () => loadApiHandler(sandbox),
      ),
    );
    endpoint = await server.listen(options.port ?? 0);
  } catch (error) {
    // Nodes already started for the fixture must not outlive a failed start.
    await dns?.close();
    await dynamodb?.close();
    await dataPlane.close();
    throw error;
  }
  const sandbox: Sandbox = {
    ...world,
    endpoint,
    env: {
      AWS_ENDPOINT_URL: endpoint,
      // DynamoDB is dynalite on its own port (the SDK's service-specific endpoint setting).
      AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
      MIGRATIONS_TABLE_NAME: dynamodb.tableName,
      // The migrations API (runbooks/start-via-api.md), as the stack's MigrationsApiUrl output.
      MIGRATIONS_API_URL: `${endpoint}/${LOCAL_API_STAGE}`,
      // The migration state machine (the stack's MigrateReplicationGroupStateMachineArn output).
      STATE_MACHINE_ARN: world.stepfunctions.machineArn('MigrateReplicationGroup'),
      AWS_REGION: world.region,
      AWS_DEFAULT_REGION: world.region,
      AWS_ACCESS_KEY_ID: 'sandbox',
      AWS_SECRET_ACCESS_KEY: 'sandbox',
      // The sandbox is not a real AWS account: never let a request fall through to one.
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    server,
    dynamodb,
    ...(dns ? { dnsServer: dns.address } : {}),
    ...(dataPlane.tlsCa ? { tlsCa: dataPlane.tlsCa } : {}),
    injectFaults(...faults) {
      sandbox.faults.add(...faults);
    },
    async reset(fixture) {
      sandbox.stepfunctions.stopAll();
      await dataPlane.reset();
      await sandbox.dynamodb.reset();
      const next = await seed(fixture);
      Object.assign(sandbox, next.world);
      world = next.world;
      server.setServices(next.services);
    },
    async stop() {
      sandbox.stepfunctions.stopAll();
      await server.close();
      await sandbox.dynamodb.close();
      await dns?.close();
      await dataPlane.close();
    },
  };
  return sandbox;
}
