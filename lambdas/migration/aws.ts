import {
  type CacheCluster,
  DescribeCacheClustersCommand,
  DescribeReplicationGroupsCommand,
  DescribeSnapshotsCommand,
  type ElastiCacheClient,
  ListTagsForResourceCommand,
  type ReplicationGroup,
  type Snapshot,
} from '@aws-sdk/client-elasticache';
import {
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { TAG_MIGRATION_ID } from './naming.js';

/** Small reads shared by the steps. `undefined` means "does not exist". */
export async function findGroup(
  client: ElastiCacheClient,
  id: string,
): Promise<ReplicationGroup | undefined> {
  try {
    const out = await client.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: id }));
    return out.ReplicationGroups?.[0];
  } catch (error) {
    if ((error as Error).name === 'ReplicationGroupNotFoundFault') return undefined;
    throw error;
  }
}

export async function findSnapshot(client: ElastiCacheClient, name: string): Promise<Snapshot | undefined> {
  try {
    const out = await client.send(
      new DescribeSnapshotsCommand({ SnapshotName: name, ShowNodeGroupConfig: true }),
    );
    return out.Snapshots?.[0];
  } catch (error) {
    if ((error as Error).name === 'SnapshotNotFoundFault') return undefined;
    throw error;
  }
}

export async function describeMember(
  client: ElastiCacheClient,
  cacheClusterId: string,
): Promise<CacheCluster | undefined> {
  const out = await client.send(
    new DescribeCacheClustersCommand({ CacheClusterId: cacheClusterId, ShowCacheNodeInfo: true }),
  );
  return out.CacheClusters?.[0];
}

export async function tagsOf(client: ElastiCacheClient, arn: string): Promise<Record<string, string>> {
  const out = await client.send(new ListTagsForResourceCommand({ ResourceName: arn }));
  return Object.fromEntries((out.TagList ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

/** True when the resource carries this migration's id tag (so this migration may change it). */
export async function belongsTo(
  client: ElastiCacheClient,
  arn: string,
  migrationId: string,
): Promise<boolean> {
  return (await tagsOf(client, arn))[TAG_MIGRATION_ID] === migrationId;
}

export function memberIds(group: ReplicationGroup): string[] {
  return group.MemberClusters ?? [];
}

/** The endpoint host a record should follow, per ElastiCache's describe output. */
export function endpointOf(
  group: ReplicationGroup,
  kind: 'primary' | 'reader' | 'configuration',
): string | undefined {
  if (kind === 'configuration') return group.ConfigurationEndpoint?.Address;
  const nodeGroup = group.NodeGroups?.[0];
  return kind === 'primary' ? nodeGroup?.PrimaryEndpoint?.Address : nodeGroup?.ReaderEndpoint?.Address;
}

export function normalizeName(name: string): string {
  return (name.endsWith('.') ? name : `${name}.`).toLowerCase();
}

/** The record set with exactly this name and type, or undefined. */
export async function findRecord(
  client: Route53Client,
  hostedZoneId: string,
  name: string,
  type: 'CNAME',
): Promise<ResourceRecordSet | undefined> {
  const out = await client.send(
    new ListResourceRecordSetsCommand({
      HostedZoneId: hostedZoneId,
      StartRecordName: name,
      StartRecordType: type,
      MaxItems: 1,
    }),
  );
  const record = out.ResourceRecordSets?.[0];
  if (!record || normalizeName(record.Name ?? '') !== normalizeName(name) || record.Type !== type)
    return undefined;
  return record;
}

/** CNAME targets compare case-insensitively and with or without the trailing dot. */
export function sameHost(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  return normalizeName(a) === normalizeName(b);
}

/**
 * Whether any of the moved records points at `group`'s endpoint now: after a flip, even one
 * whose step failed before it could record it, the group has served clients.
 */
export async function anyRecordPointsAt(
  route53: Route53Client,
  records: readonly {
    hostedZoneId: string;
    recordName: string;
    endpoint: 'primary' | 'reader' | 'configuration';
  }[],
  group: ReplicationGroup,
): Promise<boolean> {
  for (const record of records) {
    const current = await findRecord(route53, record.hostedZoneId, record.recordName, 'CNAME');
    if (sameHost(current?.ResourceRecords?.[0]?.Value, endpointOf(group, record.endpoint))) return true;
  }
  return false;
}
