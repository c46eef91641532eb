import type { HistoryEvent } from '@aws-sdk/client-sfn';

/** One state of the workflow as it ran: a Task or Wait state, possibly entered several times (polling loops). */
export interface StepTiming {
  name: string;
  type: 'Task' | 'Wait';
  /** How many times the state was entered (a Wait + check loop enters both many times). */
  runs: number;
  firstEnteredAt: string;
  /** When the state was last left; absent while it runs. */
  lastExitedAt?: string;
  /** Time spent inside the state over every run, in milliseconds (a running state counts up to `now`). */
  durationMs: number;
  running: boolean;
}

/** A failure recorded in the history: a step's error (caught and rolled back, or retried) or the execution's. */
export interface StepError {
  /** The state the error happened in; absent for the execution's own failure. */
  step?: string;
  error: string;
  cause?: string;
  at: string;
}

/** The approval gate an execution waits at, with the task token that answers it. */
export interface WaitingGate {
  step: string;
  /** beforeSnapshot, beforeCutover or beforeDeleteSource (the Payload's `gate`). */
  gate: string;
  since: string;
  taskToken: string;
}

export interface ExecutionProgress {
  /** The state the execution is in now (or ended in). */
  currentStep?: string;
  steps: StepTiming[];
  errors: StepError[];
  /** Set when the execution waits for an operator. */
  waitingFor?: WaitingGate;
}

const CLOSED_TASK_EVENTS = new Set([
  'TaskSucceeded',
  'TaskFailed',
  'TaskTimedOut',
  'TaskStartFailed',
  'TaskSubmitFailed',
]);

/** Failure events and where their details are. */
const FAILURE_DETAILS: Record<string, keyof HistoryEvent> = {
  TaskFailed: 'taskFailedEventDetails',
  TaskTimedOut: 'taskTimedOutEventDetails',
  TaskStartFailed: 'taskStartFailedEventDetails',
  TaskSubmitFailed: 'taskSubmitFailedEventDetails',
  LambdaFunctionFailed: 'lambdaFunctionFailedEventDetails',
  LambdaFunctionTimedOut: 'lambdaFunctionTimedOutEventDetails',
  ExecutionFailed: 'executionFailedEventDetails',
  ExecutionAborted: 'executionAbortedEventDetails',
  ExecutionTimedOut: 'executionTimedOutEventDetails',
};

/**
 * Lambda reports a function error as a JSON cause (`{"errorType","errorMessage","trace"}`); the
 * operator needs the message.
 */
export function readableCause(cause: string | undefined): string | undefined {
  if (cause === undefined) return undefined;
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed?.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // Not JSON: the cause is already text.
  }
  return cause;
}

/**
 * The token of a `.waitForTaskToken` task, read from the TaskScheduled event's parameters (the
 * resolved `Parameters` of the state: `Payload.taskToken` from `$$.Task.Token`).
 */
function scheduledToken(event: HistoryEvent): { taskToken: string; gate?: string } | undefined {
  const details = event.taskScheduledEventDetails;
  if (!details?.resource?.endsWith('.waitForTaskToken') || !details.parameters) return undefined;
  try {
    const parameters = JSON.parse(details.parameters) as {
      Payload?: { taskToken?: unknown; gate?: unknown };
    };
    const token = parameters.Payload?.taskToken;
    if (typeof token !== 'string' || token === '') return undefined;
    const gate = parameters.Payload?.gate;
    return { taskToken: token, ...(typeof gate === 'string' ? { gate } : {}) };
  } catch {
    return undefined;
  }
}

const iso = (date: Date | undefined) => (date ?? new Date(0)).toISOString();

/**
 * Reads an execution's history (oldest event first) into what an operator asks: which step runs,
 * how long each took, what failed, and which approval gate waits. Pure: `now` closes the running step.
 */
export function summarizeHistory(events: readonly HistoryEvent[], now = new Date()): ExecutionProgress {
  const steps = new Map<string, StepTiming & { enteredAt?: number }>();
  const errors: StepError[] = [];
  let current: string | undefined;
  let open: { step: string; token: string; gate?: string; since: Date } | undefined;

  for (const event of events) {
    const type = event.type ?? '';
    const at = event.timestamp ?? new Date(0);
    const entered = /^(Task|Wait)StateEntered$/.exec(type);
    if (entered && event.stateEnteredEventDetails?.name) {
      const name = event.stateEnteredEventDetails.name;
      current = name;
      const step = steps.get(name) ?? {
        name,
        type: entered[1] as 'Task' | 'Wait',
        runs: 0,
        firstEnteredAt: iso(at),
        durationMs: 0,
        running: false,
      };
      step.runs += 1;
      step.running = true;
      step.enteredAt = at.getTime();
      steps.set(name, step);
      continue;
    }
    if (type.endsWith('StateEntered') && event.stateEnteredEventDetails?.name) {
      current = event.stateEnteredEventDetails.name;
      continue;
    }
    if (/^(Task|Wait)StateExited$/.test(type) && event.stateExitedEventDetails?.name) {
      const step = steps.get(event.stateExitedEventDetails.name);
      if (step?.enteredAt !== undefined) {
        step.durationMs += Math.max(0, at.getTime() - step.enteredAt);
        step.lastExitedAt = iso(at);
        step.running = false;
        step.enteredAt = undefined;
      }
      if (open?.step === event.stateExitedEventDetails.name) open = undefined;
      continue;
    }
    if (type === 'TaskScheduled' && current) {
      const token = scheduledToken(event);
      if (token) open = { step: current, token: token.taskToken, gate: token.gate, since: at };
      continue;
    }
    if (CLOSED_TASK_EVENTS.has(type) && open?.step === current) open = undefined;
    const detailsKey = FAILURE_DETAILS[type];
    if (detailsKey) {
      const details = event[detailsKey] as { error?: string; cause?: string } | undefined;
      const isExecution = type.startsWith('Execution');
      const cause = readableCause(details?.cause);
      errors.push({
        ...(isExecution || !current ? {} : { step: current }),
        error: details?.error ?? type,
        ...(cause === undefined ? {} : { cause }),
        at: iso(at),
      });
    }
  }

  const ended = events.some((event) =>
    /^Execution(Succeeded|Failed|Aborted|TimedOut)$/.test(event.type ?? ''),
  );
  const timings: StepTiming[] = [...steps.values()].map(({ enteredAt, ...step }) => {
    if (step.running && enteredAt !== undefined && !ended) {
      return { ...step, durationMs: step.durationMs + Math.max(0, now.getTime() - enteredAt) };
    }
    return { ...step, running: step.running && !ended };
  });
  return {
    ...(current === undefined ? {} : { currentStep: current }),
    steps: timings,
    errors,
    ...(open && !ended
      ? {
          waitingFor: {
            step: open.step,
            gate: open.gate ?? open.step,
            since: iso(open.since),
            taskToken: open.token,
          },
        }
      : {}),
  };
}
