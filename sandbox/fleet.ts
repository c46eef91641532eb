import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LocalExecutions } from './executions.js';
import { SANDBOX_REPORTS_BUCKET, type Sandbox } from './index.js';
import type { LambdaHandler, LocalRunOptions } from './stepfunctions.js';
import { LOCAL_SUBSTITUTIONS, localFunctionArn, MIGRATION_DEFINITION_FILE } from './workflow.js';

/** The fleet batch as deployed, but local: substitution names match infra/. */
export const FLEET_FUNCTIONS = {
  FleetDiscoverFunctionArn: 'fleet-discover',
  FleetAdmitFunctionArn: 'fleet-admit',
  FleetRecordFunctionArn: 'fleet-record',
  FleetReportFunctionArn: 'fleet-report',
} as const;

export const FLEET_DEFINITION_FILE = fileURLToPath(
  new URL('../statemachine/migrate-fleet.asl.json', import.meta.url),
);
export const LOCAL_FLEET_TOPIC = 'fleet-reports';
export const MIGRATION_MACHINE_NAME = 'at-rest-migrator';
export const FLEET_MACHINE_NAME = 'at-rest-migrator-fleet';

/** The fleet functions' environment on the sandbox (to merge into configureLocalEnvironment's). */
export function fleetEnvironment(sandbox: Sandbox): Record<string, string> {
  return {
    REPORTS_BUCKET_NAME: SANDBOX_REPORTS_BUCKET,
    FLEET_REPORT_TOPIC_ARN: `arn:aws:sns:${sandbox.region}:${sandbox.accountId}:${LOCAL_FLEET_TOPIC}`,
  };
}

/**
 * The fleet handlers by local function ARN. RecordOutcome reads the child's history from the
 * local executions (the deployed handler reads it with GetExecutionHistory; same domain code).
 */
export async function loadFleetHandlers(executions: LocalExecutions): Promise<Record<string, LambdaHandler>> {
  const handlers: Record<string, LambdaHandler> = {};
  for (const name of ['fleet-discover', 'fleet-admit', 'fleet-report'] as const) {
    const path = fileURLToPath(new URL(`../lambdas/handlers/${name}.ts`, import.meta.url));
    handlers[localFunctionArn(name)] = ((await import(path)) as { handler: LambdaHandler }).handler;
  }
  // Imported here: the handlers' modules read their configuration at load (configureLocalEnvironment first).
  const { recordOutcome } = await import('../lambdas/fleet/record.js');
  const dynamodb = new DynamoDBClient({});
  handlers[localFunctionArn('fleet-record')] = (event) =>
    recordOutcome(event, { dynamodb, readHistory: async (arn) => executions.history(arn) });
  return handlers;
}

export interface LocalFleet {
  executions: LocalExecutions;
  migrationArn: string;
  fleetArn: string;
}

/**
 * Registers both state machines on a LocalExecutions: the per-group machine (the real ASL and
 * handlers) and the fleet machine, whose StartMigration starts children of the first.
 */
export async function localFleet(options: {
  migrationFunctions: Record<string, LambdaHandler>;
  waitMs?: number;
  retryMs?: number;
  decide?: LocalRunOptions['decide'];
  /** Replaces a migration's input before it starts (tests: verification off on a null data plane). */
  migrationDefinition?: string;
}): Promise<LocalFleet> {
  const executions = new LocalExecutions();
  const timing = {
    ...(options.waitMs !== undefined ? { waitMs: options.waitMs } : {}),
    ...(options.retryMs !== undefined ? { retryMs: options.retryMs } : {}),
  };
  const migrationArn = executions.register({
    name: MIGRATION_MACHINE_NAME,
    definition: options.migrationDefinition ?? readFileSync(MIGRATION_DEFINITION_FILE, 'utf8'),
    substitutions: LOCAL_SUBSTITUTIONS,
    functions: options.migrationFunctions,
    ...timing,
    ...(options.decide ? { decide: options.decide } : {}),
  });
  const fleetFunctions = await loadFleetHandlers(executions);
  const fleetArn = executions.register({
    name: FLEET_MACHINE_NAME,
    definition: readFileSync(FLEET_DEFINITION_FILE, 'utf8'),
    substitutions: {
      ...Object.fromEntries(Object.entries(FLEET_FUNCTIONS).map(([k, n]) => [k, localFunctionArn(n)])),
      MigrationStateMachineArn: `arn:aws:states:us-east-1:123456789012:stateMachine:${MIGRATION_MACHINE_NAME}`,
    },
    functions: fleetFunctions,
    ...timing,
  });
  return { executions, migrationArn, fleetArn };
}
