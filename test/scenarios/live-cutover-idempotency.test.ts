import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MigrationState } from '../../lambdas/migration/state.js';
import { callLiveStep, type LiveBed, pollLiveStep, sleep, startLiveBed } from '../support/live.js';

/**
 * Lambda retries on the live data path: each data-path step (catch-up, freeze-flip, resolve) is
 * called twice in a row with the same input state, as a retry after a lost response would, while
 * the application writes. In particular, a freeze-flip repeated after its flip went out must not
 * copy the source over the writes the new group has taken since.
 */
let bed: LiveBed;

beforeAll(async () => {
  bed = await startLiveBed(['plain', 'legacy']);
}, 120_000);
afterAll(() => bed?.stop());

const call = (fn: string, event: unknown) => callLiveStep(bed, fn, event);
const until = (fn: string, action: string, state: MigrationState, done: (s: MigrationState) => boolean) =>
  pollLiveStep(bed, fn, action, state, done);

/** Runs a data-path action twice on the same input; the second result goes on. */
async function twice(action: string, state: MigrationState): Promise<[MigrationState, MigrationState]> {
  const first = await call('verify-data', { action, state });
  const second = await call('verify-data', { action, state });
  return [first, second];
}

describe('the live data path, each step run twice on the same input', () => {
  it('loses no acknowledged write, and a repeated freeze-flip after the flip copies nothing back over the new group', async () => {
    await bed.reset();
    await bed.seed('plain', 3000);
    const workload = bed.workloadFor('plain');
    workload.start();
    let target: Redis | undefined;
    try {
      let state = await call('preflight', {
        input: {
          sourceReplicationGroupId: 'plain',
          dnsRecords: [bed.dnsRecord('plain')],
          pollIntervalSeconds: 1,
          cutover: { freezeBudgetSeconds: 10 },
        },
        migrationId: `live-twice-${Date.now()}`,
      });
      state = await call('snapshot', { action: 'start', state });
      state = await until('snapshot', 'check', state, (s) => s.progress.snapshotReady === true);
      state = await call('restore', { action: 'start', state });
      state = await until('restore', 'check', state, (s) => s.progress.targetReady === true);
      state = await call('verify-target', { action: 'verify', state });
      const targetId = state.plan!.target.id;

      // The catch-up: every slice twice.
      for (let slice = 0; !state.progress.catchUp?.converged; slice++) {
        expect(slice).toBeLessThan(50);
        const [first, second] = await twice('catch-up', state);
        expect(second.progress.catchUp?.passes).toBe(first.progress.catchUp?.passes);
        state = second;
      }

      state = await call('cutover', { action: 'prepare', state });
      state = await until('cutover', 'check-change', state, (s) => s.progress.dns?.changeInSync === true);

      // The freeze and flip; then the application writes to the new group for a while, and the
      // same call comes again with the state from before the flip (its response was lost).
      const beforeFlip = state;
      const first = await call('verify-data', { action: 'freeze-flip', state: beforeFlip });
      expect(first.progress.freeze).toMatchObject({ outcome: 'flipped', flipRequested: true });
      await sleep(1500);
      const onTargetBeforeRetry = workload.stats.byGroup[targetId] ?? 0;
      expect(onTargetBeforeRetry).toBeGreaterThan(100);
      // A key only the new group has: a copy from the source would delete it.
      target = bed.primary(targetId);
      expect(await target.set('written-on-the-new-group', 'after the flip')).toBe('OK');
      const second = await call('verify-data', { action: 'freeze-flip', state: beforeFlip });
      expect(second.progress.freeze).toMatchObject({ outcome: 'flipped', flipRequested: true });
      expect(await target.get('written-on-the-new-group')).toBe('after the flip');
      // The application was not stopped by the repeat: it goes on writing to the new group.
      await sleep(500);
      expect(workload.stats.byGroup[targetId] ?? 0).toBeGreaterThan(onTargetBeforeRetry);
      state = second;

      state = await until('cutover', 'check-change', state, (s) => s.progress.dns?.changeInSync === true);
      state = await call('cutover', { action: 'confirm', state });
      for (let poll = 0; !state.progress.dnsResolved; poll++) {
        expect(poll).toBeLessThan(100);
        if (poll > 0) await sleep(100);
        [, state] = await twice('resolve', state);
      }
      // Still the new group's: the source holds every write since the flip.
      expect(await bed.groupBehind(await bed.cname('plain'))).toBe(targetId);
      expect(await target.get('written-on-the-new-group')).toBe('after the flip');

      state = await call('decommission', { action: 'start', state });
      state = await until('decommission', 'check', state, (s) => s.progress.sourceDeleted === true);
      state = await call('decommission', { action: 'finish', state });
      expect(state.outcome).toBe('migrated');
      expect(await bed.groupIds()).toContain(targetId);
      expect(await bed.groupIds()).not.toContain('plain');

      await sleep(500);
      await workload.stop();
      expect(workload.stats.byGroup.plain).toBeGreaterThan(0);
      const verdict = await workload.verify();
      expect(verdict.lost).toEqual([]);
      expect(
        verdict.counters.every((c) => c.ok),
        JSON.stringify(verdict.counters),
      ).toBe(true);
      expect(verdict.checked).toBeGreaterThan(100);
    } finally {
      target?.disconnect();
      await workload.stop();
    }
  });
  it('on the gate path too (no CLIENT PAUSE WRITE), a repeated freeze-flip after the flip copies nothing back', async () => {
    await bed.reset();
    await bed.seed('legacy', 2000);
    let target: Redis | undefined;
    try {
      let state = await call('preflight', {
        input: {
          sourceReplicationGroupId: 'legacy',
          dnsRecords: [bed.dnsRecord('legacy')],
          pollIntervalSeconds: 1,
        },
        migrationId: `live-gate-twice-${Date.now()}`,
      });
      expect(state.plan?.cutover.method).toBe('gate');
      state = await call('snapshot', { action: 'start', state });
      state = await until('snapshot', 'check', state, (s) => s.progress.snapshotReady === true);
      state = await call('restore', { action: 'start', state });
      state = await until('restore', 'check', state, (s) => s.progress.targetReady === true);
      state = await call('verify-target', { action: 'verify', state });
      while (!state.progress.catchUp?.converged)
        state = await call('verify-data', { action: 'catch-up', state });
      state = await call('cutover', { action: 'prepare', state });
      state = await until('cutover', 'check-change', state, (s) => s.progress.dns?.changeInSync === true);
      const beforeFlip = state;
      const first = await call('verify-data', { action: 'freeze-flip', state: beforeFlip });
      expect(first.progress.freeze?.flipRequested).toBe(true);
      // The application writes to the new group after the flip; the step's response was lost.
      target = bed.primary(first.plan!.target.id);
      await target.set('demo:{b0}:5', 'written on the new group after the flip');
      await call('verify-data', { action: 'freeze-flip', state: beforeFlip });
      expect(await target.get('demo:{b0}:5')).toBe('written on the new group after the flip');
    } finally {
      target?.disconnect();
    }
  });
});
