import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { startSandbox } from '../../sandbox/index.js';
import { applicationKeyCount } from './redis-dataplane-support.js';

describe('replication in a Redis-backed sandbox group', () => {
  it('delivers writes promptly to every replica, not only the first to sync', async () => {
    // Regression: with diskless full sync and no delay, the second replica to connect reported
    // its link up but received the stream only seconds later, so a snapshot of it taken in
    // between was empty (the demo's restored group came up without data).
    for (let round = 0; round < 3; round++) {
      const sandbox = await startSandbox({
        fixture: { elasticache: { replicationGroups: [{ id: 'orders', replicasPerShard: 2 }] } },
        dataPlane: 'redis',
      });
      const [primary, ...replicas] = sandbox.elasticache.groups.get('orders')!.shards[0]!.members;
      const writer = new Redis(primary!.address!);
      try {
        // A burst of pipelined writes, as a seeding application (or the demo) makes.
        for (let batch = 0; batch < 40; batch++) {
          const pipeline = writer.pipeline();
          for (let i = 0; i < 500; i++) pipeline.set(`k:${batch}:${i}`, `v${round}`);
          await pipeline.exec();
        }
        for (const member of replicas) {
          const reader = new Redis(member.address!);
          let size = 0;
          // Promptly: a snapshot of the replica may be taken right after the writes.
          for (let i = 0; i < 25 && size < 20_000; i++) {
            size = await applicationKeyCount(reader);
            if (size < 20_000) await new Promise((resolve) => setTimeout(resolve, 20));
          }
          await reader.quit();
          expect(size, `${member.id} in round ${round}`).toBe(20_000);
        }
      } finally {
        await writer.quit();
        await sandbox.stop();
      }
    }
  });
});
