import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import {
  type FunctionName,
  ROLE_INTERMEDIATE_SNAPSHOT,
  ROLE_SOURCE,
  ROLE_SOURCE_ALARM,
  ROLE_TARGET,
  TAG_MIGRATION_ID,
  TAG_ROLE,
  TAG_SECRET_ALLOWED,
} from '../../statemachine/manifest.js';
import { ALARM_NAME_PATTERN, FINAL_SNAPSHOT_PATTERN, INTERMEDIATE_SNAPSHOT_PATTERN } from './tags.js';

/**
 * Least-privilege IAM statements for each step of the workflow, in one place so that a reviewer can
 * read every permission the migrator holds, and the tests can check each one.
 *
 * Sources for the scopes chosen here:
 * - ElastiCache actions, resource types and condition keys:
 *   https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticache.html
 * - Route 53: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonroute53.html
 *   and https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/specifying-rrset-conditions.html
 * - KMS: https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource
 * - Secrets Manager: https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_examples.html
 * - CloudWatch: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html
 *   and https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_alarms_and_tagging.html
 */

/** Where the statements apply and what they may touch. */
export interface PermissionScope {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  /** The default key and any additional keys operators may choose for targets. */
  readonly cacheKeyArns: readonly string[];
  /** Hosted zones with the normalized record names the tool may change in each. */
  readonly hostedZones: ReadonlyArray<{
    readonly id: string;
    readonly normalizedRecordNames: readonly string[];
  }>;
  /** Customer-managed keys that encrypt the AUTH-token secrets. */
  readonly secretKmsKeyArns: readonly string[];
}

/**
 * Read-only ElastiCache calls. Resource `*`: these are List/Read actions the workflow calls on
 * groups, clusters and snapshots it does not know in advance (the operator names the source; the
 * target may be named by the operator). Describe calls without an identifier are authorized
 * against `*`, so a narrower ARN would break listing.
 */
const ELASTICACHE_READ = [
  'elasticache:DescribeReplicationGroups',
  'elasticache:DescribeCacheClusters',
  'elasticache:DescribeSnapshots',
] as const;

function elasticacheArn(scope: PermissionScope, resource: string): string {
  return `arn:${scope.partition}:elasticache:${scope.region}:${scope.account}:${resource}`;
}

function hostedZoneArn(scope: PermissionScope, id: string): string {
  return `arn:${scope.partition}:route53:::hostedzone/${id}`;
}

function elasticacheRead(sid: string, ...extra: string[]): PolicyStatement {
  return new PolicyStatement({
    sid,
    effect: Effect.ALLOW,
    actions: [...ELASTICACHE_READ, ...extra],
    resources: ['*'],
  });
}

/**
 * Change tracking: creates the copy of a default parameter group, sets `notify-keyspace-events`
 * in it (or in the source's custom group) and moves the source to it and back. Parameter groups
 * carry none of the tool's tags, so they are named by pattern only; the group moved is narrowed
 * to marked sources.
 */
function manageTrackingParameterGroups(scope: PermissionScope): PolicyStatement[] {
  return [
    new PolicyStatement({
      sid: 'ManageTrackingParameterGroups',
      actions: [
        'elasticache:CreateCacheParameterGroup',
        'elasticache:ModifyCacheParameterGroup',
        'elasticache:DeleteCacheParameterGroup',
        'elasticache:DescribeCacheParameters',
        'elasticache:DescribeCacheParameterGroups',
        'elasticache:ModifyReplicationGroup',
      ],
      resources: [elasticacheArn(scope, 'parametergroup:*')],
    }),
    new PolicyStatement({
      sid: 'MoveMarkedSourceParameterGroup',
      actions: ['elasticache:ModifyReplicationGroup'],
      resources: [elasticacheArn(scope, 'replicationgroup:*')],
      conditions: { StringEquals: { [`aws:ResourceTag/${TAG_ROLE}`]: ROLE_SOURCE } },
    }),
  ];
}

function listTags(): PolicyStatement {
  return new PolicyStatement({
    sid: 'ReadCacheTags',
    actions: ['elasticache:ListTagsForResource'],
    resources: ['*'],
  });
}

function describeCacheKeys(scope: PermissionScope): PolicyStatement {
  return new PolicyStatement({
    sid: 'DescribeCacheKeys',
    actions: ['kms:DescribeKey'],
    resources: [...scope.cacheKeyArns],
  });
}

