/**
 * `fleet plan|start|status`: the scheduled batch (statemachine/migrate-fleet.asl.json,
 * docs/fleet.md) from the command line. The input is checked here with the fleet machine's own
 * definition (lambdas/fleet/input.ts) before anything is sent, so bad input starts nothing.
 */
import { randomBytes } from 'node:crypto';
import {
  DescribeExecutionCommand,
  type ExecutionListItem,
  type HistoryEvent,
  paginateListExecutions,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { type Command, InvalidArgumentError, Option } from 'commander';
import logUpdate from 'log-update';
import { readableCause, summarizeHistory } from '../lambdas/api/history.js';
import { parseFleetInput } from '../lambdas/fleet/input.js';
import { childExecutionName } from '../lambdas/fleet/names.js';
import type { FleetReport } from '../lambdas/fleet/report-model.js';
import { MigrationError } from '../lambdas/shared/errors.js';
import {
  describeExecution,
  executionArnOf,
  executionHistory,
  FLEET_MACHINE,
  readS3Text,
  resolveStateMachine,
  sfnClient,
} from './aws.js';
import { CLOSED, type Result, readInput, sleep, startExecution, waitForEnd } from './common.js';
import { CliError, EXIT } from './errors.js';
import {
  type ChildStatus,
  type FleetStatus,
  type ReportFiles,
  renderFleetPlan,
  renderFleetStatus,
} from './fleet-view.js';

interface FleetFlags {
  input?: string;
  group: string[];
  tag: string[];
  engine: string[];
  all?: boolean;
  maxConcurrency?: number;
  toleratedFailures?: number;
  toleratedFailurePercentage?: number;
  windowMinutes?: number;
  windowClosesAt?: string;
  batchId?: string;
  name?: string;
}

/** The flags and the input fields they set (named in the error of a bad value). */
const FLAG_FIELDS: Record<string, string> = {
  '--group': 'selection.groupIds',
  '--tag': 'selection.tags',
  '--engine': 'selection.engines',
  '--max-concurrency': 'maxConcurrency',
  '--tolerated-failures': 'toleratedFailureCount',
  '--tolerated-failure-percentage': 'toleratedFailurePercentage',
  '--window-minutes': 'window.durationMinutes',
  '--window-closes-at': 'window.closesAt',
  '--batch-id': 'batchId',
};

const EXAMPLE =
  'A fleet input is a JSON object such as {"selection": {"tags": {"env": "prod"}}, "maxConcurrency": 5} (docs/fleet.md, "Input").';

const collect = (value: string, previous: string[]) => [...previous, value];
const wholeNumber = (value: string) => {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected a whole number, got '${value}'.`);
  return Number(value);
};
const percentage = (value: string) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n))
    throw new InvalidArgumentError(`expected a number, got '${value}'.`);
  return n;
};

/** The fleet input: the file's (--input), with the flags' fields over it. Not validated yet. */
export function fleetInputFrom(flags: FleetFlags): Record<string, unknown> {
  const input: Record<string, unknown> = flags.input ? readInput(flags.input, EXAMPLE) : {};
  const fileSelection = input.selection;
  const selection: Record<string, unknown> =
    fileSelection && typeof fileSelection === 'object' && !Array.isArray(fileSelection)
      ? { ...(fileSelection as Record<string, unknown>) }
      : {};
  if (flags.group.length > 0) selection.groupIds = flags.group;
  if (flags.engine.length > 0) selection.engines = flags.engine;
  if (flags.tag.length > 0) {
    const tags: Record<string, string> = {};
    for (const tag of flags.tag) {
      const at = tag.indexOf('=');
      if (at < 1)
        throw new CliError(
          `--tag ${tag}: expected KEY=VALUE.`,
          EXIT.usage,
          'For example --tag env=prod (repeat --tag for several; a group must carry them all).',
        );
      tags[tag.slice(0, at)] = tag.slice(at + 1);
    }
    selection.tags = tags;
  }
  if (flags.group.length > 0 || flags.engine.length > 0 || flags.tag.length > 0) input.selection = selection;
  if (flags.maxConcurrency !== undefined) input.maxConcurrency = flags.maxConcurrency;
  if (flags.toleratedFailures !== undefined) input.toleratedFailureCount = flags.toleratedFailures;
  if (flags.toleratedFailurePercentage !== undefined)
    input.toleratedFailurePercentage = flags.toleratedFailurePercentage;
  if (flags.windowMinutes !== undefined || flags.windowClosesAt !== undefined) {
    const window =
      input.window && typeof input.window === 'object'
        ? { ...(input.window as Record<string, unknown>) }
        : {};
    if (flags.windowMinutes !== undefined) window.durationMinutes = flags.windowMinutes;
    if (flags.windowClosesAt !== undefined) window.closesAt = flags.windowClosesAt;
    input.window = window;
  }
  if (flags.batchId !== undefined) input.batchId = flags.batchId;
  return input;
}

/** Validates with the fleet machine's definition: a bad input is a usage error, nothing is sent. */
function validate(input: Record<string, unknown>) {
  try {
    return parseFleetInput(input);
  } catch (error) {
    if (!(error instanceof MigrationError)) throw error;
    const flags = Object.entries(FLAG_FIELDS)
      .filter(([, field]) => error.message.includes(`${field}:`) || error.message.includes(`${field}.`))
      .map(([flag, field]) => `${flag} sets ${field}`);
    throw new CliError(
      error.message,
      EXIT.usage,
      `Nothing was started.${flags.length > 0 ? ` (${flags.join('; ')})` : ''}`,
      { status: 'invalid' },
    );
  }
}

/** `<prefix>-YYYYMMDD-HHMMSS-xxxx`: a batch id too (at most 32 characters). */
function defaultBatchName(prefix: string): string {
  const iso = new Date().toISOString();
  const stamp = `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}`;
  return `${prefix}-${stamp}-${randomBytes(2).toString('hex')}`;
}

function addInputOptions(command: Command): Command {
  return command
    .option(
      '-i, --input <file>',
      'fleet input (JSON, docs/fleet.md; - reads stdin); the flags below override it',
    )
    .addOption(
      new Option('--group <id>', 'only this replication group (repeat for several)')
        .argParser(collect)
        .default([], 'all'),
    )
    .addOption(
      new Option('--tag <key=value>', 'only groups carrying this tag (repeat: every one must match)')
        .argParser(collect)
        .default([], 'none'),
    )
    .addOption(
      new Option('--engine <engine>', 'only this engine: redis or valkey (repeat for several)')
        .argParser(collect)
        .default([], 'both'),
    )
    .option('--max-concurrency <n>', 'migrations running at once (default 5)', wholeNumber)
    .option('--tolerated-failures <n>', 'failed migrations tolerated before no new one starts', wholeNumber)
    .option('--tolerated-failure-percentage <p>', 'the same, in percent of the batch', percentage)
    .option('--window-minutes <n>', 'no migration starts this long after the batch started', wholeNumber)
    .option('--window-closes-at <time>', 'no migration starts at or after this ISO 8601 instant')
    .option('--batch-id <id>', 'the batch id (default: the execution name)');
}

async function fleetMachine(sfn: SFNClient, explicit: string | undefined) {
  return resolveStateMachine(sfn, explicit, FLEET_MACHINE);
}

/** The fleet execution's output once the report is written. */
interface BatchOutput {
  batchId: string;
  counts: Record<string, number>;
  stopped?: string;
  report: ReportFiles;
}

function parseOutput(output: string | undefined): BatchOutput | undefined {
  try {
    const value = JSON.parse(output ?? '') as Partial<BatchOutput>;
    return value.report?.json ? (value as BatchOutput) : undefined;
  } catch {
    return undefined;
  }
}

/** What DiscoverGroups returned (the batch id, the items of the Map, the plan's counts). */
interface Discovered {
  batchId: string;
  dryRun: boolean;
  maxConcurrency: number;
  items: { groupId: string }[];
  counts: Record<string, number>;
}

function discovered(events: readonly HistoryEvent[]): Discovered | undefined {
  for (const event of events) {
    const exited = event.stateExitedEventDetails;
    if (exited?.name !== 'DiscoverGroups' || !exited.output) continue;
    try {
      return JSON.parse(exited.output) as Discovered;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function currentState(events: readonly HistoryEvent[]): string | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const name = events[i]?.stateEnteredEventDetails?.name;
    if (name) return name;
  }
  return undefined;
}

/** What the status reads of a child, from ListExecutions or DescribeExecution. */
type ChildExecution = Partial<Pick<ExecutionListItem, 'executionArn' | 'status' | 'startDate' | 'stopDate'>>;

/**
 * Follows a batch: reads the fleet execution, its children (ListExecutions of the per-group
 * machine, by name) and, once written, its report. Closed children are read once.
 */
class BatchFollower {
  private readonly closed = new Map<string, ChildStatus>();
  private scannedAll = false;
  private report?: FleetReport;

  constructor(
    private readonly sfn: SFNClient,
    private readonly executionArn: string,
    private readonly migrationMachine: () => Promise<string>,
  ) {}

  async status(now = new Date()): Promise<FleetStatus> {
    const execution = await describeExecution(this.sfn, this.executionArn, 'batch');
    const events = await executionHistory(this.sfn, this.executionArn);
    const plan = discovered(events);
    const output = parseOutput(execution.output);
    const end = execution.stopDate ?? now;
    const status: FleetStatus = {
      ...(plan ? { batchId: plan.batchId, dryRun: plan.dryRun } : {}),
      executionName: execution.name ?? '',
      executionArn: this.executionArn,
      status: execution.status ?? 'UNKNOWN',
      ...(execution.startDate ? { startDate: execution.startDate.toISOString() } : {}),
      ...(execution.stopDate ? { stopDate: execution.stopDate.toISOString() } : {}),
      durationMs: execution.startDate ? Math.max(0, end.getTime() - execution.startDate.getTime()) : 0,
      ...(currentState(events) ? { currentState: currentState(events) } : {}),
      ...(plan ? { maxConcurrency: plan.maxConcurrency, plan: plan.counts } : {}),
      migrations: [],
      migrationCounts: {},
      ...(execution.error ? { error: execution.error } : {}),
      ...(execution.cause ? { cause: readableCause(execution.cause) } : {}),
    };
    if (plan && !plan.dryRun && plan.items.length > 0)
      status.migrations = await this.children(
        plan,
        execution.startDate ?? now,
        now,
        CLOSED.has(execution.status ?? ''),
      );
    for (const m of status.migrations)
      status.migrationCounts[m.status] = (status.migrationCounts[m.status] ?? 0) + 1;
    if (output) {
      this.report ??= JSON.parse(await readS3Text(output.report.json)) as FleetReport;
      status.outcomes = output.counts;
      if (output.stopped) status.stopped = output.stopped;
      status.groups = this.report.groups.map((g) => ({
        groupId: g.groupId,
        outcome: g.outcome,
        ...(g.reason ? { reason: g.reason } : {}),
        ...(g.error ? { error: g.error.name, runbook: g.error.runbook } : {}),
      }));
      status.report = output.report;
    }
    return status;
  }

  private async children(
    plan: Discovered,
    batchStart: Date,
    now: Date,
    batchClosed: boolean,
  ): Promise<ChildStatus[]> {
    const names = new Map(plan.items.map((i) => [childExecutionName(plan.batchId, i.groupId), i.groupId]));
    const listed = await this.listChildren(new Set(names.keys()), batchStart);
    const children: ChildStatus[] = [];
    for (const [name, groupId] of names) {
      const cached = this.closed.get(name);
      if (cached) {
        children.push(cached);
        continue;
      }
      let item: ChildExecution | undefined = listed.get(name);
      // ListExecutions is eventually consistent: the batch's last word asks each child directly.
      if (batchClosed && !CLOSED.has(item?.status ?? '')) item = await this.describeChild(name, item);
      if (!item) {
        children.push({ groupId, executionName: name, status: 'NOT_STARTED' });
        continue;
      }
      const child: ChildStatus = {
        groupId,
        executionName: name,
        status: item.status ?? 'UNKNOWN',
        ...(item.executionArn ? { executionArn: item.executionArn } : {}),
        ...(item.startDate ? { startDate: item.startDate.toISOString() } : {}),
        ...(item.stopDate ? { stopDate: item.stopDate.toISOString() } : {}),
        // Never below 0: the child may start after `now` was read, and clocks differ.
        ...(item.startDate
          ? { durationMs: Math.max(0, (item.stopDate ?? now).getTime() - item.startDate.getTime()) }
          : {}),
      };
      if (child.status === 'RUNNING' && item.executionArn) {
        const progress = summarizeHistory(await executionHistory(this.sfn, item.executionArn), now);
        if (progress.currentStep) child.currentStep = progress.currentStep;
        if (progress.waitingFor) child.waitingFor = progress.waitingFor.gate;
      } else if (CLOSED.has(child.status)) {
        if (child.status !== 'SUCCEEDED' && item.executionArn) {
          const described = await this.sfn.send(
            new DescribeExecutionCommand({ executionArn: item.executionArn }),
          );
          child.error = described.error ?? child.status;
        }
        this.closed.set(name, child);
      }
      children.push(child);
    }
    return children;
  }

  /** A child as DescribeExecution has it (undefined: it was never started). */
  private async describeChild(name: string, listed: ChildExecution | undefined) {
    const executionArn = listed?.executionArn ?? executionArnOf(await this.migrationMachine(), name);
    try {
      return await this.sfn.send(new DescribeExecutionCommand({ executionArn }));
    } catch (error) {
      if ((error as Error).name === 'ExecutionDoesNotExist') return undefined;
      throw error;
    }
  }

  /**
   * The children among the per-group machine's executions, newest first. The first look reads
   * every page (a batch re-run with its batch id finds the children of the earlier run); later
   * looks stop at executions older than the batch, since new children start after it.
   */
  private async listChildren(names: Set<string>, batchStart: Date) {
    const stateMachineArn = await this.migrationMachine();
    const found = new Map<string, ExecutionListItem>();
    const wanted = [...names].filter((n) => !this.closed.has(n)).length;
    for await (const page of paginateListExecutions(
      { client: this.sfn, pageSize: 1000 },
      { stateMachineArn },
    )) {
      const executions = page.executions ?? [];
      for (const e of executions)
        if (e.name && names.has(e.name) && !this.closed.has(e.name)) found.set(e.name, e);
      const oldest = executions.at(-1)?.startDate;
      if (found.size >= wanted) break;
      if (this.scannedAll && oldest && oldest < batchStart) break;
    }
    this.scannedAll = true;
    return found;
  }
}

/** Exit code of a batch: 0 when it succeeded and no migration rolled back or failed. */
function exitOfBatch(s: FleetStatus): number {
  if (s.status === 'RUNNING') return EXIT.ok;
  if (s.status !== 'SUCCEEDED') return EXIT.refused;
  return (s.outcomes?.['rolled-back'] ?? 0) + (s.outcomes?.failed ?? 0) > 0 ? EXIT.refused : EXIT.ok;
}

/** What changed between two looks (durations aside): a new line is printed only then. */
const changeKey = (s: FleetStatus) =>
  JSON.stringify([
    s.status,
    s.currentState,
    s.migrations.map((m) => [m.status, m.currentStep, m.waitingFor]),
    s.outcomes,
  ]);

/** Adds `fleet plan|start|status` to the program. */
export function addFleetCommands(
  program: Command,
  run: (action: () => Promise<Result>) => Promise<void>,
  migrationMachine: (sfn: SFNClient) => Promise<string>,
): void {
  const fleet = program
    .command('fleet')
    .description('scheduled batches of many groups: plan, start and follow them (docs/fleet.md)')
    .option(
      '--fleet-state-machine-arn <arn>',
      'the fleet state machine (default: MIGRATOR_FLEET_STATE_MACHINE_ARN, else the one named MigrateFleet or <stack>-MigrateFleet)',
    );
  const explicit = () => fleet.opts<{ fleetStateMachineArn?: string }>().fleetStateMachineArn;
  const json = () => program.opts<{ output: string }>().output === 'json';

  addInputOptions(
    fleet
      .command('plan')
      .description(
        'dry run of the batch: every selected group planned (what will be created, changed, refused); starts nothing',
      ),
  )
    .option('--name <name>', 'execution name, and batch id unless --batch-id (default plan-<time>-<random>)')
    .option('--timeout <seconds>', 'give up waiting after this long', '900')
    .action((flags: FleetFlags & { timeout: string }) =>
      run(async () => {
        const input = { ...fleetInputFrom(flags), dryRun: true };
        validate(input);
        const sfn = sfnClient();
        const name = flags.name ?? defaultBatchName('plan');
        const arn = await startExecution(sfn, await fleetMachine(sfn, explicit()), name, input, 'batch');
        const execution = await waitForEnd(
          sfn,
          arn,
          Number(flags.timeout) * 1000,
          `Follow it with \`fleet status ${name}\`.`,
        );
        const output = parseOutput(execution.output);
        if (execution.status !== 'SUCCEEDED' || !output) {
          const cause = readableCause(execution.cause);
          throw new CliError(
            `The plan ${name} ended ${execution.status}: ${execution.error ?? 'no report'}${cause ? `: ${cause}` : ''}`,
            EXIT.refused,
            'Nothing was started. See runbooks/scheduled-batch.md, "When something is wrong".',
            { status: 'refused', error: execution.error, cause, executionArn: arn },
          );
        }
        const report = JSON.parse(await readS3Text(output.report.json)) as FleetReport;
        return {
          json: {
            status: 'planned',
            batchId: report.batchId,
            executionName: name,
            executionArn: arn,
            counts: report.counts,
            settings: report.settings,
            groups: report.groups,
            report: output.report,
          },
          text: renderFleetPlan(report, output.report),
        };
      }),
    );

  addInputOptions(
    fleet
      .command('start')
      .description('starts a batch; prints its id (follow it with `fleet status`)')
      .option(
        '--all',
        'select every unencrypted group of the account and Region (no --group, --tag, --engine)',
      ),
  )
    .option('--name <name>', 'execution name, and batch id unless --batch-id (default batch-<time>-<random>)')
    .action((flags: FleetFlags) =>
      run(async () => {
        const input = fleetInputFrom(flags);
        if (input.dryRun === true)
          throw new CliError(
            'The input asks for a dry run: use `fleet plan`.',
            EXIT.usage,
            'Nothing was started.',
          );
        const parsed = validate(input);
        const selected = Object.values(parsed.selection).some((v) => v !== undefined);
        if (!selected && !flags.all)
          throw new CliError(
            'Say which groups: --group ID, --tag KEY=VALUE, --engine, or selection in --input; or --all for every unencrypted group.',
            EXIT.usage,
            'Nothing was started. Plan first: `fleet plan` takes the same flags.',
          );
        if (selected && flags.all)
          throw new CliError('--all selects every group: drop it, or drop the selection.', EXIT.usage);
        const sfn = sfnClient();
        const name = flags.name ?? defaultBatchName('batch');
        const arn = await startExecution(sfn, await fleetMachine(sfn, explicit()), name, input, 'batch');
        return {
          json: { executionName: name, executionArn: arn, status: 'RUNNING' },
          text: `Started batch ${name}\n  ${arn}\n  Follow it: npx at-rest-migrator fleet status ${name}`,
        };
      }),
    );

  fleet
    .command('status')
    .description(
      'the batch and each migration of it, live until the batch ends, then its outcomes and report (exit 3 if a migration rolled back or failed)',
    )
    .argument('<id>', 'the fleet execution name (as `fleet start` printed it) or its ARN')
    .option('--once', 'print the state once and exit (0 while it runs)')
    .option('--interval <seconds>', 'refresh interval', '2')
    .action((id: string, options: { once?: boolean; interval: string }) =>
      run(async () => {
        const sfn = sfnClient();
        const arn = executionArnOf(await fleetMachine(sfn, explicit()), id);
        // The per-group machine never changes during a batch: looked up once, not on every poll.
        let machine: Promise<string> | undefined;
        const follower = new BatchFollower(sfn, arn, () => {
          machine ??= migrationMachine(sfn);
          return machine;
        });
        const live = !json() && process.stdout.isTTY && !options.once;
        let last = '';
        for (;;) {
          const status = await follower.status();
          const closed = CLOSED.has(status.status);
          if (options.once || closed) {
            if (live) logUpdate.clear();
            return { json: status, text: renderFleetStatus(status), exitCode: exitOfBatch(status) };
          }
          // A redrawn block on a terminal; otherwise a block (JSON line) per change.
          const key = changeKey(status);
          if (live) logUpdate(renderFleetStatus(status));
          else if (key !== last)
            process.stdout.write(`${json() ? JSON.stringify(status) : renderFleetStatus(status)}\n`);
          last = key;
          await sleep(Number(options.interval) * 1000);
        }
      }),
    );
}
