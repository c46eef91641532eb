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
 *
 * Where each part lives: the walk (1, 5, 6) in walk.ts, the comparison of a batch (2, 3) in
 * batch.ts over the key tokens of tokens.ts, the re-checks (4) in rechecks.ts, the report in
 * report.ts, the input and connections in session.ts. This module joins them; the catch-up
 * (catch-up.ts) joins the same walk to a repair instead.
 */
import { Rechecks } from './rechecks.js';
import { openSession, type VerifierDependencies } from './session.js';
import type { VerifierInput, VerifierResult } from './types.js';
import { walk } from './walk.js';

export type { VerifierDependencies } from './session.js';

/**
 * Runs (or continues) a check within `timeBudgetMs`. Call again with the returned cursor until
 * `done`; then `verdict` says whether the data is equal under the policy.
 */
export async function verify(
  input: VerifierInput,
  dependencies: VerifierDependencies = {},
): Promise<VerifierResult> {
  const session = await openSession(input, dependencies, { rechecks: true });
  try {
    const { endpoints, tuning, report, comparison } = session;
    const rechecks = new Rechecks(session.recheck, tuning, report, comparison);
    let rechecksFailed = false;
    const rounds = rechecks.run();
    // Awaited below; a failure stops the passes at once rather than when they are over.
    rounds.catch(() => {
      rechecksFailed = true;
    });
    let positions: Awaited<ReturnType<typeof walk>>;
    try {
      positions = await walk({
        endpoints,
        tuning,
        mode: session.mode,
        comparison,
        from: session.from,
        tally: report,
        // Too many suspects waiting: this call stops, their re-checks end it.
        stop: () => session.outOfTime() || rechecksFailed || rechecks.full,
        found: (batch) => rechecks.take(batch),
      });
      rechecks.end();
      await rounds;
    } catch (error) {
      rechecks.abort();
      await rounds.catch(() => {});
      throw error;
    }
    return session.finish(positions);
  } finally {
    session.close();
  }
}
