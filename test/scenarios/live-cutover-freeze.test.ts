import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MigrationState, MigrationSummary } from '../../lambdas/migration/state.js';
import { runMigration } from '../../sandbox/workflow.js';
import type { Workload } from '../../sandbox/workload.js';
import {
  type LiveBed,
  type StepCall,
  sleep,
  startLiveBed,
  statesEntered,
  wrapFunction,
} from '../support/live.js';

/**
 * The cutover's write freeze while the application writes: a freeze that runs over its budget
 * lets the writes go on and catches up again (or gives up after `freezeAttempts`, leaving the
 * source as it was), and an engine without CLIENT PAUSE WRITE asks the operator to stop the
 * writes at the beforeCutover approval. Every acknowledged write survives each of them.
 */
let bed: LiveBed;

beforeAll(async () => {
  bed = await startLiveBed(['plain', 'legacy']);
}, 120_000);
afterAll(() => bed?.stop());

const BUDGET_SECONDS = 4;
/** Longer than the freeze budget: the final copy's RESTOREs wait on the new group this long. */
const SLOW_COPY_MS = 7000;

/**
 * Wraps `freeze-flip` so that the chosen calls find the new group's writes held for
 * {@link SLOW_COPY_MS} (CLIENT PAUSE WRITE on its primary): the final copy cannot finish within
 * the freeze budget. Records the state each call returned.
 */
function slowFinalCopy(slowCalls: (call: number) => boolean, returned: MigrationState[]) {
  let calls = 0;
  return wrapFunction(bed.handlers, 'verify-data', async (event: StepCall, real) => {
    if (event.action !== 'freeze-flip') return real(event);
    calls++;
    if (slowCalls(calls)) {
      const target = bed.primary(event.state.plan!.target.id);
      try {
        await target.call('CLIENT', 'PAUSE', String(SLOW_COPY_MS), 'WRITE');
      } finally {
        target.disconnect();
      }
    }
    const out = await real(event);
    returned.push(out);
    return out;
  });
}

async function verifyAll(...workloads: Workload[]) {
  for (const workload of workloads) {
    const verdict = await workload.verify();
    expect(verdict.lost).toEqual([]);
    expect(
      verdict.counters.every((c) => c.ok),
      JSON.stringify(verdict.counters),
    ).toBe(true);
    expect(verdict.checked).toBeGreaterThan(0);
  }
}

