import { Redis } from 'ioredis';
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

  it('never lets the old group acknowledge a write after the flip: a client with a cached address waits, then is cut off', async () => {
    await bed.reset();
    await bed.seed('plain', 2000);
    const source = bed.sandbox.elasticache.groups.get('plain')!.shards[0]!.members[0]!.address!;
    const result = await runMigration({
      functions: bed.handlers,
      executionName: 'live-late-client',
      input: {
        sourceReplicationGroupId: 'plain',
        dnsRecords: [bed.dnsRecord('plain')],
        pollIntervalSeconds: 1,
        deleteSource: false,
      },
      waitMs: 10,
      retryMs: 10,
    });
    expect(result.error, result.cause).toBeUndefined();
    const summary = result.output as MigrationSummary;
    // A client that resolved the CNAME before the cutover and (re)connects to the address it cached.
    const late = new Redis({
      ...source,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    late.on('error', () => {});
    await new Promise((resolve) => late.once('ready', resolve));
    // The old group still runs (deleteSource: false) and holds every write.
    let outcome = 'pending';
    const write = late.set('written-late', 'to-the-old-group').then(
      () => {
        outcome = 'acknowledged';
      },
      () => {
        outcome = 'failed';
      },
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(outcome).toBe('pending');
    // Moving clients (CLIENT KILL, as ResolveRecords does while records settle) cuts it off
    // unacknowledged.
    const admin = new Redis({ ...source });
    await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    await write;
    expect(outcome).toBe('failed');
    // Reads still work on the old group, and the late write is nowhere.
    expect(await admin.exists('written-late')).toBe(0);
    expect(summary.warnings.join(' ')).toContain('holds every write');
    admin.disconnect();
    late.disconnect();
  });
});
