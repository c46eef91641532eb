import type { ReplicationGroup } from '@aws-sdk/client-elasticache';
import {
  AuthTokenError,
  CloudFormationManagedError,
  DnsRecordMismatchError,
  EncryptionNotSupportedError,
  GlobalDatastoreMemberError,
  HostedZoneNotAllowedError,
  InvalidInputError,
  KmsKeyNotUsableError,
  MigrationInProgressError,
  SnapshotQuotaError,
  SourceNotAvailableError,
  TargetIdTakenError,
  TransitEncryptionPolicyError,
} from '../../shared/errors.js';
import { endpointOf, sameHost } from '../aws.js';
import { checkClaim } from '../claim.js';
import type { MigrationInput } from '../input.js';
import { TAG_MIGRATION_ID } from '../naming.js';
import { versionAtLeast } from '../versions.js';
import { headroomFindings, windowFindings } from './backups.js';
import { canPauseWrites, type Derived, transitModeSupported } from './derive.js';
import { type PreflightSettings, recordKey, type SourceDetails } from './reads.js';

/**
 * Preflight's rules: each a small pure function from the facts (reads.ts) to refusals and
 * warnings. A refusal is the error the execution fails with; preflight throws the first one, in
 * list order, so the order is the order an operator meets them in. To add a rule, write one and
 * put it in the list where it belongs; test it as a compliant / non-compliant pair
 * (test/lambdas/migration/preflight/rules.test.ts).
 */
export type Finding = { refusal: Error } | { warning: string };

export interface Rule<C> {
  /** Names the rule in tests and in the report. */
  id: string;
  check(context: C): Finding[];
}

/** What the source rules see: the source group alone (the rest is read only when they pass). */
export interface SourceContext {
  source: ReplicationGroup;
}

/** What the migration rules see. */
export interface RuleContext {
  input: MigrationInput;
  migrationId: string;
  source: ReplicationGroup;
  details: SourceDetails;
  derived: Derived;
  settings: PreflightSettings;
  /** Now, in milliseconds (the 24-hour backup quota window ends here). */
  now: number;
}

export const refuse = (refusal: Error): Finding[] => [{ refusal }];
export const warn = (warning: string): Finding[] => [{ warning }];
const ok: Finding[] = [];

/** At most 20 manual backups per node per 24 hours (docs/aws-behaviour.md: Snapshot). */
export const SNAPSHOT_QUOTA = 20;

export const globalDatastoreMember: Rule<SourceContext> = {
  id: 'global-datastore-member',
  check: ({ source }) => {
    const datastore = source.GlobalReplicationGroupInfo?.GlobalReplicationGroupId;
    if (!datastore) return ok;
    return refuse(
      new GlobalDatastoreMemberError(
        `Replication group '${source.ReplicationGroupId}' is a member of Global Datastore '${datastore}'. Members cannot be restored from a snapshot into the datastore; remove it from the Global Datastore first or migrate the datastore by hand.`,
      ),
    );
  },
};

export const sourceAvailable: Rule<SourceContext> = {
  id: 'source-available',
  check: ({ source }) =>
    source.Status === 'available'
      ? ok
      : refuse(
          new SourceNotAvailableError(
            source.Status === 'snapshotting'
              ? `Replication group '${source.ReplicationGroupId}' is 'snapshotting': a backup (its daily backup window at ${source.SnapshotWindow ?? 'an unknown time'} UTC, or a manual one) outlasted preflight's wait. Start the migration again when it is 'available', away from the backup window.`
              : `Replication group '${source.ReplicationGroupId}' is '${source.Status}'. Start the migration again when it is 'available'.`,
          ),
        ),
};

/** Judged on the source alone, before anything else is read. */
export const SOURCE_RULES: readonly Rule<SourceContext>[] = [globalDatastoreMember, sourceAvailable];

export const sourceHasMembers: Rule<RuleContext> = {
  id: 'source-has-members',
  check: ({ source, details }) =>
    details.member
      ? ok
      : refuse(
          new SourceNotAvailableError(
            `Replication group '${source.ReplicationGroupId}' has no member clusters.`,
          ),
        ),
};

/**
 * At-rest encryption needs Valkey 7.2+ or Redis OSS 4.0.10+; cache.t1.micro cannot be backed up,
 * so it cannot be migrated by snapshot (docs/aws-behaviour.md: Engines; Snapshot).
 */
