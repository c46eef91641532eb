import type { MigrationSummary } from '../migration/state.js';
import { runbookLink } from '../shared/errors.js';

/**
 * One group's row of the batch report. Written by DiscoverGroups (planned, or why not),
 * AdmitGroup (skipped) and RecordOutcome (how its migration ended).
 */
export type Outcome =
  | 'planned'
  | 'migrated'
  | 'migrated-source-kept'
  | 'already-encrypted'
  | 'already-migrated'
  | 'in-flight'
  | 'refused'
  | 'rolled-back'
  | 'failed'
  | 'skipped';

export interface StepBar {
  /** The README's step (Preflight, Snapshot, Restore, ...). */
  step: string;
  startedAt: string;
  seconds: number;
}

export interface GroupReport {
  groupId: string;
  engine?: string;
  /** Nodes of the group (and of its new group while both exist). */
  nodes: number;
  outcome: Outcome;
  /** Why it was skipped or not started (skips and waits only). */
  reason?: string;
  message?: string;
  /** The per-group execution input, as planned (no secrets: only a secret's ARN). */
  input?: Record<string, unknown>;
  targetReplicationGroupId?: string;
  /** Settings that differ on the new group (from the plan). */
  changes?: string[];
  dnsRecords?: number;
  executionName?: string;
  executionArn?: string;
  startedAt?: string;
  stoppedAt?: string;
  steps: StepBar[];
  keysVerified?: number;
  freezeMs?: number;
  error?: { name: string; message: string; runbook: string };
}

/** Errors preflight raises before it changes anything (runbooks/failures.md, Refused at preflight). */
export const REFUSALS = new Set([
  'InvalidInputError',
  'SourceNotFoundError',
  'SourceNotAvailableError',
  'GlobalDatastoreMemberError',
  'EncryptionNotSupportedError',
  'DnsRecordMismatchError',
  'HostedZoneNotAllowedError',
  'TargetIdTakenError',
  'KmsKeyNotUsableError',
  'CloudFormationManagedError',
  'SnapshotQuotaError',
  'AuthTokenError',
  'TransitEncryptionPolicyError',
]);

/** Errors after which resources may be left for an operator: the rollback itself failed. */
const UNFINISHED_ROLLBACK = new Set(['RollbackFailedError', 'States.Runtime']);

/** What a child execution's end means for the report. */
export function outcomeOfChild(
  child: ChildEnd,
): Pick<GroupReport, 'outcome' | 'error' | 'keysVerified' | 'freezeMs'> {
  if (child.status === 'SUCCEEDED') {
    const summary = (child.output ?? {}) as Partial<MigrationSummary> & { outcome?: string };
    const outcome =
      summary.outcome === 'migrated-source-kept'
        ? 'migrated-source-kept'
        : summary.outcome === 'already-encrypted'
          ? 'already-encrypted'
          : 'migrated';
    return {
      outcome,
      ...(summary.dataVerification?.keysChecked !== undefined
        ? { keysVerified: summary.dataVerification.keysChecked }
        : summary.cutover?.dataPolicy === 'exact'
          ? { keysVerified: summary.cutover.keysCopied }
          : {}),
      ...(summary.cutover?.frozenMs !== undefined ? { freezeMs: summary.cutover.frozenMs } : {}),
    };
  }
  const name = child.error ?? (child.status === 'TIMED_OUT' ? 'States.Timeout' : 'ExecutionAborted');
  const message = child.cause ?? `The execution ended ${child.status}.`;
  const error = { name, message: errorMessage(message), runbook: runbookLink(name) };
  if (name === 'MigrationInProgressError') return { outcome: 'in-flight', error };
  if (REFUSALS.has(name)) return { outcome: 'refused', error };
  if (child.status !== 'FAILED' || UNFINISHED_ROLLBACK.has(name)) return { outcome: 'failed', error };
  // No execution: the batch's own step failed (admission, StartExecution), so nothing ran and
  // nothing was rolled back.
  if (!child.executionArn) return { outcome: 'failed', error };
  return { outcome: 'rolled-back', error };
}

/** Lambda's error JSON ({errorType, errorMessage}) reads as its message. */
function errorMessage(cause: string): string {
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON: the cause is the message
  }
  return cause;
}

/** How a child execution ended, as `states:startExecution.sync:2` reports it. */
export interface ChildEnd {
  executionArn?: string;
  status: 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';
  output?: unknown;
  error?: string;
  cause?: string;
  startedAt?: string;
  stoppedAt?: string;
}

/**
 * Reads the end of a child from what the Task state got: its result (succeeded) or the Catch's
 * `{Error, Cause}`, whose Cause is the child's DescribeExecution as JSON (docs/fleet.md).
 */
