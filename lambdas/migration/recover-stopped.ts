import {
  DescribeExecutionCommand,
  DescribeStateMachineForExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { InvalidInputError } from '../shared/errors.js';
import type { RollbackScope } from './rollback.js';
import type { MigrationState } from './state.js';

/** The state of a stopped migration, ready for the rollback, or why there is nothing to do. */
export type RecoveredMigration =
  | (MigrationState & { rollbackScope: RollbackScope; failure: { Error: string; Cause: string } })
  | { nothingToRollBack: true; migrationId: string; reason: string };

/** The error the rollback of a stopped migration reports (the StopExecution's error, if any). */
export const STOPPED_ERROR = 'MigrationStoppedError';

const STOPPED = new Set(['ABORTED', 'TIMED_OUT']);

function parseObject(text: string | undefined): Record<string, unknown> | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const isMigrationState = (value: Record<string, unknown> | undefined): value is Record<string, unknown> =>
  !!value && typeof value.migrationId === 'string' && !!value.plan && typeof value.plan === 'object';

interface Definition {
  States: Record<
    string,
    { Type?: string; Catch?: { ErrorEquals: string[]; Next: string }[]; Result?: unknown }
  >;
}

/**
 * Where the rollback of a failure in `taskName` starts, read from the definition itself: the Pass
 * state its `States.ALL` catcher goes to sets `rollbackScope` ({dns: true} at or after the flip).
 */
export function scopeOfTask(definition: Definition, taskName: string | undefined): RollbackScope | undefined {
  const task = taskName ? definition.States[taskName] : undefined;
  const catcher = task?.Catch?.find((c) => c.ErrorEquals.includes('States.ALL'));
  const result = catcher ? definition.States[catcher.Next]?.Result : undefined;
  const dns = (result as { dns?: unknown } | undefined)?.dns;
  return typeof dns === 'boolean' ? { dns } : undefined;
}

/**
 * Rebuilds the migration state of an execution that was stopped (StopExecution: no Catch ran)
 * or timed out, from its history: the latest state document a state entered or left with. The
 * rollback scope is the one the execution had (when it was already rolling back), else the one
 * the last Task's catcher would have chosen. Refuses an execution that is still running.
 */
export async function recoverStoppedMigration(
  executionArn: string,
  sfn: SFNClient,
): Promise<RecoveredMigration> {
  if (!executionArn)
    throw new InvalidInputError('recover needs the stopped execution ARN (detail.executionArn).');
  const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  const migrationId = execution.name ?? executionArn.split(':').pop() ?? executionArn;
  if (!STOPPED.has(execution.status ?? '')) {
    throw new InvalidInputError(
      `Execution ${migrationId} is ${execution.status}, not stopped: only ABORTED or TIMED_OUT executions are rolled back this way (a running one rolls back itself).`,
    );
  }
  const failure = {
    Error: execution.error || STOPPED_ERROR,
    Cause:
      execution.cause ||
      (execution.status === 'TIMED_OUT'
        ? 'The execution timed out; its rollback ran from the status-change rule.'
        : 'The execution was stopped (StopExecution); its rollback ran from the status-change rule.'),
  };

  let state: Record<string, unknown> | undefined;
  let lastTask: string | undefined;
  let nextToken: string | undefined;
  // Newest first: the first state document found is the latest.
  do {
    const page = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 1000, nextToken }),
    );
    for (const event of page.events ?? []) {
      if (!lastTask && event.type === 'TaskStateEntered') lastTask = event.stateEnteredEventDetails?.name;
      state ??= documentOf(event);
      if (state && lastTask) break;
    }
    nextToken = state && lastTask ? undefined : page.nextToken;
  } while (nextToken);

  if (!isMigrationState(state)) {
    return {
      nothingToRollBack: true,
      migrationId,
      reason: 'the execution stopped before preflight finished: nothing was created or changed',
    };
  }
  const described = await sfn.send(new DescribeStateMachineForExecutionCommand({ executionArn }));
  const definition = JSON.parse(described.definition ?? '{"States":{}}') as Definition;
  const scope = (state.rollbackScope as RollbackScope | undefined) ??
    scopeOfTask(definition, lastTask) ?? { dns: true };
  return {
    ...(state as unknown as MigrationState),
    rollbackScope: scope,
    failure: (state.failure as { Error: string; Cause: string } | undefined) ?? failure,
  };
}

/** The latest migration state document in a history (events in any order, ids count up). */
export function latestMigrationState(events: readonly HistoryEvent[]): MigrationState | undefined {
  const newestFirst = [...events].sort((a, b) => (b.id ?? 0) - (a.id ?? 0));
  for (const event of newestFirst) {
    const document = documentOf(event);
    if (document) return document as unknown as MigrationState;
  }
  return undefined;
}

/** The state document an event carries: what a state entered with or left with. */
function documentOf(event: HistoryEvent): Record<string, unknown> | undefined {
  const text = event.stateEnteredEventDetails?.input ?? event.stateExitedEventDetails?.output;
  const value = parseObject(text);
  return isMigrationState(value) ? value : undefined;
}
