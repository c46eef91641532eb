import {
  AddTagsToResourceCommand,
  CreateSnapshotCommand,
  DescribeSnapshotsCommand,
} from '@aws-sdk/client-elasticache';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { untilAvailable } from '../../lambdas/migration/group-state.js';
import type { FixtureInput } from '../../sandbox/index.js';
import { LOCAL_KMS_ALIAS, runMigration } from '../../sandbox/workflow.js';
import { causeText, readWorld, SOURCE_ARN, startQuietBed, type World } from '../support/fault-matrix.js';
import { AUTH_TOKEN, fleet, type WorkflowBed, ZONE_ID } from '../support/workflow.js';

const OTHER_ZONE_ID = 'Z0OTHERZONE0001';

/** The standard fleet plus a second zone this deployment may not change, and bad AUTH secrets. */
function world(extra: Parameters<typeof fleet>[0] = {}): FixtureInput {
  const base = fleet(extra) as Required<Pick<FixtureInput, 'route53' | 'secretsManager'>> & FixtureInput;
  return {
    ...base,
    route53: {
      hostedZones: [
        ...(base.route53.hostedZones ?? []),
        {
          id: OTHER_ZONE_ID,
          name: 'other.internal.',
          records: [{ name: 'orders.other.internal.', values: [{ group: 'orders', endpoint: 'primary' }] }],
        },
      ],
    },
    secretsManager: {
      secrets: [
        ...(base.secretsManager.secrets ?? []),
        { name: 'broken-json', value: '{"auth_token": "Correct-Horse' },
        { name: 'no-token-key', value: JSON.stringify({ password: AUTH_TOKEN }) },
        { name: 'too-short', value: 'Sh0rt-t0ken' },
      ],
    },
  };
}

const primaryRecord = { hostedZoneId: ZONE_ID, recordName: 'orders.example.internal', endpoint: 'primary' };

let bed: WorkflowBed;
beforeAll(async () => {
  // Read once when the handlers load (lambdas/shared/env.ts): set before the bed starts them.
  process.env.ALLOWED_HOSTED_ZONE_IDS = ZONE_ID;
  bed = await startQuietBed();
});
afterAll(() => bed.stop());

const MUTATIONS = /^(AddTags|RemoveTags|Create|Delete|Modify|ChangeResourceRecordSets)/;

/**
 * Runs a migration that preflight must refuse and asserts that it changed nothing at all: the same
 * groups (and status), snapshots, records and tags, and no mutating call was made.
 */
async function expectRefusal(input: Record<string, unknown>, error: string, advice: RegExp) {
  const before: World = await readWorld(bed);
  const firstCall = bed.sandbox.server.calls.length;
  const result = await bed.run(input, { waitMs: 2, retryMs: 2 });
  const cause = causeText(result.cause);
  expect(result.status, cause).toBe('FAILED');
  expect(result.error, cause).toBe(error);
  expect(cause).toMatch(advice);
  expect(await readWorld(bed)).toEqual(before);
  const mutations = bed.sandbox.server.calls
    .slice(firstCall)
    .filter((c) => MUTATIONS.test(c.operation))
    .map((c) => c.operation);
  expect(mutations).toEqual([]);
  return cause;
}

