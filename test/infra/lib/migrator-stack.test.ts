import { readFileSync } from 'node:fs';
import { Match } from 'aws-cdk-lib/assertions';
import type { CfnRole } from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { FUNCTION_NAMES, FUNCTIONS, type FunctionName } from '../../../statemachine/manifest.js';
import { logicalIdOf, statementsOfRole, synthesize, type TemplateStatement } from '../support.js';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const EC = `arn:aws:elasticache:${REGION}:${ACCOUNT}`;
const ZONE_ARN = 'arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ';
const RECORDS = ['orders-cache.internal.example.com', 'sessions-cache.internal.example.com'];
const EXISTING_KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/11111111-2222-3333-4444-555555555555`;
const OTHER_KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/66666666-7777-8888-9999-000000000000`;

const base = synthesize();
const { stack, template } = base;
const cacheKeyArn = { 'Fn::GetAtt': [logicalIdOf(stack, stack.cacheKey.key as never), 'Arn'] };

function statementsOf(step: FunctionName, synthesized = base): Map<string, TemplateStatement> {
  const role = synthesized.stack.functions[step].role.node.defaultChild as CfnRole;
  const statements = statementsOfRole(synthesized.template, synthesized.stack.getLogicalId(role));
  return new Map(statements.map((statement) => [statement.Sid ?? actionsKey(statement), statement]));
}

function actionsKey(statement: TemplateStatement): string {
  return [statement.Action].flat().join(',');
}

