/**
 * The report: counts per difference kind, a few example keys (SHA-256 prefixes unless the
 * operator asked for names), and the verdict under a policy.
 */
import { createHash } from 'node:crypto';
import {
  DIFFERENCE_KINDS,
  type DifferenceKind,
  type VerifierMode,
  type VerifierPolicy,
  type VerifierReport,
} from './types.js';

export const EXAMPLES_PER_KIND = 5;
const MAX_NAME_CHARS = 200;

function perKind<T>(make: () => T): Record<DifferenceKind, T> {
  return Object.fromEntries(DIFFERENCE_KINDS.map((kind) => [kind, make()])) as Record<DifferenceKind, T>;
}

export function emptyReport(mode: VerifierMode, keyNamesRevealed: boolean): VerifierReport {
  return {
    mode,
    keysChecked: 0,
    targetKeysScanned: 0,
    counts: perKind(() => 0),
    examples: perKind(() => []),
    keyNamesRevealed,
    info: {
      comparedByContents: 0,
      comparedInChunks: 0,
      resolvedOnRecheck: 0,
      expiredDuringCheck: 0,
      uncomparable: 0,
    },
    calls: 0,
    elapsedMs: 0,
  };
}

/** How a key appears in the report: `db<n>:` then the name, or `sha256:` and 16 hex digits. */
export function keyLabel(db: number, key: Buffer, reveal: boolean): string {
  if (!reveal) return `db${db}:sha256:${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
  const text = key.toString('utf8');
  const printable =
    Buffer.from(text, 'utf8').equals(key) && !key.some((byte) => byte < 0x20 || byte === 0x7f);
  const name = printable ? text : `hex:${key.toString('hex')}`;
  return `db${db}:${name.length > MAX_NAME_CHARS ? `${name.slice(0, MAX_NAME_CHARS)}…` : name}`;
}

export function recordDifference(
  report: VerifierReport,
  kind: DifferenceKind,
  db: number,
  key: Buffer,
): void {
  report.counts[kind]++;
  const examples = report.examples[kind];
  if (examples.length < EXAMPLES_PER_KIND) examples.push(keyLabel(db, key, report.keyNamesRevealed));
}

/** Kinds that fail the check under a policy, with their counts (empty: pass). */
export function failingKinds(
  report: VerifierReport,
  policy: VerifierPolicy,
): Partial<Record<DifferenceKind, number>> {
  const allowed = new Set(policy.allowedKinds ?? (policy.writesFrozen ? [] : ['changedDuringCheck']));
  const failing: Partial<Record<DifferenceKind, number>> = {};
  for (const kind of DIFFERENCE_KINDS) {
    if (!allowed.has(kind) && report.counts[kind] > 0) failing[kind] = report.counts[kind];
  }
  return failing;
}

export function verdictOf(report: VerifierReport, policy: VerifierPolicy): 'pass' | 'fail' {
  const failing = Object.values(failingKinds(report, policy)).reduce((sum, n) => sum + n, 0);
  return failing > (policy.maxFailingKeys ?? 0) ? 'fail' : 'pass';
}
