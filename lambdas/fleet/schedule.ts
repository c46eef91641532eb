/**
 * The batch's scheduling rules, pure: given what the ledger and the account say now, may this
 * group's migration start? AdmitGroup (lambdas/fleet/admit.ts) reads, calls this, and records.
 *
 * - Tolerated failures: past the threshold no new migration starts; the ones running finish
 *   (a Distributed Map's own threshold would fail the Map Run and stop its running children,
 *   and with them possibly a migration mid-way: docs/fleet.md).
 * - Maintenance window: no migration starts at or after it closes.
 * - Node quota: the old and the new group coexist until the old one is deleted, so a start needs
 *   room for the new group's nodes next to every node that exists and every node the batch's
 *   running migrations have reserved. Without room, the group waits and asks again (running
 *   migrations free nodes as they delete their sources), until the window closes.
 */

export type SkipReason = 'threshold-reached' | 'window-closed' | 'already-done';

export type Admission =
  | { decision: 'start' }
  | { decision: 'wait'; reason: 'node-quota'; waitSeconds: number; message: string }
  | { decision: 'skip'; reason: SkipReason; message: string };

export interface AdmissionFacts {
  now: number;
  /** Epoch ms at which the window closes; undefined: no window. */
  windowClosesAt?: number;
  threshold: { count?: number; percentage?: number };
  /** Groups in the batch (the percentage's base). */
  total: number;
  /** Migrations of this batch that ended in failure so far. */
  failed: number;
  /** Nodes in the Region now (every cache cluster node, any owner). */
  nodesInRegion: number;
  /** Nodes reserved by this batch's running migrations (their new groups). */
  reservedNodes: number;
  /** Nodes of the group's new group (the same shape as the source). */
  groupNodes: number;
  nodesPerRegion: number;
  headroomWaitSeconds: number;
  /** The group already has an outcome in this batch (a re-run of the same batch). */
  alreadyDone: boolean;
}

/** Whether `failed` failures are past the threshold (more than tolerated). */
export function thresholdReached(
  threshold: { count?: number; percentage?: number },
  failed: number,
  total: number,
): boolean {
  if (threshold.count !== undefined && failed > threshold.count) return true;
  if (threshold.percentage !== undefined && total > 0 && (failed * 100) / total > threshold.percentage)
    return true;
  return false;
}

export function admit(f: AdmissionFacts): Admission {
  if (f.alreadyDone)
    return { decision: 'skip', reason: 'already-done', message: 'Already has an outcome in this batch.' };
  if (thresholdReached(f.threshold, f.failed, f.total)) {
    const limit =
      f.threshold.count !== undefined
        ? `${f.threshold.count} tolerated`
        : `${f.threshold.percentage}% tolerated`;
    return {
      decision: 'skip',
      reason: 'threshold-reached',
      message: `Not started: ${f.failed} migration(s) of this batch failed (${limit}); no new migration starts past the threshold. Fix the failures (runbooks/failures.md) and start a new batch.`,
    };
  }
  if (f.windowClosesAt !== undefined && f.now >= f.windowClosesAt)
    return {
      decision: 'skip',
      reason: 'window-closed',
      message: `Not started: the maintenance window closed at ${new Date(f.windowClosesAt).toISOString()}. A later batch picks the group up.`,
    };
  const needed = f.nodesInRegion + f.reservedNodes + f.groupNodes;
  if (needed > f.nodesPerRegion) {
    const resumeAt = f.now + f.headroomWaitSeconds * 1000;
    if (f.windowClosesAt !== undefined && resumeAt >= f.windowClosesAt)
      return {
        decision: 'skip',
        reason: 'window-closed',
        message: `Not started: no node headroom (${f.nodesInRegion} nodes + ${f.reservedNodes} reserved + ${f.groupNodes} new > quota ${f.nodesPerRegion}) before the maintenance window closes.`,
      };
    return {
      decision: 'wait',
      reason: 'node-quota',
      waitSeconds: f.headroomWaitSeconds,
      message: `Waiting for node headroom: ${f.nodesInRegion} nodes in the Region + ${f.reservedNodes} reserved by running migrations + ${f.groupNodes} for the new group would pass the quota of ${f.nodesPerRegion}.`,
    };
  }
  return { decision: 'start' };
}
