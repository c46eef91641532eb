import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { faultSchema } from './faults.js';

/**
 * The fleet fixture: the AWS resources a sandbox starts with. YAML or JSON; validated strictly so
 * a typo fails fast with the file, the path inside it and what was expected.
 */
const tagMap = z.record(z.string().min(1).max(128), z.string().max(256));

const logDelivery = z.strictObject({
  logType: z.enum(['slow-log', 'engine-log']),
  destinationType: z.enum(['cloudwatch-logs', 'kinesis-firehose']),
  destination: z.string().min(1).describe('log group name or delivery stream name'),
  logFormat: z.enum(['text', 'json']).default('json'),
});

const endpointRef = z.strictObject({
  group: z.string().min(1).describe('replication group id in this fixture'),
  endpoint: z.enum(['primary', 'reader', 'configuration']).default('primary'),
});

export const replicationGroupFixture = z.strictObject({
  // The ElastiCache identifier rule (sandbox/services/elasticache/rules.ts, checkIdentifier).
  id: z
    .string()
    .regex(
      /^(?!.*--)(?!.*-$)[A-Za-z][A-Za-z0-9-]{0,39}$/,
      'expected 1–40 letters, digits or hyphens, starting with a letter, without -- or a trailing hyphen',
    ),
  description: z.string().default('sandbox replication group'),
  engine: z.enum(['redis', 'valkey']).default('redis'),
  engineVersion: z
    .string()
    .regex(/^\d+\.\d+(\.\d+)?$/, 'expected a version like 7.0 or 7.0.7')
    .default('7.0'),
  nodeType: z
    .string()
    .regex(/^cache\.[a-z0-9]+\.[a-z0-9]+$/, 'expected a node type like cache.r6g.large')
    .default('cache.r6g.large'),
  clusterMode: z.enum(['enabled', 'disabled']).default('disabled'),
  shards: z.number().int().min(1).max(500).default(1),
  replicasPerShard: z.number().int().min(0).max(5).default(1),
  automaticFailover: z.boolean().optional(),
  multiAz: z.boolean().default(false),
  availabilityZones: z.array(z.string().min(1)).default(['us-east-1a', 'us-east-1b', 'us-east-1c']),
  port: z.number().int().min(1024).max(65535).default(6379),
  parameterGroup: z
    .string()
    .optional()
    .describe(
      'a default group (default.redis7, default.valkey7.cluster.on, ...) or one under elasticache.parameterGroups; @default the default group of the engine, version and cluster mode',
    ),
  subnetGroup: z.string().default('sandbox-private'),
  securityGroupIds: z
    .array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'expected a security group id like sg-0123abcd'))
    .default([]),
  atRestEncryption: z.boolean().default(false),
  kmsKey: z.string().optional().describe('key id, ARN or alias of a fixture key'),
  transitEncryption: z.boolean().default(false),
  transitEncryptionMode: z.enum(['preferred', 'required']).optional(),
  authTokenSecret: z.string().optional().describe('name of a fixture secret holding the AUTH token'),
  userGroupIds: z.array(z.string()).default([]),
  logDelivery: z.array(logDelivery).default([]),
  networkType: z.enum(['ipv4', 'ipv6', 'dual_stack']).default('ipv4'),
  ipDiscovery: z.enum(['ipv4', 'ipv6']).default('ipv4'),
  snapshotRetentionLimit: z.number().int().min(0).max(35).default(0),
  snapshotWindow: z.string().default('03:00-04:00'),
  maintenanceWindow: z.string().default('sun:05:00-sun:06:00'),
  autoMinorVersionUpgrade: z.boolean().default(true),
  dataTiering: z.boolean().default(false),
  globalReplicationGroupId: z.string().optional(),
  notificationTopicArn: z.string().optional().describe('SNS topic of the ElastiCache event notifications'),
  tags: tagMap.default({}),
  dataSizeMb: z.number().nonnegative().default(100).describe('drives simulated durations'),
  status: z.enum(['available', 'creating', 'modifying', 'snapshotting']).default('available'),
});

/** A custom cache parameter group (see sandbox/services/elasticache/parameters.ts for the modelled parameters). */
export const parameterGroupFixture = z.strictObject({
  name: z
    .string()
    .regex(
      /^(?!.*--)(?!.*-$)[A-Za-z][A-Za-z0-9-]{0,254}$/,
      'expected 1–255 letters, digits or hyphens, starting with a letter, without -- or a trailing hyphen',
    ),
  family: z.enum([
    'redis2.6',
    'redis2.8',
    'redis3.2',
    'redis4.0',
    'redis5.0',
    'redis6.x',
    'redis7',
    'valkey7',
    'valkey8',
  ]),
  description: z.string().default('sandbox parameter group'),
  parameters: z
    .record(z.string().min(1), z.string())
    .default({})
    .describe('values that differ from the family defaults, e.g. notify-keyspace-events: KEA'),
});

