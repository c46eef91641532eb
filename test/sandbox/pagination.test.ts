import {
  CreateSnapshotCommand,
  DescribeCacheClustersCommand,
  DescribeCacheParametersCommand,
  DescribeReplicationGroupsCommand,
  DescribeSnapshotsCommand,
  ElastiCacheClient,
  paginateDescribeCacheClusters,
  paginateDescribeCacheParameterGroups,
  paginateDescribeCacheParameters,
  paginateDescribeCacheSubnetGroups,
  paginateDescribeReplicationGroups,
  paginateDescribeSnapshots,
  paginateDescribeUserGroups,
} from '@aws-sdk/client-elasticache';
import {
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  type ListResourceRecordSetsCommandOutput,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../sandbox/index.js';
import { awsCli } from './aws-cli-support.js';
import { failure, sdkConfig } from './sdk-support.js';

/**
 * Lists longer than one page. With the fixture's `pageSize` (2 here) no page holds more than two
 * items whatever MaxRecords/MaxItems asks, so every list below spans pages: the sandbox must hand
 * out Markers (ElastiCache) and NextRecordName/NextRecordType (Route 53) that lead through every
 * item once, to the JS SDK's paginators and to the AWS CLI's (botocore's), which follow them on
 * their own. The bounds are AWS's: MaxRecords 20–100 (DescribeSnapshots 20–50), Route 53
 * maxitems up to 300 (docs/aws-behaviour.md: Paging).
 */
const ZONE = 'Z0PAGES0000001';
const GROUPS = ['pg-a', 'pg-b', 'pg-c', 'pg-d', 'pg-e'];
let sandbox: Sandbox;
let ec: ElastiCacheClient;
let route53: Route53Client;

beforeAll(async () => {
  sandbox = await startSandbox({
    fixture: {
      timeScale: 0,
      pageSize: 2,
      elasticache: {
        replicationGroups: GROUPS.map((id, i) => ({
          id,
          replicasPerShard: 1,
          subnetGroup: `subnets-${i}`,
          userGroupIds: [`users-${i}`],
        })),
        parameterGroups: [
          { name: 'pages-custom', family: 'redis7', parameters: { 'reserved-memory-percent': '30' } },
        ],
      },
      route53: {
        hostedZones: [
          {
            id: ZONE,
            name: 'pages.internal.',
            records: GROUPS.map((id) => ({
              name: `${id}.pages.internal.`,
              values: [{ group: id, endpoint: 'primary' as const }],
            })),
          },
          { name: 'second.internal.' },
          { name: 'third.internal.' },
        ],
      },
    },
  });
  ec = new ElastiCacheClient(sdkConfig(sandbox));
  route53 = new Route53Client(sdkConfig(sandbox));
  for (const id of GROUPS)
    await ec.send(new CreateSnapshotCommand({ ReplicationGroupId: id, SnapshotName: `${id}-manual` }));
});
afterAll(async () => {
  ec?.destroy();
  route53?.destroy();
  await sandbox?.stop();
});

/** Every page of an SDK paginator, as the lists of names it held. */
async function pagesOf<P>(pages: AsyncIterable<P>, names: (page: P) => string[]): Promise<string[][]> {
  const out: string[][] = [];
  for await (const page of pages) out.push(names(page));
  return out;
}

/** Splits `items` into pages of two, as the sandbox must. */
const inTwos = (items: string[]) =>
  Array.from({ length: Math.ceil(items.length / 2) }, (_, i) => items.slice(2 * i, 2 * i + 2));

const members = GROUPS.flatMap((g) => [`${g}-001`, `${g}-002`]);

describe('ElastiCache Describe* past one page, through the JS SDK paginators', () => {
  it('pages replication groups, cache clusters, snapshots, subnet groups, user groups and parameters two by two', async () => {
    const groups = await pagesOf(
      paginateDescribeReplicationGroups({ client: ec }, { MaxRecords: 100 }),
      (p) => (p.ReplicationGroups ?? []).map((g) => g.ReplicationGroupId!),
    );
    expect(groups).toEqual(inTwos(GROUPS));
    const clusters = await pagesOf(paginateDescribeCacheClusters({ client: ec }, {}), (p) =>
      (p.CacheClusters ?? []).map((c) => c.CacheClusterId!),
    );
    expect(clusters.flat().sort()).toEqual(members);
    expect(clusters.map((p) => p.length)).toEqual([2, 2, 2, 2, 2]);
    const snapshots = await pagesOf(paginateDescribeSnapshots({ client: ec, pageSize: 50 }, {}), (p) =>
      (p.Snapshots ?? []).map((s) => s.SnapshotName!),
    );
    expect(snapshots.flat().sort()).toEqual(GROUPS.map((g) => `${g}-manual`));
    expect(snapshots).toHaveLength(3);
    const subnets = await pagesOf(paginateDescribeCacheSubnetGroups({ client: ec }, {}), (p) =>
      (p.CacheSubnetGroups ?? []).map((s) => s.CacheSubnetGroupName!),
    );
    expect(subnets.flat()).toEqual(expect.arrayContaining(GROUPS.map((_, i) => `subnets-${i}`)));
    expect(Math.max(...subnets.map((p) => p.length))).toBe(2);
    const users = await pagesOf(paginateDescribeUserGroups({ client: ec }, {}), (p) =>
      (p.UserGroups ?? []).map((u) => u.UserGroupId!),
    );
    expect(users).toEqual(inTwos(GROUPS.map((_, i) => `users-${i}`)));
    const parameterGroups = await pagesOf(paginateDescribeCacheParameterGroups({ client: ec }, {}), (p) =>
      (p.CacheParameterGroups ?? []).map((g) => g.CacheParameterGroupName!),
    );
    expect(parameterGroups.flat()).toContain('pages-custom');
    expect(Math.max(...parameterGroups.map((p) => p.length))).toBe(2);
    const parameters = await pagesOf(
      paginateDescribeCacheParameters(
        { client: ec, pageSize: 100 },
        { CacheParameterGroupName: 'pages-custom' },
      ),
      (p) => (p.Parameters ?? []).map((x) => `${x.ParameterName}=${x.ParameterValue}`),
    );
    expect(parameters.length).toBeGreaterThan(1);
    expect(parameters.flat()).toContain('reserved-memory-percent=30');
    expect(parameters.slice(0, 1).flat()).not.toContain('reserved-memory-percent=30');
  });

  it('gives a Marker only while records remain, and continues from it', async () => {
    const first = await ec.send(new DescribeReplicationGroupsCommand({ MaxRecords: 20 }));
    expect(first.ReplicationGroups).toHaveLength(2);
    expect(first.Marker).toEqual(expect.any(String));
    const second = await ec.send(
      new DescribeReplicationGroupsCommand({ MaxRecords: 20, Marker: first.Marker }),
    );
    expect(second.ReplicationGroups?.map((g) => g.ReplicationGroupId)).toEqual(['pg-c', 'pg-d']);
    const last = await ec.send(
      new DescribeReplicationGroupsCommand({ MaxRecords: 20, Marker: second.Marker }),
    );
    expect(last.ReplicationGroups?.map((g) => g.ReplicationGroupId)).toEqual(['pg-e']);
    expect(last.Marker).toBeUndefined();
  });

  it('refuses MaxRecords outside AWS bounds: below 20, above 100, above 50 for snapshots', async () => {
    const bad = { name: 'InvalidParameterValueException', status: 400 };
    expect(await failure(ec.send(new DescribeCacheClustersCommand({ MaxRecords: 19 })))).toEqual(bad);
    expect(await failure(ec.send(new DescribeCacheClustersCommand({ MaxRecords: 101 })))).toEqual(bad);
    expect(await failure(ec.send(new DescribeSnapshotsCommand({ MaxRecords: 51 })))).toEqual(bad);
    expect(
      await failure(
        ec.send(
          new DescribeCacheParametersCommand({ CacheParameterGroupName: 'pages-custom', MaxRecords: 10 }),
        ),
      ),
    ).toEqual(bad);
  });
});

describe('Route 53 lists past one page, through the JS SDK', () => {
  it('leads through every record set with NextRecordName and NextRecordType, and IsTruncated only while more remain', async () => {
    const pages: ListResourceRecordSetsCommandOutput[] = [];
    let next: { StartRecordName?: string; StartRecordType?: 'CNAME' | 'NS' | 'SOA' } = {};
    do {
      const page = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: ZONE, ...next }));
      pages.push(page);
      expect(page.MaxItems).toBe(300);
      next = { StartRecordName: page.NextRecordName, StartRecordType: page.NextRecordType as 'CNAME' };
    } while (pages.at(-1)?.IsTruncated);
    const names = pages.flatMap((p) => (p.ResourceRecordSets ?? []).map((r) => `${r.Name} ${r.Type}`));
    expect(names).toEqual([
      'pages.internal. NS',
      'pages.internal. SOA',
      ...GROUPS.map((g) => `${g}.pages.internal. CNAME`),
    ]);
    expect(pages.map((p) => p.IsTruncated)).toEqual([true, true, true, false]);
    expect(pages.at(-1)?.NextRecordName).toBeUndefined();
  });

  it('leads through every hosted zone with NextDNSName and NextHostedZoneId', async () => {
    const zones: string[] = [];
    let next: { DNSName?: string; HostedZoneId?: string } = {};
    let pages = 0;
    for (;;) {
      const page = await route53.send(new ListHostedZonesByNameCommand(next));
      pages++;
      zones.push(...(page.HostedZones ?? []).map((z) => z.Name!));
      if (!page.IsTruncated) break;
      next = { DNSName: page.NextDNSName, HostedZoneId: page.NextHostedZoneId };
    }
    expect(zones.sort()).toEqual(['pages.internal.', 'second.internal.', 'third.internal.']);
    expect(pages).toBe(2);
  });
});

