/**
 * The live data path: applications keep writing to the source during the whole migration and
 * lose nothing (docs/live-cutover.md).
 *
 * 1. Catch-up (`catchUpData`): after the restore, passes over the data copy every key that
 *    differs, source → new group, until a pass copies few keys. Resumable: a pass may span
 *    invocations.
 * 2. Freeze and flip (`freezeAndFlip`): the source's writes are held (CLIENT PAUSE WRITE on every
 *    primary, with the freeze budget as its timeout, so a dead Lambda leaves no longer pause), the
 *    last changes are copied (the keys noted by change tracking, or a whole pass), every copied
 *    key is read back (zero tolerance), the hold is extended past the end of the migration, and
 *    the records flip. Past the budget before the flip, writes resume and the catch-up goes on.
 *    After the flip the source never acknowledges a write again: writes wait (held) until their
 *    clients are moved (CLIENT KILL: they reconnect through the CNAME) or the source is deleted.
 * 3. Rollback after the flip (`syncBack`): the new group's writes go back to the source under a
 *    freeze of the new group before the records go back; where that cannot be done safely, the
 *    new group keeps serving and is named in the error.
 */
import type { ReplicationGroup } from '@aws-sdk/client-elasticache';
import type { Clients } from '../shared/clients.js';
import {
  DataVerificationError,
  FreezeBudgetExceededError,
  SourceNotAvailableError,
  WriteFreezeError,
} from '../shared/errors.js';
import { logger } from '../shared/logger.js';
import {
  ChangeTracker,
  catchUp,
  EXAMPLES_PER_KIND,
  GroupControl,
  keyLabel,
  openPair,
  type RedisEndpointSpec,
} from '../verifier/index.js';
import { anyRecordPointsAt, findGroup } from './aws.js';
import { changeTrackingStatus } from './change-tracking.js';
import { changesInSync, flip } from './cutover.js';
import { completeStep, dnsProgress, requirePlan, startStep } from './progress.js';
import { readAuthToken } from './secrets.js';
import type { CatchUpProgress, FreezeProgress, MigrationState, SyncBackProgress } from './state.js';
import { type DataPathDeps, endpointSpec, resolverFor } from './verify-data.js';

export type LiveDeps = DataPathDeps & Pick<Clients, 'route53'>;

/** Margin kept between the end of the final copy and the end of the pause, for the flip call. */
const FLIP_MARGIN_MS = 1000;
/** How long the freeze invocation waits for the flip to be INSYNC before leaving it to the ASL. */
const IN_SYNC_WAIT_MS = 60_000;
/** Rounds of copying tracked keys before the freeze, while they keep coming. */
const TRACKED_ROUNDS = 20;

/** How long the source holds writes once the flip is requested: past every later wait. */
export function holdSeconds(state: MigrationState): number {
  const plan = requirePlan(state);
  const { timeouts, soakSeconds, approvals } = plan.options;
  return (
    soakSeconds +
    (approvals.beforeDeleteSource ? 7 * 86400 : 0) +
    2 * timeouts.dnsChangeSeconds +
    timeouts.deleteSeconds +
    3600
  );
}

interface Sides {
  source: ReplicationGroup;
  target: ReplicationGroup;
  sourceSpec: RedisEndpointSpec;
  targetSpec: RedisEndpointSpec;
}

async function sides(state: MigrationState, deps: DataPathDeps): Promise<Sides> {
  const plan = requirePlan(state);
  const [source, target] = await Promise.all([
    findGroup(deps.elasticache, plan.source.id),
    findGroup(deps.elasticache, plan.target.id),
  ]);
  if (!source || source.Status === 'deleting') {
    throw new SourceNotAvailableError(
      `The source '${plan.source.id}' is ${source ? 'being deleted' : 'gone'}.`,
    );
  }
  if (!target) throw new DataVerificationError(`The new group '${plan.target.id}' no longer exists.`);
  const token = plan.authTokenSecretArn
    ? await readAuthToken(deps.secrets, plan.authTokenSecretArn)
    : undefined;
  const resolver = resolverFor(deps.network);
  return {
    source,
    target,
    sourceSpec: await endpointSpec(
      source,
      source.AuthTokenEnabled ? token : undefined,
      deps.network,
      resolver,
    ),
    targetSpec: await endpointSpec(
      target,
      target.AuthTokenEnabled ? token : undefined,
      deps.network,
      resolver,
    ),
  };
}

