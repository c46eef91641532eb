import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type VerifierInput, type VerifierResult, verify } from '../../../lambdas/verifier/index.js';
import { type Pair, restoredPair, TEST_TUNING } from './helpers.js';

const DAY = 86_400_000;

/** One key of every type and engine encoding (redis 7.0), plus keys in databases 1 and 15. */
async function seedEveryEncoding(client: Redis): Promise<void> {
  const now = Date.now();
  await client.set('str:int', '12345');
  await client.set('str:embstr', 'short');
  await client.set('str:raw', 'r'.repeat(100));
  await client.set('str:ttl', 'expiring later', 'PXAT', now + DAY);
  await client.hset('hash:listpack', 'a', '1', 'b', '2');
  await client.hset(
    'hash:hashtable',
    Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`f${i}`, `v${i}`])),
  );
  await client.hset('hash:longvalue', 'a', '1', 'long', 'x'.repeat(100), 'c', '3');
  await client.sadd('set:intset', 1, 2, 3, 42);
  await client.sadd('set:hashtable', ...Array.from({ length: 300 }, (_, i) => `m${i}`));
  await client.zadd('zset:listpack', 1, 'a', 2.5, 'b', -3, 'c');
  await client.zadd('zset:skiplist', ...Array.from({ length: 300 }, (_, i) => [i / 3, `z${i}`]).flat());
  await client.rpush('list:short', 'a', 'b', 'c');
  await client.rpush(
    'list:quicklist',
    ...Array.from({ length: 3000 }, (_, i) => `item-${i}-${'p'.repeat(20)}`),
  );
  await client.xadd('stream', '1-1', 'f', 'v');
  await client.xadd('stream', '2-1', 'g', 'w');
  await client.xgroup('CREATE', 'stream', 'readers', '0');
  await client.pexpireat('hash:listpack', now + 2 * DAY);
  await client.select(1);
  await client.set('db1:key', 'in db 1');
  await client.hset(
    'db1:hash',
    Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`f${i}`, `v${i}`])),
  );
  await client.select(15);
  await client.set('db15:key', 'in db 15');
  await client.sadd('db15:set', ...Array.from({ length: 200 }, (_, i) => `m${i}`));
  await client.select(0);
}

function input(pair: Pair, extra: Partial<VerifierInput> = {}): VerifierInput {
  return {
    source: pair.sourceSpec,
    target: pair.targetSpec,
    timeBudgetMs: 60_000,
    revealKeyNames: true,
    tuning: TEST_TUNING,
    ...extra,
  };
}

function differences(result: VerifierResult): Record<string, string[]> {
  return Object.fromEntries(Object.entries(result.report.examples).filter(([, keys]) => keys.length > 0));
}

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
});

