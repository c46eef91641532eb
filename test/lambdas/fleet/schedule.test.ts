import { describe, expect, it } from 'vitest';
import { type AdmissionFacts, admit, thresholdReached } from '../../../lambdas/fleet/schedule.js';

const facts = (over: Partial<AdmissionFacts> = {}): AdmissionFacts => ({
  now: Date.parse('2026-11-30T02:00:00Z'),
  threshold: { count: 2 },
  total: 50,
  failed: 0,
  nodesInRegion: 100,
  reservedNodes: 0,
  groupNodes: 3,
  nodesPerRegion: 300,
  headroomWaitSeconds: 300,
  alreadyDone: false,
  ...over,
});

describe('admission of a group', () => {
  it('starts a group when nothing stands in the way', () => {
    expect(admit(facts())).toEqual({ decision: 'start' });
  });

  it('starts up to the tolerated count and none past it', () => {
    expect(admit(facts({ failed: 2 })).decision).toBe('start');
    expect(admit(facts({ failed: 3 }))).toMatchObject({ decision: 'skip', reason: 'threshold-reached' });
  });

  it('applies a percentage of the whole batch', () => {
    expect(thresholdReached({ percentage: 10 }, 5, 50)).toBe(false);
    expect(thresholdReached({ percentage: 10 }, 6, 50)).toBe(true);
    expect(thresholdReached({ count: 0 }, 1, 50)).toBe(true);
  });

  it('starts nothing at or after the window closes', () => {
    const closes = Date.parse('2026-11-30T02:00:00Z');
    expect(admit(facts({ windowClosesAt: closes + 1 })).decision).toBe('start');
    expect(admit(facts({ windowClosesAt: closes }))).toMatchObject({
      decision: 'skip',
      reason: 'window-closed',
    });
  });

  it('waits for node headroom, counting the nodes running migrations reserved', () => {
    expect(admit(facts({ nodesInRegion: 297 })).decision).toBe('start');
    expect(admit(facts({ nodesInRegion: 290, reservedNodes: 8 }))).toMatchObject({
      decision: 'wait',
      reason: 'node-quota',
      waitSeconds: 300,
    });
  });

  it('gives up waiting for headroom when the window would close first', () => {
    const now = Date.parse('2026-11-30T02:00:00Z');
    expect(admit(facts({ nodesInRegion: 299, windowClosesAt: now + 100_000 }))).toMatchObject({
      decision: 'skip',
      reason: 'window-closed',
    });
  });

  it('never starts a group that already has an outcome in the batch', () => {
    expect(admit(facts({ alreadyDone: true }))).toMatchObject({ decision: 'skip', reason: 'already-done' });
  });
});