function catchUpProgress(state: MigrationState): CatchUpProgress {
  state.progress.catchUp ??= { passes: 0, passKeysCopied: 0, keysCopied: 0, keysChecked: 0 };
  return state.progress.catchUp;
}

function freezeProgress(state: MigrationState): FreezeProgress {
  state.progress.freeze ??= { attempts: 0, overBudget: 0 };
  return state.progress.freeze;
}

/**
 * One slice of the catch-up: continues the pass in progress within the time budget; a finished
 * pass that copied at most `settleKeys` keys (or the last allowed pass) ends the catch-up.
 */
export async function catchUpData(state: MigrationState, deps: DataPathDeps, now = Date.now()) {
  const plan = requirePlan(state);
  startStep(state, 'catchUp', now);
  const progress = catchUpProgress(state);
  if (progress.converged) return state;
  const { sourceSpec, targetSpec } = await sides(state, deps);
  const maxKeysPerSecond = plan.options.verification.maxKeysPerSecond;
  const result = await catchUp({
    source: sourceSpec,
    target: targetSpec,
    timeBudgetMs: deps.timeBudgetMs,
    ...(progress.cursor ? { cursor: progress.cursor } : {}),
    ...(maxKeysPerSecond !== undefined ? { tuning: { maxKeysPerSecond } } : {}),
  });
  progress.passKeysCopied += result.keysCopied;
  progress.keysCopied += result.keysCopied;
  if (!result.done) {
    progress.cursor = result.cursor;
    return state;
  }
  progress.cursor = undefined;
  progress.passes++;
  progress.keysChecked += result.report.keysChecked;
  const previousPass = progress.lastPassKeysCopied;
  progress.lastPassKeysCopied = progress.passKeysCopied;
  progress.passKeysCopied = 0;
  const { settleKeys, catchUpPasses } = plan.options.cutover;
  const copied = progress.lastPassKeysCopied;
  // Another pass pays only while the delta shrinks. Under a steady writer that inserts new keys,
  // each pass copies about (write rate x pass time) keys whatever the number of passes, so once
  // a pass copies at least 80% of what the one before did, more passes buy nothing (measured:
  // npm run bench:cutover). With change tracking, the freeze makes its own tracked pass: one
  // catch-up pass is enough to start from.
  if (
    copied <= settleKeys ||
    progress.passes >= catchUpPasses ||
    plan.cutover.changeTracking ||
    (previousPass !== undefined && copied >= previousPass * 0.8)
  ) {
    progress.converged = true;
    completeStep(state, 'catchUp', now);
  }
  logger.info('catch-up pass', { passes: progress.passes, keysCopied: progress.lastPassKeysCopied });
  return state;
}

/**
 * The cutover under a write freeze; see the module comment. Ends with `freeze.outcome`:
 * `flipped` (the records are moving; `dns.changeInSync` says whether they already are), or
 * `resume` (the freeze ran over its budget: writes resumed, the catch-up goes on).
 */
