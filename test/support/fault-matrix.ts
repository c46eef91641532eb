import { readFileSync } from 'node:fs';
import { DescribeReplicationGroupsCommand, ListTagsForResourceCommand } from '@aws-sdk/client-elasticache';
import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { expect } from 'vitest';
import { intermediateSnapshotName, shortIdOf } from '../../lambdas/migration/naming.js';
import type { FaultSpec, FixtureInput } from '../../sandbox/index.js';
import type { ApprovalDecision, LambdaHandler } from '../../sandbox/stepfunctions.js';
import { localFunctionArn, MIGRATION_DEFINITION_FILE } from '../../sandbox/workflow.js';
import { FUNCTIONS } from '../../statemachine/manifest.js';
import { fleet, startWorkflowBed, type WorkflowBed, ZONE_ID } from './workflow.js';

/**
 * The fault matrix: one row per fault point of the migration workflow, each with the faults to
 * inject, where to inject them, and the end state a user must find. The rows are data; the
 * `fault-matrix*.test.ts` files run them (in parallel, one sandbox per file) and
 * `fault-matrix.test.ts` checks that every operation the workflow calls is covered.
 *
 * Faults are armed when a task state starts (`at`, e.g. `FlipRecords`: right before the first
 * invocation of its function and action, the cutover function's `flip`), so `skip` counts calls
 * from that moment and rows do not depend on how many polls a wait took.
 */

export const SOURCE = 'orders';
export const TARGET = 'orders-atrest';
export const TARGET_ARN = `arn:aws:elasticache:us-east-1:123456789012:replicationgroup:${TARGET}`;
export const SOURCE_ARN = `arn:aws:elasticache:us-east-1:123456789012:replicationgroup:${SOURCE}`;
export const MOVED_RECORDS = ['orders.example.internal.', 'orders-ro.example.internal.'] as const;
export const TAG_PREFIX = 'at-rest-migrator:';

/** Every operation the workflow calls; the matrix must fail and throttle each of them. */
export const WORKFLOW_OPERATIONS = [
  'DescribeReplicationGroups',
  'DescribeCacheClusters',
  'ListTagsForResource',
  'AddTagsToResource',
  'CreateSnapshot',
  'DescribeSnapshots',
  'CreateReplicationGroup',
  'DeleteReplicationGroup',
  'DeleteSnapshot',
  'RemoveTagsFromResource',
  'GetHostedZone',
  'ListResourceRecordSets',
  'ChangeResourceRecordSets',
  'GetChange',
  'DescribeKey',
  'GetSecretValue',
  // CloudWatch, the alarms' steps (CopyAlarms, DeleteSourceAlarms, the rollback's removal).
  'DescribeAlarms',
  'PutMetricAlarm',
  'DeleteAlarms',
  'CloudWatch:ListTagsForResource',
  'TagResource',
  'UntagResource',
] as const;
export type WorkflowOperation = (typeof WORKFLOW_OPERATIONS)[number];

const SERVICE: Record<
  WorkflowOperation,
  'elasticache' | 'route53' | 'kms' | 'secretsmanager' | 'monitoring'
> = {
  DescribeReplicationGroups: 'elasticache',
  DescribeCacheClusters: 'elasticache',
  ListTagsForResource: 'elasticache',
  AddTagsToResource: 'elasticache',
  CreateSnapshot: 'elasticache',
  DescribeSnapshots: 'elasticache',
  CreateReplicationGroup: 'elasticache',
  DeleteReplicationGroup: 'elasticache',
  DeleteSnapshot: 'elasticache',
  RemoveTagsFromResource: 'elasticache',
  GetHostedZone: 'route53',
  ListResourceRecordSets: 'route53',
  ChangeResourceRecordSets: 'route53',
  GetChange: 'route53',
  DescribeKey: 'kms',
  GetSecretValue: 'secretsmanager',
  DescribeAlarms: 'monitoring',
  PutMetricAlarm: 'monitoring',
  DeleteAlarms: 'monitoring',
  'CloudWatch:ListTagsForResource': 'monitoring',
  TagResource: 'monitoring',
  UntagResource: 'monitoring',
};

