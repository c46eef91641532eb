import { WaitDeadlineExceededError } from '../shared/errors.js';
import type { MigrationPlan, MigrationState } from './state.js';

type DnsProgress = NonNullable<MigrationState['progress']['dns']>;
type RollbackProgress = NonNullable<MigrationState['progress']['rollback']>;

export function dnsProgress(state: MigrationState): DnsProgress {
  state.progress.dns ??= {};
  return state.progress.dns;
}

export function rollbackProgress(state: MigrationState): RollbackProgress {
  state.progress.rollback ??= {};
  return state.progress.rollback;
}

/** Records when a step started (first call only, so a re-run keeps the original time). */
export function startStep(state: MigrationState, step: string, now: number): void {
  state.steps[step] ??= { startedAt: new Date(now).toISOString() };
}

/** Records when a step finished: now, which is later than the `now` its call started with. */
export function completeStep(state: MigrationState, step: string, startedNow: number): void {
  startStep(state, step, startedNow);
  const timing = state.steps[step]!;
  if (timing.completedAt) return;
  const end = Math.max(startedNow, Date.now());
  timing.completedAt = new Date(end).toISOString();
  timing.seconds = Math.max(0, (end - Date.parse(timing.startedAt)) / 1000);
}

/** Sets a wait's deadline once; later calls keep it, so retries do not extend the wait. */
export function setDeadline(state: MigrationState, wait: string, seconds: number, now: number): void {
  state.deadlines[wait] ??= new Date(now + seconds * 1000).toISOString();
}

export function checkDeadline(
  state: MigrationState,
  wait: string,
  now: number,
  what: string,
  next = 'the workflow rolls back',
): void {
  const deadline = state.deadlines[wait];
  if (deadline && now > Date.parse(deadline)) {
    throw new WaitDeadlineExceededError(
      `${what} did not finish by ${deadline}. The wait's limit is set in the input's timeouts; ${next}.`,
    );
  }
}

export function clearDeadline(state: MigrationState, wait: string): void {
  delete state.deadlines[wait];
}

export function requirePlan(state: MigrationState): MigrationPlan {
  if (!state.plan)
    throw new Error('The migration state has no plan; the state machine passed the wrong document.');
  return state.plan;
}
