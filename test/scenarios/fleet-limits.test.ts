import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FleetBed, fleetFixture, NULL_DATA_MIGRATION, startFleetBed } from '../support/fleet.js';

const MIX = { succeed: 8, failing: 4 };
let bed: FleetBed;

beforeAll(async () => {
  bed = await startFleetBed(fleetFixture(MIX));
}, 60_000);
afterAll(async () => bed?.stop());

const base = { selection: { tags: { team: 'web' } }, migration: NULL_DATA_MIGRATION };

describe('the limits of a batch', () => {
  it('starts no migration past the tolerated failures and lets the running ones finish', async () => {
    await bed.sandbox.reset(fleetFixture(MIX));
    // One at a time, in id order: bad-01..04 fail first; past one tolerated failure nothing starts.
    const end = await bed.run('threshold', { ...base, maxConcurrency: 1, toleratedFailureCount: 1 });
    expect(end.status).toBe('SUCCEEDED');
    const report = bed.report('threshold');
    expect(report.counts).toEqual({ 'rolled-back': 2, skipped: 10 });
    expect(report.stopped).toBe('the tolerated-failure threshold was passed');
    expect(
      report.groups.filter((g) => g.outcome === 'skipped').every((g) => g.reason === 'threshold-reached'),
    ).toBe(true);
    expect(bed.migrations()).toHaveLength(2);
  }, 300_000);

  it('starts nothing once the window has closed, and says so', async () => {
    // Each migration takes about 10 s here (300 GB to snapshot and restore, scaled down), one at
    // a time: a window of 30 s fits a few of twelve.
    await bed.sandbox.reset(fleetFixture({ succeed: 12, dataSizeMb: 300_000 }));
    const end = await bed.run('closed', {
      ...base,
      window: { closesAt: new Date(Date.now() + 30_000).toISOString() },
      maxConcurrency: 1,
    });
    expect(end.status).toBe('SUCCEEDED');
    const report = bed.report('closed');
    const started = bed.migrations();
    const skipped = report.groups.filter((g) => g.outcome === 'skipped');
    // Some started before the close, the rest were skipped, none started after it.
    expect(started.length).toBeGreaterThan(0);
    expect(skipped.length).toBeGreaterThan(0);
    expect(started.length + skipped.length).toBe(12);
    expect(skipped.every((g) => g.reason === 'window-closed')).toBe(true);
    const closesAt = Date.parse(report.settings.windowClosesAt ?? '');
    for (const m of started) expect(m.startDate.getTime()).toBeLessThan(closesAt);
    expect(report.stopped).toBe('the maintenance window closed');
  }, 300_000);

  it('never runs more migrations at once than the concurrency limit', async () => {
    await bed.sandbox.reset(fleetFixture({ succeed: 12 }));
    const end = await bed.run('limit', { ...base, maxConcurrency: 3 });
    expect(end.status).toBe('SUCCEEDED');
    expect(bed.report('limit').counts).toEqual({ migrated: 12 });
    expect(bed.maxConcurrentMigrations()).toBe(3);
  }, 300_000);

  it('picks up what a partial run left, and skips what it migrated', async () => {
    await bed.sandbox.reset(fleetFixture({ succeed: 8, dataSizeMb: 300_000 }));
    await bed.run('night-1', {
      ...base,
      maxConcurrency: 1,
      window: { closesAt: new Date(Date.now() + 25_000).toISOString() },
    });
    const first = bed.report('night-1');
    const migrated = first.groups.filter((g) => g.outcome === 'migrated').map((g) => g.groupId);
    const left = first.groups.filter((g) => g.outcome === 'skipped').map((g) => g.groupId);
    expect(migrated.length).toBeGreaterThan(0);
    expect(left.length).toBeGreaterThan(0);
    const before = bed.migrations().length;
    await bed.run('night-2', { ...base, maxConcurrency: 4 });
    const second = bed.report('night-2');
    // The migrated sources are gone (deleted with a final snapshot): only the rest is in the batch.
    expect(second.groups.map((g) => g.groupId).sort()).toEqual(left.sort());
    expect(second.counts).toEqual({ migrated: left.length });
    expect(bed.migrations().length - before).toBe(left.length);
  }, 300_000);

  it('re-running the same batch starts nothing already done and writes the same report', async () => {
    await bed.sandbox.reset(fleetFixture({ succeed: 3 }));
    await bed.run('once', { ...base, batchId: 'same' });
    const first = bed.report('same');
    await bed.run('twice', { ...base, batchId: 'same' });
    const second = bed.report('same');
    expect(bed.migrations()).toHaveLength(3);
    expect(second.groups.map((g) => [g.groupId, g.outcome])).toEqual(
      first.groups.map((g) => [g.groupId, g.outcome]),
    );
  }, 300_000);
});
