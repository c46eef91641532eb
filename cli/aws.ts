import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  type ExecutionListItem,
  paginateListExecutions,
  paginateListStateMachines,
  SFNClient,
  type StateMachineListItem,
} from '@aws-sdk/client-sfn';
import { readExecutionHistory } from '../lambdas/shared/execution-history.js';
import { FLEET_WORKFLOW } from '../statemachine/manifest.js';
import { CliError, EXIT } from './errors.js';

/** The deployment's workflow names (infra/lib/migrator-stack.ts; CDK adds a hash and a suffix). */
export const MIGRATION_MACHINE = 'MigrateReplicationGroup';
export const STOPPED_ROLLBACK_MACHINE = 'RollbackStoppedMigration';
/** The fleet batch's workflow: CDK names it `<stack>-MigrateFleet` (infra/lib/constructs/fleet-batch.ts). */
export const FLEET_MACHINE = FLEET_WORKFLOW.name;

/**
 * The Step Functions client. The endpoint, Region and credentials come from the environment as for
 * any AWS SDK v3 client (AWS_ENDPOINT_URL points it at the sandbox), so the same code serves AWS.
 */
export function sfnClient(): SFNClient {
  return new SFNClient({});
}

export async function listStateMachines(sfn: SFNClient): Promise<StateMachineListItem[]> {
  const machines: StateMachineListItem[] = [];
  for await (const page of paginateListStateMachines({ client: sfn }, {}))
    machines.push(...(page.stateMachines ?? []));
  return machines;
}

/**
 * The state machine to use: `--state-machine-arn`, else MIGRATOR_STATE_MACHINE_ARN, else the one
 * state machine of the account whose name is the workflow's (`MigrateReplicationGroup`, or
 * CDK's `MigrateReplicationGroup<hash>-<suffix>`).
 */
export async function resolveStateMachine(
  sfn: SFNClient,
  explicit: string | undefined,
  workflow = MIGRATION_MACHINE,
): Promise<string> {
  const given =
    explicit ??
    (workflow === MIGRATION_MACHINE
      ? process.env.MIGRATOR_STATE_MACHINE_ARN
      : workflow === FLEET_MACHINE
        ? process.env.MIGRATOR_FLEET_STATE_MACHINE_ARN
        : undefined);
  if (given) return given;
  // CDK's generated `<Name><hash>-<suffix>`, or the fleet's explicit `<stack>-MigrateFleet`.
  const pattern =
    workflow === FLEET_MACHINE
      ? new RegExp(`^([A-Za-z0-9-]+-)?${workflow}$`)
      : new RegExp(`^${workflow}([0-9A-F]{8}-[A-Za-z0-9]+)?$`);
  const matches = (await listStateMachines(sfn)).filter((m) => pattern.test(m.name ?? ''));
  if (matches.length === 1) return matches[0]!.stateMachineArn!;
  if (matches.length === 0)
    throw new CliError(
      `No state machine named ${workflow} in this account and Region.`,
      EXIT.notFound,
      `Deploy the stack (runbooks/deploy.md), or pass ${choose(workflow)} to the ${workflow}StateMachineArn output of the stack. Against the sandbox, export AWS_ENDPOINT_URL as \`npm run sandbox\` prints.`,
    );
  throw new CliError(
    `${matches.length} state machines are named ${workflow}: ${matches.map((m) => m.name).join(', ')}.`,
    EXIT.usage,
    `Pass ${choose(workflow)} to choose one.`,
  );
}

/** The option (and variable) that names a workflow's state machine. */
function choose(workflow: string): string {
  if (workflow === FLEET_MACHINE)
    return '--fleet-state-machine-arn (or set MIGRATOR_FLEET_STATE_MACHINE_ARN)';
  return '--state-machine-arn (or set MIGRATOR_STATE_MACHINE_ARN)';
}