describe('lists past one page, through the AWS CLI (botocore follows the sandbox markers itself)', () => {
  const cli = async (args: string[]) => {
    const out = await awsCli(sandbox, args);
    expect(out.code, out.stderr).toBe(0);
    return out.json as Record<string, unknown>;
  };
  const ids = (json: Record<string, unknown>, list: string, key: string) =>
    ((json[list] ?? []) as Record<string, string>[]).map((item) => item[key]);

  it('lists every replication group, cache cluster, snapshot, user group and parameter across pages', async () => {
    expect(
      ids(
        await cli(['elasticache', 'describe-replication-groups']),
        'ReplicationGroups',
        'ReplicationGroupId',
      ),
    ).toEqual(GROUPS);
    expect(
      ids(await cli(['elasticache', 'describe-cache-clusters']), 'CacheClusters', 'CacheClusterId').sort(),
    ).toEqual(members);
    expect(ids(await cli(['elasticache', 'describe-snapshots']), 'Snapshots', 'SnapshotName').sort()).toEqual(
      GROUPS.map((g) => `${g}-manual`),
    );
    expect(ids(await cli(['elasticache', 'describe-user-groups']), 'UserGroups', 'UserGroupId')).toEqual(
      GROUPS.map((_, i) => `users-${i}`),
    );
    expect(
      ids(
        await cli(['elasticache', 'describe-cache-subnet-groups']),
        'CacheSubnetGroups',
        'CacheSubnetGroupName',
      ),
    ).toEqual(expect.arrayContaining(GROUPS.map((_, i) => `subnets-${i}`)));
    expect(
      ids(
        await cli(['elasticache', 'describe-cache-parameter-groups']),
        'CacheParameterGroups',
        'CacheParameterGroupName',
      ),
    ).toContain('pages-custom');
    const parameters = (
      (
        await cli([
          'elasticache',
          'describe-cache-parameters',
          '--cache-parameter-group-name',
          'pages-custom',
        ])
      ).Parameters as { ParameterName: string; ParameterValue: string }[]
    ).map((p) => `${p.ParameterName}=${p.ParameterValue}`);
    expect(parameters).toContain('reserved-memory-percent=30');
  });

  it('stops at --max-items with a NextToken and resumes from it with --starting-token', async () => {
    const first = await cli(['elasticache', 'describe-replication-groups', '--max-items', '3']);
    expect(ids(first, 'ReplicationGroups', 'ReplicationGroupId')).toEqual(['pg-a', 'pg-b', 'pg-c']);
    expect(first.NextToken).toEqual(expect.any(String));
    const rest = await cli([
      'elasticache',
      'describe-replication-groups',
      '--starting-token',
      String(first.NextToken),
    ]);
    expect(ids(rest, 'ReplicationGroups', 'ReplicationGroupId')).toEqual(['pg-d', 'pg-e']);
    expect(rest.NextToken).toBeUndefined();
  });

  it('shows one page and its Marker with --no-paginate', async () => {
    const one = await cli(['elasticache', 'describe-cache-clusters', '--no-paginate']);
    expect(ids(one, 'CacheClusters', 'CacheClusterId')).toHaveLength(2);
    expect(one.Marker).toEqual(expect.any(String));
  });

  it('lists every state machine across pages of Step Functions nextTokens', async () => {
    const out = await cli(['stepfunctions', 'list-state-machines']);
    expect(ids(out, 'stateMachines', 'name').sort()).toEqual([
      'MigrateFleet',
      'MigrateReplicationGroup',
      'RollbackStoppedMigration',
    ]);
    const one = await cli(['stepfunctions', 'list-state-machines', '--no-paginate']);
    expect(ids(one, 'stateMachines', 'name')).toHaveLength(2);
    expect(one.nextToken).toEqual(expect.any(String));
  });

  it('lists every record set of the zone across pages, and stops at --max-items', async () => {
    const all = await cli(['route53', 'list-resource-record-sets', '--hosted-zone-id', ZONE]);
    expect(ids(all, 'ResourceRecordSets', 'Name')).toEqual([
      'pages.internal.',
      'pages.internal.',
      ...GROUPS.map((g) => `${g}.pages.internal.`),
    ]);
    const some = await cli([
      'route53',
      'list-resource-record-sets',
      '--hosted-zone-id',
      ZONE,
      '--max-items',
      '3',
    ]);
    expect(ids(some, 'ResourceRecordSets', 'Name')).toEqual([
      'pages.internal.',
      'pages.internal.',
      'pg-a.pages.internal.',
    ]);
    expect(some.NextToken).toEqual(expect.any(String));
    const rest = await cli([
      'route53',
      'list-resource-record-sets',
      '--hosted-zone-id',
      ZONE,
      '--starting-token',
      String(some.NextToken),
    ]);
    expect(ids(rest, 'ResourceRecordSets', 'Name')).toEqual(
      GROUPS.slice(1).map((g) => `${g}.pages.internal.`),
    );
  });
});