export async function freezeAndFlip(state: MigrationState, deps: LiveDeps, now = Date.now()) {
  const plan = requirePlan(state);
  startStep(state, 'freeze', now);
  const freeze = freezeProgress(state);
  const sidesNow = await sides(state, deps);
  const { source, target, sourceSpec, targetSpec } = sidesNow;
  const holdMs = holdSeconds(state) * 1000;

  if (plan.cutover.method === 'gate') {
    // A retry after the flip went out copies nothing: the application may write to the new group
    // already, and the source's older values must not overwrite those writes.
    if (freeze.flipRequested || (await anyRecordPointsAt(deps.route53, plan.dns, target))) {
      return flipAndMove(state, deps, undefined, now);
    }
    // The operator stopped the application's writes (the beforeCutover approval): the final
    // pass then tolerates no difference at all.
    await finalPass(state, sourceSpec, targetSpec, Number.POSITIVE_INFINITY, deps);
    return flipAndMove(state, deps, undefined, now);
  }

  const control = await GroupControl.open(sourceSpec);
  let released = false;
  try {
    if (freeze.flipRequested || (await anyRecordPointsAt(deps.route53, plan.dns, target))) {
      // A retry after the flip went out: the new group may already hold writes, so nothing is
      // copied again; the hold is renewed and the flip submitted again (UPSERTs are idempotent).
      await control.holdWrites(holdMs);
      freeze.flipRequested = true;
      return await flipAndMove(state, deps, control, now);
    }

    const budgetMs = plan.options.cutover.freezeBudgetSeconds * 1000;
    let tracker: ChangeTracker | undefined;
    let pair: Awaited<ReturnType<typeof openPair>> | undefined;
    const baseline = { runIds: [] as string[], silentCalls: 0 };
    freeze.tracked = false;
    freeze.untrackedReason = undefined;
    try {
      if (plan.cutover.changeTracking) {
        const status = await changeTrackingStatus(deps.elasticache, source);
        if (!status.covers) {
          freeze.untrackedReason = `notify-keyspace-events is '${status.notifyKeyspaceEvents}' in ${status.parameterGroup}: it does not note every write`;
        } else {
          tracker = await ChangeTracker.start(control);
          baseline.runIds = await control.primaryRunIds();
          baseline.silentCalls = await control.silentWriteCalls();
          // A whole pass while the stream runs: afterwards, only keys the stream names can differ.
          const pass = await catchUp({
            source: sourceSpec,
            target: targetSpec,
            // The pass and the freeze after it share this invocation.
            // (at least half of it: the verifier keeps a second in reserve, so a floor near that
            // would leave the pass no time at all and tracking would silently never be used).
            timeBudgetMs: Math.max(
              deps.timeBudgetMs / 2,
              deps.timeBudgetMs - plan.options.cutover.freezeBudgetSeconds * 1000,
            ),
          });
          if (!pass.done) {
            freeze.untrackedReason = 'the tracked pass did not finish within one invocation';
            tracker.close();
            tracker = undefined;
          } else {
            pair = await openPair(sourceSpec, targetSpec);
            for (
              let round = 0;
              round < TRACKED_ROUNDS && tracker.size > plan.options.cutover.settleKeys;
              round++
            ) {
              await tracker.barrier();
              for (const [db, keys] of tracker.drain()) await pair.copy(db, keys);
            }
          }
        }
      }

      freeze.attempts++;
      const pausedAt = Date.now();
      await control.holdWrites(budgetMs);
      if (!(await control.writesHeld())) {
        throw new WriteFreezeError(
          `The source '${plan.source.id}' acknowledged a write during CLIENT PAUSE WRITE: its writes cannot be frozen. Start again with cutover.pauseWrites: false (the beforeCutover approval then asks you to stop the application's writes).`,
        );
      }
      let copied = 0;
      let stillDifferent = 0;
      const examples: string[] = [];
      if (tracker && pair) {
        await tracker.barrier();
        const gap =
          tracker.gap ??
          ((await control.primaryRunIds()).join() !== baseline.runIds.join()
            ? 'a primary restarted or failed over'
            : (await control.silentWriteCalls()) !== baseline.silentCalls
              ? 'FLUSHALL, FLUSHDB or SWAPDB ran (no per-key notification)'
              : undefined);
        if (gap) {
          freeze.untrackedReason = `the change stream has a gap (${gap}): a whole pass under the freeze instead`;
        } else {
          freeze.tracked = true;
          for (const [db, keys] of tracker.drain()) {
            const outcome = await pair.copy(db, keys, { checkCopies: true });
            copied += outcome.copied;
            stillDifferent += outcome.stillDifferent;
            for (const key of outcome.differing.slice(0, EXAMPLES_PER_KIND - examples.length)) {
              examples.push(keyLabel(db, key, plan.options.verification.revealKeyNames));
            }
          }
        }
      }
      if (!freeze.tracked) {
        const remaining = budgetMs - (Date.now() - pausedAt) - FLIP_MARGIN_MS;
        const pass = await finalPass(state, sourceSpec, targetSpec, remaining, deps);
        if (pass === 'over-budget')
          return resume(state, control, 'the final pass did not finish within the freeze budget');
        copied += pass.copied;
      }
      // The budget is checked before the differences: past it, the source's pause (whose timeout
      // is the budget) may have ended under the copy, and keys the source took after it differ
      // for that reason alone. Nothing flipped, so the freeze ends and the catch-up goes on.
      const frozenMs = Date.now() - pausedAt;
      if (frozenMs > budgetMs - FLIP_MARGIN_MS) {
        return resume(state, control, `the final copy took ${frozenMs} ms of a ${budgetMs} ms budget`);
      }
      if (stillDifferent > 0) {
        throw new DataVerificationError(
          `${stillDifferent} keys still differ after their copy under the write freeze (${examples.join(', ')}); applications were not moved.`,
        );
      }
      // From here on the source must never acknowledge a write again.
      await control.holdWrites(holdMs);
      freeze.flipRequested = true;
      freeze.holdUntil = new Date(Date.now() + holdMs).toISOString();
      freeze.keysCopied = copied;
      freeze.frozenMs = frozenMs;
      return await flipAndMove(state, deps, control, now);
    } finally {
      tracker?.close();
      pair?.close();
    }
  } catch (error) {
    if (!freeze.flipRequested && !released) {
      released = true;
      await control.releaseWrites().catch(() => {});
    }
    throw error;
  } finally {
    control.close();
  }

  /** Writes resume; the catch-up goes on, or the migration gives up after `freezeAttempts`. */
  async function resume(s: MigrationState, c: GroupControl, why: string) {
    released = true;
    await c.releaseWrites();
    freeze.overBudget++;
    freeze.outcome = 'resume';
    freeze.reason = why;
    const progress = catchUpProgress(s);
    progress.converged = false;
    logger.warn('write freeze over budget, writes resumed', { why, overBudget: freeze.overBudget });
    if (freeze.overBudget >= plan.options.cutover.freezeAttempts) {
      throw new FreezeBudgetExceededError(
        `The write freeze ran over its ${plan.options.cutover.freezeBudgetSeconds} s budget ${freeze.overBudget} times (${why}); writes resumed and applications were not moved. Raise cutover.freezeBudgetSeconds, turn on cutover.changeTracking, or migrate at a quieter time.`,
      );
    }
    return s;
  }
}