/** A migration id (the execution name) or an execution ARN, as the execution ARN. */
export function executionArnOf(stateMachineArn: string, idOrArn: string): string {
  if (idOrArn.startsWith('arn:')) return idOrArn;
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${idOrArn}`;
}

export async function describeExecution(
  sfn: SFNClient,
  executionArn: string,
  what: 'migration' | 'batch' = 'migration',
): Promise<DescribeExecutionCommandOutput> {
  try {
    return await sfn.send(new DescribeExecutionCommand({ executionArn }));
  } catch (error) {
    if ((error as Error).name === 'ExecutionDoesNotExist')
      throw new CliError(
        `No ${what} ${executionArn.split(':').pop()} (${executionArn}).`,
        EXIT.notFound,
        what === 'batch'
          ? 'The id is the fleet execution name that `fleet start` printed.'
          : 'Check the id with `list`; an id is the execution name given at `start`.',
      );
    throw error;
  }
}

/** The whole history, oldest first. */
export const executionHistory = readExecutionHistory;

/** Every execution of a state machine, newest first, optionally of one status. */
export async function listExecutions(sfn: SFNClient, stateMachineArn: string, statusFilter?: string) {
  const executions: ExecutionListItem[] = [];
  for await (const page of paginateListExecutions(
    { client: sfn },
    { stateMachineArn, ...(statusFilter ? { statusFilter: statusFilter as never } : {}) },
  ))
    executions.push(...(page.executions ?? []));
  return executions;
}

/**
 * How far before the stop a RollbackStoppedMigration execution may have started and still be the
 * stop's: none can start before the stop (EventBridge starts it on the stop's status change), so
 * this only absorbs clock noise between the two dates Step Functions reports.
 */
const ROLLBACK_START_SLACK_MS = 60_000;

/**
 * The RollbackStoppedMigration execution started for a stopped migration, if there is one yet.
 * ListExecutions lists newest first (AWS API reference), so the search reads only executions
 * started since `stoppedAt` and ends at the first older one: a `cancel --wait` that polls this
 * costs the same in an account with thousands of earlier rollbacks as in a new one.
 */
export async function findStoppedRollback(sfn: SFNClient, executionArn: string, stoppedAt?: Date) {
  let rollbackMachine: string;
  try {
    rollbackMachine = await resolveStateMachine(sfn, undefined, STOPPED_ROLLBACK_MACHINE);
  } catch {
    return undefined;
  }
  const since = stoppedAt ? stoppedAt.getTime() - ROLLBACK_START_SLACK_MS : Number.NEGATIVE_INFINITY;
  for await (const page of paginateListExecutions({ client: sfn }, { stateMachineArn: rollbackMachine })) {
    for (const execution of page.executions ?? []) {
      if ((execution.startDate?.getTime() ?? Number.POSITIVE_INFINITY) < since) return undefined;
      const described = await sfn.send(
        new DescribeExecutionCommand({ executionArn: execution.executionArn }),
      );
      try {
        const input = JSON.parse(described.input ?? '{}') as { detail?: { executionArn?: string } };
        if (input.detail?.executionArn === executionArn) return described;
      } catch {
        // Not an event: not ours.
      }
    }
  }
  return undefined;
}

/**
 * An object of the reports bucket as text, by its `s3://bucket/key` URI (what the fleet batch's
 * output names). The client follows the environment as the Step Functions client does.
 */
export async function readS3Text(uri: string): Promise<string> {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw new CliError(`Not an S3 location: ${uri}.`, EXIT.failure);
  try {
    const out = await new S3Client({}).send(new GetObjectCommand({ Bucket: match[1], Key: match[2] }));
    return (await out.Body?.transformToString('utf8')) ?? '';
  } catch (error) {
    const e = error as Error;
    throw new CliError(
      `Cannot read ${uri}: ${e.name}: ${e.message}`,
      e.name === 'NoSuchKey' || e.name === 'NoSuchBucket' ? EXIT.notFound : EXIT.failure,
      'The batch report is in the reports bucket (the stack output ReportsBucketName); reading it needs s3:GetObject on fleet-reports/*.',
    );
  }
}
