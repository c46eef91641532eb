/**
 * The comparison of one batch of keys (facts from docs/aws-behaviour.md, "Data verification"):
 * what the walk (walk.ts) hands over for each batch it reads, and what it gets back, the keys
 * whose contents differ. It decides nothing about them: the caller re-checks and reports them
 * (verify.ts) or repairs them (catch-up.ts).
 *
 * Forward pass, per batch:
 * 1. One digest per batch on both sides (the SHA-1 of every key's DUMP payload or content digest
 *    and absolute expiry, in key order): equal digests prove every key equal. DEBUG DIGEST is
 *    blocked on ElastiCache; EVAL is not.
 * 2. Where they differ, one token per key (tokens.ts); when most batches differ (live writes),
 *    per-key tokens are asked for at once. Without Lua the tokens come from pipelined DUMP +
 *    PEXPIRETIME.
 * 3. Different DUMP bytes prove nothing: hashtable-encoded hashes and sets DUMP differently for
 *    equal contents, and encodings can change in a restore. Big ones are compared by their
 *    elements (their DUMP payloads, rdb.ts, or HGETALL/SMEMBERS); others get a canonical content
 *    digest computed server-side, or are read by contents here, big keys in chunks.
 * Reverse pass, per batch: the target's keys the source lacks are read by contents.
 */
import type { Redis } from 'ioredis';
import { type Comparison, type ComparisonOptions, compareObservations, sameUnordered } from './compare.js';
import { type BatchDigest, type Endpoint, sameBatchDigest, unpackKeys } from './connection.js';
import { type Observation, observeKeys } from './contents.js';
import { sameUnorderedPayloads } from './rdb.js';
import { contentDigestsProve, isMissing, matchTokens, parseUnproven, type UnprovenToken } from './tokens.js';
import type { VerifierTuning } from './types.js';

/** Hashtable hashes and sets up to this size are sorted and digested by the server script. */
export const SMALL_UNORDERED_IN_SCRIPT = 32;

/** Keys packed by the scanning side's script, for `peer` (the node of the other side holding them all). */
export interface PackedBatch {
  readonly packed: Buffer;
  readonly count: number;
  readonly peer: Redis;
  /** The source's batch digest (forward pass, when batch digests are in use). */
  readonly digest?: BatchDigest | undefined;
}

/** One unit of work of a pass: keys read by SCAN (or RANDOMKEY), packed or not. */
export type Batch = { readonly keys: Buffer[] } | PackedBatch;

/** A key whose contents differ between the two sides, as last observed. */
export interface Difference {
  readonly key: Buffer;
  readonly source: Observation;
  readonly target: Observation;
  /** `expiring`: on one side only, and due to expire on the other within the grace period. */
  readonly comparison: Exclude<Comparison, 'equal'>;
}

/** The connections one pass compares with (their database selected). */
export interface Sides {
  readonly source: Endpoint;
  readonly target: Endpoint;
}

/** What the walk counts (part of the report). */
export interface WalkTally {
  keysChecked: number;
  targetKeysScanned: number;
  readonly info: { comparedByContents: number; comparedInChunks: number };
}

type Tuning = Required<Pick<VerifierTuning, 'chunkSize' | 'scriptDigestMaxElements'>>;

/** Compares batches; one per call (it learns whether batch digests pay). */
export class BatchComparison {
  private readonly batchDigests = { tried: 0, differed: 0 };

  constructor(
    private readonly tuning: Tuning,
    private readonly tally: WalkTally,
    private readonly options: ComparisonOptions,
  ) {}

  /**
   * Batch digests pay when most batches are equal. When a quarter of them differ (live writes,
   * expiry read through PTTL on old engines), per-key tokens are asked for at once instead.
   */
  useBatchDigests({ source, target }: Sides): boolean {
    if (!source.lua || !target.lua) return false;
    const { tried, differed } = this.batchDigests;
    return tried < 8 || differed * 4 < tried;
  }

