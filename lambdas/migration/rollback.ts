import { DeleteReplicationGroupCommand, DeleteSnapshotCommand } from '@aws-sdk/client-elasticache';
import type { Clients } from '../shared/clients.js';
import { RollbackFailedError } from '../shared/errors.js';
import { removeAlarms } from './alarms.js';
import {
  anyRecordPointsAt,
  belongsTo,
  findGroup,
  findRecord,
  findSnapshot,
  sameHost,
  tagsOf,
} from './aws.js';
import { releaseClaim } from './claim.js';
import { changesInSync, submitUpserts } from './cutover.js';
import { releaseSource } from './decommission.js';
import { BUSY_WAIT, isBusy, retryWhileBusy } from './group-state.js';
import { finalSnapshotName, TAG_MIGRATION_ID, TAG_ROLE } from './naming.js';
import { completeStep, dnsProgress, rollbackProgress, startStep } from './progress.js';
import type { MigrationState } from './state.js';
import { stopTracking } from './track-changes.js';

type Deps = Pick<Clients, 'elasticache' | 'route53'>;
/** The rollback's clients: the claim in the migrations table is released last. */
type RollbackDeps = Deps & Pick<Clients, 'dynamodb'> & Partial<Pick<Clients, 'cloudwatch'>>;

/** Set by the state machine: whether the failure happened at or after the DNS flip. */
export interface RollbackScope {
  dns: boolean;
}

/**
 * One pass of the rollback, as a reconciler: each call moves things one step back towards "as
 * before the migration" and returns; the state machine calls it again after a wait until
 * `progress.rollback.done`. Order matters: DNS goes back to the source (and is INSYNC) before
 * the target is deleted, so no client is sent to a group that is going away. Only resources
 * this migration created are deleted; the source is never touched except to remove the claim.
 */
