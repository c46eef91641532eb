import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * The deployment configuration of the migrator: one typed, validated object.
 *
 * Every field is checked before a construct is created, so a bad value fails `cdk synth` with the
 * key path and what was expected instead of surfacing as a CloudFormation error at deploy time.
 * Nothing here triggers a context lookup: VPC, subnets and security groups are referenced by ID.
 */

const accountId = z.string().regex(/^\d{12}$/, 'expected a 12-digit AWS account ID');
const region = z
  .string()
  .regex(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d+$/, 'expected an AWS Region code such as eu-west-1');
const kmsKeyArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/,
    'expected a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<key-id>); aliases are not accepted because IAM conditions compare the exact value',
  );
const snsTopicArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, 'expected an SNS topic ARN');
const vpcId = z.string().regex(/^vpc-[0-9a-f]{8,17}$/, 'expected a VPC ID such as vpc-0123456789abcdef0');
const subnetId = z
  .string()
  .regex(/^subnet-[0-9a-f]{8,17}$/, 'expected a subnet ID such as subnet-0123456789abcdef0');
const securityGroupId = z
  .string()
  .regex(/^sg-[0-9a-f]{8,17}$/, 'expected a security group ID such as sg-0123456789abcdef0');
const cidr = z
  .string()
  .regex(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/, 'expected an IPv4 CIDR block such as 10.0.0.0/16');
const email = z.email('expected an email address');

/**
 * A DNS name as Route 53 normalizes it for the `route53:ChangeResourceRecordSetsNormalizedRecordNames`
 * condition key: lower case, no trailing dot. Characters Route 53 would escape as octal are refused
 * here rather than escaped, except a leading `*.` wildcard label, which becomes `\052.`.
 * https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/specifying-rrset-conditions.html
 */
export function normalizeRecordName(name: string): string {
  const lower = name.toLowerCase().replace(/\.$/, '');
  return lower.startsWith('*.') ? `\\052${lower.slice(1)}` : lower;
}

