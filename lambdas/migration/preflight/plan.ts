import type {
  CacheCluster,
  CreateReplicationGroupCommandInput,
  LogDeliveryConfigurationRequest,
  ReplicationGroup,
} from '@aws-sdk/client-elasticache';
import { SourceNotFoundError } from '../../shared/errors.js';
import { endpointOf } from '../aws.js';
import type { MigrationInput } from '../input.js';
import {
  finalSnapshotName,
  intermediateSnapshotName,
  shortIdOf,
  TAG_MIGRATION_ID,
  TAG_ROLE,
  TAG_SOURCE,
} from '../naming.js';
import type { MigrationPlan, PlannedRecord } from '../state.js';
import { backupWindowFix } from './backups.js';
import { type Derived, derive } from './derive.js';
import { type PreflightFacts, type PreflightSettings, recordKey, type SourceDetails } from './reads.js';
import { judge, RULES, SOURCE_RULES } from './rules.js';

/** Security Hub ElastiCache.1 asks for automatic backups kept at least 7 days (docs/aws-behaviour.md, Backups). */
export const MIN_BACKUP_RETENTION_DAYS = 7;

export interface PlanRequest {
  input: MigrationInput;
  migrationId: string;
  facts: PreflightFacts;
  settings: PreflightSettings;
  /** Now, in milliseconds. */
  now: number;
}

/** What preflight concludes from the facts: nothing to do, refused (with every reason), or a plan. */
export type PreflightVerdict =
  | { outcome: 'already-encrypted'; message: string }
  | { outcome: 'refused'; refusals: Error[]; warnings: string[] }
  | { outcome: 'planned'; plan: MigrationPlan };

/**
 * The migration plan from the facts and the input: pure (no AWS call, no clock), so the
 * workflow's preflight, a CLI `plan` and a fleet dry run reach the same answer from the same facts.
 * Refusals come in rule order (rules.ts); the first is the one preflight fails with.
 */
export function planMigration({ input, migrationId, facts, settings, now }: PlanRequest): PreflightVerdict {
  const source = facts.source;
  if (!source) {
    return {
      outcome: 'refused',
      refusals: [
        new SourceNotFoundError(
          `Replication group '${input.sourceReplicationGroupId}' does not exist in this account and region. Check the id (ElastiCache stores ids in lowercase) and the region the workflow runs in.`,
        ),
      ],
      warnings: [],
    };
  }
  if (source.AtRestEncryptionEnabled) {
    return {
      outcome: 'already-encrypted',
      message: `Replication group '${source.ReplicationGroupId}' is already encrypted at rest${source.KmsKeyId ? ` with ${source.KmsKeyId}` : ' with an AWS owned key'}; nothing to do.`,
    };
  }
  const sourceVerdict = judge(SOURCE_RULES, { source });
  if (sourceVerdict.refusals.length > 0) return { outcome: 'refused', ...sourceVerdict };
  const details = facts.details;
  if (!details)
    throw new Error(
      'planMigration: the facts of an available source lack its details (readFacts reads them).',
    );

  const derived = derive(input, source, details.member);
  const { refusals, warnings } = judge(RULES, {
    input,
    migrationId,
    source,
    details,
    derived,
    settings,
    now,
  });
  if (refusals.length > 0) return { outcome: 'refused', refusals, warnings };
  return {
    outcome: 'planned',
    plan: buildPlan(input, migrationId, source, details, derived, warnings, settings),
  };
}

