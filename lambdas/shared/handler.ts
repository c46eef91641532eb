import type { MigrationState } from '../migration/state.js';
import { InvalidInputError, MigrationError } from './errors.js';
import { logger, withMigrationKeys } from './logger.js';

export interface StepEvent<A extends string> {
  action: A;
  state: MigrationState;
}

/**
 * The shape every step handler shares: check the event, put the migration id and source id on
 * every log line, run the action, log the outcome, let errors through with their names (Step
 * Functions' Retry/Catch match them).
 */
export function stepHandler<A extends string>(
  step: string,
  actions: Record<A, (state: MigrationState) => Promise<MigrationState>>,
) {
  return async (event: StepEvent<A>): Promise<MigrationState> => {
    const state = event?.state;
    if (!state || typeof state !== 'object' || !state.migrationId) {
      throw new InvalidInputError(
        `${step}: the event has no migration state; the state machine must pass {action, state}.`,
      );
    }
    withMigrationKeys({
      migrationId: state.migrationId,
      sourceReplicationGroupId: state.sourceReplicationGroupId,
    });
    const run = Object.hasOwn(actions, event.action) ? actions[event.action] : undefined;
    if (!run) throw new InvalidInputError(`${step}: unknown action '${String(event.action)}'.`);
    logger.info(`${step}:${event.action} started`);
    return logged(
      `${step}:${event.action}`,
      () => run(state),
      (result) => [`${step}:${event.action} finished`, { progress: result.progress }],
    );
  };
}

/**
 * Runs a handler's work and logs how it went: `outcome` names the log line of a success and its
 * fields; a failure is logged as {@link logFailure} does and thrown on with its name (Step
 * Functions' Retry/Catch match it).
 */
export async function logged<T>(
  what: string,
  work: () => Promise<T>,
  outcome: (result: T) => [message: string, fields?: Record<string, unknown>],
): Promise<T> {
  try {
    const result = await work();
    const [message, fields] = outcome(result);
    logger.info(message, fields ?? {});
    return result;
  } catch (error) {
    logFailure(what, error);
    throw error;
  }
}

export function logFailure(what: string, error: unknown): void {
  const e = error as Error;
  if (error instanceof MigrationError)
    logger.warn(`${what} refused or failed`, { error: e.name, reason: e.message });
  else logger.error(`${what} failed`, e);
}