export const engineEncryptable: Rule<RuleContext> = {
  id: 'engine-encryptable',
  check: ({ source, derived: { engine, engineVersion, nodeType } }) => {
    const id = source.ReplicationGroupId;
    const minimum = engine === 'valkey' ? '7.2' : '4.0.10';
    if (engine !== 'redis' && engine !== 'valkey') {
      return refuse(
        new EncryptionNotSupportedError(
          `Replication group '${id}' runs engine '${engine}'; only Redis OSS and Valkey are supported.`,
        ),
      );
    }
    if (!versionAtLeast(engineVersion, minimum)) {
      return refuse(
        new EncryptionNotSupportedError(
          `Replication group '${id}' runs ${engine} ${engineVersion}; at-rest encryption needs ${engine} ${minimum} or later. Upgrade the engine first, then migrate.`,
        ),
      );
    }
    if (nodeType === 'cache.t1.micro') {
      return refuse(
        new EncryptionNotSupportedError(
          `Replication group '${id}' uses cache.t1.micro nodes, which cannot be backed up. Scale it to a current node type first.`,
        ),
      );
    }
    return ok;
  },
};

/** The claim item decides (lambdas/migration/claim.ts): a migration under way refuses this one. */
export const notClaimed: Rule<RuleContext> = {
  id: 'not-claimed',
  check: ({ source, details, migrationId, input }) => {
    try {
      checkClaim(details.claim, {
        sourceArn: source.ARN!,
        sourceId: source.ReplicationGroupId!,
        migrationId,
        takeOver: input.takeOverStaleClaim,
      });
      return ok;
    } catch (error) {
      return refuse(error as Error);
    }
  },
};

/** The claim tag, for a migration started by an older version of this tool (before the table). */
export const notTaggedByAnother: Rule<RuleContext> = {
  id: 'not-tagged-by-another-migration',
  check: ({ source, details, migrationId, input }) => {
    const claimedBy = details.tags[TAG_MIGRATION_ID];
    if (!claimedBy || claimedBy === migrationId || claimedBy === input.takeOverStaleClaim) return ok;
    return refuse(
      new MigrationInProgressError(
        `Replication group '${source.ReplicationGroupId}' is already being migrated by execution '${claimedBy}'. Wait for it to finish; if it is gone and left the tag ${TAG_MIGRATION_ID} behind, start again with takeOverStaleClaim: '${claimedBy}' (runbooks/failures.md, MigrationInProgressError).`,
      ),
    );
  },
};

export const cloudFormationManaged: Rule<RuleContext> = {
  id: 'cloudformation-managed',
  check: ({ source, details, input }) => {
    const stack = details.tags['aws:cloudformation:stack-name'];
    if (!stack) return ok;
    if (!input.allowCloudFormationManaged) {
      return refuse(
        new CloudFormationManagedError(
          `Replication group '${source.ReplicationGroupId}' belongs to CloudFormation stack '${stack}'. Migrating it outside the stack makes the stack drift; change the stack instead, or start again with allowCloudFormationManaged: true.`,
        ),
      );
    }
    return warn(`Stack '${stack}' will drift: its replication group is replaced outside CloudFormation.`);
  },
};

/** A symmetric, enabled, customer managed key (docs/aws-behaviour.md: KMS). */
export const kmsKeyUsable: Rule<RuleContext> = {
  id: 'kms-key-usable',
  check: ({ details: { key } }) => {
    if (!key.requested) {
      return refuse(
        new InvalidInputError(
          'No kmsKeyId was given and the deployment defines no default key (DEFAULT_KMS_KEY_ID).',
        ),
      );
    }
    const metadata = key.metadata;
    if (!metadata) {
      return refuse(
        new KmsKeyNotUsableError(`KMS key '${key.requested}' does not exist in this account and region.`),
      );
    }
    if (!metadata.Arn)
      return refuse(new KmsKeyNotUsableError(`KMS key '${key.requested}' could not be described.`));
    if (metadata.KeyState !== 'Enabled') {
      return refuse(
        new KmsKeyNotUsableError(
          `KMS key ${metadata.Arn} is ${metadata.KeyState}. ElastiCache cannot use it, and a cache under a disabled key is unrecoverable: enable the key or choose another.`,
        ),
      );
    }
    if (
      (metadata.KeySpec ?? metadata.CustomerMasterKeySpec) !== 'SYMMETRIC_DEFAULT' ||
      metadata.KeyUsage !== 'ENCRYPT_DECRYPT'
    ) {
      return refuse(
        new KmsKeyNotUsableError(
          `KMS key ${metadata.Arn} is not a symmetric encryption key; ElastiCache needs one.`,
        ),
      );
    }
    if (metadata.KeyManager !== 'CUSTOMER') {
      return refuse(
        new KmsKeyNotUsableError(
          `KMS key ${metadata.Arn} is AWS managed; at-rest encryption here needs a customer managed key.`,
        ),
      );
    }
    return ok;
  },
};