/**
 * A whole catch-up pass whose copies are read back; 'over-budget' when it cannot finish in
 * `budgetMs` (the freeze must end).
 */
async function finalPass(
  state: MigrationState,
  sourceSpec: RedisEndpointSpec,
  targetSpec: RedisEndpointSpec,
  budgetMs: number,
  deps: DataPathDeps,
): Promise<{ copied: number } | 'over-budget'> {
  const plan = requirePlan(state);
  if (budgetMs <= 0) return 'over-budget';
  const startedAt = Date.now();
  const result = await catchUp({
    source: sourceSpec,
    target: targetSpec,
    // The freeze budget bounds it, not the slice size of the catch-up: under the freeze the pass
    // must finish in one go (cutover.freezeBudgetSeconds is at most 300 s, well within the
    // function's 15 minutes).
    timeBudgetMs: Number.isFinite(budgetMs) ? budgetMs : deps.timeBudgetMs,
    checkCopies: true,
    revealKeyNames: plan.options.verification.revealKeyNames,
  });
  if (!result.done) {
    if (plan.cutover.method === 'gate') {
      throw new DataVerificationError(
        'The final pass did not finish within one invocation; applications were not moved.',
      );
    }
    return 'over-budget';
  }
  // A pass that finished past its budget (one slow command is enough) ran partly after the
  // source's pause ended: its differences may be writes the source took since, so it counts as
  // over budget (writes resume, the catch-up goes on), not as a failed copy. Without this, a slow
  // final copy failed the migration with DataVerificationError instead of resuming.
  if (plan.cutover.method === 'pause' && Date.now() - startedAt > budgetMs) return 'over-budget';
  if (result.stillDifferent > 0) {
    throw new DataVerificationError(
      `${result.stillDifferent} keys still differ after their copy in the final pass (${result.stillDifferentExamples.join(', ')})${plan.cutover.method === 'gate' ? ': the application did not stop writing' : ''}; applications were not moved.`,
    );
  }
  return { copied: result.keysCopied };
}

