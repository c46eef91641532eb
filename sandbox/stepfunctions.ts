import { randomUUID } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import './polyfills.js';

// biome-ignore lint/suspicious/noExplicitAny: Lambda handlers take whatever their state passes.
export type LambdaHandler = (event: any) => Promise<unknown>;

export interface ApprovalRequest {
  gate: string;
  taskToken: string;
  /** The Payload the state passed to the approval function. */
  payload: Record<string, unknown>;
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
  /** Stops the execution (StopExecution, or a Map Run that failed): it ends ABORTED. */
  signal?: AbortSignal;
}

export interface LocalExecutionResult {
  status: 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  output?: unknown;
  error?: string;
  cause?: string;
  events: LocalExecutionEvent[];
  executionName: string;
}

/** Replaces `${Name}` placeholders; a name without a substitution is an error. */
export function substitute(definition: string, substitutions: Record<string, string>): string {
  return definition.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_match, name: string) => {
    const value = substitutions[name];
    if (value === undefined)
      throw new Error(`The definition uses \${${name}}, which no substitution defines.`);
    return value;
  });
}

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
    taskHandlers[name] = async (effectiveInput) => {
      const { FunctionName, Payload } = effectiveInput as { FunctionName: string; Payload: unknown };
      const fn = options.functions[FunctionName];
      if (!fn)
        throw new TaskFailure('Lambda.ResourceNotFoundException', `Function not found: ${FunctionName}`);
      const event = JSON.parse(JSON.stringify(Payload ?? null));
      let result: unknown;
      try {
        result = await fn(event);
      } catch (error) {
        throw new LambdaFunctionError(error);
      }
      if (!waitsForToken)
        return {
          ExecutedVersion: '$LATEST',
          Payload: JSON.parse(JSON.stringify(result ?? null)),
          StatusCode: 200,
        };
      if (!options.decide)
        throw new TaskFailure('States.Timeout', 'No one answered the task token (no decide callback).');
      const payload = event as Record<string, unknown>;
      const decision = await options.decide({
        gate: String(payload.gate ?? name),
        taskToken: String(payload.taskToken ?? ''),
        payload,
      });
      if ('error' in decision) throw new TaskFailure(decision.error, decision.cause);
      return decision.output;
    };
  }

  const machine = new StateMachine(definition as never, {
    validationOptions: { checkPaths: true, checkArn: false },
  });
  const startTime = new Date().toISOString();
  const execution = machine.run(options.input as never, {
    overrides: {
      taskResourceLocalHandlers: taskHandlers as never,
      waitTimeOverrides,
      retryIntervalOverrides,
    },
    context: {
      Execution: {
        Id: `arn:aws:states:us-east-1:123456789012:execution:local:${executionName}`,
        Name: executionName,
        StartTime: startTime,
        Input: options.input as never,
        RoleArn: 'arn:aws:iam::123456789012:role/local',
      },
      StateMachine: { Id: 'arn:aws:states:us-east-1:123456789012:stateMachine:local', Name: 'local' },
      Task: { Token: taskToken },
    },
  });
  const events: LocalExecutionEvent[] = [];
  let aborted = false;
  const abort = () => {
    aborted = true;
    execution.abort();
  };
  if (options.signal?.aborted) abort();
  else options.signal?.addEventListener('abort', abort, { once: true });
  const collecting = (async () => {
    for await (const event of execution.eventLogs) {
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
    options.signal?.removeEventListener('abort', abort);
    return { status: 'SUCCEEDED', output, events, executionName };
  } catch (error) {
    await collecting.catch(() => undefined);
    if (aborted) return { status: 'ABORTED', events, executionName };
    const cause = (error as Error & { cause?: Error }).cause ?? (error as Error);
    return { status: 'FAILED', error: cause.name, cause: cause.message, events, executionName };
  }
}
