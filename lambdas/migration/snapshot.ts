import { AddTagsToResourceCommand, CreateSnapshotCommand } from '@aws-sdk/client-elasticache';
import type { Clients } from '../shared/clients.js';
import { SnapshotFailedError, SnapshotNameConflictError } from '../shared/errors.js';
import { belongsTo, findSnapshot, tagsOf } from './aws.js';
import { retryWhileBusy, untilAvailable } from './group-state.js';
import { ROLE_INTERMEDIATE_SNAPSHOT, ROLE_SOURCE, TAG_MIGRATION_ID, TAG_ROLE } from './naming.js';
import {
  checkDeadline,
  clearDeadline,
  completeStep,
  requirePlan,
  setDeadline,
  startStep,
} from './progress.js';
import type { MigrationPlan, MigrationState } from './state.js';

type Deps = Pick<Clients, 'elasticache'>;

/**
 * Tags the source with this migration's id (the claim itself is the migrations table item taken
 * at preflight), then starts a manual snapshot of a replica (cluster mode disabled) or of the group (enabled),
 * encrypted with the CMK. A snapshot with this migration's deterministic name that carries this
 * migration's tag is adopted, so the step can run twice.
 */
export async function startSnapshot(
  state: MigrationState,
  { elasticache }: Deps,
  now = Date.now(),
): Promise<MigrationState> {
  const plan = requirePlan(state);
  startStep(state, 'snapshot', now);
  const existing = await findSnapshot(elasticache, plan.snapshotName);
  if (existing) {
    // The step ran before: it tagged the source first, then started this snapshot.
    await requireOwnSnapshot(elasticache, existing.ARN!, plan.snapshotName, plan.migrationId);
    state.progress.sourceClaimed = true;
  } else {
    await claimSource(elasticache, plan);
    state.progress.sourceClaimed = true;
    try {
      await elasticache.send(
        new CreateSnapshotCommand({
          SnapshotName: plan.snapshotName,
          ...(plan.source.snapshotClusterId
            ? { CacheClusterId: plan.source.snapshotClusterId }
            : { ReplicationGroupId: plan.source.id }),
          KmsKeyId: plan.kmsKeyArn,
          Tags: [
            { Key: TAG_MIGRATION_ID, Value: plan.migrationId },
            { Key: TAG_ROLE, Value: ROLE_INTERMEDIATE_SNAPSHOT },
          ],
        }),
      );
    } catch (error) {
      if ((error as Error).name !== 'SnapshotAlreadyExistsFault') throw error;
      const raced = await findSnapshot(elasticache, plan.snapshotName);
      if (!raced) throw error;
      await requireOwnSnapshot(elasticache, raced.ARN!, plan.snapshotName, plan.migrationId);
    }
  }
  setDeadline(state, 'snapshot', plan.options.timeouts.snapshotSeconds, now);
  return state;
}

/**
 * Tags the source with this migration's id (IAM conditions and operators see it), unless it
 * carries the tags already: a tag change takes the group through `modifying`, and CreateSnapshot
 * needs it `available`, so it waits for that after tagging, and waits out a running backup
 * before (docs/aws-behaviour.md, Tagging and group state). Past the wait the step fails with
 * InvalidReplicationGroupStateFault, which the state machine retries minutes apart; the retry
 * finds the tags and does not change them again.
 */
async function claimSource(elasticache: Deps['elasticache'], plan: MigrationPlan): Promise<void> {
  await untilAvailable(elasticache, plan.source.id);
  const tags = await retryWhileBusy(() => tagsOf(elasticache, plan.source.arn));
  if (tags[TAG_MIGRATION_ID] === plan.migrationId && tags[TAG_ROLE] === ROLE_SOURCE) return;
  await retryWhileBusy(() =>
    elasticache.send(
      new AddTagsToResourceCommand({
        ResourceName: plan.source.arn,
        Tags: [
          { Key: TAG_MIGRATION_ID, Value: plan.migrationId },
          { Key: TAG_ROLE, Value: ROLE_SOURCE },
        ],
      }),
    ),
  );
  await untilAvailable(elasticache, plan.source.id);
}

async function requireOwnSnapshot(
  elasticache: Deps['elasticache'],
  arn: string,
  name: string,
  migrationId: string,
) {
  if (!(await belongsTo(elasticache, arn, migrationId))) {
    throw new SnapshotNameConflictError(
      `A snapshot named '${name}' already exists and does not belong to this migration. Delete or rename it, then start again.`,
    );
  }
}

/** One poll of the snapshot: ready, still creating, or failed (any other status, or gone). */
export async function checkSnapshot(
  state: MigrationState,
  { elasticache }: Deps,
  now = Date.now(),
): Promise<MigrationState> {
  const plan = requirePlan(state);
  const snapshot = await findSnapshot(elasticache, plan.snapshotName);
  if (!snapshot) {
    throw new SnapshotFailedError(`Snapshot '${plan.snapshotName}' disappeared while it was being created.`);
  }
  // No documented `failed` status exists: anything but creating/available is a failure (docs/aws-behaviour.md).
  if (snapshot.SnapshotStatus === 'available') {
    state.progress.snapshotReady = true;
    clearDeadline(state, 'snapshot');
    completeStep(state, 'snapshot', now);
    return state;
  }
  if (snapshot.SnapshotStatus !== 'creating') {
    throw new SnapshotFailedError(
      `Snapshot '${plan.snapshotName}' ended in status '${snapshot.SnapshotStatus}'. Check the source's memory headroom for BGSAVE (reserved-memory-percent) and the KMS key, then start again.`,
    );
  }
  checkDeadline(state, 'snapshot', now, `Snapshot '${plan.snapshotName}'`);
  state.progress.snapshotReady = false;
  return state;
}
