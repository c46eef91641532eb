import {
  DescribeCacheClustersCommand,
  DescribeReplicationGroupsCommand,
  DescribeSnapshotsCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-elasticache';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fleet, startWorkflowBed, type WorkflowBed, ZONE_ID } from '../support/workflow.js';

let bed: WorkflowBed;
beforeAll(async () => {
  bed = await startWorkflowBed();
});
afterAll(() => bed.stop());
beforeEach(() => bed.sandbox.reset(fleet()));

describe('a migration of a cluster-mode-disabled group (primary + 2 replicas)', () => {
  it('replaces the source with an encrypted group that applications reach through the moved CNAMEs', async () => {
    const before = {
      primary: await bed.cname('orders.example.internal.'),
      reader: await bed.cname('orders-ro.example.internal.'),
    };
    const result = await bed.run({
      sourceReplicationGroupId: 'orders',
      dnsRecords: [
        { hostedZoneId: ZONE_ID, recordName: 'orders.example.internal', endpoint: 'primary' },
        { hostedZoneId: ZONE_ID, recordName: 'orders-ro.example.internal', endpoint: 'reader' },
      ],
    });
    expect(result.error, result.cause).toBeUndefined();
    expect(result.status).toBe('SUCCEEDED');
    const summary = result.output as {
      target: { id: string; endpoints: Record<string, string>; kmsKeyArn: string };
      source: { deleted: boolean; finalSnapshotName: string };
      stepSeconds: Record<string, number>;
    };

    const [target] = (
      await bed.elasticache.send(
        new DescribeReplicationGroupsCommand({ ReplicationGroupId: summary.target.id }),
      )
    ).ReplicationGroups!;
    expect(target!.AtRestEncryptionEnabled).toBe(true);
    expect(target!.KmsKeyId).toBe(bed.sandbox.kms.resolve('alias/elasticache-at-rest')!.arn);
    expect(target!.MemberClusters).toHaveLength(3);
    expect(target!.MultiAZ).toBe('enabled');
    expect(target!.UserGroupIds).toEqual(['orders-users']);
    expect(target!.SnapshotRetentionLimit).toBe(7);
    expect(target!.LogDeliveryConfigurations?.[0]?.DestinationDetails?.CloudWatchLogsDetails?.LogGroup).toBe(
      '/elasticache/orders/slow',
    );
    const member = (
      await bed.elasticache.send(
        new DescribeCacheClustersCommand({ CacheClusterId: target!.MemberClusters![0] }),
      )
    ).CacheClusters![0]!;
    expect(member.SecurityGroups?.map((g) => g.SecurityGroupId)).toEqual(['sg-0a1b2c3d4e5f60718']);
    const tags = (await bed.elasticache.send(new ListTagsForResourceCommand({ ResourceName: target!.ARN })))
      .TagList!;
    expect(tags).toEqual(
      expect.arrayContaining([
        { Key: 'team', Value: 'payments' },
        { Key: 'env', Value: 'prod' },
      ]),
    );

    expect(await bed.cname('orders.example.internal.')).toBe(
      target!.NodeGroups![0]!.PrimaryEndpoint!.Address,
    );
    expect(await bed.cname('orders-ro.example.internal.')).toBe(
      target!.NodeGroups![0]!.ReaderEndpoint!.Address,
    );
    expect(await bed.cname('orders.example.internal.')).not.toBe(before.primary);

    expect(await bed.groupIds()).toEqual(['orders-atrest', 'sessions']);
    const final = (
      await bed.elasticache.send(
        new DescribeSnapshotsCommand({ SnapshotName: summary.source.finalSnapshotName }),
      )
    ).Snapshots![0]!;
    expect(final.SnapshotStatus).toBe('available');
    expect(final.ReplicationGroupId).toBe('orders');
    expect(await bed.snapshotNames()).toEqual([summary.source.finalSnapshotName]);
    expect(Object.keys(summary.stepSeconds)).toEqual(
      expect.arrayContaining([
        'preflight',
        'snapshot',
        'restore',
        'verifyTarget',
        'cutover',
        'deleteSource',
        'finish',
      ]),
    );
  });
});