  /** Forward pass: the batch's keys (listed by the source) whose contents differ. */
  async forward(batch: Batch, sides: Sides): Promise<Difference[]> {
    const { source, target } = sides;
    const small = SMALL_UNORDERED_IN_SCRIPT;
    const keysOf = (): Buffer[] => ('keys' in batch ? batch.keys : unpackKeys(batch.packed));
    let digests: Promise<[BatchDigest, BatchDigest]> | undefined;
    if (!('packed' in batch)) {
      if (this.useBatchDigests(sides)) {
        digests = Promise.all([source.batchDigest(batch.keys, small), target.batchDigest(batch.keys, small)]);
      }
    } else if (batch.digest) {
      digests = Promise.all([
        batch.digest,
        target.batchDigestPacked(batch.peer, batch.packed, batch.count, small),
      ]);
    }
    if (digests) {
      const [sourceDigest, targetDigest] = await digests;
      this.batchDigests.tried++;
      if (sameBatchDigest(sourceDigest, targetDigest)) {
        this.tally.keysChecked += 'packed' in batch ? batch.count : batch.keys.length;
        if (sourceDigest.unproven.size === 0) return [];
        const keys = keysOf();
        const pairs = new Map<number, [UnprovenToken, UnprovenToken]>();
        for (const [i, token] of sourceDigest.unproven) {
          pairs.set(i, [token, targetDigest.unproven.get(i) as UnprovenToken]);
        }
        const rest: number[] = [];
        await this.compareUnordered(keys, pairs, rest, sides, {
          source: sourceDigest.payloads,
          target: targetDigest.payloads,
        });
        return rest.length > 0 ? this.byContents(pick(keys, rest), sides) : [];
      }
      this.batchDigests.differed++;
    }
    const keys = keysOf();
    const [sourceTokens, targetTokens] = await Promise.all([
      source.fastDigest(keys, small),
      target.fastDigest(keys, small),
    ]);
    this.tally.keysChecked += keys.length;
    const useScript = source.lua && target.lua && this.tuning.scriptDigestMaxElements > 0;
    const unordered = new Map<number, [UnprovenToken, UnprovenToken]>();
    const byScript: number[] = [];
    const byReading: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      const s = sourceTokens[i] as string;
      const t = targetTokens[i] as string;
      const match = matchTokens(s, t);
      if (match === 'equal') continue;
      const pair = match === 'unordered' ? [parseUnproven(s), parseUnproven(t)] : undefined;
      if (pair?.[0] && pair[1]) unordered.set(i, [pair[0], pair[1]]);
      else if (useScript && !isMissing(s) && !isMissing(t)) byScript.push(i);
      else byReading.push(i);
    }
    await Promise.all([
      this.compareUnordered(keys, unordered, byReading, sides),
      this.compareByScript(keys, byScript, byReading, sides),
    ]);
    return byReading.length > 0 ? this.byContents(pick(keys, byReading), sides) : [];
  }

  /** Reverse pass: the batch's keys (listed by the target) that the source lacks. */
  async reverse(batch: Batch, sides: Sides): Promise<Difference[]> {
    let absent: Buffer[];
    if ('packed' in batch) {
      const indices = await sides.source.absentPacked(batch.peer, batch.packed);
      this.tally.targetKeysScanned += batch.count;
      absent = indices.length > 0 ? unpackKeys(batch.packed, indices) : [];
    } else {
      // A multi-key EXISTS counts a repeated key twice: repeats (SCAN may return a key again,
      // though not within one reply) go first.
      const keys = dedupe(batch.keys);
      const onSource = await sides.source.exists(keys);
      this.tally.targetKeysScanned += keys.length;
      absent = keys.filter((_, i) => !onSource[i]);
    }
    return absent.length > 0 ? this.byContents(absent, sides) : [];
  }

  /**
   * Hashtable hashes and sets too big to sort in the server, by index with their two tokens. With
   * their DUMP payloads (batch digests), their encoded elements are compared as sets (see
   * rdb.ts): no further read. Otherwise, or when those differ, they are fetched whole from both
   * sides and compared as sets here (at most `chunkSize` elements; bigger ones go to the chunked
   * reading). Keys this cannot settle join `rest`.
   */
  private async compareUnordered(
    keys: Buffer[],
    pairs: ReadonlyMap<number, readonly [UnprovenToken, UnprovenToken]>,
    rest: number[],
    { source, target }: Sides,
    payloads?: { source: ReadonlyMap<number, Buffer>; target: ReadonlyMap<number, Buffer> },
  ): Promise<void> {
    const whole: number[] = [];
    const kinds: UnprovenToken['type'][] = [];
    for (const [i, [s, t]] of pairs) {
      if (s.expiry !== t.expiry) {
        rest.push(i); // different expiry
        continue;
      }
      const sourcePayload = payloads?.source.get(i);
      const targetPayload = payloads?.target.get(i);
      if (sourcePayload && targetPayload && sameUnorderedPayloads(sourcePayload, targetPayload) === true) {
        this.tally.info.comparedByContents++;
        continue;
      }
      if (s.count !== undefined && s.count > this.tuning.chunkSize) rest.push(i);
      else {
        whole.push(i);
        kinds.push(s.type);
      }
    }
    if (whole.length === 0) return;
    const batch = pick(keys, whole);
    const [sourceContents, targetContents] = await Promise.all([
      source.unorderedContents(batch, kinds),
      target.unorderedContents(batch, kinds),
    ]);
    whole.forEach((keyIndex, j) => {
      const a = sourceContents[j];
      const b = targetContents[j];
      if (a && b && sameUnordered(kinds[j] as UnprovenToken['type'], a, b) === true) {
        this.tally.info.comparedByContents++;
      } else {
        rest.push(keyIndex);
      }
    });
  }

  /** Keys whose proofs differ: canonical content digests computed by both servers. */
  private async compareByScript(
    keys: Buffer[],
    indices: number[],
    rest: number[],
    { source, target }: Sides,
  ): Promise<void> {
    if (indices.length === 0) return;
    const batch = pick(keys, indices);
    const [sourceDigests, targetDigests] = await Promise.all([
      source.contentDigest(batch, this.tuning.scriptDigestMaxElements),
      target.contentDigest(batch, this.tuning.scriptDigestMaxElements),
    ]);
    indices.forEach((keyIndex, j) => {
      if (contentDigestsProve(sourceDigests[j] as string, targetDigests[j] as string)) {
        this.tally.info.comparedByContents++;
      } else {
        rest.push(keyIndex);
      }
    });
  }

  /** Reads keys by contents on both sides: those that differ. */
  private async byContents(keys: Buffer[], { source, target }: Sides): Promise<Difference[]> {
    const [sourceObs, targetObs] = await Promise.all([
      observeKeys(source, keys, this.tuning.chunkSize),
      observeKeys(target, keys, this.tuning.chunkSize),
    ]);
    const differences: Difference[] = [];
    keys.forEach((key, i) => {
      const s = sourceObs[i];
      const t = targetObs[i];
      if (!s || !t) return;
      this.tally.info.comparedByContents++;
      if (s.chunked || t.chunked) this.tally.info.comparedInChunks++;
      const comparison = compareObservations(s, t, this.options);
      if (comparison !== 'equal') differences.push({ key, source: s, target: t, comparison });
    });
    return differences;
  }
}

function pick(keys: readonly Buffer[], indices: readonly number[]): Buffer[] {
  return indices.map((i) => keys[i] as Buffer);
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
