import {
  DescribeReplicationGroupsCommand,
  ElastiCacheClient,
  ModifyReplicationGroupCommand,
} from '@aws-sdk/client-elasticache';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../sandbox/index.js';
import { failure, pollUntil, sdkConfig } from './sdk-support.js';

/**
 * SnapshottingClusterId as ElastiCache models it (docs/aws-behaviour.md, Backups): set with
 * ModifyReplicationGroup, reported by DescribeReplicationGroups, the node the daily backup runs
 * on; refused with cluster mode enabled and (the stricter case) for a node outside the group.
 */
let sandbox: Sandbox;
let ec: ElastiCacheClient;
beforeAll(async () => {
  sandbox = await startSandbox({
    fixture: {
      timeScale: 0.0002,
      elasticache: {
        replicationGroups: [
          { id: 'orders', replicasPerShard: 2 },
          { id: 'sessions', clusterMode: 'enabled', shards: 2, replicasPerShard: 1 },
        ],
      },
    },
  });
  ec = new ElastiCacheClient(sdkConfig(sandbox));
});
afterAll(() => sandbox?.stop());

const describeGroup = async (id: string) =>
  (await ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: id }))).ReplicationGroups![0]!;

describe('SnapshottingClusterId', () => {
  it('is set on a member, reported, and the daily backup runs on that member', async () => {
    expect((await describeGroup('orders')).SnapshottingClusterId).toBeUndefined();
    await ec.send(
      new ModifyReplicationGroupCommand({
        ReplicationGroupId: 'orders',
        SnapshottingClusterId: 'orders-003',
        ApplyImmediately: true,
      }),
    );
    const group = await pollUntil(
      () => describeGroup('orders'),
      (g) => g.Status === 'available',
    );
    expect(group.SnapshottingClusterId).toBe('orders-003');
    // Not the first replica (orders-002), which a backup would use without the setting.
    expect(sandbox.elasticache.beginAutomaticBackup('orders', 60_000).cacheClusterId).toBe('orders-003');
  });

  it('is refused with cluster mode enabled and for a node outside the group, changing nothing', async () => {
    expect(
      await failure(
        ec.send(
          new ModifyReplicationGroupCommand({
            ReplicationGroupId: 'sessions',
            SnapshottingClusterId: 'sessions-0001-002',
            ApplyImmediately: true,
          }),
        ),
      ),
    ).toEqual({ name: 'InvalidParameterCombinationException', status: 400 });
    await pollUntil(
      () => describeGroup('orders'),
      (g) => g.Status === 'available',
    );
    expect(
      await failure(
        ec.send(
          new ModifyReplicationGroupCommand({
            ReplicationGroupId: 'orders',
            SnapshottingClusterId: 'sessions-0001-002',
            ApplyImmediately: true,
          }),
        ),
      ),
    ).toEqual({ name: 'InvalidParameterValueException', status: 400 });
    expect((await describeGroup('sessions')).Status).toBe('available');
  });
});
