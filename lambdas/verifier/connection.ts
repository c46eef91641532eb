/**
 * Protocol and I/O: connections to one side (source or target), its keyspace units (databases
 * 0..15 with cluster mode disabled, primary shards with it enabled), key routing by slot, and
 * the batched reads the comparison needs. Nothing here decides whether two keys are equal.
 *
 * Only commands ElastiCache allows are used (docs/aws-behaviour.md, "Data verification"): SCAN, RANDOMKEY,
 * DUMP, TYPE, PEXPIRETIME (or PTTL + TIME on engines before 7.0), EXISTS, EVALSHA/EVAL and the
 * type-specific read commands; CLUSTER SLOTS to find the shards. No DEBUG, CONFIG or SYNC.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  sanitizeCause,
  VerifierCommandError,
  VerifierConnectionError,
  VerifierTopologyError,
} from './errors.js';
import {
  ELASTICACHE_OWN_KEY,
  type LuaScript,
  READ_ONLY_SCRIPTS,
  SCRIPTS,
  type ScriptSet,
  WRITE_SCRIPTS,
} from './scripts.js';
import { keySlot, SLOT_COUNT } from './slots.js';
import {
  dumpToken,
  MISSING_TOKEN,
  parseBatchNote,
  stateToken,
  type UnprovenToken,
  unprovenToken,
} from './tokens.js';
import type { RedisEndpointSpec } from './types.js';

/** Creates an ioredis client for one node of an endpoint (not yet connected: `lazyConnect`). */
export type RedisClientFactory = (node: { host: string; port: number }, spec: RedisEndpointSpec) => Redis;

/** The default factory: TLS and AUTH per the spec, RESP2 (every engine version), no retries. */
export const createIoredisClient: RedisClientFactory = (node, spec) =>
  new Redis({
    host: node.host,
    port: node.port,
    ...(spec.authToken !== undefined
      ? { password: spec.authToken, ...(spec.username !== undefined ? { username: spec.username } : {}) }
      : {}),
    ...(spec.tls
      ? {
          tls: {
            ...(spec.caPem !== undefined ? { ca: spec.caPem } : {}),
            ...(spec.servername !== undefined ? { servername: spec.servername } : {}),
          },
        }
      : {}),
    protocol: 2,
    lazyConnect: true,
    connectTimeout: 10_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });

export type Role = 'source' | 'target';

/** One key as read for copying (see {@link Endpoint.readForCopy}). */
export interface KeyCopy {
  /** DUMP payload; null when the key does not exist. */
  readonly payload: Buffer | null;
  /** Absolute expiry in ms: -1 none, -2 missing. */
  readonly expireAt: number;
  /** The key's state token (see tokens.ts). */
  readonly state: string;
}

function copyOf(payload: Buffer | null, expiry: string): KeyCopy {
  return { payload, expireAt: Number(expiry), state: stateToken(payload, expiry) };
}

/** Application data: every key but ElastiCache's own (see ELASTICACHE_OWN_KEY). */
export function isApplicationKey(key: Buffer): boolean {
  return key.length !== ELASTICACHE_OWN_KEY.length || key.toString('latin1') !== ELASTICACHE_OWN_KEY;
}

/** RDB type bytes that open the DUMP payload of hashtable-encoded hashes and sets. */
const RDB_TYPE_SET = 2;
const RDB_TYPE_HASH = 4;
export type ExpiryCommand = 'pexpiretime' | 'pttl';

/** What {@link Endpoint.batchDigest} returns. */
export interface BatchDigest {
  /** Per node: the key indices it answered for (in key order) and their digest. */
  readonly groups: readonly { readonly indices: readonly number[]; readonly digest: string }[];
  /** `N` tokens (big hashtable hashes and sets: no proof) by key index. */
  readonly unproven: ReadonlyMap<number, UnprovenToken>;
  /** The DUMP payloads of those keys, by key index. */
  readonly payloads: ReadonlyMap<number, Buffer>;
}

/** Packs keys as SCAN_SCRIPT does: a 4-byte big-endian length, then the bytes, per key. */
export function packKeys(keys: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const key of keys) {
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32BE(key.length);
    parts.push(length, key);
  }
  return Buffer.concat(parts);
}

