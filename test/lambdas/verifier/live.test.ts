import { afterEach, describe, expect, it } from 'vitest';
import {
  createIoredisClient,
  type RedisClientFactory,
  VerifierConnectionError,
  verify,
} from '../../../lambdas/verifier/index.js';
import { type Pair, restoredPair } from './helpers.js';

const LIVE_KEYS = 20;

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
});

describe('a live writer on the source during the check', () => {
  it('reports keys written during the check as changed, not as differences', async () => {
    pair = await restoredPair(async (client) => {
      for (let i = 0; i < 2000; i++) await client.set(`stable:${i}`, `v${i}`);
      for (let i = 0; i < LIVE_KEYS; i++) await client.hset(`live:${i}`, 'n', '0');
    });
    const writer = pair.source.client();
    let running = true;
    let writes = 0;
    const writing = (async () => {
      while (running) {
        const pipe = writer.pipeline();
        for (let i = 0; i < LIVE_KEYS; i++) pipe.hset(`live:${i}`, 'n', String(++writes));
        await pipe.exec();
      }
    })();
    try {
      const input = {
        source: pair.sourceSpec,
        target: pair.targetSpec,
        timeBudgetMs: 60_000,
        revealKeyNames: true,
        tuning: { batchSize: 100, recheckRounds: 3, recheckIntervalMs: 100 },
      };
      const notFrozen = await verify({ ...input, policy: { writesFrozen: false } });
      const frozen = await verify({ ...input, policy: { writesFrozen: true } });

      for (const result of [notFrozen, frozen]) {
        expect(result.report.counts).toEqual({
          missing: 0,
          extra: 0,
          type: 0,
          value: 0,
          expiry: 0,
          changedDuringCheck: LIVE_KEYS,
        });
        for (const key of result.report.examples.changedDuringCheck) expect(key).toMatch(/^db0:live:\d+$/);
      }
      expect(notFrozen.verdict).toBe('pass');
      expect(frozen.verdict).toBe('fail');
      expect(frozen.failingKinds).toEqual({ changedDuringCheck: LIVE_KEYS });
    } finally {
      running = false;
      await writing;
      writer.disconnect();
    }
    expect(writes).toBeGreaterThan(LIVE_KEYS * 3);
  });

  it('resolves a key that was different at first and equal on a later look', async () => {
    pair = await restoredPair(async (client) => {
      await client.set('converges', 'v1');
    });
    await pair.tgt.set('converges', 'old');
    const target = pair.tgt;
    // The target catches up shortly after the first comparison, as a replica would.
    const catchUp = setTimeout(() => void target.set('converges', 'v1'), 150);
    try {
      const result = await verify({
        source: pair.sourceSpec,
        target: pair.targetSpec,
        timeBudgetMs: 60_000,
        tuning: { recheckRounds: 3, recheckIntervalMs: 200 },
      });

      expect(result.report.counts.value).toBe(0);
      expect(result.report.counts.changedDuringCheck).toBe(0);
      expect(result.report.info.resolvedOnRecheck).toBe(1);
      expect(result.verdict).toBe('pass');
    } finally {
      clearTimeout(catchUp);
    }
  });
});

describe('a connection failing during the re-check rounds', () => {
  it('ends the check with the error at once instead of after both passes', async () => {
    pair = await restoredPair(async (client) => {
      const pipe = client.pipeline();
      for (let i = 0; i < 20_000; i++) pipe.set(`k:${i}`, `v${i}`);
      await pipe.exec();
    });
    const retarget = pair.tgt.pipeline();
    for (let i = 0; i < 20_000; i += 100) retarget.set(`k:${i}`, 'changed');
    await retarget.exec();

    // Clients are made in order: forward source and target, then reverse and re-check source
    // (whose reads fail here), then reverse and re-check target.
    let made = 0;
    let forwardScans = 0;
    const clientFactory: RedisClientFactory = (node, spec) => {
      const client = createIoredisClient(node, spec);
      made++;
      if (made === 1) {
        const callBuffer = client.callBuffer.bind(client);
        client.callBuffer = ((...args: Parameters<typeof callBuffer>) => {
          if (args[0] === 'EVALSHA') forwardScans++;
          return callBuffer(...args);
        }) as typeof client.callBuffer;
      }
      if (made === 4) client.type = () => Promise.reject(new Error('connection reset by peer'));
      return client;
    };

    const checking = verify(
      {
        source: pair.sourceSpec,
        target: pair.targetSpec,
        timeBudgetMs: 60_000,
        tuning: { batchSize: 50, recheckRounds: 2, recheckIntervalMs: 10 },
      },
      { clientFactory },
    );

    await expect(checking).rejects.toThrow(VerifierConnectionError);
    await expect(checking).rejects.toThrow(/connection reset by peer/);
    expect(forwardScans).toBeGreaterThan(0);
    expect(forwardScans).toBeLessThan(20_000 / 50 / 2);
  });
});
