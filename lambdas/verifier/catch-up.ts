/**
 * The catch-up: the verifier's walk (walk.ts), with a repair where the check has its re-checks and
 * report: the keys that differ between source and target are copied, source → target. Keys are
 * read at copy time (DUMP and absolute expiry in one script), so an older copy never overwrites a
 * newer write of the source; the target takes them with RESTORE … REPLACE ABSTTL, or DEL where
 * the source no longer has them. All databases, cluster mode shard by shard, TLS and AUTH: whatever the
 * verifier walks. Resumable across invocations with the verifier's cursor.
 *
 * `checkCopies` observes every copied key again on both sides after the copy and counts those
 * still different: under a write freeze that count must be 0 (the zero-tolerance final check).
 * `compareAndSet` copies only where the target still is what it was just before (the rollback's
 * copy back onto a source that serves clients again); keys changed in between are conflicts.
 */
import { compareObservations } from './compare.js';
import { createIoredisClient, Endpoint, type RedisClientFactory } from './connection.js';
import { observeKeys } from './contents.js';
import { EXAMPLES_PER_KIND, keyLabel } from './report.js';
import { openSession, type VerifierDependencies } from './session.js';
import type { RedisEndpointSpec, VerifierCursor, VerifierInput, VerifierReport } from './types.js';
import { walk } from './walk.js';

export interface CatchUpInput extends Omit<VerifierInput, 'policy' | 'mode'> {
  /** Observe copied keys again and count those still different. @default false */
  readonly checkCopies?: boolean;
  /** Copy only onto keys unchanged since they were read (see the module comment). @default false */
  readonly compareAndSet?: boolean;
}

export interface CatchUpResult {
  readonly done: boolean;
  readonly cursor?: VerifierCursor;
  readonly report: VerifierReport;
  /** Keys copied (or deleted on the target) by this call. */
  readonly keysCopied: number;
  /** Copied keys still different when observed again (with `checkCopies`). */
  readonly stillDifferent: number;
  /** Up to {@link EXAMPLES_PER_KIND} of them, labelled as the report labels keys (see keyLabel). */
  readonly stillDifferentExamples: readonly string[];
  /** Keys left alone because the target changed under the copy (with `compareAndSet`). */
  readonly conflicts: number;
}

/** What {@link copyKeys} did. */
export interface CopyOutcome {
  copied: number;
  stillDifferent: number;
  /** Up to {@link EXAMPLES_PER_KIND} of the keys still different. */
  differing: Buffer[];
  conflicts: number;
}

/** Copies keys source → target as they are now; see {@link catchUp}. */
export async function copyKeys(
  keys: readonly Buffer[],
  source: Endpoint,
  target: Endpoint,
  options: { checkCopies?: boolean; compareAndSet?: boolean } = {},
): Promise<CopyOutcome> {
  if (keys.length === 0) return { copied: 0, stillDifferent: 0, differing: [], conflicts: 0 };
  let conflicts = 0;
  if (options.compareAndSet) {
    const before = await target.readForCopy(keys);
    const copies = await source.readForCopy(keys);
    conflicts = (
      await target.compareAndCopy(
        keys,
        copies,
        before.map((b) => b.state),
      )
    ).length;
  } else {
    await target.writeCopies(keys, await source.readForCopy(keys));
  }
  let stillDifferent = 0;
  const differing: Buffer[] = [];
  if (options.checkCopies) {
    const [s, t] = await Promise.all([observeKeys(source, keys, 1000), observeKeys(target, keys, 1000)]);
    keys.forEach((_, i) => {
      const a = s[i];
      const b = t[i];
      if (!a || !b) return;
      // Both sides hold the same absolute expiry: a key present on one side only, whose expiry
      // falls within 2 s, expired between the two reads (they can be far apart on a loaded
      // server). The walk itself copies such keys (catchUp), so none is left out by this.
      const outcome = compareObservations(a, b, { expiryToleranceMs: 0, expiryGraceMs: 2000 });
      if (outcome === 'equal' || outcome === 'expiring') return;
      stillDifferent++;
      if (differing.length < EXAMPLES_PER_KIND) differing.push(keys[i] as Buffer);
    });
  }
  return { copied: keys.length - conflicts, stillDifferent, differing, conflicts };
}

