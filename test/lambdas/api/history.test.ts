import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { summarizeHistory } from '../../../lambdas/api/history.js';

/** Events shaped as GetExecutionHistory returns them (types and details per the API reference). */
let id = 0;
const t0 = Date.parse('2026-11-29T10:00:00Z');
const at = (s: number) => new Date(t0 + s * 1000);
const entered = (type: string, name: string, s: number): HistoryEvent => ({
  id: ++id,
  type: `${type}StateEntered` as never,
  timestamp: at(s),
  stateEnteredEventDetails: { name },
});
const exited = (type: string, name: string, s: number): HistoryEvent => ({
  id: ++id,
  type: `${type}StateExited` as never,
  timestamp: at(s),
  stateExitedEventDetails: { name },
});
const scheduledGate = (gate: string, token: string, s: number): HistoryEvent => ({
  id: ++id,
  type: 'TaskScheduled',
  timestamp: at(s),
  taskScheduledEventDetails: {
    resourceType: 'lambda',
    resource: 'invoke.waitForTaskToken',
    region: 'us-east-1',
    parameters: JSON.stringify({ FunctionName: 'arn:fn', Payload: { taskToken: token, gate, state: {} } }),
  },
});

describe('summarizeHistory', () => {
  it('times each step over its runs, names the current one and the gate it waits at', () => {
    const events = [
      { id: ++id, type: 'ExecutionStarted', timestamp: at(0) } as HistoryEvent,
      entered('Task', 'RunPreflight', 0),
      exited('Task', 'RunPreflight', 2),
      entered('Choice', 'NeedApprovalBeforeSnapshot', 2),
      exited('Choice', 'NeedApprovalBeforeSnapshot', 2),
      entered('Task', 'CheckSnapshot', 3),
      exited('Task', 'CheckSnapshot', 4),
      entered('Wait', 'WaitForSnapshot', 4),
      exited('Wait', 'WaitForSnapshot', 34),
      entered('Task', 'CheckSnapshot', 34),
      exited('Task', 'CheckSnapshot', 36),
      entered('Task', 'AwaitCutoverApproval', 40),
      scheduledGate('beforeCutover', 'TOKEN-1', 40),
      { id: ++id, type: 'TaskStarted', timestamp: at(40) } as HistoryEvent,
    ];
    const progress = summarizeHistory(events, at(100));
    expect(progress.currentStep).toBe('AwaitCutoverApproval');
    expect(progress.steps.map((s) => [s.name, s.runs, s.durationMs, s.running])).toEqual([
      ['RunPreflight', 1, 2000, false],
      ['CheckSnapshot', 2, 3000, false],
      ['WaitForSnapshot', 1, 30000, false],
      ['AwaitCutoverApproval', 1, 60000, true],
    ]);
    expect(progress.waitingFor).toEqual({
      step: 'AwaitCutoverApproval',
      gate: 'beforeCutover',
      since: at(40).toISOString(),
      taskToken: 'TOKEN-1',
    });
    expect(progress.errors).toEqual([]);
  });

  it('forgets a gate once answered and reports a rejection and the execution failure with readable causes', () => {
    const events = [
      entered('Task', 'AwaitSnapshotApproval', 0),
      scheduledGate('beforeSnapshot', 'TOKEN-2', 0),
      {
        id: ++id,
        type: 'TaskFailed',
        timestamp: at(5),
        taskFailedEventDetails: { error: 'ApprovalRejectedError', cause: 'Rejected by ops' },
      } as HistoryEvent,
      exited('Task', 'AwaitSnapshotApproval', 5),
      entered('Task', 'RollBackChanges', 6),
      {
        id: ++id,
        type: 'LambdaFunctionFailed',
        timestamp: at(7),
        lambdaFunctionFailedEventDetails: {
          error: 'Throttling',
          cause: JSON.stringify({ errorType: 'Throttling', errorMessage: 'Rate exceeded', trace: [] }),
        },
      } as HistoryEvent,
      exited('Task', 'RollBackChanges', 9),
      {
        id: ++id,
        type: 'ExecutionFailed',
        timestamp: at(10),
        executionFailedEventDetails: { error: 'ApprovalRejectedError', cause: 'Rolled back' },
      } as HistoryEvent,
    ];
    const progress = summarizeHistory(events, at(100));
    expect(progress.waitingFor).toBeUndefined();
    expect(progress.errors).toEqual([
      {
        step: 'AwaitSnapshotApproval',
        error: 'ApprovalRejectedError',
        cause: 'Rejected by ops',
        at: at(5).toISOString(),
      },
      { step: 'RollBackChanges', error: 'Throttling', cause: 'Rate exceeded', at: at(7).toISOString() },
      { error: 'ApprovalRejectedError', cause: 'Rolled back', at: at(10).toISOString() },
    ]);
    expect(progress.steps.every((s) => !s.running)).toBe(true);
  });
});
