import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
  type StateMachineListItem,
} from '@aws-sdk/client-sfn';
import { CliError, EXIT } from './errors.js';

/** The deployment's workflow names (infra/lib/migrator-stack.ts; CDK adds a hash and a suffix). */
export const MIGRATION_MACHINE = 'MigrateReplicationGroup';
export const STOPPED_ROLLBACK_MACHINE = 'RollbackStoppedMigration';

/**
 * The Step Functions client. The endpoint, Region and credentials come from the environment as for
 * any AWS SDK v3 client (AWS_ENDPOINT_URL points it at the sandbox), so the same code serves AWS.
 */
export function sfnClient(): SFNClient {
  return new SFNClient({});
}

export async function listStateMachines(sfn: SFNClient): Promise<StateMachineListItem[]> {
  const machines: StateMachineListItem[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new ListStateMachinesCommand({ nextToken }));
    machines.push(...(page.stateMachines ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
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
    explicit ?? (workflow === MIGRATION_MACHINE ? process.env.MIGRATOR_STATE_MACHINE_ARN : undefined);
  if (given) return given;
  const pattern = new RegExp(`^${workflow}([0-9A-F]{8}-[A-Za-z0-9]+)?$`);
  const matches = (await listStateMachines(sfn)).filter((m) => pattern.test(m.name ?? ''));
  if (matches.length === 1) return matches[0]!.stateMachineArn!;
  if (matches.length === 0)
    throw new CliError(
      `No state machine named ${workflow} in this account and Region.`,
      EXIT.notFound,
      'Deploy the stack (runbooks/deploy.md), or pass --state-machine-arn (or set MIGRATOR_STATE_MACHINE_ARN) to the MigrateReplicationGroupStateMachineArn output of the stack. Against the sandbox, export AWS_ENDPOINT_URL as `npm run sandbox` prints.',
    );
  throw new CliError(
    `${matches.length} state machines are named ${workflow}: ${matches.map((m) => m.name).join(', ')}.`,
    EXIT.usage,
    'Pass --state-machine-arn (or set MIGRATOR_STATE_MACHINE_ARN) to choose one.',
  );
}

/** A migration id (the execution name) or an execution ARN, as the execution ARN. */
export function executionArnOf(stateMachineArn: string, idOrArn: string): string {
  if (idOrArn.startsWith('arn:')) return idOrArn;
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${idOrArn}`;
}

export async function describeExecution(
  sfn: SFNClient,
  executionArn: string,
): Promise<DescribeExecutionCommandOutput> {
  try {
    return await sfn.send(new DescribeExecutionCommand({ executionArn }));
  } catch (error) {
    if ((error as Error).name === 'ExecutionDoesNotExist')
      throw new CliError(
        `No migration ${executionArn.split(':').pop()} (${executionArn}).`,
        EXIT.notFound,
        'Check the id with `list`; an id is the execution name given at `start`.',
      );
    throw error;
  }
}

/** The whole history, oldest first. */
export async function executionHistory(sfn: SFNClient, executionArn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken }),
    );
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

/** Every execution of a state machine, newest first, optionally of one status. */
export async function listExecutions(sfn: SFNClient, stateMachineArn: string, statusFilter?: string) {
  const executions = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new ListExecutionsCommand({
        stateMachineArn,
        nextToken,
        ...(statusFilter ? { statusFilter: statusFilter as never } : {}),
      }),
    );
    executions.push(...(page.executions ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return executions;
}

/** The RollbackStoppedMigration execution started for a stopped migration, if there is one yet. */
export async function findStoppedRollback(sfn: SFNClient, executionArn: string) {
  let rollbackMachine: string;
  try {
    rollbackMachine = await resolveStateMachine(sfn, undefined, STOPPED_ROLLBACK_MACHINE);
  } catch {
    return undefined;
  }
  for (const execution of await listExecutions(sfn, rollbackMachine)) {
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn: execution.executionArn }));
    try {
      const input = JSON.parse(described.input ?? '{}') as { detail?: { executionArn?: string } };
      if (input.detail?.executionArn === executionArn) return described;
    } catch {
      // Not an event: not ours.
    }
  }
  return undefined;
}
