/**
 * Comparison logic, free of I/O: how two observations of one key compare, and how a key that
 * stays different is classified after several observations (RedisFullCheck's multi-round idea:
 * a key whose contents moved between observations changed during the check; one that held still
 * and still differs is a real difference).
 */
import type { Observation } from './contents.js';
import type { DifferenceKind } from './types.js';

export type Comparison = 'equal' | 'expiring' | Exclude<DifferenceKind, 'changedDuringCheck'>;

export interface ComparisonOptions {
  readonly expiryToleranceMs: number;
  readonly expiryGraceMs: number;
}

/** Present on one side only, but due to expire within the grace period on the other. */
function expiringSoon(present: Observation, graceMs: number): boolean {
  return present.expireAt >= 0 && present.expireAt <= present.serverNowMs + graceMs;
}

/** Compares what the source and the target hold under one key. */
export function compareObservations(
  source: Observation,
  target: Observation,
  options: ComparisonOptions,
): Comparison {
  const onSource = source.type !== 'none';
  const onTarget = target.type !== 'none';
  if (!onSource && !onTarget) return 'equal';
  if (!onTarget) return expiringSoon(source, options.expiryGraceMs) ? 'expiring' : 'missing';
  if (!onSource) return expiringSoon(target, options.expiryGraceMs) ? 'expiring' : 'extra';
  if (source.type !== target.type) return 'type';
  if (!source.comparable || source.fingerprint !== target.fingerprint || source.length !== target.length) {
    // Uncomparable types reach here only when their DUMP bytes differed.
    if (!source.comparable && source.fingerprint === target.fingerprint) return 'equal';
    return 'value';
  }
  if (source.expireAt !== target.expireAt) {
    const bothExpire = source.expireAt >= 0 && target.expireAt >= 0;
    if (!bothExpire || Math.abs(source.expireAt - target.expireAt) > options.expiryToleranceMs)
      return 'expiry';
  }
  return 'equal';
}

/** Whether two observations of the same key on the same side show the same state. */
export function sameState(a: Observation, b: Observation, expiryToleranceMs = 0): boolean {
  const sameExpiry =
    a.expireAt === b.expireAt ||
    (a.expireAt >= 0 && b.expireAt >= 0 && Math.abs(a.expireAt - b.expireAt) <= expiryToleranceMs);
  return a.type === b.type && sameExpiry && a.fingerprint === b.fingerprint && a.length === b.length;
}

/**
 * Whether two hashes (flat field/value lists) or two sets (member lists), decoded as UTF-8, hold
 * the same elements. `undefined` when either holds U+FFFD: invalid UTF-8 decodes lossily, so
 * such keys must be compared as bytes.
 */
export function sameUnordered(
  kind: 'h' | 's',
  a: readonly string[],
  b: readonly string[],
): boolean | undefined {
  if (a.some((s) => s.includes('\uFFFD')) || b.some((s) => s.includes('\uFFFD'))) return undefined;
  if (a.length !== b.length) return false;
  if (kind === 's') return sameMembers(a, b);
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < a.length; i += 2) fields.set(a[i] as string, a[i + 1] as string);
  if (fields.size * 2 !== a.length) return false;
  for (let i = 0; i + 1 < b.length; i += 2) {
    if (fields.get(b[i] as string) !== b[i + 1]) return false;
  }
  return true;
}

/** Whether two lists of distinct strings hold the same strings, in any order. */
export function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const members = new Set(a);
  if (members.size !== a.length) return false;
  return b.every((member) => members.has(member));
}

/** A key that still differs after its content comparison, awaiting further observations. */
export interface Suspect {
  readonly key: Buffer;
  /** Database the key lives in (0 in cluster mode). */
  readonly db: number;
  source: Observation;
  target: Observation;
  /** Seen in a different state between observations, or gone from the side that listed it. */
  changed: boolean;
  comparison: Comparison;
}

/** Outcome of one more observation of a suspect. */
export type SuspectUpdate = { settled: 'equal' | 'expiring' } | { settled?: undefined };

/** Folds a new observation pair into a suspect. */
export function observeSuspect(
  suspect: Suspect,
  source: Observation,
  target: Observation,
  options: ComparisonOptions,
): SuspectUpdate {
  const tolerance = options.expiryToleranceMs;
  if (!sameState(suspect.source, source, tolerance) || !sameState(suspect.target, target, tolerance)) {
    suspect.changed = true;
  }
  suspect.source = source;
  suspect.target = target;
  suspect.comparison = compareObservations(source, target, options);
  if (suspect.comparison === 'equal' || suspect.comparison === 'expiring')
    return { settled: suspect.comparison };
  return {};
}

/** The kind a suspect is reported as once its observations are over. */
export function finalKind(suspect: Suspect): DifferenceKind {
  if (suspect.changed) return 'changedDuringCheck';
  if (suspect.comparison === 'equal' || suspect.comparison === 'expiring') {
    throw new Error('a settled key has no difference kind');
  }
  return suspect.comparison;
}
