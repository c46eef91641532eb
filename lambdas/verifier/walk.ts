/**
 * The key walk: both passes over the keyspace, resumable, handing each batch to the comparison
 * (batch.ts) and the keys found different to the caller, who re-checks and reports them
 * (verify.ts) or repairs them (catch-up.ts).
 *
 * 1. Forward pass. SCAN every database 0–15 of the source (cluster mode disabled) or every
 *    primary shard (enabled; database 0 only). DBSIZE proves nothing, so every key is compared.
 *    The SCAN runs in a script that returns the batch's keys packed in one buffer, which the
 *    Lambda hands to the target as it is: no key is decoded or encoded on the way.
 * 2. Reverse pass. SCAN the target and look each key up on the source (multi-key EXISTS in a
 *    script, keys packed as in the forward pass): keys only on the target are invisible to a
 *    source-driven scan. It runs alongside the forward pass on connections of its own, which
 *    balances the work of the two servers (the source digests while the target scans).
 * 3. Resumable: when `stop` says so, each pass returns where it stands (unit and SCAN cursor);
 *    no key names travel in it.
 */
import {
  type Batch,
  BatchComparison,
  type Difference,
  SMALL_UNORDERED_IN_SCRIPT,
  type WalkTally,
} from './batch.js';
import type { ComparisonOptions } from './compare.js';
import type { Endpoint } from './connection.js';
import type { PassPosition, VerifierMode, VerifierTuning } from './types.js';

/** The connections of the two passes (the reverse pass runs alongside, maybe in another db). */
export interface WalkEndpoints {
  readonly source: Endpoint;
  readonly target: Endpoint;
  readonly reverseSource: Endpoint;
  readonly reverseTarget: Endpoint;
}

/** Keys of one batch found different, handed to the walk's caller. */
export interface FoundBatch {
  readonly db: number;
  /** The side whose scan listed the keys: the source (forward pass) or the target (reverse). */
  readonly listedBy: 'source' | 'target';
  readonly differences: readonly Difference[];
  /** The connections that found them, their database `db` selected. */
  readonly source: Endpoint;
  readonly target: Endpoint;
}

export interface WalkPositions {
  readonly forward: PassPosition | 'done';
  readonly reverse: PassPosition | 'done';
}

export interface WalkOptions {
  readonly endpoints: WalkEndpoints;
  readonly tuning: Required<VerifierTuning>;
  readonly mode: VerifierMode;
  readonly comparison: ComparisonOptions;
  /** Where the passes stand; absent: from the start. */
  readonly from?: WalkPositions | undefined;
  /** Counts of keys walked and compared (the report's). */
  readonly tally: WalkTally;
  /** Asked between SCAN steps: stop here and return the positions. */
  readonly stop: () => boolean;
  /**
   * Takes the keys of a batch that differ (never called with none). The walk waits for it, so a
   * batch it repairs is done before the pass returns its position.
   */
  readonly found: (batch: FoundBatch) => void | Promise<void>;
}

const START: PassPosition = { unit: 0, scanCursor: '0' };

type Pass = 'forward' | 'reverse';

/** Runs both passes from `from` until both are done or `stop` says so; returns where they stand. */
export async function walk(options: WalkOptions): Promise<WalkPositions> {
  const run = new Walk(options);
  const { endpoints, from } = options;
  const [forward, reverse] = await Promise.all([
    run.pass('forward', from?.forward ?? (await run.start(endpoints.source))),
    run.pass('reverse', from?.reverse ?? (await run.start(endpoints.reverseTarget))),
  ]);
  return { forward, reverse };
}

class Walk {
  private readonly compare: BatchComparison;

  constructor(private readonly options: WalkOptions) {
    this.compare = new BatchComparison(options.tuning, options.tally, options.comparison);
  }

