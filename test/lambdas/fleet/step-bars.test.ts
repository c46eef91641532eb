import { describe, expect, it } from 'vitest';
import { type HistoryEvent, stepBars } from '../../../lambdas/fleet/report-model.js';

/** A TaskScheduled event calling one of the migration's Lambda functions, `seconds` into the run. */
const task = (seconds: number, functionName: string): HistoryEvent => ({
  type: 'TaskScheduled',
  timestamp: 1_700_000_000_000 + seconds * 1000,
  taskScheduledEventDetails: {
    resource: 'invoke',
    parameters: JSON.stringify({
      FunctionName: `arn:aws:lambda:eu-west-1:111122223333:function:${functionName}`,
    }),
  },
});

describe('the timeline of one migration in the fleet report', () => {
  it('gives one bar per README step, in order, with the time each took', () => {
    const bars = stepBars([
      task(0, 'at-rest-preflight'),
      task(2, 'at-rest-snapshot'),
      task(62, 'at-rest-snapshot'),
      task(70, 'at-rest-restore'),
      task(400, 'at-rest-verifytarget'),
      // SetBackupNode calls the restore function again after verification.
      task(410, 'at-rest-restore'),
      task(415, 'at-rest-restore'),
      task(420, 'at-rest-verifydata'),
      task(450, 'at-rest-cutover'),
      // Change tracking is put back after the flip.
      task(460, 'at-rest-changetracking'),
      task(470, 'at-rest-cutover'),
      {
        type: 'WaitStateEntered',
        timestamp: 1_700_000_000_000 + 480_000,
        stateEnteredEventDetails: { name: 'Soak' },
      },
      task(780, 'at-rest-decommission'),
      { type: 'ExecutionSucceeded', timestamp: 1_700_000_000_000 + 900_000 },
    ]);
    expect(bars.map((b) => [b.step, b.seconds])).toEqual([
      ['Preflight', 2],
      ['Snapshot', 68],
      ['Restore', 330],
      ['VerifyTarget', 20],
      ['CatchUp', 30],
      ['Cutover', 30],
      ['Soak', 300],
      ['Decommission', 120],
    ]);
  });
});