/** The subnet group and the user groups the new group is created with exist (proved by reading). */
export const networkGroupsExist: Rule<RuleContext> = {
  id: 'network-groups-exist',
  check: ({ source, details }) => {
    const findings: Finding[] = [];
    const subnet = details.subnetGroup;
    if (subnet && !subnet.exists) {
      findings.push({
        refusal: new SourceNotAvailableError(
          `The cache subnet group '${subnet.name}' of replication group '${source.ReplicationGroupId}' does not exist, so the new group cannot be created in it. Check the subnet group, then start again.`,
        ),
      });
    }
    const missing = Object.entries(details.userGroups)
      .filter(([, exists]) => !exists)
      .map(([id]) => id);
    if (missing.length > 0) {
      findings.push({
        refusal: new SourceNotAvailableError(
          `The user group${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of replication group '${source.ReplicationGroupId}' ${missing.length > 1 ? 'do' : 'does'} not exist, so the new group cannot use ${missing.length > 1 ? 'them' : 'it'}. Recreate ${missing.length > 1 ? 'them' : 'it'} or change the source's user groups, then start again.`,
        ),
      });
    }
    return findings;
  },
};

export const derivedTargetName: Rule<RuleContext> = {
  id: 'derived-target-name',
  check: ({ source, derived: { target } }) =>
    target.alternate
      ? warn(
          `No targetReplicationGroupId was given and '${source.ReplicationGroupId}-atrest' would not fit in 40 characters, so the new group is named '${target.id}' (${target.how}).`,
        )
      : ok,
};

export const targetDiffersFromSource: Rule<RuleContext> = {
  id: 'target-differs-from-source',
  check: ({ source, derived: { target } }) =>
    target.id === source.ReplicationGroupId
      ? refuse(
          new InvalidInputError(
            'targetReplicationGroupId must differ from sourceReplicationGroupId: groups cannot be renamed.',
          ),
        )
      : ok,
};

/** A group with the target id may exist only as this migration's own (a retried step). */
export const targetIdFree: Rule<RuleContext> = {
  id: 'target-id-free',
  check: ({ details: { target }, migrationId }) =>
    target.existing && target.existingTags?.[TAG_MIGRATION_ID] !== migrationId
      ? refuse(
          new TargetIdTakenError(
            `A replication group named '${target.id}' already exists and was not created by this migration. Choose another targetReplicationGroupId.`,
          ),
        )
      : ok,
};

/** Each record: listed once, in a zone this deployment may change, a plain CNAME pointing at the source. */
export const dnsRecordsMovable: Rule<RuleContext> = {
  id: 'dns-records-movable',
  check: ({ input, source, details, derived: { clusterEnabled }, settings }) => {
    const findings: Finding[] = [];
    const seen = new Set<string>();
    const allowed = settings.allowedHostedZoneIds;
    for (const record of input.dnsRecords) {
      const key = recordKey(record.hostedZoneId, record.recordName);
      const problem = (() => {
        if (seen.has(key)) {
          return new InvalidInputError(
            `dnsRecords lists ${record.recordName} in ${record.hostedZoneId} twice.`,
          );
        }
        seen.add(key);
        if (allowed.length > 0 && !allowed.includes(record.hostedZoneId)) {
          return new HostedZoneNotAllowedError(
            `Hosted zone ${record.hostedZoneId} is not one this deployment may change (allowed: ${allowed.join(', ')}). Add it to the deployment configuration.`,
          );
        }
        if (clusterEnabled !== (record.endpoint === 'configuration')) {
          return new InvalidInputError(
            clusterEnabled
              ? `Record ${record.recordName}: a cluster mode enabled group is reached through its configuration endpoint; set endpoint: configuration.`
              : `Record ${record.recordName}: a cluster mode disabled group has no configuration endpoint; use primary or reader.`,
          );
        }
        if (!details.zones[record.hostedZoneId]) {
          return new DnsRecordMismatchError(`Hosted zone ${record.hostedZoneId} does not exist.`);
        }
        const current = details.records[key];
        const sourceEndpoint = endpointOf(source, record.endpoint);
        const value = current?.ResourceRecords?.[0]?.Value;
        if (!current || !sourceEndpoint || !sameHost(value, sourceEndpoint)) {
          return new DnsRecordMismatchError(
            current
              ? `CNAME ${record.recordName} points at '${value}', not at the ${record.endpoint} endpoint of '${source.ReplicationGroupId}' (${sourceEndpoint}). Moving it would redirect other clients: fix the record list.`
              : `There is no CNAME ${record.recordName} in hosted zone ${record.hostedZoneId}. Records must exist and point at the source group.`,
          );
        }
        if (current.AliasTarget || current.SetIdentifier) {
          return new DnsRecordMismatchError(
            `Record ${record.recordName} uses routing policies or alias targets, which this tool does not move.`,
          );
        }
        return undefined;
      })();
      if (problem) findings.push({ refusal: problem });
    }
    return findings;
  },
};

