/**
 * The data verifier: proves that a target replication group holds the same data as its source.
 *
 * Algorithm (facts from docs/aws-behaviour.md, "Data verification"):
 * 1. Forward pass. SCAN every database 0–15 of the source (cluster mode disabled) or every
 *    primary shard (enabled; database 0 only). DBSIZE proves nothing, so every key is compared.
 *    The SCAN runs in a script that returns the batch's keys packed in one buffer, which the
 *    Lambda hands to the target as it is: no key is decoded or encoded on the way.
 * 2. Fast path, per batch: each side's script takes, per key, the DUMP payload and the absolute
 *    expiry (PEXPIRETIME; RDB restores keep absolute expiry times) and returns one SHA-1 over all
 *    of them, in key order. Equal batch digests prove every key of the batch equal in type,
 *    value and expiry. DEBUG DIGEST is blocked on ElastiCache; EVAL is not. A batch whose digests
 *    differ is asked again for one token per key (SHA-1 of the DUMP and expiry), and when most
 *    batches differ (live writes) per-key tokens are asked for at once. Without Lua the tokens
 *    come from pipelined DUMP + PEXPIRETIME.
 * 3. Different DUMP bytes prove nothing: hashtable-encoded hashes and sets DUMP differently for
 *    equal contents (~10% of keys), and encodings can change in a restore. Small ones are
 *    digested in the script from their sorted contents; big ones come back with their DUMP
 *    payloads, whose encoded elements are compared as sets here (rdb.ts). Keys that do not
 *    settle (too big, streams, one side missing, really different) get a canonical content
 *    digest computed server-side, or are read by contents in the Lambda, big keys in chunks,
 *    reduced to encoding-free fingerprints.
 * 4. Keys still different are observed again, `recheckRounds` times at least
 *    `recheckIntervalMs` apart, on connections of their own while the passes go on. A key whose
 *    state moved between observations (or that vanished from the side that listed it) changed
 *    during the check and is reported apart from real differences; one equal on a later look is
 *    resolved.
 * 5. Reverse pass. SCAN the target and look each key up on the source (multi-key EXISTS in a
 *    script, keys packed as in the forward pass): keys only on the target are invisible to a
 *    source-driven scan. It runs alongside the forward pass on connections of its own, which
 *    balances the work of the two servers (the source digests while the target scans).
 * 6. Resumable: when the time budget runs out the call finishes its re-check rounds and returns a
 *    small cursor (per pass: unit and SCAN cursor; the report so far); no key names travel in it.
 */
import type { Redis } from 'ioredis';
// Named imports keep the bundle small (see lambdas/migration/input.ts).
import {
  array,
  boolean,
  enum as enumOf,
  literal,
  number,
  object,
  string,
  union,
  unknown,
  type ZodError,
} from 'zod';

const z = { array, boolean, enum: enumOf, literal, number, object, string, union, unknown };

import {
  type ComparisonOptions,
  compareObservations,
  finalKind,
  isProof,
  MISSING_TOKEN,
  observeSuspect,
  type Suspect,
  sameUnordered,
} from './compare.js';
import {
  type BatchDigest,
  createIoredisClient,
  Endpoint,
  type RedisClientFactory,
  sameBatchDigest,
  unpackKeys,
} from './connection.js';
import { observeKeys } from './contents.js';
import { VerifierCursorError, VerifierInputError } from './errors.js';
import { sameUnorderedPayloads } from './rdb.js';
import { emptyReport, failingKinds, recordDifference, verdictOf } from './report.js';
import {
  DIFFERENCE_KINDS,
  type PassPosition,
  type VerifierCursor,
  type VerifierInput,
  type VerifierPolicy,
  type VerifierReport,
  type VerifierResult,
  type VerifierTuning,
} from './types.js';

export interface VerifierDependencies {
  /** Creates the Redis clients. @default {@link createIoredisClient} */
  readonly clientFactory?: RedisClientFactory;
  /** Clock for the time budget. @default Date.now */
  readonly now?: () => number;
  /**
   * The catch-up's seam: keys found different (after the content comparison, both directions)
   * are handed here instead of being re-checked and reported, with the connections of the pass
   * that found them (their database selected). The walk waits for it, so a repaired batch is
   * done before the pass moves on.
   */
  readonly repair?: (found: RepairBatch) => Promise<void>;
}

