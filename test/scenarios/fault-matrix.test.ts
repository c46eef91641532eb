import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFaultPoint, startQuietBed, WORKFLOW_OPERATIONS } from '../support/fault-matrix.js';
import { ALL_ROWS, preflightRows } from '../support/fault-points.js';
import type { WorkflowBed } from '../support/workflow.js';

// The other stages run in fault-matrix-*.test.ts, in parallel; this file runs preflight's rows
// and checks the matrix as a whole.
let bed: WorkflowBed;
beforeAll(async () => {
  bed = await startQuietBed();
});
afterAll(() => bed.stop());

describe('the migration, failing at preflight', () => {
  it.each(preflightRows.map((row) => [row.name, row] as const))('ends safe when %s', (_name, row) =>
    runFaultPoint(bed, row),
  );
});

describe('the fault matrix', () => {
  const rows = ALL_ROWS.flat();

  it('fails every operation the workflow calls and throttles each of them', () => {
    const failed = new Set(rows.flatMap((r) => r.fails ?? []));
    const throttled = new Set(rows.flatMap((r) => r.throttles ?? []));
    expect(WORKFLOW_OPERATIONS.filter((op) => !failed.has(op))).toEqual([]);
    expect(WORKFLOW_OPERATIONS.filter((op) => !throttled.has(op))).toEqual([]);
  });

  it('covers at least 89 distinct fault points', () => {
    expect(new Set(rows.map((r) => r.name)).size).toBe(rows.length);
    expect(rows.length).toBeGreaterThanOrEqual(89);
  });
});