const LOGS = 'WriteOwnLogGroup';
const XRAY = 'xray:PutTraceSegments,xray:PutTelemetryRecords';
const READ = {
  Effect: 'Allow',
  Action: [
    'elasticache:DescribeReplicationGroups',
    'elasticache:DescribeCacheClusters',
    'elasticache:DescribeSnapshots',
  ],
  Resource: '*',
  Sid: 'ReadCaches',
};
const READ_TAGS = {
  Effect: 'Allow',
  Action: 'elasticache:ListTagsForResource',
  Resource: '*',
  Sid: 'ReadCacheTags',
};
const SECRETS = {
  Effect: 'Allow',
  Action: 'secretsmanager:GetSecretValue',
  Resource: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:*`,
  Condition: { StringEquals: { 'aws:ResourceTag/at-rest-migrator:allowed': 'true' } },
  Sid: 'ReadTaggedAuthTokenSecrets',
};
const DESCRIBE_KEY = {
  Effect: 'Allow',
  Action: 'kms:DescribeKey',
  Resource: cacheKeyArn,
  Sid: 'DescribeCacheKeys',
};
const CREATE_GRANT = {
  Effect: 'Allow',
  Action: 'kms:CreateGrant',
  Resource: cacheKeyArn,
  Condition: {
    Bool: { 'kms:GrantIsForAWSResource': 'true' },
    'ForAnyValue:StringEquals': {
      'kms:ViaService': [`elasticache.${REGION}.amazonaws.com`, `dax.${REGION}.amazonaws.com`],
    },
  },
  Sid: 'CreateGrantForElastiCache',
};
const UPSERT_RECORDS = {
  Effect: 'Allow',
  Action: 'route53:ChangeResourceRecordSets',
  Resource: ZONE_ARN,
  Condition: {
    'ForAllValues:StringEquals': {
      'route53:ChangeResourceRecordSetsNormalizedRecordNames': RECORDS,
      'route53:ChangeResourceRecordSetsRecordTypes': ['CNAME'],
      'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
    },
    Null: {
      'route53:ChangeResourceRecordSetsNormalizedRecordNames': 'false',
      'route53:ChangeResourceRecordSetsRecordTypes': 'false',
      'route53:ChangeResourceRecordSetsActions': 'false',
    },
  },
  Sid: 'UpsertCutoverRecordsZone0',
};
const GET_CHANGE = {
  Effect: 'Allow',
  Action: 'route53:GetChange',
  Resource: 'arn:aws:route53:::change/*',
  Sid: 'WaitForDnsChange',
};
const LIST_RECORDS = {
  Effect: 'Allow',
  Action: 'route53:ListResourceRecordSets',
  Resource: ZONE_ARN,
  Sid: 'ReadConfiguredZones',
};
const DELETE_INTERMEDIATE = {
  Effect: 'Allow',
  Action: 'elasticache:DeleteSnapshot',
  Resource: `${EC}:snapshot:*-mig-*`,
  Condition: {
    StringEquals: { 'aws:ResourceTag/at-rest-migrator:role': 'intermediate-snapshot' },
    Null: { 'aws:ResourceTag/at-rest-migrator:migration-id': 'false' },
  },
  Sid: 'DeleteIntermediateSnapshots',
};
const READ_PARAMETERS = {
  ...READ,
  Action: [...READ.Action, 'elasticache:DescribeCacheParameters'],
};
const MANAGE_TRACKING_PARAMETER_GROUPS = {
  Effect: 'Allow',
  Action: [
    'elasticache:CreateCacheParameterGroup',
    'elasticache:ModifyCacheParameterGroup',
    'elasticache:DeleteCacheParameterGroup',
    'elasticache:DescribeCacheParameters',
    'elasticache:DescribeCacheParameterGroups',
    'elasticache:ModifyReplicationGroup',
  ],
  Resource: `${EC}:parametergroup:*`,
  Sid: 'ManageTrackingParameterGroups',
};
const MOVE_SOURCE_PARAMETER_GROUP = {
  Effect: 'Allow',
  Action: 'elasticache:ModifyReplicationGroup',
  Resource: `${EC}:replicationgroup:*`,
  Condition: { StringEquals: { 'aws:ResourceTag/at-rest-migrator:role': 'source' } },
  Sid: 'MoveMarkedSourceParameterGroup',
};
const RELEASE_SOURCE = {
  Effect: 'Allow',
  Action: 'elasticache:RemoveTagsFromResource',
  Resource: `${EC}:replicationgroup:*`,
  Condition: {
    'ForAllValues:StringEquals': {
      'aws:TagKeys': ['at-rest-migrator:role', 'at-rest-migrator:migration-id'],
    },
    StringEquals: { 'aws:ResourceTag/at-rest-migrator:role': 'source' },
  },
  Sid: 'ReleaseSourceClaim',
};

/** What a function in the VPC holds: its network interfaces, in the configured subnets and group. */
const IN_VPC = {
  CreateNetworkInterfacesInConfiguredSubnets: {
    Sid: 'CreateNetworkInterfacesInConfiguredSubnets',
    Effect: 'Allow',
    Action: 'ec2:CreateNetworkInterface',
    Resource: [
      `arn:aws:ec2:${REGION}:${ACCOUNT}:network-interface/*`,
      `arn:aws:ec2:${REGION}:${ACCOUNT}:subnet/subnet-0123456789abcdef0`,
      `arn:aws:ec2:${REGION}:${ACCOUNT}:subnet/subnet-0fedcba9876543210`,
      {
        'Fn::Join': [
          '',
          [
            `arn:aws:ec2:${REGION}:${ACCOUNT}:security-group/`,
            { 'Fn::GetAtt': [logicalIdOf(stack, stack.verifierSecurityGroup), 'GroupId'] },
          ],
        ],
      },
    ],
  },
  ManageOwnNetworkInterfaces: {
    Sid: 'ManageOwnNetworkInterfaces',
    Effect: 'Allow',
    Action: ['ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
    Resource: `arn:aws:ec2:${REGION}:${ACCOUNT}:network-interface/*`,
  },
  DescribeNetworkInterfaces: {
    Sid: 'DescribeNetworkInterfaces',
    Effect: 'Allow',
    Action: 'ec2:DescribeNetworkInterfaces',
    Resource: '*',
  },
};

/** The source's claim in the migrations table: only that table, only the item actions a step needs. */
const claim = (Action: string | string[]) => ({
  Sid: 'ClaimSourceGroup',
  Effect: 'Allow',
  Action,
  Resource: { 'Fn::GetAtt': [logicalIdOf(stack, stack.migrationsTable), 'Arn'] },
});

const CW = `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm`;
const READ_ALARMS = {
  Effect: 'Allow',
  Action: ['cloudwatch:DescribeAlarms', 'cloudwatch:ListTagsForResource'],
  Resource: `${CW}:*`,
  Sid: 'ReadAlarms',
};
const WRITE_OWN_ALARMS = {
  Effect: 'Allow',
  Action: ['cloudwatch:PutMetricAlarm', 'cloudwatch:TagResource', 'cloudwatch:DeleteAlarms'],
  Resource: `${CW}:at-rest-migrator/*`,
  Sid: 'WriteMigrationAlarms',
};
const markAlarms = (Action: string, condition: Record<string, unknown>) => ({
  Effect: 'Allow',
  Action,
  Resource: `${CW}:*`,
  Condition: {
    'ForAllValues:StringEquals': {
      'aws:TagKeys': ['at-rest-migrator:role', 'at-rest-migrator:migration-id'],
    },
    StringEquals: condition,
  },
  Sid: 'MarkSourceAlarms',
});

/** Every statement each step holds besides logs and tracing, exactly. */
const EXPECTED: Record<FunctionName, Record<string, unknown>> = {
  preflight: {
    ReadCaches: {
      ...READ,
      Action: [
        ...READ.Action,
        'elasticache:DescribeCacheParameters',
        'elasticache:DescribeCacheSubnetGroups',
        'elasticache:DescribeUserGroups',
      ],
    },
    ReadCacheTags: READ_TAGS,
    ReadConfiguredZones: {
      ...LIST_RECORDS,
      Action: ['route53:GetHostedZone', 'route53:ListResourceRecordSets'],
    },
    DescribeCacheKeys: DESCRIBE_KEY,
    ReadTaggedAuthTokenSecrets: SECRETS,
    ClaimSourceGroup: claim(['dynamodb:GetItem', 'dynamodb:PutItem']),
    ...IN_VPC,
  },
  snapshot: {
    ReadCaches: READ,
    ReadCacheTags: READ_TAGS,
    MarkSourceGroup: {
      Effect: 'Allow',
      Action: 'elasticache:AddTagsToResource',
      Resource: `${EC}:replicationgroup:*`,
      Condition: {
        'ForAllValues:StringEquals': {
          'aws:TagKeys': ['at-rest-migrator:role', 'at-rest-migrator:migration-id'],
        },
        StringEquals: { 'aws:RequestTag/at-rest-migrator:role': 'source' },
        StringNotEquals: { 'aws:ResourceTag/at-rest-migrator:role': 'target' },
      },
      Sid: 'MarkSourceGroup',
    },
    SnapshotMarkedSources: {
      Effect: 'Allow',
      Action: 'elasticache:CreateSnapshot',
      Resource: [`${EC}:replicationgroup:*`, `${EC}:cluster:*`],
      Condition: { StringEquals: { 'aws:ResourceTag/at-rest-migrator:role': 'source' } },
      Sid: 'SnapshotMarkedSources',
    },
    CreateIntermediateSnapshot: {
      Effect: 'Allow',
      Action: 'elasticache:CreateSnapshot',
      Resource: `${EC}:snapshot:*-mig-*`,
      Condition: { StringEquals: { 'elasticache:KmsKeyId': [cacheKeyArn] } },
      Sid: 'CreateIntermediateSnapshot',
    },
    TagIntermediateSnapshot: {
      Effect: 'Allow',
      Action: 'elasticache:AddTagsToResource',
      Resource: `${EC}:snapshot:*-mig-*`,
      Condition: {
        'ForAllValues:StringEquals': {
          'aws:TagKeys': ['at-rest-migrator:role', 'at-rest-migrator:migration-id'],
        },
        StringEquals: { 'aws:RequestTag/at-rest-migrator:role': 'intermediate-snapshot' },
        Null: { 'aws:RequestTag/at-rest-migrator:migration-id': 'false' },
      },
      Sid: 'TagIntermediateSnapshot',
    },
    DescribeCacheKeys: DESCRIBE_KEY,
    CreateGrantForElastiCache: CREATE_GRANT,
  },
  restore: {
    SetTargetBackupNode: {
      Effect: 'Allow',
      Action: 'elasticache:ModifyReplicationGroup',
      Resource: `${EC}:replicationgroup:*`,
      Condition: { StringEquals: { 'aws:ResourceTag/at-rest-migrator:role': 'target' } },
      Sid: 'SetTargetBackupNode',
    },
    ReadCaches: READ,
    ReadCacheTags: READ_TAGS,
    CreateEncryptedTargetGroup: {
      Effect: 'Allow',
      Action: 'elasticache:CreateReplicationGroup',
      Resource: `${EC}:replicationgroup:*`,
      Condition: {
        Bool: { 'elasticache:AtRestEncryptionEnabled': 'true' },
        StringEquals: {
          'elasticache:KmsKeyId': [cacheKeyArn],
          'aws:RequestTag/at-rest-migrator:role': 'target',
        },
        Null: { 'aws:RequestTag/at-rest-migrator:migration-id': 'false' },
      },
      Sid: 'CreateEncryptedTargetGroup',
    },
    CreateTargetDependencies: {
      Effect: 'Allow',
      Action: 'elasticache:CreateReplicationGroup',
      Resource: [
        `${EC}:cluster:*`,
        `${EC}:parametergroup:*`,
        `${EC}:subnetgroup:*`,
        `${EC}:usergroup:*`,
        `${EC}:snapshot:*-mig-*`,
      ],
      Sid: 'CreateTargetDependencies',
    },
    TagTargetAtCreation: {
      Effect: 'Allow',
      Action: 'elasticache:AddTagsToResource',
      Resource: [`${EC}:replicationgroup:*`, `${EC}:cluster:*`],
      Condition: {
        StringEquals: { 'aws:RequestTag/at-rest-migrator:role': 'target' },
        StringNotEquals: { 'aws:ResourceTag/at-rest-migrator:role': 'source' },
        Null: { 'aws:RequestTag/at-rest-migrator:migration-id': 'false' },
      },
      Sid: 'TagTargetAtCreation',
    },
    DescribeCacheKeys: DESCRIBE_KEY,
    CreateGrantForElastiCache: CREATE_GRANT,
    ReadTaggedAuthTokenSecrets: SECRETS,
  },
  verifyTarget: { ReadCaches: READ, ReadCacheTags: READ_TAGS },
  verifyData: {
    ReadCaches: READ_PARAMETERS,
    ReadTaggedAuthTokenSecrets: SECRETS,
    UpsertCutoverRecordsZone0: UPSERT_RECORDS,
    WaitForDnsChange: GET_CHANGE,
    ReadConfiguredZones: LIST_RECORDS,
    ...IN_VPC,
  },
  changeTracking: {
    ReadCaches: {
      ...READ,
      Action: [
        ...READ.Action,
        'elasticache:DescribeCacheParameters',
        'elasticache:DescribeCacheParameterGroups',
      ],
    },
    ManageTrackingParameterGroups: MANAGE_TRACKING_PARAMETER_GROUPS,
    MoveMarkedSourceParameterGroup: MOVE_SOURCE_PARAMETER_GROUP,
  },
  cutover: {
    ReadCaches: READ,
    UpsertCutoverRecordsZone0: UPSERT_RECORDS,
    WaitForDnsChange: GET_CHANGE,
    ReadConfiguredZones: LIST_RECORDS,
  },
  decommission: {
    ReadCaches: READ,
    ReadCacheTags: READ_TAGS,
    ReadConfiguredZones: LIST_RECORDS,
    ReleaseSourceClaim: RELEASE_SOURCE,
    ClaimSourceGroup: claim('dynamodb:DeleteItem'),
    DeleteMarkedSourceGroups: {
      Effect: 'Allow',
      Action: 'elasticache:DeleteReplicationGroup',
      Resource: `${EC}:replicationgroup:*`,
      Condition: {
        StringEquals: { 'aws:ResourceTag/at-rest-migrator:role': 'source' },
        BoolIfExists: { 'elasticache:AtRestEncryptionEnabled': 'false' },
      },
      Sid: 'DeleteMarkedSourceGroups',
    },
    TakeFinalSnapshot: {
      Effect: 'Allow',
      Action: ['elasticache:DeleteReplicationGroup', 'elasticache:CreateSnapshot'],
      Resource: `${EC}:snapshot:*-final-*`,
      Sid: 'TakeFinalSnapshot',
    },
    SnapshotMarkedSourceGroups: {
      Effect: 'Allow',
      Action: 'elasticache:CreateSnapshot',
      Resource: `${EC}:replicationgroup:*`,
      Condition: { StringEquals: { 'aws:ResourceTag/at-rest-migrator:role': 'source' } },
      Sid: 'SnapshotMarkedSourceGroups',
    },
    DeleteIntermediateSnapshots: DELETE_INTERMEDIATE,
  },
  alarms: {
    ReadCaches: READ,
    ReadAlarms: READ_ALARMS,
    WriteMigrationAlarms: WRITE_OWN_ALARMS,
    MarkSourceAlarms: markAlarms('cloudwatch:TagResource', {
      'aws:RequestTag/at-rest-migrator:role': 'source-alarm',
    }),
    DeleteMarkedSourceAlarms: {
      Effect: 'Allow',
      Action: 'cloudwatch:DeleteAlarms',
      Resource: `${CW}:*`,
      Condition: {
        StringEquals: { 'aws:ResourceTag/at-rest-migrator:role': 'source-alarm' },
        Null: { 'aws:ResourceTag/at-rest-migrator:migration-id': 'false' },
      },
      Sid: 'DeleteMarkedSourceAlarms',
    },
  },
  rollback: {
    ReadAlarms: READ_ALARMS,
    WriteMigrationAlarms: WRITE_OWN_ALARMS,
    MarkSourceAlarms: markAlarms('cloudwatch:UntagResource', {
      'aws:ResourceTag/at-rest-migrator:role': 'source-alarm',
    }),
    ReadCaches: READ,
    ReadCacheTags: READ_TAGS,
    ReleaseSourceClaim: RELEASE_SOURCE,
    // rollback:recover reads a stopped migration's history (RollbackStoppedMigration), only the
    // migration state machine's executions.
    ReadStoppedMigrations: {
      Effect: 'Allow',
      Action: [
        'states:DescribeExecution',
        'states:GetExecutionHistory',
        'states:DescribeStateMachineForExecution',
      ],
      Resource: {
        'Fn::Join': [
          '',
          [
            'arn:aws:states:eu-west-1:123456789012:execution:',
            { 'Fn::GetAtt': [expect.stringMatching(/^MigrateReplicationGroup[0-9A-F]{8}$/), 'Name'] },
            ':*',
          ],
        ],
      },
      Sid: 'ReadStoppedMigrations',
    },
    ClaimSourceGroup: claim('dynamodb:DeleteItem'),
    DeleteTargetGroups: {
      Effect: 'Allow',
      Action: ['elasticache:DeleteReplicationGroup', 'elasticache:CreateSnapshot'],
      Resource: `${EC}:replicationgroup:*`,
      Condition: {
        StringEquals: { 'aws:ResourceTag/at-rest-migrator:role': 'target' },
        BoolIfExists: { 'elasticache:AtRestEncryptionEnabled': 'true' },
      },
      Sid: 'DeleteTargetGroups',
    },
    TakeTargetFinalSnapshot: {
      Effect: 'Allow',
      Action: ['elasticache:DeleteReplicationGroup', 'elasticache:CreateSnapshot'],
      Resource: `${EC}:snapshot:*-final-*`,
      Sid: 'TakeTargetFinalSnapshot',
    },
    DeleteIntermediateSnapshots: DELETE_INTERMEDIATE,
    UpsertCutoverRecordsZone0: UPSERT_RECORDS,
    WaitForDnsChange: GET_CHANGE,
    ReadConfiguredZones: LIST_RECORDS,
    ManageTrackingParameterGroups: MANAGE_TRACKING_PARAMETER_GROUPS,
    MoveMarkedSourceParameterGroup: MOVE_SOURCE_PARAMETER_GROUP,
  },
  requestApproval: {
    PublishApprovalRequests: {
      Effect: 'Allow',
      Action: 'sns:Publish',
      Resource: { Ref: logicalIdOf(stack, stack.approvalTopic as never) },
      Sid: 'PublishApprovalRequests',
    },
    EncryptApprovalRequests: {
      Effect: 'Allow',
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: { 'Fn::GetAtt': [logicalIdOf(stack, stack.notificationKey), 'Arn'] },
      Condition: { StringEquals: { 'kms:ViaService': `sns.${REGION}.amazonaws.com` } },
      Sid: 'EncryptApprovalRequests',
    },
  },
};

const STEP_NAMES = FUNCTION_NAMES;

/**
 * Every egress rule of a security group, inline or separate, without descriptions. CDK's
 * placeholder rule for "no egress" (255.255.255.255/32, ICMP 252-86) matches no traffic and is left out.
 */
function egressOf(synthesized: typeof base, groupId: string): Array<Record<string, unknown>> {
  const resources = synthesized.template.toJSON().Resources as Record<
    string,
    {
      Type: string;
      Properties: Record<string, unknown> & { GroupId?: unknown; SecurityGroupEgress?: unknown };
    }
  >;
  const strip = ({ Description: _description, GroupId: _group, ...rule }: Record<string, unknown>) => rule;
  const inline = (resources[groupId]?.Properties.SecurityGroupEgress ?? []) as Array<Record<string, unknown>>;
  const separate = Object.values(resources)
    .filter((r) => r.Type === 'AWS::EC2::SecurityGroupEgress')
    .filter(
      (r) => JSON.stringify(r.Properties.GroupId) === JSON.stringify({ 'Fn::GetAtt': [groupId, 'GroupId'] }),
    )
    .map((r) => r.Properties as Record<string, unknown>);
  return [...inline, ...separate].map(strip).filter((rule) => rule.CidrIp !== '255.255.255.255/32');
}

describe('the cache encryption key', () => {
  const keyId = logicalIdOf(stack, stack.cacheKey.key as never);

  it('is a symmetric customer-managed key with automatic rotation, retained when the stack is deleted', () => {
    const key = template.toJSON().Resources[keyId];
    expect(key.Type).toBe('AWS::KMS::Key');
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.Properties.KeySpec ?? 'SYMMETRIC_DEFAULT').toBe('SYMMETRIC_DEFAULT');
    expect(key.DeletionPolicy).toBe('Retain');
    expect(key.UpdateReplacePolicy).toBe('Retain');
  });

  it('has the documented key policy (docs/aws-behaviour.md, KMS): the account root, and ElastiCache limited to data-key actions', () => {
    const key = template.toJSON().Resources[keyId];
    expect(key.Properties.KeyPolicy.Statement).toEqual([
      {
        Sid: 'RootAccess',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
      {
        Sid: 'AllowElastiCache',
        Effect: 'Allow',
        Principal: { Service: 'elasticache.amazonaws.com' },
        Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
        Resource: '*',
      },
    ]);
  });

  it('gets the configured alias', () => {
    template.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: 'alias/elasticache-at-rest',
      TargetKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
    });
  });

  it('is not created when an existing key ARN is configured, and every key permission names that key', () => {
    const existing = synthesize({
      config: (config) => ({ ...config, kms: { mode: 'existing', keyArn: EXISTING_KEY } }),
    });
    const keys = existing.template.findResources('AWS::KMS::Key');
    expect(Object.keys(keys)).toHaveLength(1);
    expect(Object.keys(keys)[0]).toMatch(/^NotificationKey/);
    const restore = statementsOf('restore', existing);
    expect(restore.get('CreateGrantForElastiCache')?.Resource).toBe(EXISTING_KEY);
    expect(
      restore.get('CreateEncryptedTargetGroup')?.Condition?.StringEquals?.['elasticache:KmsKeyId'],
    ).toEqual([EXISTING_KEY]);
    existing.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: FUNCTIONS.restore.description,
      Environment: { Variables: Match.objectLike({ DEFAULT_KMS_KEY_ID: EXISTING_KEY }) },
    });
  });

  it('lets targets use the additional keys operators may choose, and no others', () => {
    const withOther = synthesize({
      config: (config) => ({ ...config, kms: { mode: 'create', additionalKeyArns: [OTHER_KEY] } }),
    });
    const restore = statementsOf('restore', withOther);
    const key = {
      'Fn::GetAtt': [logicalIdOf(withOther.stack, withOther.stack.cacheKey.key as never), 'Arn'],
    };
    expect(
      restore.get('CreateEncryptedTargetGroup')?.Condition?.StringEquals?.['elasticache:KmsKeyId'],
    ).toEqual([key, OTHER_KEY]);
    expect(restore.get('CreateGrantForElastiCache')?.Resource).toEqual([key, OTHER_KEY]);
  });
});

