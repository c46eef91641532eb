/**
 * The migrator's command line (`npx at-rest-migrator --help`): plan, start, watch, approve and
 * cancel migrations on the deployed state machine, or on the sandbox's (AWS_ENDPOINT_URL). The
 * same code talks to both. docs/cli.md is the reference; exit codes are in cli/errors.ts.
 */
import { userInfo } from 'node:os';
import { SendTaskFailureCommand, SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { Command, CommanderError, Option } from 'commander';
import logUpdate from 'log-update';
import { cancelExecution } from '../lambdas/api/cancel.js';
import { summarizeHistory } from '../lambdas/api/history.js';
import type { MigrationState } from '../lambdas/migration/state.js';
import {
  describeExecution,
  executionArnOf,
  executionHistory,
  findStoppedRollback,
  listExecutions,
  resolveStateMachine,
  sfnClient,
} from './aws.js';
import { CLOSED, type Result, readInput, sleep, startExecution, uniqueSuffix, waitForEnd } from './common.js';
import { CliError, EXIT, runbookLink } from './errors.js';
import { addFleetCommands } from './fleet.js';
import { renderPlan } from './plan.js';
import { type MigrationStatus, migrationStatus, renderStatus } from './status.js';

interface GlobalOptions {
  output: 'text' | 'json';
  stateMachineArn?: string;
}

/** The input of `plan` / `start`: --input FILE, or --source ID for a migration with defaults. */
function inputFrom(options: { input?: string; source?: string }): Record<string, unknown> {
  if (options.input && options.source)
    throw new CliError('Give --input FILE or --source ID, not both.', EXIT.usage);
  if (options.input) return readInput(options.input);
  if (options.source) return { sourceReplicationGroupId: options.source };
  throw new CliError(
    'Say what to migrate: --input FILE (an execution input) or --source ID.',
    EXIT.usage,
    'Examples of inputs: examples/*.json.',
  );
}

/** Execution names: what AWS accepts, from the source id and the time. */
function defaultName(prefix: string, input: Record<string, unknown>): string {
  const source = String(input.sourceReplicationGroupId ?? 'migration').replace(/[^A-Za-z0-9-_]/g, '-');
  const suffix = uniqueSuffix();
  return `${`${prefix}${source}`.slice(0, 80 - suffix.length - 1)}-${suffix}`;
}

async function statusOf(sfn: SFNClient, executionArn: string): Promise<MigrationStatus> {
  const execution = await describeExecution(sfn, executionArn);
  const events = await executionHistory(sfn, executionArn);
  const status = migrationStatus(execution, events);
  if (status.error) status.runbook = runbookLink(status.error);
  if (status.status === 'ABORTED' || status.status === 'TIMED_OUT') {
    const rollback = await findStoppedRollback(sfn, executionArn, execution.stopDate);
    (status as MigrationStatus & { rollback?: unknown }).rollback = rollback
      ? { executionArn: rollback.executionArn, status: rollback.status, error: rollback.error }
      : { status: 'NOT_STARTED_YET' };
  }
  return status;
}

function statusText(status: MigrationStatus): string {
  const rollback = (status as MigrationStatus & { rollback?: { status: string; executionArn?: string } })
    .rollback;
  return `${renderStatus(status)}${rollback ? `\n  Rollback of the stopped execution (RollbackStoppedMigration): ${rollback.status}` : ''}`;
}

/** Exit code of an ended migration: 0 only for SUCCEEDED. */
const exitOf = (status: string) => (status === 'SUCCEEDED' || status === 'RUNNING' ? EXIT.ok : EXIT.refused);

async function waitingGate(sfn: SFNClient, executionArn: string, gate?: string) {
  const execution = await describeExecution(sfn, executionArn);
  const id = execution.name;
  if (execution.status !== 'RUNNING')
    throw new CliError(`Migration ${id} is ${execution.status}: no approval waits.`, EXIT.conflict);
  const progress = summarizeHistory(await executionHistory(sfn, executionArn));
  const waiting = progress.waitingFor;
  if (!waiting)
    throw new CliError(
      `Migration ${id} is not waiting for an approval (it is running ${progress.currentStep ?? 'a step'}).`,
      EXIT.conflict,
      'Run `watch` to see when a gate opens.',
    );
  if (gate && waiting.gate !== gate)
    throw new CliError(
      `Migration ${id} waits at ${waiting.gate}, not ${gate}: nothing was sent.`,
      EXIT.conflict,
      `Check what it waits for with \`status ${id}\`.`,
    );
  return { id, waiting };
}

function closedTask(error: unknown, id: string | undefined): never {
  const e = error as Error;
  if (e.name === 'TaskTimedOut' || e.name === 'TaskDoesNotExist' || e.name === 'InvalidToken')
    throw new CliError(
      `The gate of ${id} closed before the answer arrived (${e.name}).`,
      EXIT.conflict,
      'Someone else answered it or it timed out: see `status`.',
    );
  throw error;
}

const operator = () => process.env.MIGRATOR_OPERATOR ?? userInfo().username;

/** Builds the program; each command returns a Result that main prints. */
export function buildProgram(run: (action: () => Promise<Result>) => Promise<void>): Command {
  const program = new Command('at-rest-migrator')
    .description(
      'Plan, start, watch, approve and cancel ElastiCache at-rest migrations (the deployed Step Functions workflow, or the sandbox: AWS_ENDPOINT_URL).',
    )
    .addOption(
      new Option('-o, --output <format>', 'text, or json for automation')
        .choices(['text', 'json'])
        .default('text'),
    )
    .option(
      '--state-machine-arn <arn>',
      'the migration state machine (default: MIGRATOR_STATE_MACHINE_ARN, else the one named MigrateReplicationGroup)',
    )
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();

  const globals = () => program.opts<GlobalOptions>();
  const machine = (sfn: SFNClient) => resolveStateMachine(sfn, globals().stateMachineArn);

  program
    .command('plan')
    .description('dry run: preflight only, nothing changes; prints the plan or the refusal (exit 3)')
    .option('-i, --input <file>', 'execution input (JSON; - reads stdin)')
    .option('-s, --source <id>', 'migrate this replication group with the defaults')
    .option('--name <name>', 'execution name of the dry run')
    .option('--timeout <seconds>', 'give up waiting after this long', '600')
    .action((options) =>
      run(async () => {
        const input = { ...inputFrom(options), dryRun: true };
        const sfn = sfnClient();
        const arn = await startExecution(
          sfn,
          await machine(sfn),
          options.name ?? defaultName('plan-', input),
          input,
        );
        const execution = await waitForEnd(sfn, arn, Number(options.timeout) * 1000);
        if (execution.status !== 'SUCCEEDED') {
          const status = migrationStatus(execution, []);
          throw new CliError(
            `Refused: ${execution.error}: ${status.cause ?? ''}`,
            EXIT.refused,
            `Runbook: ${runbookLink(execution.error)}`,
            {
              status: 'refused',
              error: execution.error,
              cause: status.cause,
              runbook: runbookLink(execution.error),
              executionArn: arn,
            },
          );
        }
        const output = JSON.parse(execution.output ?? '{}') as MigrationState;
        if (output.outcome === 'already-encrypted' || !output.plan)
          return {
            json: { status: 'nothing-to-do', message: output.message, executionArn: arn },
            text: output.message ?? 'Nothing to do: the source is already encrypted at rest.',
          };
        return {
          json: { status: 'planned', executionArn: arn, plan: output.plan },
          text: renderPlan(output.plan),
        };
      }),
    );

  program
    .command('start')
    .description('starts a migration; prints its id (the execution name)')
    .option('-i, --input <file>', 'execution input (JSON; - reads stdin)')
    .option('-s, --source <id>', 'migrate this replication group with the defaults')
    .option('--name <name>', 'migration id (execution name; default <source>-<time>-<random>)')
    .action((options) =>
      run(async () => {
        const input = inputFrom(options);
        const sfn = sfnClient();
        const name = options.name ?? defaultName('', input);
        const arn = await startExecution(sfn, await machine(sfn), name, input);
        return {
          json: { migrationId: name, executionArn: arn, status: 'RUNNING' },
          text: `Started migration ${name}\n  ${arn}\n  Follow it: npx at-rest-migrator watch ${name}`,
        };
      }),
    );

  program
    .command('status')
    .description(
      'where a migration is: each step with its duration, the data check, the freeze, a waiting gate',
    )
    .argument('<id>', 'migration id or execution ARN')
    .action((id: string) =>
      run(async () => {
        const sfn = sfnClient();
        const status = await statusOf(sfn, executionArnOf(await machine(sfn), id));
        return { json: status, text: statusText(status), exitCode: exitOf(status.status) };
      }),
    );

  program
    .command('watch')
    .description('live status until the migration ends (exit 0 only when it SUCCEEDED)')
    .argument('<id>', 'migration id or execution ARN')
    .option('--interval <seconds>', 'refresh interval', '2')
    .action((id: string, options: { interval: string }) =>
      run(async () => {
        const sfn = sfnClient();
        const arn = executionArnOf(await machine(sfn), id);
        const json = globals().output === 'json';
        const live = !json && process.stdout.isTTY;
        let last = '';
        for (;;) {
          const status = await statusOf(sfn, arn);
          const text = json ? JSON.stringify(status) : statusText(status);
          const closed = CLOSED.has(status.status);
          // A line per change (JSON lines for automation); a redrawn block on a terminal.
          if (live) logUpdate(text);
          else if (text !== last && !closed) process.stdout.write(`${text}\n`);
          last = text;
          if (closed) {
            if (live) logUpdate.done();
            return { json: status, text: live ? '' : text, exitCode: exitOf(status.status) };
          }
          await sleep(Number(options.interval) * 1000);
        }
      }),
    );

  program
    .command('approve')
    .description("approves the gate the migration waits at (finds the gate's task token itself)")
    .argument('<id>', 'migration id or execution ARN')
    .option(
      '--gate <gate>',
      'only if it waits at this gate (beforeSnapshot, beforeCutover, beforeDeleteSource)',
    )
    .action((id: string, options: { gate?: string }) =>
      run(async () => {
        const sfn = sfnClient();
        const gate = await waitingGate(sfn, executionArnOf(await machine(sfn), id), options.gate);
        const output = { approved: true, by: operator(), at: new Date().toISOString() };
        await sfn
          .send(
            new SendTaskSuccessCommand({ taskToken: gate.waiting.taskToken, output: JSON.stringify(output) }),
          )
          .catch((e) => closedTask(e, gate.id));
        return {
          json: { migrationId: gate.id, gate: gate.waiting.gate, approved: true, by: output.by },
          text: `Approved ${gate.waiting.gate} of ${gate.id}: the migration goes on.`,
        };
      }),
    );

  program
    .command('reject')
    .description('rejects the waiting gate: the migration rolls back')
    .argument('<id>', 'migration id or execution ARN')
    .option('--gate <gate>', 'only if it waits at this gate')
    .option('--reason <text>', 'why (kept in the execution history)', 'no reason given')
    .action((id: string, options: { gate?: string; reason: string }) =>
      run(async () => {
        const sfn = sfnClient();
        const gate = await waitingGate(sfn, executionArnOf(await machine(sfn), id), options.gate);
        await sfn
          .send(
            new SendTaskFailureCommand({
              taskToken: gate.waiting.taskToken,
              error: 'ApprovalRejectedError',
              cause: `Rejected by ${operator()}: ${options.reason}`,
            }),
          )
          .catch((e) => closedTask(e, gate.id));
        return {
          json: { migrationId: gate.id, gate: gate.waiting.gate, rejected: true },
          text: `Rejected ${gate.waiting.gate} of ${gate.id}: the migration rolls back (follow it with \`watch ${gate.id}\`).`,
        };
      }),
    );

  program
    .command('list')
    .description('migrations, newest first')
    .addOption(
      new Option('--status <status>', 'only these').choices([
        'RUNNING',
        'SUCCEEDED',
        'FAILED',
        'TIMED_OUT',
        'ABORTED',
      ]),
    )
    .action((options: { status?: string }) =>
      run(async () => {
        const sfn = sfnClient();
        const executions = await listExecutions(sfn, await machine(sfn), options.status);
        const rows = executions.map((e) => ({
          migrationId: e.name,
          status: e.status,
          startDate: e.startDate?.toISOString(),
          ...(e.stopDate ? { stopDate: e.stopDate.toISOString() } : {}),
          executionArn: e.executionArn,
        }));
        const text =
          rows.length === 0
            ? 'No migrations.'
            : rows
                .map(
                  (r) =>
                    `${(r.migrationId ?? '').padEnd(44)} ${(r.status ?? '').padEnd(10)} ${r.startDate ?? ''}`,
                )
                .join('\n');
        return { json: rows, text };
      }),
    );

  program
    .command('history')
    .description("the execution's events (type, state, error)")
    .argument('<id>', 'migration id or execution ARN')
    .action((id: string) =>
      run(async () => {
        const sfn = sfnClient();
        const events = await executionHistory(sfn, executionArnOf(await machine(sfn), id));
        const rows = events.map((e) => {
          const details = Object.entries(e).find(([k]) => k.endsWith('EventDetails'))?.[1] as
            | { name?: string; error?: string; cause?: string }
            | undefined;
          return {
            id: e.id,
            timestamp: e.timestamp?.toISOString(),
            type: e.type,
            ...(details?.name ? { state: details.name } : {}),
            ...(details?.error ? { error: details.error } : {}),
          };
        });
        const text = rows
          .map(
            (r) =>
              `${String(r.id).padStart(4)} ${r.timestamp} ${(r.type ?? '').padEnd(24)} ${r.state ?? ''}${r.error ? ` ${r.error}` : ''}`,
          )
          .join('\n');
        return { json: rows, text };
      }),
    );

  program
    .command('cancel')
    .description('stops a migration safely: its rollback runs and nothing is left behind')
    .argument('<id>', 'migration id or execution ARN')
    .option('--reason <text>', 'why (kept in the execution history)', 'cancelled by the operator')
    .option('--wait', 'wait until the rollback has finished (exit 0 when it did)')
    .option('--timeout <seconds>', 'with --wait, give up after this long', '3600')
    .action((id: string, options: { reason: string; wait?: boolean; timeout: string }) =>
      run(async () => {
        const sfn = sfnClient();
        const arn = executionArnOf(await machine(sfn), id);
        const execution = await describeExecution(sfn, arn);
        if (execution.status !== 'RUNNING')
          throw new CliError(
            `Migration ${execution.name} is ${execution.status} already: nothing to cancel.`,
            EXIT.conflict,
          );
        const cause = `Cancelled by ${operator()}: ${options.reason}`;
        const waiting = summarizeHistory(await executionHistory(sfn, arn)).waitingFor;
        const how = await cancelExecution(sfn, arn, waiting, cause);
        const followed =
          how === 'gate-rejected'
            ? 'its rollback runs in the execution'
            : 'RollbackStoppedMigration rolls it back';
        if (!options.wait)
          return {
            json: { migrationId: execution.name, cancelled: how },
            text: `Cancelled ${execution.name}: ${followed}. Follow it with \`status ${execution.name}\`.`,
          };
        const deadline = Date.now() + Number(options.timeout) * 1000;
        for (;;) {
          const status = await statusOf(sfn, arn);
          const rollback = (status as MigrationStatus & { rollback?: { status: string; error?: string } })
            .rollback;
          const done =
            how === 'gate-rejected' ? CLOSED.has(status.status) : rollback && CLOSED.has(rollback.status);
          if (done) {
            const ok =
              how === 'gate-rejected'
                ? status.error === 'MigrationCancelledError'
                : rollback?.status === 'SUCCEEDED';
            return {
              json: { migrationId: execution.name, cancelled: how, rolledBack: ok, status },
              text: `${statusText(status)}\n${ok ? 'Rolled back: nothing is left behind and the source serves as before.' : `The rollback did not finish cleanly: see ${runbookLink('RollbackFailedError')}.`}`,
              exitCode: ok ? EXIT.ok : EXIT.refused,
            };
          }
          if (Date.now() > deadline)
            throw new CliError(
              `The rollback of ${execution.name} has not finished yet.`,
              EXIT.failure,
              'Follow it with `status`.',
            );
          await sleep(1000);
        }
      }),
    );

  // `fleet plan|start|status` (issue 12, docs/fleet.md).
  addFleetCommands(program, run, machine);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  let exitCode: number = EXIT.ok;
  const json = () => argv.includes('json') && (argv.includes('--output') || argv.includes('-o'));
  const run = async (action: () => Promise<Result>) => {
    try {
      const result = await action();
      const output = program.opts<GlobalOptions>().output;
      const text = output === 'json' ? JSON.stringify(result.json, null, 2) : result.text;
      if (text) process.stdout.write(`${text}\n`);
      exitCode = result.exitCode ?? EXIT.ok;
    } catch (error) {
      exitCode = report(error, program.opts<GlobalOptions>().output === 'json');
    }
  };
  const program = buildProgram(run);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
      if (error.code === 'commander.help') return EXIT.ok;
      return json() ? report(new CliError(error.message, EXIT.usage), true) : EXIT.usage;
    }
    return report(error, json());
  }
  return exitCode;
}

/** Prints an error (to stderr; as JSON on stdout with --output json) and returns its exit code. */
function report(error: unknown, json: boolean): number {
  const e = error as Error & { $metadata?: unknown };
  const cliError =
    error instanceof CliError
      ? error
      : e.name === 'CredentialsProviderError' || e.name === 'UnrecognizedClientException'
        ? new CliError(
            `No usable AWS credentials: ${e.message}`,
            EXIT.failure,
            'Configure credentials (AWS_PROFILE, aws sso login), or against the sandbox export what `npm run sandbox` prints.',
          )
        : new CliError(`${e.name}: ${e.message}`, EXIT.failure);
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ error: cliError.message, ...(cliError.hint ? { hint: cliError.hint } : {}), exitCode: cliError.exitCode, ...cliError.details }, null, 2)}\n`,
    );
  } else {
    process.stderr.write(
      `at-rest-migrator: ${cliError.message}\n${cliError.hint ? `  ${cliError.hint}\n` : ''}`,
    );
  }
  return cliError.exitCode;
}