const dnsName = z
  .string()
  .min(1)
  .max(253)
  .regex(
    /^(\*\.)?([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)+[A-Za-z0-9-]{1,63}\.?$/,
    'expected a fully qualified DNS name made of letters, digits, hyphens and underscores (optionally starting with "*.")',
  );

const hostedZone = z
  .strictObject({
    /** Route 53 hosted zone ID, without the `/hostedzone/` prefix. */
    id: z
      .string()
      .regex(/^Z[A-Z0-9]{1,31}$/, 'expected a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ'),
    /** The zone's DNS name; used to check that every record name belongs to the zone. */
    name: dnsName,
    /** The CNAME records the tool may UPSERT in this zone during cutover and rollback. */
    recordNames: z.array(dnsName).min(1, 'expected at least one record name the tool may change'),
  })
  .superRefine((zone, ctx) => {
    const zoneName = normalizeRecordName(zone.name);
    zone.recordNames.forEach((record, index) => {
      const normalized = normalizeRecordName(record);
      if (normalized !== zoneName && !normalized.endsWith(`.${zoneName}`)) {
        ctx.addIssue({
          code: 'custom',
          path: ['recordNames', index],
          message: `expected a name inside the zone ${zoneName}, got "${record}"`,
        });
      }
    });
  });

const kmsConfig = z.discriminatedUnion('mode', [
  z.strictObject({
    /** Create a customer-managed key with rotation on and the key policy of the seed article. */
    mode: z.literal('create'),
    /** Optional alias for the new key, e.g. `alias/elasticache-at-rest`. */
    alias: z
      .string()
      .regex(/^alias\/[A-Za-z0-9/_-]{1,250}$/, 'expected an alias name starting with "alias/"')
      .refine(
        (value) => !value.startsWith('alias/aws/'),
        'expected an alias outside the reserved alias/aws/ prefix',
      )
      .optional(),
    /** Other keys an operator may choose per migration instead of the default one. */
    additionalKeyArns: z.array(kmsKeyArn).default([]),
  }),
  z.strictObject({
    /** Use a key that already exists; its key policy is the key owner's responsibility. */
    mode: z.literal('existing'),
    keyArn: kmsKeyArn,
    /** Other keys an operator may choose per migration instead of the default one. */
    additionalKeyArns: z.array(kmsKeyArn).default([]),
  }),
]);

const logLevel = z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']);

/** The CloudWatch Logs retention values the service accepts, in days. */
export const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

export const configSchema = z
  .strictObject({
    /** Optional JSON schema reference for editors; ignored. */
    $schema: z.string().optional(),
    /** CloudFormation stack name. */
    stackName: z
      .string()
      .regex(
        /^[A-Za-z][A-Za-z0-9-]{0,127}$/,
        'expected a CloudFormation stack name (letters, digits, hyphens)',
      )
      .default('ElastiCacheAtRestMigrator'),
    account: accountId,
    region,
    kms: kmsConfig,
    network: z
      .strictObject({
        vpcId,
        /** Private subnets for the data verifier; they need a route to the caches and to AWS APIs. */
        subnetIds: z.array(subnetId).min(1, 'expected at least one subnet ID'),
        /** The port the caches listen on (source and target share it: the target is restored from the source). */
        cachePort: z.number().int().min(1).max(65535).default(6379),
        /**
         * Security groups attached to the caches. The verifier gets egress to them on the cache port,
         * and each gets an ingress rule from the verifier. Give this or `cacheCidr`.
         */
        cacheSecurityGroupIds: z.array(securityGroupId).default([]),
        /** CIDR block the cache nodes live in, when security groups are not given. */
        cacheCidr: cidr.optional(),
        /**
         * Where the verifier reaches AWS APIs (Secrets Manager, ElastiCache) on 443: the security
         * groups of interface VPC endpoints, or a CIDR (a NAT gateway path needs `0.0.0.0/0`).
         */
        awsApiEndpointSecurityGroupIds: z.array(securityGroupId).default([]),
        awsApiCidr: cidr.optional(),
      })
      .superRefine((network, ctx) => {
        if (network.cacheSecurityGroupIds.length === 0 && network.cacheCidr === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['cacheSecurityGroupIds'],
            message: 'expected cache security group IDs or a cacheCidr, so the verifier can reach the caches',
          });
        }
        if (network.awsApiEndpointSecurityGroupIds.length === 0 && network.awsApiCidr === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['awsApiEndpointSecurityGroupIds'],
            message:
              'expected VPC endpoint security group IDs or an awsApiCidr, so the verifier can reach Secrets Manager and ElastiCache',
          });
        }
      }),
    dns: z.strictObject({
      hostedZones: z.array(hostedZone).min(1, 'expected at least one hosted zone the tool may change'),
    }),
    secrets: z
      .strictObject({
        /**
         * Customer-managed keys that encrypt the AUTH-token secrets. The functions that read secrets
         * get kms:Decrypt on these keys through Secrets Manager only.
         */
        kmsKeyArns: z.array(kmsKeyArn).default([]),
      })
      .default({ kmsKeyArns: [] }),
    logging: z
      .strictObject({
        level: logLevel.default('INFO'),
        retentionDays: z
          .number()
          .refine((days) => (RETENTION_DAYS as readonly number[]).includes(days), {
            message: `expected one of the CloudWatch Logs retention values: ${RETENTION_DAYS.join(', ')}`,
          })
          .default(365),
        /** Whether state machine logs carry execution input and output (resource IDs, the plan). */
        includeExecutionData: z.boolean().default(true),
      })
      .default({ level: 'INFO', retentionDays: 365, includeExecutionData: true }),
    notifications: z
      .strictObject({
        /** Subscribed to execution outcomes and to every alarm. */
        emails: z.array(email).default([]),
        /** Subscribed to the critical topic (rollback failed); defaults to `emails`. */
        criticalEmails: z.array(email).optional(),
      })
      .default({ emails: [] }),
    approval: z
      .strictObject({
        /** An existing topic for approval requests; a new encrypted topic is created when absent. */
        topicArn: snsTopicArn.optional(),
        /** Subscribed to a created approval topic. */
        emails: z.array(email).default([]),
      })
      .refine((approval) => approval.topicArn === undefined || approval.emails.length === 0, {
        message:
          'expected either topicArn (subscribe operators yourself) or emails (for a created topic), not both',
        path: ['emails'],
      })
      .default({ emails: [] }),
    /** The scheduled fleet batch (statemachine/migrate-fleet.asl.json, runbooks/scheduled-batch.md). */
    fleet: z
      .strictObject({
        schedule: z
          .strictObject({
            /** Off by default: a batch changes many groups; turn it on once a dry run reads right. */
            enabled: z.boolean().default(false),
            expression: z
              .string()
              .regex(
                /^(cron|rate)\(.+\)$/,
                'expected an EventBridge Scheduler expression such as cron(0 1 ? * MON-THU *)',
              )
              .default('cron(0 1 ? * MON-THU *)'),
            timezone: z.string().min(1).default('UTC'),
            flexibleWindowMinutes: z.number().int().min(0).max(1440).default(15),
            /** The fleet execution input (selection, maxConcurrency, window, ...). */
            input: z.record(z.string(), z.unknown()).default({ dryRun: true }),
          })
          .default({
            enabled: false,
            expression: 'cron(0 1 ? * MON-THU *)',
            timezone: 'UTC',
            flexibleWindowMinutes: 15,
            input: { dryRun: true },
          }),
      })
      .default({
        schedule: {
          enabled: false,
          expression: 'cron(0 1 ? * MON-THU *)',
          timezone: 'UTC',
          flexibleWindowMinutes: 15,
          input: { dryRun: true },
        },
      }),
    /** Tags added to every resource of the stack. */
    tags: z.record(z.string().min(1).max(128), z.string().max(256)).default({}),
  })
  .superRefine((config, ctx) => {
    const keyArns =
      config.kms.mode === 'existing'
        ? [config.kms.keyArn, ...config.kms.additionalKeyArns]
        : config.kms.additionalKeyArns;
    keyArns.forEach((arn, index) => {
      const keyRegion = arn.split(':')[3];
      if (keyRegion !== config.region) {
        ctx.addIssue({
          code: 'custom',
          path:
            config.kms.mode === 'existing' && index === 0
              ? ['kms', 'keyArn']
              : ['kms', 'additionalKeyArns', config.kms.mode === 'existing' ? index - 1 : index],
          message: `expected a key in the deployment region ${config.region} (ElastiCache cannot use a key from another Region), got one in ${keyRegion}`,
        });
      }
    });
  });

