import type { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { describe, expect, it } from 'vitest';
import { retryWhileBusy, untilAvailable } from '../../../lambdas/migration/group-state.js';

/** A stub ElastiCache whose group goes through the given statuses, one per DescribeReplicationGroups. */
function groupGoingThrough(...statuses: string[]) {
  let calls = 0;
  const client = {
    send: async () => ({
      ReplicationGroups: [
        { ReplicationGroupId: 'orders', Status: statuses[Math.min(calls++, statuses.length - 1)] },
      ],
    }),
  } as unknown as ElastiCacheClient;
  return { client, calls: () => calls };
}
const busy = () =>
  Object.assign(new Error('Cluster not in available state to perform tagging operations'), {
    name: 'InvalidReplicationGroupStateFault',
  });
const fast = { budgetMs: 200, firstDelayMs: 1, maxDelayMs: 5 };

describe('waiting out a busy group', () => {
  it('returns the group once a backup ends; past the budget it throws InvalidReplicationGroupStateFault', async () => {
    const ending = groupGoingThrough('snapshotting', 'snapshotting', 'available');
    expect((await untilAvailable(ending.client, 'orders', fast))?.Status).toBe('available');
    expect(ending.calls()).toBe(3);
    const endless = groupGoingThrough('snapshotting');
    await expect(untilAvailable(endless.client, 'orders', fast)).rejects.toMatchObject({
      name: 'InvalidReplicationGroupStateFault',
      message: expect.stringContaining("still 'snapshotting'"),
    });
  });

  it('retries a tag call the group refused while busy, and passes any other error at once', async () => {
    let attempts = 0;
    const tags = await retryWhileBusy(async () => {
      if (++attempts < 3) throw busy();
      return { team: 'orders' };
    }, fast);
    expect([tags, attempts]).toEqual([{ team: 'orders' }, 3]);
    let denied = 0;
    await expect(
      retryWhileBusy(async () => {
        denied++;
        throw Object.assign(new Error('no'), { name: 'AccessDenied' });
      }, fast),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(denied).toBe(1);
    await expect(retryWhileBusy(async () => Promise.reject(busy()), fast)).rejects.toMatchObject({
      name: 'InvalidReplicationGroupStateFault',
    });
  });
});
