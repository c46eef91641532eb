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
    try {
      const result = await run(state);
      logger.info(`${step}:${event.action} finished`, { progress: result.progress });
      return result;
    } catch (error) {
      logFailure(`${step}:${event.action}`, error);
      throw error;
    }
  };
}

export function logFailure(what: string, error: unknown): void {
  const e = error as Error;
  if (error instanceof MigrationError)
    logger.warn(`${what} refused or failed`, { error: e.name, reason: e.message });
  else logger.error(`${what} failed`, e);
}