/** Keys that differ, for {@link VerifierDependencies.repair}. */
export interface RepairBatch {
  readonly db: number;
  readonly keys: Buffer[];
  readonly source: Endpoint;
  readonly target: Endpoint;
}

type Tuning = Required<VerifierTuning>;

const DEFAULT_TUNING: Tuning = {
  batchSize: 1000,
  concurrency: 8,
  recheckRounds: 2,
  recheckIntervalMs: 500,
  chunkSize: 1000,
  scriptDigestMaxElements: 5000,
  sampleSize: 1000,
  expiryToleranceMs: 0,
  expiryGraceMs: 2000,
  fastPath: 'auto',
  expiryCommand: 'auto',
  databases: 16,
  maxKeysPerSecond: Number.POSITIVE_INFINITY,
};

/** Hashtable hashes and sets up to this size are sorted and digested by the server script. */
const SMALL_UNORDERED_IN_SCRIPT = 32;
const N = 'N'.charCodeAt(0);
const START: PassPosition = { unit: 0, scanCursor: '0' };

/** Least expiry tolerance when expiry times are derived from PTTL and the server clock. */
const PTTL_MIN_TOLERANCE_MS = 25;

/** Suspects kept in memory before a re-check round is forced mid-call. */
const MAX_SUSPECTS = 10_000;

const endpointSchema = z.object({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  tls: z.boolean(),
  caPem: z.string().optional(),
  servername: z.string().optional(),
  authToken: z.string().min(1).optional(),
  username: z.string().min(1).optional(),
  clusterMode: z.boolean(),
});
const kindSchema = z.enum(DIFFERENCE_KINDS);
const inputSchema = z.object({
  source: endpointSchema,
  target: endpointSchema,
  mode: z.enum(['full', 'sample']).optional(),
  policy: z
    .object({
      writesFrozen: z.boolean(),
      allowedKinds: z.array(kindSchema).optional(),
      maxFailingKeys: z.number().int().min(0).optional(),
    })
    .optional(),
  cursor: z.unknown().optional(),
  timeBudgetMs: z.number().positive(),
  revealKeyNames: z.boolean().optional(),
  tuning: z
    .object({
      batchSize: z.number().int().min(1).max(100_000).optional(),
      concurrency: z.number().int().min(1).max(64).optional(),
      recheckRounds: z.number().int().min(0).max(20).optional(),
      recheckIntervalMs: z.number().int().min(0).optional(),
      chunkSize: z.number().int().min(1).optional(),
      scriptDigestMaxElements: z.number().int().min(0).optional(),
      sampleSize: z.number().int().min(1).optional(),
      expiryToleranceMs: z.number().min(0).optional(),
      expiryGraceMs: z.number().min(0).optional(),
      fastPath: z.enum(['auto', 'lua', 'dump']).optional(),
      expiryCommand: z.enum(['auto', 'pexpiretime', 'pttl']).optional(),
      databases: z.number().int().min(1).max(16_384).optional(),
      maxKeysPerSecond: z.number().positive().optional(),
    })
    .optional(),
});
const countsSchema = z.object(Object.fromEntries(DIFFERENCE_KINDS.map((k) => [k, z.number().int().min(0)])));
const examplesSchema = z.object(Object.fromEntries(DIFFERENCE_KINDS.map((k) => [k, z.array(z.string())])));
const positionSchema = z.union([
  z.literal('done'),
  z.object({
    unit: z.number().int().min(0),
    shardFirstSlot: z.number().int().min(0).max(16383).optional(),
    order: z.array(z.number().int().min(0)).optional(),
    scanCursor: z.string().regex(/^\d+$/),
  }),
]);
const cursorSchema = z.object({
  version: z.literal(1),
  mode: z.enum(['full', 'sample']),
  forward: positionSchema,
  reverse: positionSchema,
  report: z.object({
    mode: z.enum(['full', 'sample']),
    keysChecked: z.number().int().min(0),
    targetKeysScanned: z.number().int().min(0),
    counts: countsSchema,
    examples: examplesSchema,
    keyNamesRevealed: z.boolean(),
    info: z.object({
      comparedByContents: z.number().int().min(0),
      comparedInChunks: z.number().int().min(0),
      resolvedOnRecheck: z.number().int().min(0),
      expiredDuringCheck: z.number().int().min(0),
      uncomparable: z.number().int().min(0),
    }),
    calls: z.number().int().min(0),
    elapsedMs: z.number().min(0),
  }),
});

