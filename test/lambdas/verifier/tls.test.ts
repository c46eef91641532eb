import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  VerifierConnectionError,
  type VerifierInput,
  VerifierInputError,
  verify,
} from '../../../lambdas/verifier/index.js';
import { type Pair, restoredPair, TEST_TUNING } from './helpers.js';

const TOKEN = 'Sandbox-Token-!&#$^<>-0123456789';

describe('TLS and AUTH', () => {
  let pair: Pair;
  beforeAll(async () => {
    pair = await restoredPair(
      async (client) => {
        for (let i = 0; i < 300; i++) await client.set(`k${i}`, `v${i}`);
        await client.hset('h', Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`f${i}`, `v${i}`])));
      },
      { tls: true, requirepass: TOKEN },
    );
    await pair.tgt.set('k7', 'changed');
  });
  afterAll(async () => {
    await pair?.stop();
  });

  function input(extra: Partial<VerifierInput> = {}): VerifierInput {
    return {
      source: pair.sourceSpec,
      target: pair.targetSpec,
      timeBudgetMs: 60_000,
      tuning: TEST_TUNING,
      ...extra,
    };
  }

  it('connects over TLS with the AUTH token and finds the difference', async () => {
    expect(pair.sourceSpec.tls).toBe(true);
    expect(pair.sourceSpec.authToken).toBe(TOKEN);

    const result = await verify(input({ revealKeyNames: true }));

    expect(result.report.counts.value).toBe(1);
    expect(result.report.examples.value).toEqual(['db0:k7']);
  });

  it('never puts the token in a report or a cursor', async () => {
    let result = await verify(input({ timeBudgetMs: 1, tuning: { ...TEST_TUNING, batchSize: 50 } }));
    const serialized: string[] = [];
    while (!result.done) {
      serialized.push(JSON.stringify(result));
      result = await verify(
        input({ timeBudgetMs: 1, cursor: result.cursor, tuning: { ...TEST_TUNING, batchSize: 50 } }),
      );
    }
    serialized.push(JSON.stringify(result));
    expect(serialized.length).toBeGreaterThan(1);
    for (const text of serialized) expect(text).not.toContain(TOKEN);
  });

  it('fails with a connection error that does not reveal a wrong token', async () => {
    const wrong = 'Wrong-Token-&&&-ZZZZZZZZZZZZ';
    const error = await verify(input({ source: { ...pair.sourceSpec, authToken: wrong } })).catch(
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(VerifierConnectionError);
    expect((error as Error).name).toBe('VerifierConnectionError');
    expect((error as Error).message).toMatch(/source/);
    const everything = `${inspect(error, { depth: 10, showHidden: true })} ${JSON.stringify(error)} ${(error as Error).stack}`;
    expect(everything).not.toContain(wrong);
    expect(everything).not.toContain(TOKEN);
  });

  it('fails with a connection error when the CA does not match', async () => {
    const error = await verify(
      input({ target: { ...pair.targetSpec, caPem: pair.source.caPem as string } }),
    ).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(VerifierConnectionError);
    expect(inspect(error, { depth: 10 })).not.toContain(TOKEN);
  });

  it('rejects invalid input without echoing the token', async () => {
    const error = await verify(input({ source: { ...pair.sourceSpec, port: 0 } })).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(VerifierInputError);
    expect((error as Error).message).toMatch(/source\.port/);
    expect(inspect(error, { depth: 10 })).not.toContain(TOKEN);
  });
});
