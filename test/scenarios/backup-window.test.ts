import { afterAll, beforeAll, describe, it } from 'vitest';
import { denied, type FaultPoint, runFaultPoint, SOURCE, startQuietBed } from '../support/fault-matrix.js';
import type { WorkflowBed } from '../support/workflow.js';

/**
 * The daily backup window meets the workflow. While a backup runs the source is `snapshotting`:
 * ElastiCache refuses to list or change its tags and to delete it, and a tag change takes it
 * through `modifying` (docs/aws-behaviour.md, Tagging and group state; the sandbox models both).
 * The workflow waits these out and ends as it would have without the backup.
 */
const backup =
  (realisticMs: number) =>
  async (bed: WorkflowBed): Promise<void> => {
    bed.sandbox.elasticache.beginAutomaticBackup(SOURCE, realisticMs);
  };
// At the bed's time scale (0.0002): 10 minutes last 120 ms; 10 hours 7 s, longer than the
// rollback's wait in one pass (5 s), so the rollback loop comes back for it.
const TEN_MINUTES = 10 * 60_000;
const TEN_HOURS = 10 * 3600_000;
const migrated = { end: 'migrated' as const, flipped: true };

const rows: FaultPoint[] = [
  {
    name: 'a backup is running as preflight reads the source (it waits, and does not refuse)',
    arm: [{ at: 'RunPreflight', run: backup(TEN_MINUTES) }],
    expect: migrated,
  },
  {
    name: 'a backup starts as the source is tagged and snapshotted',
    arm: [{ at: 'CreateSnapshot', run: backup(TEN_MINUTES) }],
    expect: migrated,
  },
  {
    name: 'a backup is running as the source is to be deleted',
    arm: [{ at: 'DeleteSource', run: backup(TEN_MINUTES) }],
    expect: migrated,
  },
  {
    name: 'a backup is running as the kept source is released at the end',
    input: { deleteSource: false },
    arm: [{ at: 'CleanUpAndSummarize', run: backup(TEN_MINUTES) }],
    expect: migrated,
  },
  {
    name: 'a long backup is running as the rollback releases the source',
    fails: ['CreateReplicationGroup'],
    arm: [
      { at: 'RestoreEncryptedGroup', faults: [denied('CreateReplicationGroup')] },
      { at: 'RollBackChanges', run: backup(TEN_HOURS) },
    ],
    expect: { end: 'rolled-back', error: 'AccessDenied', flipped: false },
  },
];

let bed: WorkflowBed;
beforeAll(async () => {
  bed = await startQuietBed();
});
afterAll(() => bed.stop());

describe('the daily backup window', () => {
  it.each(rows.map((row) => [row.name, row] as const))('ends as without it when %s', (_name, row) =>
    runFaultPoint(bed, row),
  );
});