describe('verifying a target restored from the source snapshot', () => {
  it('passes with no difference for every type and encoding, in databases 0, 1 and 15', async () => {
    pair = await restoredPair(seedEveryEncoding);
    const encodings = await Promise.all(
      [
        'str:int',
        'str:embstr',
        'str:raw',
        'hash:listpack',
        'hash:hashtable',
        'set:intset',
        'set:hashtable',
        'zset:listpack',
        'zset:skiplist',
        'list:quicklist',
      ].map((key) => pair?.src.object('ENCODING', key)),
    );
    expect(encodings).toEqual([
      'int',
      'embstr',
      'raw',
      'listpack',
      'hashtable',
      'intset',
      'hashtable',
      'listpack',
      'skiplist',
      'quicklist',
    ]);

    const result = await verify(input(pair));

    expect(differences(result)).toEqual({});
    expect(result.verdict).toBe('pass');
    expect(result.report.keysChecked).toBe(18);
    expect(result.report.targetKeysScanned).toBe(18);
  });

  it('does not report hashtable hashes and sets whose DUMP bytes differ for equal contents', async () => {
    // Same contents, different insertion history: the hash tables iterate in different orders.
    pair = await restoredPair(async () => {});
    const fields = Array.from({ length: 400 }, (_, i) => [`field-${i}`, `value-${i}`] as const);
    await pair.src.hset('h', Object.fromEntries(fields));
    await pair.tgt.hset('h', Object.fromEntries([...fields].reverse()));
    for (let i = 0; i < 2000; i++) await pair.tgt.hset('h', `tmp${i}`, 'x');
    for (let i = 0; i < 2000; i++) await pair.tgt.hdel('h', `tmp${i}`);
    const members = Array.from({ length: 400 }, (_, i) => `member-${i}`);
    await pair.src.sadd('s', ...members);
    await pair.tgt.sadd('s', ...Array.from({ length: 3000 }, (_, i) => `tmp${i}`));
    await pair.tgt.sadd('s', ...[...members].reverse());
    await pair.tgt.srem('s', ...Array.from({ length: 3000 }, (_, i) => `tmp${i}`));
    for (const key of ['h', 's']) {
      const [a, b] = await Promise.all([pair.src.dumpBuffer(key), pair.tgt.dumpBuffer(key)]);
      expect(a?.equals(b as Buffer), `DUMP of ${key} should differ for this test to mean anything`).toBe(
        false,
      );
    }

    const result = await verify(input(pair));

    expect(differences(result)).toEqual({});
    expect(result.report.info.comparedByContents).toBe(2);
  });

  it('reports a key deleted from the target as missing', async () => {
    pair = await restoredPair(seedEveryEncoding);
    await pair.tgt.del('hash:hashtable');

    const result = await verify(input(pair));

    expect(differences(result)).toEqual({ missing: ['db0:hash:hashtable'] });
    expect(result.verdict).toBe('fail');
    expect(result.failingKinds).toEqual({ missing: 1 });
  });

  it('finds a key that exists only on the target in the reverse pass', async () => {
    pair = await restoredPair(seedEveryEncoding);
    await pair.tgt.set('only-on-target', 'x');

    const result = await verify(input(pair));

    expect(differences(result)).toEqual({ extra: ['db0:only-on-target'] });
  });

  it('keeps key names of any bytes and any length intact from one server to the other', async () => {
    const names = [
      Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      Buffer.from('with\r\nnewlines|and|bars'),
      Buffer.from([0, 0, 0, 5]),
      Buffer.alloc(70_000, 'k'),
      Buffer.from('é🙂'),
    ];
    pair = await restoredPair(async (client) => {
      for (let i = 0; i < 500; i++) await client.set(`plain:${i}`, `v${i}`);
      for (const [i, name] of names.entries()) await client.set(name, `value ${i}`);
    });
    await pair.tgt.del(names[0] as Buffer);
    await pair.tgt.set(names[1] as Buffer, 'changed');
    await pair.tgt.set(Buffer.from([0, 0, 0, 6]), 'extra');

    const result = await verify(input(pair, { tuning: { ...TEST_TUNING, batchSize: 50 } }));

    expect(result.report.keysChecked).toBe(505);
    expect(result.report.targetKeysScanned).toBe(505);
    // Names that are not printable are reported in hex (shortened).
    expect(differences(result)).toEqual({
      missing: [expect.stringMatching(/^db0:hex:000102030405/)],
      extra: ['db0:hex:00000006'],
      value: [`db0:hex:${(names[1] as Buffer).toString('hex')}`],
    });
  });

  it('finds every difference when every batch differs (per-key tokens from the start)', async () => {
    pair = await restoredPair(async (client) => {
      for (let i = 0; i < 400; i++) await client.set(`k:${i}`, `v${i}`);
    });
    const retarget = pair.tgt.pipeline();
    for (let i = 0; i < 400; i += 4) retarget.set(`k:${i}`, `changed ${i}`);
    await retarget.exec();

    const result = await verify(input(pair, { tuning: { ...TEST_TUNING, batchSize: 10 } }));

    expect(result.report.keysChecked).toBe(400);
    expect(result.report.counts.value).toBe(100);
    expect(result.report.counts.missing + result.report.counts.extra + result.report.counts.expiry).toBe(0);
  });

  it('reports a key of another type on the target as a type difference', async () => {
    pair = await restoredPair(seedEveryEncoding);
    await pair.tgt.del('set:intset');
    await pair.tgt.rpush('set:intset', '1', '2', '3', '42');

    const result = await verify(input(pair));

    expect(differences(result)).toEqual({ type: ['db0:set:intset'] });
  });

  it('reports changed contents of every type as value differences', async () => {
    pair = await restoredPair(seedEveryEncoding);
    await pair.tgt.set('str:raw', 'R'.repeat(100));
    await pair.tgt.hset('hash:hashtable', 'f7', 'changed');
    await pair.tgt.srem('set:hashtable', 'm8');
    await pair.tgt.zadd('zset:listpack', 2.6, 'b');
    await pair.tgt.lset('list:quicklist', 1500, 'changed');

    const result = await verify(input(pair));

    expect(differences(result).value?.sort()).toEqual([
      'db0:hash:hashtable',
      'db0:list:quicklist',
      'db0:set:hashtable',
      'db0:str:raw',
      'db0:zset:listpack',
    ]);
  });

  it('tells apart binary members that are not valid UTF-8', async () => {
    pair = await restoredPair(async (client) => {
      const members = Array.from({ length: 100 }, (_, i) => Buffer.from([0xff, 0xfe, i]));
      await client.sadd('binary-set', ...members);
      await client.hset('binary-hash', Object.fromEntries(members.map((m, i) => [`f${i}`, m])));
    });
    await pair.tgt.srem('binary-set', Buffer.from([0xff, 0xfe, 7]));
    await pair.tgt.sadd('binary-set', Buffer.from([0xff, 0xfd, 7]));
    await pair.tgt.hset('binary-hash', 'f9', Buffer.from([0xfe, 0xff, 9]));

    const result = await verify(input(pair));

    expect(differences(result).value?.sort()).toEqual(['db0:binary-hash', 'db0:binary-set']);
  });

  it('reports a stream whose entries or consumer groups differ', async () => {
    pair = await restoredPair(async (client) => {
      for (const key of ['entries', 'groups']) {
        await client.xadd(key, '1-1', 'f', 'v');
        await client.xgroup('CREATE', key, 'readers', '0');
      }
    });
    await pair.tgt.xadd('entries', '2-1', 'g', 'w');
    await pair.tgt.xgroup('SETID', 'groups', 'readers', '1-1');

    const result = await verify(input(pair));

    expect(differences(result).value?.sort()).toEqual(['db0:entries', 'db0:groups']);
  });

  it('counts every difference but keeps only a few examples per kind', async () => {
    pair = await restoredPair(seedEveryEncoding);
    for (let i = 0; i < 8; i++) await pair.tgt.set(`extra:${i}`, 'x');

    const result = await verify(input(pair));

    expect(result.report.counts.extra).toBe(8);
    expect(result.report.examples.extra).toHaveLength(5);
  });

  it('reports a different absolute expiry, and expiry on one side only, as expiry differences', async () => {
    pair = await restoredPair(seedEveryEncoding);
    const now = Date.now();
    await pair.tgt.pexpireat('str:ttl', now + DAY + 1234);
    await pair.tgt.pexpireat('str:raw', now + DAY);
    await pair.tgt.persist('hash:listpack');
    await pair.tgt.pexpireat('set:hashtable', now + DAY); // equal members, compared by their DUMP payload
    // Far-future expiry times 1 ms apart (beyond the digits Lua prints by default).
    await pair.src.pexpireat('str:int', 200_000_000_000_000);
    await pair.tgt.pexpireat('str:int', 200_000_000_000_001);

    const result = await verify(input(pair));

    expect(differences(result).expiry?.sort()).toEqual([
      'db0:hash:listpack',
      'db0:set:hashtable',
      'db0:str:int',
      'db0:str:raw',
      'db0:str:ttl',
    ]);
  });

  it('labels differences in databases 1 and 15 with their database', async () => {
    pair = await restoredPair(seedEveryEncoding);
    await pair.tgt.select(1);
    await pair.tgt.hset('db1:hash', 'f3', 'changed');
    await pair.tgt.select(15);
    await pair.tgt.del('db15:set');
    await pair.tgt.set('db15:extra', 'x');

    const result = await verify(input(pair));

    expect(differences(result)).toEqual({
      missing: ['db15:db15:set'],
      extra: ['db15:db15:extra'],
      value: ['db1:db1:hash'],
    });
  });

  it('shows example keys as hashes unless names are asked for', async () => {
    pair = await restoredPair(seedEveryEncoding);
    await pair.tgt.del('str:embstr');

    const result = await verify(input(pair, { revealKeyNames: false }));

    expect(result.report.counts.missing).toBe(1);
    expect(result.report.examples.missing[0]).toMatch(/^db0:sha256:[0-9a-f]{16}$/);
    expect(JSON.stringify(result)).not.toContain('str:embstr');
  });
});