describe('every step function', () => {
  it.each(STEP_NAMES)(
    '%s runs Node.js 22 on arm64 with active tracing and explicit memory and timeout',
    (step) => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: FUNCTIONS[step].description,
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        MemorySize: FUNCTIONS[step].memorySize,
        Timeout: FUNCTIONS[step].timeoutSeconds,
        Handler: 'index.handler',
      });
    },
  );

  it.each(STEP_NAMES)(
    '%s logs JSON at the configured level into a log group of its own with retention',
    (step) => {
      const fn = stack.functions[step];
      const logGroupId = logicalIdOf(stack, fn.logGroup);
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: FUNCTIONS[step].description,
        LoggingConfig: {
          LogFormat: 'JSON',
          ApplicationLogLevel: 'INFO',
          SystemLogLevel: 'WARN',
          LogGroup: { Ref: logGroupId },
        },
        Environment: {
          Variables: Match.objectLike({
            POWERTOOLS_LOG_LEVEL: 'INFO',
            POWERTOOLS_SERVICE_NAME: 'elasticache-at-rest-migrator',
          }),
        },
      });
      const logGroup = template.toJSON().Resources[logGroupId];
      expect(logGroup.Properties.RetentionInDays).toBe(365);
      expect(logGroup.DeletionPolicy).toBe('Retain');
    },
  );

  it('takes the log level and retention from the configuration', () => {
    const debug = synthesize({
      config: (config) => ({ ...config, logging: { level: 'DEBUG', retentionDays: 30 } }),
    });
    debug.template.allResourcesProperties('AWS::Lambda::Function', {
      LoggingConfig: Match.objectLike({ ApplicationLogLevel: 'DEBUG' }),
      Environment: { Variables: Match.objectLike({ POWERTOOLS_LOG_LEVEL: 'DEBUG' }) },
    });
    debug.template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('has a role of its own with no managed policies, writing logs only to its own log group', () => {
    for (const step of STEP_NAMES) {
      const fn = stack.functions[step];
      const role = template.toJSON().Resources[logicalIdOf(stack, fn.role)];
      expect(role.Properties.ManagedPolicyArns, step).toBeUndefined();
      expect(statementsOf(step).get(LOGS), step).toEqual({
        Sid: LOGS,
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: { 'Fn::GetAtt': [logicalIdOf(stack, fn.logGroup), 'Arn'] },
      });
    }
  });

  it('gets the key, hosted zones and approval topic only where the handlers need them', () => {
    const envOf = (step: FunctionName) =>
      Object.values(template.findResources('AWS::Lambda::Function')).find(
        (resource) => resource.Properties.Description === FUNCTIONS[step].description,
      )?.Properties.Environment.Variables as Record<string, unknown>;
    for (const step of STEP_NAMES) {
      const env = envOf(step);
      expect('DEFAULT_KMS_KEY_ID' in env, step).toBe(step === 'preflight' || step === 'restore');
      expect('ALLOWED_HOSTED_ZONE_IDS' in env, step).toBe(
        ['preflight', 'cutover', 'rollback'].includes(step),
      );
      expect('APPROVAL_TOPIC_ARN' in env, step).toBe(step === 'requestApproval');
      expect('CACHE_EVENTS_TOPIC_ARN' in env, step).toBe(step === 'preflight');
      expect('MIGRATIONS_TABLE_NAME' in env, step).toBe(
        ['preflight', 'decommission', 'rollback'].includes(step),
      );
    }
    expect(envOf('preflight').MIGRATIONS_TABLE_NAME).toEqual({
      Ref: logicalIdOf(stack, stack.migrationsTable),
    });
    expect(envOf('restore').DEFAULT_KMS_KEY_ID).toEqual(cacheKeyArn);
    expect(envOf('cutover').ALLOWED_HOSTED_ZONE_IDS).toBe('Z0123456789ABCDEFGHIJ');
  });
});

