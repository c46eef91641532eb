import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  FLEET_WORKFLOW,
  FUNCTIONS,
  functionSubstitutions,
  STOPPED_MIGRATION_ROLLBACK,
  WORKFLOWS,
} from '../statemachine/manifest.js';
import type { Sandbox } from './index.js';
import type { StatusChangeRule } from './services/stepfunctions/store.js';
import { type LambdaHandler, type LocalRunOptions, runLocal, substitute } from './stepfunctions.js';

/**
 * The workflow as deployed, but local: the real ASL file, the real handlers, the sandbox as AWS.
 * The functions and their substitution names are the manifest's, as in infra/.
 */

export const MIGRATION_DEFINITION_FILE = fileURLToPath(
  new URL(`../statemachine/${WORKFLOWS.MigrateReplicationGroup.file}`, import.meta.url),
);

export const LOCAL_KMS_ALIAS = 'alias/elasticache-at-rest';
export const LOCAL_APPROVAL_TOPIC = 'migration-approvals';
/** The deployment's cache-events topic (new groups' ElastiCache notifications); every sandbox has it. */
export const LOCAL_CACHE_EVENTS_TOPIC = 'cache-events';
/** The SNS topic announcing fleet reports; every sandbox has it, as it has the reports bucket. */
export const LOCAL_FLEET_TOPIC = 'fleet-reports';
/** The S3 bucket of the fleet batch's plans and reports; every sandbox has it. */
export const LOCAL_REPORTS_BUCKET = 'at-rest-migrator-reports';
/**
 * The fleet batch's functions (statemachine/migrate-fleet.asl.json), by substitution. The stack's
 * FleetBatch construct deploys them (infra/lib/constructs/fleet-batch.ts), not the manifest.
 */
export const FLEET_FUNCTIONS = {
  FleetDiscoverFunctionArn: 'fleet-discover',
  FleetAdmitFunctionArn: 'fleet-admit',
  FleetRecordFunctionArn: 'fleet-record',
  FleetReportFunctionArn: 'fleet-report',
} as const;

export function localFunctionArn(name: string): string {
  return `arn:aws:lambda:us-east-1:123456789012:function:at-rest-migrator-${name}`;
}

/** Every function's substitution, bound to its local ARN (the handler's name). */
export const LOCAL_SUBSTITUTIONS: Record<string, string> = {
  ...functionSubstitutions((_name, spec) => localFunctionArn(spec.handler)),
  ...Object.fromEntries(Object.entries(FLEET_FUNCTIONS).map(([key, name]) => [key, localFunctionArn(name)])),
};

/**
 * Points the handlers at the sandbox, as a deployment's environment would. Must run before the
 * handlers are first imported: they create their SDK clients and read configuration at load.
 */
export function configureLocalEnvironment(sandbox: Sandbox, extra: Record<string, string> = {}): void {
  Object.assign(process.env, sandbox.env, {
    DEFAULT_KMS_KEY_ID: LOCAL_KMS_ALIAS,
    APPROVAL_TOPIC_ARN: `arn:aws:sns:${sandbox.region}:${sandbox.accountId}:${LOCAL_APPROVAL_TOPIC}`,
    REPORTS_BUCKET_NAME: LOCAL_REPORTS_BUCKET,
    FLEET_REPORT_TOPIC_ARN: `arn:aws:sns:${sandbox.region}:${sandbox.accountId}:${LOCAL_FLEET_TOPIC}`,
    // The recommended alarms notify the deployment's topic; locally, the approval topic stands in.
    ALARM_TOPIC_ARN: `arn:aws:sns:${sandbox.region}:${sandbox.accountId}:${LOCAL_APPROVAL_TOPIC}`,
    CACHE_EVENTS_TOPIC_ARN: `arn:aws:sns:${sandbox.region}:${sandbox.accountId}:${LOCAL_CACHE_EVENTS_TOPIC}`,
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'ERROR',
    POWERTOOLS_SERVICE_NAME: 'elasticache-at-rest-migrator',
    ...extra,
  });
}

/** Imports every handler that exists, keyed by its local function ARN. */
export async function loadHandlers(): Promise<Record<string, LambdaHandler>> {
  const handlers: Record<string, LambdaHandler> = {};
  const names = [...Object.values(FUNCTIONS).map((f) => f.handler), ...Object.values(FLEET_FUNCTIONS)];
  for (const name of names) {
    const path = fileURLToPath(new URL(`../lambdas/handlers/${name}.ts`, import.meta.url));
    try {
      readFileSync(path);
    } catch {
      continue;
    }
    const module = (await import(path)) as { handler: LambdaHandler };
    handlers[localFunctionArn(name)] = module.handler;
  }
  return handlers;
}

export type MigrationRunOptions = Omit<LocalRunOptions, 'definition' | 'substitutions' | 'functions'> & {
  functions: Record<string, LambdaHandler>;
  definition?: string;
};

/** Runs one migration execution of the real state machine on the local engine. */
export function runMigration(options: MigrationRunOptions) {
  return runLocal({
    definition: options.definition ?? readFileSync(MIGRATION_DEFINITION_FILE, 'utf8'),
    substitutions: LOCAL_SUBSTITUTIONS,
    ...options,
  });
}

export const STATE_MACHINE_DIR = fileURLToPath(new URL('../statemachine/', import.meta.url));

/**
 * Every workflow of the manifest, named as the deployment names them, with the substitutions a
 * deployment gives: the functions' ARNs, `${<Name>StateMachineArn}` of every workflow, and `extra`.
 */
export function localStateMachines(
  arnOf: (name: string) => string,
  extra: Record<string, string> = {},
): { name: string; definition: string }[] {
  const workflows = [
    ...Object.entries(WORKFLOWS).map(([name, { file }]) => ({ name, file })),
    // The fleet batch, deployed by its own construct (infra/lib/constructs/fleet-batch.ts).
    { name: FLEET_WORKFLOW.name as string, file: FLEET_WORKFLOW.file as string },
    { name: STOPPED_MIGRATION_ROLLBACK.name as string, file: STOPPED_MIGRATION_ROLLBACK.file as string },
  ];
  const substitutions: Record<string, string> = { ...LOCAL_SUBSTITUTIONS, ...extra };
  for (const { name } of workflows) substitutions[`${name}StateMachineArn`] = arnOf(name);
  return workflows.map(({ name, file }) => {
    const text = readFileSync(join(STATE_MACHINE_DIR, file), 'utf8');
    try {
      return { name, definition: substitute(text, substitutions) };
    } catch (error) {
      throw new Error(`statemachine/${file}: ${(error as Error).message}`);
    }
  });
}

/**
 * The deployment's EventBridge rule on "Step Functions Execution Status Change" (infra/): a
 * migration that was stopped (StopExecution) or timed out starts its rollback.
 */
export const STOPPED_MIGRATION_RULES: StatusChangeRule[] = [
  {
    source: 'MigrateReplicationGroup',
    statuses: ['ABORTED', 'TIMED_OUT'],
    target: STOPPED_MIGRATION_ROLLBACK.name,
  },
];