/** The API's name of an operation (CloudWatch's ListTagsForResource is told from ElastiCache's). */
export function apiOperation(operation: WorkflowOperation): string {
  return operation.replace(/^CloudWatch:/, '');
}

/** The error code a denied call returns, per service (none of them is retried by the SDK). */
export function deniedCode(operation: WorkflowOperation): string {
  const service = SERVICE[operation];
  return service === 'kms' || service === 'secretsmanager' ? 'AccessDeniedException' : 'AccessDenied';
}

type ApiErrorOptions = { times?: number | 'always'; skip?: number; when?: Record<string, string> };

/** A non-retryable failure of `operation` (persistent unless `times` says otherwise). */
export function denied(operation: WorkflowOperation, options: ApiErrorOptions = {}): FaultSpec {
  return {
    type: 'api-error',
    service: SERVICE[operation],
    operation: apiOperation(operation),
    code: deniedCode(operation),
    times: options.times ?? 'always',
    skip: options.skip ?? 0,
    ...(options.when ? { when: options.when } : {}),
  };
}

/** The throttling error code of the operation's service. */
export function throttlingCode(operation: WorkflowOperation): string {
  const service = SERVICE[operation];
  return service === 'kms' || service === 'secretsmanager' ? 'ThrottlingException' : 'Throttling';
}

/**
 * A throttling storm: as many throttling answers as the SDK makes attempts (3), so the step fails
 * and the state machine's Retry runs it again, then success.
 */
export function throttled(operation: WorkflowOperation, options: ApiErrorOptions = {}): FaultSpec {
  return {
    type: 'api-error',
    service: SERVICE[operation],
    operation: apiOperation(operation),
    code: throttlingCode(operation),
    times: options.times ?? 3,
    skip: options.skip ?? 0,
    ...(options.when ? { when: options.when } : {}),
  };
}

/**
 * The task states a fault can be armed at, by the name the console shows. Each one's function
 * and action belong to no other state, so its first invocation is its own.
 */
export type ArmingState =
  | 'RunPreflight'
  | 'CreateSnapshot'
  | 'CheckSnapshot'
  | 'RestoreEncryptedGroup'
  | 'CheckEncryptedGroup'
  | 'VerifyEncryptedGroup'
  | 'LowerTtl'
  | 'FlipRecords'
  | 'ConfirmFlip'
  | 'CopyAlarms'
  | 'DeleteSource'
  | 'DeleteSourceAlarms'
  | 'CheckSourceDeletion'
  | 'CleanUpAndSummarize'
  | 'RollBackChanges';

/** `handler` or `handler:action`: what the runner sees of an invocation. */
const invocationKey = (handler: string, action: unknown) =>
  typeof action === 'string' && handler !== 'preflight' ? `${handler}:${action}` : handler;

/**
 * The invocation key of each task state of the definition. Throws for a state whose function and
 * action another state shares (the polls of the two Route 53 changes, the approval gates): a
 * fault armed there would fire at whichever of them runs first.
 */
const invocations = new Map<ArmingState, string>();
function invocationOf(state: ArmingState): string {
  const known = invocations.get(state);
  if (known !== undefined) return known;
  const asl = JSON.parse(readFileSync(MIGRATION_DEFINITION_FILE, 'utf8')) as {
    States: Record<
      string,
      { Type: string; Parameters?: { FunctionName?: string; Payload?: { action?: string } } }
    >;
  };
  const handlerOf = new Map(Object.values(FUNCTIONS).map((f) => [`\${${f.substitution}}`, f.handler]));
  const keys = new Map<string, string[]>();
  let mine: string | undefined;
  for (const [name, s] of Object.entries(asl.States)) {
    const handler = s.Type === 'Task' ? handlerOf.get(s.Parameters?.FunctionName ?? '') : undefined;
    if (handler === undefined) continue;
    const key = invocationKey(handler, s.Parameters?.Payload?.action);
    keys.set(key, [...(keys.get(key) ?? []), name]);
    if (name === state) mine = key;
  }
  if (mine === undefined) throw new Error(`No task state '${state}' in the migration definition.`);
  const sharing = keys.get(mine) ?? [];
  if (sharing.length > 1) throw new Error(`'${state}' shares its invocation with ${sharing.join(', ')}.`);
  invocations.set(state, mine);
  return mine;
}