function describeIssues(error: ZodError): string {
  // Paths and messages only: input values (the AUTH token among them) never reach the message.
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
}

/**
 * Runs (or continues) a check within `timeBudgetMs`. Call again with the returned cursor until
 * `done`; then `verdict` says whether the data is equal under the policy.
 */
export async function verify(
  input: VerifierInput,
  dependencies: VerifierDependencies = {},
): Promise<VerifierResult> {
  const now = dependencies.now ?? Date.now;
  const startedAt = now();
  const parsed = inputSchema.safeParse(input);
  if (!parsed.success)
    throw new VerifierInputError(`invalid verifier input: ${describeIssues(parsed.error)}`);
  const mode = input.mode ?? 'full';
  const policy: VerifierPolicy = input.policy ?? { writesFrozen: true };
  const tuning: Tuning = { ...DEFAULT_TUNING, ...input.tuning };
  if (input.source.clusterMode !== input.target.clusterMode) {
    throw new VerifierInputError('source and target must both have cluster mode enabled, or both disabled');
  }
  let cursor: VerifierCursor | undefined;
  if (input.cursor !== undefined) {
    const parsedCursor = cursorSchema.safeParse(input.cursor);
    if (!parsedCursor.success) {
      throw new VerifierCursorError(`invalid verifier cursor: ${describeIssues(parsedCursor.error)}`);
    }
    cursor = structuredClone(input.cursor);
    if (cursor.mode !== mode)
      throw new VerifierCursorError(`the cursor belongs to a ${cursor.mode} check, not ${mode}`);
    for (const position of [cursor.forward, cursor.reverse]) {
      // A scan order that skipped a database would let its keys go unchecked.
      const order = position === 'done' ? undefined : position.order;
      if (order && [...order].sort((a, b) => a - b).join() !== Array.from(order, (_, i) => i).join()) {
        throw new VerifierCursorError(`the cursor's scan order is not databases 0 to ${order.length - 1}`);
      }
      if (order && order.length !== tuning.databases) {
        throw new VerifierCursorError(
          `the cursor's scan order has ${order.length} databases, the check ${tuning.databases}`,
        );
      }
    }
  }

  const factory = dependencies.clientFactory ?? createIoredisClient;
  const endpointOptions = { expiryCommand: tuning.expiryCommand, fastPath: tuning.fastPath };
  // Three connections per side: the forward pass, the reverse pass and the re-checks. The first
  // of each side probes the engine (PEXPIRETIME, scripts); the others take what it found.
  const endpoints: Endpoint[] = [];
  const openAll = async (open: (role: 'source' | 'target') => Promise<Endpoint>[]): Promise<void> => {
    const opened = await Promise.allSettled([...open('source'), ...open('target')]);
    for (const result of opened) if (result.status === 'fulfilled') endpoints.push(result.value);
    const failure = opened.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure) {
      for (const endpoint of endpoints) endpoint.close();
      throw failure.reason;
    }
  };
  const specOf = (role: 'source' | 'target') => (role === 'source' ? input.source : input.target);
  await openAll((role) => [Endpoint.open(role, specOf(role), factory, endpointOptions)]);
  const [source, target] = endpoints as [Endpoint, Endpoint];
  await openAll((role) =>
    [1, 2].map(() =>
      Endpoint.open(role, specOf(role), factory, {
        ...endpointOptions,
        like: role === 'source' ? source : target,
      }),
    ),
  );
  const [reverseSource, recheckSource, reverseTarget, recheckTarget] = endpoints.slice(2) as [
    Endpoint,
    Endpoint,
    Endpoint,
    Endpoint,
  ];
  try {
    const report = cursor?.report ?? emptyReport(mode, input.revealKeyNames ?? false);
    const check = new Check(
      { source, target, reverseSource, reverseTarget, recheckSource, recheckTarget },
      tuning,
      report,
      mode,
      dependencies.repair,
    );
    const reserveMs = tuning.recheckRounds * tuning.recheckIntervalMs + 1000;
    const deadline = startedAt + Math.max(0, input.timeBudgetMs - reserveMs);
    const positions = await check.run(cursor, () => now() >= deadline);
    report.calls++;
    report.elapsedMs += now() - startedAt;
    if (positions.forward !== 'done' || positions.reverse !== 'done') {
      return { done: false, cursor: { version: 1, mode, ...positions, report }, report };
    }
    const failing = failingKinds(report, policy);
    return { done: true, report, verdict: verdictOf(report, policy), failingKinds: failing };
  } finally {
    for (const endpoint of endpoints) endpoint.close();
  }
}