describe('big keys', () => {
  async function seedBig(client: Redis): Promise<void> {
    const n = 2500;
    await client.hset(
      'big:hash',
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, `v${i}`])),
    );
    await client.sadd('big:set', ...Array.from({ length: n }, (_, i) => `m${i}`));
    await client.zadd('big:zset', ...Array.from({ length: n }, (_, i) => [i * 0.5, `z${i}`]).flat());
    await client.rpush('big:list', ...Array.from({ length: n }, (_, i) => `l${i}`));
    await client.set('big:string', 's'.repeat(3 * 1024 * 1024));
  }
  // No server-side digest, small chunks: every big key is read in chunks in the Lambda.
  const chunked = { ...TEST_TUNING, chunkSize: 300, scriptDigestMaxElements: 0, fastPath: 'dump' as const };

  it('compares big keys in chunks and finds no difference when they are equal', async () => {
    pair = await restoredPair(seedBig);
    // Force a content comparison of every big key: same contents, expiry set then removed on the
    // target changes nothing, so add an element and remove it to perturb the DUMP bytes.
    await pair.tgt.hset('big:hash', 'tmp', 'x');
    await pair.tgt.hdel('big:hash', 'tmp');
    await pair.tgt.sadd('big:set', 'tmp');
    await pair.tgt.srem('big:set', 'tmp');

    const result = await verify(input(pair, { tuning: chunked }));

    expect(differences(result)).toEqual({});
    expect(result.report.keysChecked).toBe(5);
  });

  it('finds one changed element in each big key compared in chunks', async () => {
    pair = await restoredPair(seedBig);
    await pair.tgt.hset('big:hash', 'f2222', 'changed');
    await pair.tgt.srem('big:set', 'm1999');
    await pair.tgt.sadd('big:set', 'other');
    await pair.tgt.zadd('big:zset', 1, 'z2400');
    await pair.tgt.lset('big:list', 2499, 'changed');
    await pair.tgt.setrange('big:string', 2 * 1024 * 1024 + 5, 'X');

    const result = await verify(input(pair, { tuning: chunked }));

    expect(differences(result).value?.sort()).toEqual([
      'db0:big:hash',
      'db0:big:list',
      'db0:big:set',
      'db0:big:string',
      'db0:big:zset',
    ]);
    expect(result.report.info.comparedInChunks).toBe(5);
  });
});