function buildPlan(
  input: MigrationInput,
  migrationId: string,
  source: ReplicationGroup,
  details: SourceDetails,
  derived: Derived,
  warnings: string[],
  settings: PreflightSettings,
): MigrationPlan {
  const member = details.member!;
  const kmsKeyArn = details.key.metadata!.Arn!;
  const shortId = shortIdOf(migrationId);
  const sourceId = source.ReplicationGroupId!;
  const shards = source.NodeGroups ?? [];
  const { transit, cutover } = derived;
  const snapshotName = intermediateSnapshotName(sourceId, shortId);

  // Every setting that will differ from the source's, with its reason (said in the plan and the
  // summary); the at-rest encryption itself is the point of the migration.
  const changes: MigrationPlan['changes'] = [
    {
      setting: 'AtRestEncryptionEnabled',
      from: 'false',
      to: `true (${kmsKeyArn})`,
      reason: 'the migration: at-rest encryption under a customer-managed key (Security Hub ElastiCache.4)',
    },
  ];
  const sourceTransit =
    source.TransitEncryptionEnabled === true ? (source.TransitEncryptionMode ?? 'required') : 'off';
  const targetTransit = transit.enabled ? (transit.mode ?? 'required') : 'off';
  if (sourceTransit !== targetTransit) {
    changes.push({
      setting: 'TransitEncryption',
      from: sourceTransit,
      to: targetTransit,
      reason: `transitEncryption: ${input.transitEncryption} in the input (use 'preserve' to keep the source's)`,
    });
  }
  const createRequest = buildCreateRequest({
    source,
    engine: derived.engine,
    member,
    targetId: derived.target.id,
    snapshotName,
    kmsKeyArn,
    transit,
    sourceTags: details.tags,
    migrationId,
    keepSourceSettings: input.keepSourceSettings,
    changes,
  });

  const backupFailureTopic = watchBackupFailures(input, member, settings, createRequest, changes, warnings);
  return {
    migrationId,
    shortId,
    source: {
      id: sourceId,
      arn: source.ARN!,
      engine: derived.engine,
      engineVersion: derived.engineVersion,
      nodeType: derived.nodeType,
      clusterEnabled: derived.clusterEnabled,
      shards: shards.length,
      replicasPerShard: Math.max(0, (shards[0]?.NodeGroupMembers?.length ?? 1) - 1),
      transitEncryption: source.TransitEncryptionEnabled === true,
      authTokenEnabled: source.AuthTokenEnabled === true,
      snapshotClusterId: derived.snapshotClusterId,
    },
    target: { id: derived.target.id, idDerivation: derived.target.how },
    ...(backupFailureTopic ? { backupFailureTopic } : {}),
    snapshotName,
    finalSnapshotName: finalSnapshotName(sourceId, shortId),
    kmsKeyArn,
    createRequest,
    authTokenSecretArn: input.authTokenSecretArn,
    dns: plannedRecords(input, source, details),
    options: {
      approvals:
        cutover.method === 'gate' && cutover.dataPolicy === 'exact'
          ? { ...input.approvals, beforeCutover: true }
          : input.approvals,
      cutover: input.cutover,
      soakSeconds: input.soakSeconds,
      deleteSource: input.deleteSource,
      keepIntermediateSnapshot: input.keepIntermediateSnapshot,
      pollIntervalSeconds: input.pollIntervalSeconds,
      timeouts: input.timeouts,
      verification: input.verification,
      writesFrozen: input.writesFrozen,
      dryRun: input.dryRun,
      alarms: input.alarms,
      backups: input.backups,
    },
    cutover,
    changes,
    warnings,
  };
}

/** The records as they are now (the dnsRecordsMovable rule proved each one points at the source). */
function plannedRecords(
  input: MigrationInput,
  source: ReplicationGroup,
  details: SourceDetails,
): PlannedRecord[] {
  return input.dnsRecords.map((record) => {
    const current = details.records[recordKey(record.hostedZoneId, record.recordName)]!;
    return {
      ...record,
      type: 'CNAME',
      originalValue: current.ResourceRecords![0]!.Value!,
      originalTtl: current.TTL ?? 300,
      sourceEndpoint: endpointOf(source, record.endpoint)!,
    };
  });
}

/**
 * The backup-failure watch of the recommended set (alarms.recommended). ElastiCache publishes no
 * CloudWatch metric for a failed backup, and node-based groups send no events to EventBridge; it
 * notifies `ElastiCache:SnapshotFailed` only to the group's SNS notification topic
 * (docs/aws-behaviour.md, CloudWatch). So the new group keeps the source's topic where it has an
 * active one, and otherwise gets the deployment's cache-events topic (unencrypted, as ElastiCache
 * requires), set in the create request itself: nothing else to create, the rollback's deletion of
 * the new group removes it, and a second run of the restore sends the same request.
 */