describe.sequential('the write freeze while the application writes', () => {
  it('a freeze over its budget releases the writes, catches up again and flips on the next attempt', async () => {
    await bed.reset();
    await bed.seed('plain', 3000);
    const workload = bed.workloadFor('plain');
    workload.start();
    const returned: MigrationState[] = [];
    try {
      const result = await runMigration({
        functions: slowFinalCopy((call) => call === 1, returned),
        executionName: `live-freeze-over-${Date.now()}`,
        input: {
          sourceReplicationGroupId: 'plain',
          dnsRecords: [bed.dnsRecord('plain')],
          pollIntervalSeconds: 1,
          cutover: { freezeBudgetSeconds: BUDGET_SECONDS, freezeAttempts: 3 },
        },
        waitMs: 10,
        retryMs: 10,
      });
      await sleep(1000);
      await workload.stop();
      expect(result.error, result.cause).toBeUndefined();
      const summary = result.output as MigrationSummary;

      // The first freeze ran over its budget and went back to catching up; the second flipped.
      expect(returned[0]?.progress.freeze).toMatchObject({ outcome: 'resume', overBudget: 1 });
      expect(returned[0]?.progress.freeze?.flipRequested).toBeUndefined();
      expect(returned.at(-1)?.progress.freeze).toMatchObject({ outcome: 'flipped', overBudget: 1 });
      const path = statesEntered(result);
      const firstOutcome = path.indexOf('DidFreezeRunOver');
      expect(path[firstOutcome + 1]).toBe('CatchUpData');
      expect(path.filter((s) => s === 'FreezeAndFlip')).toHaveLength(2);
      expect(summary.cutover?.freezeAttempts).toBe(2);
      expect(summary.cutover?.frozenMs).toBeLessThan(BUDGET_SECONDS * 1000);

      expect(await bed.groupBehind(await bed.cname('plain'))).toBe(summary.target.id);
      expect(await bed.groupIds()).toEqual(['legacy', summary.target.id]);
      expect(workload.stats.byGroup.plain).toBeGreaterThan(0);
      expect(workload.stats.byGroup[summary.target.id]).toBeGreaterThan(0);
      await verifyAll(workload);
    } finally {
      await workload.stop();
    }
  });

  it('every freeze over its budget: FreezeBudgetExceededError, the source writes again, nothing lost', async () => {
    await bed.reset();
    await bed.seed('plain', 3000);
    const workload = bed.workloadFor('plain');
    workload.start();
    const returned: MigrationState[] = [];
    try {
      const result = await runMigration({
        functions: slowFinalCopy(() => true, returned),
        executionName: `live-freeze-exceeded-${Date.now()}`,
        input: {
          sourceReplicationGroupId: 'plain',
          dnsRecords: [bed.dnsRecord('plain')],
          pollIntervalSeconds: 1,
          cutover: { freezeBudgetSeconds: BUDGET_SECONDS, freezeAttempts: 2 },
        },
        waitMs: 10,
        retryMs: 10,
      });
      expect(result.status).toBe('FAILED');
      expect(result.error, result.cause).toBe('FreezeBudgetExceededError');
      expect(result.cause).toContain('writes resumed and applications were not moved');
      const path = statesEntered(result);
      expect(path.filter((s) => s === 'FreezeAndFlip')).toHaveLength(2);
      expect(path.at(-1)).toBe('RolledBack');

      // The application keeps writing to the source, which accepts writes again.
      const onSourceAtEnd = workload.stats.byGroup.plain ?? 0;
      await sleep(2000);
      await workload.stop();
      expect(workload.stats.byGroup.plain ?? 0).toBeGreaterThan(onSourceAtEnd + 100);
      expect(workload.stats.byGroup['plain-atrest']).toBeUndefined();

      expect(await bed.groupBehind(await bed.cname('plain'))).toBe('plain');
      expect(await bed.groupIds()).toEqual(['legacy', 'plain']);
      // Never flipped: nothing served from the new group, so no final snapshot of it.
      expect(await bed.snapshotNames()).toEqual([]);
      await verifyAll(workload);
    } finally {
      await workload.stop();
    }
  });

  it('an engine without CLIENT PAUSE WRITE: the operator stops the writes at the forced beforeCutover approval', async () => {
    await bed.reset();
    await bed.seed('legacy', 3000);
    const before = bed.workloadFor('legacy');
    // Started once the records have flipped: the application back, on the new group.
    const after = bed.workloadFor('legacy');
    before.start();
    const asked: string[] = [];
    let stoppedAt = 0;
    const functions = wrapFunction(bed.handlers, 'verify-data', async (event, real) => {
      const out = await real(event);
      // The application comes back once the records lead to the new group (the gate path has no
      // hold on the source: a write sent there through a stale answer would be acknowledged).
      if (event.action === 'resolve' && (out as MigrationState).progress.dnsResolved === true) after.start();
      return out;
    });
    try {
      const result = await runMigration({
        functions,
        executionName: `live-gate-${Date.now()}`,
        input: {
          sourceReplicationGroupId: 'legacy',
          dnsRecords: [bed.dnsRecord('legacy')],
          pollIntervalSeconds: 1,
        },
        waitMs: 10,
        retryMs: 10,
        decide: async (request) => {
          asked.push(request.gate);
          if (request.gate === 'beforeCutover') {
            // As the approval asks: the application stops writing, then the operator approves.
            // (It has written for a while first: at least 300 writes, however loaded the machine.)
            for (let i = 0; i < 200 && before.stats.acknowledged < 300; i++) await sleep(100);
            await before.stop();
            stoppedAt = before.stats.acknowledged;
          }
          return { output: { approved: true } };
        },
      });
      for (let i = 0; i < 200 && after.stats.acknowledged <= 100; i++) await sleep(100);
      await after.stop();
      expect(result.error, result.cause).toBeUndefined();
      const summary = result.output as MigrationSummary;
      expect(asked).toEqual(['beforeCutover']);
      expect(summary.cutover?.method).toBe('gate');
      expect(summary.cutover?.freezeAttempts).toBe(0);
      expect(summary.warnings.join('\n')).toContain(
        "redis 6.0 has no CLIENT PAUSE WRITE (Redis OSS 6.2+ / Valkey): the workflow cannot hold the source's writes at cutover. The beforeCutover approval is on",
      );
      expect(stoppedAt).toBeGreaterThanOrEqual(300);
      expect(before.stats.byGroup.legacy).toBe(stoppedAt);
      expect(after.stats.byGroup[summary.target.id]).toBeGreaterThan(100);
      expect(await bed.groupBehind(await bed.cname('legacy'))).toBe(summary.target.id);
      expect(await bed.groupIds()).toEqual(['legacy-atrest', 'plain']);
      await verifyAll(before, after);
    } finally {
      await before.stop();
      await after.stop();
    }
  });
});