describe('least-privilege permissions', () => {
  it.each(STEP_NAMES)('%s holds exactly its statements, besides logs and tracing', (step) => {
    const statements = statementsOf(step);
    const xray = statements.get(XRAY);
    expect(xray).toEqual({ Effect: 'Allow', Action: XRAY.split(','), Resource: '*' });
    const rest = Object.fromEntries([...statements].filter(([sid]) => sid !== LOGS && sid !== XRAY));
    const expected = EXPECTED[step];
    expect(Object.keys(rest).sort()).toEqual(Object.keys(expected).sort());
    for (const [sid, statement] of Object.entries(expected)) {
      expect(rest[sid], `${step} ${sid}`).toEqual(statement);
    }
  });

  it('never lets one role both create targets and delete groups', () => {
    const deleters = STEP_NAMES.filter((step) =>
      [...statementsOf(step).values()].some((s) =>
        [s.Action].flat().includes('elasticache:DeleteReplicationGroup'),
      ),
    );
    const creators = STEP_NAMES.filter((step) =>
      [...statementsOf(step).values()].some((s) =>
        [s.Action].flat().includes('elasticache:CreateReplicationGroup'),
      ),
    );
    expect(deleters.sort()).toEqual(['decommission', 'rollback']);
    expect(creators).toEqual(['restore']);
  });

  it('limits DNS changes to one statement per zone, each with only that zone’s normalized names', () => {
    const twoZones = synthesize({
      config: (config) => ({
        ...config,
        dns: {
          hostedZones: [
            { id: 'ZAAAAAAAAAAAAA', name: 'a.example.com.', recordNames: ['Cache.A.example.com.'] },
            { id: 'ZBBBBBBBBBBBBB', name: 'b.example.com', recordNames: ['*.b.example.com'] },
          ],
        },
      }),
    });
    const cutover = statementsOf('cutover', twoZones);
    expect(cutover.get('UpsertCutoverRecordsZone0')?.Resource).toBe(
      'arn:aws:route53:::hostedzone/ZAAAAAAAAAAAAA',
    );
    expect(
      cutover.get('UpsertCutoverRecordsZone0')?.Condition?.['ForAllValues:StringEquals']?.[
        'route53:ChangeResourceRecordSetsNormalizedRecordNames'
      ],
    ).toEqual(['cache.a.example.com']);
    expect(cutover.get('UpsertCutoverRecordsZone1')?.Resource).toBe(
      'arn:aws:route53:::hostedzone/ZBBBBBBBBBBBBB',
    );
    expect(
      cutover.get('UpsertCutoverRecordsZone1')?.Condition?.['ForAllValues:StringEquals']?.[
        'route53:ChangeResourceRecordSetsNormalizedRecordNames'
      ],
    ).toEqual(['\\052.b.example.com']);
    expect(cutover.get('ReadConfiguredZones')?.Resource).toEqual([
      'arn:aws:route53:::hostedzone/ZAAAAAAAAAAAAA',
      'arn:aws:route53:::hostedzone/ZBBBBBBBBBBBBB',
    ]);
  });

  it('lets the secret readers decrypt with the configured secret keys through Secrets Manager only', () => {
    const withKey = synthesize({ config: (config) => ({ ...config, secrets: { kmsKeyArns: [OTHER_KEY] } }) });
    for (const step of ['preflight', 'restore', 'verifyData'] as const) {
      expect(statementsOf(step, withKey).get('DecryptSecretsThroughSecretsManager'), step).toEqual({
        Sid: 'DecryptSecretsThroughSecretsManager',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: OTHER_KEY,
        Condition: { StringEquals: { 'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com` } },
      });
    }
  });
});

describe('the functions that speak Redis (data verifier, preflight)', () => {
  const verifierSg = logicalIdOf(stack, stack.verifierSecurityGroup);

  it('run in the configured subnets with the verifier security group, and are the only functions in a VPC', () => {
    for (const step of ['verifyData', 'preflight'] as const) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: FUNCTIONS[step].description,
        VpcConfig: {
          SubnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
          SecurityGroupIds: [{ 'Fn::GetAtt': [verifierSg, 'GroupId'] }],
        },
      });
    }
    const inVpc = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (resource) => resource.Properties.VpcConfig !== undefined,
    );
    // The fleet's discovery too: its dry runs prove each group's AUTH token as preflight does.
    expect(inVpc.map((resource) => resource.Properties.Description).sort()).toEqual(
      [
        FUNCTIONS.verifyData.description,
        FUNCTIONS.preflight.description,
        'Fleet: finds and plans the groups of a batch (dry runs)',
      ].sort(),
    );
  });

  it('reaches the caches on the cache port and the AWS API endpoints on 443, and nothing else', () => {
    const group = template.toJSON().Resources[verifierSg];
    expect(group.Properties.VpcId).toBe('vpc-0123456789abcdef0');
    expect(egressOf(base, verifierSg)).toEqual([
      { IpProtocol: 'tcp', FromPort: 6379, ToPort: 6379, DestinationSecurityGroupId: 'sg-0123456789abcdef0' },
      { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, DestinationSecurityGroupId: 'sg-0fedcba9876543210' },
    ]);
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: 'sg-0123456789abcdef0',
      IpProtocol: 'tcp',
      FromPort: 6379,
      ToPort: 6379,
      SourceSecurityGroupId: { 'Fn::GetAtt': [verifierSg, 'GroupId'] },
    });
  });

  it('uses CIDR rules when the caches and API path are given as address ranges', () => {
    const byCidr = synthesize({
      config: (config) => ({
        ...config,
        network: {
          vpcId: 'vpc-0123456789abcdef0',
          subnetIds: ['subnet-0123456789abcdef0'],
          cachePort: 6380,
          cacheCidr: '10.1.0.0/16',
          awsApiCidr: '0.0.0.0/0',
        },
      }),
    });
    const group =
      byCidr.template.toJSON().Resources[logicalIdOf(byCidr.stack, byCidr.stack.verifierSecurityGroup)];
    expect(group.Properties.SecurityGroupEgress).toEqual([
      expect.objectContaining({ CidrIp: '10.1.0.0/16', FromPort: 6380, ToPort: 6380, IpProtocol: 'tcp' }),
      expect.objectContaining({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443, IpProtocol: 'tcp' }),
    ]);
  });

  it('may create network interfaces only in the configured subnets and its security group', () => {
    for (const step of ['verifyData', 'preflight'] as const) {
      expect(statementsOf(step).get('CreateNetworkInterfacesInConfiguredSubnets'), step).toEqual(
        IN_VPC.CreateNetworkInterfacesInConfiguredSubnets,
      );
    }
    for (const step of STEP_NAMES.filter((name) => name !== 'verifyData' && name !== 'preflight')) {
      const actions = [...statementsOf(step).values()].flatMap((statement) => [statement.Action].flat());
      expect(
        actions.filter((action) => action.startsWith('ec2:')),
        step,
      ).toEqual([]);
    }
  });
});

