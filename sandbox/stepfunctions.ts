import { randomUUID } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import './polyfills.js';
import { substitute as substituteDefinition } from '../statemachine/manifest.js';

// biome-ignore lint/suspicious/noExplicitAny: Lambda handlers take whatever their state passes.
export type LambdaHandler = (event: any) => Promise<unknown>;

export interface ApprovalRequest {
  gate: string;
  taskToken: string;
  /** The Payload the state passed to the approval function. */
  payload: Record<string, unknown>;
  /** The Task state that waits. */
  stateName: string;
  /** Its HeartbeatSeconds, when it has one (the local engine ignores the field; see decide). */
  heartbeatSeconds?: number;
}

/** SendTaskSuccess (`output`) or SendTaskFailure (`error`, `cause`). */
export type ApprovalDecision = { output: unknown } | { error: string; cause: string };

export interface LocalExecutionEvent {
  type: string;
  timestamp: number;
  state?: { name: string; type: string };
  Error?: string;
  Cause?: string;
}

/**
 * What a Task state did, as AWS records it in the execution history: scheduled (with the
 * resolved Parameters, task token included), started, submitted (a `.waitForTaskToken` function
 * returned), then succeeded, failed or timed out.
 */
export type LocalTaskEvent =
  | {
      type: 'TaskScheduled';
      stateName: string;
      resource: string;
      parameters: unknown;
      timeoutSeconds?: number;
      heartbeatSeconds?: number;
    }
  | { type: 'TaskStarted'; stateName: string; resource: string }
  | { type: 'TaskSubmitted'; stateName: string; resource: string; output: unknown }
  | { type: 'TaskSucceeded'; stateName: string; resource: string; output: unknown }
  | {
      type: 'TaskFailed' | 'TaskTimedOut';
      stateName: string;
      resource: string;
      error: string;
      cause: string;
    };

/** One event of the execution, in order: the engine's own (with state input/output) or a Task's. */
export type LocalHistoryItem =
  | { kind: 'engine'; timestamp: number; event: EngineEvent }
  | { kind: 'task'; timestamp: number; event: LocalTaskEvent };

/** The engine's event as it reports it (state events carry the state's input and output). */
export interface EngineEvent {
  type: string;
  timestamp: number;
  state?: { name: string; type: string; input?: unknown; output?: unknown };
  input?: unknown;
  output?: unknown;
  Error?: string;
  Cause?: unknown;
}

export interface LocalRunOptions {
  /** An ASL definition; `${Name}` placeholders are replaced from `substitutions`. */
  definition: string | object;
  /** Definition substitutions, as CloudFormation's DefinitionSubstitutions. */
  substitutions: Record<string, string>;
  /** Lambda handlers by function ARN (the values of the substitutions that name functions). */
  functions: Record<string, LambdaHandler>;
  input: unknown;
  executionName?: string;
  /** Every Wait state lasts this long instead (milliseconds). */
  waitMs?: number;
  /** Every Retry pause lasts this long instead (milliseconds). */
  retryMs?: number;
  /** Answers `.waitForTaskToken` tasks, after their function ran (approval gates). */
  decide?: (request: ApprovalRequest) => Promise<ApprovalDecision>;
  onEvent?: (event: LocalExecutionEvent) => void;
  /**
   * Handlers of Task resources other than Lambda (`states:startExecution.sync:2`, the sandbox's
   * Distributed Map: sandbox/distributed-map.ts), by Resource; they get the state's effective input.
   */
  integrations?: Record<string, (input: unknown) => Promise<unknown>>;
  /** Every event in the order AWS records it (the sandbox's GetExecutionHistory). */
  onHistory?: (item: LocalHistoryItem) => void;
  /**
   * Mints the task token of each `.waitForTaskToken` task, once per attempt, as AWS does.
   * @default the same local token for every task of the execution
   */
  mintTaskToken?: (stateName: string) => string;
  /** Aborting it stops the execution as StopExecution does: no Catch runs, status ABORTED. */
  signal?: AbortSignal;
  /** The context object's ids (the sandbox's ARNs). */
  executionArn?: string;
  stateMachineArn?: string;
  stateMachineName?: string;
}

export interface LocalExecutionResult {
  status: 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';
  output?: unknown;
  error?: string;
  cause?: string;
  events: LocalExecutionEvent[];
  executionName: string;
}

/**
 * Replaces `${Name}` placeholders as the deployment does (statemachine/manifest.ts); a name
 * without a substitution is an error.
 */