describe('preflight refuses, changing nothing, when', () => {
  it('the input has invalid fields, listing each of them', async () => {
    await bed.sandbox.reset(world());
    const cause = await expectRefusal(
      {
        sourceReplicationGroupId: 'orders--old',
        pollIntervalSeconds: 0,
        dnsRecords: [{ hostedZoneId: 'not-a-zone', recordName: 'orders.example.internal' }],
        deleteSoruce: false,
      },
      'InvalidInputError',
      /Fix these fields and start a new execution/,
    );
    expect(cause).toContain('sourceReplicationGroupId:');
    expect(cause).toContain('pollIntervalSeconds:');
    expect(cause).toContain('dnsRecords.0.hostedZoneId:');
    expect(cause).toContain('deleteSoruce');
  });

  it('the source does not exist', async () => {
    await bed.sandbox.reset(world());
    await expectRefusal(
      { sourceReplicationGroupId: 'payments' },
      'SourceNotFoundError',
      /does not exist.*Check the id/,
    );
  });

  it('the source is not available', async () => {
    await bed.sandbox.reset(world({ orders: { status: 'modifying' } }));
    await expectRefusal(
      { sourceReplicationGroupId: 'orders' },
      'SourceNotAvailableError',
      /'modifying'.*again when it is 'available'/,
    );
  });

  it('the source is a Global Datastore member', async () => {
    await bed.sandbox.reset(world({ orders: { globalReplicationGroupId: 'ldgnf-orders-global' } }));
    await expectRefusal(
      { sourceReplicationGroupId: 'orders' },
      'GlobalDatastoreMemberError',
      /ldgnf-orders-global.*remove it from the Global Datastore first/,
    );
  });

  it('the engine version cannot be encrypted at rest', async () => {
    await bed.sandbox.reset(world({ orders: { engineVersion: '4.0.9' } }));
    await expectRefusal(
      { sourceReplicationGroupId: 'orders' },
      'EncryptionNotSupportedError',
      /4\.0\.10 or later\. Upgrade the engine first/,
    );
  });

  it('the node type cannot be backed up', async () => {
    await bed.sandbox.reset(world({ orders: { nodeType: 'cache.t1.micro' } }));
    await expectRefusal(
      { sourceReplicationGroupId: 'orders' },
      'EncryptionNotSupportedError',
      /cache\.t1\.micro.*Scale it to a current node type first/,
    );
  });

  it('a DNS record points at another group', async () => {
    await bed.sandbox.reset(world());
    await expectRefusal(
      {
        sourceReplicationGroupId: 'orders',
        dnsRecords: [{ ...primaryRecord, recordName: 'sessions.example.internal' }],
      },
      'DnsRecordMismatchError',
      /not at the primary endpoint of 'orders'.*fix the record list/,
    );
  });

  it('a DNS record does not exist', async () => {
    await bed.sandbox.reset(world());
    await expectRefusal(
      {
        sourceReplicationGroupId: 'orders',
        dnsRecords: [{ ...primaryRecord, recordName: 'cache.example.internal' }],
      },
      'DnsRecordMismatchError',
      /no CNAME cache\.example\.internal\..*must exist and point at the source/,
    );
  });

  it('a DNS record is in a hosted zone this deployment may not change', async () => {
    await bed.sandbox.reset(world());
    await expectRefusal(
      {
        sourceReplicationGroupId: 'orders',
        dnsRecords: [{ ...primaryRecord, hostedZoneId: OTHER_ZONE_ID, recordName: 'orders.other.internal' }],
      },
      'HostedZoneNotAllowedError',
      new RegExp(`${OTHER_ZONE_ID} is not one this deployment may change.*Add it to the deployment`),
    );
  });

  it('the target id is taken by a group this migration did not create', async () => {
    await bed.sandbox.reset(world());
    await expectRefusal(
      { sourceReplicationGroupId: 'orders', targetReplicationGroupId: 'sessions' },
      'TargetIdTakenError',
      /'sessions' already exists.*Choose another targetReplicationGroupId/,
    );
  });

  it('the KMS key does not exist', async () => {
    await bed.sandbox.reset(world());
    await expectRefusal(
      { sourceReplicationGroupId: 'orders', kmsKeyId: 'alias/no-such-key' },
      'KmsKeyNotUsableError',
      /alias\/no-such-key' does not exist/,
    );
  });

  it('the KMS key is disabled', async () => {
    await bed.sandbox.reset(world());
    await expectRefusal(
      { sourceReplicationGroupId: 'orders', kmsKeyId: 'alias/disabled-key' },
      'KmsKeyNotUsableError',
      /is Disabled.*enable the key or choose another/,
    );
  });

  it('the KMS key is not symmetric', async () => {
    await bed.sandbox.reset(world());
    await expectRefusal(
      { sourceReplicationGroupId: 'orders', kmsKeyId: 'alias/rsa-key' },
      'KmsKeyNotUsableError',
      /not a symmetric encryption key/,
    );
  });

  it('the source belongs to a CloudFormation stack', async () => {
    await bed.sandbox.reset(world({ orders: { tags: { 'aws:cloudformation:stack-name': 'orders-stack' } } }));
    await expectRefusal(
      { sourceReplicationGroupId: 'orders' },
      'CloudFormationManagedError',
      /stack 'orders-stack'.*change the stack instead, or start again with allowCloudFormationManaged: true/,
    );
  });

  it('the snapshot quota of the node to back up is used up', async () => {
    await bed.sandbox.reset({ ...world(), timeScale: 0 });
    for (let i = 1; i <= 20; i++) {
      await bed.elasticache.send(
        new CreateSnapshotCommand({ SnapshotName: `orders-manual-${i}`, CacheClusterId: 'orders-002' }),
      );
      await waitForSnapshot(`orders-manual-${i}`);
    }
    await expectRefusal(
      { sourceReplicationGroupId: 'orders' },
      'SnapshotQuotaError',
      /orders-002 already has 20 manual backups.*Start it again later/,
    );
  });

  it('another migration of the source is in flight', async () => {
    await bed.sandbox.reset(world());
    await bed.elasticache.send(
      new AddTagsToResourceCommand({
        ResourceName: SOURCE_ARN,
        Tags: [
          { Key: 'at-rest-migrator:migration-id', Value: 'migrate-orders-earlier' },
          { Key: 'at-rest-migrator:role', Value: 'source' },
        ],
      }),
    );
    // The other migration tagged the source long ago: its tag change (which takes the group
    // through `modifying`) is over before this one starts.
    await untilAvailable(bed.elasticache, 'orders', { budgetMs: 30_000, firstDelayMs: 5, maxDelayMs: 50 });
    await expectRefusal(
      { sourceReplicationGroupId: 'orders' },
      'MigrationInProgressError',
      /already being migrated by execution 'migrate-orders-earlier'. Wait for it to finish/,
    );
  });

  it('the source uses an AUTH token and no secret is given', async () => {
    await bed.sandbox.reset(world({ orders: { transitEncryption: true, authTokenSecret: 'orders-auth' } }));
    await expectRefusal(
      { sourceReplicationGroupId: 'orders' },
      'AuthTokenError',
      /Store the token in Secrets Manager and pass its ARN as authTokenSecretArn/,
    );
  });

  it.each([
    ['does not parse', 'broken-json', /looks like JSON but does not parse/],
    ['has no token key', 'no-token-key', /without an authToken, auth_token or token key/],
    ['breaks the token rules', 'too-short', /16–128 characters/],
  ])('the AUTH token secret %s', async (_what, secret, advice) => {
    await bed.sandbox.reset(world());
    const cause = await expectRefusal(
      {
        sourceReplicationGroupId: 'orders',
        transitEncryption: 'required',
        authTokenSecretArn: bed.sandbox.secrets.resolve(secret)!.arn,
      },
      'AuthTokenError',
      advice,
    );
    expect(cause).not.toContain('Correct-Horse');
    expect(cause).not.toContain('Sh0rt-t0ken');
  });

  it('an AUTH token is asked for a source that authenticates with user groups (AUTH or RBAC, not both)', async () => {
    await bed.sandbox.reset(world({ orders: { userGroupIds: ['orders-users'] } }));
    await expectRefusal(
      {
        sourceReplicationGroupId: 'orders',
        transitEncryption: 'required',
        authTokenSecretArn: bed.sandbox.secrets.resolve('orders-auth')!.arn,
      },
      'AuthTokenError',
      /authenticates with user groups \(orders-users\); AUTH tokens and user groups are alternatives/,
    );
  });

  it('in-transit encryption in preferred mode is asked of an engine without it', async () => {
    await bed.sandbox.reset(world({ orders: { engineVersion: '6.2' } }));
    await expectRefusal(
      { sourceReplicationGroupId: 'orders', transitEncryption: 'preferred' },
      'TransitEncryptionPolicyError',
      /needs redis 7\.0 or later.*Use 'preserve' or 'required'/,
    );
  });
});

