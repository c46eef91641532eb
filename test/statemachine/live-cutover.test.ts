import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MigrationSummary } from '../../lambdas/migration/state.js';
import { runMigration } from '../../sandbox/workflow.js';
import { LIVE_TOKEN, type LiveBed, startLiveBed } from '../support/live.js';

/**
 * The README's first promise with an application writing the whole time: migrations on real
 * Redis nodes while a live workload (overwrites of hot keys, counters, inserts, deletes, keys with
 * expiry) writes through the CNAME, with no application-side freeze. Every acknowledged write
 * must be on the group the CNAME leads to at the end.
 */
let bed: LiveBed;

beforeAll(async () => {
  bed = await startLiveBed(['plain', 'sharded', 'secure']);
}, 120_000);
afterAll(() => bed?.stop());

describe.sequential('migrations while the application writes', () => {
  it.each(['plain', 'sharded', 'secure'] as const)(
    'moves %s with every acknowledged write on the new group',
    async (id) => {
      await bed.reset();
      await bed.seed(id, 5000);
      const workload = bed.workloadFor(id, { opsPerSecond: 800 });
      workload.start();
      const result = await runMigration({
        functions: bed.handlers,
        executionName: `live-${id}`,
        input: {
          sourceReplicationGroupId: id,
          dnsRecords: [bed.dnsRecord(id)],
          pollIntervalSeconds: 1,
          cutover: { freezeBudgetSeconds: 10 },
          ...(id === 'secure' ? { authTokenSecretArn: bed.sandbox.secrets.resolve('live-auth')!.arn } : {}),
        },
        waitMs: 10,
        retryMs: 10,
      });
      await new Promise((r) => setTimeout(r, 1500));
      await workload.stop();
      expect(result.error, result.cause).toBeUndefined();
      const summary = result.output as MigrationSummary;
      const verdict = await workload.verify();
      expect(verdict.lost).toEqual([]);
      expect(verdict.counters.every((c) => c.ok)).toBe(true);
      expect(workload.stats.acknowledged).toBeGreaterThan(500);
      // Writes landed on both groups: the application wrote through the whole migration.
      expect(workload.stats.byGroup[id]).toBeGreaterThan(0);
      expect(workload.stats.byGroup[summary.target.id]).toBeGreaterThan(0);
      expect(summary.cutover?.method).toBe('pause');
      expect(summary.cutover?.keysCopied).toBeGreaterThan(0);
      expect([...bed.sandbox.elasticache.groups.keys()]).not.toContain(id);
      expect(JSON.stringify(result)).not.toContain(LIVE_TOKEN);
    },
  );
});