export function watchBackupFailures(
  input: MigrationInput,
  member: CacheCluster,
  settings: PreflightSettings,
  createRequest: Omit<CreateReplicationGroupCommandInput, 'AuthToken'>,
  changes: MigrationPlan['changes'],
  warnings: string[],
): MigrationPlan['backupFailureTopic'] {
  if (!input.alarms.recommended) return undefined;
  const current = member.NotificationConfiguration;
  if (current?.TopicArn && current.TopicStatus !== 'inactive') {
    createRequest.NotificationTopicArn = current.TopicArn;
    return { topicArn: current.TopicArn, from: 'source' };
  }
  if (!settings.cacheEventsTopicArn) {
    warnings.push(
      "Backup failures of the new group will not be notified: the source has no active SNS notification topic and this deployment has no cache-events topic (CACHE_EVENTS_TOPIC_ARN on the preflight function; redeploy the stack, infra/). Set the new group's notification topic by hand after the migration.",
    );
    return undefined;
  }
  createRequest.NotificationTopicArn = settings.cacheEventsTopicArn;
  changes.push({
    setting: 'NotificationTopicArn',
    from: current?.TopicArn ? `${current.TopicArn} (inactive)` : 'none',
    to: settings.cacheEventsTopicArn,
    reason:
      "alarms.recommended: ElastiCache reports a failed backup (ElastiCache:SnapshotFailed) only to the group's notification topic; the deployment's cache-events topic receives it",
  });
  return { topicArn: settings.cacheEventsTopicArn, from: 'deployment' };
}