describe('preflight ends successfully without changing anything when', () => {
  it('the source is already encrypted at rest, saying so', async () => {
    await bed.sandbox.reset(world({ orders: { atRestEncryption: true, kmsKey: LOCAL_KMS_ALIAS } }));
    const before = await readWorld(bed);
    const result = await bed.run(
      { sourceReplicationGroupId: 'orders', dnsRecords: [primaryRecord] },
      { waitMs: 2, retryMs: 2 },
    );
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const output = result.output as { outcome: string; message: string; plan?: unknown };
    expect(output.outcome).toBe('already-encrypted');
    expect(output.message).toMatch(/'orders' is already encrypted at rest with arn:aws:kms:.*nothing to do/);
    expect(output.plan).toBeUndefined();
    expect(await readWorld(bed)).toEqual(before);
  });

  it('it is a dry run, with the plan as output', async () => {
    // The source authenticates with RBAC user groups, which the new group keeps (an AUTH token
    // would be refused: they are alternatives).
    await bed.sandbox.reset(world());
    const before = await readWorld(bed);
    const keyArn = bed.sandbox.kms.resolve(LOCAL_KMS_ALIAS)!.arn;
    const result = await bed.run(
      {
        sourceReplicationGroupId: 'orders',
        dnsRecords: [primaryRecord],
        transitEncryption: 'required',
        dryRun: true,
      },
      { waitMs: 2, retryMs: 2 },
    );
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const { plan } = result.output as {
      plan: { createRequest: Record<string, unknown>; warnings: string[] };
    };
    expect(plan.createRequest).toMatchObject({
      ReplicationGroupId: 'orders-atrest',
      ReplicationGroupDescription: 'orders cache',
      Engine: 'redis',
      CacheNodeType: 'cache.r6g.large',
      CacheParameterGroupName: 'default.redis7',
      CacheSubnetGroupName: 'sandbox-private',
      Port: 6379,
      NumCacheClusters: 3,
      PreferredCacheClusterAZs: ['us-east-1a', 'us-east-1b', 'us-east-1c'],
      AtRestEncryptionEnabled: true,
      KmsKeyId: keyArn,
      TransitEncryptionEnabled: true,
      TransitEncryptionMode: 'required',
      SecurityGroupIds: ['sg-0a1b2c3d4e5f60718'],
      UserGroupIds: ['orders-users'],
      LogDeliveryConfigurations: [
        expect.objectContaining({
          LogType: 'slow-log',
          DestinationType: 'cloudwatch-logs',
          DestinationDetails: { CloudWatchLogsDetails: { LogGroup: '/elasticache/orders/slow' } },
        }),
      ],
      AutomaticFailoverEnabled: true,
      MultiAZEnabled: true,
      NetworkType: 'ipv4',
      IpDiscovery: 'ipv4',
      SnapshotRetentionLimit: 7,
      SnapshotWindow: '03:00-04:00',
      PreferredMaintenanceWindow: 'sun:05:00-sun:06:00',
      Tags: expect.arrayContaining([
        { Key: 'team', Value: 'payments' },
        { Key: 'env', Value: 'prod' },
      ]),
    });
    expect(plan.warnings.join('\n')).toMatch(/requires TLS/);
    const text = JSON.stringify(result.output);
    expect(text).not.toContain('AuthToken"');
    expect(text).not.toContain(AUTH_TOKEN);
    expect(await readWorld(bed)).toEqual(before);
  });

  it('the source belongs to a CloudFormation stack and that is allowed, warning that the stack drifts', async () => {
    await bed.sandbox.reset(world({ orders: { tags: { 'aws:cloudformation:stack-name': 'orders-stack' } } }));
    const before = await readWorld(bed);
    const result = await bed.run(
      { sourceReplicationGroupId: 'orders', allowCloudFormationManaged: true, dryRun: true },
      { waitMs: 2, retryMs: 2 },
    );
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const { plan } = result.output as {
      plan: { warnings: string[]; createRequest: { Tags: { Key: string }[] } };
    };
    expect(plan.warnings).toContain(
      "Stack 'orders-stack' will drift: its replication group is replaced outside CloudFormation.",
    );
    expect(plan.createRequest.Tags.map((t) => t.Key)).not.toContain('aws:cloudformation:stack-name');
    expect(await readWorld(bed)).toEqual(before);
  });
});