export interface Arming {
  /** Right before the first invocation of this task state. */
  at: ArmingState;
  /** Removes every fault first (the service recovered). */
  clear?: boolean;
  faults?: FaultSpec[];
  /** Something else happens in the account at that moment (another team changes a record). */
  run?: (bed: WorkflowBed) => Promise<void>;
}

/**
 * How the execution ends, as a user would find it.
 * - `refused`: preflight failed; nothing at all was changed.
 * - `rolled-back`: the source serves as before; the target and the intermediate snapshot are gone.
 * - `rollback-failed`: RollbackFailedError; its cause names every resource left and every record.
 * - `migrated`: the execution succeeded; the records point at the new group.
 * - `target-serves`: cutover done, the source was not (fully) deleted; no rollback after cutover.
 * - `cleanup-failed`: migrated, the source deleted, only the clean-up at the end failed.
 */
export type EndKind =
  | 'refused'
  | 'rolled-back'
  | 'rollback-failed'
  | 'migrated'
  | 'target-serves'
  | 'cleanup-failed';

export interface FaultPoint {
  /** Completes "ends safe when …". */
  name: string;
  /** The operations this row fails (`fails`) or throttles (`throttles`), for the coverage check. */
  fails?: WorkflowOperation[];
  throttles?: WorkflowOperation[];
  arm: Arming[];
  /** Input tweaks on top of the matrix input. */
  input?: Record<string, unknown>;
  /** Migrate with TLS and the AUTH token from Secrets Manager. */
  auth?: boolean;
  /** The source is watched by CloudWatch alarms (SOURCE_ALARMS), which the migration carries over. */
  alarms?: boolean;
  /** Answers approval gates (all approved when absent). */
  decide?: (gate: string) => ApprovalDecision;
  expect: {
    end: EndKind;
    /** The execution's error name (absent when it succeeds). */
    error?: string;
    /** Whether the flip (UPSERT of the records to the new group) was submitted. */
    flipped: boolean;
    /** The source's status at the end when it is not `available`. */
    sourceStatus?: string;
    /** For `target-serves`: whether the source's deletion had begun. */
    sourceDeletionStarted?: boolean;
    /** For `rollback-failed`: what the report may honestly say it could not read. */
    unreadable?: ('target' | 'snapshot' | 'records')[];
    /** The intermediate snapshot remains (kept by policy, or left by a failed clean-up). */
    snapshotLeft?: boolean;
    /** The kept source still carries the claim tags (the clean-up that removes them failed). */
    sourceStillClaimed?: boolean;
    /** A record someone else changed during the migration keeps their value. */
    foreignRecord?: { name: (typeof MOVED_RECORDS)[number]; value: string };
    /** For `migrated`: the source's alarms were not removed (DeleteSourceAlarms failed; the summary says so). */
    sourceAlarmsLeft?: boolean;
  };
}

/** The matrix input: the cluster-mode-disabled group with both endpoints moved, TTL lowered first. */
export function matrixInput(tweaks: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    sourceReplicationGroupId: SOURCE,
    dnsRecords: [
      {
        hostedZoneId: ZONE_ID,
        recordName: 'orders.example.internal',
        endpoint: 'primary',
        lowerTtlTo: 60,
      },
      { hostedZoneId: ZONE_ID, recordName: 'orders-ro.example.internal', endpoint: 'reader' },
    ],
    ...tweaks,
  };
}

/** Deadlines of one second, for the rows where something never finishes. */
export const SHORT_TIMEOUTS = {
  timeouts: { snapshotSeconds: 1, restoreSeconds: 1, dnsChangeSeconds: 1, deleteSeconds: 1 },
};

