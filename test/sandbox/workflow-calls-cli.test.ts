import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeReplicationGroupsCommand, DescribeSnapshotsCommand } from '@aws-sdk/client-elasticache';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MigrationState } from '../../lambdas/migration/state.js';
import { type FixtureInput, SANDBOX_MIGRATIONS_TABLE, SANDBOX_REPORTS_BUCKET } from '../../sandbox/index.js';
import { LOCAL_APPROVAL_TOPIC, LOCAL_KMS_ALIAS } from '../../sandbox/workflow.js';
import { AUTH_TOKEN, fleet, startWorkflowBed, type WorkflowBed, ZONE_ID } from '../support/workflow.js';
import { awsCli, type CliResult } from './aws-cli-support.js';

/**
 * The AWS calls of the Lambda code that no other AWS CLI test makes, each made here by the AWS
 * CLI v2 (botocore, AWS's own models) with the parameters the workflow sends: the ElastiCache
 * snapshot, restore and delete calls (their requests taken from a real plan, passed whole with
 * `--cli-input-json`), KMS DescribeKey, Route 53 GetHostedZone, Secrets Manager GetSecretValue, SNS
 * Publish with message attributes, S3 PutObject, EventBridge PutEvents, CloudWatch alarm tags and
 * the DynamoDB item calls of the claim and the fleet ledger, conditions included.
 * test/sandbox/cli-coverage.test.ts checks that every command the Lambda code sends is covered
 * by one of the CLI tests.
 */
const ALARM = 'orders-cpu';

function world(): FixtureInput {
  return {
    ...fleet(),
    timeScale: 0.0002,
    cloudwatch: {
      alarms: [
        {
          name: ALARM,
          metricName: 'EngineCPUUtilization',
          dimensions: { CacheClusterId: 'orders-001' },
          threshold: 90,
        },
      ],
    },
  };
}

let bed: WorkflowBed;
let plan: NonNullable<MigrationState['plan']>;
beforeAll(async () => {
  bed = await startWorkflowBed(world());
  const dry = await bed.run({ sourceReplicationGroupId: 'orders', dryRun: true });
  expect(dry.error).toBeUndefined();
  plan = (dry.output as MigrationState).plan!;
});
afterAll(() => bed?.stop());

// biome-ignore lint/suspicious/noExplicitAny: the CLI's JSON output, read field by field by the assertions.
type Json = Record<string, any>;

async function cli(args: string[], options: { endpoint?: string } = {}): Promise<Json> {
  const out: CliResult = await awsCli(bed.sandbox, args, options);
  expect(out.code, `aws ${args.slice(0, 2).join(' ')}: ${out.stderr}`).toBe(0);
  return (out.json ?? {}) as Json;
}

async function cliFails(args: string[], options: { endpoint?: string } = {}): Promise<string> {
  const out = await awsCli(bed.sandbox, args, options);
  expect(out.code, out.stdout).not.toBe(0);
  return out.stderr;
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const groupStatus = async (id: string) =>
  (await bed.elasticache.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: id })))
    .ReplicationGroups?.[0]?.Status;
const snapshotStatus = async (name: string) => {
  try {
    return (await bed.elasticache.send(new DescribeSnapshotsCommand({ SnapshotName: name }))).Snapshots?.[0]
      ?.SnapshotStatus;
  } catch (error) {
    if ((error as Error).name === 'SnapshotNotFoundFault') return undefined;
    throw error;
  }
};

