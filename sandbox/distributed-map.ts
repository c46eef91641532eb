import { type LocalExecutionResult, TaskFailure } from './stepfunctions.js';

/**
 * The Distributed Map, for the local engine (which has none). The sandbox runs the same
 * definition: each `Map` state whose ItemProcessor says `Mode: DISTRIBUTED` is swapped for a Task
 * bound to this runner, which keeps the state's InputPath, ResultSelector, ResultPath,
 * OutputPath, Retry and Catch (the engine applies those) and does what a Map Run does:
 * - every item is a child workflow execution of the ItemProcessor, with its own history;
 * - ItemsPath, ItemSelector (`$` the state's input, `$$.Map.Item.Index` / `.Value`);
 * - at most MaxConcurrency (or MaxConcurrencyPath) children run at once (0: no limit);
 * - ToleratedFailureCount / Percentage (or their Paths; both 0 by default): when the failed
 *   items exceed either, the Map Run fails with States.ExceedToleratedFailureThreshold, no new
 *   child starts and the running ones are stopped (ABORTED), as AWS does;
 * - the result is the array of the children's outputs in item order.
 * What differs from AWS (docs/fleet.md): no ItemReader, ItemBatcher or ResultWriter; a tolerated
 * failed item's place in the result holds {Error, Cause} (AWS's placement is undocumented); no
 * Map Run resource (DescribeMapRun, UpdateMapRun), no redrive.
 */

export const DISTRIBUTED_MAP_RESOURCE = 'arn:aws:states:::sandbox:distributedMap';
export const SYNC2_RESOURCE = 'arn:aws:states:::states:startExecution.sync:2';

/** A closed child execution, as the sandbox's Step Functions holds it. */
export interface ClosedChild {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: string;
  startDate: number;
  stopDate?: number;
  input: string;
  output?: unknown;
  error?: string;
  cause?: string;
}

/**
 * What `states:startExecution.sync:2` gives the state: when the child succeeded, its
 * DescribeExecution fields with `Output` as JSON (the `:2` form); otherwise the task fails with
 * States.TaskFailed and a Cause holding that description as JSON (Status, Error, Cause, dates).
 */
export function startSyncResult(child: ClosedChild): unknown {
  const described = {
    ExecutionArn: child.executionArn,
    StateMachineArn: child.stateMachineArn,
    Name: child.name,
    Status: child.status,
    StartDate: child.startDate,
    ...(child.stopDate !== undefined ? { StopDate: child.stopDate } : {}),
    Input: child.input,
  };
  if (child.status === 'SUCCEEDED') return { ...described, Output: child.output ?? null };
  throw new TaskFailure(
    'States.TaskFailed',
    JSON.stringify({
      ...described,
      ...(child.error !== undefined ? { Error: child.error } : {}),
      ...(child.cause !== undefined ? { Cause: child.cause } : {}),
    }),
  );
}

type Json = Record<string, unknown>;

export interface MapRunObserver {
  childStarted?(mapState: string, index: number): void;
  childEnded?(mapState: string, index: number, result: LocalExecutionResult): void;
}

export interface DistributedMapRuntime extends MapRunObserver {
  /** Runs one child workflow execution of `definition` (the ItemProcessor) with `input`. */
  runChild(
    definition: Json,
    input: unknown,
    name: string,
    signal: AbortSignal,
  ): Promise<LocalExecutionResult>;
}

/** Reads a JSONPath of the simple forms ASL reference paths use: `$`, `$.a.b`, `$.a[0].b`. */
export function readPath(root: unknown, path: string): unknown {
  if (path === '$') return root;
  if (!path.startsWith('$')) throw new TaskFailure('States.Runtime', `Invalid path '${path}'.`);
  const parts = path
    .slice(1)
    .split(/\.|\[(\d+)\]/)
    .filter((p) => p !== undefined && p !== '');
  let value: unknown = root;
  for (const part of parts) {
    if (value === null || typeof value !== 'object' || !(part in (value as Json)))
      throw new TaskFailure('States.Runtime', `The path '${path}' does not match the input.`);
    value = (value as Json)[part];
  }
  return value;
}

function select(template: unknown, input: unknown, context: unknown): unknown {
  if (Array.isArray(template)) return template.map((t) => select(t, input, context));
  if (template === null || typeof template !== 'object') return template;
  const out: Json = {};
  for (const [key, value] of Object.entries(template as Json)) {
    if (key.endsWith('.$') && typeof value === 'string') {
      out[key.slice(0, -2)] = value.startsWith('$$')
        ? readPath(context, value.slice(1))
        : readPath(input, value);
    } else out[key] = select(value, input, context);
  }
  return out;
}

