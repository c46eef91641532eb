import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FleetBed,
  fleetFixture,
  fleetIds,
  NULL_DATA_MIGRATION,
  startFleetBed,
} from '../support/fleet.js';

const MIX = { succeed: 36, encrypted: 5, refused: 4, failing: 5 };
const ids = fleetIds(MIX);
let bed: FleetBed;

beforeAll(async () => {
  bed = await startFleetBed(fleetFixture(MIX));
}, 60_000);
afterAll(async () => bed?.stop());

describe('a 50-group fleet of mixed fate', () => {
  it('migrates, refuses, rolls back and skips exactly as the report says', async () => {
    const end = await bed.run('night-1', {
      selection: { tags: { team: 'web' } },
      migration: NULL_DATA_MIGRATION,
      maxConcurrency: 6,
      toleratedFailureCount: 10,
    });
    expect(end.error, end.cause).toBeUndefined();
    expect(end.status).toBe('SUCCEEDED');
    const report = bed.report('night-1');
    const byId = Object.fromEntries(report.groups.map((g) => [g.groupId, g]));
    expect(report.groups).toHaveLength(50);
    expect(report.mapError).toBeUndefined();
    expect(report.counts).toEqual({ migrated: 36, 'already-encrypted': 5, refused: 4, 'rolled-back': 5 });
    for (const id of ids.succeed) {
      expect(byId[id]?.outcome).toBe('migrated');
      expect(byId[id]?.steps.map((s) => s.step)).toEqual([
        'Preflight',
        'Snapshot',
        'Restore',
        'VerifyTarget',
        'Cutover',
        'Soak',
        'Decommission',
      ]);
    }
    for (const id of ids.encrypted) expect(byId[id]?.outcome).toBe('already-encrypted');
    for (const id of ids.refused) {
      expect(byId[id]?.outcome).toBe('refused');
      expect(byId[id]?.error?.name).toBe('DnsRecordMismatchError');
      expect(byId[id]?.error?.runbook).toBe('runbooks/failures.md#dnsrecordmismatcherror');
    }
    for (const id of ids.failing) {
      expect(byId[id]?.outcome).toBe('rolled-back');
      expect(byId[id]?.error?.name).toBe('SnapshotFailedError');
      expect(byId[id]?.steps.at(-1)?.step).toBe('Rollback');
    }
    expect(bed.maxConcurrentMigrations()).toBeLessThanOrEqual(6);
  }, 300_000);
});