/** The validated configuration, with defaults applied. */
export type MigratorConfig = z.output<typeof configSchema>;
/** The configuration as written in a file, before defaults. */
export type MigratorConfigInput = z.input<typeof configSchema>;

/** A configuration that failed validation; the message lists every problem with its key path. */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly problems: readonly string[] = [],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => {
    if (typeof key === 'number') return `${acc}[${key}]`;
    return acc === '' ? String(key) : `${acc}.${String(key)}`;
  }, '');
}

function describeReceived(input: unknown, path: readonly PropertyKey[]): string {
  let value: unknown = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return '';
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  if (value === undefined) return ' (missing)';
  const text = JSON.stringify(value);
  return text.length > 80 ? '' : `, got ${text}`;
}

/** Validates a parsed configuration object; throws a ConfigError naming each bad key. */
export function parseConfig(input: unknown, source = 'configuration'): MigratorConfig {
  const result = configSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = formatPath(issue.path) || '(root)';
    const received = issue.code === 'custom' ? '' : describeReceived(input, issue.path);
    return `${key}: ${issue.message}${received}`;
  });
  throw new ConfigError(`Invalid ${source}:\n  - ${problems.join('\n  - ')}`, problems);
}

/** Reads and validates a JSON configuration file. */
export function loadConfigFile(path: string): MigratorConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read configuration file ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`Configuration file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return parseConfig(parsed, `configuration file ${path}`);
}
