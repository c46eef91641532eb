/**
 * The workflow's side of change tracking: keyspace notifications are turned on in the source's
 * parameter group before the catch-up (so the cutover's final copy costs the changed keys, not
 * the data size) and put back as soon as the flip went out, or by the rollback. The operator
 * consents with `cutover.changeTracking` (the plan says what will change). Reconcilers: each call
 * moves one step; the state machine calls again after a wait until done.
 */
import type { Clients } from '../shared/clients.js';
import { enableChangeTracking, restoreChangeTracking } from './change-tracking.js';
import { completeStep, requirePlan, startStep } from './progress.js';
import type { MigrationState } from './state.js';

type Deps = Pick<Clients, 'elasticache'>;

export async function startTracking(state: MigrationState, { elasticache }: Deps, now = Date.now()) {
  const plan = requirePlan(state);
  startStep(state, 'changeTracking', now);
  state.progress.changeTracking ??= {};
  const progress = state.progress.changeTracking;
  if (progress.enabled) return state;
  const result = await enableChangeTracking(elasticache, {
    groupId: plan.source.id,
    migrationShortId: plan.shortId,
    ...(progress.change ? { previous: progress.change } : {}),
  });
  progress.change = result.changed;
  for (const warning of result.warnings) if (!plan.warnings.includes(warning)) plan.warnings.push(warning);
  if (result.done) {
    progress.enabled = true;
    completeStep(state, 'changeTracking', now);
  }
  return state;
}

/** Puts the parameter group back (and deletes the copy of a default group once unused). */
export async function stopTracking(state: MigrationState, { elasticache }: Deps) {
  const plan = requirePlan(state);
  const progress = state.progress.changeTracking;
  if (!progress?.change || progress.restored) {
    if (progress) progress.restored = true;
    return state;
  }
  const result = await restoreChangeTracking(elasticache, plan.source.id, progress.change);
  for (const warning of result.warnings) if (!plan.warnings.includes(warning)) plan.warnings.push(warning);
  if (result.done) progress.restored = true;
  return state;
}