/** The keys of a packed list; only those at `indices` (in that order) when given. */
export function unpackKeys(packed: Buffer, indices?: readonly number[]): Buffer[] {
  const all: Buffer[] = [];
  for (let offset = 0; offset < packed.length; ) {
    const length = packed.readUInt32BE(offset);
    all.push(packed.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return indices ? indices.map((i) => all[i] as Buffer) : all;
}

/** Whether two batch digests prove every key equal but their `N` keys (which must match too). */
export function sameBatchDigest(a: BatchDigest, b: BatchDigest): boolean {
  if (a.groups.length !== b.groups.length || a.unproven.size !== b.unproven.size) return false;
  for (const [index, token] of a.unproven) if (b.unproven.get(index)?.type !== token.type) return false;
  return a.groups.every((group, g) => {
    const other = b.groups[g];
    if (!other || other.digest !== group.digest || other.indices.length !== group.indices.length)
      return false;
    return group.indices.every((index, i) => other.indices[i] === index);
  });
}

interface Shard {
  readonly firstSlot: number;
  readonly ranges: readonly (readonly [number, number])[];
  readonly client: Redis;
}

/** Classifies a client error into the verifier's typed errors, without any secret in it. */
export function toVerifierError(
  error: unknown,
  context: string,
  secrets: readonly (string | undefined)[],
): Error {
  if (
    error instanceof VerifierConnectionError ||
    error instanceof VerifierCommandError ||
    error instanceof VerifierTopologyError
  ) {
    return error;
  }
  const cause = sanitizeCause(error, secrets);
  const message = `${context}: ${cause.message}`;
  if (/^(MOVED|ASK|CLUSTERDOWN|TRYAGAIN)\b/.test(cause.message))
    return new VerifierTopologyError(message, { cause });
  if (
    cause.name === 'ReplyError' &&
    !/^(NOAUTH|WRONGPASS|NOPERM|LOADING|MASTERDOWN|READONLY)\b|invalid password/i.test(cause.message)
  ) {
    return new VerifierCommandError(message, { cause });
  }
  return new VerifierConnectionError(message, { cause });
}

/** One side of the comparison. */
export class Endpoint {
  private currentDb = 0;

  private constructor(
    readonly role: Role,
    readonly spec: RedisEndpointSpec,
    /** The seed client (cluster mode disabled: the only one). */
    private readonly seed: Redis,
    /** Cluster mode: primaries sorted by first slot. */
    private readonly shards: readonly Shard[],
    /** Cluster mode: slot -> index in `shards`. */
    private readonly slotOwner: Uint16Array | undefined,
    readonly expiryCommand: ExpiryCommand,
    readonly lua: boolean,
    /** The read scripts loaded: declared read-only where the engine allows it (7.0+). */
    readonly scripts: ScriptSet = SCRIPTS,
  ) {}

  /** Connects (and in cluster mode discovers every primary), probing what the engine supports. */
  static async open(
    role: Role,
    spec: RedisEndpointSpec,
    factory: RedisClientFactory,
    options: {
      expiryCommand: 'auto' | ExpiryCommand;
      fastPath: 'auto' | 'lua' | 'dump';
      /** Another endpoint of the same group: its findings are taken, nothing is probed or loaded. */
      like?: Endpoint;
    },
  ): Promise<Endpoint> {
    const clients: Redis[] = [];
    const connect = async (node: { host: string; port: number }): Promise<Redis> => {
      const client = factory(node, spec);
      clients.push(client);
      client.on('error', () => {
        // Surfaced through the failing command; the listener keeps ioredis from logging it.
      });
      try {
        if (client.status === 'wait') await client.connect();
        return client;
      } catch (error) {
        throw toVerifierError(error, `cannot connect to the ${role} at ${node.host}:${node.port}`, [
          spec.authToken,
        ]);
      }
    };
    try {
      const seed = await connect({ host: spec.host, port: spec.port });
      let shards: Shard[] = [];
      let slotOwner: Uint16Array | undefined;
      if (spec.clusterMode) {
        ({ shards, slotOwner } = await discoverShards(seed, spec, connect, role));
      }
      if (options.like) {
        const { expiryCommand, lua, scripts } = options.like;
        return new Endpoint(role, spec, seed, shards, slotOwner, expiryCommand, lua, scripts);
      }
      const probeClient = shards[0]?.client ?? seed;
      let expiryCommand: ExpiryCommand = options.expiryCommand === 'pttl' ? 'pttl' : 'pexpiretime';
      if (options.expiryCommand === 'auto') {
        try {
          await probeClient.call('PEXPIRETIME', '__verifier_probe__');
        } catch (error) {
          const message = (error as Error).message;
          // MOVED means the command exists and the probe key lives on another shard.
          if (/unknown command/i.test(message)) expiryCommand = 'pttl';
          else if (!/^MOVED /.test(message)) {
            throw toVerifierError(error, `the ${role} refused PEXPIRETIME`, [spec.authToken]);
          }
        }
      }
      let lua = options.fastPath !== 'dump';
      let scripts = READ_ONLY_SCRIPTS;
      if (lua) {
        const load = async (set: ScriptSet): Promise<void> => {
          for (const client of shards.length > 0 ? shards.map((s) => s.client) : [seed]) {
            for (const script of Object.values(set)) await client.call('SCRIPT', 'LOAD', script.source);
          }
        };
        try {
          // Engines before 7.0 refuse the read-only declaration; they get the plain scripts.
          await load(READ_ONLY_SCRIPTS).catch(async () => {
            scripts = SCRIPTS;
            await load(SCRIPTS);
          });
        } catch (error) {
          if (options.fastPath === 'lua')
            throw toVerifierError(error, `the ${role} refused Lua`, [spec.authToken]);
          lua = false;
        }
      }
      return new Endpoint(role, spec, seed, shards, slotOwner, expiryCommand, lua, scripts);
    } catch (error) {
      for (const client of clients) client.disconnect();
      throw error;
    }
  }

  /** Keyspace units: databases (cluster mode disabled) or primary shards (enabled). */
  unitCount(databases: number): number {
    return this.spec.clusterMode ? this.shards.length : databases;
  }

  shardFirstSlot(unit: number): number | undefined {
    return this.shards[unit]?.firstSlot;
  }

  unitOfFirstSlot(firstSlot: number): number {
    const index = this.shards.findIndex((s) => s.firstSlot === firstSlot);
    if (index < 0) {
      throw new VerifierTopologyError(`the ${this.role} has no shard starting at slot ${firstSlot} any more`);
    }
    return index;
  }

  /** Database a unit's keys live in, in natural order (for routing its keys on the other side). */
  dbOfUnit(unit: number): number {
    return this.spec.clusterMode ? 0 : unit;
  }

  /**
   * Keys per database 0..count-1 (INFO keyspace), with cluster mode disabled; undefined in
   * cluster mode or when INFO is refused (an ACL without it): only an ordering hint.
   */
  async databaseSizes(count: number): Promise<number[] | undefined> {
    if (this.spec.clusterMode) return undefined;
    let info: string;
    try {
      info = await this.seed.info('keyspace');
    } catch {
      return undefined;
    }
    const sizes = new Array<number>(count).fill(0);
    for (const [, db, keys] of info.matchAll(/^db(\d+):keys=(\d+)/gm)) {
      const index = Number(db);
      if (index < count) sizes[index] = Number(keys);
    }
    return sizes;
  }

  /** Selects a database (cluster mode disabled; a no-op for db 0 in cluster mode). */
  async selectDb(db: number): Promise<void> {
    if (this.spec.clusterMode) {
      if (db !== 0) throw new VerifierCommandError(`cluster mode has only database 0 (asked for ${db})`);
      return;
    }
    if (db === this.currentDb) return;
    await this.guard(`SELECT ${db} on the ${this.role}`, this.seed.select(db));
    this.currentDb = db;
  }

  private clientOfUnit(unit: number): Redis {
    if (!this.spec.clusterMode) return this.seed;
    const shard = this.shards[unit];
    if (!shard) throw new VerifierTopologyError(`the ${this.role} has no shard #${unit}`);
    return shard.client;
  }

  /** One SCAN step of a unit (its database must be selected). */
  async scan(unit: number, cursor: string, count: number): Promise<{ cursor: string; keys: Buffer[] }> {
    const [next, keys] = await this.guard(
      `SCAN on the ${this.role}`,
      this.clientOfUnit(unit).scanBuffer(cursor, 'COUNT', count),
    );
    return { cursor: next.toString(), keys: keys.filter(isApplicationKey) };
  }

  /**
   * One SCAN step in a script (Lua only, see SCAN_SCRIPT): the keys come back packed, with their
   * batch digest when `digest` is set.
   */
  async scanPacked(
    unit: number,
    cursor: string,
    count: number,
    options: { digest: boolean; smallUnordered: number },
  ): Promise<{ cursor: string; packed: Buffer; count: number; digest?: BatchDigest }> {
    const expiryFlag = this.expiryCommand === 'pexpiretime' ? '1' : '0';
    const args = [
      0,
      expiryFlag,
      String(options.smallUnordered),
      cursor,
      String(count),
      options.digest ? '1' : '0',
    ];
    const [next, packed, found, reply] = (await this.guard(
      `SCAN on the ${this.role}`,
      this.evalshaBuffer(this.clientOfUnit(unit), this.scripts.scan, args),
    )) as [Buffer, Buffer, number, Buffer[]];
    const indices = Array.from({ length: found }, (_, i) => i);
    return {
      cursor: next.toString(),
      packed,
      count: found,
      ...(options.digest ? { digest: this.parseBatchDigest([{ indices, reply }]) } : {}),
    };
  }

  /** Up to `count` distinct random keys of a unit (sample mode). */
  async randomKeys(unit: number, count: number): Promise<Buffer[]> {
    const client = this.clientOfUnit(unit);
    const replies = await this.guard(
      `RANDOMKEY on the ${this.role}`,
      Promise.all(
        Array.from({ length: count }, () => client.callBuffer('RANDOMKEY') as Promise<Buffer | null>),
      ),
    );
    const seen = new Set<string>();
    const keys: Buffer[] = [];
    for (const key of replies) {
      if (key === null || !isApplicationKey(key)) continue;
      const id = key.toString('latin1');
      if (!seen.has(id)) {
        seen.add(id);
        keys.push(key);
      }
    }
    return keys;
  }

  /** Groups key indices by the client that owns them. */
  route(keys: readonly Buffer[]): Map<Redis, number[]> {
    const groups = new Map<Redis, number[]>();
    if (!this.slotOwner) {
      groups.set(
        this.seed,
        keys.map((_, i) => i),
      );
      return groups;
    }
    for (let i = 0; i < keys.length; i++) {
      const client = this.shards[this.slotOwner[keySlot(keys[i] as Buffer)] as number]?.client as Redis;
      const group = groups.get(client);
      if (group) group.push(i);
      else groups.set(client, [i]);
    }
    return groups;
  }

  /**
   * The one client holding every key that unit `unit` of `other` can hold (the same database
   * with cluster mode disabled; with it enabled, the node owning all the slots of that shard),
   * or undefined when those keys are spread over several nodes here.
   */
  soleClientFor(other: Endpoint, unit: number): Redis | undefined {
    if (!this.slotOwner) return this.seed;
    const ranges = other.shards[unit]?.ranges;
    if (!ranges) return undefined;
    let owner: number | undefined;
    for (const [start, end] of ranges) {
      for (let slot = start; slot <= end; slot++) {
        const index = this.slotOwner[slot] as number;
        if (owner === undefined) owner = index;
        else if (index !== owner) return undefined;
      }
    }
    return owner === undefined ? undefined : this.shards[owner]?.client;
  }

  /** The client holding one key. */
  clientForKey(key: Buffer): Redis {
    if (!this.slotOwner) return this.seed;
    return this.shards[this.slotOwner[keySlot(key)] as number]?.client as Redis;
  }

  /** Runs a script over keys, once per node holding some of them. */
  private async runScriptPerNode(
    script: LuaScript,
    keys: readonly Buffer[],
    arg2: string,
  ): Promise<{ indices: number[]; reply: string }[]> {
    const expiryFlag = this.expiryCommand === 'pexpiretime' ? '1' : '0';
    return Promise.all(
      [...this.route(keys)].map(async ([client, indices]) => {
        const batch = indices.map((i) => keys[i] as Buffer);
        const args: (string | Buffer | number)[] = this.spec.clusterMode
          ? [0, expiryFlag, arg2, ...batch]
          : [batch.length, ...batch, expiryFlag, arg2];
        const reply = await this.guard(`script on the ${this.role}`, this.evalsha(client, script, args));
        return { indices, reply };
      }),
    );
  }

  /** Runs a script that answers one line per key; returns the lines in key order. */
  private async runLineScript(script: LuaScript, keys: readonly Buffer[], arg2: string): Promise<string[]> {
    const out = new Array<string>(keys.length);
    for (const { indices, reply } of await this.runScriptPerNode(script, keys, arg2)) {
      const lines = reply.split('\n');
      if (lines.length !== indices.length) {
        throw new VerifierCommandError(
          `script on the ${this.role} returned ${lines.length} lines for ${indices.length} keys`,
        );
      }
      indices.forEach((keyIndex, j) => {
        out[keyIndex] = lines[j] as string;
      });
    }
    return out;
  }

  private async evalshaBuffer(
    client: Redis,
    script: LuaScript,
    args: (string | Buffer | number)[],
  ): Promise<unknown> {
    try {
      return await client.callBuffer('EVALSHA', script.sha, ...args);
    } catch (error) {
      if (!/NOSCRIPT/.test((error as Error).message)) throw error;
      return client.callBuffer('EVAL', script.source, ...args);
    }
  }

  private async evalsha(
    client: Redis,
    script: LuaScript,
    args: (string | Buffer | number)[],
  ): Promise<string> {
    try {
      return String(await client.call('EVALSHA', script.sha, ...args));
    } catch (error) {
      if (!/NOSCRIPT/.test((error as Error).message)) throw error;
      return String(await client.call('EVAL', script.source, ...args));
    }
  }

  /**
   * Fast path: per key a token (see FAST_DIGEST_SCRIPT): `-` missing, `D…`/`C…` proofs that are
   * equal on both sides exactly when the keys are equal, `N…` for keys to compare by contents.
   */
  async fastDigest(keys: readonly Buffer[], smallUnordered: number): Promise<string[]> {
    if (this.lua) return this.runLineScript(this.scripts.fastDigest, keys, String(smallUnordered));
    const [dumps, expiries] = await Promise.all([
      this.guard(
        `DUMP on the ${this.role}`,
        Promise.all(keys.map((key) => this.clientForKey(key).dumpBuffer(key) as Promise<Buffer | null>)),
      ),
      this.expiries(keys),
    ]);
    return keys.map((_, i) => {
      const dump = dumps[i];
      if (dump === null || dump === undefined) return MISSING_TOKEN;
      // Same tokens as the script; without a server-side sort, hashtable hashes and sets are
      // left to the content comparison.
      const expiry = expiries[i] as number;
      if (dump[0] === RDB_TYPE_HASH) return unprovenToken('h', undefined, expiry);
      if (dump[0] === RDB_TYPE_SET) return unprovenToken('s', undefined, expiry);
      return dumpToken(createHash('sha1').update(dump).digest('hex'), expiry);
    });
  }

  /**
   * Fast path for a whole batch (Lua only, see BATCH_DIGEST_SCRIPT): per node holding some of the
   * keys, the indices it answered for and their batch digest; and the `N` tokens by key index.
   * Two sides whose groups have equal indices and digests hold equal keys, except the `N` keys.
   */
  async batchDigest(keys: readonly Buffer[], smallUnordered: number): Promise<BatchDigest> {
    const replies = await Promise.all(
      [...this.route(keys)].map(async ([client, indices]) => ({
        indices,
        reply: await this.batchDigestOn(
          client,
          packKeys(indices.map((i) => keys[i] as Buffer)),
          smallUnordered,
        ),
      })),
    );
    return this.parseBatchDigest(replies);
  }

  /** Batch digest of keys already packed, all held by `client` (see {@link soleClientFor}). */
  async batchDigestPacked(
    client: Redis,
    packed: Buffer,
    count: number,
    smallUnordered: number,
  ): Promise<BatchDigest> {
    const indices = Array.from({ length: count }, (_, i) => i);
    return this.parseBatchDigest([
      { indices, reply: await this.batchDigestOn(client, packed, smallUnordered) },
    ]);
  }

  private async batchDigestOn(client: Redis, packed: Buffer, smallUnordered: number): Promise<Buffer[]> {
    const expiryFlag = this.expiryCommand === 'pexpiretime' ? '1' : '0';
    return (await this.guard(
      `script on the ${this.role}`,
      this.evalshaBuffer(client, this.scripts.batchDigest, [0, expiryFlag, String(smallUnordered), packed]),
    )) as Buffer[];
  }

  private parseBatchDigest(replies: readonly { indices: number[]; reply: Buffer[] }[]): BatchDigest {
    const groups: BatchDigest['groups'][number][] = [];
    const unproven = new Map<number, UnprovenToken>();
    const payloads = new Map<number, Buffer>();
    for (const { indices, reply } of replies) {
      const [digest, notes, ...dumps] = reply;
      const lines = notes && notes.length > 0 ? notes.toString('latin1').split('\n') : [];
      if (digest === undefined || dumps.length !== lines.length) {
        throw new VerifierCommandError(`batch script on the ${this.role} returned a malformed reply`);
      }
      lines.forEach((line, j) => {
        const note = parseBatchNote(line);
        if (!note) {
          throw new VerifierCommandError(`batch script on the ${this.role} returned a malformed note`);
        }
        const keyIndex = indices[note.index];
        if (keyIndex === undefined) {
          throw new VerifierCommandError(
            `batch script on the ${this.role} named key #${note.index} of ${indices.length}`,
          );
        }
        unproven.set(keyIndex, note.token);
        const payload = dumps[j] as Buffer;
        if (payload.length > 0) payloads.set(keyIndex, payload);
      });
      groups.push({ indices, digest: digest.toString('latin1') });
    }
    return { groups, unproven, payloads };
  }

  /**
   * Whole contents of hashes (flat field/value list) or sets (members), decoded as UTF-8 strings
   * (cheaper than buffers); the caller must not trust replies containing U+FFFD (invalid UTF-8).
   */
  async unorderedContents(keys: readonly Buffer[], kinds: readonly ('h' | 's')[]): Promise<string[][]> {
    return this.guard(
      `HGETALL/SMEMBERS on the ${this.role}`,
      Promise.all(
        keys.map(
          (key, i) =>
            this.clientForKey(key).call(kinds[i] === 'h' ? 'HGETALL' : 'SMEMBERS', key) as Promise<string[]>,
        ),
      ),
    );
  }

  /** Canonical content digests (server-side), `none` for missing keys; see CONTENT_DIGEST_SCRIPT. */
  async contentDigest(keys: readonly Buffer[], limit: number): Promise<string[]> {
    return this.runLineScript(this.scripts.contentDigest, keys, String(limit));
  }

  /** Indices of the packed keys that do not exist, all held by `client` (Lua only). */
  async absentPacked(client: Redis, packed: Buffer): Promise<number[]> {
    const multiKey = this.spec.clusterMode ? '0' : '1';
    const reply = await this.guard(
      `EXISTS on the ${this.role}`,
      this.evalsha(client, this.scripts.existsPacked, [0, packed, multiKey]),
    );
    return reply === '' ? [] : reply.split(',').map(Number);
  }

  /** Whether each key exists (reverse pass, keys not packed by the other side). */
  async exists(keys: readonly Buffer[]): Promise<boolean[]> {
    if (this.lua) {
      const present = new Array<boolean>(keys.length).fill(true);
      await Promise.all(
        [...this.route(keys)].map(async ([client, indices]) => {
          const packed = packKeys(indices.map((i) => keys[i] as Buffer));
          for (const j of await this.absentPacked(client, packed)) present[indices[j] as number] = false;
        }),
      );
      return present;
    }
    if (!this.spec.clusterMode) {
      // One multi-key EXISTS answers the common case (every key present) in one cheap command.
      const present = await this.guard(`EXISTS on the ${this.role}`, this.seed.exists(...keys));
      if (present === keys.length) return keys.map(() => true);
    }
    const replies = await this.guard(
      `EXISTS on the ${this.role}`,
      Promise.all(keys.map((key) => this.clientForKey(key).exists(key))),
    );
    return replies.map((n) => n > 0);
  }

  /** Absolute expiry per key in ms: -1 none, -2 missing. */
  async expiries(keys: readonly Buffer[]): Promise<number[]> {
    if (this.expiryCommand === 'pexpiretime') {
      return this.guard(
        `PEXPIRETIME on the ${this.role}`,
        Promise.all(keys.map((key) => this.clientForKey(key).call('PEXPIRETIME', key) as Promise<number>)),
      );
    }
    return this.guard(
      `PTTL on the ${this.role}`,
      Promise.all(
        keys.map(async (key) => {
          const client = this.clientForKey(key);
          const [ttl, now] = await Promise.all([client.pttl(key), this.serverTimeMs(client)]);
          return ttl >= 0 ? now + ttl : ttl;
        }),
      ),
    );
  }

  /** The server clock of the node holding `key`, in ms. */
  async serverTimeMs(client: Redis = this.seed): Promise<number> {
    const [seconds, micros] = (await this.guard(`TIME on the ${this.role}`, client.time())) as [
      number | string,
      number | string,
    ];
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  /**
   * What to copy of each key, read at this moment: its DUMP payload (null when the key does not
   * exist) and absolute expiry, both read by one script per node, so they belong together.
   * `state` is the key's token as the compare-and-copy script computes it.
   */
  async readForCopy(keys: readonly Buffer[]): Promise<KeyCopy[]> {
    const out = new Array<KeyCopy>(keys.length);
    if (!this.lua) {
      // No scripting: DUMP and expiry in one pipeline per key (read apart; the copy is checked
      // again under the write freeze, which is what makes it exact).
      const [dumps, expiries] = await Promise.all([
        this.guard(
          `DUMP on the ${this.role}`,
          Promise.all(keys.map((key) => this.clientForKey(key).dumpBuffer(key) as Promise<Buffer | null>)),
        ),
        this.expiries(keys),
      ]);
      keys.forEach((_, i) => {
        out[i] = copyOf(dumps[i] ?? null, String(expiries[i]));
      });
      return out;
    }
    const expiryFlag = this.expiryCommand === 'pexpiretime' ? '1' : '0';
    await Promise.all(
      [...this.route(keys)].map(async ([client, indices]) => {
        const batch = indices.map((i) => keys[i] as Buffer);
        const args: (string | Buffer | number)[] = this.spec.clusterMode
          ? [0, expiryFlag, '0', ...batch]
          : [batch.length, ...batch, expiryFlag, '0'];
        const reply = (await this.guard(
          `DUMP on the ${this.role}`,
          this.evalshaBuffer(client, this.scripts.copyRead, args),
        )) as Buffer[];
        if (reply.length !== batch.length * 2) {
          throw new VerifierCommandError(`copy read on the ${this.role} returned a malformed reply`);
        }
        indices.forEach((keyIndex, j) => {
          const payload = reply[2 * j] as Buffer;
          out[keyIndex] = copyOf(
            payload.length > 0 ? payload : null,
            (reply[2 * j + 1] as Buffer).toString(),
          );
        });
      }),
    );
    return out;
  }

  /**
   * Makes each key what `copies` says: RESTORE REPLACE with the absolute expiry (ABSTTL; a time
   * already past deletes the key, as Redis does), or DEL where the copy is missing.
   */
  async writeCopies(keys: readonly Buffer[], copies: readonly KeyCopy[]): Promise<void> {
    await this.guard(
      `RESTORE on the ${this.role}`,
      Promise.all(
        keys.map((key, i) => {
          const copy = copies[i] as KeyCopy;
          const client = this.clientForKey(key);
          if (copy.payload === null) return client.del(key);
          const ttl = Math.max(copy.expireAt, 0);
          return client.call('RESTORE', key, ttl, copy.payload, 'REPLACE', 'ABSTTL');
        }),
      ),
    );
  }

  /**
   * Like {@link writeCopies}, but only where each key is still in the state `expected` (a token
   * from {@link readForCopy} on this side): returns the indices of keys left alone because they
   * changed in between. Needs scripting.
   */
  async compareAndCopy(
    keys: readonly Buffer[],
    copies: readonly KeyCopy[],
    expected: readonly string[],
  ): Promise<number[]> {
    if (!this.lua) throw new VerifierCommandError(`the ${this.role} does not run scripts: no safe copy back`);
    const expiryFlag = this.expiryCommand === 'pexpiretime' ? '1' : '0';
    const conflicts: number[] = [];
    await Promise.all(
      [...this.route(keys)].map(async ([client, indices]) => {
        const args: (string | Buffer | number)[] = [0, expiryFlag, '0'];
        for (const i of indices) {
          const copy = copies[i] as KeyCopy;
          args.push(keys[i] as Buffer, expected[i] as string, copy.payload ?? '', String(copy.expireAt));
        }
        const reply = await this.guard(
          `RESTORE on the ${this.role}`,
          this.evalsha(client, WRITE_SCRIPTS.compareAndCopy, args),
        );
        if (reply !== '') for (const j of reply.split(',')) conflicts.push(indices[Number(j)] as number);
      }),
    );
    return conflicts;
  }

  /** Wraps a command so its failure becomes a typed, token-free error. */
  async guard<T>(context: string, promise: Promise<T>): Promise<T> {
    try {
      return await promise;
    } catch (error) {
      throw toVerifierError(error, context, [this.spec.authToken]);
    }
  }

  close(): void {
    this.seed.disconnect();
    for (const shard of this.shards) shard.client.disconnect();
  }
}

async function discoverShards(
  seed: Redis,
  spec: RedisEndpointSpec,
  connect: (node: { host: string; port: number }) => Promise<Redis>,
  role: Role,
): Promise<{ shards: Shard[]; slotOwner: Uint16Array }> {
  let ranges: unknown;
  try {
    ranges = await seed.call('CLUSTER', 'SLOTS');
  } catch (error) {
    throw new VerifierTopologyError(`cannot read the ${role}'s cluster slots`, {
      cause: sanitizeCause(error, [spec.authToken]),
    });
  }
  const byAddress = new Map<
    string,
    { host: string; port: number; firstSlot: number; ranges: [number, number][] }
  >();
  for (const entry of ranges as unknown[][]) {
    const [start, end, primary] = entry as [number, number, [string | Buffer, number, ...unknown[]]];
    const host = String(primary[0]) === '' ? spec.host : String(primary[0]);
    const port = Number(primary[1]);
    const address = `${host}:${port}`;
    const known = byAddress.get(address);
    if (known) {
      known.ranges.push([start, end]);
      known.firstSlot = Math.min(known.firstSlot, start);
    } else {
      byAddress.set(address, { host, port, firstSlot: start, ranges: [[start, end]] });
    }
  }
  const nodes = [...byAddress.values()].sort((a, b) => a.firstSlot - b.firstSlot);
  const slotOwner = new Uint16Array(SLOT_COUNT).fill(0xffff);
  nodes.forEach((node, index) => {
    for (const [start, end] of node.ranges) slotOwner.fill(index, start, end + 1);
  });
  if (slotOwner.includes(0xffff)) {
    throw new VerifierTopologyError(`the ${role}'s cluster does not cover all ${SLOT_COUNT} slots`);
  }
  const shards: Shard[] = [];
  for (const node of nodes) {
    const seedOptions = seed.options;
    const isSeed = seedOptions.host === node.host && seedOptions.port === node.port;
    shards.push({
      firstSlot: node.firstSlot,
      ranges: node.ranges,
      client: isSeed ? seed : await connect(node),
    });
  }
  return { shards, slotOwner };
}