describe('the migrations table (the exclusive claim of each source)', () => {
  it('is on demand, encrypted, point-in-time recoverable and retained, keyed by the source ARN', () => {
    const id = logicalIdOf(stack, stack.migrationsTable);
    const table = template.toJSON().Resources[id];
    expect(table.Type).toBe('AWS::DynamoDB::Table');
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
  });

  it('is reachable only by the functions that take or release a claim', () => {
    const holders = STEP_NAMES.filter((step) =>
      [...statementsOf(step).values()].some((s) => [s.Action].flat().some((a) => a.startsWith('dynamodb:'))),
    );
    expect(holders.sort()).toEqual(['decommission', 'preflight', 'rollback']);
  });
});

describe('the migration state machine', () => {
  const machine = stack.workflows.MigrateReplicationGroup;
  const machineId = logicalIdOf(stack, machine.stateMachine);

  it('logs ALL events with execution data to a vended log group, and traces with X-Ray', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: true,
        Destinations: [
          {
            CloudWatchLogsLogGroup: {
              LogGroupArn: { 'Fn::GetAtt': [logicalIdOf(stack, machine.logGroup), 'Arn'] },
            },
          },
        ],
      },
    });
    const logGroup = template.toJSON().Resources[logicalIdOf(stack, machine.logGroup)];
    expect(logGroup.Properties.LogGroupName).toMatch(/^\/aws\/vendedlogs\/states\//);
    expect(logGroup.Properties.RetentionInDays).toBe(365);
  });

  it('substitutes every placeholder of its definition with the ARN of the matching function', () => {
    const resource = template.toJSON().Resources[machineId];
    const substitutions = resource.Properties.DefinitionSubstitutions as Record<string, unknown>;
    expect(Object.keys(substitutions).sort()).toEqual(
      STEP_NAMES.map((step) => FUNCTIONS[step].substitution).sort(),
    );
    for (const step of STEP_NAMES) {
      expect(substitutions[FUNCTIONS[step].substitution]).toEqual({
        'Fn::GetAtt': [logicalIdOf(stack, stack.functions[step].function), 'Arn'],
      });
    }
  });

  it('may invoke exactly the step functions, by unqualified ARN', () => {
    const role = logicalIdOf(stack, machine.stateMachine.role as never);
    const invoke = statementsOfRole(template, role).filter((s) =>
      [s.Action].flat().includes('lambda:InvokeFunction'),
    );
    expect(invoke).toHaveLength(1);
    expect(invoke[0]?.Resource).toEqual(
      expect.arrayContaining(
        STEP_NAMES.map((step) => ({
          'Fn::GetAtt': [logicalIdOf(stack, stack.functions[step].function), 'Arn'],
        })),
      ),
    );
    expect(invoke[0]?.Resource).toHaveLength(STEP_NAMES.length);
  });
});