describe('the ElastiCache calls of a migration, through the AWS CLI', () => {
  it('snapshots under the key with tags, restores the plan request encrypted, then deletes the snapshot and the source with a final snapshot', async () => {
    const snapshot = await cli([
      'elasticache',
      'create-snapshot',
      '--cli-input-json',
      JSON.stringify({
        SnapshotName: plan.snapshotName,
        CacheClusterId: plan.source.snapshotClusterId,
        KmsKeyId: plan.kmsKeyArn,
        Tags: [{ Key: 'at-rest-migrator:migration-id', Value: plan.migrationId }],
      }),
    ]);
    expect(snapshot.Snapshot).toMatchObject({ SnapshotName: plan.snapshotName, SnapshotStatus: 'creating' });
    await until(async () => (await snapshotStatus(plan.snapshotName)) === 'available', 'the snapshot');

    const described = await cli([
      'elasticache',
      'describe-snapshots',
      '--snapshot-name',
      plan.snapshotName,
      '--show-node-group-config',
    ]);
    expect(described.Snapshots[0]).toMatchObject({ KmsKeyId: plan.kmsKeyArn, SnapshotStatus: 'available' });
    expect(described.Snapshots[0].NodeSnapshots[0].NodeGroupConfiguration).toBeDefined();

    // The CLI 2.9's model predates CreateReplicationGroup's ClusterMode ("Unknown parameter in
    // input"), so the plan's request goes without it: a cluster-mode-disabled source's restore
    // means the same either way (docs/aws-behaviour.md: Independent clients).
    const { ClusterMode, ...request } = plan.createRequest;
    expect(ClusterMode).toBe('disabled');
    const created = await cli([
      'elasticache',
      'create-replication-group',
      '--cli-input-json',
      JSON.stringify(request),
    ]);
    expect(created.ReplicationGroup).toMatchObject({
      ReplicationGroupId: plan.target.id,
      Status: 'creating',
      AtRestEncryptionEnabled: true,
      KmsKeyId: plan.kmsKeyArn,
    });
    // The same request again: the group exists (what the workflow's retry must recognise).
    expect(
      await cliFails([
        'elasticache',
        'create-replication-group',
        '--cli-input-json',
        JSON.stringify(request),
      ]),
    ).toMatch(/ReplicationGroupAlreadyExists/);
    await until(async () => (await groupStatus(plan.target.id)) === 'available', 'the new group');

    const deletedSnapshot = await cli([
      'elasticache',
      'delete-snapshot',
      '--snapshot-name',
      plan.snapshotName,
    ]);
    expect(deletedSnapshot.Snapshot).toMatchObject({
      SnapshotName: plan.snapshotName,
      SnapshotStatus: 'deleting',
    });
    await until(async () => (await snapshotStatus(plan.snapshotName)) === undefined, 'the snapshot to go');
    expect(await cliFails(['elasticache', 'delete-snapshot', '--snapshot-name', plan.snapshotName])).toMatch(
      /SnapshotNotFoundFault/,
    );

    const deleted = await cli([
      'elasticache',
      'delete-replication-group',
      '--replication-group-id',
      plan.source.id,
      '--final-snapshot-identifier',
      plan.finalSnapshotName,
    ]);
    expect(deleted.ReplicationGroup).toMatchObject({ ReplicationGroupId: 'orders', Status: 'deleting' });
    await until(
      async () => (await groupStatus('orders').catch(() => undefined)) === undefined,
      'the source to go',
    );
    expect(await snapshotStatus(plan.finalSnapshotName)).toBe('available');
  });

  it('describes, creates and deletes a parameter group, and refuses to delete one that does not exist', async () => {
    await cli([
      'elasticache',
      'create-cache-parameter-group',
      '--cache-parameter-group-name',
      'orders-mig-cli',
      '--cache-parameter-group-family',
      'redis7',
      '--description',
      'copy for the CLI test',
    ]);
    const groups = await cli([
      'elasticache',
      'describe-cache-parameter-groups',
      '--cache-parameter-group-name',
      'orders-mig-cli',
    ]);
    expect(groups.CacheParameterGroups[0]).toMatchObject({
      CacheParameterGroupName: 'orders-mig-cli',
      CacheParameterGroupFamily: 'redis7',
    });
    await cli([
      'elasticache',
      'delete-cache-parameter-group',
      '--cache-parameter-group-name',
      'orders-mig-cli',
    ]);
    expect(
      await cliFails([
        'elasticache',
        'delete-cache-parameter-group',
        '--cache-parameter-group-name',
        'orders-mig-cli',
      ]),
    ).toMatch(/CacheParameterGroupNotFound/);
  });
});

