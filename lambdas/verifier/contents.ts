/**
 * Reads one key's type, absolute expiry and contents from one side and reduces them to an
 * {@link Observation} (see fingerprint.ts). Keys larger than `chunkSize` elements are read in
 * chunks (LRANGE/ZRANGE by rank, HSCAN/SSCAN, XRANGE, GETRANGE), so no single reply is large and
 * the server is never blocked by one read.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Endpoint } from './connection.js';
import { MultisetHash, normalizeScore, SequenceHash } from './fingerprint.js';

/** What one side holds under one key at one moment. */
export interface Observation {
  /** `none` when the key does not exist. */
  readonly type: string;
  /** Absolute expiry in ms since the epoch; -1 no expiry, -2 missing. */
  readonly expireAt: number;
  readonly length: number;
  /** Content fingerprint (type-specific, encoding- and order-independent). */
  readonly fingerprint: string;
  /** False for types without a content reading here (modules): fingerprint is over DUMP. */
  readonly comparable: boolean;
  readonly chunked: boolean;
  /** Server clock when read, for expiry edge cases. */
  readonly serverNowMs: number;
}

const STRING_CHUNK_BYTES = 1 << 20;

/** Observes keys on one side; keys are read concurrently (pipelined on each connection). */
export async function observeKeys(
  endpoint: Endpoint,
  keys: readonly Buffer[],
  chunkSize: number,
): Promise<Observation[]> {
  const [expiries, types] = await Promise.all([
    endpoint.expiries(keys),
    endpoint.guard(
      `TYPE on the ${endpoint.role}`,
      Promise.all(keys.map((key) => endpoint.clientForKey(key).type(key))),
    ),
  ]);
  return Promise.all(
    keys.map(async (key, i) => {
      const client = endpoint.clientForKey(key);
      const type = types[i] as string;
      const startedAt = performance.now();
      const serverNowMs = await endpoint.serverTimeMs(client);
      if (type === 'none') return gone(serverNowMs);
      const expireAt = expiries[i] as number;
      const read = await endpoint.guard(
        `reading a ${type} on the ${endpoint.role}`,
        readContents(client, key, type, chunkSize),
      );
      // A key whose expiry fell due while it was read was read partly (or wholly) after it had
      // gone: its type and expiry are of a live key, its contents may be those of a missing one
      // (an empty string, a shorter hash). It is gone as of the end of the read, and reads as
      // such; otherwise a key about to expire looks like a value difference, which the final
      // check under the write freeze counts as a failed copy. Only a key that can have expired
      // by now pays for the second TIME: the server's clock has moved on by no more than this
      // side's since just before the first TIME (plus a slack for a server clock that steps).
      const elapsedMs = performance.now() - startedAt;
      if (expireAt >= 0 && expireAt <= serverNowMs + elapsedMs + CLOCK_SLACK_MS) {
        const afterMs = await endpoint.serverTimeMs(client);
        if (expireAt <= afterMs) return gone(afterMs);
      }
      return { type, expireAt, serverNowMs, ...read };
    }),
  );
}

/** Allowance for a server clock that runs ahead of this process's while a key is read. */
const CLOCK_SLACK_MS = 1_000;

/** The observation of a key that does not exist. */
function gone(serverNowMs: number): Observation {
  return {
    type: 'none',
    expireAt: -2,
    length: 0,
    fingerprint: '',
    comparable: true,
    chunked: false,
    serverNowMs,
  };
}

interface Contents {
  readonly length: number;
  readonly fingerprint: string;
  readonly comparable: boolean;
  readonly chunked: boolean;
}

async function readContents(client: Redis, key: Buffer, type: string, chunkSize: number): Promise<Contents> {
  switch (type) {
    case 'string':
      return readString(client, key);
    case 'list':
      return readByRank(chunkSize, await client.llen(key), (start, stop) =>
        client.lrangeBuffer(key, start, stop),
      );
    case 'zset':
      return readZset(client, key, chunkSize);
    case 'hash':
      return readHash(client, key, chunkSize);
    case 'set':
      return readSet(client, key, chunkSize);
    case 'stream':
      return readStream(client, key, chunkSize);
    default: {
      const dump = await client.dumpBuffer(key);
      return {
        length: dump?.length ?? 0,
        fingerprint: createHash('sha256')
          .update(dump ?? Buffer.alloc(0))
          .digest('hex'),
        comparable: false,
        chunked: false,
      };
    }
  }
}

async function readString(client: Redis, key: Buffer): Promise<Contents> {
  const length = await client.strlen(key);
  const hash = createHash('sha256');
  if (length <= STRING_CHUNK_BYTES) {
    hash.update((await client.getBuffer(key)) ?? Buffer.alloc(0));
  } else {
    for (let start = 0; start < length; start += STRING_CHUNK_BYTES) {
      hash.update(await client.getrangeBuffer(key, start, start + STRING_CHUNK_BYTES - 1));
    }
  }
  return { length, fingerprint: hash.digest('hex'), comparable: true, chunked: length > STRING_CHUNK_BYTES };
}

