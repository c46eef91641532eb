// Named imports, not the `z` namespace: esbuild then bundles only what is used (85 KB instead of
// 450 KB with every locale), which keeps the Lambda bundles small (npm run bench:bundle).
import {
  array,
  boolean,
  enum as enumOf,
  type input as Input,
  number,
  type output as Output,
  strictObject,
  string,
} from 'zod';

const z = { array, boolean, enum: enumOf, number, strictObject, string };

import { InvalidInputError } from '../shared/errors.js';

/**
 * The execution input: the one place it is defined. Preflight validates with it, the README's
 * input reference is generated from it (`npm run docs:input`), and tests use its types.
 */
const groupId = z
  .string()
  .min(1)
  .max(40)
  .regex(/^[A-Za-z][A-Za-z0-9-]*$/, 'must start with a letter and contain only letters, digits and hyphens')
  .refine((v) => !v.includes('--') && !v.endsWith('-'), 'must not contain "--" or end with a hyphen')
  .transform((v) => v.toLowerCase());

const seconds = (max: number) => z.number().int().min(1).max(max);

export const dnsRecordInput = z.strictObject({
  hostedZoneId: z
    .string()
    .regex(/^(\/hostedzone\/)?Z[A-Z0-9]{1,31}$/, 'expected a hosted zone id like Z0123456789ABCDEFGHIJ')
    .transform((v) => v.replace(/^\/hostedzone\//, '')),
  recordName: z
    .string()
    .min(1)
    .max(255)
    .transform((v) => (v.endsWith('.') ? v : `${v}.`).toLowerCase())
    .describe('the CNAME applications connect to'),
  endpoint: z
    .enum(['primary', 'reader', 'configuration'])
    .default('primary')
    .describe('which endpoint of the group the record follows'),
  lowerTtlTo: z
    .number()
    .int()
    .min(0)
    .max(3600)
    .optional()
    .describe('lower the record TTL to this many seconds ahead of the flip and wait out the old TTL'),
});

export const migrationInput = z.strictObject({
  sourceReplicationGroupId: groupId.describe('the unencrypted replication group to migrate'),
  targetReplicationGroupId: groupId
    .optional()
    .describe('id of the new, encrypted group; derived from the source id when omitted'),
  kmsKeyId: z
    .string()
    .min(1)
    .optional()
    .describe('customer-managed KMS key (id, ARN, alias or alias ARN); defaults to the deployment key'),
  dnsRecords: z
    .array(dnsRecordInput)
    .max(20)
    .default([])
    .describe('Route 53 CNAMEs to move to the new group'),
  transitEncryption: z
    .enum(['preserve', 'preferred', 'required'])
    .default('preserve')
    .describe(
      "in-transit encryption of the new group: the source's setting, or TLS in preferred/required mode",
    ),
  authTokenSecretArn: z
    .string()
    .regex(
      /^arn:aws[\w-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/,
      'expected a Secrets Manager secret ARN',
    )
    .optional()
    .describe(
      'secret holding the AUTH token (SecretString: the token, or JSON with an authToken or auth_token key)',
    ),
  approvals: z
    .strictObject({
      beforeSnapshot: z
        .boolean()
        .default(false)
        .describe('wait for approval before the snapshot (teams that freeze writes)'),
      beforeCutover: z.boolean().default(false),
      beforeDeleteSource: z.boolean().default(false),
    })
    .default({ beforeSnapshot: false, beforeCutover: false, beforeDeleteSource: false }),
  soakSeconds: z
    .number()
    .int()
    .min(0)
    .max(7 * 86400)
    .default(0)
    .describe('wait after cutover before deleting the source'),
  deleteSource: z
    .boolean()
    .default(true)
    .describe('delete the source (with a final snapshot) once the new group serves'),
  keepIntermediateSnapshot: z.boolean().default(false),
  keepSourceSettings: z
    .array(z.enum(['autoMinorVersionUpgrade', 'snapshotRetentionLimit']))
    .max(2)
    .default([])
    .describe(
      "settings the new group keeps exactly as the source has them instead of the plan's change (the plan lists every change with its reason)",
    ),
  allowCloudFormationManaged: z
    .boolean()
    .default(false)
    .describe('migrate a CloudFormation-managed group (the stack will drift)'),
  dryRun: z.boolean().default(false).describe('stop after preflight and output the plan'),
  takeOverStaleClaim: z
    .string()
    .min(1)
    .max(80)
    .optional()
    .describe(
      'the migration id (execution name) of a dead execution that still claims the source; set only after checking that execution is no longer running (runbooks/failures.md, MigrationInProgressError)',
    ),
  writesFrozen: z
    .boolean()
    .default(false)
    .describe(
      'the application has stopped writing to the source; kept for older inputs: every cutover now ends with a check that tolerates no difference',
    ),
  cutover: z
    .strictObject({
      pauseWrites: z
        .boolean()
        .default(true)
        .describe(
          "hold the source's writes (CLIENT PAUSE WRITE, Redis OSS 6.2+ / Valkey) while the last changes are copied and the records flip; false, or an older engine: the beforeCutover approval asks you to stop the application's writes",
        ),
      freezeBudgetSeconds: z
        .number()
        .int()
        .min(1)
        .max(300)
        .default(15)
        .describe('longest write freeze before the flip; past it, writes resume and the catch-up goes on'),
      freezeAttempts: z
        .number()
        .int()
        .min(1)
        .max(10)
        .default(3)
        .describe(
          'freezes that may run over their budget before the migration gives up (FreezeBudgetExceededError)',
        ),
      changeTracking: z
        .boolean()
        .default(false)
        .describe(
          "consent to turn on keyspace notifications in the source's parameter group (a default group is replaced by a copy) for the migration, so the freeze copies only the keys changed since the last pass",
        ),
      catchUpPasses: z
        .number()
        .int()
        .min(1)
        .max(50)
        .default(5)
        .describe('most catch-up passes before the freeze'),
      settleKeys: z
        .number()
        .int()
        .min(0)
        .default(1000)
        .describe('a catch-up pass that copies at most this many keys ends the catch-up'),
    })
    .default({
      pauseWrites: true,
      freezeBudgetSeconds: 15,
      freezeAttempts: 3,
      changeTracking: false,
      catchUpPasses: 5,
      settleKeys: 1000,
    }),
  verification: z
    .strictObject({
      mode: z
        .enum(['full', 'sample', 'off'])
        .default('full')
        .describe(
          "'off' is a weaker policy: keys copied under the freeze are not read back (the plan and the summary say so); 'sample' checks like 'full'",
        ),
      revealKeyNames: z.boolean().default(false).describe('report example keys by name instead of by hash'),
      maxKeysPerSecond: z
        .number()
        .int()
        .min(100)
        .optional()
        .describe('most keys per second the data check reads from each group (default: no limit)'),
    })
    .default({ mode: 'full', revealKeyNames: false }),
  alarms: z
    .strictObject({
      copy: z
        .boolean()
        .default(true)
        .describe(
          "create, for the new group's members, an equivalent of every CloudWatch alarm on the source's nodes or group (same metric, threshold, period, actions, tags), once the records point at the new group",
        ),
      keepSourceAlarms: z
        .boolean()
        .default(false)
        .describe("keep the source's alarms after the source is deleted (they are removed by default)"),
      recommended: z
        .boolean()
        .default(false)
        .describe(
          "create the recommended alarms (EngineCPUUtilization, CurrConnections, SwapUsage, DatabaseMemoryUsagePercentage) on every member of the new group where the source has none for that metric, notifying the deployment's topic; and watch backup failures: the new group's ElastiCache notification topic is the source's, or the deployment's cache-events topic where the source has none",
        ),
    })
    .default({ copy: true, keepSourceAlarms: false, recommended: false }),
  backups: z
    .strictObject({
      fromReplica: z
        .boolean()
        .default(true)
        .describe(
          "take the new group's automatic backups from a read replica (SnapshottingClusterId), sparing the primary; cluster mode disabled with replicas only",
        ),
      refuseLowHeadroom: z
        .boolean()
        .default(false)
        .describe(
          "refuse to start when the source's parameter group leaves less than 25% of memory for backups (BackupHeadroomError) instead of warning",
        ),
    })
    .default({ fromReplica: true, refuseLowHeadroom: false }),
  pollIntervalSeconds: seconds(300).default(30),
  timeouts: z
    .strictObject({
      snapshotSeconds: seconds(86400).default(3 * 3600),
      restoreSeconds: seconds(86400).default(3 * 3600),
      dnsChangeSeconds: seconds(3600).default(900),
      deleteSeconds: seconds(86400).default(2 * 3600),
    })
    .default({
      snapshotSeconds: 3 * 3600,
      restoreSeconds: 3 * 3600,
      dnsChangeSeconds: 900,
      deleteSeconds: 2 * 3600,
    }),
});

export type MigrationInput = Output<typeof migrationInput>;
export type MigrationInputDocument = Input<typeof migrationInput>;
export type DnsRecordInput = Output<typeof dnsRecordInput>;

/** Validates the execution input; the error lists every problem with its path. */
export function parseMigrationInput(raw: unknown): MigrationInput {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    const kind = raw === null ? 'null' : Array.isArray(raw) ? 'an array' : `a ${typeof raw}`;
    throw new InvalidInputError(
      `The execution input must be a JSON object, like {"sourceReplicationGroupId": "orders"}; it is ${kind}. Start a new execution with an object as its input.`,
    );
  }
  const result = migrationInput.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (i) => `${i.path.length ? i.path.join('.') : '(input)'}: ${i.message}`,
  );
  throw new InvalidInputError(
    `The execution input is not valid. Fix these fields and start a new execution:\n- ${problems.join('\n- ')}`,
  );
}