export async function rollbackStep(
  state: MigrationState & { rollbackScope?: RollbackScope },
  { elasticache, route53, dynamodb, cloudwatch }: RollbackDeps,
  now = Date.now(),
): Promise<MigrationState> {
  const plan = state.plan;
  const rb = rollbackProgress(state);
  if (!plan) {
    rb.done = true;
    return state;
  }
  startStep(state, 'rollback', now);
  rb.done = false;
  const limitSeconds =
    plan.options.timeouts.dnsChangeSeconds +
    plan.options.timeouts.restoreSeconds +
    plan.options.timeouts.deleteSeconds;
  state.deadlines.rollback ??= new Date(now + limitSeconds * 1000).toISOString();
  if (now > Date.parse(state.deadlines.rollback)) {
    throw new RollbackFailedError(
      await leftovers(state, { elasticache, route53 }, 'the rollback did not finish in time'),
    );
  }

  // Never roll back onto a source that is going away: then the new group holds the only live
  // copy of the data, so it keeps serving and the operator decides (runbooks/failures.md).
  const source = await findGroup(elasticache, plan.source.id);
  if (!source || source.Status === 'deleting') {
    throw new RollbackFailedError(
      await leftovers(
        state,
        { elasticache, route53 },
        `the source '${plan.source.id}' is ${source ? 'being deleted' : 'gone'}, so nothing is rolled back: the new group keeps the data and the records stay on it`,
      ),
    );
  }

  // After the flip the new group may hold writes the source lacks. Unless they were all copied
  // back (syncBack), it keeps serving and is never deleted: the records stay on it.
  const sync = state.progress.syncBack;
  const dns = dnsProgress(state);
  if (!rb.targetServed) {
    // Whether the new group served clients: the flip's own records, or, read before the records
    // go back, a record on the new group (the step that flipped may have failed before saying so).
    const served =
      state.progress.freeze?.flipRequested === true ||
      sync?.flipped === true ||
      dns.flipped === true ||
      (!rb.dnsRestored &&
        dns.pendingChangeKind !== 'restore' &&
        (await targetServedClients(state, { elasticache, route53 })));
    if (served) rb.targetServed = true;
  }
  const flipped = rb.targetServed === true;
  if (plan.cutover.dataPolicy === 'exact' && flipped && (!sync?.done || sync.keepTarget)) {
    throw new RollbackFailedError(
      await leftovers(
        state,
        { elasticache, route53 },
        `the new group '${plan.target.id}' took writes after the flip that ${sync?.keepTarget ? `cannot all be copied back (${sync.reason})` : 'were not copied back to the source (the copy back failed)'}, so it is kept and keeps serving: the records stay on it and the source holds writes`,
        true,
      ),
    );
  }

  const dnsTouched = state.rollbackScope?.dns === true || dns.flipped === true || dns.ttlLowered === true;
  if (dnsTouched && !rb.dnsRestored && plan.dns.length > 0) {
    if (dns.pendingChangeKind !== 'restore' || !dns.pendingChangeId) {
      const ids = await submitUpserts(
        route53,
        plan.dns,
        (r) => ({ value: r.originalValue, ttl: r.originalTtl }),
        `at-rest migration ${plan.migrationId}: rollback to ${plan.source.id}`,
      );
      dns.pendingChangeId = ids.join(',');
      dns.pendingChangeKind = 'restore';
      return state;
    }
    if (!(await changesInSync(route53, dns.pendingChangeId.split(',')))) return state;
    for (const record of plan.dns) {
      const current = await findRecord(route53, record.hostedZoneId, record.recordName, 'CNAME');
      if (!sameHost(current?.ResourceRecords?.[0]?.Value, record.originalValue)) {
        // Someone changed it again in between: submit the restore once more on the next pass.
        dns.pendingChangeId = undefined;
        return state;
      }
    }
    dns.pendingChangeId = undefined;
    rb.dnsRestored = true;
  }

  // Keyspace notifications off again in the source's parameter group (cutover.changeTracking).
  const tracking = state.progress.changeTracking;
  if (tracking?.change && !tracking.restored) {
    await stopTracking(state, { elasticache });
    if (!state.progress.changeTracking?.restored) return state;
  }

  // The alarms this migration created watch the new group, which is going: delete them, and
  // take the marks off the source's alarms (they stay, as before the migration). Only a run
  // that reached the records' flip can have created any (CopyAlarms runs after it).
  if (!rb.alarmsRemoved) {
    const mayHaveAlarms = flipped || state.rollbackScope?.dns === true || state.progress.alarms !== undefined;
    if (mayHaveAlarms) {
      if (!cloudwatch)
        throw new Error('The rollback needs a CloudWatch client to remove the alarms it created.');
      await removeAlarms(state, { elasticache, cloudwatch });
    }
    rb.alarmsRemoved = true;
  }

  if (!rb.targetDeleted) {
    const target = await findGroup(elasticache, plan.target.id);
    if (!target) {
      rb.targetDeleted = true;
    } else if (
      target.Status === 'deleting' ||
      !['available', 'create-failed'].includes(target.Status ?? '')
    ) {
      return state; // being deleted, or still creating/modifying: it can be deleted once it settles
    } else {
      // Ownership by tag; a create-failed group's tags may not be readable, and then the
      // migration's own record of having created it decides.
      // An available group can start its backup window between the two reads: wait that out.
      const readOwner = () => belongsTo(elasticache, target.ARN!, plan.migrationId);
      const ours = await (target.Status === 'available' ? retryWhileBusy(readOwner) : readOwner()).catch(
        (error: Error) => {
          if (target.Status === 'create-failed' && error.name === 'InvalidReplicationGroupStateFault') {
            return state.progress.targetCreated === true;
          }
          throw error;
        },
      );
      if (!ours) {
        rb.targetDeleted = true; // not created by this migration: never ours to delete
      } else {
        // A group that served clients after the flip goes with a final snapshot: never delete
        // what may hold the only copy of a write without one.
        await elasticache.send(
          new DeleteReplicationGroupCommand({
            ReplicationGroupId: plan.target.id,
            ...(flipped ? { FinalSnapshotIdentifier: finalSnapshotName(plan.target.id, plan.shortId) } : {}),
          }),
        );
        return state;
      }
    }
  }

  if (!rb.snapshotDeleted) {
    const snapshot = plan.options.keepIntermediateSnapshot
      ? undefined
      : await findSnapshot(elasticache, plan.snapshotName);
    if (!snapshot) {
      rb.snapshotDeleted = true;
    } else if (!(await belongsTo(elasticache, snapshot.ARN!, plan.migrationId))) {
      rb.snapshotDeleted = true;
    } else if (snapshot.SnapshotStatus === 'available' || snapshot.SnapshotStatus === 'failed') {
      await elasticache.send(new DeleteSnapshotCommand({ SnapshotName: plan.snapshotName }));
      return state;
    } else {
      return state; // creating, restoring or deleting: wait for it to settle
    }
  }

  if (!rb.sourceReleased) {
    // A backup window holds the source's tags, and removing them takes it through `modifying`
    // (releaseSource waits for `available`): past the wait, try again on the next pass of the loop.
    try {
      await releaseSource(state, elasticache, { ...BUSY_WAIT, budgetMs: 5_000 });
    } catch (error) {
      if (isBusy(error)) return state;
      throw error;
    }
    // Only this migration's claim: a conditional delete never removes another owner's item.
    await releaseClaim(dynamodb, plan.source.arn, plan.migrationId);
    rb.sourceReleased = true;
  }
  rb.done = true;
  delete state.deadlines.rollback;
  completeStep(state, 'rollback', now);
  return state;
}