/**
 * Runs (or continues) a catch-up pass within `timeBudgetMs`; call again with the cursor until
 * done. The verifier's walk hands each batch's keys that differ (both directions, keys about to
 * expire too: until they do, clients read them, and they must not vanish early on the target) to
 * {@link copyKeys}, with the connections that found them; the walk waits for the copy, so a
 * batch is repaired before its pass moves on. Nothing is re-checked or reported.
 */
export async function catchUp(
  input: CatchUpInput,
  dependencies: VerifierDependencies = {},
): Promise<CatchUpResult> {
  const totals = { copied: 0, stillDifferent: 0, conflicts: 0 };
  const examples: string[] = [];
  const { checkCopies, compareAndSet, ...rest } = input;
  const copyOptions = {
    ...(checkCopies !== undefined ? { checkCopies } : {}),
    ...(compareAndSet !== undefined ? { compareAndSet } : {}),
  };
  const session = await openSession(
    {
      ...rest,
      mode: 'full',
      policy: { writesFrozen: true },
      tuning: { ...input.tuning, recheckRounds: 0 },
    },
    dependencies,
    { rechecks: false },
  );
  let result: ReturnType<typeof session.finish>;
  try {
    const positions = await walk({
      endpoints: session.endpoints,
      tuning: session.tuning,
      mode: session.mode,
      comparison: session.comparison,
      from: session.from,
      tally: session.report,
      stop: session.outOfTime,
      found: async ({ db, differences, source, target }) => {
        const keys = differences.map((difference) => difference.key);
        const outcome = await copyKeys(keys, source, target, copyOptions);
        totals.copied += outcome.copied;
        totals.stillDifferent += outcome.stillDifferent;
        totals.conflicts += outcome.conflicts;
        for (const key of outcome.differing) {
          if (examples.length < EXAMPLES_PER_KIND)
            examples.push(keyLabel(db, key, rest.revealKeyNames ?? false));
        }
      },
    });
    result = session.finish(positions);
  } finally {
    session.close();
  }
  return {
    done: result.done,
    ...(result.cursor ? { cursor: result.cursor } : {}),
    report: result.report,
    keysCopied: totals.copied,
    stillDifferent: totals.stillDifferent,
    stillDifferentExamples: examples,
    conflicts: totals.conflicts,
  };
}

/** Keys per script call when copying a list of keys (the verifier's batch size). */
const COPY_BATCH = 1000;

/** Two connected endpoints for copying keys outside a walk (the tracked keys). */
export interface EndpointPair {
  readonly source: Endpoint;
  readonly target: Endpoint;
  /** Copies the given keys of database `db`, as {@link copyKeys}. */
  copy(
    db: number,
    keys: readonly Buffer[],
    options?: { checkCopies?: boolean; compareAndSet?: boolean },
  ): Promise<CopyOutcome>;
  close(): void;
}

export async function openPair(
  source: RedisEndpointSpec,
  target: RedisEndpointSpec,
  factory: RedisClientFactory = createIoredisClient,
): Promise<EndpointPair> {
  const options = { expiryCommand: 'auto', fastPath: 'auto' } as const;
  const s = await Endpoint.open('source', source, factory, options);
  let t: Endpoint;
  try {
    t = await Endpoint.open('target', target, factory, options);
  } catch (error) {
    s.close();
    throw error;
  }
  return {
    source: s,
    target: t,
    async copy(db, keys, copyOptions = {}) {
      await Promise.all([s.selectDb(db), t.selectDb(db)]);
      // In batches: tens of thousands of keys as one script call's arguments overflow the stack
      // (and would hold the server for the whole list).
      const total: CopyOutcome = { copied: 0, stillDifferent: 0, differing: [], conflicts: 0 };
      for (let i = 0; i < keys.length; i += COPY_BATCH) {
        const outcome = await copyKeys(keys.slice(i, i + COPY_BATCH), s, t, copyOptions);
        total.copied += outcome.copied;
        total.stillDifferent += outcome.stillDifferent;
        total.conflicts += outcome.conflicts;
        total.differing.push(...outcome.differing.slice(0, EXAMPLES_PER_KIND - total.differing.length));
      }
      return total;
    },
    close() {
      s.close();
      t.close();
    },
  };
}