/** The intermediate snapshot needs one more manual backup on the nodes it is taken from. */
export const snapshotQuota: Rule<RuleContext> = {
  id: 'snapshot-quota',
  check: ({ details, derived: { quotaNodeIds }, now }) => {
    const dayAgo = now - 24 * 3600_000;
    const counts = new Map<string, number>();
    for (const snapshot of details.manualSnapshots) {
      for (const node of snapshot.NodeSnapshots ?? []) {
        if (!node.CacheClusterId || (node.SnapshotCreateTime?.getTime() ?? 0) < dayAgo) continue;
        counts.set(node.CacheClusterId, (counts.get(node.CacheClusterId) ?? 0) + 1);
      }
    }
    for (const [node, count] of counts) {
      if ((quotaNodeIds === undefined || quotaNodeIds.includes(node)) && count + 1 > SNAPSHOT_QUOTA) {
        return refuse(
          new SnapshotQuotaError(
            `Node ${node} already has ${count} manual backups in the last 24 hours (quota ${SNAPSHOT_QUOTA}); the migration needs one more. Start it again later.`,
          ),
        );
      }
    }
    return ok;
  },
};

export const transitEncryptionPolicy: Rule<RuleContext> = {
  id: 'transit-encryption-policy',
  check: ({ input, source, derived: { engine, engineVersion } }) => {
    if (input.transitEncryption === 'preserve') return ok;
    if (input.transitEncryption === 'preferred' && !transitModeSupported(engine, engineVersion)) {
      return refuse(
        new TransitEncryptionPolicyError(
          `transitEncryption 'preferred' needs ${engine} ${engine === 'valkey' ? '7.2' : '7.0'} or later; the source runs ${engineVersion}. Use 'preserve' or 'required'.`,
        ),
      );
    }
    if (source.TransitEncryptionEnabled !== true && input.transitEncryption === 'required') {
      return warn(
        'The new group requires TLS: every client that does not speak TLS yet fails after cutover.',
      );
    }
    return ok;
  },
};

/** The AUTH token: given when the source uses one, usable, not next to user groups, accepted by the source. */
export const authToken: Rule<RuleContext> = {
  id: 'auth-token',
  check: ({ input, source, details, derived: { transit } }) => {
    const id = source.ReplicationGroupId;
    if (source.AuthTokenEnabled && !input.authTokenSecretArn) {
      return refuse(
        new AuthTokenError(
          `Replication group '${id}' uses an AUTH token, which ElastiCache never returns. Store the token in Secrets Manager and pass its ARN as authTokenSecretArn.`,
        ),
      );
    }
    const fact = details.authToken;
    if (!input.authTokenSecretArn || !fact) return ok;
    if (!transit.enabled) {
      return refuse(
        new AuthTokenError(
          'An AUTH token needs in-transit encryption; set transitEncryption to preferred or required.',
        ),
      );
    }
    if (fact.problem) return refuse(new AuthTokenError(fact.problem));
    if (!source.AuthTokenEnabled && (source.UserGroupIds?.length ?? 0) > 0) {
      // AUTH and RBAC user groups are alternatives on AWS (docs/aws-behaviour.md, "AUTH and user
      // groups"): the new group keeps the source's user groups, so it cannot take a token too.
      return refuse(
        new AuthTokenError(
          `Replication group '${id}' authenticates with user groups (${source.UserGroupIds!.join(', ')}); AUTH tokens and user groups are alternatives. Start again without authTokenSecretArn: the new group keeps the user groups.`,
        ),
      );
    }
    const proof = fact.proof;
    if (!proof || proof.outcome === 'accepted') return ok;
    if (proof.outcome === 'refused') {
      return refuse(
        new AuthTokenError(
          `Replication group '${id}' refused the AUTH token in ${fact.secretArn} (${proof.reply.split('\n')[0]}). Put the source's current token in that secret, then start again.`,
        ),
      );
    }
    return refuse(
      new SourceNotAvailableError(
        `Preflight could not reach replication group '${id}' over Redis to check the AUTH token in ${fact.secretArn}: ${proof.reply}. Check that the preflight function's security group may reach the cache port and that the cache's security group lets it in.`,
      ),
    );
  },
};

