/**
 * A key that expires while it is being observed: its type is read while it lives, its contents
 * after it has gone. Such an observation must read as "gone", not as an empty value, or the
 * final pass under the write freeze counts a key about to expire as a failed copy (seen in CI:
 * the demo's 1–3 s keys made a migration fail with "1 keys still differ after their copy").
 */
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { copyKeys } from '../../../lambdas/verifier/catch-up.js';
import {
  createIoredisClient,
  Endpoint,
  type RedisClientFactory,
} from '../../../lambdas/verifier/connection.js';
import { observeKeys } from '../../../lambdas/verifier/contents.js';
import { type Pair, restoredPair, sleep } from './helpers.js';

let pair: Pair | undefined;
const opened: Endpoint[] = [];
afterEach(async () => {
  for (const e of opened.splice(0)) e.close();
  await pair?.stop();
  pair = undefined;
});

/** Clients whose content reads (not TYPE, not the expiry, not scripts) answer `delayMs` late. */
function slowContentReads(delayMs: number): RedisClientFactory {
  return (node, spec) => {
    const client = createIoredisClient(node, spec);
    for (const name of ['strlen', 'getBuffer', 'hlen', 'hscanBuffer', 'llen', 'lrangeBuffer'] as const) {
      const original = (client[name] as (...a: unknown[]) => Promise<unknown>).bind(client);
      (client as unknown as Record<string, unknown>)[name] = async (...args: unknown[]) => {
        await sleep(delayMs);
        return original(...args);
      };
    }
    return client as Redis;
  };
}

async function open(role: 'source' | 'target', spec: Pair['sourceSpec'], factory: RedisClientFactory) {
  const endpoint = await Endpoint.open(role, spec, factory, { expiryCommand: 'auto', fastPath: 'auto' });
  opened.push(endpoint);
  return endpoint;
}

describe('a key that expires while it is observed', () => {
  it('reads as gone, not as a value of its own', async () => {
    pair = await restoredPair(async () => {});
    await pair.src.set('short', 'x'.repeat(100), 'PX', 150);
    await pair.src.hset('short-hash', { a: '1', b: '2' });
    await pair.src.pexpire('short-hash', 150);
    const source = await open('source', pair.sourceSpec, slowContentReads(400));
    const [string, hash] = await observeKeys(source, [Buffer.from('short'), Buffer.from('short-hash')], 1000);
    expect(string?.type).toBe('none');
    expect(hash?.type).toBe('none');
  });

  it('reads as gone when its read outlasts the time it had left by more than the clock slack', async () => {
    pair = await restoredPair(async () => {});
    await pair.src.set('later', 'x'.repeat(100), 'PX', 1500);
    // STRLEN and GET, 1.5 s late each: the read takes 3 s.
    const source = await open('source', pair.sourceSpec, slowContentReads(1500));
    const [later] = await observeKeys(source, [Buffer.from('later')], 1000);
    expect(later?.type).toBe('none');
  });

  it('is not counted as a failed copy by the final check', async () => {
    pair = await restoredPair(async () => {});
    await pair.src.set('short', 'x'.repeat(100), 'PX', 300);
    const source = await open('source', pair.sourceSpec, slowContentReads(600));
    const target = await open('target', pair.targetSpec, createIoredisClient);
    const outcome = await copyKeys([Buffer.from('short')], source, target, { checkCopies: true });
    expect(outcome).toEqual({ copied: 1, stillDifferent: 0, differing: [], conflicts: 0 });
  });

  it('still counts a real difference of a key with an expiry', async () => {
    pair = await restoredPair(async () => {});
    await pair.src.set('long', 'source', 'PX', 60_000);
    const source = await open('source', pair.sourceSpec, createIoredisClient);
    const target = await open('target', pair.targetSpec, createIoredisClient);
    await target.writeCopies([Buffer.from('long')], await source.readForCopy([Buffer.from('long')]));
    await pair.tgt.set('long', 'target', 'KEEPTTL');
    const [s, t] = [
      (await observeKeys(source, [Buffer.from('long')], 1000))[0],
      (await observeKeys(target, [Buffer.from('long')], 1000))[0],
    ];
    expect(s?.type).toBe('string');
    expect(t?.type).toBe('string');
    expect(s?.fingerprint).not.toBe(t?.fingerprint);
  });

  it('a key written on the target between its copy and its check is counted, and named', async () => {
    pair = await restoredPair(async () => {});
    await pair.src.set('copied', 'source', 'PX', 600_000);
    await pair.src.set('untouched', 'source');
    const source = await open('source', pair.sourceSpec, createIoredisClient);
    // The target's first TYPE of 'copied' is preceded by a write of its own: a writer the
    // freeze does not hold.
    const intruding: RedisClientFactory = (node, spec) => {
      const client = createIoredisClient(node, spec);
      const type = client.type.bind(client);
      let done = false;
      client.type = (async (key: Buffer) => {
        if (!done && key.toString() === 'copied') {
          done = true;
          await pair?.tgt.set('copied', 'intruder', 'KEEPTTL');
        }
        return type(key);
      }) as typeof client.type;
      return client;
    };
    const target = await open('target', pair.targetSpec, intruding);
    const outcome = await copyKeys([Buffer.from('copied'), Buffer.from('untouched')], source, target, {
      checkCopies: true,
    });
    expect(outcome.stillDifferent).toBe(1);
    expect(outcome.differing.map(String)).toEqual(['copied']);
  });
});
