/**
 * The fleet batch's own steps failing for one group: the report still says how every group
 * ended, and no group is left `planned` (neither started nor reported) while the batch succeeds.
 * The admit and record functions are wrapped (vi.mock) so that a chosen group's step fails the way
 * a contended ledger or a broken dependency would; everything else is the real handler.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LedgerBusyError } from '../../lambdas/shared/errors.js';
import { type FleetBed, fleetFixture, NULL_DATA_MIGRATION, startFleetBed } from '../support/fleet.js';

/** Per group: how its admission or record fails (`once`: the first call only). */
const failures = vi.hoisted(() => ({
  admit: new Map<string, { error: () => Error; times: number }>(),
  record: new Map<string, { error: () => Error; times: number }>(),
}));

function failFor(kind: 'admit' | 'record', groupId: string) {
  const plan = failures[kind].get(groupId);
  if (!plan || plan.times === 0) return;
  plan.times -= 1;
  throw plan.error();
}

vi.mock('../../lambdas/fleet/admit.js', async (original) => {
  const real = await original<typeof import('../../lambdas/fleet/admit.js')>();
  return {
    ...real,
    admitGroup: async (...args: Parameters<typeof real.admitGroup>) => {
      failFor('admit', args[0].groupId);
      return real.admitGroup(...args);
    },
  };
});
vi.mock('../../lambdas/fleet/record.js', async (original) => {
  const real = await original<typeof import('../../lambdas/fleet/record.js')>();
  return {
    ...real,
    recordOutcome: async (...args: Parameters<typeof real.recordOutcome>) => {
      // The record runs after the migration: it fails before writing anything.
      failFor('record', args[0].groupId);
      return real.recordOutcome(...args);
    },
  };
});

const MIX = { succeed: 4 };
let bed: FleetBed;

beforeAll(async () => {
  bed = await startFleetBed(fleetFixture(MIX));
}, 60_000);
afterAll(async () => bed?.stop());

const denied = () =>
  Object.assign(new Error('User is not authorized to perform: dynamodb:UpdateItem'), {
    name: 'AccessDeniedException',
  });

describe('a fleet batch whose own steps fail for a group', () => {
  it('reports each group as it ended: never started, migrated but unrecorded, retried past a busy ledger', async () => {
    failures.admit.set('ok-01', { error: denied, times: Number.POSITIVE_INFINITY });
    failures.admit.set('ok-02', {
      error: () => new LedgerBusyError('The ledger changed under every update.'),
      times: 1,
    });
    failures.record.set('ok-03', { error: denied, times: Number.POSITIVE_INFINITY });

    const end = await bed.run('items', {
      selection: { tags: { team: 'web' } },
      migration: NULL_DATA_MIGRATION,
      maxConcurrency: 4,
      toleratedFailureCount: 4,
    });
    expect(end.status, end.cause).toBe('SUCCEEDED');
    const report = bed.report('items');
    const byId = Object.fromEntries(report.groups.map((g) => [g.groupId, g]));
    expect(report.groups.filter((g) => g.outcome === 'planned')).toEqual([]);

    // Its admission failed for good: failed, never started, nothing rolled back.
    expect(byId['ok-01']?.outcome).toBe('failed');
    expect(byId['ok-01']?.error?.name).toBe('AccessDeniedException');
    expect(bed.migrations().map((m) => m.name)).not.toContain('items-ok-01');
    expect(bed.sandbox.elasticache.getGroup('ok-01').status).toBe('available');
    expect(bed.sandbox.elasticache.groups.has('ok-01-atrest')).toBe(false);

    // A busy ledger is retried by the state machine: the group migrates.
    expect(byId['ok-02']?.outcome).toBe('migrated');

    // Its migration ran but its outcome was not recorded: the report says so and names it.
    expect(byId['ok-03']?.outcome).toBe('failed');
    expect(byId['ok-03']?.error?.name).toBe('OutcomeNotRecordedError');
    expect(byId['ok-03']?.error?.message).toContain("'items-ok-03'");
    expect(bed.migrations().find((m) => m.name === 'items-ok-03')?.status).toBe('SUCCEEDED');

    expect(byId['ok-04']?.outcome).toBe('migrated');
    expect(report.counts).toEqual({ migrated: 2, failed: 2 });
  }, 300_000);
});
