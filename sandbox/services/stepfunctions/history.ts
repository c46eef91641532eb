import type { EngineEvent, LocalHistoryItem, LocalTaskEvent } from '../../stepfunctions.js';

/**
 * One history event as GetExecutionHistory returns it: `id` counts from 1, `previousEventId` is
 * the event before it, `timestamp` a date, and the details in the member named after the type
 * (`taskScheduledEventDetails`, `stateEnteredEventDetails`, …), with JSON documents as strings.
 */
export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: Date;
  type: string;
  [details: string]: unknown;
}

const json = (value: unknown) => JSON.stringify(value ?? null);
const truncated = { truncated: false };

/** The Lambda integration's resource as history names it: `invoke`, `invoke.waitForTaskToken`. */
function taskDetails(event: LocalTaskEvent, region: string): [string, Record<string, unknown>] {
  const base = { resourceType: 'lambda', resource: event.resource };
  switch (event.type) {
    case 'TaskScheduled':
      return [
        'taskScheduledEventDetails',
        {
          ...base,
          region,
          parameters: json(event.parameters),
          ...(event.timeoutSeconds !== undefined ? { timeoutInSeconds: event.timeoutSeconds } : {}),
          ...(event.heartbeatSeconds !== undefined ? { heartbeatInSeconds: event.heartbeatSeconds } : {}),
        },
      ];
    case 'TaskStarted':
      return ['taskStartedEventDetails', base];
    case 'TaskSubmitted':
      return ['taskSubmittedEventDetails', { ...base, output: json(event.output), outputDetails: truncated }];
    case 'TaskSucceeded':
      return ['taskSucceededEventDetails', { ...base, output: json(event.output), outputDetails: truncated }];
    case 'TaskFailed':
      return ['taskFailedEventDetails', { ...base, error: event.error, cause: event.cause }];
    case 'TaskTimedOut':
      return ['taskTimedOutEventDetails', { ...base, error: event.error, cause: event.cause }];
  }
}

const causeText = (cause: unknown) =>
  cause === undefined ? undefined : typeof cause === 'string' ? cause : JSON.stringify(cause);

/**
 * The AWS type and details of an engine event, or undefined for the engine's own bookkeeping
 * that AWS does not record (StateFailed, StateRetried, StateCaught: AWS records the TaskFailed
 * and the next state's entry instead). Execution-level ends are written by the store.
 */
function engineDetails(event: EngineEvent): [string, string, Record<string, unknown>] | undefined {
  const state = event.state;
  switch (event.type) {
    case 'ExecutionStarted':
      return undefined;
    case 'StateEntered':
      if (!state) return undefined;
      return [
        `${state.type}StateEntered`,
        'stateEnteredEventDetails',
        { name: state.name, input: json(state.input), inputDetails: truncated },
      ];
    case 'StateExited':
      if (!state) return undefined;
      return [
        `${state.type}StateExited`,
        'stateExitedEventDetails',
        { name: state.name, output: json(state.output), outputDetails: truncated },
      ];
    default:
      return undefined;
  }
}

/** Appends events with AWS's ids; `includeData: false` is applied when reading (see `view`). */
export class ExecutionHistory {
  readonly events: HistoryEvent[] = [];

  constructor(private readonly region: string) {}

  add(type: string, detailsMember: string | undefined, details: Record<string, unknown>, at = Date.now()) {
    const id = this.events.length + 1;
    const event: HistoryEvent = { id, previousEventId: id - 1, timestamp: new Date(at), type };
    if (detailsMember) event[detailsMember] = details;
    this.events.push(event);
    return event;
  }

  record(item: LocalHistoryItem): void {
    if (item.kind === 'task') {
      const [member, details] = taskDetails(item.event, this.region);
      this.add(item.event.type, member, details, item.timestamp);
      return;
    }
    const mapped = engineDetails(item.event);
    if (mapped) this.add(mapped[0], mapped[1], mapped[2], item.timestamp);
  }

  started(input: string, roleArn: string, at: number): void {
    this.add(
      'ExecutionStarted',
      'executionStartedEventDetails',
      { input, inputDetails: truncated, roleArn },
      at,
    );
  }

  ended(
    status: 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT',
    end: { output?: string; error?: string; cause?: unknown },
    at: number,
  ): void {
    const errorDetails = {
      ...(end.error !== undefined ? { error: end.error } : {}),
      ...(end.cause !== undefined ? { cause: causeText(end.cause) } : {}),
    };
    if (status === 'SUCCEEDED')
      this.add(
        'ExecutionSucceeded',
        'executionSucceededEventDetails',
        { output: end.output ?? 'null', outputDetails: truncated },
        at,
      );
    else if (status === 'FAILED')
      this.add('ExecutionFailed', 'executionFailedEventDetails', errorDetails, at);
    else if (status === 'ABORTED')
      this.add('ExecutionAborted', 'executionAbortedEventDetails', errorDetails, at);
    else this.add('ExecutionTimedOut', 'executionTimedOutEventDetails', errorDetails, at);
  }
}

const DATA_FIELDS = new Set(['input', 'output', 'parameters']);

/** An event without its input, output and parameters (GetExecutionHistory includeExecutionData=false). */
export function withoutData(event: HistoryEvent): HistoryEvent {
  const copy: HistoryEvent = { ...event };
  for (const [key, value] of Object.entries(event)) {
    if (!key.endsWith('EventDetails') || !value || typeof value !== 'object') continue;
    copy[key] = Object.fromEntries(Object.entries(value).filter(([k]) => !DATA_FIELDS.has(k)));
  }
  return copy;
}
