/**
 * A live application workload for tests, the demo and benchmarks: it writes through a CNAME at a
 * steady rate while a migration (or a test) moves the CNAME, and at the end proves that **every
 * acknowledged write is present** where the CNAME points.
 *
 * Honesty rules:
 * - A write counts as acknowledged only when Redis answered it (`OK` / an integer). A write that
 *   got an error reply is `rejected` (Redis did not apply it). A write whose reply never came
 *   (connection closed after sending, or `commandTimeoutMs` passed) has an **unknown outcome**:
 *   it is never counted as acknowledged, and its key's expectation widens to "the old or the new
 *   value" (counters: `acked ≤ actual ≤ acked + uncertain`). Nothing is ever resent.
 * - No two writes to the same key are in flight at once (a per-key lock), so "the last
 *   acknowledged write" of a key is well defined. INCRs on one counter may overlap (they commute).
 * - The client resolves the CNAME (through `dnsServer`) only when it (re)connects, as an
 *   application with cached connections does; open connections never re-resolve.
 * - {@link Workload.verify} reads every expected key back through a fresh connection to wherever
 *   the CNAME points now and reports each acknowledged write that is not there.
 *
 * Keys live under `<keyPrefix><run id>:` (see {@link Workload.keyspace}), so runs never share
 * keys. Each key has its own hash tag (`{h17}`, `{c3}`, `{i1234}` …): the slot depends only on the
 * key's identity, so in cluster mode the families spread over all slots and shards.
 */

import { randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { Cluster, type ClusterOptions, Redis, type RedisOptions, ReplyError } from 'ioredis';

/** The kinds of write the workload issues. */
export type WriteKind = 'overwrite' | 'counter' | 'insert' | 'delete' | 'expiring';

export interface WorkloadOptions {
  /** The CNAME the application follows; resolved through `dnsServer` on every (re)connect. */
  recordName: string;
  /** `host:port` of the DNS server to ask (the sandbox's `dnsServer`). */
  dnsServer: string;
  /** The Redis port (the group's port). */
  port: number;
  /**
   * Use an ioredis `Cluster` whose only startup node is the resolved address; node host names
   * that the cluster announces are resolved through the same DNS server.
   */
  clusterMode: boolean;
  /** TLS (`tls: { ca, servername }`), `password` for AUTH, `protocol` … passed to every connection. */
  redisOptions?: RedisOptions;
  /** Target rate of writes per second (token bucket shared by the writers). */
  opsPerSecond: number;
  /**
   * Relative weights of the kinds of write; kinds left out get none. `delete` falls back to
   * `insert` while nothing is deletable, `overwrite` to `counter` when every hot key is busy.
   * @default { overwrite: 40, counter: 20, insert: 20, delete: 10, expiring: 10 }
   */
  mix?: Partial<Record<WriteKind, number>>;
  /** @default 'app:' */
  keyPrefix?: string;
  /** Size of the pool of keys that `overwrite` writes SET again and again. @default 64 */
  hotKeys?: number;
  /** Number of INCR counters. @default 8 */
  counters?: number;
  /** Writers in flight at once; each awaits its reply before the next write. @default 4 */
  concurrency?: number;
  /** A write without a reply after this long has an unknown outcome. @default 30000 */
  commandTimeoutMs?: number;
  /** Reconnect (re-resolving the CNAME) when the connection is this old. @default never */
  reconnectEvery?: number;
  /**
   * Share of `expiring` writes with a short TTL (1–3 s) instead of 10 minutes; those must be gone
   * at the end once their TTL has passed (a copy must not resurrect them). @default 0.2
   */
  shortTtlShare?: number;
  /**
   * Label of the place an address belongs to (e.g. its replication group), for `byGroup`. In
   * cluster mode it is asked about the startup address (the CNAME's), so the label is the group's,
   * not the shard's. @default the address
   */
  groupOf?: (address: string) => string;
}

/** One client-side stall: no acknowledgement for `ms` from `startedAt` (epoch ms). */
export interface Stall {
  startedAt: number;
  ms: number;
}

export interface WorkloadStats {
  /** Writes attempted (including ones ioredis refused to send on a connection already down). */
  issued: number;
  /** Writes Redis answered with OK / an integer. */
  acknowledged: number;
  /** Writes with an unknown outcome (no reply: connection lost or timed out); never resent. */
  unacknowledged: number;
  /** Writes Redis answered with an error (not applied). */
  rejected: number;
  /** Every failure: unknown outcomes, rejected writes and failed (re)connects. */
  errors: number;
  /** Acknowledged writes per kind. */
  byKind: Record<WriteKind, number>;
  /** Acknowledged writes per `groupOf(address)` of the connection they went through. */
  byGroup: Record<string, number>;
  /**
   * Longest write freeze as the client saw it: the longest time from a write's issue to its
   * reply (or to giving up on it), or between two consecutive acknowledgements (start and stop
   * count as acknowledgements).
   */
  longestStallMs: number;
  /** The longest few stalls (non-overlapping), longest first. */
  stalls: Stall[];
  /** Acknowledged writes per second of running time. */
  opsPerSecondAchieved: number;
  /** Connections opened after the first one. */
  reconnects: number;
  /** The last error, without secrets. */
  lastError?: string;
}

/** An acknowledged write that is not where the CNAME points (or something that should be gone and is not). */
export interface LostWrite {
  key: string;
  /** The kind of the key's last write. */
  kind: WriteKind;
  /**
   * `missing`, `wrong-value`, `not-deleted` (an acknowledged DEL did not stick), `expiry-lost`
   * (a 10-minute key has no TTL), `resurrected` (a short-TTL key exists after its expiry),
   * `counter-out-of-range`, or `gone-before-delete` (DEL of an acknowledged insert answered 0).
   */
  problem: string;
  /** The value of the last acknowledged write (`null`: the key must not exist). */
  expected: string | null;
  /** Further values an unknown-outcome write may have left. */
  alsoAccepted?: (string | null)[];
  actual: string | null;
}

export interface CounterCheck {
  key: string;
  /** Acknowledged INCRs. */
  expected: number;
  /** INCRs with an unknown outcome: the value may be up to `expected + uncertain`. */
  uncertain: number;
  actual: number;
  ok: boolean;
}

export interface VerifyResult {
  /** Keys read back. */
  checked: number;
  lost: LostWrite[];
  counters: CounterCheck[];
  /** Short-TTL keys read too close to their expiry to say anything. */
  skipped: number;
}

const DEFAULT_MIX: Record<WriteKind, number> = {
  overwrite: 40,
  counter: 20,
  insert: 20,
  delete: 10,
  expiring: 10,
};
const LONG_TTL_MS = 600_000;
/** Clock and expiry-cycle slack around a short TTL's deadline. */
const EXPIRY_MARGIN_MS = 250;
const VERIFY_BATCH = 2_000;
const STALLS_KEPT = 5;
/** The bucket never lets writers catch up on more than this much missed time at once. */
const MAX_BACKLOG_MS = 50;
const CONNECT_TIMEOUT_MS = 5_000;

/** Expectation of one string key (`overwrite`, `insert`/`delete`, `expiring`). */
interface KeyState {
  kind: WriteKind;
  /** Value of the last acknowledged write; `null` = must not exist. */
  expected: string | null;
  /**
   * Values unknown-outcome writes may have left. Such a write might in principle apply after a
   * later acknowledged one, so these stay accepted for good (conservative: never a false loss).
   */
  maybe: (string | null)[];
  busy: boolean;
  /** A write to it was acknowledged or has an unknown outcome (else there is nothing to check). */
  written: boolean;
  ttl?: 'long' | { issuedAt: number; ackedAt: number; ttlMs: number };
}

interface CounterState {
  acked: number;
  uncertain: number;
}

interface Connection {
  client: Redis | Cluster;
  address: string;
  group: string;
  openedAt: number;
  broken: boolean;
}

interface Op {
  kind: WriteKind;
  key: string;
  run: (client: Redis | Cluster) => Promise<unknown>;
  /** Whether the reply is the acknowledgement this kind expects. */
  ok: (reply: unknown) => boolean;
  acked: (at: number) => void;
  unknown: () => void;
  /** Error reply or not sent: nothing changed. */
  released: () => void;
}

class OutcomeUnknown extends Error {}

/** ioredis rejects a command before writing it when the connection is not writable. */
function isNotSent(error: unknown): boolean {
  return error instanceof Error && /enableOfflineQueue options is false/.test(error.message);
}

/**
 * The application workload. `start()` it, let the migration run, `stop()` it, then `verify()`.
 * Every timer and socket is released by `stop()` (and by `verify()`).
 */
export class Workload {
  /** Prefix of every key of this run (`<keyPrefix><run id>:`). */
  readonly keyspace: string;
  readonly stats: WorkloadStats;

  private readonly o: Required<
    Omit<WorkloadOptions, 'redisOptions' | 'mix' | 'reconnectEvery' | 'groupOf'>
  > & {
    redisOptions: RedisOptions;
    reconnectEvery?: number;
    groupOf: (address: string) => string;
  };
  private readonly weights: [WriteKind, number][];
  private readonly totalWeight: number;
  private readonly keys = new Map<string, KeyState>();
  private readonly counters = new Map<string, CounterState>();
  /** Inserted keys whose insert was acknowledged and that are not being deleted. */
  private readonly deletable: string[] = [];
  /** Acknowledged inserts found gone when they were deleted (DEL answered 0). */
  private readonly vanished: { key: string; value: string | null }[] = [];
  private readonly hot: string[];
  private readonly counterKeys: string[];
  private sequence = 0;
  private abort?: AbortController;
  private writers: Promise<void>[] = [];
  private current?: Connection;
  private connecting?: Promise<Connection>;
  private readonly closing = new Set<Promise<void>>();
  private connectionsOpened = 0;
  private backoffMs = 0;
  private nextTokenAt = 0;
  private startedAt = 0;
  private stoppedAt = 0;
  private lastAckAt = 0;

  constructor(options: WorkloadOptions) {
    if (!(options.opsPerSecond > 0)) throw new Error('opsPerSecond must be above 0');
    this.o = {
      recordName: options.recordName,
      dnsServer: options.dnsServer,
      port: options.port,
      clusterMode: options.clusterMode,
      redisOptions: options.redisOptions ?? {},
      opsPerSecond: options.opsPerSecond,
      keyPrefix: options.keyPrefix ?? 'app:',
      hotKeys: Math.max(1, options.hotKeys ?? 64),
      counters: Math.max(1, options.counters ?? 8),
      concurrency: Math.max(1, options.concurrency ?? 4),
      commandTimeoutMs: options.commandTimeoutMs ?? 30_000,
      shortTtlShare: options.shortTtlShare ?? 0.2,
      groupOf: options.groupOf ?? ((address) => address),
      ...(options.reconnectEvery !== undefined ? { reconnectEvery: options.reconnectEvery } : {}),
    };
    const mix = options.mix ?? DEFAULT_MIX;
    this.weights = (Object.entries(mix) as [WriteKind, number][]).filter(([, w]) => w > 0);
    this.totalWeight = this.weights.reduce((sum, [, w]) => sum + w, 0);
    if (this.totalWeight <= 0) throw new Error('mix has no positive weight');
    this.keyspace = `${this.o.keyPrefix}${randomBytes(3).toString('hex')}:`;
    this.hot = Array.from({ length: this.o.hotKeys }, (_, i) => `${this.keyspace}hot:{h${i}}`);
    this.counterKeys = Array.from({ length: this.o.counters }, (_, i) => `${this.keyspace}ctr:{c${i}}`);
    for (const key of this.counterKeys) this.counters.set(key, { acked: 0, uncertain: 0 });
    this.stats = {
      issued: 0,
      acknowledged: 0,
      unacknowledged: 0,
      rejected: 0,
      errors: 0,
      byKind: { overwrite: 0, counter: 0, insert: 0, delete: 0, expiring: 0 },
      byGroup: {},
      longestStallMs: 0,
      stalls: [],
      opsPerSecondAchieved: 0,
      reconnects: 0,
    };
  }

  /** Starts the writers (no-op when running). */
  start(): void {
    if (this.abort) return;
    this.abort = new AbortController();
    this.startedAt = Date.now();
    this.lastAckAt = this.startedAt;
    this.nextTokenAt = performance.now();
    this.writers = Array.from({ length: this.o.concurrency }, () => this.writer(this.abort!.signal));
  }

  /**
   * Stops issuing writes, waits for the writes in flight (each at most `commandTimeoutMs`) and
   * closes every connection.
   */
  async stop(): Promise<void> {
    const abort = this.abort;
    if (!abort) return;
    abort.abort();
    await Promise.all(this.writers);
    this.writers = [];
    this.abort = undefined;
    this.stoppedAt = Date.now();
    this.noteStall(this.lastAckAt, this.stoppedAt);
    const seconds = (this.stoppedAt - this.startedAt) / 1000;
    this.stats.opsPerSecondAchieved = seconds > 0 ? Math.round(this.stats.acknowledged / seconds) : 0;
    await this.connecting?.catch(() => undefined);
    if (this.current) this.retire(this.current, 'quit');
    this.current = undefined;
    await Promise.all([...this.closing]);
  }

  /**
   * Stops the workload if it runs, then reads every key it wrote back through a fresh connection
   * to wherever the CNAME points now, and compares.
   */
  async verify(): Promise<VerifyResult> {
    await this.stop();
    const address = await this.resolve();
    const client = this.createClient(address);
    try {
      await this.withTimeout(client.connect(), CONNECT_TIMEOUT_MS);
      return await this.compare(client);
    } catch (error) {
      throw new Error(`verify through ${this.o.recordName} (${address}) failed: ${this.describe(error)}`);
    } finally {
      await this.close(client, 'quit');
    }
  }

  // ---- writers ---------------------------------------------------------------------------------

  private async writer(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.takeToken(signal);
      if (signal.aborted) break;
      let connection: Connection;
      try {
        connection = await this.connection(signal);
      } catch {
        // Counted and backed off in open(); try again unless stopping.
        continue;
      }
      if (signal.aborted) break;
      const op = this.pickOp();
      await this.execute(connection, op);
    }
  }

  private async takeToken(signal: AbortSignal): Promise<void> {
    const now = performance.now();
    this.nextTokenAt = Math.max(this.nextTokenAt, now - MAX_BACKLOG_MS);
    const at = this.nextTokenAt;
    this.nextTokenAt += 1000 / this.o.opsPerSecond;
    if (at - now >= 1) await sleep(at - now, signal);
  }

  private async execute(connection: Connection, op: Op): Promise<void> {
    const issuedAt = Date.now();
    this.stats.issued++;
    try {
      const reply = await this.withTimeout(op.run(connection.client), this.o.commandTimeoutMs, true);
      const ackedAt = Date.now();
      if (!op.ok(reply)) {
        // An answer that is not the acknowledgement (cannot happen with these commands): count it
        // as unknown rather than guess.
        throw new OutcomeUnknown(`unexpected reply to ${op.kind}`);
      }
      op.acked(ackedAt);
      this.stats.acknowledged++;
      this.stats.byKind[op.kind]++;
      this.stats.byGroup[connection.group] = (this.stats.byGroup[connection.group] ?? 0) + 1;
      this.noteStall(issuedAt, ackedAt);
      this.noteStall(this.lastAckAt, ackedAt);
      this.lastAckAt = Math.max(this.lastAckAt, ackedAt);
    } catch (error) {
      this.stats.errors++;
      this.stats.lastError = this.describe(error);
      if (isNotSent(error)) {
        // ioredis refused it before writing to the socket (the connection was already down).
        op.released();
        this.markBroken(connection);
      } else if (error instanceof ReplyError) {
        // Redis answered with an error: the write was not applied (READONLY, OOM, NOAUTH …).
        this.stats.rejected++;
        op.released();
        if (/^(READONLY|LOADING|MASTERDOWN|NOAUTH|WRONGPASS)/.test((error as Error).message))
          this.markBroken(connection);
      } else {
        // No reply: sent or not, applied or not, nobody knows. Never resent (see createClient).
        this.stats.unacknowledged++;
        op.unknown();
        this.noteStall(issuedAt, Date.now());
        this.markBroken(connection);
      }
    }
  }

  private pickOp(): Op {
    let roll = Math.random() * this.totalWeight;
    let kind: WriteKind = this.weights[0]![0];
    for (const [k, w] of this.weights) {
      roll -= w;
      if (roll < 0) {
        kind = k;
        break;
      }
    }
    if (kind === 'delete' && this.deletable.length === 0) kind = 'insert';
    if (kind === 'overwrite') {
      const op = this.overwriteOp();
      if (op) return op;
      kind = 'counter';
    }
    switch (kind) {
      case 'counter':
        return this.counterOp();
      case 'delete':
        return this.deleteOp();
      case 'expiring':
        return this.expiringOp();
      default:
        return this.insertOp();
    }
  }

  private value(): string {
    return `${this.keyspace}v${this.sequence++}:${Date.now()}`;
  }

  /** A string-key op under the per-key lock; `next` is the key's new value (`null`: deleted). */
  private keyOp(
    kind: WriteKind,
    key: string,
    state: KeyState,
    next: string | null,
    run: Op['run'],
    ok: Op['ok'],
    after?: { acked?: (at: number) => void; released?: () => void; replied?: (reply: unknown) => void },
  ): Op {
    state.busy = true;
    return {
      kind,
      key,
      run,
      ok: (reply) => {
        const good = ok(reply);
        if (good) after?.replied?.(reply);
        return good;
      },
      acked: (at) => {
        state.written = true;
        state.kind = kind;
        state.expected = next;
        state.busy = false;
        after?.acked?.(at);
      },
      unknown: () => {
        state.written = true;
        state.kind = kind;
        state.maybe.push(next);
        // The key keeps its lock: a later write could race the unknown one. Hot keys stay usable
        // (their later acknowledged values are still checked, the unknown value is accepted too).
        state.busy = kind === 'overwrite' ? false : state.busy;
      },
      released: () => {
        state.busy = false;
        after?.released?.();
      },
    };
  }

  private overwriteOp(): Op | undefined {
    const start = Math.floor(Math.random() * this.hot.length);
    for (let i = 0; i < this.hot.length; i++) {
      const key = this.hot[(start + i) % this.hot.length]!;
      let state = this.keys.get(key);
      if (!state) {
        state = { kind: 'overwrite', expected: null, maybe: [], busy: false, written: false };
        this.keys.set(key, state);
      }
      if (state.busy) continue;
      const value = this.value();
      return this.keyOp(
        'overwrite',
        key,
        state,
        value,
        (c) => c.set(key, value),
        (r) => r === 'OK',
      );
    }
    return undefined;
  }

  private insertOp(): Op {
    const key = `${this.keyspace}ins:{i${this.sequence}}`;
    const value = this.value();
    const state: KeyState = { kind: 'insert', expected: null, maybe: [], busy: false, written: false };
    this.keys.set(key, state);
    return this.keyOp(
      'insert',
      key,
      state,
      value,
      (c) => c.set(key, value),
      (r) => r === 'OK',
      { acked: () => this.deletable.push(key) },
    );
  }

  private deleteOp(): Op {
    const index = Math.floor(Math.random() * this.deletable.length);
    const key = this.deletable[index]!;
    this.deletable[index] = this.deletable[this.deletable.length - 1]!;
    this.deletable.pop();
    const state = this.keys.get(key)!;
    return this.keyOp(
      'delete',
      key,
      state,
      null,
      (c) => c.del(key),
      (r) => r === 0 || r === 1,
      {
        released: () => this.deletable.push(key),
        // DEL answered 0: the acknowledged insert was already gone before the delete.
        replied: (r) => {
          if (r === 0) this.vanished.push({ key, value: state.expected });
        },
      },
    );
  }

  private expiringOp(): Op {
    const short = Math.random() < this.o.shortTtlShare;
    const key = `${this.keyspace}${short ? 'tmp' : 'exp'}:{e${this.sequence}}`;
    const ttlMs = short ? 1_000 + Math.floor(Math.random() * 2_000) : LONG_TTL_MS;
    const value = this.value();
    const issuedAt = Date.now();
    const state: KeyState = { kind: 'expiring', expected: null, maybe: [], busy: false, written: false };
    this.keys.set(key, state);
    return this.keyOp(
      'expiring',
      key,
      state,
      value,
      (c) => c.set(key, value, 'PX', ttlMs),
      (r) => r === 'OK',
      {
        acked: (at) => {
          state.ttl = short ? { issuedAt, ackedAt: at, ttlMs } : 'long';
        },
      },
    );
  }

  private counterOp(): Op {
    const key = this.counterKeys[Math.floor(Math.random() * this.counterKeys.length)]!;
    const state = this.counters.get(key)!;
    return {
      kind: 'counter',
      key,
      run: (c) => c.incr(key),
      ok: (r) => typeof r === 'number',
      acked: () => {
        state.acked++;
      },
      unknown: () => {
        state.uncertain++;
      },
      released: () => {},
    };
  }

  // ---- connections -----------------------------------------------------------------------------

  private async connection(signal: AbortSignal): Promise<Connection> {
    const current = this.current;
    if (current && !current.broken) {
      const expired =
        this.o.reconnectEvery !== undefined && Date.now() - current.openedAt >= this.o.reconnectEvery;
      if (!expired && current.client.status === 'ready') return current;
      // Planned reconnect: writes in flight finish on the old connection, QUIT closes it after them.
      this.current = undefined;
      this.retire(current, expired ? 'quit' : 'disconnect');
    }
    this.connecting ??= this.open(signal).finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(signal: AbortSignal): Promise<Connection> {
    if (this.backoffMs > 0) await sleep(this.backoffMs, signal);
    if (signal.aborted) throw new Error('stopped');
    let client: Redis | Cluster | undefined;
    try {
      const address = await this.resolve();
      client = this.createClient(address);
      await this.withTimeout(client.connect(), CONNECT_TIMEOUT_MS);
      const connection: Connection = {
        client,
        address,
        group: this.o.groupOf(address),
        openedAt: Date.now(),
        broken: false,
      };
      const watched = client;
      watched.once('end', () => this.markBroken(connection));
      if (this.connectionsOpened++ > 0) this.stats.reconnects++;
      this.backoffMs = 0;
      if (signal.aborted) {
        this.retire(connection, 'quit');
        throw new Error('stopped');
      }
      this.current = connection;
      return connection;
    } catch (error) {
      if (client) await this.close(client, 'disconnect');
      if (!signal.aborted) {
        this.stats.errors++;
        this.stats.lastError = this.describe(error);
      }
      this.backoffMs = Math.min(1_000, Math.max(25, this.backoffMs * 2));
      throw error;
    }
  }

  private markBroken(connection: Connection): void {
    if (connection.broken) return;
    connection.broken = true;
    if (this.current === connection) this.current = undefined;
    this.retire(connection, 'disconnect');
  }

  private retire(connection: Connection, how: 'quit' | 'disconnect'): void {
    connection.broken = true;
    const closing = this.close(connection.client, how);
    this.closing.add(closing);
    void closing.finally(() => this.closing.delete(closing));
  }

  private async close(client: Redis | Cluster, how: 'quit' | 'disconnect'): Promise<void> {
    if (how === 'quit' && client.status === 'ready') {
      try {
        await this.withTimeout(client.quit(), this.o.commandTimeoutMs);
        return;
      } catch {
        // fall through
      }
    }
    client.disconnect();
  }

  private async resolve(): Promise<string> {
    const resolver = new Resolver({ timeout: 1_000, tries: 2 });
    resolver.setServers([this.o.dnsServer]);
    let addresses: string[];
    try {
      addresses = await resolver.resolve4(this.o.recordName);
    } catch (error) {
      throw new Error(`cannot resolve ${this.o.recordName}: ${(error as NodeJS.ErrnoException).code}`);
    }
    const [address] = addresses;
    if (!address) throw new Error(`${this.o.recordName} resolves to no address`);
    return address;
  }

  /**
   * A client that never sends a write twice:
   * - `autoResendUnfulfilledCommands: false`, `maxRetriesPerRequest: 0`, no reconnect of its own
   *   (`retryStrategy: () => null`): a command sent before a connection dropped may or may not
   *   have been applied; resending it could apply it twice (an INCR counted once would add two),
   *   so it fails instead and the workload records its outcome as unknown, then reconnects itself
   *   after resolving the CNAME again.
   * - `enableOfflineQueue: false` (standalone): nothing is queued while disconnected.
   * - Cluster: `retryDelayOnFailover: 0` turns off ioredis's resend after "Connection is closed"
   *   (the same double-apply risk). Redirections stay on: MOVED / ASK / TRYAGAIN / CLUSTERDOWN are
   *   replies to commands Redis did not execute, so following them cannot apply a write twice.
   *   `clusterRetryStrategy: () => null`: when the cluster loses its nodes it ends and the
   *   workload reconnects through the CNAME. Node connections never reconnect on their own
   *   (ioredis's default without `clusterNodeRetryStrategy`).
   */
  private createClient(address: string): Redis | Cluster {
    const {
      retryStrategy: _r,
      enableOfflineQueue: _q,
      readOnly: _ro,
      sentinels: _s,
      ...rest
    } = this.o.redisOptions as RedisOptions & { readOnly?: boolean };
    const safe = {
      ...rest,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      reconnectOnError: null,
      connectTimeout: CONNECT_TIMEOUT_MS,
    } satisfies RedisOptions;
    let client: Redis | Cluster;
    if (this.o.clusterMode) {
      const dns = new Resolver({ timeout: 1_000, tries: 2 });
      dns.setServers([this.o.dnsServer]);
      const options: ClusterOptions = {
        redisOptions: safe,
        lazyConnect: true,
        // Needed in cluster mode: without it ioredis fails every command addressed to a node
        // whose connection is still opening (node connections open lazily, on first use). The
        // workload only issues writes while the cluster is `ready`, so nothing waits in this
        // queue across a reconnect; a queued command failed by a lost node counts as unknown.
        enableOfflineQueue: true,
        clusterRetryStrategy: () => null,
        retryDelayOnFailover: 0,
        slotsRefreshTimeout: CONNECT_TIMEOUT_MS,
        dnsLookup: (hostname, callback) => {
          dns.resolve4(hostname).then(
            (a) => (a[0] ? callback(null, a[0], 4) : callback(new Error(`${hostname}: no address`), '')),
            (error: NodeJS.ErrnoException) => callback(error, ''),
          );
        },
      };
      client = new Cluster([{ host: address, port: this.o.port }], options);
    } else {
      client = new Redis({
        ...safe,
        host: address,
        port: this.o.port,
        enableOfflineQueue: false,
        retryStrategy: () => null,
      });
    }
    client.on('error', (error: Error) => {
      this.stats.lastError = this.describe(error);
    });
    return client;
  }

  // ---- verification ----------------------------------------------------------------------------

  private async compare(client: Redis | Cluster): Promise<VerifyResult> {
    const lost: LostWrite[] = [];
    let skipped = 0;
    const entries = [...this.keys].filter(([, s]) => s.written);
    const timeout = this.o.commandTimeoutMs;
    for (let i = 0; i < entries.length; i += VERIFY_BATCH) {
      const batch = entries.slice(i, i + VERIFY_BATCH);
      const sentAt = Date.now();
      // Commands of one batch go out back to back on the connection(s) (pipelined) and are
      // routed per slot by the Cluster client.
      const replies = await this.withTimeout(
        Promise.all(
          batch.map(async ([key, state]) => {
            const get = client.get(key).catch((error: Error) => {
              if (error instanceof ReplyError && error.message.startsWith('WRONGTYPE'))
                return '<not a string>';
              throw error;
            });
            const pttl = state.ttl === 'long' ? client.pttl(key) : Promise.resolve(undefined);
            return Promise.all([get, pttl]);
          }),
        ),
        timeout,
      );
      const doneAt = Date.now();
      batch.forEach(([key, state], j) => {
        const [actual, pttl] = replies[j]!;
        const report = (problem: string) =>
          lost.push({
            key,
            kind: state.kind,
            problem,
            expected: state.expected,
            ...(state.maybe.length > 0 ? { alsoAccepted: [...new Set(state.maybe)] } : {}),
            actual,
          });
        if (typeof state.ttl === 'object') {
          // Short TTL: expired at a moment between issue + ttl and acknowledgement + ttl.
          const { issuedAt, ackedAt, ttlMs } = state.ttl;
          if (doneAt < issuedAt + ttlMs - EXPIRY_MARGIN_MS) {
            if (actual !== state.expected) report(actual === null ? 'missing' : 'wrong-value');
          } else if (sentAt > ackedAt + ttlMs + EXPIRY_MARGIN_MS) {
            if (actual !== null) report('resurrected');
          } else skipped++;
          return;
        }
        if (state.ttl === undefined && state.expected === null && state.kind === 'expiring') {
          // A short-TTL write with an unknown outcome: no claim either way.
          if (state.maybe.length > 0 && key.startsWith(`${this.keyspace}tmp:`)) {
            skipped++;
            return;
          }
        }
        const accepted = actual === state.expected || state.maybe.includes(actual);
        if (!accepted) {
          report(state.expected === null ? 'not-deleted' : actual === null ? 'missing' : 'wrong-value');
          return;
        }
        if (state.ttl === 'long' && actual === state.expected && actual !== null && !(Number(pttl) > 0))
          report('expiry-lost');
      });
    }
    for (const { key, value } of this.vanished)
      lost.push({ key, kind: 'insert', problem: 'gone-before-delete', expected: value, actual: null });
    const counterKeys = [...this.counters.keys()];
    const values = await this.withTimeout(
      Promise.all(counterKeys.map((key) => client.get(key).catch(() => 'NaN'))),
      timeout,
    );
    const counters = counterKeys.map((key, i): CounterCheck => {
      const { acked, uncertain } = this.counters.get(key)!;
      const raw = values[i];
      const actual = raw === null || raw === undefined ? 0 : Number(raw);
      const ok = actual >= acked && actual <= acked + uncertain;
      if (!ok) {
        lost.push({
          key,
          kind: 'counter',
          problem: 'counter-out-of-range',
          expected: String(acked),
          ...(uncertain > 0 ? { alsoAccepted: [`${acked}..${acked + uncertain}`] } : {}),
          actual: raw ?? null,
        });
      }
      return { key, expected: acked, uncertain, actual, ok };
    });
    return { checked: entries.length + counterKeys.length, lost, counters, skipped };
  }

  // ---- helpers ---------------------------------------------------------------------------------

  /** Records a stall candidate `[from, to]`; keeps the longest few, dropping overlaps. */
  private noteStall(from: number, to: number): void {
    const ms = to - from;
    if (ms > this.stats.longestStallMs) this.stats.longestStallMs = ms;
    const threshold = Math.max(100, 3_000 / this.o.opsPerSecond);
    if (ms < threshold) return;
    const stalls = this.stats.stalls;
    const overlapping = stalls.filter((s) => s.startedAt < to && from < s.startedAt + s.ms);
    if (overlapping.some((s) => s.ms >= ms)) return;
    const kept = stalls.filter((s) => !overlapping.includes(s));
    kept.push({ startedAt: from, ms });
    kept.sort((a, b) => b.ms - a.ms);
    this.stats.stalls = kept.slice(0, STALLS_KEPT);
  }

  /** The error's message without the password (it never belongs in a log or a report). */
  private describe(error: unknown): string {
    let text = error instanceof Error ? error.message : String(error);
    const password = this.o.redisOptions.password;
    if (password) text = text.split(password).join('***');
    return text;
  }

  private withTimeout<T>(promise: Promise<T>, ms: number, unknownOutcome = false): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            unknownOutcome
              ? new OutcomeUnknown(`no reply within ${ms} ms`)
              : new Error(`timed out after ${ms} ms`),
          ),
        ms,
      );
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}

/** Sleeps `ms`, or less when `signal` aborts (never rejects). */
async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleepFor(ms, undefined, { signal });
  } catch {
    // aborted
  }
}