const recordFixture = z.strictObject({
  name: z.string().min(1),
  type: z.enum(['CNAME', 'A', 'AAAA', 'TXT']).default('CNAME'),
  ttl: z.number().int().min(0).max(2147483647).default(300),
  values: z.array(z.union([z.string().min(1), endpointRef])).min(1),
});

const hostedZoneFixture = z.strictObject({
  id: z
    .string()
    .regex(/^Z[A-Z0-9]{1,31}$/, 'expected a hosted zone id like Z0123456789ABC')
    .optional(),
  name: z.string().min(1),
  private: z.boolean().default(true),
  vpcId: z.string().default('vpc-0sandbox'),
  records: z.array(recordFixture).default([]),
});

const keyFixture = z.strictObject({
  id: z.string().uuid('expected a key id in UUID form').optional(),
  aliases: z
    .array(z.string().regex(/^alias\/[a-zA-Z0-9/_-]+$/, 'expected an alias like alias/my-key'))
    .default([]),
  state: z.enum(['Enabled', 'Disabled', 'PendingDeletion']).default('Enabled'),
  spec: z.enum(['SYMMETRIC_DEFAULT', 'RSA_2048', 'ECC_NIST_P256', 'HMAC_256']).default('SYMMETRIC_DEFAULT'),
  manager: z.enum(['CUSTOMER', 'AWS']).default('CUSTOMER'),
  description: z.string().default(''),
});

/** An operator's CloudWatch metric alarm (sandbox/services/cloudwatch.ts). */
const alarmFixture = z.strictObject({
  name: z.string().min(1).max(255),
  namespace: z.string().default('AWS/ElastiCache'),
  metricName: z.string().min(1),
  dimensions: z
    .record(z.string().min(1), z.string().min(1))
    .describe('e.g. { CacheClusterId: orders-001 } or { ReplicationGroupId: orders }'),
  statistic: z.enum(['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum']).default('Average'),
  period: z.number().int().positive().default(300),
  evaluationPeriods: z.number().int().positive().default(1),
  threshold: z.number(),
  comparisonOperator: z
    .enum([
      'GreaterThanOrEqualToThreshold',
      'GreaterThanThreshold',
      'LessThanThreshold',
      'LessThanOrEqualToThreshold',
    ])
    .default('GreaterThanThreshold'),
  alarmActions: z.array(z.string().startsWith('arn:')).default([]),
  okActions: z.array(z.string().startsWith('arn:')).default([]),
  description: z.string().optional(),
  tags: z.record(z.string().min(1), z.string()).default({}),
});

const secretFixture = z.strictObject({
  name: z.string().min(1),
  value: z.string().describe('SecretString'),
});

export const fixtureSchema = z
  .strictObject({
    region: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected a region like us-east-1')
      .default('us-east-1'),
    accountId: z
      .string()
      .regex(/^\d{12}$/, 'expected a 12-digit account id')
      .default('123456789012'),
    timeScale: z.number().nonnegative().default(0.001).describe('multiplies realistic durations'),
    pageSize: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe(
        'the most items one page of an ElastiCache Describe*, Route 53 or Step Functions list answer holds, whatever the request asks (a smaller page than asked, which only the Marker or IsTruncated tells apart); puts every list a workflow reads on many pages',
      ),
    elasticache: z
      .strictObject({
        replicationGroups: z.array(replicationGroupFixture).default([]),
        parameterGroups: z.array(parameterGroupFixture).default([]),
        subnetGroups: z
          .array(z.string().min(1))
          .optional()
          .describe("the cache subnet groups that exist; default: 'default' and every group's subnetGroup"),
        userGroups: z
          .array(z.string().min(1))
          .optional()
          .describe('the RBAC user groups that exist; default: every user group a group uses'),
      })
      .default({ replicationGroups: [], parameterGroups: [] }),
    route53: z
      .strictObject({ hostedZones: z.array(hostedZoneFixture).default([]) })
      .default({ hostedZones: [] }),
    kms: z.strictObject({ keys: z.array(keyFixture).default([]) }).default({ keys: [] }),
    secretsManager: z.strictObject({ secrets: z.array(secretFixture).default([]) }).default({ secrets: [] }),
    sns: z
      .strictObject({
        topics: z.array(z.string().regex(/^[A-Za-z0-9_-]{1,256}$/, 'expected an SNS topic name')).default([]),
      })
      .default({ topics: [] }),
    cloudwatch: z.strictObject({ alarms: z.array(alarmFixture).default([]) }).default({ alarms: [] }),
    faults: z.array(faultSchema).default([]),
  })
  .superRefine(checkReferences);

