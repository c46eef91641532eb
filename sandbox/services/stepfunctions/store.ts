import { randomBytes, randomUUID } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import {
  distributedMapHandler,
  prepareDistributedMaps,
  SYNC2_RESOURCE,
  startSyncResult,
} from '../../distributed-map.js';
import { AwsFault } from '../../protocol/errors.js';
import {
  type ApprovalDecision,
  type ApprovalRequest,
  type LambdaHandler,
  type LocalExecutionResult,
  runLocal,
  TaskFailure,
} from '../../stepfunctions.js';
import type { SandboxContext } from '../types.js';
import { ExecutionHistory, type HistoryEvent } from './history.js';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface StateMachineRecord {
  name: string;
  arn: string;
  /** The definition as DescribeStateMachine returns it (substitutions applied, as on AWS). */
  definition: string;
  roleArn: string;
  creationDate: Date;
}

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  input: string;
  status: ExecutionStatus;
  startDate: Date;
  stopDate?: Date;
  output?: string;
  error?: string;
  cause?: string;
  history: ExecutionHistory;
  /** Resolves once the execution is closed and its functions have returned. */
  settled: Promise<void>;
}

/** A Task state waiting for SendTaskSuccess / SendTaskFailure (`.waitForTaskToken`). */
interface OpenTask {
  executionArn: string;
  stateName: string;
  resolve: (decision: ApprovalDecision) => void;
  heartbeatMs?: number;
  heartbeatTimer?: NodeJS.Timeout;
}

/**
 * EventBridge's "Step Functions Execution Status Change" rule that the deployment has: when an
 * execution of `source` reaches one of `statuses`, an execution of `target` starts with the event
 * as its input. The sandbox delivers the event once the stopped execution's functions have
 * returned (on AWS the target waits that out itself: see docs/stepfunctions-sandbox.md).
 */
export interface StatusChangeRule {
  source: string;
  statuses: ExecutionStatus[];
  target: string;
}

export interface StepFunctionsStoreOptions {
  /** The functions Lambda tasks invoke, by ARN; loaded at the first execution. */
  functions: () => Promise<Record<string, LambdaHandler>>;
  /** Scales Wait states, Retry pauses and heartbeats as the sandbox scales AWS's durations. */
  timeScale: number;
}

/** Execution names: 1–80 characters, none of AWS's excluded characters. */
const NAME_PATTERN = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/]{1,80}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: AWS refuses control characters in names.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const validName = (name: string) => NAME_PATTERN.test(name) && !CONTROL.test(name);
const MAX_INPUT_BYTES = 262_144;

/**
 * Task tokens like AWS's: opaque base64 (with `+`, `/` and `=`, so clients that forget to encode
 * them break here as they would on AWS), about 680 characters, well under the 2,048 allowed.
 */
function newTaskToken(): string {
  return `AQ${randomBytes(510).toString('base64')}`;
}

/**
 * Step Functions, local: state machines, executions run on the local engine with the project's
 * handlers, their history in AWS's shapes, task tokens, StopExecution and the status-change rule.
 */
export class StepFunctionsStore {
  readonly machines = new Map<string, StateMachineRecord>();
  readonly executions = new Map<string, ExecutionRecord>();
  readonly rules: StatusChangeRule[] = [];
  private readonly openTasks = new Map<string, OpenTask>();
  private readonly closedTokens = new Set<string>();
  private readonly controllers = new Map<string, AbortController>();
  private functions?: Promise<Record<string, LambdaHandler>>;
  /**
   * State transitions (every state entered, every retry: what Standard workflows bill) by state
   * machine ARN, Distributed Map children included (bench:fleet reads them).
   */
  readonly transitions = new Map<string, number>();

  constructor(
    private readonly ctx: SandboxContext,
    private readonly options: StepFunctionsStoreOptions,
  ) {}

  machineArn(name: string): string {
    return `arn:aws:states:${this.ctx.region}:${this.ctx.accountId}:stateMachine:${name}`;
  }

  defaultRoleArn(name: string): string {
    return `arn:aws:iam::${this.ctx.accountId}:role/${name}Role`;
  }

  addMachine(name: string, definition: string, roleArn = this.defaultRoleArn(name)): StateMachineRecord {
    if (!validName(name)) throw new AwsFault('InvalidName', `Invalid Name: '${name}'`);
    checkDefinition(definition);
    const arn = this.machineArn(name);
    const existing = this.machines.get(arn);
    if (existing) {
      // CreateStateMachine is idempotent for the same definition and role.
      if (existing.definition === definition && existing.roleArn === roleArn) return existing;
      throw new AwsFault('StateMachineAlreadyExists', `State Machine Already Exists: '${arn}'`);
    }
    const record: StateMachineRecord = {
      name,
      arn,
      definition,
      roleArn,
      creationDate: new Date(this.ctx.clock.now()),
    };
    this.machines.set(arn, record);
    return record;
  }

