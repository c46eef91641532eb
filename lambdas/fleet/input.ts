import {
  array,
  boolean,
  enum as enumOf,
  type input as Input,
  number,
  type output as Output,
  record,
  strictObject,
  string,
  unknown,
} from 'zod';
import { InvalidInputError } from '../shared/errors.js';

const z = { array, boolean, enum: enumOf, number, record, strictObject, string, unknown };

/**
 * The fleet execution's input (statemachine/migrate-fleet.asl.json): which groups, how each is
 * migrated, and the limits of the night. The one definition; DiscoverGroups validates with it.
 */
const groupId = z
  .string()
  .min(1)
  .max(40)
  .regex(/^[A-Za-z][A-Za-z0-9-]*$/, 'must start with a letter and contain only letters, digits and hyphens')
  .transform((v) => v.toLowerCase());

/** A DNS record of one group, as the per-group input takes it (validated there). */
const dnsRecord = z.record(z.string(), z.unknown());

export const fleetInput = z.strictObject({
  batchId: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/, 'expected 1–32 letters, digits and hyphens')
    .optional()
    .describe('names the batch and its child executions; defaults to the fleet execution name'),
  selection: z
    .strictObject({
      groupIds: z.array(groupId).max(5000).optional().describe('only these groups (an explicit list)'),
      tags: z
        .record(z.string().min(1).max(128), z.string().max(256))
        .optional()
        .describe('only groups carrying every one of these tags (key: value)'),
      engines: z
        .array(z.enum(['redis', 'valkey']))
        .min(1)
        .optional()
        .describe('only these engines'),
    })
    .default({}),
  dnsRecords: z
    .record(groupId, z.array(dnsRecord))
    .default({})
    .describe('DNS records per group id; a group absent here takes them from its tag (at-rest-migrator:dns)'),
  migration: z
    .record(z.string(), z.unknown())
    .default({})
    .describe('per-group input fields applied to every group (approvals, soakSeconds, verification, ...)'),
  maxConcurrency: z.number().int().min(1).max(1000).default(5).describe('migrations running at once'),
  toleratedFailureCount: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe(
      'failed migrations tolerated; past it no new migration starts (default 0 unless a percentage is set)',
    ),
  toleratedFailurePercentage: z
    .number()
    .min(0)
    .max(100)
    .optional()
    .describe('failed migrations tolerated, in percent of the batch; past it no new migration starts'),
  window: z
    .strictObject({
      closesAt: z
        .string()
        .datetime({ offset: true })
        .optional()
        .describe('no migration starts at or after this instant'),
      durationMinutes: z
        .number()
        .int()
        .min(1)
        .max(7 * 24 * 60)
        .optional()
        .describe('the window closes this long after the batch starts'),
    })
    .optional(),
  quotas: z
    .strictObject({
      nodesPerRegion: z
        .number()
        .int()
        .min(1)
        .default(300)
        .describe("the account's ElastiCache nodes-per-Region quota (300 unless raised)"),
    })
    .default({ nodesPerRegion: 300 }),
  headroomWaitSeconds: z
    .number()
    .int()
    .min(1)
    .max(3600)
    .default(300)
    .describe('pause before a group waiting for node headroom asks again'),
  dryRun: z.boolean().default(false).describe('plan every group and stop'),
  reportPrefix: z.string().max(200).default('fleet-reports/').describe('S3 key prefix of the reports'),
});

export type FleetInput = Output<typeof fleetInput>;
export type FleetInputDocument = Input<typeof fleetInput>;

/** Validates the fleet input; the error lists every bad field. Changes nothing. */
export function parseFleetInput(raw: unknown): FleetInput {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InvalidInputError(
      'The fleet input must be a JSON object, like {"selection": {"tags": {"env": "prod"}}, "maxConcurrency": 5}. Start a new execution with an object as its input.',
    );
  }
  const result = fleetInput.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map(
      (i) => `${i.path.length ? i.path.join('.') : '(input)'}: ${i.message}`,
    );
    throw new InvalidInputError(
      `The fleet input is not valid. Fix these fields and start a new execution:\n- ${problems.join('\n- ')}`,
    );
  }
  const input = result.data;
  for (const field of [
    'sourceReplicationGroupId',
    'targetReplicationGroupId',
    'dnsRecords',
    'dryRun',
  ] as const) {
    if (field in input.migration)
      throw new InvalidInputError(
        `The fleet input is not valid: migration.${field} is set per group by the batch; remove it (use selection, dnsRecords and dryRun at the top level).`,
      );
  }
  if (input.window?.closesAt && input.window.durationMinutes)
    throw new InvalidInputError(
      'The fleet input is not valid: window has both closesAt and durationMinutes; keep one.',
    );
  return input;
}

/** When the window closes (epoch ms), or undefined when the batch has none. */
export function windowClosesAt(input: FleetInput, startedAt: number): number | undefined {
  if (input.window?.closesAt) return Date.parse(input.window.closesAt);
  if (input.window?.durationMinutes) return startedAt + input.window.durationMinutes * 60_000;
  return undefined;
}

/** The tolerated-failure threshold; with neither field set, the first failure stops new starts. */
export function failureThreshold(input: FleetInput): { count?: number; percentage?: number } {
  if (input.toleratedFailureCount === undefined && input.toleratedFailurePercentage === undefined)
    return { count: 0 };
  return {
    ...(input.toleratedFailureCount !== undefined ? { count: input.toleratedFailureCount } : {}),
    ...(input.toleratedFailurePercentage !== undefined
      ? { percentage: input.toleratedFailurePercentage }
      : {}),
  };
}