type FixtureData = {
  elasticache: { replicationGroups: ReplicationGroupFixture[]; parameterGroups: ParameterGroupFixture[] };
  route53: { hostedZones: z.output<typeof hostedZoneFixture>[] };
  kms: { keys: z.output<typeof keyFixture>[] };
  secretsManager: { secrets: z.output<typeof secretFixture>[] };
};

/**
 * Cross-references inside a fixture (a group's KMS key and AUTH-token secret, a DNS record's
 * group), checked here so a dangling name is reported with its path in the file instead of
 * failing later while the sandbox seeds itself.
 */
function checkReferences(data: FixtureData, ctx: z.RefinementCtx): void {
  const keyRefs = new Set<string>();
  for (const key of data.kms.keys) {
    if (key.id) {
      keyRefs.add(key.id);
      keyRefs.add(`key/${key.id}`);
    }
    for (const alias of key.aliases) keyRefs.add(alias);
  }
  const keyKnown = (ref: string) =>
    keyRefs.has(ref) || keyRefs.has(/^arn:aws[\w-]*:kms:[^:]+:\d{12}:(.+)$/.exec(ref)?.[1] ?? '');
  const secrets = new Set(data.secretsManager.secrets.map((s) => s.name));
  const parameterGroups = new Set<string>();
  data.elasticache.parameterGroups.forEach((group, i) => {
    const name = group.name.toLowerCase();
    if (parameterGroups.has(name))
      ctx.addIssue({
        code: 'custom',
        path: ['elasticache', 'parameterGroups', i, 'name'],
        message: `duplicate parameter group name '${group.name}'`,
      });
    parameterGroups.add(name);
  });
  const groups = new Map<string, ReplicationGroupFixture>();
  data.elasticache.replicationGroups.forEach((group, i) => {
    const path = ['elasticache', 'replicationGroups', i];
    const id = group.id.toLowerCase();
    if (groups.has(id))
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'id'],
        message: `duplicate replication group id '${group.id}'`,
      });
    groups.set(id, group);
    if (group.kmsKey !== undefined && !keyKnown(group.kmsKey))
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'kmsKey'],
        message: `expected the id, ARN or alias of a key under kms.keys (with an explicit id); '${group.kmsKey}' is not defined`,
      });
    if (
      group.parameterGroup !== undefined &&
      !group.parameterGroup.toLowerCase().startsWith('default.') &&
      !parameterGroups.has(group.parameterGroup.toLowerCase())
    )
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'parameterGroup'],
        message: `expected a default parameter group or the name of one under elasticache.parameterGroups; '${group.parameterGroup}' is not defined`,
      });
    if (group.authTokenSecret !== undefined && !secrets.has(group.authTokenSecret))
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'authTokenSecret'],
        message: `expected the name of a secret under secretsManager.secrets; '${group.authTokenSecret}' is not defined`,
      });
  });
  data.route53.hostedZones.forEach((zone, z) => {
    zone.records.forEach((record, r) => {
      record.values.forEach((value, v) => {
        if (typeof value === 'string') return;
        const path = ['route53', 'hostedZones', z, 'records', r, 'values', v];
        const group = groups.get(value.group.toLowerCase());
        if (!group) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'group'],
            message: `expected the id of a group under elasticache.replicationGroups; '${value.group}' is not defined`,
          });
        } else if ((value.endpoint === 'configuration') !== (group.clusterMode === 'enabled')) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'endpoint'],
            message:
              group.clusterMode === 'enabled'
                ? `expected configuration: '${value.group}' has cluster mode enabled`
                : `expected primary or reader: '${value.group}' has cluster mode disabled`,
          });
        }
      });
    });
  });
}

export type FixtureInput = z.input<typeof fixtureSchema>;
export type Fixture = z.output<typeof fixtureSchema>;
export type ReplicationGroupFixture = z.output<typeof replicationGroupFixture>;
export type ParameterGroupFixture = z.output<typeof parameterGroupFixture>;
export type EndpointRef = z.output<typeof endpointRef>;
export type HostedZoneFixture = z.output<typeof hostedZoneFixture>;

export class FixtureError extends Error {
  override readonly name = 'FixtureError';
}

/** Validates fixture data; `source` names the file (or origin) in error messages. */
export function parseFixture(data: unknown, source = 'fixture'): Fixture {
  const result = fixtureSchema.safeParse(data ?? {});
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
      return `  ${source}: ${path}: ${issue.message}`;
    });
    throw new FixtureError(`Invalid sandbox fixture:\n${lines.join('\n')}`);
  }
  return result.data;
}

export function loadFixtureFile(path: string): Fixture {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new FixtureError(`Cannot read fixture file ${path}: ${(error as Error).message}`);
  }
  let data: unknown;
  try {
    data = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new FixtureError(
      `${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`,
    );
  }
  return parseFixture(data, path);
}
