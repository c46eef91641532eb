import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MigrationPlan, MigrationState } from '../../lambdas/migration/state.js';
import type { ApprovalDecision, ApprovalRequest } from '../../sandbox/stepfunctions.js';
import { runMigration } from '../../sandbox/workflow.js';
import type { Workload } from '../../sandbox/workload.js';
import {
  InjectedFaultError,
  type LiveBed,
  type StepCall,
  sleep,
  startLiveBed,
  statesEntered,
  wrapFunction,
} from '../support/live.js';

/**
 * Rollbacks after the flip while the application writes: the new group has taken writes the
 * source never saw. The rollback copies them back (under a freeze of the new group) before the
 * records go back, deletes the new group only with a final snapshot, and the source serves
 * again with every acknowledged write, including those made on the new group.
 */
let bed: LiveBed;

beforeAll(async () => {
  bed = await startLiveBed(['plain']);
}, 120_000);
afterAll(() => bed?.stop());

const SOURCE = 'plain';
const TARGET = 'plain-atrest';

interface Seen {
  plan?: MigrationPlan;
  /** Acknowledged writes on the new group when the fault struck. */
  onTargetAtFault: number;
  /** The state the last rollback pass returned. */
  lastRollback?: MigrationState;
}

async function migrateAndFail(
  workload: Workload,
  seen: Seen,
  options: {
    approvals?: Record<string, boolean>;
    faultOnResolve?: boolean;
    decide?: (request: ApprovalRequest) => Promise<ApprovalDecision>;
  },
) {
  let functions = wrapFunction(bed.handlers, 'verify-data', async (event, real) => {
    seen.plan ??= event.state.plan;
    if (event.action === 'resolve' && options.faultOnResolve && seen.onTargetAtFault === 0) {
      // After the flip: the application writes to the new group for a while, then the step fails.
      await sleep(1500);
      seen.onTargetAtFault = workload.stats.byGroup[TARGET] ?? 0;
      throw new InjectedFaultError('the check after the flip failed (injected)');
    }
    return real(event);
  });
  functions = wrapFunction(functions, 'rollback', async (event: StepCall, real) => {
    const out = await real(event);
    seen.lastRollback = out;
    return out;
  });
  return runMigration({
    functions,
    executionName: `live-rollback-${Date.now()}`,
    input: {
      sourceReplicationGroupId: SOURCE,
      dnsRecords: [bed.dnsRecord(SOURCE)],
      pollIntervalSeconds: 1,
      cutover: { freezeBudgetSeconds: 10 },
      ...(options.approvals ? { approvals: options.approvals } : {}),
    },
    waitMs: 10,
    retryMs: 10,
    ...(options.decide ? { decide: options.decide } : {}),
  });
}

/** What the user sees after a rollback after the flip, and every acknowledged write on the source. */
async function expectRolledBackOntoSource(
  result: Awaited<ReturnType<typeof runMigration>>,
  workload: Workload,
  seen: Seen,
  error: string,
) {
  expect(result.status).toBe('FAILED');
  expect(result.error, result.cause).toBe(error);
  const path = statesEntered(result);
  expect(path).toContain('FreezeAndFlip');
  expect(path).toContain('SyncBackToSource');
  expect(path.at(-1)).toBe('RolledBack');
  // The new group's writes went back: the copy back copied something and found no conflict.
  expect(seen.lastRollback?.progress.syncBack).toMatchObject({ done: true, conflicts: 0, stillDifferent: 0 });
  expect(seen.lastRollback?.progress.syncBack?.keepTarget).toBeUndefined();
  expect(seen.lastRollback?.progress.syncBack?.keysCopied).toBeGreaterThan(0);

  // The application keeps writing after the failure: the source accepts writes again.
  const onSourceAtEnd = workload.stats.byGroup[SOURCE] ?? 0;
  await sleep(2000);
  await workload.stop();
  expect(workload.stats.byGroup[SOURCE] ?? 0).toBeGreaterThan(onSourceAtEnd + 100);

  // DNS back on the source; the new group gone, with a final snapshot; the source as before.
  expect(await bed.groupBehind(await bed.cname(SOURCE))).toBe(SOURCE);
  expect(await bed.groupIds()).toEqual([SOURCE]);
  const shortId = seen.plan!.shortId;
  expect(await bed.snapshotNames()).toEqual([`${TARGET}-final-${shortId}`]);
  const direct = bed.primary(SOURCE);
  try {
    expect(await direct.set('written-after-the-rollback', '1')).toBe('OK');
  } finally {
    direct.disconnect();
  }

  // Every acknowledged write, including those made on the new group after the flip.
  const verdict = await workload.verify();
  expect(verdict.lost).toEqual([]);
  expect(
    verdict.counters.every((c) => c.ok),
    JSON.stringify(verdict.counters),
  ).toBe(true);
  expect(verdict.checked).toBeGreaterThan(100);
}

describe.sequential('a rollback after the flip while the application writes', () => {
  it('a failure after the flip copies the new group’s writes back, then deletes it with a final snapshot', async () => {
    await bed.reset();
    await bed.seed(SOURCE, 3000);
    const workload = bed.workloadFor(SOURCE);
    workload.start();
    const seen: Seen = { onTargetAtFault: 0 };
    try {
      const result = await migrateAndFail(workload, seen, { faultOnResolve: true });
      expect(seen.onTargetAtFault).toBeGreaterThan(100);
      await expectRolledBackOntoSource(result, workload, seen, 'InjectedFaultError');
    } finally {
      await workload.stop();
    }
  });

  it('a rejected delete gate rolls back with the new group’s writes on the source', async () => {
    await bed.reset();
    await bed.seed(SOURCE, 3000);
    const workload = bed.workloadFor(SOURCE);
    workload.start();
    const seen: Seen = { onTargetAtFault: 0 };
    const asked: string[] = [];
    try {
      const result = await migrateAndFail(workload, seen, {
        approvals: { beforeDeleteSource: true },
        decide: async (request) => {
          asked.push(request.gate);
          if (request.gate !== 'beforeDeleteSource') return { output: { approved: true } };
          await sleep(1500);
          seen.onTargetAtFault = workload.stats.byGroup[TARGET] ?? 0;
          return { error: 'ApprovalRejectedError', cause: 'rejected by the on-call engineer' };
        },
      });
      expect(asked).toEqual(['beforeDeleteSource']);
      expect(seen.onTargetAtFault).toBeGreaterThan(100);
      await expectRolledBackOntoSource(result, workload, seen, 'ApprovalRejectedError');
    } finally {
      await workload.stop();
    }
  });
});