describe('notifications', () => {
  const topicId = logicalIdOf(stack, stack.notifications.topic);
  const queueId = logicalIdOf(stack, stack.notifications.deadLetterQueue);

  it('publishes every execution status change of the migration state machine, with its summary', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [
            { Ref: logicalIdOf(stack, stack.workflows.MigrateReplicationGroup.stateMachine) },
          ],
          status: ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'],
        },
      },
      Targets: [
        Match.objectLike({
          Arn: { Ref: topicId },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
          InputTransformer: {
            InputPathsMap: Match.objectLike({
              'detail-name': '$.detail.name',
              'detail-status': '$.detail.status',
              'detail-output': '$.detail.output',
              'detail-error': '$.detail.error',
              'detail-cause': '$.detail.cause',
            }),
            InputTemplate: Match.stringLikeRegexp('"summary":<detail-output>'),
          },
        }),
      ],
    });
  });

  it('encrypts the topics and the dead-letter queue with a rotating key and refuses plain HTTP', () => {
    const notificationKey = { 'Fn::GetAtt': [logicalIdOf(stack, stack.notificationKey), 'Arn'] };
    // Every topic but the cache-events one, which ElastiCache cannot publish to if encrypted.
    const cacheEventsId = logicalIdOf(stack, stack.notifications.cacheEventsTopic);
    const topics = template.findResources('AWS::SNS::Topic');
    expect(Object.keys(topics)).toContain(cacheEventsId);
    for (const [id, topic] of Object.entries(topics)) {
      if (id === cacheEventsId) expect(topic.Properties.KmsMasterKeyId).toBeUndefined();
      else expect(topic.Properties.KmsMasterKeyId, id).toEqual(notificationKey);
    }
    template.hasResourceProperties('AWS::SQS::Queue', {
      KmsMasterKeyId: notificationKey,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    template.allResourcesProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Sid: 'AllowNotificationServices',
            Effect: 'Allow',
            Principal: { Service: ['cloudwatch.amazonaws.com', 'events.amazonaws.com', 'sns.amazonaws.com'] },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Resource: '*',
          },
        ]),
      },
    });
  });

  it("lets only this account's ElastiCache publish to the cache-events topic, and preflight names it", () => {
    const cacheEventsId = logicalIdOf(stack, stack.notifications.cacheEventsTopic);
    const policies = Object.values(template.findResources('AWS::SNS::TopicPolicy')).filter((p) =>
      (p.Properties.Topics as unknown[]).some(
        (t) => JSON.stringify(t) === JSON.stringify({ Ref: cacheEventsId }),
      ),
    );
    expect(policies).toHaveLength(1);
    const statements = policies[0]!.Properties.PolicyDocument.Statement as Record<string, unknown>[];
    expect(statements).toContainEqual({
      Sid: 'AllowElastiCacheOfThisAccount',
      Effect: 'Allow',
      Principal: { Service: 'elasticache.amazonaws.com' },
      Action: 'sns:Publish',
      Resource: { Ref: cacheEventsId },
      // aws:SourceOwner, not aws:SourceAccount: ElastiCache is let in by the former only.
      Condition: { StringEquals: { 'aws:SourceOwner': ACCOUNT } },
    });
    // Nothing else may publish: the only other statement refuses plain HTTP.
    expect(statements.filter((s) => s.Effect === 'Allow')).toHaveLength(1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ CACHE_EVENTS_TOPIC_ARN: { Ref: cacheEventsId } }) },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      TopicArn: { Ref: cacheEventsId },
      Protocol: 'email',
      Endpoint: 'platform-oncall@example.com',
    });
  });

  it('subscribes the configured addresses with failed deliveries kept in the dead-letter queue', () => {
    for (const [topic, address] of [
      [topicId, 'platform-oncall@example.com'],
      [logicalIdOf(stack, stack.notifications.criticalTopic), 'platform-oncall@example.com'],
      [logicalIdOf(stack, stack.approvalTopic as never), 'cache-owners@example.com'],
    ] as const) {
      template.hasResourceProperties('AWS::SNS::Subscription', {
        TopicArn: { Ref: topic },
        Protocol: 'email',
        Endpoint: address,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
      });
    }
  });

  it('uses an existing approval topic when one is configured', () => {
    const topicArn = `arn:aws:sns:${REGION}:${ACCOUNT}:cache-approvals`;
    const existing = synthesize({ config: (config) => ({ ...config, approval: { topicArn } }) });
    expect(statementsOf('requestApproval', existing).get('PublishApprovalRequests')?.Resource).toBe(topicArn);
    expect(statementsOf('requestApproval', existing).has('EncryptApprovalRequests')).toBe(false);
    existing.template.resourceCountIs('AWS::SNS::Topic', 3);
  });
});