/** Submits the flip, waits a while for INSYNC, and moves the clients off the source. */
async function flipAndMove(
  state: MigrationState,
  deps: LiveDeps,
  control: GroupControl | undefined,
  now: number,
): Promise<MigrationState> {
  const freeze = freezeProgress(state);
  freeze.flipRequested = true;
  freeze.outcome = 'flipped';
  await flip(state, deps, now);
  const dns = dnsProgress(state);
  const deadline = Date.now() + IN_SYNC_WAIT_MS;
  while (!dns.changeInSync && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    if (await changesInSync(deps.route53, (dns.pendingChangeId ?? '').split(',').filter(Boolean))) {
      dns.changeInSync = true;
      dns.pendingChangeId = undefined;
    }
  }
  if (dns.changeInSync && control) {
    freeze.clientsClosed = (freeze.clientsClosed ?? 0) + (await control.killClients());
  }
  completeStep(state, 'freeze', now);
  return state;
}

/**
 * After the flip, while the records settle: closes the client connections the source still has
 * (late clients, cached DNS, cluster clients that keep node addresses), so they reconnect through
 * the CNAME. Their writes were held, never acknowledged.
 */
export async function moveClients(state: MigrationState, deps: DataPathDeps): Promise<MigrationState> {
  const plan = requirePlan(state);
  const freeze = state.progress.freeze;
  if (plan.cutover.method !== 'pause' || !freeze?.flipRequested) return state;
  let sourceSpec: RedisEndpointSpec;
  try {
    ({ sourceSpec } = await sides(state, deps));
  } catch (error) {
    if (error instanceof SourceNotAvailableError) return state; // gone or going: nothing to move off
    throw error;
  }
  const control = await GroupControl.open(sourceSpec);
  try {
    freeze.clientsClosed = (freeze.clientsClosed ?? 0) + (await control.killClients());
  } finally {
    control.close();
  }
  return state;
}

function syncBackProgress(state: MigrationState): SyncBackProgress {
  state.progress.syncBack ??= { keysCopied: 0, conflicts: 0, stillDifferent: 0 };
  return state.progress.syncBack;
}

/**
 * Rollback, before the records go back: when the flip went out, the new group may hold writes
 * the source lacks. They are copied back under a freeze of the new group (its writes held, its
 * clients closed), onto the source released from its own hold, key by key only where the source
 * is unchanged (compare and set). Resumable. A conflict, or a copy that does not read back equal,
 * keeps the new group serving (its writes released, the source held again) and the rollback
 * then keeps it and names it (RollbackFailedError). Before the flip there is nothing to copy: the
 * source's writes are released.
 */