/** Swaps every distributed Map state for a Task bound to `DISTRIBUTED_MAP_RESOURCE:<state>`. */
export function prepareDistributedMaps(definition: Json): { definition: Json; maps: Record<string, Json> } {
  const states = { ...(definition.States as Record<string, Json>) };
  const maps: Record<string, Json> = {};
  for (const [name, state] of Object.entries(states)) {
    const processor = state.ItemProcessor as Json | undefined;
    const mode = (processor?.ProcessorConfig as Json | undefined)?.Mode;
    if (state.Type !== 'Map' || mode !== 'DISTRIBUTED') continue;
    const resource = `${DISTRIBUTED_MAP_RESOURCE}:${name}`;
    maps[resource] = { ...state, Name: name };
    // The local engine gives a Task 60 s by default; a Map state has no timeout of its own.
    const task: Json = { Type: 'Task', Resource: resource, TimeoutSeconds: 1_728_000 };
    for (const field of [
      'Comment',
      'InputPath',
      'ResultSelector',
      'ResultPath',
      'OutputPath',
      'Retry',
      'Catch',
      'Next',
      'End',
    ])
      if (field in state) task[field] = state[field];
    states[name] = task;
  }
  return { definition: { ...definition, States: states }, maps };
}

function numberFrom(state: Json, input: unknown, field: string): number | undefined {
  if (typeof state[field] === 'number') return state[field] as number;
  const path = state[`${field}Path`];
  if (typeof path !== 'string') return undefined;
  const value = readPath(input, path);
  if (typeof value !== 'number' || !(value >= 0))
    throw new TaskFailure(
      'States.Runtime',
      `${field}Path '${path}' must point at a number >= 0, got ${JSON.stringify(value)}.`,
    );
  return value;
}

/** The Map Run of one distributed Map state, as an integration handler. */
export function distributedMapHandler(map: Json, runtime: DistributedMapRuntime) {
  const name = String(map.Name);
  const processor = map.ItemProcessor as Json;
  const childDefinition: Json = { StartAt: processor.StartAt, States: processor.States };
  return async (input: unknown): Promise<unknown[]> => {
    const items = readPath(input, typeof map.ItemsPath === 'string' ? map.ItemsPath : '$');
    if (!Array.isArray(items))
      throw new TaskFailure('States.Runtime', `Map state '${name}': ItemsPath must select an array.`);
    const maxConcurrency = numberFrom(map, input, 'MaxConcurrency') || items.length || 1;
    const toleratedCount = numberFrom(map, input, 'ToleratedFailureCount');
    const toleratedPercentage = numberFrom(map, input, 'ToleratedFailurePercentage');
    const exceeded = (failed: number) => {
      if (toleratedCount === undefined && toleratedPercentage === undefined) return failed > 0;
      if (toleratedCount !== undefined && failed > toleratedCount) return true;
      return toleratedPercentage !== undefined && (failed * 100) / items.length > toleratedPercentage;
    };
    const results: unknown[] = new Array(items.length);
    const stop = new AbortController();
    let failed = 0;
    let next = 0;
    let runFailed = false;
    const worker = async () => {
      while (!runFailed && next < items.length) {
        const index = next++;
        const value = items[index];
        const context = { Map: { Item: { Index: index, Value: value } } };
        const childInput = map.ItemSelector ? select(map.ItemSelector, input, context) : value;
        runtime.childStarted?.(name, index);
        const result = await runtime.runChild(childDefinition, childInput, `${name}:${index}`, stop.signal);
        runtime.childEnded?.(name, index, result);
        if (result.status === 'SUCCEEDED') results[index] = result.output;
        else {
          results[index] = { Error: result.error ?? 'States.Aborted', Cause: result.cause ?? '' };
          if (result.status === 'FAILED') failed++;
          if (!runFailed && exceeded(failed)) {
            runFailed = true;
            stop.abort();
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(maxConcurrency, items.length) }, worker));
    if (runFailed)
      throw new TaskFailure(
        'States.ExceedToleratedFailureThreshold',
        `Map state '${name}': ${failed} of ${items.length} items failed, more than tolerated; the Map Run failed and its running child executions were stopped.`,
      );
    return results;
  };
}