interface Endpoints {
  readonly source: Endpoint;
  readonly target: Endpoint;
  /** Connections of the reverse pass (it runs alongside the forward pass, maybe in another db). */
  readonly reverseSource: Endpoint;
  readonly reverseTarget: Endpoint;
  /** Connections of the re-check rounds (they run alongside both passes). */
  readonly recheckSource: Endpoint;
  readonly recheckTarget: Endpoint;
}

/** A key still different after its content comparison, and when to look at it again. */
interface Pending {
  readonly suspect: Suspect;
  /** Re-check rounds done so far. */
  rounds: number;
  /** Not observed again before this time (ms since the epoch). */
  dueAt: number;
}

type Pass = 'forward' | 'reverse';

/** Keys packed by the scanning side's script, for `peer` (the node of the other side holding them all). */
interface PackedBatch {
  readonly packed: Buffer;
  readonly count: number;
  readonly peer: Redis;
  /** The source's batch digest (forward pass, when batch digests are in use). */
  readonly digest?: BatchDigest | undefined;
}

/** One unit of work of a pass: keys read by SCAN (or RANDOMKEY), packed or not. */
type Batch = { readonly keys: Buffer[] } | PackedBatch;

/** One call's worth of work on a check. */
class Check {
  /** Keys awaiting their re-check rounds, by database and name. */
  private readonly suspects = new Map<string, Pending>();
  /** Wakes the re-check loop when it waits for suspects (or for the passes to end). */
  private wake: (() => void) | undefined;
  private readonly batchDigests = { tried: 0, differed: 0 };
  private readonly comparison: ComparisonOptions;
  private readonly source: Endpoint;
  private readonly target: Endpoint;

  constructor(
    private readonly endpoints: Endpoints,
    private readonly tuning: Tuning,
    private readonly report: VerifierReport,
    private readonly mode: 'full' | 'sample',
    private readonly repair?: (found: RepairBatch) => Promise<void>,
  ) {
    this.source = endpoints.source;
    this.target = endpoints.target;
    // PTTL + TIME are read apart, so derived expiry times jitter by a few ms between reads.
    const usesPttl = this.source.expiryCommand === 'pttl' || this.target.expiryCommand === 'pttl';
    this.comparison = {
      expiryToleranceMs: Math.max(tuning.expiryToleranceMs, usesPttl ? PTTL_MIN_TOLERANCE_MS : 0),
      expiryGraceMs: tuning.expiryGraceMs,
    };
  }

  /**
   * Runs both passes from where the cursor left them until both are done or time is up (or
   * too many suspects wait for their re-check). Returns where each pass stands.
   */
  async run(
    from: VerifierCursor | undefined,
    outOfTime: () => boolean,
  ): Promise<{ forward: PassPosition | 'done'; reverse: PassPosition | 'done' }> {
    let rechecksFailed = false;
    const stop = (): boolean => outOfTime() || rechecksFailed || this.suspects.size >= MAX_SUSPECTS;
    const passes = { over: false, failed: false };
    const rechecks = this.recheckLoop(passes);
    // Awaited below; a failure stops the passes at once rather than when they are over.
    rechecks.catch(() => {
      rechecksFailed = true;
    });
    try {
      const [forward, reverse] = await Promise.all([
        this.runPass('forward', from?.forward ?? (await this.start(this.endpoints.source)), stop),
        this.runPass('reverse', from?.reverse ?? (await this.start(this.endpoints.reverseTarget)), stop),
      ]);
      passes.over = true;
      this.wake?.();
      await rechecks;
      return { forward, reverse };
    } catch (error) {
      passes.over = true;
      passes.failed = true;
      this.wake?.();
      await rechecks.catch(() => {});
      throw error;
    }
  }

