import { DeleteReplicationGroupCommand, RemoveTagsFromResourceCommand } from '@aws-sdk/client-elasticache';
import type { Clients } from '../shared/clients.js';
import { SourceDeletionFailedError, SourceDeletionRefusedError } from '../shared/errors.js';
import { belongsTo, endpointOf, findGroup, findRecord, findSnapshot, sameHost } from './aws.js';
import { BUSY_WAIT, type BusyWait, retryWhileBusy, untilAvailable } from './group-state.js';
import { TAG_MIGRATION_ID, TAG_ROLE } from './naming.js';
import {
  checkDeadline,
  clearDeadline,
  completeStep,
  requirePlan,
  setDeadline,
  startStep,
} from './progress.js';
import type { MigrationState } from './state.js';

type Deps = Pick<Clients, 'elasticache' | 'route53'>;

/**
 * Deletes the source with a final snapshot — only when the new group was verified, is available,
 * and every moved record points at it right now, and only a source this migration claimed.
 * A deletion already under way (a re-run) is adopted.
 */
export async function startDecommission(
  state: MigrationState,
  { elasticache, route53 }: Deps,
  now = Date.now(),
) {
  const plan = requirePlan(state);
  startStep(state, 'deleteSource', now);
  // A backup window or a tag change may hold the source briefly: its tags cannot be read and it
  // cannot be deleted until it is available (docs/aws-behaviour.md, Tagging and group state).
  const source = await untilAvailable(elasticache, plan.source.id);
  if (!source || source.Status === 'deleting') {
    state.progress.sourceDeletionStarted = true;
    setDeadline(state, 'delete', plan.options.timeouts.deleteSeconds, now);
    return state;
  }
  const refuse = (why: string) =>
    new SourceDeletionRefusedError(
      `The source '${plan.source.id}' is not deleted: ${why}. Both groups are left as they are.`,
    );
  const target = await findGroup(elasticache, plan.target.id);
  if (!state.progress.targetVerified) throw refuse('the new group was not verified');
  if (target?.Status !== 'available') throw refuse(`the new group is ${target?.Status ?? 'missing'}`);
  for (const record of plan.dns) {
    const current = await findRecord(route53, record.hostedZoneId, record.recordName, 'CNAME');
    const value = current?.ResourceRecords?.[0]?.Value;
    if (!sameHost(value, endpointOf(target, record.endpoint))) {
      throw refuse(`CNAME ${record.recordName} points at '${value ?? 'nothing'}', not at the new group`);
    }
  }
  if (!(await retryWhileBusy(() => belongsTo(elasticache, source.ARN!, plan.migrationId))))
    throw refuse('it is not claimed by this migration');
  const existingFinal = await findSnapshot(elasticache, plan.finalSnapshotName);
  if (existingFinal) {
    throw new SourceDeletionFailedError(
      `A snapshot named '${plan.finalSnapshotName}' already exists, so the final snapshot cannot be taken; the source is not deleted.`,
    );
  }
  await elasticache.send(
    new DeleteReplicationGroupCommand({
      ReplicationGroupId: plan.source.id,
      FinalSnapshotIdentifier: plan.finalSnapshotName,
    }),
  );
  state.progress.sourceDeletionStarted = true;
  setDeadline(state, 'delete', plan.options.timeouts.deleteSeconds, now);
  return state;
}

/** One poll: the source is gone and its final snapshot is available. */
export async function checkDecommission(
  state: MigrationState,
  { elasticache }: Pick<Clients, 'elasticache'>,
  now = Date.now(),
) {
  const plan = requirePlan(state);
  const source = await findGroup(elasticache, plan.source.id);
  const final = await findSnapshot(elasticache, plan.finalSnapshotName);
  if (!source && final?.SnapshotStatus === 'available') {
    state.progress.sourceDeleted = true;
    clearDeadline(state, 'delete');
    completeStep(state, 'deleteSource', now);
    return state;
  }
  if (!source && !final) {
    throw new SourceDeletionFailedError(
      `The source '${plan.source.id}' is gone but its final snapshot '${plan.finalSnapshotName}' does not exist. The new group holds the data; take a backup of it now.`,
    );
  }
  if (final && final.SnapshotStatus !== 'creating' && final.SnapshotStatus !== 'available') {
    throw new SourceDeletionFailedError(
      `The final snapshot '${plan.finalSnapshotName}' is ${final.SnapshotStatus}.`,
    );
  }
  // No rollback once the deletion is accepted (it cannot be cancelled): say what stands.
  checkDeadline(
    state,
    'delete',
    now,
    `Deleting '${plan.source.id}'`,
    `there is no rollback: the new group '${plan.target.id}' serves and the records point at it. Check the deletion of '${plan.source.id}' and its final snapshot '${plan.finalSnapshotName}'`,
  );
  state.progress.sourceDeleted = false;
  return state;
}

/** Removes this migration's claim tags from the source, if it still carries them. */
export async function releaseSource(
  state: MigrationState,
  elasticache: Clients['elasticache'],
  wait: BusyWait = BUSY_WAIT,
): Promise<void> {
  const plan = requirePlan(state);
  // Tags can be read and removed only while the source is available: a backup window is waited
  // out (past the wait: InvalidReplicationGroupStateFault, retried by the state machine or the
  // rollback loop; docs/aws-behaviour.md, Tagging and group state).
  const source = await untilAvailable(elasticache, plan.source.id, wait);
  if (!source || source.Status === 'deleting') return;
  if (!(await retryWhileBusy(() => belongsTo(elasticache, source.ARN!, plan.migrationId), wait))) return;
  await retryWhileBusy(
    () =>
      elasticache.send(
        new RemoveTagsFromResourceCommand({
          ResourceName: source.ARN!,
          TagKeys: [TAG_MIGRATION_ID, TAG_ROLE],
        }),
      ),
    wait,
  );
  // The tag change takes the source through `modifying`: it is released once it is available
  // again, so the next migration or an operator's change is not refused for its state. Past the
  // wait, InvalidReplicationGroupStateFault; a retry finds the tags gone and waits at the top.
  await untilAvailable(elasticache, plan.source.id, wait);
}