export function childEndOf(result: unknown, caught: unknown): ChildEnd {
  if (result && typeof result === 'object') {
    const r = result as Record<string, unknown>;
    return {
      status: (r.Status as ChildEnd['status']) ?? 'SUCCEEDED',
      output: typeof r.Output === 'string' ? safeJson(r.Output) : r.Output,
      ...(typeof r.ExecutionArn === 'string' ? { executionArn: r.ExecutionArn } : {}),
      ...dates(r),
    };
  }
  const c = (caught ?? {}) as { Error?: string; Cause?: string };
  const described = typeof c.Cause === 'string' ? safeJson(c.Cause) : undefined;
  if (described && typeof described === 'object' && 'Status' in described) {
    const d = described as Record<string, unknown>;
    return {
      status: d.Status as ChildEnd['status'],
      ...(typeof d.ExecutionArn === 'string' ? { executionArn: d.ExecutionArn } : {}),
      ...(typeof d.Error === 'string' ? { error: d.Error } : {}),
      ...(typeof d.Cause === 'string' ? { cause: d.Cause } : {}),
      ...dates(d),
    };
  }
  // The task itself failed (the child never started, e.g. StartExecution was refused).
  return { status: 'FAILED', error: c.Error ?? 'States.TaskFailed', cause: c.Cause ?? '' };
}

function dates(r: Record<string, unknown>) {
  const iso = (v: unknown) =>
    typeof v === 'number'
      ? new Date(v < 1e12 ? v * 1000 : v).toISOString()
      : typeof v === 'string'
        ? v
        : undefined;
  const startedAt = iso(r.StartDate);
  const stoppedAt = iso(r.StopDate);
  return { ...(startedAt ? { startedAt } : {}), ...(stoppedAt ? { stoppedAt } : {}) };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** An event of GetExecutionHistory, the fields the timeline reads. */
export interface HistoryEvent {
  type: string;
  timestamp: string | number | Date;
  stateEnteredEventDetails?: { name?: string };
  /** `parameters` is the task's parameters as JSON (FunctionName for Lambda tasks). */
  taskScheduledEventDetails?: { resource?: string; parameters?: string };
}

/**
 * The README's step a task belongs to, by the Lambda function it calls (state names change,
 * each step has its own function): the first token found in the function's name or ARN.
 */
const FUNCTION_STEPS: [string, string][] = [
  ['preflight', 'Preflight'],
  ['requestapproval', 'Approval'],
  ['changetracking', 'CatchUp'],
  ['verifydata', 'CatchUp'],
  ['verifytarget', 'VerifyTarget'],
  ['snapshot', 'Snapshot'],
  ['restore', 'Restore'],
  ['cutover', 'Cutover'],
  ['decommission', 'Decommission'],
  ['rollback', 'Rollback'],
];

export function stepOfFunction(functionName: string): string | undefined {
  const flat = functionName.toLowerCase().replace(/[^a-z0-9]/g, '');
  // The name after the last ':' (an ARN's function name) decides when the ARN has several tokens.
  const name = (functionName.split(':').at(-1) ?? functionName).toLowerCase().replace(/[^a-z0-9]/g, '');
  for (const [token, step] of FUNCTION_STEPS) if (name.includes(token)) return step;
  for (const [token, step] of FUNCTION_STEPS) if (flat.includes(token)) return step;
  return undefined;
}

function functionOf(event: HistoryEvent): string | undefined {
  const text = event.taskScheduledEventDetails?.parameters;
  if (!text) return undefined;
  try {
    const name = (JSON.parse(text) as { FunctionName?: unknown }).FunctionName;
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One bar per step, from the child's history: a bar opens when a task calls another step's
 * function (or the Soak wait begins) and lasts until the next bar or the end.
 */
export function stepBars(history: HistoryEvent[]): StepBar[] {
  const ms = (t: HistoryEvent['timestamp']) =>
    t instanceof Date ? t.getTime() : typeof t === 'number' ? t : Date.parse(t);
  const bars: { step: string; start: number; end: number }[] = [];
  let last = 0;
  for (const event of history) {
    const at = ms(event.timestamp);
    last = Math.max(last, at);
    const current = bars.at(-1);
    if (current) current.end = at;
    let step: string | undefined;
    if (event.type === 'TaskScheduled') {
      const fn = functionOf(event);
      step = fn ? stepOfFunction(fn) : undefined;
    } else if (event.type === 'WaitStateEntered' && event.stateEnteredEventDetails?.name === 'Soak')
      step = 'Soak';
    // Change tracking is put back after the flip: that belongs to the cutover.
    if (step === 'CatchUp' && current?.step === 'Cutover') continue;
    // SetBackupNode calls the restore function after verification: it readies the verified group,
    // so it stays in the VerifyTarget bar rather than opening a second Restore bar.
    if (step === 'Restore' && current?.step === 'VerifyTarget') continue;
    if (!step || current?.step === step) continue;
    bars.push({ step, start: at, end: at });
  }
  const tail = bars.at(-1);
  if (tail) tail.end = last;
  return bars.map((b) => ({
    step: b.step,
    startedAt: new Date(b.start).toISOString(),
    seconds: Math.max(0, (b.end - b.start) / 1000),
  }));
}

/** The tolerated-failure threshold; with neither field set, the first failure stops new starts. */
export interface FailureThreshold {
  count?: number;
  percentage?: number;
}

/** The batch report, as stored (JSON) and rendered (HTML). */
export interface FleetReport {
  batchId: string;
  executionArn?: string;
  dryRun: boolean;
  startedAt: string;
  finishedAt: string;
  settings: { maxConcurrency: number; threshold: FailureThreshold; windowClosesAt?: string };
  counts: Record<string, number>;
  /** Why migrations stopped starting before every group was tried, if they did. */
  stopped?: string;
  /** The Map Run's own failure, if it failed (not a migration's: those are rows). */
  mapError?: { Error?: string; Cause?: string };
  groups: GroupReport[];
  files: { json: string; html: string };
}