async function targetServedClients(state: MigrationState, { elasticache, route53 }: Deps) {
  const plan = state.plan;
  if (!plan || plan.dns.length === 0) return false;
  const target = await findGroup(elasticache, plan.target.id);
  return target ? anyRecordPointsAt(route53, plan.dns, target) : false;
}

/** Describes what is left behind, for RollbackFailedError (the operator's to-do list). */
export async function leftovers(
  state: MigrationState,
  { elasticache, route53 }: Deps,
  why: string,
  targetKept = false,
): Promise<string> {
  const plan = state.plan;
  if (!plan) return `Rollback failed (${why}); the migration had no plan, so nothing was created.`;
  const lines: string[] = [`Rollback failed: ${why}. Resources and records as they are now:`];
  const describe = async <T>(read: () => Promise<T>): Promise<T | 'unknown'> => {
    try {
      return await read();
    } catch {
      return 'unknown';
    }
  };
  const source = await describe(() => findGroup(elasticache, plan.source.id));
  // A source still claimed refuses the next migration (MigrationInProgressError): say so.
  const sourceTags = await describe(() => tagsOf(elasticache, plan.source.arn));
  // Tags cannot be read while the source is not available (a backup, say): then say what to check.
  const claimed =
    sourceTags !== 'unknown'
      ? sourceTags[TAG_MIGRATION_ID] === plan.migrationId
        ? ` (still tagged ${TAG_MIGRATION_ID}=${plan.migrationId}: remove the ${TAG_MIGRATION_ID} and ${TAG_ROLE} tags once the rest is cleaned up)`
        : ''
      : source !== 'unknown' && source
        ? ` (its tags cannot be read while it is ${source.Status}: if it still carries ${TAG_MIGRATION_ID}=${plan.migrationId}, remove the ${TAG_MIGRATION_ID} and ${TAG_ROLE} tags once the rest is cleaned up)`
        : '';
  lines.push(
    `- source ${plan.source.id}: ${source === 'unknown' ? 'could not be read' : (source?.Status ?? 'MISSING')}${claimed}`,
  );
  const target = await describe(() => findGroup(elasticache, plan.target.id));
  lines.push(
    `- target ${plan.target.id}: ${target === 'unknown' ? 'could not be read' : target ? `${target.Status} (${targetKept ? 'kept: it holds the latest writes; see runbooks/failures.md, RollbackFailedError' : 'left behind: delete it once DNS no longer points at it'})` : 'does not exist'}`,
  );
  const snapshot = await describe(() => findSnapshot(elasticache, plan.snapshotName));
  lines.push(
    `- intermediate snapshot ${plan.snapshotName}: ${snapshot === 'unknown' ? 'could not be read' : snapshot ? `${snapshot.SnapshotStatus} (left behind)` : 'does not exist'}`,
  );
  for (const record of plan.dns) {
    const current = await describe(() =>
      findRecord(route53, record.hostedZoneId, record.recordName, 'CNAME'),
    );
    const value = current === 'unknown' ? undefined : current?.ResourceRecords?.[0]?.Value;
    const where =
      current === 'unknown'
        ? 'could not be read'
        : sameHost(value, record.originalValue)
          ? 'points at the source (as before)'
          : `points at '${value ?? 'nothing'}' — set it back to '${record.originalValue}' (TTL ${record.originalTtl})`;
    lines.push(`- CNAME ${record.recordName} in ${record.hostedZoneId}: ${where}`);
  }
  return lines.join('\n');
}
