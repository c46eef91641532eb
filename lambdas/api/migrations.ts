import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeExecutionCommand,
  type ExecutionStatus,
  ListExecutionsCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { checkClaim, readClaim } from '../migration/claim.js';
import { migrationInput } from '../migration/input.js';
import { MigrationInProgressError } from '../shared/errors.js';
import { readExecutionHistory } from '../shared/execution-history.js';
import { type CancelHow, cancelExecution } from './cancel.js';
import { type ExecutionProgress, readableCause, summarizeHistory } from './history.js';

/**
 * What the migrations API does, one function per route, over Step Functions and the migrations
 * table. The handler (lambdas/handlers/api.ts) maps HTTP to these and ApiError to a response.
 * Nothing from the HTTP request but the validated body (and the caller's ARN, as a name for the
 * audit trail) reaches Step Functions: no header, no credential.
 */

export interface ApiClients {
  sfn: SFNClient;
  dynamodb: DynamoDBClient;
}

export interface ApiContext extends ApiClients {
  /** The one state machine this API starts and reads (STATE_MACHINE_ARN). */
  stateMachineArn: string;
  /** The caller's IAM ARN as API Gateway authenticated it, for approvals and rejections. */
  caller?: string;
  now?: () => Date;
}

/** A refusal with an HTTP status; `fields` lists bad body fields (path and problem). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields?: ReadonlyArray<{ path: string; message: string }>,
  ) {
    super(message);
  }
}

const STATUSES = new Set(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']);

/**
 * Step Functions execution names: 1-80 characters, none of whitespace, brackets, wildcards,
 * `" # % \ ^ | ~ \` $ & , ; : /` or control characters (API reference, StartExecution `name`).
 */
const EXECUTION_NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\p{Cc}]{1,80}$/u;

function parseArn(stateMachineArn: string) {
  const match = /^arn:([^:]+):states:([^:]+):(\d{12}):stateMachine:([^:]+)$/.exec(stateMachineArn);
  if (!match) throw new Error(`STATE_MACHINE_ARN '${stateMachineArn}' is not a state machine ARN.`);
  const [, partition, region, account, name] = match as unknown as [string, string, string, string, string];
  return { partition, region, account, name };
}

/** The execution ARN of a migration id (the execution name) on this API's state machine. */
export function executionArnOf(stateMachineArn: string, migrationId: string): string {
  checkMigrationId(migrationId);
  const { partition, region, account, name } = parseArn(stateMachineArn);
  return `arn:${partition}:states:${region}:${account}:execution:${name}:${migrationId}`;
}

function checkMigrationId(migrationId: string): void {
  if (!EXECUTION_NAME.test(migrationId)) {
    throw new ApiError(
      400,
      'InvalidMigrationId',
      `'${migrationId.slice(0, 100)}' is not a migration id: it is the execution name, 1-80 characters without spaces, brackets, wildcards or any of " # % \\ ^ | ~ \` $ & , ; : /.`,
    );
  }
}

/** `orders-cache-20261129-224501`: the source and the start time (UTC), unique per second. */
export function defaultMigrationId(sourceId: string, now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/[-:]/g, '')
    .replace('T', '-');
  return `${sourceId}-${stamp}`;
}

/**
 * Validates a start request's body with the one input definition (lambdas/migration/input.ts).
 * API Gateway's model has already checked what JSON Schema can say; this catches the rest (and is
 * the only check when the function is called some other way). Every bad field is listed.
 */
export function validateStartBody(body: unknown): { sourceId: string; takeOver?: string } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ApiError(
      400,
      'InvalidInputError',
      'The body must be a JSON object: the execution input, like {"sourceReplicationGroupId": "orders"} (examples/ has one for each common case).',
    );
  }
  const result = migrationInput.safeParse(body);
  if (!result.success) {
    const fields = result.error.issues.map((issue) => ({
      path: issue.path.length ? issue.path.join('.') : '(body)',
      message: issue.message,
    }));
    throw new ApiError(
      400,
      'InvalidInputError',
      `The migration input is not valid. Fix these fields and send it again:\n- ${fields.map((f) => `${f.path}: ${f.message}`).join('\n- ')}`,
      fields,
    );
  }
  return {
    sourceId: result.data.sourceReplicationGroupId,
    ...(result.data.takeOverStaleClaim === undefined ? {} : { takeOver: result.data.takeOverStaleClaim }),
  };
}

