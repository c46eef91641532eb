import { describe, expect, it } from 'vitest';
import {
  emptyReport,
  failingKinds,
  keyLabel,
  recordDifference,
  verdictOf,
} from '../../../lambdas/verifier/report.js';

function reportWith(
  counts: Partial<Record<'missing' | 'extra' | 'value' | 'expiry' | 'changedDuringCheck', number>>,
) {
  const report = emptyReport('full', false);
  for (const [kind, n] of Object.entries(counts)) {
    for (let i = 0; i < (n ?? 0); i++)
      recordDifference(report, kind as 'missing', 0, Buffer.from(`${kind}${i}`));
  }
  return report;
}

describe('the verdict under a policy', () => {
  it('passes a clean report and fails on any difference when writes were frozen', () => {
    expect(verdictOf(reportWith({}), { writesFrozen: true })).toBe('pass');
    expect(verdictOf(reportWith({ missing: 1 }), { writesFrozen: true })).toBe('fail');
    expect(verdictOf(reportWith({ changedDuringCheck: 1 }), { writesFrozen: true })).toBe('fail');
  });

  it('allows keys that changed during the check when writes were not frozen, nothing else', () => {
    expect(verdictOf(reportWith({ changedDuringCheck: 9 }), { writesFrozen: false })).toBe('pass');
    expect(verdictOf(reportWith({ changedDuringCheck: 9, extra: 1 }), { writesFrozen: false })).toBe('fail');
    expect(failingKinds(reportWith({ changedDuringCheck: 9, extra: 1 }), { writesFrozen: false })).toEqual({
      extra: 1,
    });
  });

  it('follows explicitly allowed kinds and a tolerated number of failing keys', () => {
    expect(verdictOf(reportWith({ expiry: 3 }), { writesFrozen: true, allowedKinds: ['expiry'] })).toBe(
      'pass',
    );
    expect(verdictOf(reportWith({ value: 2 }), { writesFrozen: true, maxFailingKeys: 2 })).toBe('pass');
    expect(verdictOf(reportWith({ value: 2, missing: 1 }), { writesFrozen: true, maxFailingKeys: 2 })).toBe(
      'fail',
    );
  });
});

describe('example keys', () => {
  it('are hashed by default and named on request, binary names in hex', () => {
    expect(keyLabel(3, Buffer.from('user:42'), false)).toMatch(/^db3:sha256:[0-9a-f]{16}$/);
    expect(keyLabel(3, Buffer.from('user:42'), true)).toBe('db3:user:42');
    expect(keyLabel(0, Buffer.from([0xff, 0x00, 0x41]), true)).toBe('db0:hex:ff0041');
  });
});