  machine(arn: string | undefined): StateMachineRecord {
    if (!arn) throw new AwsFault('ValidationException', 'stateMachineArn is required.');
    if (!/^arn:aws[\w-]*:states:[\w-]+:\d{12}:stateMachine:/.test(arn))
      throw new AwsFault('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${arn}'`);
    const machine = this.machines.get(arn);
    if (!machine) throw new AwsFault('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    return machine;
  }

  execution(arn: string | undefined): ExecutionRecord {
    if (!arn) throw new AwsFault('ValidationException', 'executionArn is required.');
    if (!/^arn:aws[\w-]*:states:[\w-]+:\d{12}:execution:/.test(arn))
      throw new AwsFault('InvalidArn', `Invalid Arn: 'Resource type not valid in this context: ${arn}'`);
    const execution = this.executions.get(arn);
    if (!execution) throw new AwsFault('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return execution;
  }

  start(machineArn: string | undefined, name: string = randomUUID(), input = '{}'): ExecutionRecord {
    const machine = this.machine(machineArn);
    if (!validName(name)) throw new AwsFault('InvalidName', `Invalid Name: '${name}'`);
    if (Buffer.byteLength(input) > MAX_INPUT_BYTES)
      throw new AwsFault('InvalidExecutionInput', 'The input exceeds the 262144 bytes limit.');
    let parsed: unknown;
    try {
      parsed = JSON.parse(input);
    } catch (error) {
      throw new AwsFault(
        'InvalidExecutionInput',
        `Invalid State Machine Execution Input: '${(error as Error).message}'`,
      );
    }
    const executionArn = `arn:aws:states:${this.ctx.region}:${this.ctx.accountId}:execution:${machine.name}:${name}`;
    const existing = this.executions.get(executionArn);
    if (existing) {
      // Same name and input while running: the same execution; otherwise the name is taken (90 days).
      if (existing.status === 'RUNNING' && existing.input === input) return existing;
      throw new AwsFault('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const startDate = new Date();
    const history = new ExecutionHistory(this.ctx.region);
    history.started(input, machine.roleArn, startDate.getTime());
    const controller = new AbortController();
    const inFlight = new Set<Promise<unknown>>();
    const record: ExecutionRecord = {
      executionArn,
      stateMachineArn: machine.arn,
      name,
      input,
      status: 'RUNNING',
      startDate,
      history,
      settled: Promise.resolve(),
    };
    this.executions.set(executionArn, record);
    this.controllers.set(executionArn, controller);

    const scale = this.options.timeScale;
    const scaled =
      scale < 1 ? (seconds: number) => Math.max(5, Math.round(seconds * 1000 * scale)) : undefined;
    const run = async (): Promise<LocalExecutionResult> => {
      this.functions ??= this.options.functions();
      const functions = await this.functions;
      // Each invocation is tracked: on AWS a stopped execution's running Lambda call goes on.
      const tracked = Object.fromEntries(
        Object.entries(functions).map(([arn, fn]) => [
          arn,
          (event: unknown) => {
            const call = fn(event);
            inFlight.add(call);
            call.then(
              () => inFlight.delete(call),
              () => inFlight.delete(call),
            );
            return call;
          },
        ]),
      );
      const timing = scaled ? { waitMs: scaled(30), retryMs: scaled(2) } : {};
      const count = (event: { type: string }) => {
        if (event.type === 'StateEntered' || event.type === 'StateRetried')
          this.transitions.set(machine.arn, (this.transitions.get(machine.arn) ?? 0) + 1);
      };
      // What the local engine lacks: startExecution.sync:2 and the Distributed Map (its children
      // run on the engine, counted but without a history of their own here).
      const prepared = prepareDistributedMaps(JSON.parse(machine.definition));
      const integrations: Record<string, (input: unknown) => Promise<unknown>> = {
        [SYNC2_RESOURCE]: (params) => this.startSync(params),
      };
      for (const [resource, map] of Object.entries(prepared.maps))
        integrations[resource] = distributedMapHandler(map, {
          runChild: (definition, childInput, childName, signal) =>
            runLocal({
              definition,
              substitutions: {},
              functions: tracked,
              input: childInput,
              executionName: `${name}/${childName}`,
              signal,
              ...timing,
              integrations,
              onEvent: count,
            }),
        });
      return runLocal({
        definition: JSON.stringify(prepared.definition),
        substitutions: {},
        functions: tracked,
        integrations,
        onEvent: count,
        input: parsed,
        executionName: name,
        executionArn,
        stateMachineArn: machine.arn,
        stateMachineName: machine.name,
        signal: controller.signal,
        ...timing,
        mintTaskToken: () => newTaskToken(),
        decide: (request) => this.waitForToken(executionArn, request),
        onHistory: (item) => {
          if (record.status === 'RUNNING') history.record(item);
        },
      });
    };
    record.settled = run()
      .then(
        (result) => this.close(record, result),
        (error: unknown) =>
          this.close(record, {
            status: 'FAILED',
            error: 'States.Runtime',
            cause: (error as Error).message,
            events: [],
            executionName: name,
          }),
      )
      .then(async () => {
        // Let in-flight functions of a stopped execution return before the rule reacts.
        while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
        this.deliverStatusChange(record);
      });
    return record;
  }

  /**
   * `states:startExecution.sync:2`: starts a child execution and waits for it to close. Stopping
   * the parent does not stop the child (docs/fleet.md: a migration is never cut off mid-way).
   */
  private async startSync(params: unknown): Promise<unknown> {
    const p = (params ?? {}) as { StateMachineArn?: string; Name?: string; Input?: unknown };
    let record: ExecutionRecord;
    try {
      const input = typeof p.Input === 'string' ? p.Input : JSON.stringify(p.Input ?? {});
      record = this.start(p.StateMachineArn, p.Name ?? randomUUID(), input);
    } catch (error) {
      if (!(error instanceof AwsFault)) throw error;
      const code = error.code.endsWith('Exception') ? error.code : `${error.code}Exception`;
      throw new TaskFailure(`StepFunctions.${code}`, error.message);
    }
    await record.settled;
    return startSyncResult({
      executionArn: record.executionArn,
      stateMachineArn: record.stateMachineArn,
      name: record.name,
      status: record.status,
      startDate: record.startDate.getTime(),
      ...(record.stopDate ? { stopDate: record.stopDate.getTime() } : {}),
      input: record.input,
      ...(record.output !== undefined ? { output: JSON.parse(record.output) } : {}),
      ...(record.error !== undefined ? { error: record.error } : {}),
      ...(record.cause !== undefined ? { cause: record.cause } : {}),
    });
  }

  /** StopExecution: ABORTED at once, no Catch runs; a function already running goes on. */
  stop(executionArn: string | undefined, error?: string, cause?: string): Date {
    const record = this.execution(executionArn);
    if (record.status !== 'RUNNING') return record.stopDate ?? new Date();
    record.status = 'ABORTED';
    record.stopDate = new Date();
    if (error !== undefined) record.error = error;
    if (cause !== undefined) record.cause = cause;
    record.history.ended('ABORTED', { error, cause }, record.stopDate.getTime());
    this.closeTasksOf(record.executionArn);
    this.controllers.get(record.executionArn)?.abort();
    return record.stopDate;
  }

  private close(record: ExecutionRecord, result: LocalExecutionResult): void {
    this.controllers.delete(record.executionArn);
    this.closeTasksOf(record.executionArn);
    if (record.status !== 'RUNNING') return; // stopped: already closed
    record.status = result.status;
    record.stopDate = new Date();
    if (result.status === 'SUCCEEDED') record.output = JSON.stringify(result.output ?? null);
    if (result.error !== undefined) record.error = result.error;
    if (result.cause !== undefined) record.cause = result.cause;
    record.history.ended(
      result.status,
      { output: record.output, error: record.error, cause: record.cause },
      record.stopDate.getTime(),
    );
  }

  private waitForToken(executionArn: string, request: ApprovalRequest): Promise<ApprovalDecision> {
    return new Promise((resolve) => {
      const task: OpenTask = { executionArn, stateName: request.stateName, resolve };
      if (request.heartbeatSeconds !== undefined) {
        const scale = this.options.timeScale;
        task.heartbeatMs = Math.max(5, request.heartbeatSeconds * 1000 * Math.min(1, scale));
        this.armHeartbeat(request.taskToken, task);
      }
      this.openTasks.set(request.taskToken, task);
    });
  }

  /** HeartbeatSeconds: the local engine ignores the field, so the sandbox times the task out. */
  private armHeartbeat(token: string, task: OpenTask): void {
    clearTimeout(task.heartbeatTimer);
    task.heartbeatTimer = setTimeout(() => {
      this.closeToken(token);
      task.resolve({ error: 'States.HeartbeatTimeout', cause: 'No heartbeat within HeartbeatSeconds.' });
    }, task.heartbeatMs);
    task.heartbeatTimer.unref();
  }

  private openTask(token: string | undefined): OpenTask {
    if (!token || token.length > 2048) throw new AwsFault('InvalidToken', 'Invalid Token');
    const task = this.openTasks.get(token);
    if (task) return task;
    if (this.closedTokens.has(token))
      throw new AwsFault('TaskTimedOut', 'Task Timed Out: Provided task does not exist anymore');
    throw new AwsFault('InvalidToken', 'Invalid Token: the token was not issued for any task');
  }

  private closeToken(token: string): void {
    const task = this.openTasks.get(token);
    if (task) clearTimeout(task.heartbeatTimer);
    this.openTasks.delete(token);
    this.closedTokens.add(token);
  }

  private closeTasksOf(executionArn: string): void {
    for (const [token, task] of this.openTasks)
      if (task.executionArn === executionArn) this.closeToken(token);
  }

  sendSuccess(token: string | undefined, output: string | undefined): void {
    const task = this.openTask(token);
    let parsed: unknown;
    try {
      parsed = JSON.parse(output ?? '');
    } catch {
      throw new AwsFault('InvalidOutput', 'Invalid Output: the output is not valid JSON.');
    }
    this.closeToken(token!);
    task.resolve({ output: parsed });
  }

  sendFailure(token: string | undefined, error = '', cause = ''): void {
    const task = this.openTask(token);
    this.closeToken(token!);
    task.resolve({ error, cause });
  }

  heartbeat(token: string | undefined): void {
    const task = this.openTask(token);
    if (task.heartbeatMs !== undefined) this.armHeartbeat(token!, task);
  }

  history(record: ExecutionRecord): HistoryEvent[] {
    return record.history.events;
  }

  private deliverStatusChange(record: ExecutionRecord): void {
    const machine = this.machines.get(record.stateMachineArn);
    for (const rule of this.rules) {
      if (machine?.name !== rule.source || !rule.statuses.includes(record.status)) continue;
      const target = this.machineArn(rule.target);
      const event = {
        version: '0',
        id: randomUUID(),
        'detail-type': 'Step Functions Execution Status Change',
        source: 'aws.states',
        account: this.ctx.accountId,
        time: (record.stopDate ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z'),
        region: this.ctx.region,
        resources: [record.executionArn],
        detail: {
          executionArn: record.executionArn,
          stateMachineArn: record.stateMachineArn,
          name: record.name,
          status: record.status,
          startDate: record.startDate.getTime(),
          stopDate: record.stopDate?.getTime() ?? null,
          input: record.input,
          output: record.output ?? null,
          error: record.error ?? null,
          cause: record.cause ?? null,
        },
      };
      this.start(target, randomUUID(), JSON.stringify(event));
    }
  }

  /** Stops every running execution (the sandbox is shutting down). */
  stopAll(): void {
    for (const record of this.executions.values())
      if (record.status === 'RUNNING')
        this.stop(record.executionArn, 'SandboxStopped', 'The sandbox stopped.');
  }
}

/**
 * Refuses what the local engine cannot run: invalid ASL (its validator), and Task resources other
 * than the Lambda integration bound to the project's functions.
 */
export function checkDefinition(definition: string): void {
  let parsed: { States?: Record<string, { Type?: string; Resource?: string }> };
  try {
    parsed = JSON.parse(definition);
  } catch (error) {
    throw new AwsFault(
      'InvalidDefinition',
      `Invalid State Machine Definition: '${(error as Error).message}'`,
    );
  }
  try {
    new StateMachine(parsed as never, { validationOptions: { checkPaths: true, checkArn: false } });
  } catch (error) {
    throw new AwsFault(
      'InvalidDefinition',
      `Invalid State Machine Definition: '${(error as Error).message}'`,
    );
  }
  for (const [name, state] of Object.entries(parsed.States ?? {})) {
    if (state.Type !== 'Task') continue;
    if (
      state.Resource !== 'arn:aws:states:::lambda:invoke' &&
      state.Resource !== SYNC2_RESOURCE &&
      state.Resource !== 'arn:aws:states:::lambda:invoke.waitForTaskToken'
    )
      throw new AwsFault(
        'InvalidDefinition',
        `Invalid State Machine Definition: state ${name} uses ${state.Resource}; the sandbox runs Lambda integrations (lambda:invoke, lambda:invoke.waitForTaskToken) bound to the project's functions only.`,
      );
  }
}