export const tlsThroughCname: Rule<RuleContext> = {
  id: 'tls-through-cname',
  check: ({ input, derived: { transit } }) =>
    transit.enabled && input.dnsRecords.length > 0
      ? warn(
          'Clients that verify TLS host names fail through a custom CNAME: ElastiCache certificates cover *.cache.amazonaws.com only.',
        )
      : ok,
};

export const automaticFailover: Rule<RuleContext> = {
  id: 'automatic-failover',
  check: ({ source }) =>
    source.AutomaticFailover === 'enabled' || source.AutomaticFailover === 'enabling'
      ? ok
      : warn(
          'The source has no automatic failover (Security Hub ElastiCache.3); the new group keeps that setting.',
        ),
};

export const defaultSubnetGroup: Rule<RuleContext> = {
  id: 'default-subnet-group',
  check: ({ details }) =>
    details.member?.CacheSubnetGroupName === 'default'
      ? warn('The source uses the default subnet group (Security Hub ElastiCache.7); the new group keeps it.')
      : ok,
};

/** Every cutover weaker than a held write freeze with change tracking is said. */
export const cutoverMethod: Rule<RuleContext> = {
  id: 'cutover-method',
  check: ({ input, derived: { cutover, engine, engineVersion } }) => {
    if (cutover.dataPolicy === 'snapshot-only') {
      return warn(
        "Data policy 'snapshot-only' (verification.mode: off): the new group gets what the snapshot holds. Writes made to the source after the snapshot are NOT carried over, the source's writes are not held at cutover, and no data is checked. Use it only for a cache that may lose them.",
      );
    }
    const findings: Finding[] = [];
    if (cutover.method === 'gate') {
      findings.push({
        warning: `${canPauseWrites(engine, engineVersion) ? 'pauseWrites is false' : `${engine} ${engineVersion} has no CLIENT PAUSE WRITE (Redis OSS 6.2+ / Valkey)`}: the workflow cannot hold the source's writes at cutover. The beforeCutover approval is on: approve it only once the application has stopped writing; the final check then tolerates no difference at all, and a rollback after the flip keeps the new group.`,
      });
    }
    if (input.cutover.changeTracking && !cutover.changeTracking) {
      findings.push({
        warning: 'changeTracking is ignored: without a write freeze there is no final delta to track.',
      });
    }
    if (cutover.changeTracking) {
      findings.push({
        warning:
          "Change tracking: keyspace notifications (notify-keyspace-events KEA) are turned on in the source's parameter group for the migration (a default group is replaced by a copy of it) and put back at the end and on rollback.",
      });
    }
    return findings;
  },
};

/**
 * Backup headroom: `reserved-memory-percent` 25 (or `reserved-memory` a quarter of the node's
 * memory); a warning, a refusal with `backups.refuseLowHeadroom` (backups.ts).
 */
export const backupHeadroom: Rule<RuleContext> = { id: 'backup-headroom', check: headroomFindings };

/** Backup window: at least 60 minutes, outside the maintenance window (backups.ts). */
export const backupWindow: Rule<RuleContext> = { id: 'backup-window', check: windowFindings };

/** Judged once the source passed SOURCE_RULES and the rest was read, in this order. */
export const RULES: readonly Rule<RuleContext>[] = [
  sourceHasMembers,
  engineEncryptable,
  notClaimed,
  notTaggedByAnother,
  cloudFormationManaged,
  kmsKeyUsable,
  networkGroupsExist,
  derivedTargetName,
  targetDiffersFromSource,
  targetIdFree,
  dnsRecordsMovable,
  snapshotQuota,
  backupHeadroom,
  transitEncryptionPolicy,
  authToken,
  tlsThroughCname,
  automaticFailover,
  defaultSubnetGroup,
  backupWindow,
  cutoverMethod,
];

/** Runs rules in order and sorts their findings. */
export function judge<C>(rules: readonly Rule<C>[], context: C): { refusals: Error[]; warnings: string[] } {
  const refusals: Error[] = [];
  const warnings: string[] = [];
  for (const rule of rules) {
    for (const finding of rule.check(context)) {
      if ('refusal' in finding) refusals.push(finding.refusal);
      else warnings.push(finding.warning);
    }
  }
  return { refusals, warnings };
}