export function authInput(bed: WorkflowBed): Record<string, unknown> {
  return {
    transitEncryption: 'required',
    authTokenSecretArn: bed.sandbox.secrets.resolve('orders-auth')!.arn,
  };
}

/** The source's alarms of the rows with `alarms` (one on the group, one on a member), and another group's. */
export const SOURCE_ALARMS = ['orders-memory', 'orders-replica-cpu'] as const;
const OPS_TOPIC = 'arn:aws:sns:us-east-1:123456789012:ops';
function withAlarms(fixture: FixtureInput): FixtureInput {
  return {
    ...fixture,
    cloudwatch: {
      alarms: [
        {
          name: 'orders-memory',
          metricName: 'DatabaseMemoryUsagePercentage',
          dimensions: { ReplicationGroupId: SOURCE },
          threshold: 80,
          alarmActions: [OPS_TOPIC],
          tags: { team: 'payments' },
        },
        {
          name: 'orders-replica-cpu',
          metricName: 'EngineCPUUtilization',
          dimensions: { CacheClusterId: `${SOURCE}-002` },
          threshold: 90,
          alarmActions: [OPS_TOPIC],
        },
        {
          name: 'sessions-cpu',
          metricName: 'EngineCPUUtilization',
          dimensions: { CacheClusterId: 'sessions-0001-001' },
          threshold: 90,
        },
      ],
    },
  };
}

// ------------------------------------------------------------------------------ world state

interface RecordState {
  ttl?: number;
  values: string[];
}

export interface World {
  groups: Record<string, string>;
  /** Primary and reader endpoint of each cluster-mode-disabled group. */
  endpoints: Record<string, { primary?: string; reader?: string }>;
  snapshots: string[];
  records: Record<string, RecordState>;
  tags: Record<string, Record<string, string>>;
  /** Every CloudWatch alarm of the account: what it watches, its threshold and its tags. */
  alarms: Record<string, { dimensions: string; threshold?: number; tags: Record<string, string> }>;
}

/** What a user can see: groups and their status, snapshots, every record of the zone, group tags. */
export async function readWorld(bed: WorkflowBed): Promise<World> {
  const groups: World['groups'] = {};
  const endpoints: World['endpoints'] = {};
  const tags: World['tags'] = {};
  const described = await bed.elasticache.send(new DescribeReplicationGroupsCommand({}));
  for (const group of described.ReplicationGroups ?? []) {
    const id = group.ReplicationGroupId!;
    groups[id] = group.Status ?? 'unknown';
    endpoints[id] = {
      primary: group.NodeGroups?.[0]?.PrimaryEndpoint?.Address,
      reader: group.NodeGroups?.[0]?.ReaderEndpoint?.Address,
    };
    // Tags can be listed on available groups only (InvalidReplicationGroupState otherwise): in
    // other states (a tag change's `modifying`, a backup's `snapshotting`) the sandbox's record.
    if (group.Status === 'available') {
      const out = await bed.elasticache.send(new ListTagsForResourceCommand({ ResourceName: group.ARN }));
      tags[id] = Object.fromEntries((out.TagList ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
    } else {
      const stored = bed.sandbox.elasticache.groups.get(id)?.tags;
      if (stored) tags[id] = Object.fromEntries(stored);
    }
  }
  const records: World['records'] = {};
  const out = await bed.route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: ZONE_ID }));
  for (const r of out.ResourceRecordSets ?? []) {
    records[`${r.Name} ${r.Type}`] = {
      ttl: r.TTL,
      values: (r.ResourceRecords ?? []).map((v) => v.Value ?? ''),
    };
  }
  // Automatic backups (`automatic.<group>-<date>`, the daily window) are the account's, not the
  // migration's: the world is what the migration made.
  const snapshots = (await bed.snapshotNames()).filter((name) => !name.startsWith('automatic.'));
  // Read from the sandbox's store: no API call, so no armed fault fires and none is counted.
  const cloudwatch = bed.sandbox.cloudwatch;
  const alarms: World['alarms'] = Object.fromEntries(
    [...cloudwatch.alarms.values()].map((a) => [
      a.AlarmName,
      {
        dimensions: a.Dimensions.map((d) => `${d.Name}=${d.Value}`).join(','),
        threshold: a.Threshold,
        tags: Object.fromEntries(cloudwatch.tags.get(a.AlarmName) ?? []),
      },
    ]),
  );
  return { groups, endpoints, snapshots, records, tags, alarms };
}

