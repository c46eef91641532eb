import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { KMSClient } from '@aws-sdk/client-kms';
import { Route53Client } from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { childExecutionName, discover, parseDnsTag } from '../../../lambdas/fleet/discover.js';
import { parseFleetInput } from '../../../lambdas/fleet/input.js';
import { readRows } from '../../../lambdas/fleet/ledger.js';
import { networkSettings } from '../../../lambdas/migration/verify-data.js';
import { SANDBOX_REPORTS_BUCKET, startSandbox } from '../../../sandbox/index.js';
import { configureLocalEnvironment } from '../../../sandbox/workflow.js';
import { fleetFixture, fleetIds } from '../../support/fleet.js';

describe('the DNS tag convention', () => {
  it('reads zone, record, endpoint and an optional TTL per space-separated entry', () => {
    expect(
      parseDnsTag(
        'Z0123456789ABC:orders.example.internal:primary  Z0123456789ABC:orders-ro.example.internal:reader:30',
      ),
    ).toEqual([
      { hostedZoneId: 'Z0123456789ABC', recordName: 'orders.example.internal', endpoint: 'primary' },
      {
        hostedZoneId: 'Z0123456789ABC',
        recordName: 'orders-ro.example.internal',
        endpoint: 'reader',
        lowerTtlTo: 30,
      },
    ]);
  });

  it('says what a malformed entry should look like', () => {
    expect(() => parseDnsTag('Z0123:orders.example.internal')).toThrow(/HOSTEDZONEID:record.name:endpoint/);
    expect(() => parseDnsTag('Z0123:orders.example.internal:primary:soon')).toThrow(/lowerTtlTo 'soon'/);
  });
});

describe('the fleet input', () => {
  it('lists every bad field and changes nothing', () => {
    const bad = () => parseFleetInput({ maxConcurrency: 0, selection: { engines: ['memcached'] } });
    expect(bad).toThrow(/- maxConcurrency: /);
    expect(bad).toThrow(/- selection\.engines\.0: /);
  });

  it('refuses per-group fields the batch sets itself', () => {
    expect(() => parseFleetInput({ migration: { sourceReplicationGroupId: 'orders' } })).toThrow(
      /migration\.sourceReplicationGroupId is set per group/,
    );
  });

  it('refuses a window with both an instant and a duration', () => {
    expect(() =>
      parseFleetInput({ window: { closesAt: '2026-11-30T05:00:00Z', durationMinutes: 60 } }),
    ).toThrow(/keep one/);
  });

  it('names child executions within the 80 characters Step Functions allows', () => {
    expect(childExecutionName('a'.repeat(32), 'g'.repeat(40)).length).toBeLessThanOrEqual(80);
  });
});

/** Discovery's clients, pointed at the sandbox by configureLocalEnvironment. */
function discoverDeps(dynamodb: DynamoDBClient) {
  return {
    elasticache: new ElastiCacheClient({}),
    route53: new Route53Client({}),
    kms: new KMSClient({}),
    secrets: new SecretsManagerClient({}),
    dynamodb,
    s3: new S3Client({}),
    bucket: SANDBOX_REPORTS_BUCKET,
    network: networkSettings(),
  };
}

describe('discovery', () => {
  it('plans every group with its own facts, reading what the groups share once', async () => {
    const mix = { succeed: 5, refused: 1, encrypted: 1, replicas: 0 };
    const sandbox = await startSandbox({ fixture: fleetFixture(mix) });
    try {
      configureLocalEnvironment(sandbox);
      const dynamodb = new DynamoDBClient({});
      const result = await discover(
        { input: { selection: { tags: { team: 'web' } }, dryRun: true }, executionName: 'shared-reads' },
        discoverDeps(dynamodb),
      );
      expect(result.counts).toEqual({ planned: 5, refused: 1, 'already-encrypted': 1 });
      const ids = fleetIds(mix);
      // The refused group's own record (it names another group's) is still read and judged.
      const [refused] = await readRows(dynamodb, 'shared-reads', ids.refused);
      expect(refused?.error?.name).toBe('DnsRecordMismatchError');
      const calls = (operation: string) =>
        sandbox.server.calls.filter((c) => c.operation === operation).length;
      // Per group: its record and its backups.
      expect(calls('ListResourceRecordSets')).toBe(6);
      expect(calls('DescribeSnapshots')).toBe(6);
      // Shared by the fleet: the KMS key, the hosted zone, the parameter and subnet groups.
      expect(calls('DescribeKey')).toBe(1);
      expect(calls('GetHostedZone')).toBe(1);
      expect(calls('DescribeCacheParameters')).toBe(1);
      expect(calls('DescribeCacheSubnetGroups')).toBe(1);
    } finally {
      await sandbox.stop();
    }
  });

  it('plans around groups in their backup window: a busy group is refused for this batch, the rest planned', async () => {
    const mix = { succeed: 4, refused: 0, encrypted: 1, replicas: 1 };
    const sandbox = await startSandbox({ fixture: fleetFixture(mix) });
    try {
      configureLocalEnvironment(sandbox);
      const ids = fleetIds(mix);
      // The daily backup runs on an encrypted group (whose tags say whether this tool made it)
      // and on a candidate: ElastiCache refuses to read the tags of either while it lasts.
      // (Realistic durations: the fixture's time scale makes 10^9 ms a few minutes here.)
      sandbox.elasticache.beginAutomaticBackup(ids.encrypted[0] as string, 1e9);
      sandbox.elasticache.beginAutomaticBackup(ids.succeed[1] as string, 1e9);
      const dynamodb = new DynamoDBClient({});
      const result = await discover(
        { input: { selection: { tags: { team: 'web' } }, dryRun: true }, executionName: 'backup-window' },
        discoverDeps(dynamodb),
      );
      // The encrypted group needs nothing whatever its tags say, and is not reported: whether it
      // is selected is unknown.
      expect(result.counts).toEqual({ planned: 3, refused: 1 });
      const [busy] = await readRows(dynamodb, 'backup-window', [ids.succeed[1] as string]);
      expect(busy?.outcome).toBe('refused');
      expect(busy?.error?.name).toBe('SourceNotAvailableError');
      expect(busy?.error?.message).toMatch(/is 'snapshotting'/);
    } finally {
      await sandbox.stop();
    }
  });
});