export interface StartedMigration {
  migrationId: string;
  executionArn: string;
  startDate: string;
}

/**
 * POST /migrations: validates the input, refuses a source another migration holds (409), and
 * starts one execution named `migrationId` with the body as its input, unchanged. The claim is
 * read here to refuse early and clearly; the exclusive claim itself is taken by preflight with a
 * conditional write, so two starts racing past this check still end with one migration.
 */
export async function startMigration(
  context: ApiContext,
  body: unknown,
  requestedId?: string,
): Promise<StartedMigration> {
  const { sourceId, takeOver } = validateStartBody(body);
  const now = context.now?.() ?? new Date();
  const migrationId = requestedId ?? defaultMigrationId(sourceId, now);
  const executionArn = executionArnOf(context.stateMachineArn, migrationId);
  const { partition, region, account } = parseArn(context.stateMachineArn);
  const sourceArn = `arn:${partition}:elasticache:${region}:${account}:replicationgroup:${sourceId}`;
  try {
    checkClaim(await readClaim(context.dynamodb, sourceArn), {
      sourceArn,
      sourceId,
      migrationId,
      ...(takeOver === undefined ? {} : { takeOver }),
    });
  } catch (error) {
    if (error instanceof MigrationInProgressError) {
      throw new ApiError(409, 'MigrationInProgressError', error.message);
    }
    throw error;
  }
  try {
    const out = await context.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: context.stateMachineArn,
        name: migrationId,
        input: JSON.stringify(body),
      }),
    );
    return {
      migrationId,
      executionArn: out.executionArn ?? executionArn,
      startDate: (out.startDate ?? now).toISOString(),
    };
  } catch (error) {
    if ((error as Error).name === 'ExecutionAlreadyExists') {
      throw new ApiError(
        409,
        'MigrationIdTaken',
        `A migration named '${migrationId}' already exists with a different input (execution names are unique for 90 days). Choose another name (?name=...) or look at it: GET /migrations/${migrationId}.`,
      );
    }
    throw error;
  }
}

export interface MigrationListItem {
  migrationId: string;
  status: string;
  startDate?: string;
  stopDate?: string;
}

/** GET /migrations: the executions of the state machine, newest first, one page at a time. */
export async function listMigrations(
  context: ApiContext,
  query: { status?: string; nextToken?: string; limit?: string },
): Promise<{ migrations: MigrationListItem[]; nextToken?: string }> {
  const status = query.status?.toUpperCase();
  if (status !== undefined && !STATUSES.has(status)) {
    throw new ApiError(
      400,
      'InvalidStatus',
      `status must be one of ${[...STATUSES].join(', ')}; got '${query.status}'.`,
    );
  }
  const limit = query.limit === undefined ? 50 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new ApiError(400, 'InvalidLimit', `limit must be an integer from 1 to 1000; got '${query.limit}'.`);
  }
  const out = await context.sfn.send(
    new ListExecutionsCommand({
      stateMachineArn: context.stateMachineArn,
      maxResults: limit,
      ...(status === undefined ? {} : { statusFilter: status as ExecutionStatus }),
      ...(query.nextToken === undefined ? {} : { nextToken: query.nextToken }),
    }),
  );
  return {
    migrations: (out.executions ?? []).map((execution) => ({
      migrationId: execution.name ?? '',
      status: execution.status ?? 'UNKNOWN',
      ...(execution.startDate ? { startDate: execution.startDate.toISOString() } : {}),
      ...(execution.stopDate ? { stopDate: execution.stopDate.toISOString() } : {}),
    })),
    ...(out.nextToken ? { nextToken: out.nextToken } : {}),
  };
}