  /**
   * Where a new pass starts: with cluster mode disabled, smallest databases first (INFO
   * keyspace), so that the re-checks of differences found in small databases run while the big
   * ones are scanned instead of after them.
   */
  private async start(scanned: Endpoint): Promise<PassPosition> {
    const sizes = this.mode === 'full' ? await scanned.databaseSizes(this.tuning.databases) : undefined;
    if (!sizes) return START;
    const order = sizes
      .map((_, db) => db)
      .sort((a, b) => (sizes[a] as number) - (sizes[b] as number) || a - b);
    return { ...START, order };
  }

  /**
   * The re-check rounds, run alongside the passes: each suspect is observed again
   * `recheckRounds` times, at least `recheckIntervalMs` apart, then settled or reported. So
   * only the suspects found last are waited for once the passes are over.
   */
  private async recheckLoop(passes: { readonly over: boolean; readonly failed: boolean }): Promise<void> {
    for (;;) {
      if (passes.failed) return;
      if (this.suspects.size === 0) {
        if (passes.over) return;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
        continue;
      }
      const now = Date.now();
      let nextDue = Number.POSITIVE_INFINITY;
      const due: [string, Pending][] = [];
      for (const entry of this.suspects) {
        if (entry[1].dueAt <= now) due.push(entry);
        else nextDue = Math.min(nextDue, entry[1].dueAt);
      }
      if (due.length === 0) await sleep(nextDue - now);
      else await this.observeAgain(due);
    }
  }

  /** One more observation of each given suspect; reports those whose rounds are over. */
  private async observeAgain(due: readonly [string, Pending][]): Promise<void> {
    const { recheckSource: source, recheckTarget: target } = this.endpoints;
    const byDb = new Map<number, [string, Pending][]>();
    for (const entry of due) {
      const list = byDb.get(entry[1].suspect.db);
      if (list) list.push(entry);
      else byDb.set(entry[1].suspect.db, [entry]);
    }
    for (const [db, entries] of byDb) {
      await Promise.all([source.selectDb(db), target.selectDb(db)]);
      for (let i = 0; i < entries.length; i += this.tuning.batchSize) {
        const chunk = entries.slice(i, i + this.tuning.batchSize);
        const keys = chunk.map(([, pending]) => pending.suspect.key);
        const [sourceObs, targetObs] = await Promise.all([
          observeKeys(source, keys, this.tuning.chunkSize),
          observeKeys(target, keys, this.tuning.chunkSize),
        ]);
        const observedAt = Date.now();
        chunk.forEach(([id, pending], j) => {
          const update = observeSuspect(
            pending.suspect,
            sourceObs[j] as (typeof sourceObs)[number],
            targetObs[j] as (typeof targetObs)[number],
            this.comparison,
          );
          pending.rounds++;
          pending.dueAt = observedAt + this.tuning.recheckIntervalMs;
          if (update.settled !== undefined) {
            this.suspects.delete(id);
            if (update.settled === 'expiring') this.report.info.expiredDuringCheck++;
            else this.report.info.resolvedOnRecheck++;
          } else if (pending.rounds >= this.tuning.recheckRounds) {
            this.suspects.delete(id);
            this.conclude(pending.suspect);
          }
        });
      }
    }
  }

  /** Reports a suspect whose observations are over. */
  private conclude(suspect: Suspect): void {
    const kind = finalKind(suspect);
    if (kind === 'value' && !suspect.source.comparable) this.report.info.uncomparable++;
    recordDifference(this.report, kind, suspect.db, suspect.key);
  }