async function readByRank(
  chunkSize: number,
  length: number,
  range: (start: number, stop: number) => Promise<Buffer[]>,
): Promise<Contents> {
  const hash = new SequenceHash();
  for (let start = 0; start < length; start += chunkSize) {
    const items = await range(start, start + chunkSize - 1);
    for (const item of items) hash.add(item);
    if (items.length < chunkSize) break;
  }
  return { length, fingerprint: hash.digest(), comparable: true, chunked: length > chunkSize };
}

async function readZset(client: Redis, key: Buffer, chunkSize: number): Promise<Contents> {
  const length = await client.zcard(key);
  const hash = new SequenceHash();
  for (let start = 0; start < length; start += chunkSize) {
    const items = (await client.callBuffer(
      'ZRANGE',
      key,
      start,
      start + chunkSize - 1,
      'WITHSCORES',
    )) as Buffer[];
    for (let j = 0; j + 1 < items.length; j += 2)
      hash.add(items[j] as Buffer, normalizeScore(items[j + 1] as Buffer));
    if (items.length < chunkSize * 2) break;
  }
  return { length, fingerprint: hash.digest(), comparable: true, chunked: length > chunkSize };
}

async function readHash(client: Redis, key: Buffer, chunkSize: number): Promise<Contents> {
  const length = await client.hlen(key);
  const hash = new MultisetHash();
  const addPairs = (flat: Buffer[]): void => {
    for (let j = 0; j + 1 < flat.length; j += 2) hash.add(flat[j] as Buffer, flat[j + 1] as Buffer);
  };
  if (length <= chunkSize) {
    addPairs((await client.callBuffer('HGETALL', key)) as Buffer[]);
  } else {
    let cursor = '0';
    do {
      const [next, items] = await client.hscanBuffer(key, cursor, 'COUNT', chunkSize);
      addPairs(items);
      cursor = next.toString();
    } while (cursor !== '0');
  }
  return { length, fingerprint: hash.digest(), comparable: true, chunked: length > chunkSize };
}

async function readSet(client: Redis, key: Buffer, chunkSize: number): Promise<Contents> {
  const length = await client.scard(key);
  const hash = new MultisetHash();
  if (length <= chunkSize) {
    for (const member of await client.smembersBuffer(key)) hash.add(member);
  } else {
    let cursor = '0';
    do {
      const [next, members] = await client.sscanBuffer(key, cursor, 'COUNT', chunkSize);
      for (const member of members) hash.add(member);
      cursor = next.toString();
    } while (cursor !== '0');
  }
  return { length, fingerprint: hash.digest(), comparable: true, chunked: length > chunkSize };
}

/** The smallest stream ID after `id` (XRANGE's exclusive `(` needs 6.2; this works everywhere). */
function nextStreamId(id: string): string {
  const [ms, seq] = id.split('-');
  return `${ms}-${BigInt(seq ?? '0') + 1n}`;
}

function flatPairs(reply: unknown): Map<string, unknown> {
  const fields = new Map<string, unknown>();
  const items = reply as unknown[];
  for (let j = 0; j + 1 < items.length; j += 2) fields.set(String(items[j]), items[j + 1]);
  return fields;
}

async function readStream(client: Redis, key: Buffer, chunkSize: number): Promise<Contents> {
  const length = await client.xlen(key);
  const hash = new SequenceHash();
  let start = '-';
  for (;;) {
    const entries = (await client.callBuffer('XRANGE', key, start, '+', 'COUNT', chunkSize)) as [
      Buffer,
      Buffer[],
    ][];
    for (const [id, fields] of entries) hash.add(id, ...fields);
    const last = entries.at(-1);
    if (entries.length < chunkSize || last === undefined) break;
    start = nextStreamId(last[0].toString());
  }
  // Stream metadata that DUMP carries too: IDs and consumer groups (not the consumers' idle times).
  const info = flatPairs(await client.call('XINFO', 'STREAM', key));
  for (const field of ['last-generated-id', 'max-deleted-entry-id', 'entries-added']) {
    hash.add(field, String(info.get(field) ?? ''));
  }
  const groups = (await client.call('XINFO', 'GROUPS', key)) as unknown[];
  for (const group of groups) {
    const g = flatPairs(group);
    hash.add(
      'group',
      ...['name', 'consumers', 'pending', 'last-delivered-id', 'entries-read'].map((f) =>
        String(g.get(f) ?? ''),
      ),
    );
  }
  return { length, fingerprint: hash.digest(), comparable: true, chunked: length > chunkSize };
}
