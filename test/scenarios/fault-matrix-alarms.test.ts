import { afterAll, beforeAll, describe, it } from 'vitest';
import { runFaultPoint, startQuietBed } from '../support/fault-matrix.js';
import { alarmRows } from '../support/fault-points.js';
import type { WorkflowBed } from '../support/workflow.js';

// Rows and assertions: test/support/fault-matrix.ts and fault-points.ts. Each row resets the sandbox.
let bed: WorkflowBed;
beforeAll(async () => {
  bed = await startQuietBed();
});
afterAll(() => bed.stop());

describe("the migration, failing in CloudWatch's alarm calls", () => {
  it.each(alarmRows.map((row) => [row.name, row] as const))('ends safe when %s', (_name, row) =>
    runFaultPoint(bed, row),
  );
});