/** Members that LZF cannot shrink much, so the keys' DUMP payloads stay big. */
function hugeMember(i: number): string {
  return `member-${i}-${createHash('sha256').update(String(i)).digest('hex')}`;
}

describe('hashtable hashes and sets too big for their DUMP payload to travel', () => {
  async function seedHuge(client: Redis): Promise<void> {
    // About 1.5 MiB serialized each: over the 1 MiB a batch reply carries per key.
    const members = Array.from({ length: 30_000 }, (_, i) => hugeMember(i));
    await client.sadd('huge:set', ...members);
    await client.hset('huge:hash', Object.fromEntries(members.map((m, i) => [m, `value-${i}`])));
    await client.sadd('big:set', ...members.slice(0, 1000));
  }

  it('reads them in chunks instead, and finds them equal', async () => {
    pair = await restoredPair(seedHuge);
    expect(((await pair.src.dumpBuffer('huge:set')) as Buffer).length).toBeGreaterThan(1024 * 1024);

    const result = await verify(input(pair));

    expect(differences(result)).toEqual({});
    expect(result.report.info.comparedInChunks).toBe(2);
    expect(result.report.keysChecked).toBe(3);
  });

  it('finds one changed member or value', async () => {
    pair = await restoredPair(seedHuge);
    await pair.tgt.srem('huge:set', hugeMember(20_000));
    await pair.tgt.sadd('huge:set', 'replacement');
    await pair.tgt.hset('huge:hash', hugeMember(7), 'changed');
    await pair.tgt.srem('big:set', hugeMember(999));

    const result = await verify(input(pair));

    expect(differences(result).value?.sort()).toEqual(['db0:big:set', 'db0:huge:hash', 'db0:huge:set']);
  });
});

