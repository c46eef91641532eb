import type { HistoryEvent } from '../lambdas/fleet/report-model.js';
import {
  type DistributedMapRuntime,
  distributedMapHandler,
  prepareDistributedMaps,
} from './distributed-map.js';
import {
  type LambdaHandler,
  type LocalExecutionEvent,
  type LocalExecutionResult,
  type LocalRunOptions,
  runLocal,
  substitute,
  TaskFailure,
} from './stepfunctions.js';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';

export const SYNC2_RESOURCE = 'arn:aws:states:::states:startExecution.sync:2';

export function localStateMachineArn(name: string): string {
  return `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${name}`;
}

/** A state machine as deployed locally: its definition, substitutions and handlers. */
export interface LocalMachine {
  name: string;
  definition: string | object;
  substitutions: Record<string, string>;
  functions: Record<string, LambdaHandler>;
  waitMs?: number;
  retryMs?: number;
  decide?: LocalRunOptions['decide'];
}

export interface ExecutionRecord {
  executionArn: string;
  name: string;
  stateMachineArn: string;
  input: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  startDate: number;
  stopDate?: number;
  output?: unknown;
  error?: string;
  cause?: string;
  events: LocalExecutionEvent[];
  done: Promise<ExecutionRecord>;
  stop: AbortController;
}

/**
 * The executions of the local state machines, and the integrations the engine lacks:
 * `states:startExecution.sync:2` (a child execution of a registered machine, waited for; its
 * result and failure shaped as Step Functions shapes them) and the Distributed Map
 * (sandbox/distributed-map.ts). Counts state transitions (every state entered, every retry)
 * and the most executions of each machine running at once.
 */
export class LocalExecutions {
  readonly machines = new Map<string, LocalMachine>();
  readonly executions = new Map<string, ExecutionRecord>();
  private readonly running = new Map<string, number>();
  readonly maxRunning = new Map<string, number>();
  /** Transitions of every execution, Map children included, by state machine ARN. */
  readonly transitions = new Map<string, number>();
  readonly mapChildren: { mapState: string; index: number; status: string }[] = [];

  register(machine: LocalMachine): string {
    const arn = localStateMachineArn(machine.name);
    this.machines.set(arn, machine);
    return arn;
  }

  private count(machineArn: string, event: LocalExecutionEvent) {
    if (event.type === 'StateEntered' || event.type === 'StateRetried')
      this.transitions.set(machineArn, (this.transitions.get(machineArn) ?? 0) + 1);
  }

  /** StartExecution: a name already running with the same input returns that execution. */
  start(stateMachineArn: string, name: string, input: unknown): ExecutionRecord {
    const machine = this.machines.get(stateMachineArn);
    if (!machine)
      throw new TaskFailure(
        'StepFunctions.StateMachineDoesNotExistException',
        `State Machine Does Not Exist: '${stateMachineArn}'`,
      );
    const executionArn = `arn:aws:states:${REGION}:${ACCOUNT}:execution:${machine.name}:${name}`;
    const inputText = typeof input === 'string' ? input : JSON.stringify(input ?? {});
    const existing = this.executions.get(executionArn);
    if (existing) {
      if (existing.status === 'RUNNING' && existing.input === inputText) return existing;
      throw new TaskFailure(
        'StepFunctions.ExecutionAlreadyExistsException',
        `Execution Already Exists: '${executionArn}'`,
      );
    }
    const parsedInput = JSON.parse(inputText) as unknown;
    const stop = new AbortController();
    const record = {
      executionArn,
      name,
      stateMachineArn,
      input: inputText,
      status: 'RUNNING',
      startDate: Date.now(),
      events: [],
      stop,
    } as unknown as ExecutionRecord;
    this.executions.set(executionArn, record);
    const now = (this.running.get(stateMachineArn) ?? 0) + 1;
    this.running.set(stateMachineArn, now);
    this.maxRunning.set(stateMachineArn, Math.max(now, this.maxRunning.get(stateMachineArn) ?? 0));
    record.done = this.run(machine, stateMachineArn, parsedInput, name, stop.signal, (e) =>
      record.events.push(e),
    ).then((result) => {
      this.running.set(stateMachineArn, (this.running.get(stateMachineArn) ?? 1) - 1);
      record.status = result.status;
      record.stopDate = Date.now();
      if (result.status === 'SUCCEEDED') record.output = result.output;
      if (result.error !== undefined) record.error = result.error;
      if (result.cause !== undefined) record.cause = result.cause;
      return record;
    });
    return record;
  }