  private async runPass(
    pass: Pass,
    from: PassPosition | 'done',
    stop: () => boolean,
  ): Promise<PassPosition | 'done'> {
    if (from === 'done') return 'done';
    const scanned = pass === 'forward' ? this.endpoints.source : this.endpoints.reverseTarget;
    const other = pass === 'forward' ? this.endpoints.target : this.endpoints.reverseSource;
    let unit = from.shardFirstSlot !== undefined ? scanned.unitOfFirstSlot(from.shardFirstSlot) : from.unit;
    let scanCursor = from.scanCursor;
    let progressed = false;
    const units = scanned.unitCount(this.tuning.databases);
    const rate = this.tuning.maxKeysPerSecond;
    const batchSize = Number.isFinite(rate)
      ? Math.max(1, Math.min(this.tuning.batchSize, Math.ceil(rate / 10)))
      : this.tuning.batchSize;
    const paced = { since: Date.now(), keys: 0 };
    for (; unit < units; unit++, scanCursor = '0') {
      const db = from.order?.[unit] ?? scanned.dbOfUnit(unit);
      await Promise.all([scanned.selectDb(db), other.selectDb(db)]);
      // Keys travel packed, server to server through the Lambda, when scripts run on both sides
      // and one node of `other` holds every key this unit can hold.
      const peer =
        this.mode === 'full' && scanned.lua && other.lua ? other.soleClientFor(scanned, unit) : undefined;
      const inflight: Promise<void>[] = [];
      try {
        do {
          if (progressed && stop()) {
            await Promise.all(inflight.splice(0));
            const shardFirstSlot = scanned.shardFirstSlot(unit);
            return {
              unit,
              scanCursor,
              ...(shardFirstSlot !== undefined ? { shardFirstSlot } : {}),
              ...(from.order ? { order: from.order } : {}),
            };
          }
          let batches: Batch[];
          if (this.mode === 'sample') {
            batches = slices(await scanned.randomKeys(unit, this.tuning.sampleSize), batchSize);
            scanCursor = '0';
          } else if (peer) {
            const step = await scanned.scanPacked(unit, scanCursor, batchSize, {
              digest: pass === 'forward' && this.useBatchDigests(),
              smallUnordered: SMALL_UNORDERED_IN_SCRIPT,
            });
            scanCursor = step.cursor;
            batches = step.count === 0 ? [] : [{ ...step, peer }];
          } else {
            let keys: Buffer[];
            ({ keys, cursor: scanCursor } = await scanned.scan(unit, scanCursor, batchSize));
            batches = slices(keys, batchSize);
          }
          progressed = true;
          for (const batch of batches) {
            const work = pass === 'forward' ? this.forwardBatch(batch, db) : this.reverseBatch(batch, db);
            work.catch(() => {}); // awaited below; this keeps an early failure from going unhandled
            inflight.push(work);
            if (inflight.length >= this.tuning.concurrency) await inflight.shift();
            paced.keys += 'keys' in batch ? batch.keys.length : batch.count;
          }
          await this.pace(paced);
        } while (scanCursor !== '0');
        await Promise.all(inflight.splice(0));
      } finally {
        await Promise.allSettled(inflight);
      }
    }
    return 'done';
  }

  /**
   * Waits until the pass is back under `maxKeysPerSecond`. Even when time is up: a call that
   * skipped it would let a check cut into many short calls run unthrottled. Batches of a tenth
   * of the rate keep each wait near 100 ms, well within the time kept in reserve.
   */
  private async pace(paced: { readonly since: number; readonly keys: number }): Promise<void> {
    const rate = this.tuning.maxKeysPerSecond;
    if (!Number.isFinite(rate)) return;
    await sleep(paced.since + (paced.keys / rate) * 1000 - Date.now());
  }

