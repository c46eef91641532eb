import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  VerifierCursorError,
  type VerifierInput,
  type VerifierReport,
  type VerifierResult,
  verify,
} from '../../../lambdas/verifier/index.js';
import { type Pair, restoredPair, TEST_TUNING } from './helpers.js';

async function seed(client: Redis): Promise<void> {
  for (const db of [0, 1, 15]) {
    await client.select(db);
    const pipe = client.pipeline();
    for (let i = 0; i < 1000; i++) {
      if (i % 3 === 0) pipe.set(`s:${i}`, `v${i}`);
      else if (i % 3 === 1)
        pipe.hset(`h:${i}`, Object.fromEntries(Array.from({ length: 50 }, (_, f) => [`f${f}`, `${i}`])));
      else pipe.sadd(`set:${i}`, ...Array.from({ length: 50 }, (_, m) => `m${m}`));
    }
    await pipe.exec();
  }
  await client.select(0);
}

function comparable(report: VerifierReport) {
  return {
    keysChecked: report.keysChecked,
    targetKeysScanned: report.targetKeysScanned,
    counts: report.counts,
    examples: Object.fromEntries(
      Object.entries(report.examples).map(([kind, keys]) => [kind, [...keys].sort()]),
    ),
  };
}

describe('a check longer than one call', () => {
  let pair: Pair;
  beforeAll(async () => {
    pair = await restoredPair(seed);
    await pair.tgt.del('s:3');
    await pair.tgt.select(1);
    await pair.tgt.hset('h:4', 'f1', 'changed');
    await pair.tgt.set('extra', 'x');
    await pair.tgt.select(15);
    await pair.tgt.pexpire('set:5', 3_600_000);
    await pair.tgt.select(0);
  });
  afterAll(async () => {
    await pair?.stop();
  });

  function input(extra: Partial<VerifierInput> = {}): VerifierInput {
    return {
      source: pair.sourceSpec,
      target: pair.targetSpec,
      timeBudgetMs: 60_000,
      tuning: { ...TEST_TUNING, batchSize: 200 },
      ...extra,
    };
  }

  it('continues from the cursor across many calls and ends with the same report as one call', async () => {
    const oneShot = await verify(input());
    expect(oneShot.done).toBe(true);

    let result: VerifierResult = await verify(input({ timeBudgetMs: 1 }));
    const cursorSizes: number[] = [];
    while (!result.done) {
      // Step Functions state is JSON: the cursor must survive a round trip.
      const carried = JSON.stringify(result.cursor);
      cursorSizes.push(carried.length);
      result = await verify(input({ timeBudgetMs: 1, cursor: JSON.parse(carried) }));
    }

    expect(result.report.calls).toBeGreaterThan(10);
    expect(comparable(result.report)).toEqual(comparable(oneShot.report));
    expect(result.report.counts).toEqual({
      missing: 1,
      extra: 1,
      type: 0,
      value: 1,
      expiry: 1,
      changedDuringCheck: 0,
    });
    expect(result.verdict).toBe(oneShot.verdict);
    expect(Math.max(...cursorSizes)).toBeLessThan(4096);
  });

  it('reads no faster than maxKeysPerSecond, and a throttled check ends with the same report', async () => {
    const oneShot = await verify(input());
    const throttle = { ...TEST_TUNING, batchSize: 200, maxKeysPerSecond: 500 };

    // About 1 s of the 2 s budget goes to the passes (the rest is kept for re-checks).
    const first = await verify(input({ timeBudgetMs: 2000, tuning: throttle }));

    expect(first.done).toBe(false);
    expect(first.report.keysChecked).toBeGreaterThan(0);
    expect(first.report.keysChecked).toBeLessThanOrEqual(600);
    expect(first.report.targetKeysScanned).toBeLessThanOrEqual(600);
    const rest = await verify(input({ cursor: JSON.parse(JSON.stringify(first.cursor)) }));
    expect(rest.done).toBe(true);
    expect(comparable(rest.report)).toEqual(comparable(oneShot.report));
  });

  it('scans the smallest databases first, and still resumes a cursor made without that order', async () => {
    const oneShot = await verify(input());
    const first = await verify(input({ timeBudgetMs: 1 }));
    expect(first.done).toBe(false);
    const { forward, reverse } = first.cursor as NonNullable<VerifierResult['cursor']>;
    // Databases 2 to 14 are empty and 0, 1 and 15 hold 1,000 keys each on the source. On the
    // target, 0 lost a key and 1 has an extra one.
    const empty = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
    expect(forward !== 'done' && forward.order).toEqual([...empty, 0, 1, 15]);
    expect(reverse !== 'done' && reverse.order).toEqual([...empty, 0, 15, 1]);

    // A cursor from before the order existed (databases 0, 1, 2... in turn), at its start.
    const cursor = first.cursor as NonNullable<VerifierResult['cursor']>;
    const zero = <T extends Record<string, unknown>>(o: T, value: unknown): T =>
      Object.fromEntries(Object.keys(o).map((k) => [k, structuredClone(value)])) as T;
    const fresh = {
      ...cursor.report,
      keysChecked: 0,
      targetKeysScanned: 0,
      counts: zero(cursor.report.counts, 0),
      examples: zero(cursor.report.examples, []),
      info: zero(cursor.report.info, 0),
      calls: 0,
      elapsedMs: 0,
    };
    const start = { unit: 0, scanCursor: '0' };
    let result = await verify(
      input({ cursor: { ...cursor, forward: start, reverse: start, report: fresh } }),
    );
    expect(result.done).toBe(true);
    expect(comparable(result.report)).toEqual(comparable(oneShot.report));

    const tampered = {
      ...cursor,
      forward: {
        ...(cursor.forward as object),
        order: [0, 0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
      },
    };
    await expect(verify(input({ cursor: tampered as never }))).rejects.toThrow(/scan order/);
    result = await verify(input({ cursor: JSON.parse(JSON.stringify(cursor)) }));
    expect(comparable(result.report)).toEqual(comparable(oneShot.report));
  });

  it('refuses a cursor that is not one of its own', async () => {
    await expect(verify(input({ cursor: { version: 2 } as never }))).rejects.toBeInstanceOf(
      VerifierCursorError,
    );
    const sample = await verify(
      input({ mode: 'sample', timeBudgetMs: 1, tuning: { ...TEST_TUNING, sampleSize: 10 } }),
    );
    if (!sample.done) {
      await expect(verify(input({ mode: 'full', cursor: sample.cursor }))).rejects.toBeInstanceOf(
        VerifierCursorError,
      );
    }
  });

  it('looks at random keys only in sample mode, and still sees widespread differences', async () => {
    const result = await verify(input({ mode: 'sample', tuning: { ...TEST_TUNING, sampleSize: 100 } }));

    expect(result.report.mode).toBe('sample');
    expect(result.report.keysChecked).toBeGreaterThan(0);
    expect(result.report.keysChecked).toBeLessThanOrEqual(300);
  });
});

describe('sample mode on a badly broken target', () => {
  let pair: Pair;
  beforeAll(async () => {
    pair = await restoredPair(async (client) => {
      const pipe = client.pipeline();
      for (let i = 0; i < 3000; i++) pipe.set(`k${i}`, `v${i}`);
      await pipe.exec();
    });
    const pipe = pair.tgt.pipeline();
    for (let i = 0; i < 3000; i += 2) pipe.set(`k${i}`, 'broken');
    await pipe.exec();
  });
  afterAll(async () => {
    await pair?.stop();
  });

  it('finds value differences among a few hundred random keys and fails', async () => {
    const result = await verify({
      source: pair.sourceSpec,
      target: pair.targetSpec,
      mode: 'sample',
      timeBudgetMs: 60_000,
      tuning: { ...TEST_TUNING, sampleSize: 200 },
    });

    expect(result.report.keysChecked).toBeLessThan(3000);
    expect(result.report.counts.value).toBeGreaterThan(10);
    expect(result.verdict).toBe('fail');
  });
});