  private run(
    machine: LocalMachine,
    stateMachineArn: string,
    input: unknown,
    name: string,
    signal: AbortSignal,
    onEvent: (e: LocalExecutionEvent) => void,
  ): Promise<LocalExecutionResult> {
    const text =
      typeof machine.definition === 'string' ? machine.definition : JSON.stringify(machine.definition);
    const prepared = prepareDistributedMaps(JSON.parse(substitute(text, machine.substitutions)));
    const integrations: Record<string, (input: unknown) => Promise<unknown>> = {
      [SYNC2_RESOURCE]: (params) => this.startSync(params),
    };
    const runtime: DistributedMapRuntime = {
      runChild: (definition, childInput, childName, childSignal) =>
        runLocal({
          definition,
          substitutions: {},
          functions: machine.functions,
          input: childInput,
          executionName: `${name}/${childName}`,
          ...(machine.waitMs !== undefined ? { waitMs: machine.waitMs } : {}),
          ...(machine.retryMs !== undefined ? { retryMs: machine.retryMs } : {}),
          integrations,
          signal: childSignal,
          onEvent: (e) => this.count(stateMachineArn, e),
        }),
      childEnded: (mapState, index, result) =>
        this.mapChildren.push({ mapState, index, status: result.status }),
    };
    for (const [resource, map] of Object.entries(prepared.maps))
      integrations[resource] = distributedMapHandler(map, runtime);
    return runLocal({
      definition: prepared.definition,
      substitutions: {},
      functions: machine.functions,
      input,
      executionName: name,
      ...(machine.waitMs !== undefined ? { waitMs: machine.waitMs } : {}),
      ...(machine.retryMs !== undefined ? { retryMs: machine.retryMs } : {}),
      ...(machine.decide ? { decide: machine.decide } : {}),
      integrations,
      signal,
      onEvent: (e) => {
        this.count(stateMachineArn, e);
        onEvent(e);
      },
    });
  }

  /**
   * `states:startExecution.sync:2`: starts the child and waits. Succeeded: DescribeExecution's
   * fields with `Output` as JSON (the `:2` form). Otherwise the task fails with States.TaskFailed
   * and a Cause holding the child's DescribeExecution as JSON (Status, Error, Cause, dates).
   */
  async startSync(params: unknown): Promise<unknown> {
    const p = (params ?? {}) as { StateMachineArn?: string; Name?: string; Input?: unknown };
    if (!p.StateMachineArn)
      throw new TaskFailure('States.Runtime', 'startExecution: StateMachineArn is missing.');
    const record = await this.start(p.StateMachineArn, p.Name ?? crypto.randomUUID(), p.Input ?? {}).done;
    const described = {
      ExecutionArn: record.executionArn,
      StateMachineArn: record.stateMachineArn,
      Name: record.name,
      Status: record.status,
      StartDate: record.startDate,
      StopDate: record.stopDate,
      Input: record.input,
    };
    if (record.status === 'SUCCEEDED') return { ...described, Output: record.output };
    throw new TaskFailure(
      'States.TaskFailed',
      JSON.stringify({
        ...described,
        ...(record.error ? { Error: record.error } : {}),
        ...(record.cause ? { Cause: record.cause } : {}),
      }),
    );
  }

  /** GetExecutionHistory's events (the fields the fleet report reads). */
  history(executionArn: string): HistoryEvent[] {
    const record = this.executions.get(executionArn);
    if (!record)
      throw Object.assign(new Error(`Execution Does Not Exist: '${executionArn}'`), {
        name: 'ExecutionDoesNotExist',
      });
    return record.events.map((e) => ({
      type: e.state ? `${e.state.type}${e.type}` : e.type,
      timestamp: e.timestamp,
      ...(e.type === 'StateEntered' && e.state ? { stateEnteredEventDetails: { name: e.state.name } } : {}),
    }));
  }

  runningOf(stateMachineArn: string): number {
    return this.running.get(stateMachineArn) ?? 0;
  }
}
