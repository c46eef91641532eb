import { env } from '../../shared/env.js';
import { InvalidInputError } from '../../shared/errors.js';
import { takeClaim } from '../claim.js';
import { parseMigrationInput } from '../input.js';
import type { MigrationState } from '../state.js';
import { planMigration } from './plan.js';
import { type PreflightDeps, type PreflightSettings, readFacts } from './reads.js';

/**
 * Preflight, in three parts a CLI `plan` or a fleet dry run can reuse:
 * - reads.ts: every fact from AWS (and the AUTH proof against the source), no decision;
 * - rules.ts: pure rules, facts → refusals and warnings, in one ordered list;
 * - plan.ts: pure, facts + input → the plan (the exact CreateReplicationGroup request, the
 *   planned changes, the derived target id) or the refusals.
 */
export { canPauseWrites } from './derive.js';
export { MIN_BACKUP_RETENTION_DAYS, type PreflightVerdict, planMigration } from './plan.js';
export { type PreflightDeps, type PreflightFacts, type PreflightSettings, readFacts } from './reads.js';
export { RULES, SOURCE_RULES } from './rules.js';

export interface PreflightEvent {
  input: unknown;
  migrationId: string;
  /** The execution's ARN (`$$.Execution.Id`), recorded in the claim for the operator. */
  executionArn?: string;
}

/** The deployment's settings, from its configuration. */
export function settingsFromEnv(): PreflightSettings {
  return {
    defaultKmsKeyId: env.defaultKmsKeyId,
    allowedHostedZoneIds: env.allowedHostedZoneIds,
    cacheEventsTopicArn: env.cacheEventsTopicArn,
  };
}

/**
 * Builds the migration plan (the exact CreateReplicationGroup request) and refuses, with a
 * distinct error, anything that would make the migration unsafe. A refusal changes nothing: the
 * only write, the source's claim in the migrations table (lambdas/migration/claim.ts), is made
 * last, once every check passed, and never for a dry run.
 */
export async function preflight(
  event: PreflightEvent,
  clients: PreflightDeps,
  now = Date.now(),
  settings: PreflightSettings = settingsFromEnv(),
): Promise<MigrationState> {
  const input = parseMigrationInput(event.input);
  const migrationId = event.migrationId;
  if (!migrationId) throw new InvalidInputError('The migration id (execution name) is missing.');
  const startedAt = new Date(now).toISOString();
  const base: MigrationState = {
    migrationId,
    sourceReplicationGroupId: input.sourceReplicationGroupId,
    outcome: 'planned',
    progress: {},
    deadlines: {},
    steps: {},
  };

  const facts = await readFacts(input, clients, settings);
  const verdict = planMigration({ input, migrationId, facts, settings, now });
  if (verdict.outcome === 'refused') throw verdict.refusals[0];
  if (verdict.outcome === 'already-encrypted') {
    return {
      ...base,
      outcome: 'already-encrypted',
      message: verdict.message,
      steps: { preflight: timing(startedAt, now) },
    };
  }
  const { plan } = verdict;
  // Last: every check passed. Of executions started together for this source, one gets it.
  if (!input.dryRun) {
    await takeClaim(
      clients.dynamodb,
      {
        sourceArn: plan.source.arn,
        sourceId: plan.source.id,
        migrationId,
        executionArn: event.executionArn,
        takeOver: input.takeOverStaleClaim,
      },
      now,
    );
  }
  return { ...base, plan, steps: { preflight: timing(startedAt, now) } };
}

function timing(startedAt: string, now: number) {
  return {
    startedAt,
    completedAt: new Date(Date.now()).toISOString(),
    seconds: Math.max(0, (Date.now() - now) / 1000),
  };
}