export async function syncBack(state: MigrationState, deps: LiveDeps, now = Date.now()) {
  const plan = state.plan;
  const progress = syncBackProgress(state);
  if (!plan || progress.done || plan.cutover.dataPolicy === 'snapshot-only') {
    // snapshot-only: no data path; the rollback takes the new group's final snapshot if it served.
    progress.done = true;
    return state;
  }
  startStep(state, 'syncBack', now);
  const freeze = state.progress.freeze;
  const source = await findGroup(deps.elasticache, plan.source.id);
  if (!source || source.Status === 'deleting') {
    // Nothing to copy onto; the rollback keeps the new group and says so.
    progress.keepTarget = true;
    progress.reason = `the source '${plan.source.id}' is ${source ? 'being deleted' : 'gone'}`;
    progress.done = true;
    return state;
  }
  // Whether the flip went out is read from the records too: a freeze that failed after its
  // UPSERT returned no state saying so.
  const target = await findGroup(deps.elasticache, plan.target.id);
  if (freeze?.flipRequested || (target && (await anyRecordPointsAt(deps.route53, plan.dns, target)))) {
    progress.flipped = true;
  }
  if (progress.flipped && plan.cutover.method === 'gate') {
    progress.keepTarget = true;
    progress.reason =
      "the cutover ran without a write freeze (gate), so the new group's writes cannot be copied back safely";
    progress.done = true;
    return state;
  }
  if (!progress.flipped) {
    // The records never left the source: release its writes, whatever state the freeze left
    // (releasing writes that are not held changes nothing).
    if (plan.cutover.method === 'pause') {
      const { sourceSpec } = await sides(state, deps);
      const control = await GroupControl.open(sourceSpec);
      try {
        await control.releaseWrites();
      } finally {
        control.close();
      }
    }
    progress.done = true;
    completeStep(state, 'syncBack', now);
    return state;
  }
  const { sourceSpec, targetSpec } = await sides(state, deps);
  const holdMs = holdSeconds(state) * 1000;
  const targetControl = await GroupControl.open(targetSpec);
  const sourceControl = await GroupControl.open(sourceSpec);
  try {
    if (!progress.targetHeld) {
      await targetControl.holdWrites(holdMs);
      if (!(await targetControl.writesHeld())) {
        await targetControl.releaseWrites();
        throw new WriteFreezeError(
          `The new group '${plan.target.id}' did not hold writes under CLIENT PAUSE WRITE.`,
        );
      }
      await targetControl.killClients();
      progress.targetHeld = true;
    }
    if (!progress.sourceReleased) {
      // Writes held on the source since the flip were never acknowledged: their connections
      // close (the clients retry through DNS, which still leads to the held new group).
      await sourceControl.killClients();
      await sourceControl.releaseWrites();
      progress.sourceReleased = true;
    }
    const result = await catchUp({
      source: targetSpec,
      target: sourceSpec,
      timeBudgetMs: deps.timeBudgetMs,
      compareAndSet: true,
      checkCopies: true,
      ...(progress.cursor ? { cursor: progress.cursor } : {}),
    });
    progress.keysCopied += result.keysCopied;
    progress.conflicts += result.conflicts;
    progress.stillDifferent += result.stillDifferent;
    if (!result.done) {
      progress.cursor = result.cursor;
      return state;
    }
    progress.cursor = undefined;
    if (progress.conflicts > 0 || progress.stillDifferent > 0) {
      // Both groups took writes to the same keys: neither is complete. The new group keeps
      // serving (the records stay), the source holds writes again.
      await sourceControl.holdWrites(holdMs);
      await sourceControl.killClients();
      await targetControl.releaseWrites();
      progress.keepTarget = true;
      progress.reason = `${progress.conflicts} keys were written on the source while the new group's writes were copied back, and ${progress.stillDifferent} did not read back equal`;
    }
    progress.done = true;
    completeStep(state, 'syncBack', now);
    return state;
  } finally {
    targetControl.close();
    sourceControl.close();
  }
}