async function waitForSnapshot(name: string): Promise<void> {
  for (;;) {
    const out = await bed.elasticache.send(new DescribeSnapshotsCommand({ SnapshotName: name }));
    if (out.Snapshots?.[0]?.SnapshotStatus === 'available') return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

describe('input of any JSON type other than an object', () => {
  it.each([
    ['a string', 'orders', 'a string'],
    ['an array', ['orders'], 'an array'],
    ['a number', 42, 'a number'],
    ['null', null, 'null'],
    ['true', true, 'a boolean'],
    ['false', false, 'a boolean'],
  ])('is refused by preflight with InvalidInputError: %s', async (_what, input, kind) => {
    await bed.sandbox.reset(world());
    const before = await readWorld(bed);
    // Straight to the local engine: the bed's run() would add fields to an object input.
    const result = await runMigration({
      functions: bed.handlers,
      input,
      executionName: `bad-input-${String(kind).replace(/\W/g, '')}-${Date.now()}`,
      waitMs: 2,
      retryMs: 2,
    });
    const cause = causeText(result.cause);
    expect(result.status, cause).toBe('FAILED');
    expect(result.error, cause).toBe('InvalidInputError');
    expect(cause).toContain(`The execution input must be a JSON object`);
    expect(cause).toContain(`it is ${kind}.`);
    expect(await readWorld(bed)).toEqual(before);
  });
});

describe('a 40-character source id that ends in -atrest, without a target id', () => {
  const LONG = `${'a'.repeat(27)}-cache-atrest`;
  const withLong = (): FixtureInput => {
    const base = world();
    return {
      ...base,
      elasticache: {
        replicationGroups: [
          ...(base.elasticache?.replicationGroups ?? []),
          { id: LONG, replicasPerShard: 1 },
        ],
      },
    };
  };

  it('gets a valid derived target id that differs from the source, and the plan says how', async () => {
    expect(LONG).toHaveLength(40);
    await bed.sandbox.reset(withLong());
    const result = await bed.run({ sourceReplicationGroupId: LONG, dryRun: true }, { waitMs: 2, retryMs: 2 });
    expect(result.status, result.cause).toBe('SUCCEEDED');
    const { plan } = result.output as {
      plan: { target: { id: string; idDerivation: string }; warnings: string[] };
    };
    expect(plan.target.id).not.toBe(LONG);
    expect(plan.target.id).toBe(`${LONG.slice(0, 32)}-atrest2`);
    expect(plan.target.id.length).toBeLessThanOrEqual(40);
    expect(plan.target.id).toMatch(/^[a-z][a-z0-9-]*[a-z0-9]$/);
    expect(plan.target.idDerivation).toBe('source-trimmed-atrest2');
    expect(plan.warnings.join('\n')).toContain(`the new group is named '${plan.target.id}'`);
  });

  it('is still refused when the operator names the source itself as the target', async () => {
    await bed.sandbox.reset(withLong());
    await expectRefusal(
      { sourceReplicationGroupId: LONG, targetReplicationGroupId: LONG },
      'InvalidInputError',
      /targetReplicationGroupId must differ from sourceReplicationGroupId/,
    );
  });
});
