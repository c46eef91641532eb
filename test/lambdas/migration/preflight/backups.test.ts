import { describe, expect, it } from 'vitest';
import { parseMigrationInput } from '../../../../lambdas/migration/input.js';
import {
  backupWindowFix,
  headroomProblem,
  nodeMemoryBytes,
} from '../../../../lambdas/migration/preflight/backups.js';
import { planMigration } from '../../../../lambdas/migration/preflight/plan.js';
import { backupHeadroom, backupWindow, type Finding } from '../../../../lambdas/migration/preflight/rules.js';
import { BASE_INPUT, context, details, sourceGroup } from './facts.js';

/** The backup rules (issue 14) as compliant / non-compliant pairs, on facts alone. */

const refusals = (findings: Finding[]) =>
  findings.flatMap((f) => ('refusal' in f ? [`${f.refusal.name}: ${f.refusal.message}`] : []));
const warnings = (findings: Finding[]) => findings.flatMap((f) => ('warning' in f ? [f.warning] : []));
const GIB = 1024 ** 3;

describe('backup-headroom', () => {
  it('reserved-memory-percent: 25 passes; 10 warns with what to change and why', () => {
    const ok = context({ details: { parameters: { group: 'orders-params', reservedMemoryPercent: 25 } } });
    expect(backupHeadroom.check(ok)).toEqual([]);
    const low = context({ details: { parameters: { group: 'orders-params', reservedMemoryPercent: 10 } } });
    expect(warnings(backupHeadroom.check(low))).toEqual([
      expect.stringMatching(
        /reserved-memory-percent is 10 in parameter group 'orders-params'.*run the node out of memory.*Set reserved-memory-percent to 25/,
      ),
    ]);
    expect(refusals(backupHeadroom.check(low))).toEqual([]);
  });

  it('reserved-memory: a quarter of the node type passes; less warns (cache.r7g.large: 13.07 GiB)', () => {
    expect(nodeMemoryBytes('cache.r7g.large')).toBe(Math.round(13.07 * GIB));
    const enough = context({
      details: { parameters: { group: 'p', reservedMemoryPercent: 0, reservedMemory: Math.ceil(3.3 * GIB) } },
    });
    expect(backupHeadroom.check(enough)).toEqual([]);
    const small = context({
      details: { parameters: { group: 'p', reservedMemoryPercent: 0, reservedMemory: 1 * GIB } },
    });
    expect(warnings(backupHeadroom.check(small))).toEqual([
      expect.stringMatching(/reserved-memory is 1073741824 bytes .*under a quarter .*cache\.r7g\.large/),
    ]);
  });

  it('backups.refuseLowHeadroom turns the warning into a refusal, and refuses nothing compliant', () => {
    const strict = { backups: { refuseLowHeadroom: true } };
    expect(
      backupHeadroom.check(
        context({ input: strict, details: { parameters: { group: 'p', reservedMemoryPercent: 25 } } }),
      ),
    ).toEqual([]);
    const low = context({ input: strict, details: { parameters: { group: 'p', reservedMemoryPercent: 5 } } });
    expect(refusals(backupHeadroom.check(low))).toEqual([
      expect.stringMatching(/^BackupHeadroomError: .*reserved-memory-percent is 5.*refuseLowHeadroom/),
    ]);
  });

  it('does not guess: an unknown node type with reserved-memory in bytes is not judged', () => {
    expect(headroomProblem('cache.x2gd.large', { group: 'p', reservedMemory: 1 })).toBeUndefined();
  });
});

describe('backup-window', () => {
  it('60 minutes outside maintenance passes; 30 minutes warns and the new group gets 60', () => {
    expect(backupWindowFix('03:00-04:00', 'sun:05:00-sun:06:00')).toEqual({ problems: [] });
    expect(backupWindow.check(context())).toEqual([]);
    const short = context({ source: { SnapshotWindow: '03:00-03:30' } });
    expect(warnings(backupWindow.check(short))).toEqual([
      expect.stringMatching(/lasts 30 minutes \(under 60\).*The new group gets 03:00-04:00/),
    ]);
  });

  it('a window overlapping maintenance warns and moves to an hour after maintenance', () => {
    const fix = backupWindowFix('05:30-06:30', 'sun:05:00-sun:06:00');
    expect(fix.problems).toEqual([
      'the backup window 05:30-06:30 overlaps the maintenance window sun:05:00-sun:06:00',
    ]);
    expect(fix.window).toBe('07:00-08:00');
    // Across midnight on both sides.
    expect(backupWindowFix('23:30-00:30', 'sat:23:00-sun:01:00').window).toBe('02:00-03:00');
    expect(backupWindowFix('02:00-03:00', 'sat:23:00-sun:01:00')).toEqual({ problems: [] });
  });

  it('the plan carries the fixed window in the create request and lists the change', () => {
    const verdict = planMigration({
      input: parseMigrationInput(BASE_INPUT),
      migrationId: 'mig-1',
      facts: { source: sourceGroup({ SnapshotWindow: '05:30-06:00' }), details: details() },
      settings: { allowedHostedZoneIds: [] },
      now: Date.parse('2026-11-29T12:00:00Z'),
    });
    if (verdict.outcome !== 'planned') throw new Error(`expected a plan, got ${verdict.outcome}`);
    const plan = verdict.plan;
    expect(plan.warnings).toContainEqual(expect.stringContaining('The new group gets 07:00-08:00'));
    expect(plan.createRequest.SnapshotWindow).toBe('07:00-08:00');
    expect(plan.changes).toContainEqual(
      expect.objectContaining({ setting: 'SnapshotWindow', from: '05:30-06:00', to: '07:00-08:00' }),
    );
  });
});
