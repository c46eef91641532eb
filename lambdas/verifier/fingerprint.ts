/**
 * Content fingerprints computed in the Lambda for keys the fast path could not settle. They depend
 * on contents only, never on encoding or iteration order: hashes and sets use an order-free
 * multiset hash (SHA-256 per element, summed lane by lane), lists, sorted sets (by rank), strings
 * and streams a running SHA-256 over length-prefixed elements. So the same key read in one go or
 * in chunks, from a listpack or a hashtable, gives the same fingerprint.
 */
import { createHash, type Hash } from 'node:crypto';

function lengthPrefix(length: number): Buffer {
  const prefix = Buffer.allocUnsafe(4);
  prefix.writeUInt32BE(length >>> 0);
  return prefix;
}

/** Running hash of an ordered sequence of byte strings. */
export class SequenceHash {
  private readonly hash: Hash = createHash('sha256');
  private count = 0;

  add(...parts: (Buffer | string)[]): void {
    for (const part of parts) {
      const bytes = typeof part === 'string' ? Buffer.from(part) : part;
      this.hash.update(lengthPrefix(bytes.length));
      this.hash.update(bytes);
    }
    this.hash.update('|');
    this.count++;
  }

  get size(): number {
    return this.count;
  }

  digest(): string {
    return `${this.count}:${this.hash.digest('hex')}`;
  }
}

/** Order-independent hash of a set of elements (each element a tuple of byte strings). */
export class MultisetHash {
  private readonly lanes = new Uint32Array(8);
  private count = 0;
  /** Elements already added, to ignore repeats that HSCAN/SSCAN may return. */
  private readonly seen = new Set<string>();

  /** Largest number of elements whose identities are remembered to drop repeats. */
  static readonly dedupeLimit = 1_000_000;

  /** Adds an element identified by `id` (a field or member); repeats of an id are ignored. */
  add(id: Buffer, ...rest: Buffer[]): void {
    if (this.seen.size < MultisetHash.dedupeLimit) {
      const identity = id.toString('latin1');
      if (this.seen.has(identity)) return;
      this.seen.add(identity);
    }
    const hash = createHash('sha256');
    for (const part of [id, ...rest]) {
      hash.update(lengthPrefix(part.length));
      hash.update(part);
    }
    const digest = hash.digest();
    for (let lane = 0; lane < 8; lane++) {
      this.lanes[lane] = ((this.lanes[lane] as number) + digest.readUInt32BE(lane * 4)) >>> 0;
    }
    this.count++;
  }

  get size(): number {
    return this.count;
  }

  digest(): string {
    return `${this.count}:${Buffer.from(this.lanes.buffer).toString('hex')}`;
  }
}

/** Sorted-set scores as the same double whatever the engine's formatting (`inf`, `1e+20`, ...). */
export function normalizeScore(score: Buffer | string): string {
  const text = score.toString().toLowerCase();
  if (text === 'inf' || text === '+inf') return 'Infinity';
  if (text === '-inf') return '-Infinity';
  return String(Number(text));
}