  /**
   * Where a new pass starts: with cluster mode disabled, smallest databases first (INFO
   * keyspace), so that the re-checks of differences found in small databases run while the big
   * ones are scanned instead of after them.
   */
  async start(scanned: Endpoint): Promise<PassPosition> {
    const { mode, tuning } = this.options;
    const sizes = mode === 'full' ? await scanned.databaseSizes(tuning.databases) : undefined;
    if (!sizes) return START;
    const order = sizes
      .map((_, db) => db)
      .sort((a, b) => (sizes[a] as number) - (sizes[b] as number) || a - b);
    return { ...START, order };
  }

  async pass(pass: Pass, from: PassPosition | 'done'): Promise<PassPosition | 'done'> {
    if (from === 'done') return 'done';
    const { endpoints, tuning, mode, stop } = this.options;
    const scanned = pass === 'forward' ? endpoints.source : endpoints.reverseTarget;
    const other = pass === 'forward' ? endpoints.target : endpoints.reverseSource;
    const sides =
      pass === 'forward'
        ? { source: endpoints.source, target: endpoints.target }
        : { source: endpoints.reverseSource, target: endpoints.reverseTarget };
    let unit = from.shardFirstSlot !== undefined ? scanned.unitOfFirstSlot(from.shardFirstSlot) : from.unit;
    let scanCursor = from.scanCursor;
    let progressed = false;
    const units = scanned.unitCount(tuning.databases);
    const rate = tuning.maxKeysPerSecond;
    const batchSize = Number.isFinite(rate)
      ? Math.max(1, Math.min(tuning.batchSize, Math.ceil(rate / 10)))
      : tuning.batchSize;
    const paced = { since: Date.now(), keys: 0 };
    for (; unit < units; unit++, scanCursor = '0') {
      const db = from.order?.[unit] ?? scanned.dbOfUnit(unit);
      await Promise.all([scanned.selectDb(db), other.selectDb(db)]);
      // Keys travel packed, server to server through the Lambda, when scripts run on both sides
      // and one node of `other` holds every key this unit can hold.
      const peer =
        mode === 'full' && scanned.lua && other.lua ? other.soleClientFor(scanned, unit) : undefined;
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
          if (mode === 'sample') {
            batches = slices(await scanned.randomKeys(unit, tuning.sampleSize), batchSize);
            scanCursor = '0';
          } else if (peer) {
            const step = await scanned.scanPacked(unit, scanCursor, batchSize, {
              digest: pass === 'forward' && this.compare.useBatchDigests(sides),
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
            const work = this.batch(pass, batch, db, sides);
            work.catch(() => {}); // awaited below; this keeps an early failure from going unhandled
            inflight.push(work);
            if (inflight.length >= tuning.concurrency) await inflight.shift();
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

  /** Compares one batch and hands its differences over. */
  private async batch(
    pass: Pass,
    batch: Batch,
    db: number,
    sides: { source: Endpoint; target: Endpoint },
  ): Promise<void> {
    const differences =
      pass === 'forward'
        ? await this.compare.forward(batch, sides)
        : await this.compare.reverse(batch, sides);
    if (differences.length === 0) return;
    await this.options.found({
      db,
      listedBy: pass === 'forward' ? 'source' : 'target',
      differences,
      ...sides,
    });
  }

  /**
   * Waits until the pass is back under `maxKeysPerSecond`. Even when time is up: a call that
   * skipped it would let a check cut into many short calls run unthrottled. Batches of a tenth
   * of the rate keep each wait near 100 ms, well within the time kept in reserve.
   */
  private async pace(paced: { readonly since: number; readonly keys: number }): Promise<void> {
    const rate = this.options.tuning.maxKeysPerSecond;
    if (!Number.isFinite(rate)) return;
    await sleep(paced.since + (paced.keys / rate) * 1000 - Date.now());
  }
}

/** Splits keys into batches of at most `size`. */
function slices(keys: Buffer[], size: number): Batch[] {
  const batches: Batch[] = [];
  for (let i = 0; i < keys.length; i += size) batches.push({ keys: keys.slice(i, i + size) });
  return batches;
}

export function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}