/** The primary and reader endpoints of a group, in the order of MOVED_RECORDS. */
function movedEndpoints(world: World, groupId: string): (string | undefined)[] {
  const e = world.endpoints[groupId];
  return [e?.primary, e?.reader];
}

/** The message of a failure: Lambda errors carry it inside their JSON cause. */
export function causeText(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    return parsed.errorMessage ?? cause;
  } catch {
    return cause;
  }
}

const MUTATIONS = new Set([
  'AddTagsToResource',
  'RemoveTagsFromResource',
  'CreateSnapshot',
  'DeleteSnapshot',
  'CreateReplicationGroup',
  'DeleteReplicationGroup',
  'ModifyReplicationGroup',
  'ChangeResourceRecordSets',
  'PutMetricAlarm',
  'DeleteAlarms',
  'TagResource',
  'UntagResource',
]);

// ------------------------------------------------------------------------------ the runner

/** The workflow bed, with the handlers' logs silenced (failures are the point of these tests). */
export function startQuietBed(): Promise<WorkflowBed> {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  return startWorkflowBed();
}

let executions = 0;

/**
 * Runs one fault point on a freshly reset sandbox and asserts its end state. Returns nothing:
 * every expectation is asserted here, the same way for every row.
 */
export async function runFaultPoint(bed: WorkflowBed, row: FaultPoint): Promise<void> {
  // Rows that add an AUTH token run on a source without RBAC user groups (they are alternatives).
  const fixture = row.auth ? fleet({ orders: { userGroupIds: [] } }) : fleet();
  await bed.sandbox.reset(row.alarms ? withAlarms(fixture) : fixture);
  const executionName = `matrix-${process.pid}-${++executions}`;
  const snapshotName = intermediateSnapshotName(SOURCE, shortIdOf(executionName));
  const before = await readWorld(bed);
  const firstCall = bed.sandbox.server.calls.length;

  const pending = [...row.arm];
  const completed = new Set<string>();
  const functions: Record<string, LambdaHandler> = {};
  for (const { handler: name } of Object.values(FUNCTIONS)) {
    const arn = localFunctionArn(name);
    const real = bed.handlers[arn];
    if (!real) continue;
    functions[arn] = async (event: { action?: string }) => {
      const key = invocationKey(name, event?.action);
      for (const arming of pending.filter((a) => invocationOf(a.at) === key)) {
        pending.splice(pending.indexOf(arming), 1);
        if (arming.clear) bed.sandbox.faults.clear();
        if (arming.faults) bed.sandbox.injectFaults(...arming.faults);
        await arming.run?.(bed);
      }
      const result = await real(event);
      completed.add(key);
      return result;
    };
  }

  const result = await bed.run(matrixInput({ ...(row.auth ? authInput(bed) : {}), ...row.input }), {
    executionName,
    functions,
    waitMs: 2,
    retryMs: 2,
    decide: async ({ gate }) => row.decide?.(gate) ?? { output: { approved: true } },
  });
  bed.sandbox.faults.clear();
  const calls = bed.sandbox.server.calls.slice(firstCall);
  const after = await readWorld(bed);
  const cause = causeText(result.cause);
  const want = row.expect;
  const context = `${result.status} ${result.error ?? ''}: ${cause}`;

  // Every armed fault was reached, and the injected ones fired: a row that injects nothing
  // would prove nothing.
  expect(
    pending.map((a) => a.at),
    context,
  ).toEqual([]);
  for (const op of [...(row.fails ?? []), ...(row.throttles ?? [])]) {
    const code = row.fails?.includes(op) ? deniedCode(op) : throttlingCode(op);
    expect(
      calls.some((c) => c.service === SERVICE[op] && c.operation === apiOperation(op) && c.error === code),
      `${op} answered ${code} at least once (${context})`,
    ).toBe(true);
  }

  if (want.end === 'migrated') {
    expect(result.error, context).toBeUndefined();
    expect(result.status).toBe('SUCCEEDED');
  } else {
    expect(result.status, context).toBe('FAILED');
    expect(result.error, context).toBe(want.error);
  }
  expect(completed.has('cutover:flip'), `flip submitted (${context})`).toBe(want.flipped);

  const target = after.groups[TARGET];
  const recordsNow = MOVED_RECORDS.map((name) => ({ name, ...after.records[`${name} CNAME`] }));
  const origin = MOVED_RECORDS.map((name) => before.records[`${name} CNAME`]!);

  // Invariants of every row: no CNAME points at a group that does not exist, records this
  // migration does not move are untouched, and the source is gone only if DNS left it for a
  // verified, available target.
  const liveEndpoints = new Set(
    Object.keys(after.groups)
      .filter((id) => after.groups[id] !== 'deleting' || id === SOURCE)
      .flatMap((id) => movedEndpoints(after, id)),
  );
  if (want.foreignRecord) liveEndpoints.add(want.foreignRecord.value);
  for (const r of recordsNow)
    expect(liveEndpoints.has(r.values?.[0] ?? ''), `${r.name} points at a live group (${context})`).toBe(
      true,
    );
  for (const [key, record] of Object.entries(before.records)) {
    if (!MOVED_RECORDS.some((name) => key === `${name} CNAME`)) expect(after.records[key]).toEqual(record);
  }
  expect(after.groups.sessions).toBe('available');
  if (after.groups[SOURCE] === undefined || after.groups[SOURCE] === 'deleting') {
    expect(target, context).toBe('available');
    expect(recordsNow.map((r) => r.values?.[0])).toEqual(movedEndpoints(after, TARGET));
  }

  switch (want.end) {
    case 'refused': {
      expect(after, context).toEqual(before);
      expect(
        calls.filter((c) => MUTATIONS.has(c.operation)).map((c) => c.operation),
        'preflight changes nothing',
      ).toEqual([]);
      break;
    }
    case 'rolled-back': {
      expect(after.groups, context).toEqual(before.groups);
      expect(after.alarms, "the account's alarms as they were").toEqual(before.alarms);
      expect(after.tags[SOURCE], 'the source carries no migration tags').toEqual(before.tags[SOURCE]);
      expect(
        recordsNow.map(({ ttl, values }) => ({ ttl, values })),
        'records as before',
      ).toEqual(
        MOVED_RECORDS.map((name, i) =>
          want.foreignRecord?.name === name
            ? { ...origin[i], values: [want.foreignRecord.value] }
            : origin[i],
        ),
      );
      // A new group that served clients after the flip goes only with a final snapshot.
      const finals = after.snapshots.filter((name) => name.startsWith(`${TARGET}-final-`));
      expect(after.snapshots.filter((name) => !finals.includes(name))).toEqual(
        want.snapshotLeft ? [snapshotName] : [],
      );
      if (completed.has('cutover:flip')) expect(finals, 'final snapshot of the new group').toHaveLength(1);
      else expect(finals.length).toBeLessThanOrEqual(1);
      break;
    }
    case 'rollback-failed': {
      expect(after.groups[SOURCE], context).toBe(want.sourceStatus ?? 'available');
      const unreadable = new Set(want.unreadable ?? []);
      expect(cause).toContain(`source ${SOURCE}:`);
      if (target) {
        expect(cause, 'the report names the target left behind').toContain(
          unreadable.has('target') ? `target ${TARGET}: could not be read` : `target ${TARGET}: ${target}`,
        );
      }
      if (after.snapshots.includes(snapshotName)) {
        expect(cause, 'the report names the snapshot left behind').toContain(
          `intermediate snapshot ${snapshotName}: ${unreadable.has('snapshot') ? 'could not be read' : ''}`,
        );
      }
      MOVED_RECORDS.forEach((name, i) => {
        const now = recordsNow[i]!.values?.[0];
        const line = `CNAME ${name} in ${ZONE_ID}: `;
        const state = unreadable.has('records')
          ? 'could not be read'
          : now === origin[i]!.values[0]
            ? 'points at the source (as before)'
            : `points at '${now}' — set it back to '${origin[i]!.values[0]}'`;
        expect(cause, `the report gives the state of ${name}`).toContain(`${line}${state}`);
      });
      // A source still claimed refuses the next migration: the report must say so.
      if (after.tags[SOURCE]?.[`${TAG_PREFIX}migration-id`] === executionName) {
        expect(cause, 'the report says the source is still claimed').toContain(
          `${TAG_PREFIX}migration-id=${executionName}`,
        );
      }
      break;
    }
    case 'migrated': {
      expect(
        recordsNow.map((r) => r.values?.[0]),
        'records point at the new group',
      ).toEqual(movedEndpoints(after, TARGET));
      expect(target).toBe('available');
      const group = bed.sandbox.elasticache.groups.get(TARGET)!;
      expect(group.atRest && group.kmsKeyArn !== undefined).toBe(true);
      if (row.input?.deleteSource === false) {
        expect(after.groups[SOURCE]).toBe('available');
        expect(after.tags[SOURCE], 'the kept source is released').toEqual(before.tags[SOURCE]);
      } else {
        expect(after.groups[SOURCE] ?? 'deleted').toMatch(/deleted|deleting/);
      }
      expect(after.snapshots.filter((s) => s === snapshotName)).toEqual([]);
      // Every source alarm watches the new group through its copy; the source's go with the source.
      for (const name of row.alarms ? SOURCE_ALARMS : []) {
        expect(after.alarms[`at-rest-migrator/${TARGET}/${name}`]?.dimensions, context).toMatch(TARGET);
        const kept = row.input?.deleteSource === false || want.sourceAlarmsLeft === true;
        expect(after.alarms[name] !== undefined, `source alarm ${name} ${kept ? 'kept' : 'removed'}`).toBe(
          kept,
        );
      }
      if (want.sourceAlarmsLeft) {
        const summary = result.output as { warnings?: string[] };
        expect(summary.warnings?.join('\n'), 'the summary says what to delete by hand').toMatch(
          /could not all be removed/,
        );
      }
      expect(after.alarms['sessions-cpu'], "another group's alarm is untouched").toEqual(
        before.alarms['sessions-cpu'],
      );
      break;
    }
    case 'target-serves':
    case 'cleanup-failed': {
      expect(
        recordsNow.map((r) => r.values?.[0]),
        'records point at the new group',
      ).toEqual(movedEndpoints(after, TARGET));
      expect(target).toBe('available');
      if (want.end === 'target-serves' && !want.sourceDeletionStarted) {
        expect(after.groups[SOURCE], 'the source is not deleted').toBe('available');
      } else if (row.input?.deleteSource !== false) {
        expect(after.groups[SOURCE] ?? 'deleted', context).toMatch(/deleted|deleting/);
      }
      expect(cause, 'no rollback is promised after a verified cutover').not.toMatch(/rolls back/);
      if (want.sourceStillClaimed) {
        expect(after.tags[SOURCE]?.[`${TAG_PREFIX}migration-id`]).toBe(executionName);
      }
      expect(after.snapshots.includes(snapshotName), 'intermediate snapshot left').toBe(
        want.snapshotLeft === true,
      );
      break;
    }
  }
  if (want.end === 'rolled-back' || want.end === 'refused') {
    expect(after.groups[SOURCE]).toBe('available');
    expect(Object.keys(after.tags[SOURCE] ?? {}).filter((k) => k.startsWith(TAG_PREFIX))).toEqual([]);
    expect(
      recordsNow.map((r) => r.values?.[0]),
      'records point at the source',
    ).toEqual(
      movedEndpoints(before, SOURCE).map((value, i) =>
        want.foreignRecord?.name === MOVED_RECORDS[i] ? want.foreignRecord?.value : value,
      ),
    );
  }
}