describe('the other services the Lambda code calls, through the AWS CLI', () => {
  it('KMS DescribeKey answers for the alias with the key ARN, state and spec', async () => {
    const key = await cli(['kms', 'describe-key', '--key-id', LOCAL_KMS_ALIAS]);
    expect(key.KeyMetadata).toMatchObject({
      Arn: plan.kmsKeyArn,
      KeyState: 'Enabled',
      KeySpec: 'SYMMETRIC_DEFAULT',
      KeyManager: 'CUSTOMER',
    });
    expect(await cliFails(['kms', 'describe-key', '--key-id', 'alias/none'])).toMatch(/NotFoundException/);
  });

  it('Route 53 GetHostedZone answers the private zone with its VPC, and NoSuchHostedZone for another', async () => {
    const zone = await cli(['route53', 'get-hosted-zone', '--id', ZONE_ID]);
    expect(zone.HostedZone).toMatchObject({ Id: `/hostedzone/${ZONE_ID}`, Name: 'example.internal.' });
    expect(zone.HostedZone.Config.PrivateZone).toBe(true);
    expect(zone.VPCs[0].VPCId).toEqual(expect.any(String));
    expect(await cliFails(['route53', 'get-hosted-zone', '--id', 'Z0NOSUCHZONE01'])).toMatch(
      /NoSuchHostedZone/,
    );
  });

  it('Secrets Manager GetSecretValue returns the secret string', async () => {
    const secret = await cli(['secretsmanager', 'get-secret-value', '--secret-id', 'orders-auth']);
    expect(JSON.parse(secret.SecretString)).toEqual({ auth_token: AUTH_TOKEN });
    expect(secret.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:123456789012:secret:orders-auth-/);
    expect(await cliFails(['secretsmanager', 'get-secret-value', '--secret-id', 'missing'])).toMatch(
      /ResourceNotFoundException/,
    );
  });

  it('SNS Publish delivers the subject, message and attributes of an approval request', async () => {
    const topicArn = `arn:aws:sns:us-east-1:123456789012:${LOCAL_APPROVAL_TOPIC}`;
    const published = await cli([
      'sns',
      'publish',
      '--topic-arn',
      topicArn,
      '--subject',
      'Approve cutover for orders',
      '--message',
      'line one\nline two',
      '--message-attributes',
      JSON.stringify({ gate: { DataType: 'String', StringValue: 'beforeCutover' } }),
    ]);
    expect(published.MessageId).toEqual(expect.any(String));
    const last = bed.sandbox.sns.published.at(-1) as unknown as Record<string, unknown>;
    expect(JSON.stringify(last)).toContain('Approve cutover for orders');
    expect(JSON.stringify(last)).toContain('beforeCutover');
  });

  it('S3 PutObject stores the report body with its content type', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-s3-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, '<html><body>fleet report</body></html>');
    await cli([
      's3api',
      'put-object',
      '--bucket',
      SANDBOX_REPORTS_BUCKET,
      '--key',
      'fleet-reports/cli/report.html',
      '--body',
      file,
      '--content-type',
      'text/html; charset=utf-8',
    ]);
    expect(bed.sandbox.s3.text(SANDBOX_REPORTS_BUCKET, 'fleet-reports/cli/report.html')).toBe(
      '<html><body>fleet report</body></html>',
    );
  });

  it('EventBridge PutEvents accepts the batch report event', async () => {
    const out = await cli([
      'events',
      'put-events',
      '--entries',
      JSON.stringify([
        {
          Source: 'at-rest-migrator.fleet',
          DetailType: 'Fleet Batch Report',
          Detail: JSON.stringify({ batchId: 'cli' }),
        },
      ]),
    ]);
    expect(out.FailedEntryCount).toBe(0);
    expect(out.Entries[0].EventId).toEqual(expect.any(String));
    expect(bed.sandbox.eventBridge.events.at(-1)).toMatchObject({
      source: 'at-rest-migrator.fleet',
      detailType: 'Fleet Batch Report',
      detail: { batchId: 'cli' },
    });
  });

  it('CloudWatch TagResource and UntagResource mark and unmark an alarm', async () => {
    const arn = `arn:aws:cloudwatch:us-east-1:123456789012:alarm:${ALARM}`;
    await cli([
      'cloudwatch',
      'tag-resource',
      '--resource-arn',
      arn,
      '--tags',
      'Key=at-rest-migrator:role,Value=source-alarm',
    ]);
    const tagged = await cli(['cloudwatch', 'list-tags-for-resource', '--resource-arn', arn]);
    expect(tagged.Tags).toContainEqual({ Key: 'at-rest-migrator:role', Value: 'source-alarm' });
    await cli(['cloudwatch', 'untag-resource', '--resource-arn', arn, '--tag-keys', 'at-rest-migrator:role']);
    const untagged = await cli(['cloudwatch', 'list-tags-for-resource', '--resource-arn', arn]);
    expect(untagged.Tags ?? []).not.toContainEqual({ Key: 'at-rest-migrator:role', Value: 'source-alarm' });
  });
});

