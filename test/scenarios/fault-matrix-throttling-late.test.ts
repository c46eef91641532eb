import { afterAll, beforeAll, describe, it } from 'vitest';
import { runFaultPoint, startQuietBed } from '../support/fault-matrix.js';
import { throttlingLateRows } from '../support/fault-points.js';
import type { WorkflowBed } from '../support/workflow.js';

// Rows and assertions: test/support/fault-matrix.ts and fault-points.ts. Each row resets the sandbox.
let bed: WorkflowBed;
beforeAll(async () => {
  bed = await startQuietBed();
});
afterAll(() => bed.stop());

describe('the migration, throttled at every operation from the restore to the end', () => {
  it.each(throttlingLateRows.map((row) => [row.name, row] as const))('ends safe when %s', (_name, row) =>
    runFaultPoint(bed, row),
  );
});
