import type { Clients } from '../shared/clients.js';
import { TargetVerificationError } from '../shared/errors.js';
import { describeMember, findGroup, tagsOf } from './aws.js';
import { retryWhileBusy } from './group-state.js';
import { completeStep, requirePlan, startStep } from './progress.js';
import type { MigrationState } from './state.js';

const sameSet = (a: readonly string[] = [], b: readonly string[] = []) =>
  a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

/**
 * Checks that the new group is what the plan asked for: encrypted at rest with the intended key,
 * the same shards and replicas, and every copied setting actually in place.
 */
export async function verifyTarget(
  state: MigrationState,
  { elasticache }: Pick<Clients, 'elasticache'>,
  now = Date.now(),
) {
  const plan = requirePlan(state);
  startStep(state, 'verifyTarget', now);
  const request = plan.createRequest;
  const group = await findGroup(elasticache, plan.target.id);
  if (!group) throw new TargetVerificationError(`Replication group '${plan.target.id}' does not exist.`);
  const problems: string[] = [];
  const expect = (what: string, actual: unknown, expected: unknown) => {
    if (actual !== expected)
      problems.push(`${what} is ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
  };
  expect('AtRestEncryptionEnabled', group.AtRestEncryptionEnabled, true);
  expect('KmsKeyId', group.KmsKeyId, plan.kmsKeyArn);
  expect('ClusterEnabled', group.ClusterEnabled === true, plan.source.clusterEnabled);
  expect('number of shards', group.NodeGroups?.length, plan.source.shards);
  for (const ng of group.NodeGroups ?? []) {
    expect(`nodes in shard ${ng.NodeGroupId}`, ng.NodeGroupMembers?.length, plan.source.replicasPerShard + 1);
  }
  expect('CacheNodeType', group.CacheNodeType, request.CacheNodeType);
  expect(
    'TransitEncryptionEnabled',
    group.TransitEncryptionEnabled === true,
    request.TransitEncryptionEnabled === true,
  );
  if (request.TransitEncryptionMode)
    expect('TransitEncryptionMode', group.TransitEncryptionMode, request.TransitEncryptionMode);
  expect('AuthTokenEnabled', group.AuthTokenEnabled === true, plan.authTokenSecretArn !== undefined);
  expect(
    'AutomaticFailover',
    group.AutomaticFailover === 'enabled',
    request.AutomaticFailoverEnabled === true,
  );
  expect('MultiAZ', group.MultiAZ === 'enabled', request.MultiAZEnabled === true);
  if (request.NetworkType) expect('NetworkType', group.NetworkType, request.NetworkType);
  if (request.IpDiscovery) expect('IpDiscovery', group.IpDiscovery, request.IpDiscovery);
  expect('SnapshotRetentionLimit', group.SnapshotRetentionLimit, request.SnapshotRetentionLimit);
  if (!sameSet(group.UserGroupIds, request.UserGroupIds)) {
    problems.push(
      `UserGroupIds are ${JSON.stringify(group.UserGroupIds ?? [])}, expected ${JSON.stringify(request.UserGroupIds ?? [])}`,
    );
  }
  const logs = (group.LogDeliveryConfigurations ?? []).map(
    (l) => `${l.LogType}/${l.DestinationType}/${JSON.stringify(l.DestinationDetails)}`,
  );
  const wantedLogs = (request.LogDeliveryConfigurations ?? []).map(
    (l) => `${l.LogType}/${l.DestinationType}/${JSON.stringify(l.DestinationDetails)}`,
  );
  if (!sameSet(logs, wantedLogs))
    problems.push(`log delivery is ${JSON.stringify(logs)}, expected ${JSON.stringify(wantedLogs)}`);

  const members = group.MemberClusters ?? [];
  const member = members[0] ? await describeMember(elasticache, members[0]) : undefined;
  const securityGroups = (member?.SecurityGroups ?? []).map((g) => g.SecurityGroupId ?? '');
  if (!sameSet(securityGroups, request.SecurityGroupIds)) {
    problems.push(
      `security groups are ${JSON.stringify(securityGroups)}, expected ${JSON.stringify(request.SecurityGroupIds ?? [])}`,
    );
  }
  if (request.PreferredCacheClusterAZs) {
    const azs = (group.NodeGroups?.[0]?.NodeGroupMembers ?? []).map((m) => m.PreferredAvailabilityZone ?? '');
    if (!sameSet(azs, request.PreferredCacheClusterAZs)) {
      problems.push(
        `availability zones are ${JSON.stringify(azs)}, expected ${JSON.stringify(request.PreferredCacheClusterAZs)}`,
      );
    }
  }
  // The new group's first backup window may have started: its tags wait for it (docs/aws-behaviour.md).
  const tags = await retryWhileBusy(() => tagsOf(elasticache, group.ARN!));
  for (const tag of request.Tags ?? []) {
    if (tags[tag.Key ?? ''] !== tag.Value)
      problems.push(
        `tag ${tag.Key} is ${JSON.stringify(tags[tag.Key ?? ''])}, expected ${JSON.stringify(tag.Value)}`,
      );
  }
  if (problems.length > 0) {
    throw new TargetVerificationError(
      `The new group '${plan.target.id}' does not match the plan, so applications are not moved to it:\n- ${problems.join('\n- ')}`,
    );
  }
  state.progress.targetVerified = true;
  completeStep(state, 'verifyTarget', now);
  return state;
}
