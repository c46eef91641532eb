import { CreateReplicationGroupCommand } from '@aws-sdk/client-elasticache';
import type { Clients } from '../shared/clients.js';
import { TargetCreateFailedError, TargetIdTakenError } from '../shared/errors.js';
import { belongsTo, findGroup } from './aws.js';
import { retryWhileBusy } from './group-state.js';
import {
  checkDeadline,
  clearDeadline,
  completeStep,
  requirePlan,
  setDeadline,
  startStep,
} from './progress.js';
import { readAuthToken } from './secrets.js';
import type { MigrationState } from './state.js';

type Deps = Pick<Clients, 'elasticache' | 'secrets'>;

/** Create errors that mean "this request cannot succeed as it is": roll back and say why. */
const CREATE_REFUSALS: Record<string, string> = {
  InvalidKMSKeyFault:
    'ElastiCache refused the KMS key: check that it is enabled and that its policy lets ElastiCache use it.',
  InsufficientCacheClusterCapacityFault:
    'There is no capacity for this node type in the chosen AZs right now; try again later or in other AZs.',
  NodeQuotaForCustomerExceededFault:
    'The account node quota is reached (old and new groups coexist during a migration); raise the quota.',
  ClusterQuotaForCustomerExceededFault:
    'The account cluster quota is reached (old and new groups coexist during a migration); raise the quota.',
  NodeGroupsPerReplicationGroupQuotaExceededFault: 'The shard quota per replication group is reached.',
  InvalidParameterValueException: 'ElastiCache rejected a parameter of the planned request.',
  InvalidParameterCombinationException:
    'ElastiCache rejected a combination of parameters of the planned request.',
  InvalidSnapshotStateFault: 'The intermediate snapshot is not available for restore.',
  SnapshotNotFoundFault: 'The intermediate snapshot no longer exists.',
};

/**
 * Restores the snapshot into the new group with the planned request: at-rest encryption with
 * the CMK, every setting the snapshot does not carry copied from the source, and the AUTH token
 * read from Secrets Manager at this moment (it never enters the workflow state).
 */
export async function startRestore(
  state: MigrationState,
  { elasticache, secrets }: Deps,
  now = Date.now(),
): Promise<MigrationState> {
  const plan = requirePlan(state);
  startStep(state, 'restore', now);
  const existing = await findGroup(elasticache, plan.target.id);
  if (existing) {
    // Ours from an earlier run of this step (ownership is confirmed once tags can be read).
    if (existing.Status === 'available')
      await requireOwnTarget(elasticache, existing.ARN!, plan.target.id, plan.migrationId);
  } else {
    const authToken = plan.authTokenSecretArn
      ? await readAuthToken(secrets, plan.authTokenSecretArn)
      : undefined;
    try {
      await elasticache.send(
        // AUTH and RBAC user groups are alternatives on AWS: never both in one request.
        new CreateReplicationGroupCommand({
          ...plan.createRequest,
          ...(plan.createRequest.UserGroupIds?.length ? {} : { AuthToken: authToken }),
        }),
      );
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'ReplicationGroupAlreadyExistsFault') {
        throw new TargetIdTakenError(
          `Replication group '${plan.target.id}' was created by someone else after preflight. Choose another targetReplicationGroupId.`,
          { cause: error },
        );
      }
      const advice = CREATE_REFUSALS[name];
      if (advice) {
        throw new TargetCreateFailedError(
          `Creating '${plan.target.id}' failed (${name}: ${(error as Error).message}). ${advice}`,
          {
            cause: error,
          },
        );
      }
      throw error;
    }
  }
  state.progress.targetCreated = true;
  setDeadline(state, 'restore', plan.options.timeouts.restoreSeconds, now);
  return state;
}

async function requireOwnTarget(
  elasticache: Deps['elasticache'],
  arn: string,
  id: string,
  migrationId: string,
) {
  if (!(await retryWhileBusy(() => belongsTo(elasticache, arn, migrationId)))) {
    throw new TargetIdTakenError(`Replication group '${id}' exists but was not created by this migration.`);
  }
}

export async function checkRestore(
  state: MigrationState,
  { elasticache }: Pick<Clients, 'elasticache'>,
  now = Date.now(),
) {
  const plan = requirePlan(state);
  const group = await findGroup(elasticache, plan.target.id);
  if (!group)
    throw new TargetCreateFailedError(
      `Replication group '${plan.target.id}' disappeared while it was being created.`,
    );
  if (group.Status === 'create-failed') {
    throw new TargetCreateFailedError(
      `Replication group '${plan.target.id}' ended in create-failed. The usual cause is the KMS key (disabled, deleted, or its policy does not allow ElastiCache); check the key, then start again.`,
    );
  }
  if (group.Status === 'available') {
    await requireOwnTarget(elasticache, group.ARN!, plan.target.id, plan.migrationId);
    state.progress.targetReady = true;
    clearDeadline(state, 'restore');
    completeStep(state, 'restore', now);
    return state;
  }
  checkDeadline(state, 'restore', now, `Creating replication group '${plan.target.id}'`);
  state.progress.targetReady = false;
  return state;
}
