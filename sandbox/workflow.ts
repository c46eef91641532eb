import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Sandbox } from './index.js';
import type { StatusChangeRule } from './services/stepfunctions/store.js';
import { type LambdaHandler, type LocalRunOptions, runLocal, substitute } from './stepfunctions.js';

/**
 * The workflow as deployed, but local: the real ASL file, the real handlers, the sandbox as AWS.
 * Substitution names match infra/ (one Lambda function per step).
 */
export const FUNCTIONS = {
  PreflightFunctionArn: 'preflight',
  SnapshotFunctionArn: 'snapshot',
  RestoreFunctionArn: 'restore',
  VerifyTargetFunctionArn: 'verify-target',
  VerifyDataFunctionArn: 'verify-data',
  ChangeTrackingFunctionArn: 'change-tracking',
  CutoverFunctionArn: 'cutover',
  DecommissionFunctionArn: 'decommission',
  RollbackFunctionArn: 'rollback',
  RequestApprovalFunctionArn: 'request-approval',
  // The fleet batch (statemachine/migrate-fleet.asl.json).
  FleetDiscoverFunctionArn: 'fleet-discover',
  FleetAdmitFunctionArn: 'fleet-admit',
  FleetRecordFunctionArn: 'fleet-record',
  FleetReportFunctionArn: 'fleet-report',
} as const;

export const MIGRATION_DEFINITION_FILE = fileURLToPath(
  new URL('../statemachine/migrate-replication-group.asl.json', import.meta.url),
);

export const LOCAL_KMS_ALIAS = 'alias/elasticache-at-rest';
export const LOCAL_APPROVAL_TOPIC = 'migration-approvals';
/** The SNS topic announcing fleet reports; every sandbox has it, as it has the reports bucket. */
export const LOCAL_FLEET_TOPIC = 'fleet-reports';
/** The S3 bucket of the fleet batch's plans and reports; every sandbox has it. */
export const LOCAL_REPORTS_BUCKET = 'at-rest-migrator-reports';

export function localFunctionArn(name: string): string {
  return `arn:aws:lambda:us-east-1:123456789012:function:at-rest-migrator-${name}`;
}

export const LOCAL_SUBSTITUTIONS: Record<string, string> = Object.fromEntries(
  Object.entries(FUNCTIONS).map(([key, name]) => [key, localFunctionArn(name)]),
);

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
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'ERROR',
    POWERTOOLS_SERVICE_NAME: 'elasticache-at-rest-migrator',
    ...extra,
  });
}

/** Imports every handler that exists, keyed by its local function ARN. */
export async function loadHandlers(): Promise<Record<string, LambdaHandler>> {
  const handlers: Record<string, LambdaHandler> = {};
  for (const name of Object.values(FUNCTIONS)) {
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

/** `migrate-replication-group.asl.json` → `MigrateReplicationGroup`: the CDK app's workflow names. */
export function workflowName(file: string): string {
  return file
    .replace(/\.asl\.json$/, '')
    .split('-')
    .map((word) => `${word.charAt(0).toUpperCase()}${word.slice(1)}`)
    .join('');
}

/**
 * Every workflow of `statemachine/`, named as the deployment names them, with the substitutions a
 * deployment gives: the functions' ARNs, `${<Name>StateMachineArn}` of every workflow, and `extra`.
 */
export function localStateMachines(
  arnOf: (name: string) => string,
  extra: Record<string, string> = {},
): { name: string; definition: string }[] {
  const files = readdirSync(STATE_MACHINE_DIR)
    .filter((f) => f.endsWith('.asl.json'))
    .sort();
  const substitutions: Record<string, string> = { ...LOCAL_SUBSTITUTIONS, ...extra };
  for (const file of files) substitutions[`${workflowName(file)}StateMachineArn`] = arnOf(workflowName(file));
  return files.map((file) => {
    const text = readFileSync(join(STATE_MACHINE_DIR, file), 'utf8');
    try {
      return { name: workflowName(file), definition: substitute(text, substitutions) };
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
    target: 'RollbackStoppedMigration',
  },
];