describe('alarms and dashboard', () => {
  const machineRef = { Ref: logicalIdOf(stack, stack.workflows.MigrateReplicationGroup.stateMachine) };
  const topicRef = { Ref: logicalIdOf(stack, stack.notifications.topic) };
  const criticalRef = { Ref: logicalIdOf(stack, stack.notifications.criticalTopic) };

  it.each(['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted'])(
    'alarms on the first %s execution and notifies the topic',
    (metric) => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/States',
        MetricName: metric,
        Dimensions: [{ Name: 'StateMachineArn', Value: machineRef }],
        Statistic: 'Sum',
        Period: 300,
        Threshold: 1,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [topicRef],
      });
    },
  );

  it('pages the critical topic as well when a migration ends because its rollback failed', () => {
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: { Ref: logicalIdOf(stack, stack.workflows.MigrateReplicationGroup.logGroup) },
      FilterPattern: '{ ($.type = "ExecutionFailed") && ($.details.error = "RollbackFailedError") }',
      MetricTransformations: [
        {
          MetricNamespace: 'ElastiCacheAtRestMigrator/Migrator',
          MetricName: 'MigrateReplicationGroupRollbackFailed',
          MetricValue: '1',
        },
      ],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'ElastiCacheAtRestMigrator/Migrator',
      MetricName: 'MigrateReplicationGroupRollbackFailed',
      Period: 60,
      Threshold: 1,
      EvaluationPeriods: 1,
      AlarmActions: [criticalRef, topicRef],
      AlarmDescription: Match.stringLikeRegexp('^CRITICAL'),
    });
  });

  it('notifies the topic of every failed rollback invocation, even one retried successfully', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [
        { Name: 'FunctionName', Value: { Ref: logicalIdOf(stack, stack.functions.rollback.function) } },
      ],
      Period: 60,
      Threshold: 1,
      AlarmActions: [topicRef],
    });
  });

  it('pages the critical topic when notifications cannot be delivered', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [logicalIdOf(stack, stack.notifications.deadLetterQueue), 'QueueName'] },
        },
      ],
      Threshold: 1,
      AlarmActions: [criticalRef],
    });
  });

  it('links every alarm to its section of runbooks/alarms.md', () => {
    const runbook = readFileSync(new URL('../../../runbooks/alarms.md', import.meta.url), 'utf8');
    const sections = new Set([...runbook.matchAll(/^## ([a-z-]+)$/gm)].map((match) => match[1]));
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(6);
    for (const alarm of alarms) {
      const anchor = /runbooks\/alarms\.md#([a-z-]+)/.exec(alarm.Properties.AlarmDescription)?.[1];
      expect(sections.has(anchor), alarm.Properties.AlarmDescription).toBe(true);
    }
  });

  it('shows migrations in flight, outcomes and step durations on a dashboard', () => {
    const dashboard = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0];
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    expect(body).toContain('Migrations in flight');
    expect(body).toContain('stats latest(type) as last_event');
    expect(body).toContain('outcomes per day');
    expect(body).toContain('Step durations');
    expect(body).toContain('ExecutionTime');
  });
});

