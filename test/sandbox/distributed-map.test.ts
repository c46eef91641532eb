import { describe, expect, it } from 'vitest';
import { distributedMapHandler, prepareDistributedMaps } from '../../sandbox/distributed-map.js';
import { runLocal } from '../../sandbox/stepfunctions.js';

/** A batch of items, each a child that waits `ms` and fails when `fail` is set. */
const definition = (map: Record<string, unknown>) => ({
  StartAt: 'Items',
  States: {
    Items: {
      Type: 'Map',
      ItemsPath: '$.items',
      ItemSelector: { 'value.$': '$$.Map.Item.Value', 'batch.$': '$.batch' },
      ItemProcessor: {
        ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
        StartAt: 'Work',
        States: {
          Work: {
            Type: 'Task',
            Resource: 'arn:aws:states:::lambda:invoke',
            Parameters: { FunctionName: 'work', 'Payload.$': '$' },
            OutputPath: '$.Payload',
            End: true,
          },
        },
      },
      ResultPath: '$.results',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Done' }],
      Next: 'Done',
      ...map,
    },
    Done: { Type: 'Succeed' },
  },
});

async function runMap(map: Record<string, unknown>, items: { ms: number; fail?: boolean }[]) {
  let running = 0;
  let maxRunning = 0;
  const ended: string[] = [];
  const work = async (event: { value: { ms: number; fail?: boolean; id: string }; batch: string }) => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    try {
      await new Promise((r) => setTimeout(r, event.value.ms));
      if (event.value.fail) throw Object.assign(new Error('boom'), { name: 'WorkError' });
      return { id: event.value.id, batch: event.batch };
    } finally {
      running--;
      ended.push(event.value.id);
    }
  };
  const prepared = prepareDistributedMaps(definition(map));
  const integrations: Record<string, (input: unknown) => Promise<unknown>> = {};
  for (const [resource, state] of Object.entries(prepared.maps))
    integrations[resource] = distributedMapHandler(state, {
      runChild: (def, input, name, signal) =>
        runLocal({
          definition: def,
          substitutions: {},
          functions: { work: work as never },
          input,
          executionName: name,
          signal,
        }),
    });
  const result = await runLocal({
    definition: prepared.definition,
    substitutions: {},
    functions: {},
    integrations,
    input: { batch: 'b1', items: items.map((item, i) => ({ ...item, id: `i${i}` })) },
  });
  return { result, maxRunning, ended };
}

describe('the sandbox Distributed Map', () => {
  it('runs every item as a child with its selector, at most MaxConcurrency at once', async () => {
    const { result, maxRunning } = await runMap(
      { MaxConcurrency: 3 },
      Array.from({ length: 10 }, () => ({ ms: 15 })),
    );
    expect(result.status).toBe('SUCCEEDED');
    expect((result.output as { results: unknown[] }).results).toEqual(
      Array.from({ length: 10 }, (_, i) => ({ id: `i${i}`, batch: 'b1' })),
    );
    expect(maxRunning).toBe(3);
  });

  it('reads MaxConcurrencyPath from the state input', async () => {
    const { maxRunning } = await runMap(
      { MaxConcurrencyPath: '$.items[0].ms' },
      Array.from({ length: 6 }, () => ({ ms: 2 })),
    );
    expect(maxRunning).toBe(2);
  });

  it('fails the Map Run past ToleratedFailureCount, starting no new child and stopping the running ones', async () => {
    const items = [
      { ms: 5, fail: true },
      { ms: 5, fail: true },
      { ms: 400 },
      { ms: 5 },
      { ms: 5 },
      { ms: 5 },
    ];
    const { result, ended } = await runMap({ MaxConcurrency: 3, ToleratedFailureCount: 1 }, items);
    const output = result.output as { error?: { Error: string }; results?: unknown };
    expect(output.error?.Error).toBe('States.ExceedToleratedFailureThreshold');
    // Items i0 and i1 failed; i2 (slow) was stopped mid-way, i4 and i5 never started.
    expect(ended).not.toContain('i4');
    expect(ended).not.toContain('i5');
  });

  it('tolerates failures up to ToleratedFailurePercentage of all items', async () => {
    const items = [{ ms: 5, fail: true }, { ms: 5 }, { ms: 5 }, { ms: 5 }];
    const { result } = await runMap({ MaxConcurrency: 2, ToleratedFailurePercentage: 25 }, items);
    const results = (result.output as { results: { Error?: string }[] }).results;
    expect(results).toHaveLength(4);
    expect(results[0]?.Error).toBe('WorkError');
  });

  it('fails at the first failure when no threshold is set, as AWS does', async () => {
    const { result } = await runMap({ MaxConcurrency: 1 }, [{ ms: 5, fail: true }, { ms: 5 }]);
    expect((result.output as { error?: { Error: string } }).error?.Error).toBe(
      'States.ExceedToleratedFailureThreshold',
    );
  });
});
