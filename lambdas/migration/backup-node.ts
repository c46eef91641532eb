import { ModifyReplicationGroupCommand } from '@aws-sdk/client-elasticache';
import type { Clients } from '../shared/clients.js';
import { TargetVerificationError } from '../shared/errors.js';
import { findGroup } from './aws.js';
import { completeStep, requirePlan, startStep } from './progress.js';
import type { MigrationState } from './state.js';

/**
 * Automatic backups of the new group from a read replica, so the primary is spared the BGSAVE
 * (docs/aws-behaviour.md, Backups). `SnapshottingClusterId` cannot be given to
 * CreateReplicationGroup and cannot be set with cluster mode enabled, so it is set with
 * ModifyReplicationGroup once the new group is available. Each call moves one step: choose and
 * request, then wait for `available` with the setting in place. Run twice, it requests nothing new.
 */
export async function setBackupNode(
  state: MigrationState,
  { elasticache }: Pick<Clients, 'elasticache'>,
  now = Date.now(),
): Promise<MigrationState> {
  const plan = requirePlan(state);
  startStep(state, 'backupNode', now);
  state.progress.backupNode ??= {};
  const progress = state.progress.backupNode;
  const finish = (reason?: string) => {
    progress.done = true;
    if (reason) progress.reason = reason;
    completeStep(state, 'backupNode', now);
    return state;
  };
  if (progress.done) return state;
  if (plan.options.backups?.fromReplica === false) return finish('backups.fromReplica is off');
  if (plan.source.clusterEnabled)
    return finish('cluster mode enabled: ElastiCache chooses the node of each shard');

  const target = await findGroup(elasticache, plan.target.id);
  if (!target) throw new TargetVerificationError(`Replication group '${plan.target.id}' is gone.`);
  const members = target.NodeGroups?.[0]?.NodeGroupMembers ?? [];
  const replicas = members
    .filter((m) => m.CurrentRole === 'replica')
    .map((m) => m.CacheClusterId!)
    .sort();
  if (replicas.length === 0) return finish('the new group has no replica: backups run on the primary');

  if (target.Status !== 'available') return state; // modifying: the next call looks again
  const current = target.SnapshottingClusterId;
  if (current && replicas.includes(current)) {
    progress.clusterId = current;
    return finish();
  }
  // The first replica by id: each takes an equal share of the reader endpoint's reads.
  const chosen = replicas[0]!;
  await elasticache.send(
    new ModifyReplicationGroupCommand({
      ReplicationGroupId: plan.target.id,
      SnapshottingClusterId: chosen,
      ApplyImmediately: true,
    }),
  );
  progress.clusterId = chosen;
  progress.requested = true;
  return state;
}