describe('the DynamoDB calls of the claim and the fleet ledger, through the AWS CLI', () => {
  const db = () => ({ endpoint: bed.sandbox.dynamodb.endpoint });
  const key = (pk: string) => JSON.stringify({ pk: { S: pk } });

  it('claims with a conditional PutItem that a second owner cannot pass, and releases with a conditional DeleteItem', async () => {
    const claim = (owner: string) => [
      'dynamodb',
      'put-item',
      '--table-name',
      SANDBOX_MIGRATIONS_TABLE,
      '--item',
      JSON.stringify({ pk: { S: 'arn:cli:claim' }, owner: { S: owner } }),
      '--condition-expression',
      'attribute_not_exists(pk) OR #owner = :me',
      '--expression-attribute-names',
      JSON.stringify({ '#owner': 'owner' }),
      '--expression-attribute-values',
      JSON.stringify({ ':me': { S: owner } }),
    ];
    await cli(claim('first'), db());
    await cli(claim('first'), db());
    expect(await cliFails(claim('second'), db())).toMatch(/ConditionalCheckFailedException/);
    const read = await cli(
      [
        'dynamodb',
        'get-item',
        '--table-name',
        SANDBOX_MIGRATIONS_TABLE,
        '--key',
        key('arn:cli:claim'),
        '--consistent-read',
      ],
      db(),
    );
    expect(read.Item.owner).toEqual({ S: 'first' });
    const release = (owner: string) => [
      'dynamodb',
      'delete-item',
      '--table-name',
      SANDBOX_MIGRATIONS_TABLE,
      '--key',
      key('arn:cli:claim'),
      '--condition-expression',
      '#owner = :me',
      '--expression-attribute-names',
      JSON.stringify({ '#owner': 'owner' }),
      '--expression-attribute-values',
      JSON.stringify({ ':me': { S: owner } }),
    ];
    expect(await cliFails(release('second'), db())).toMatch(/ConditionalCheckFailedException/);
    await cli(release('first'), db());
    const gone = await cli(
      ['dynamodb', 'get-item', '--table-name', SANDBOX_MIGRATIONS_TABLE, '--key', key('arn:cli:claim')],
      db(),
    );
    expect(gone.Item).toBeUndefined();
  });

  it('updates the ledger only at the version it read (UpdateItem), and writes and reads rows in batches', async () => {
    await cli(
      [
        'dynamodb',
        'put-item',
        '--table-name',
        SANDBOX_MIGRATIONS_TABLE,
        '--item',
        JSON.stringify({ pk: { S: 'batch#cli' }, version: { N: '1' }, groups: { S: '{}' } }),
      ],
      db(),
    );
    const update = (seen: string) => [
      'dynamodb',
      'update-item',
      '--table-name',
      SANDBOX_MIGRATIONS_TABLE,
      '--key',
      key('batch#cli'),
      '--update-expression',
      'SET #groups = :groups, #version = :next',
      '--condition-expression',
      '#version = :seen',
      '--expression-attribute-names',
      JSON.stringify({ '#groups': 'groups', '#version': 'version' }),
      '--expression-attribute-values',
      JSON.stringify({
        ':groups': { S: '{"orders":{"s":"running"}}' },
        ':next': { N: String(Number(seen) + 1) },
        ':seen': { N: seen },
      }),
    ];
    await cli(update('1'), db());
    expect(await cliFails(update('1'), db())).toMatch(/ConditionalCheckFailedException/);

    const rows = ['orders', 'sessions'].map((g) => ({
      PutRequest: { Item: { pk: { S: `batch#cli#${g}` }, outcome: { S: 'planned' } } },
    }));
    const written = await cli(
      [
        'dynamodb',
        'batch-write-item',
        '--request-items',
        JSON.stringify({ [SANDBOX_MIGRATIONS_TABLE]: rows }),
      ],
      db(),
    );
    expect(written.UnprocessedItems ?? {}).toEqual({});
    const got = await cli(
      [
        'dynamodb',
        'batch-get-item',
        '--request-items',
        JSON.stringify({
          [SANDBOX_MIGRATIONS_TABLE]: {
            Keys: [
              { pk: { S: 'batch#cli' } },
              { pk: { S: 'batch#cli#orders' } },
              { pk: { S: 'batch#cli#sessions' } },
            ],
            ConsistentRead: true,
          },
        }),
      ],
      db(),
    );
    const items = got.Responses[SANDBOX_MIGRATIONS_TABLE] as Record<string, { S?: string; N?: string }>[];
    expect(items.map((i) => i.pk?.S).sort()).toEqual(['batch#cli', 'batch#cli#orders', 'batch#cli#sessions']);
    expect(items.find((i) => i.pk?.S === 'batch#cli')?.version).toEqual({ N: '2' });
  });
});