export interface MigrationDetails extends Omit<ExecutionProgress, 'waitingFor'> {
  migrationId: string;
  executionArn: string;
  status: string;
  sourceReplicationGroupId?: string;
  startDate?: string;
  stopDate?: string;
  /** The gate waiting for an operator (without its task token: POST .../approve answers it). */
  waitingFor?: { step: string; gate: string; since: string };
  /** How the execution ended, when it failed. */
  error?: string;
  cause?: string;
  /** The summary of a finished migration (or the plan of a dry run). */
  output?: unknown;
}

async function readExecution(context: ApiContext, migrationId: string) {
  const executionArn = executionArnOf(context.stateMachineArn, migrationId);
  try {
    const execution = await context.sfn.send(new DescribeExecutionCommand({ executionArn }));
    const events = await readExecutionHistory(context.sfn, executionArn);
    return { executionArn, execution, progress: summarizeHistory(events, context.now?.() ?? new Date()) };
  } catch (error) {
    if ((error as Error).name === 'ExecutionDoesNotExist') {
      throw new ApiError(
        404,
        'MigrationNotFound',
        `No migration '${migrationId}' on this state machine. GET /migrations lists them.`,
      );
    }
    throw error;
  }
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** GET /migrations/{id}: status, current step, each step's timings, errors, the waiting gate. */
export async function getMigration(context: ApiContext, migrationId: string): Promise<MigrationDetails> {
  const { executionArn, execution, progress } = await readExecution(context, migrationId);
  const input = parseJson(execution.input) as { sourceReplicationGroupId?: unknown } | undefined;
  const { waitingFor, ...rest } = progress;
  const cause = readableCause(execution.cause);
  return {
    migrationId,
    executionArn,
    status: execution.status ?? 'UNKNOWN',
    ...(typeof input?.sourceReplicationGroupId === 'string'
      ? { sourceReplicationGroupId: input.sourceReplicationGroupId }
      : {}),
    ...(execution.startDate ? { startDate: execution.startDate.toISOString() } : {}),
    ...(execution.stopDate ? { stopDate: execution.stopDate.toISOString() } : {}),
    ...rest,
    ...(waitingFor
      ? { waitingFor: { step: waitingFor.step, gate: waitingFor.gate, since: waitingFor.since } }
      : {}),
    ...(execution.error ? { error: execution.error } : {}),
    ...(cause === undefined ? {} : { cause }),
    ...(execution.output === undefined ? {} : { output: parseJson(execution.output) }),
  };
}

/** The body of approve, reject and cancel: an optional reason, kept in the execution's history. */
export function parseDecisionBody(body: unknown): { reason?: string } {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new ApiError(400, 'InvalidBody', 'The body must be empty or a JSON object like {"reason": "..."}.');
  }
  const { reason, ...rest } = body as { reason?: unknown };
  const unknown = Object.keys(rest);
  const fields = [
    ...unknown.map((key) => ({ path: key, message: 'unknown field (only "reason" is accepted)' })),
    ...(reason !== undefined && (typeof reason !== 'string' || reason.length > 1000)
      ? [{ path: 'reason', message: 'must be a string of at most 1,000 characters' }]
      : []),
  ];
  if (fields.length > 0) {
    throw new ApiError(
      400,
      'InvalidBody',
      `The body is not valid:\n- ${fields.map((f) => `${f.path}: ${f.message}`).join('\n- ')}`,
      fields,
    );
  }
  return typeof reason === 'string' ? { reason } : {};
}

export interface Decision {
  migrationId: string;
  step: string;
  gate: string;
  decision: 'approved' | 'rejected';
}

async function waitingGate(context: ApiContext, migrationId: string, verb: string) {
  const { execution, progress } = await readExecution(context, migrationId);
  if (execution.status !== 'RUNNING') {
    throw new ApiError(
      409,
      'MigrationNotRunning',
      `Migration '${migrationId}' is ${execution.status}: there is nothing to ${verb}.`,
    );
  }
  return progress;
}

