import {
  DescribeSnapshotsCommand,
  ElastiCacheClient,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-elasticache';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureInput, type Sandbox, startSandbox } from '../../sandbox/index.js';
import type { LambdaHandler } from '../../sandbox/stepfunctions.js';
import {
  configureLocalEnvironment,
  LOCAL_APPROVAL_TOPIC,
  LOCAL_KMS_ALIAS,
  loadHandlers,
  runMigration,
} from '../../sandbox/workflow.js';

/**
 * Preflight proves the AUTH token against the source's real Redis nodes (TLS, requirepass), so a
 * wrong token is refused before anything is created.
 */
const TOKEN = 'Preflight-Auth-Token-0001';
const WRONG = 'Not-The-Source-Token-0002';

function fixture(): FixtureInput {
  return {
    timeScale: 0.0005,
    kms: { keys: [{ aliases: [LOCAL_KMS_ALIAS] }] },
    sns: { topics: [LOCAL_APPROVAL_TOPIC] },
    secretsManager: {
      secrets: [
        { name: 'secure-auth', value: TOKEN },
        { name: 'stale-auth', value: JSON.stringify({ auth_token: WRONG }) },
      ],
    },
    elasticache: {
      replicationGroups: [
        {
          id: 'secure',
          replicasPerShard: 1,
          transitEncryption: true,
          transitEncryptionMode: 'required',
          authTokenSecret: 'secure-auth',
        },
      ],
    },
  };
}

let sandbox: Sandbox;
let handlers: Record<string, LambdaHandler>;
let elasticache: ElastiCacheClient;
let runs = 0;

beforeAll(async () => {
  sandbox = await startSandbox({ fixture: fixture(), dataPlane: 'redis' });
  configureLocalEnvironment(sandbox, {
    DNS_SERVERS: sandbox.dnsServer!,
    ...(sandbox.tlsCa ? { REDIS_TLS_CA_FILE: sandbox.tlsCa.certFile } : {}),
  });
  handlers = await loadHandlers();
  elasticache = new ElastiCacheClient({
    endpoint: sandbox.endpoint,
    region: sandbox.region,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
}, 120_000);
afterAll(() => sandbox?.stop());

const run = (secret: string, extra: Record<string, unknown> = {}) =>
  runMigration({
    functions: handlers,
    executionName: `auth-${++runs}`,
    input: {
      sourceReplicationGroupId: 'secure',
      authTokenSecretArn: sandbox.secrets.resolve(secret)!.arn,
      ...extra,
    },
    waitMs: 5,
    retryMs: 5,
  });

/** The claim tags, the claim items and the snapshots: all a started migration would leave. */
async function traces() {
  const arn = sandbox.elasticache.groups.get('secure')!.arn;
  const tags = (await elasticache.send(new ListTagsForResourceCommand({ ResourceName: arn }))).TagList ?? [];
  return {
    claimTags: tags.filter((t) => t.Key?.startsWith('at-rest-migrator:')),
    claims: await sandbox.dynamodb.claims(),
    snapshots: (await elasticache.send(new DescribeSnapshotsCommand({}))).Snapshots ?? [],
  };
}

describe('preflight proves the AUTH token against the source', () => {
  it('refuses a token the source does not accept, naming the secret, changing nothing', async () => {
    const before = await traces();
    expect(before).toEqual({ claimTags: [], claims: [], snapshots: [] });
    const result = await run('stale-auth');
    expect(result.status).toBe('FAILED');
    expect(result.error, result.cause).toBe('AuthTokenError');
    const cause = result.cause ?? '';
    expect(cause).toContain(sandbox.secrets.resolve('stale-auth')!.arn);
    expect(cause).toMatch(/'secure' refused the AUTH token .*WRONGPASS/);
    expect(cause).not.toContain(WRONG);
    expect(cause).not.toContain(TOKEN);
    expect(result.events.map((e) => e.state?.name)).not.toContain('CreateSnapshot');
    expect(await traces()).toEqual(before);
  });

  it('accepts the token the source uses (over TLS)', async () => {
    const dry = await run('secure-auth', { dryRun: true });
    expect(dry.status, dry.cause).toBe('SUCCEEDED');
    expect(await traces()).toEqual({ claimTags: [], claims: [], snapshots: [] });
  });
});
