import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sameUnorderedPayloads, unorderedElements } from '../../../lambdas/verifier/rdb.js';
import { type RedisServer, startRedisServer, stopAll } from '../../../sandbox/redis/server.js';

/** Members that exercise every RDB string encoding: integers of each width, LZF, long lengths. */
const MEMBERS = [
  '',
  '7',
  '-100',
  '30000',
  '2000000000',
  '99999999999',
  'short',
  'x'.repeat(70),
  `${'compressible '.repeat(40)}`,
  'y'.repeat(20_000),
  Buffer.from([0, 255, 13, 10, 0x80, 0xc3]).toString('latin1'),
  randomBytes(100).toString('latin1'), // 14-bit length, incompressible
  randomBytes(70_000).toString('latin1'), // 32-bit length
  ...Array.from({ length: 200 }, (_, i) => `member-${i}`),
];

let servers: RedisServer[] = [];
let a: Redis;
let b: Redis;

beforeAll(async () => {
  servers = await Promise.all([startRedisServer(), startRedisServer()]);
  [a, b] = servers.map((server) => server.client()) as [Redis, Redis];
});
afterAll(async () => {
  a?.disconnect();
  b?.disconnect();
  await stopAll(servers);
});

async function dumpOf(client: Redis, key: string): Promise<Buffer> {
  return (await client.dumpBuffer(key)) as Buffer;
}

describe('hashtable sets and hashes read from their DUMP payload', () => {
  it('cuts every member of a set out of its payload, whatever its encoding', async () => {
    await a.sadd('set', ...MEMBERS.map((m) => Buffer.from(m, 'latin1')));
    const payload = await dumpOf(a, 'set');
    expect(payload[0]).toBe(2);

    const elements = unorderedElements(payload);

    expect(elements).toHaveLength(MEMBERS.length);
    const latin1 = (bytes: number[]): string => Buffer.from(bytes).toString('latin1');
    expect(elements).toContain(`${latin1([5])}short`); // 6-bit length
    expect(elements).toContain(latin1([0])); // the empty string
    expect(elements).toContain(latin1([0xc0, 7])); // 8-bit integer
    expect(elements).toContain(latin1([0xc1, 0x30, 0x75])); // 16-bit integer (30000, little-endian)
    expect(elements?.filter((e) => e.charCodeAt(0) === 0xc3)).toHaveLength(3); // LZF
  });

  it('proves two sets equal when they were built in different orders on two servers', async () => {
    const members = MEMBERS.map((m) => Buffer.from(m, 'latin1'));
    await a.sadd('equal', ...members);
    for (const member of [...members].reverse()) await b.sadd('equal', member);
    const [left, right] = [await dumpOf(a, 'equal'), await dumpOf(b, 'equal')];
    expect(left.equals(right)).toBe(false);

    expect(sameUnorderedPayloads(left, right)).toBe(true);
  });

  it('proves two hashes equal and tells a changed value or field apart', async () => {
    const fields = Object.fromEntries(MEMBERS.map((m, i) => [`f${i}:${m.slice(0, 30)}`, `${m}${i}`]));
    await a.hset('hash', fields);
    await b.hset('hash', Object.fromEntries(Object.entries(fields).reverse()));
    expect(await a.call('OBJECT', 'ENCODING', 'hash')).toBe('hashtable');
    expect(sameUnorderedPayloads(await dumpOf(a, 'hash'), await dumpOf(b, 'hash'))).toBe(true);

    const [field, value] = Object.entries(fields)[7] as [string, string];
    await b.hset('hash', field, 'changed');
    expect(sameUnorderedPayloads(await dumpOf(a, 'hash'), await dumpOf(b, 'hash'))).toBe(false);
    await b.hset('hash', field, value);
    expect(sameUnorderedPayloads(await dumpOf(a, 'hash'), await dumpOf(b, 'hash'))).toBe(true);
    await b.hdel('hash', field);
    await b.hset('hash', `${field}!`, value);
    expect(sameUnorderedPayloads(await dumpOf(a, 'hash'), await dumpOf(b, 'hash'))).toBe(false);

    // Same values under swapped fields: the pairs differ.
    await a.hset('swap', { one: 'x'.repeat(100), two: 'y'.repeat(100) });
    await b.hset('swap', { one: 'y'.repeat(100), two: 'x'.repeat(100) });
    expect(sameUnorderedPayloads(await dumpOf(a, 'swap'), await dumpOf(b, 'swap'))).toBe(false);
  });

  it('tells apart sets that differ by one member, by a member more, or by type', async () => {
    const members = MEMBERS.map((m) => Buffer.from(m, 'latin1'));
    await a.sadd('one', ...members);
    await b.sadd('one', ...members.slice(1), 'not-the-empty-string');
    expect(sameUnorderedPayloads(await dumpOf(a, 'one'), await dumpOf(b, 'one'))).toBe(false);

    await b.sadd('more', ...members, 'extra');
    await a.sadd('more', ...members);
    expect(sameUnorderedPayloads(await dumpOf(a, 'more'), await dumpOf(b, 'more'))).toBe(false);

    await b.hset('typed', Object.fromEntries(members.map((m, i) => [`f${i}`, m])));
    await a.sadd('typed', ...members);
    expect(sameUnorderedPayloads(await dumpOf(a, 'typed'), await dumpOf(b, 'typed'))).toBe(false);
  });

  it('says nothing for payloads of other types or that do not parse', async () => {
    await a.rpush('list', 'a', 'b');
    await a.sadd('small', 'a', 'b');
    await a.sadd('ints', 1, 2, 3);
    const list = await dumpOf(a, 'list');
    expect(unorderedElements(list)).toBeUndefined();
    expect(sameUnorderedPayloads(list, list)).toBeUndefined();
    expect(unorderedElements(await dumpOf(a, 'ints'))).toBeUndefined();

    const set = await dumpOf(a, 'set');
    expect(unorderedElements(set.subarray(0, set.length - 20))).toBeUndefined();
    expect(unorderedElements(Buffer.concat([set.subarray(0, 20), set.subarray(40)]))).toBeUndefined();
  });
});