/** The exact CreateReplicationGroup request that restores the snapshot into the new group. */
export function buildCreateRequest(p: {
  source: ReplicationGroup;
  engine: string;
  member: CacheCluster;
  targetId: string;
  snapshotName: string;
  kmsKeyArn: string;
  transit: Derived['transit'];
  sourceTags: Record<string, string>;
  migrationId: string;
  keepSourceSettings: readonly string[];
  changes: MigrationPlan['changes'];
}): Omit<CreateReplicationGroupCommandInput, 'AuthToken'> {
  const { source, member } = p;
  const clusterEnabled = source.ClusterEnabled === true;
  const nodeGroups = source.NodeGroups ?? [];
  const automaticFailover = source.AutomaticFailover === 'enabled' || source.AutomaticFailover === 'enabling';
  const keep = new Set(p.keepSourceSettings);
  const sourceRetention = source.SnapshotRetentionLimit ?? 0;
  const retention = keep.has('snapshotRetentionLimit')
    ? sourceRetention
    : Math.max(sourceRetention, MIN_BACKUP_RETENTION_DAYS);
  if (retention !== sourceRetention) {
    p.changes.push({
      setting: 'SnapshotRetentionLimit',
      from: String(sourceRetention),
      to: String(retention),
      reason: `automatic backups kept at least ${MIN_BACKUP_RETENTION_DAYS} days (Security Hub ElastiCache.1; docs/aws-behaviour.md, Backups)`,
      keepWith: 'snapshotRetentionLimit',
    });
  }
  const sourceMinorUpgrade = (member.AutoMinorVersionUpgrade ?? source.AutoMinorVersionUpgrade) !== false;
  const minorUpgrade = keep.has('autoMinorVersionUpgrade') ? sourceMinorUpgrade : true;
  if (minorUpgrade !== sourceMinorUpgrade) {
    p.changes.push({
      setting: 'AutoMinorVersionUpgrade',
      from: String(sourceMinorUpgrade),
      to: String(minorUpgrade),
      reason: 'minor engine versions applied automatically (Security Hub ElastiCache.2)',
      keepWith: 'autoMinorVersionUpgrade',
    });
  }
  // The seeds' backup window: at least 60 minutes, outside maintenance (backups.ts).
  const windowFix = backupWindowFix(source.SnapshotWindow, member.PreferredMaintenanceWindow);
  if (windowFix.window) {
    p.changes.push({
      setting: 'SnapshotWindow',
      from: source.SnapshotWindow ?? '',
      to: windowFix.window,
      reason: `${windowFix.problems.join('; ')}: backups need at least 60 minutes outside the maintenance window (docs/aws-behaviour.md, Backups)`,
    });
  }
  const keptTags = Object.entries(p.sourceTags)
    .filter(([key]) => !key.startsWith('aws:') && !key.startsWith('at-rest-migrator:'))
    .map(([Key, Value]) => ({ Key, Value }));
  const logDelivery: LogDeliveryConfigurationRequest[] = (source.LogDeliveryConfigurations ?? [])
    .filter((l) => l.Status !== 'disabling' && l.Status !== 'error')
    .map((l) => ({
      LogType: l.LogType,
      DestinationType: l.DestinationType,
      DestinationDetails: l.DestinationDetails,
      LogFormat: l.LogFormat,
      Enabled: true,
    }));
  const request: Omit<CreateReplicationGroupCommandInput, 'AuthToken'> = {
    ReplicationGroupId: p.targetId,
    ReplicationGroupDescription: (source.Description ?? p.targetId).slice(0, 255),
    SnapshotName: p.snapshotName,
    Engine: p.engine,
    CacheNodeType: source.CacheNodeType,
    CacheParameterGroupName: member.CacheParameterGroup?.CacheParameterGroupName,
    CacheSubnetGroupName: member.CacheSubnetGroupName,
    Port: member.CacheNodes?.[0]?.Endpoint?.Port ?? source.ConfigurationEndpoint?.Port,
    SecurityGroupIds: (member.SecurityGroups ?? []).map((g) => g.SecurityGroupId!).filter(Boolean),
    AutomaticFailoverEnabled: automaticFailover,
    MultiAZEnabled: source.MultiAZ === 'enabled',
    // Explicit, always: SCPs test the request parameter, and Redis OSS defaults to false (docs/aws-behaviour.md).
    AtRestEncryptionEnabled: true,
    KmsKeyId: p.kmsKeyArn,
    TransitEncryptionEnabled: p.transit.enabled,
    TransitEncryptionMode: p.transit.enabled ? p.transit.mode : undefined,
    UserGroupIds: source.UserGroupIds?.length ? source.UserGroupIds : undefined,
    LogDeliveryConfigurations: logDelivery.length ? logDelivery : undefined,
    NetworkType: source.NetworkType,
    IpDiscovery: source.IpDiscovery,
    ClusterMode: source.ClusterMode,
    SnapshotRetentionLimit: retention,
    SnapshotWindow: windowFix.window ?? source.SnapshotWindow,
    PreferredMaintenanceWindow: member.PreferredMaintenanceWindow,
    AutoMinorVersionUpgrade: minorUpgrade,
    Tags: [
      ...keptTags,
      { Key: TAG_MIGRATION_ID, Value: p.migrationId },
      { Key: TAG_ROLE, Value: 'target' },
      { Key: TAG_SOURCE, Value: source.ReplicationGroupId },
    ],
  };
  if (clusterEnabled) {
    // Always the whole shape: a cluster mode enabled snapshot restored without it is undocumented
    // (docs/aws-behaviour.md, Restore). Groups described before ClusterMode existed are `enabled`.
    request.ClusterMode = source.ClusterMode ?? 'enabled';
    request.NumNodeGroups = nodeGroups.length;
    request.ReplicasPerNodeGroup = Math.max(0, (nodeGroups[0]?.NodeGroupMembers?.length ?? 1) - 1);
    request.NodeGroupConfiguration = nodeGroups.map((ng) => {
      const azs = (ng.NodeGroupMembers ?? [])
        .map((m) => m.PreferredAvailabilityZone)
        .filter((az): az is string => !!az);
      return {
        NodeGroupId: ng.NodeGroupId,
        Slots: ng.Slots,
        ReplicaCount: Math.max(0, (ng.NodeGroupMembers?.length ?? 1) - 1),
        PrimaryAvailabilityZone: azs[0],
        ReplicaAvailabilityZones: azs.slice(1),
      };
    });
  } else {
    const members = nodeGroups[0]?.NodeGroupMembers ?? [];
    const ordered = [...members].sort((a, b) =>
      a.CurrentRole === 'primary' ? -1 : b.CurrentRole === 'primary' ? 1 : 0,
    );
    request.NumCacheClusters = members.length;
    const azs = ordered.map((m) => m.PreferredAvailabilityZone).filter((az): az is string => !!az);
    if (azs.length === members.length) request.PreferredCacheClusterAZs = azs;
  }
  return request;
}