describe('a stopped migration', () => {
  it('starts RollbackStoppedMigration with the status-change event when a migration is aborted or times out', () => {
    const machines = base.template.findResources('AWS::StepFunctions::StateMachine');
    const rollbackId = Object.keys(machines).find((id) => id.startsWith('RollbackStoppedMigration'));
    const migrateId = Object.keys(machines).find((id) => id.startsWith('MigrateReplicationGroup'));
    expect(rollbackId).toBeDefined();
    base.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: { stateMachineArn: [{ Ref: migrateId }], status: ['ABORTED', 'TIMED_OUT'] },
      },
      Targets: [
        Match.objectLike({
          Arn: { Ref: rollbackId },
          InputPath: '$',
          DeadLetterConfig: Match.anyValue(),
          RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 10 }),
        }),
      ],
    });
  });
});

describe('the rollback of a stopped migration', () => {
  it('waits out the longest function timeout before it reads what the stopped execution did', () => {
    const definition = JSON.parse(
      readFileSync(
        new URL('../../../statemachine/rollback-stopped-migration.asl.json', import.meta.url),
        'utf8',
      ),
    ) as { StartAt: string; States: Record<string, { Type: string; Seconds?: number }> };
    const first = definition.States[definition.StartAt]!;
    expect(first.Type).toBe('Wait');
    const longest = Math.max(
      ...Object.values(base.template.findResources('AWS::Lambda::Function')).map(
        (fn) => (fn as { Properties: { Timeout?: number } }).Properties.Timeout ?? 3,
      ),
    );
    expect(longest).toBeGreaterThanOrEqual(900);
    expect(first.Seconds).toBeGreaterThan(longest);
  });
});