describe('batches holding more than the scripts keep in memory', () => {
  it('finds a change in any key of a batch whose digest had to be chained', async () => {
    // Three incompressible 2 MiB strings in one batch: the script hashes what it holds once it
    // passes 4 MiB, so whatever the SCAN order, keys fall on both sides of that point.
    const values = [0, 1, 2].map(() => randomBytes(2 * 1024 * 1024));
    pair = await restoredPair(async (client) => {
      for (const [i, value] of values.entries()) await client.set(`large:${i}`, value);
      for (let i = 0; i < 50; i++) await client.set(`small:${i}`, `v${i}`);
    });
    expect(differences(await verify(input(pair)))).toEqual({});

    for (const [i, value] of values.entries()) {
      await pair.tgt.setrange(`large:${i}`, 1024 * 1024, '!');
      const result = await verify(input(pair));
      expect(differences(result), `large:${i}`).toEqual({ value: [`db0:large:${i}`] });
      await pair.tgt.set(`large:${i}`, value);
    }
  });
});

describe('expiry edge cases', () => {
  it('does not report a key that expires during the check and is already gone on the target', async () => {
    pair = await restoredPair(async (client) => {
      await client.set('stays', 'x');
    });
    await pair.src.set('about-to-expire', 'x', 'PX', 800);
    await pair.tgt.set('far-future', 'x', 'PX', 10 * DAY);

    const result = await verify(input(pair));

    expect(differences(result)).toEqual({ extra: ['db0:far-future'] });
    expect(result.report.info.expiredDuringCheck).toBe(1);
  });

  it('ignores keys that have already expired on both sides', async () => {
    pair = await restoredPair(async (client) => {
      await client.set('a', '1');
    });
    await pair.src.set('gone', 'x', 'PX', 1);
    await pair.tgt.set('gone', 'y', 'PX', 1);
    await new Promise((resolve) => setTimeout(resolve, 20));

    const result = await verify(input(pair));

    expect(differences(result)).toEqual({});
  });

  it('reads expiry with PTTL and the server clock for engines without PEXPIRETIME', async () => {
    pair = await restoredPair(seedEveryEncoding);
    await pair.tgt.pexpireat('str:ttl', Date.now() + DAY + 60_000);

    const result = await verify(
      input(pair, { tuning: { ...TEST_TUNING, expiryCommand: 'pttl', expiryToleranceMs: 50 } }),
    );

    expect(differences(result)).toEqual({ expiry: ['db0:str:ttl'] });
  });
});

describe('without Lua', () => {
  it('finds the same differences with pipelined DUMP as with server-side digests', async () => {
    pair = await restoredPair(seedEveryEncoding);
    await pair.tgt.del('str:int');
    await pair.tgt.set('extra', '1');
    await pair.tgt.hset('hash:longvalue', 'c', '4');

    const withLua = await verify(input(pair, { tuning: { ...TEST_TUNING, fastPath: 'lua' } }));
    const withDump = await verify(input(pair, { tuning: { ...TEST_TUNING, fastPath: 'dump' } }));

    expect(differences(withDump)).toEqual({
      missing: ['db0:str:int'],
      extra: ['db0:extra'],
      value: ['db0:hash:longvalue'],
    });
    expect(withDump.report.counts).toEqual(withLua.report.counts);
  });
});