export function substitute(definition: string, substitutions: Record<string, string>): string {
  return substituteDefinition(definition, substitutions, 'the definition');
}

const validatedDefinitions = new Set<string>();

/** What Lambda returns for a function error, which Step Functions turns into Error and Cause. */
class LambdaFunctionError extends Error {
  constructor(error: unknown) {
    const e = error instanceof Error ? error : new Error(String(error));
    super(JSON.stringify({ errorType: e.name, errorMessage: e.message, trace: [] }));
    this.name = e.name;
  }
}

export class TaskFailure extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

/**
 * Runs an ASL definition on the local Step Functions engine (aws-local-stepfunctions) with its
 * Task states bound to in-process handlers. `arn:aws:states:::lambda:invoke` tasks behave as the
 * optimized Lambda integration does: the handler gets `Payload` (JSON round-tripped), the result
 * is `{ Payload, StatusCode }`, and a thrown error becomes Error = its name and Cause = Lambda's
 * error JSON. `.waitForTaskToken` tasks run their function with a task token, then wait for
 * `decide`. The engine passes no task token and ignores Variables/JSONata (engine notes in the
 * issue), so the token comes in through the context object.
 */
export async function runLocal(options: LocalRunOptions): Promise<LocalExecutionResult> {
  const text =
    typeof options.definition === 'string' ? options.definition : JSON.stringify(options.definition);
  const definition = JSON.parse(substitute(text, options.substitutions)) as {
    States: Record<string, Record<string, unknown>>;
  };
  const executionName = options.executionName ?? randomUUID();
  const taskToken = `local-task-token-${randomUUID()}`;
  const taskHandlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  const waitTimeOverrides: Record<string, number> = {};
  const retryIntervalOverrides: Record<string, number> = {};

  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type === 'Wait' && options.waitMs !== undefined) waitTimeOverrides[name] = options.waitMs;
    if (Array.isArray(state.Retry) && options.retryMs !== undefined)
      retryIntervalOverrides[name] = options.retryMs;
    if (state.Type !== 'Task') continue;
    const resource = String(state.Resource);
    const integration = options.integrations?.[resource];
    if (integration) {
      taskHandlers[name] = (effectiveInput) => integration(effectiveInput);
      continue;
    }
    if (
      resource !== 'arn:aws:states:::lambda:invoke' &&
      resource !== 'arn:aws:states:::lambda:invoke.waitForTaskToken'
    ) {
      throw new Error(`State ${name} uses ${resource}; the local runner binds Lambda integrations only.`);
    }
    const waitsForToken = resource.endsWith('.waitForTaskToken');
    const shortResource = resource.replace('arn:aws:states:::lambda:', '');
    const timeoutSeconds = typeof state.TimeoutSeconds === 'number' ? state.TimeoutSeconds : undefined;
    const heartbeatSeconds = typeof state.HeartbeatSeconds === 'number' ? state.HeartbeatSeconds : undefined;
    taskHandlers[name] = async (resolvedInput) => {
      // The engine resolves $$.Task.Token to one placeholder; each attempt gets a token of its own.
      const token = waitsForToken ? (options.mintTaskToken?.(name) ?? taskToken) : taskToken;
      const effectiveInput = replaceString(resolvedInput, taskToken, token);
      // The engine queues its own events (StateEntered, StateRetried) and hands them out
      // asynchronously; a macrotask later they are all out, so the Task's events follow them.
      if (options.onHistory) await new Promise((resolve) => setImmediate(resolve));
      const emit = (event: LocalTaskEvent) =>
        options.onHistory?.({ kind: 'task', timestamp: Date.now(), event });
      emit({
        type: 'TaskScheduled',
        stateName: name,
        resource: shortResource,
        parameters: effectiveInput,
        ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
        ...(heartbeatSeconds !== undefined ? { heartbeatSeconds } : {}),
      });
      emit({ type: 'TaskStarted', stateName: name, resource: shortResource });
      const fail = (error: Error): never => {
        emit({
          type:
            error.name === 'States.Timeout' || error.name === 'States.HeartbeatTimeout'
              ? 'TaskTimedOut'
              : 'TaskFailed',
          stateName: name,
          resource: shortResource,
          error: error.name,
          cause: error.message,
        });
        throw error;
      };
      const { FunctionName, Payload } = effectiveInput as { FunctionName: string; Payload: unknown };
      const fn = options.functions[FunctionName];
      if (!fn)
        return fail(
          new TaskFailure('Lambda.ResourceNotFoundException', `Function not found: ${FunctionName}`),
        );
      const event = JSON.parse(JSON.stringify(Payload ?? null));
      let result: unknown;
      try {
        result = await fn(event);
      } catch (error) {
        return fail(new LambdaFunctionError(error));
      }
      const invokeOutput = {
        ExecutedVersion: '$LATEST',
        Payload: JSON.parse(JSON.stringify(result ?? null)),
        StatusCode: 200,
      };
      if (!waitsForToken) {
        emit({ type: 'TaskSucceeded', stateName: name, resource: shortResource, output: invokeOutput });
        return invokeOutput;
      }
      emit({ type: 'TaskSubmitted', stateName: name, resource: shortResource, output: invokeOutput });
      if (!options.decide)
        return fail(
          new TaskFailure('States.Timeout', 'No one answered the task token (no decide callback).'),
        );
      const payload = event as Record<string, unknown>;
      const decision = await options.decide({
        gate: String(payload.gate ?? name),
        taskToken: String(payload.taskToken ?? token),
        payload,
        stateName: name,
        ...(heartbeatSeconds !== undefined ? { heartbeatSeconds } : {}),
      });
      if ('error' in decision) return fail(new TaskFailure(decision.error, decision.cause));
      emit({ type: 'TaskSucceeded', stateName: name, resource: shortResource, output: decision.output });
      return decision.output;
    };
  }

  // Validating a definition takes the engine about a second: once per definition is enough.
  const validationKey = JSON.stringify(definition);
  const validated = validatedDefinitions.has(validationKey);
  const machine = new StateMachine(definition as never, {
    validationOptions: validated ? { noValidate: true } : { checkPaths: true, checkArn: false },
  });
  validatedDefinitions.add(validationKey);
  const startTime = new Date().toISOString();
  const execution = machine.run(options.input as never, {
    overrides: {
      taskResourceLocalHandlers: taskHandlers as never,
      waitTimeOverrides,
      retryIntervalOverrides,
    },
    context: {
      Execution: {
        Id: options.executionArn ?? `arn:aws:states:us-east-1:123456789012:execution:local:${executionName}`,
        Name: executionName,
        StartTime: startTime,
        Input: options.input as never,
        RoleArn: 'arn:aws:iam::123456789012:role/local',
      },
      StateMachine: {
        Id: options.stateMachineArn ?? 'arn:aws:states:us-east-1:123456789012:stateMachine:local',
        Name: options.stateMachineName ?? 'local',
      },
      Task: { Token: taskToken },
    },
  });
  const aborted = () => execution.abort();
  if (options.signal?.aborted) execution.abort();
  else options.signal?.addEventListener('abort', aborted, { once: true });
  const events: LocalExecutionEvent[] = [];
  const collecting = (async () => {
    for await (const event of execution.eventLogs) {
      options.onHistory?.({ kind: 'engine', timestamp: event.timestamp, event: event as EngineEvent });
      const e = event as unknown as LocalExecutionEvent;
      const slim: LocalExecutionEvent = {
        type: e.type,
        timestamp: e.timestamp,
        Error: e.Error,
        Cause: e.Cause,
      };
      if (e.state) slim.state = { name: e.state.name, type: e.state.type };
      events.push(slim);
      options.onEvent?.(slim);
    }
  })();
  try {
    const output = await execution.result;
    await collecting;
    return { status: 'SUCCEEDED', output, events, executionName };
  } catch (error) {
    await collecting.catch(() => undefined);
    const name = (error as Error).name;
    if (name === 'ExecutionAbortedError') return { status: 'ABORTED', events, executionName };
    if (name === 'ExecutionTimeoutError')
      return { status: 'TIMED_OUT', error: 'States.Timeout', events, executionName };
    const cause = (error as Error & { cause?: Error }).cause ?? (error as Error);
    return { status: 'FAILED', error: cause.name, cause: cause.message, events, executionName };
  } finally {
    options.signal?.removeEventListener('abort', aborted);
  }
}

/** A copy of a JSON value with every string equal to `from` replaced by `to`. */
function replaceString(value: unknown, from: string, to: string): unknown {
  if (from === to) return value;
  if (value === from) return to;
  if (Array.isArray(value)) return value.map((v) => replaceString(v, from, to));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceString(v, from, to)]));
  return value;
}