/**
 * ElastiCache creates one grant per cache and per backup, with the caller's credentials. The grant
 * is only allowed when an AWS service creates it for a resource (`kms:GrantIsForAWSResource`), and
 * only through ElastiCache (whose `kms:ViaService` value must list DAX as well, per docs/aws-behaviour.md).
 */
function createGrantForElastiCache(scope: PermissionScope): PolicyStatement {
  return new PolicyStatement({
    sid: 'CreateGrantForElastiCache',
    actions: ['kms:CreateGrant'],
    resources: [...scope.cacheKeyArns],
    conditions: {
      Bool: { 'kms:GrantIsForAWSResource': 'true' },
      'ForAnyValue:StringEquals': {
        'kms:ViaService': [`elasticache.${scope.region}.amazonaws.com`, `dax.${scope.region}.amazonaws.com`],
      },
    },
  });
}

/**
 * AUTH tokens: only secrets an operator tagged `at-rest-migrator:allowed=true`, in this account and
 * Region. Tag-based rather than a name prefix so that existing secrets need no renaming.
 */
function readAllowedSecrets(scope: PermissionScope): PolicyStatement[] {
  const statements = [
    new PolicyStatement({
      sid: 'ReadTaggedAuthTokenSecrets',
      actions: ['secretsmanager:GetSecretValue'],
      resources: [`arn:${scope.partition}:secretsmanager:${scope.region}:${scope.account}:secret:*`],
      conditions: { StringEquals: { [`aws:ResourceTag/${TAG_SECRET_ALLOWED}`]: 'true' } },
    }),
  ];
  if (scope.secretKmsKeyArns.length > 0) {
    statements.push(
      new PolicyStatement({
        sid: 'DecryptSecretsThroughSecretsManager',
        actions: ['kms:Decrypt'],
        resources: [...scope.secretKmsKeyArns],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${scope.region}.amazonaws.com` } },
      }),
    );
  }
  return statements;
}

/**
 * UPSERT of CNAME records, only in the configured zones and only for the configured names. One
 * statement per zone, so a name allowed in one zone cannot be changed in another. The `Null` test
 * keeps the `ForAllValues` operators from matching a request that carries no values.
 */
function changeCutoverRecords(scope: PermissionScope): PolicyStatement[] {
  return scope.hostedZones.map(
    (zone, index) =>
      new PolicyStatement({
        sid: `UpsertCutoverRecordsZone${index}`,
        actions: ['route53:ChangeResourceRecordSets'],
        resources: [hostedZoneArn(scope, zone.id)],
        conditions: {
          'ForAllValues:StringEquals': {
            'route53:ChangeResourceRecordSetsNormalizedRecordNames': [...zone.normalizedRecordNames],
            'route53:ChangeResourceRecordSetsRecordTypes': ['CNAME'],
            'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
          },
          Null: {
            'route53:ChangeResourceRecordSetsNormalizedRecordNames': 'false',
            'route53:ChangeResourceRecordSetsRecordTypes': 'false',
            'route53:ChangeResourceRecordSetsActions': 'false',
          },
        },
      }),
  );
}

function readCutoverZones(scope: PermissionScope, actions: string[]): PolicyStatement {
  return new PolicyStatement({
    sid: 'ReadConfiguredZones',
    actions,
    resources: scope.hostedZones.map((zone) => hostedZoneArn(scope, zone.id)),
  });
}

/** Change IDs are generated by Route 53, so they cannot be known ahead: `change/*`. */
function getChange(scope: PermissionScope): PolicyStatement {
  return new PolicyStatement({
    sid: 'WaitForDnsChange',
    actions: ['route53:GetChange'],
    resources: [`arn:${scope.partition}:route53:::change/*`],
  });
}

/**
 * Intermediate snapshots (`<source>-mig-<id>`) that a migration tagged as such when it took them.
 * Final snapshots and operators' own backups never carry that tag.
 */
function deleteIntermediateSnapshots(scope: PermissionScope): PolicyStatement {
  return new PolicyStatement({
    sid: 'DeleteIntermediateSnapshots',
    actions: ['elasticache:DeleteSnapshot'],
    resources: [elasticacheArn(scope, `snapshot:${INTERMEDIATE_SNAPSHOT_PATTERN}`)],
    conditions: {
      StringEquals: { [`aws:ResourceTag/${TAG_ROLE}`]: ROLE_INTERMEDIATE_SNAPSHOT },
      Null: { [`aws:ResourceTag/${TAG_MIGRATION_ID}`]: 'false' },
    },
  });
}

/**
 * Removes a migration's claim from a source it did not delete (rollback, or a migration that keeps
 * the source): only the two tool tags, only from groups marked as sources.
 */
function releaseSourceClaim(scope: PermissionScope): PolicyStatement {
  return new PolicyStatement({
    sid: 'ReleaseSourceClaim',
    actions: ['elasticache:RemoveTagsFromResource'],
    resources: [elasticacheArn(scope, 'replicationgroup:*')],
    conditions: {
      'ForAllValues:StringEquals': { 'aws:TagKeys': [TAG_ROLE, TAG_MIGRATION_ID] },
      StringEquals: { [`aws:ResourceTag/${TAG_ROLE}`]: ROLE_SOURCE },
    },
  });
}

function alarmArn(scope: PermissionScope, name: string): string {
  return `arn:${scope.partition}:cloudwatch:${scope.region}:${scope.account}:alarm:${name}`;
}

/**
 * CloudWatch alarms. Reading is account-wide (the source's alarms have operators' names; the
 * workflow finds them by their dimensions). Writing is limited to alarms named with the tool's
 * prefix (what a migration creates; PutMetricAlarm with Tags needs TagResource too) and to
 * marking, deleting and unmarking the source's alarms through the two tool tags: a source alarm
 * can be deleted only once it carries the `source-alarm` mark.
 */
function readAlarms(scope: PermissionScope): PolicyStatement {
  return new PolicyStatement({
    sid: 'ReadAlarms',
    actions: ['cloudwatch:DescribeAlarms', 'cloudwatch:ListTagsForResource'],
    resources: [alarmArn(scope, '*')],
  });
}

function writeOwnAlarms(scope: PermissionScope): PolicyStatement {
  return new PolicyStatement({
    sid: 'WriteMigrationAlarms',
    actions: ['cloudwatch:PutMetricAlarm', 'cloudwatch:TagResource', 'cloudwatch:DeleteAlarms'],
    resources: [alarmArn(scope, ALARM_NAME_PATTERN)],
  });
}

function markSourceAlarms(scope: PermissionScope, actions: string[]): PolicyStatement {
  return new PolicyStatement({
    sid: 'MarkSourceAlarms',
    actions,
    resources: [alarmArn(scope, '*')],
    conditions: {
      'ForAllValues:StringEquals': { 'aws:TagKeys': [TAG_ROLE, TAG_MIGRATION_ID] },
      ...(actions.includes('cloudwatch:TagResource')
        ? { StringEquals: { [`aws:RequestTag/${TAG_ROLE}`]: ROLE_SOURCE_ALARM } }
        : { StringEquals: { [`aws:ResourceTag/${TAG_ROLE}`]: ROLE_SOURCE_ALARM } }),
    },
  });
}

function deleteMarkedSourceAlarms(scope: PermissionScope): PolicyStatement {
  return new PolicyStatement({
    sid: 'DeleteMarkedSourceAlarms',
    actions: ['cloudwatch:DeleteAlarms'],
    resources: [alarmArn(scope, '*')],
    conditions: {
      StringEquals: { [`aws:ResourceTag/${TAG_ROLE}`]: ROLE_SOURCE_ALARM },
      Null: { [`aws:ResourceTag/${TAG_MIGRATION_ID}`]: 'false' },
    },
  });
}

export const permissions = {
  /**
   * The source's claim in the migrations table: preflight reads and takes it (GetItem, a
   * conditional PutItem), decommission and rollback delete it (a conditional DeleteItem). Only
   * that table, only item actions.
   */
  claimSource(
    tableArn: string,
    actions: ReadonlyArray<'dynamodb:GetItem' | 'dynamodb:PutItem' | 'dynamodb:DeleteItem'>,
  ): PolicyStatement[] {
    return [new PolicyStatement({ sid: 'ClaimSourceGroup', actions: [...actions], resources: [tableArn] })];
  },

  /**
   * Checks the source, the key and the DNS records; reads the AUTH token to test it. The key is
   * described by ARN or alias; a key outside the configured ones is refused here, early.
   */
  preflight(scope: PermissionScope): PolicyStatement[] {
    return [
      // DescribeCacheParameters: the source's backup headroom (reserved-memory-percent); the subnet
      // and user groups: it proves that the new group's exist.
      elasticacheRead(
        'ReadCaches',
        'elasticache:DescribeCacheParameters',
        'elasticache:DescribeCacheSubnetGroups',
        'elasticache:DescribeUserGroups',
      ),
      listTags(),
      readCutoverZones(scope, ['route53:GetHostedZone', 'route53:ListResourceRecordSets']),
      describeCacheKeys(scope),
      ...readAllowedSecrets(scope),
    ];
  },

  /** Marks the source as a migration source, then backs it up into `<source>-mig-<id>`. */
  snapshot(scope: PermissionScope): PolicyStatement[] {
    return [
      elasticacheRead('ReadCaches'),
      listTags(),
      new PolicyStatement({
        // Marking a group as a source is what later allows its deletion, so only the two tool tags
        // may be written, the role must be `source`, and a group the tool created as a target can
        // never be re-marked as a source.
        sid: 'MarkSourceGroup',
        actions: ['elasticache:AddTagsToResource'],
        resources: [elasticacheArn(scope, 'replicationgroup:*')],
        conditions: {
          'ForAllValues:StringEquals': { 'aws:TagKeys': [TAG_ROLE, TAG_MIGRATION_ID] },
          StringEquals: { [`aws:RequestTag/${TAG_ROLE}`]: ROLE_SOURCE },
          StringNotEquals: { [`aws:ResourceTag/${TAG_ROLE}`]: ROLE_TARGET },
        },
      }),
      new PolicyStatement({
        // CreateSnapshot is authorized against the group or node it reads from: only marked sources.
        // Tags added to a group are replicated to its nodes, so a replica node qualifies too.
        sid: 'SnapshotMarkedSources',
        actions: ['elasticache:CreateSnapshot'],
        resources: [elasticacheArn(scope, 'replicationgroup:*'), elasticacheArn(scope, 'cluster:*')],
        conditions: { StringEquals: { [`aws:ResourceTag/${TAG_ROLE}`]: ROLE_SOURCE } },
      }),
      new PolicyStatement({
        // ...and against the new snapshot, which does not exist yet: its name is the only handle,
        // and it must be encrypted with one of the configured keys.
        sid: 'CreateIntermediateSnapshot',
        actions: ['elasticache:CreateSnapshot'],
        resources: [elasticacheArn(scope, `snapshot:${INTERMEDIATE_SNAPSHOT_PATTERN}`)],
        conditions: { StringEquals: { 'elasticache:KmsKeyId': [...scope.cacheKeyArns] } },
      }),
      new PolicyStatement({
        // CreateSnapshot with Tags also needs AddTagsToResource on the snapshot (dependent action).
        sid: 'TagIntermediateSnapshot',
        actions: ['elasticache:AddTagsToResource'],
        resources: [elasticacheArn(scope, `snapshot:${INTERMEDIATE_SNAPSHOT_PATTERN}`)],
        conditions: {
          'ForAllValues:StringEquals': { 'aws:TagKeys': [TAG_ROLE, TAG_MIGRATION_ID] },
          StringEquals: { [`aws:RequestTag/${TAG_ROLE}`]: ROLE_INTERMEDIATE_SNAPSHOT },
          Null: { [`aws:RequestTag/${TAG_MIGRATION_ID}`]: 'false' },
        },
      }),
      describeCacheKeys(scope),
      createGrantForElastiCache(scope),
    ];
  },

  /**
   * Creates the encrypted target from the intermediate snapshot, tagged as a target, then points
   * its automatic backups at a replica (SetBackupNode: ModifyReplicationGroup on targets only).
   */
  restore(scope: PermissionScope): PolicyStatement[] {
    return [
      new PolicyStatement({
        sid: 'SetTargetBackupNode',
        actions: ['elasticache:ModifyReplicationGroup'],
        resources: [elasticacheArn(scope, 'replicationgroup:*')],
        conditions: { StringEquals: { [`aws:ResourceTag/${TAG_ROLE}`]: ROLE_TARGET } },
      }),
      elasticacheRead('ReadCaches'),
      listTags(),
      new PolicyStatement({
        // The group itself: encrypted at rest, with one of the configured keys, tagged as a target
        // of a migration. `elasticache:KmsKeyId` compares the request value, so handlers must pass
        // the key ARN. Target names come from operators, so the ARN cannot narrow this further.
        sid: 'CreateEncryptedTargetGroup',
        actions: ['elasticache:CreateReplicationGroup'],
        resources: [elasticacheArn(scope, 'replicationgroup:*')],
        conditions: {
          Bool: { 'elasticache:AtRestEncryptionEnabled': 'true' },
          StringEquals: {
            'elasticache:KmsKeyId': [...scope.cacheKeyArns],
            [`aws:RequestTag/${TAG_ROLE}`]: ROLE_TARGET,
          },
          Null: { [`aws:RequestTag/${TAG_MIGRATION_ID}`]: 'false' },
        },
      }),
      new PolicyStatement({
        // The other resources a restore names (its nodes, parameter and subnet groups, user group,
        // and the intermediate snapshot it reads). They carry none of the group's condition keys,
        // so they need a statement of their own; the group statement above still has to allow the
        // same request. Global datastores are deliberately absent.
        sid: 'CreateTargetDependencies',
        actions: ['elasticache:CreateReplicationGroup'],
        resources: [
          elasticacheArn(scope, 'cluster:*'),
          elasticacheArn(scope, 'parametergroup:*'),
          elasticacheArn(scope, 'subnetgroup:*'),
          elasticacheArn(scope, 'usergroup:*'),
          elasticacheArn(scope, `snapshot:${INTERMEDIATE_SNAPSHOT_PATTERN}`),
        ],
      }),
      new PolicyStatement({
        // Tags in a CreateReplicationGroup request need AddTagsToResource too (dependent action).
        // The request copies the source's own tags, so the keys cannot be limited, but the role must
        // be `target`, and a group already marked as a source cannot be marked as a target.
        // ElastiCache offers no condition that tells a group being created from an existing one.
        sid: 'TagTargetAtCreation',
        actions: ['elasticache:AddTagsToResource'],
        resources: [elasticacheArn(scope, 'replicationgroup:*'), elasticacheArn(scope, 'cluster:*')],
        conditions: {
          StringEquals: { [`aws:RequestTag/${TAG_ROLE}`]: ROLE_TARGET },
          StringNotEquals: { [`aws:ResourceTag/${TAG_ROLE}`]: ROLE_SOURCE },
          Null: { [`aws:RequestTag/${TAG_MIGRATION_ID}`]: 'false' },
        },
      }),
      describeCacheKeys(scope),
      createGrantForElastiCache(scope),
      ...readAllowedSecrets(scope),
    ];
  },

  /** Waits for the target to become available and compares its configuration and tags. */
  verifyTarget(): PolicyStatement[] {
    return [elasticacheRead('ReadCaches'), listTags()];
  },

  /** Compares the data of source and target over the Redis protocol, from inside the VPC. */
  verifyData(scope: PermissionScope): PolicyStatement[] {
    // The data path: catch-up and write freeze over Redis; the flip happens inside the freeze,
    // so it changes the cutover records as the cutover function does, and nothing else.
    return [
      elasticacheRead('ReadCaches', 'elasticache:DescribeCacheParameters'),
      ...readAllowedSecrets(scope),
      ...changeCutoverRecords(scope),
      getChange(scope),
      readCutoverZones(scope, ['route53:ListResourceRecordSets']),
    ];
  },

  /** Keyspace notifications in the source's parameter group (cutover.changeTracking), and back. */
  changeTracking(scope: PermissionScope): PolicyStatement[] {
    return [
      elasticacheRead(
        'ReadCaches',
        'elasticache:DescribeCacheParameters',
        'elasticache:DescribeCacheParameterGroups',
      ),
      ...manageTrackingParameterGroups(scope),
    ];
  },

  /** Points the operator's CNAME at the target. */
  cutover(scope: PermissionScope): PolicyStatement[] {
    return [
      elasticacheRead('ReadCaches'),
      ...changeCutoverRecords(scope),
      getChange(scope),
      readCutoverZones(scope, ['route53:ListResourceRecordSets']),
    ];
  },

  /** Deletes the source (with a final snapshot) and the intermediate snapshot. */
  decommission(scope: PermissionScope): PolicyStatement[] {
    return [
      elasticacheRead('ReadCaches'),
      listTags(),
      // Checks that DNS no longer points at the source before deleting it.
      readCutoverZones(scope, ['route53:ListResourceRecordSets']),
      new PolicyStatement({
        // Only groups this tool marked as migration sources. `IfExists`: should ElastiCache put the
        // group's encryption state in the request context, an encrypted group is refused as well.
        sid: 'DeleteMarkedSourceGroups',
        actions: ['elasticache:DeleteReplicationGroup'],
        resources: [elasticacheArn(scope, 'replicationgroup:*')],
        conditions: {
          StringEquals: { [`aws:ResourceTag/${TAG_ROLE}`]: ROLE_SOURCE },
          BoolIfExists: { 'elasticache:AtRestEncryptionEnabled': 'false' },
        },
      }),
      new PolicyStatement({
        // The final snapshot (FinalSnapshotIdentifier) is a resource of DeleteReplicationGroup, and
        // DeleteReplicationGroup with a final snapshot needs CreateSnapshot on the group and on it.
        sid: 'TakeFinalSnapshot',
        actions: ['elasticache:DeleteReplicationGroup', 'elasticache:CreateSnapshot'],
        resources: [elasticacheArn(scope, `snapshot:${FINAL_SNAPSHOT_PATTERN}`)],
      }),
      new PolicyStatement({
        sid: 'SnapshotMarkedSourceGroups',
        actions: ['elasticache:CreateSnapshot'],
        resources: [elasticacheArn(scope, 'replicationgroup:*')],
        conditions: { StringEquals: { [`aws:ResourceTag/${TAG_ROLE}`]: ROLE_SOURCE } },
      }),
      deleteIntermediateSnapshots(scope),
      releaseSourceClaim(scope),
    ];
  },

  /**
   * Carries the source's alarms over to the new group (and the recommended set), marks the
   * source's alarms, and deletes the marked ones once the source is gone.
   */
  alarms(scope: PermissionScope): PolicyStatement[] {
    return [
      elasticacheRead('ReadCaches'),
      readAlarms(scope),
      writeOwnAlarms(scope),
      markSourceAlarms(scope, ['cloudwatch:TagResource']),
      deleteMarkedSourceAlarms(scope),
    ];
  },

  /** Points DNS back at the source, deletes the target and the intermediate snapshot. */
  rollback(scope: PermissionScope): PolicyStatement[] {
    return [
      // The alarms the migration created go, the source's alarms lose their marks.
      readAlarms(scope),
      writeOwnAlarms(scope),
      markSourceAlarms(scope, ['cloudwatch:UntagResource']),
      elasticacheRead('ReadCaches'),
      listTags(),
      new PolicyStatement({
        // Only groups this tool created as targets. After the flip a target may have taken
        // writes, so it goes with a final snapshot (CreateSnapshot on the group and on it).
        sid: 'DeleteTargetGroups',
        actions: ['elasticache:DeleteReplicationGroup', 'elasticache:CreateSnapshot'],
        resources: [elasticacheArn(scope, 'replicationgroup:*')],
        conditions: {
          StringEquals: { [`aws:ResourceTag/${TAG_ROLE}`]: ROLE_TARGET },
          BoolIfExists: { 'elasticache:AtRestEncryptionEnabled': 'true' },
        },
      }),
      new PolicyStatement({
        sid: 'TakeTargetFinalSnapshot',
        actions: ['elasticache:DeleteReplicationGroup', 'elasticache:CreateSnapshot'],
        resources: [elasticacheArn(scope, `snapshot:${FINAL_SNAPSHOT_PATTERN}`)],
      }),
      deleteIntermediateSnapshots(scope),
      releaseSourceClaim(scope),
      ...changeCutoverRecords(scope),
      getChange(scope),
      readCutoverZones(scope, ['route53:ListResourceRecordSets']),
      // Puts the source's parameter group back when change tracking was on.
      ...manageTrackingParameterGroups(scope),
    ];
  },
};

/**
 * Each function's own statements, one entry per function of the workflow manifest
 * (statemachine/manifest.ts): a function added there does not compile until it has its entry.
 * Statements that come with a resource of the stack (the claims table, the approval topic) are
 * added where the stack binds the resource.
 */
export const stepPermissions: Readonly<Record<FunctionName, (scope: PermissionScope) => PolicyStatement[]>> =
  {
    preflight: permissions.preflight,
    snapshot: permissions.snapshot,
    restore: permissions.restore,
    verifyTarget: permissions.verifyTarget,
    verifyData: permissions.verifyData,
    changeTracking: permissions.changeTracking,
    cutover: permissions.cutover,
    decommission: permissions.decommission,
    rollback: permissions.rollback,
    alarms: permissions.alarms,
    // Publishes to the approval topic: bound with the topic in the stack.
    requestApproval: () => [],
  };