  /**
   * Forward pass: one digest per batch on both sides; per-key tokens where those differ; then
   * contents for what the tokens cannot settle.
   */
  private async forwardBatch(batch: Batch, db: number): Promise<void> {
    const small = SMALL_UNORDERED_IN_SCRIPT;
    const keysOf = (): Buffer[] => ('keys' in batch ? batch.keys : unpackKeys(batch.packed));
    let digests: Promise<[BatchDigest, BatchDigest]> | undefined;
    if (!('packed' in batch)) {
      if (this.useBatchDigests()) {
        digests = Promise.all([
          this.source.batchDigest(batch.keys, small),
          this.target.batchDigest(batch.keys, small),
        ]);
      }
    } else if (batch.digest) {
      digests = Promise.all([
        batch.digest,
        this.target.batchDigestPacked(batch.peer, batch.packed, batch.count, small),
      ]);
    }
    if (digests) {
      const [sourceDigest, targetDigest] = await digests;
      this.batchDigests.tried++;
      if (sameBatchDigest(sourceDigest, targetDigest)) {
        this.report.keysChecked += 'packed' in batch ? batch.count : batch.keys.length;
        if (sourceDigest.unproven.size === 0) return;
        const keys = keysOf();
        const indices = [...sourceDigest.unproven.keys()];
        const sourceTokens: string[] = [];
        const targetTokens: string[] = [];
        for (const i of indices) {
          sourceTokens[i] = sourceDigest.unproven.get(i) as string;
          targetTokens[i] = targetDigest.unproven.get(i) as string;
        }
        const rest: number[] = [];
        await this.compareUnordered(keys, indices, sourceTokens, targetTokens, rest, {
          source: sourceDigest.payloads,
          target: targetDigest.payloads,
        });
        if (rest.length > 0)
          await this.compareByContents(
            rest.map((i) => keys[i] as Buffer),
            db,
            'source',
          );
        return;
      }
      this.batchDigests.differed++;
    }
    const keys = keysOf();
    const [sourceTokens, targetTokens] = await Promise.all([
      this.source.fastDigest(keys, small),
      this.target.fastDigest(keys, small),
    ]);
    this.report.keysChecked += keys.length;
    const useScript = this.source.lua && this.target.lua && this.tuning.scriptDigestMaxElements > 0;
    const unordered: number[] = [];
    const byScript: number[] = [];
    const byReading: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      const s = sourceTokens[i] as string;
      const t = targetTokens[i] as string;
      if (s === t && isProof(s)) continue;
      if (s.charCodeAt(0) === N && t.charCodeAt(0) === N && s.charAt(1) === t.charAt(1)) {
        unordered.push(i);
      } else if (useScript && s !== MISSING_TOKEN && t !== MISSING_TOKEN) byScript.push(i);
      else byReading.push(i);
    }
    await Promise.all([
      this.compareUnordered(keys, unordered, sourceTokens, targetTokens, byReading),
      this.compareByScript(keys, byScript, byReading),
    ]);
    if (byReading.length > 0) {
      await this.compareByContents(
        byReading.map((i) => keys[i] as Buffer),
        db,
        'source',
      );
    }
  }

  /**
   * Batch digests pay when most batches are equal. When a quarter of them differ (live writes,
   * expiry read through PTTL on old engines), per-key tokens are asked for at once instead.
   */
  private useBatchDigests(): boolean {
    if (!this.source.lua || !this.target.lua) return false;
    const { tried, differed } = this.batchDigests;
    return tried < 8 || differed * 4 < tried;
  }

  /**
   * Hashtable hashes and sets too big to sort in the server. With their DUMP payloads (batch
   * digests), their encoded elements are compared as sets (see rdb.ts): no further read.
   * Otherwise, or when those differ, they are fetched whole from both sides and compared as sets
   * in the Lambda (at most `chunkSize` elements; bigger ones go to the chunked reading). Keys
   * this cannot settle join `rest`.
   */
  private async compareUnordered(
    keys: Buffer[],
    indices: number[],
    sourceTokens: string[],
    targetTokens: string[],
    rest: number[],
    payloads?: { source: ReadonlyMap<number, Buffer>; target: ReadonlyMap<number, Buffer> },
  ): Promise<void> {
    const whole: number[] = [];
    for (const i of indices) {
      const s = sourceTokens[i] as string;
      const t = targetTokens[i] as string;
      if (s.slice(s.indexOf(':')) !== t.slice(t.indexOf(':'))) {
        rest.push(i); // different expiry
        continue;
      }
      const sourcePayload = payloads?.source.get(i);
      const targetPayload = payloads?.target.get(i);
      if (sourcePayload && targetPayload && sameUnorderedPayloads(sourcePayload, targetPayload) === true) {
        this.report.info.comparedByContents++;
        continue;
      }
      const count = Number(s.slice(2, s.indexOf(':')));
      if (Number.isFinite(count) && count > this.tuning.chunkSize) rest.push(i);
      else whole.push(i);
    }
    if (whole.length === 0) return;
    const batch = whole.map((i) => keys[i] as Buffer);
    const kinds = whole.map((i) => ((sourceTokens[i] as string).charAt(1) === 'h' ? 'h' : 's'));
    const [sourceContents, targetContents] = await Promise.all([
      this.source.unorderedContents(batch, kinds),
      this.target.unorderedContents(batch, kinds),
    ]);
    whole.forEach((keyIndex, j) => {
      const a = sourceContents[j];
      const b = targetContents[j];
      if (a && b && sameUnordered(kinds[j] as 'h' | 's', a, b) === true) {
        this.report.info.comparedByContents++;
      } else {
        rest.push(keyIndex);
      }
    });
  }

  /** Keys whose proofs differ: canonical content digests computed by both servers. */
  private async compareByScript(keys: Buffer[], indices: number[], rest: number[]): Promise<void> {
    if (indices.length === 0) return;
    const batch = indices.map((i) => keys[i] as Buffer);
    const [sourceDigests, targetDigests] = await Promise.all([
      this.source.contentDigest(batch, this.tuning.scriptDigestMaxElements),
      this.target.contentDigest(batch, this.tuning.scriptDigestMaxElements),
    ]);
    indices.forEach((keyIndex, j) => {
      const digest = sourceDigests[j] as string;
      if (digest === targetDigests[j] && !digest.endsWith('\t') && digest !== 'none') {
        this.report.info.comparedByContents++;
      } else {
        rest.push(keyIndex);
      }
    });
  }

  /** Reverse pass: target keys the source does not have. */
  private async reverseBatch(batch: Batch, db: number): Promise<void> {
    const { reverseSource, reverseTarget } = this.endpoints;
    let absent: Buffer[];
    if ('packed' in batch) {
      const indices = await reverseSource.absentPacked(batch.peer, batch.packed);
      this.report.targetKeysScanned += batch.count;
      absent = indices.length > 0 ? unpackKeys(batch.packed, indices) : [];
    } else {
      // A multi-key EXISTS counts a repeated key twice: repeats (SCAN may return a key again,
      // though not within one reply) go first.
      const keys = dedupe(batch.keys);
      const onSource = await reverseSource.exists(keys);
      this.report.targetKeysScanned += keys.length;
      absent = keys.filter((_, i) => !onSource[i]);
    }
    if (absent.length > 0) await this.compareByContents(absent, db, 'target', reverseSource, reverseTarget);
  }

  /** Reads keys by contents on both sides; keys still different become suspects. */
  private async compareByContents(
    keys: Buffer[],
    db: number,
    listedBy: 'source' | 'target',
    source = this.source,
    target = this.target,
  ): Promise<void> {
    const [sourceObs, targetObs] = await Promise.all([
      observeKeys(source, keys, this.tuning.chunkSize),
      observeKeys(target, keys, this.tuning.chunkSize),
    ]);
    const different: Buffer[] = [];
    keys.forEach((key, i) => {
      const s = sourceObs[i];
      const t = targetObs[i];
      if (!s || !t) return;
      this.report.info.comparedByContents++;
      if (s.chunked || t.chunked) this.report.info.comparedInChunks++;
      const comparison = compareObservations(s, t, this.comparison);
      if (comparison === 'equal') return;
      if (this.repair) {
        // The catch-up copies a key about to expire too: until it does, clients read it, and
        // it must not vanish early on the new group (a copy whose expiry has passed deletes it).
        different.push(key);
        return;
      }
      if (comparison === 'expiring') {
        this.report.info.expiredDuringCheck++;
        return;
      }
      const id = `${db}:${key.toString('latin1')}`;
      if (this.suspects.has(id)) return;
      const listedSide = listedBy === 'source' ? s : t;
      const suspect: Suspect = {
        key,
        db,
        source: s,
        target: t,
        changed: listedSide.type === 'none',
        comparison,
      };
      if (this.tuning.recheckRounds === 0) {
        this.conclude(suspect);
        return;
      }
      this.suspects.set(id, { suspect, rounds: 0, dueAt: Date.now() + this.tuning.recheckIntervalMs });
      this.wake?.();
    });
    if (this.repair && different.length > 0) await this.repair({ db, keys: different, source, target });
  }
}

/** Drops repeated keys. */
function dedupe(keys: Buffer[]): Buffer[] {
  if (keys.length < 2) return keys;
  const seen = new Set<string>();
  const kept = keys.filter((key) => {
    const id = key.toString('latin1');
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  return kept.length === keys.length ? keys : kept;
}

/** Splits keys into batches of at most `size`. */
function slices(keys: Buffer[], size: number): Batch[] {
  const batches: Batch[] = [];
  for (let i = 0; i < keys.length; i += size) batches.push({ keys: keys.slice(i, i + size) });
  return batches;
}

function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}