/**
 * POST /migrations/{id}/approve and /reject: finds the approval gate the execution waits at (its
 * task token is in the history) and answers it. Approving lets the migration go on; rejecting fails
 * the gate with ApprovalRejectedError, which the state machine catches and rolls back.
 */
export async function decide(
  context: ApiContext,
  migrationId: string,
  decision: 'approve' | 'reject',
  body: unknown,
): Promise<Decision> {
  const { reason } = parseDecisionBody(body);
  const progress = await waitingGate(context, migrationId, decision);
  const gate = progress.waitingFor;
  if (!gate) {
    throw new ApiError(
      409,
      'NotWaitingForApproval',
      `Migration '${migrationId}' is not waiting for an approval (it is in ${progress.currentStep ?? 'no step yet'}). GET /migrations/${migrationId} shows where it is.`,
    );
  }
  const by = context.caller ?? 'an API caller';
  if (decision === 'approve') {
    await answer(migrationId, () =>
      context.sfn.send(
        new SendTaskSuccessCommand({
          taskToken: gate.taskToken,
          output: JSON.stringify({ approved: true, by, ...(reason ? { reason } : {}) }),
        }),
      ),
    );
  } else {
    await answer(migrationId, () =>
      context.sfn.send(
        new SendTaskFailureCommand({
          taskToken: gate.taskToken,
          error: 'ApprovalRejectedError',
          cause: `Rejected at ${gate.gate} by ${by} through the API${reason ? `: ${reason}` : ''}`,
        }),
      ),
    );
  }
  return {
    migrationId,
    step: gate.step,
    gate: gate.gate,
    decision: decision === 'approve' ? 'approved' : 'rejected',
  };
}

/** A token answered twice, or after its task ended, is a conflict, not a server error. */
async function answer<T>(migrationId: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'TaskTimedOut' || name === 'TaskDoesNotExist' || name === 'InvalidToken') {
      throw new ApiError(
        409,
        'GateAlreadyAnswered',
        `The gate of migration '${migrationId}' was answered or timed out meanwhile (${name}). GET /migrations/${migrationId} shows where it is.`,
      );
    }
    throw error;
  }
}

export interface Cancellation {
  migrationId: string;
  /** `gate-rejected`: it waited at a gate, failed so that its own rollback runs now; `stopped`: StopExecution. */
  cancelled: CancelHow;
  /** The step it was in. */
  stoppedIn?: string;
}

/**
 * POST /migrations/{id}/cancel, as the project's CLI cancels: a migration waiting at an approval
 * gate has the gate failed (MigrationCancelledError), and the execution's own Catch rolls it back
 * at once. Anywhere else it is stopped (StopExecution): Step Functions runs no Catch for a stopped
 * execution, so the deployment's rule on "Step Functions Execution Status Change" (ABORTED) starts
 * RollbackStoppedMigration, which waits out the step that was running, rebuilds the migration state
 * from the history and runs the same rollback: nothing is abandoned. The cause names who and why.
 */
export async function cancelMigration(
  context: ApiContext,
  migrationId: string,
  body: unknown,
): Promise<Cancellation> {
  const { reason } = parseDecisionBody(body);
  const progress = await waitingGate(context, migrationId, 'cancel');
  const cause = `Cancelled by ${context.caller ?? 'an API caller'} through the API${reason ? `: ${reason}` : ''}`;
  const gate = progress.waitingFor;
  // A gate answered meanwhile is a conflict (answer); StopExecution raises none of those names.
  const how = await answer(migrationId, () =>
    cancelExecution(context.sfn, executionArnOf(context.stateMachineArn, migrationId), gate, cause),
  );
  return {
    migrationId,
    cancelled: how,
    ...(progress.currentStep ? { stoppedIn: progress.currentStep } : {}),
  };
}
