import { createHash } from 'node:crypto';
import {
  type CloudWatchClient,
  DeleteAlarmsCommand,
  DescribeAlarmsCommand,
  type Dimension,
  ListTagsForResourceCommand,
  type MetricAlarm,
  PutMetricAlarmCommand,
  type PutMetricAlarmCommandInput,
  paginateDescribeAlarms,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-cloudwatch';
import type { Clients } from '../shared/clients.js';
import { env } from '../shared/env.js';
import { AlarmNameTakenError } from '../shared/errors.js';
import { findGroup, memberIds } from './aws.js';
import { ALARM_NAME_PREFIX, ROLE_ALARM, ROLE_SOURCE_ALARM, TAG_MIGRATION_ID, TAG_ROLE } from './naming.js';
import { completeStep, requirePlan, startStep } from './progress.js';
import type { AlarmProgress, MigrationPlan, MigrationState, MigrationSummary } from './state.js';

/**
 * CloudWatch alarms follow the data to the new group (docs/aws-behaviour.md, CloudWatch).
 *
 * - `copyAlarms` (after the records point at the new group): every metric alarm in the
 *   `AWS/ElastiCache` namespace whose dimensions name the source (`ReplicationGroupId`) or one of
 *   its members (`CacheClusterId`, with or without `CacheNodeId`) gets an equivalent on the new
 *   group's counterpart: same metric, statistic, period, evaluation, threshold, actions and tags,
 *   named `at-rest-migrator/<target id>/<source alarm name>`. The recommended set is added where
 *   asked. The source's alarms are marked (two tool tags) for removal after the source is deleted.
 *   The recommended set's backup-failure watch is no alarm: ElastiCache has no metric for it and
 *   reports `ElastiCache:SnapshotFailed` only to the group's notification topic, which preflight
 *   sets in the create request (preflight/plan.ts, watchBackupFailures).
 * - `deleteSourceAlarms` (after the source is deleted): deletes the marked alarms.
 * - `removeAlarms` (rollback): deletes what `copyAlarms` created, unmarks the source's alarms.
 *
 * Every write is limited to alarms named with the prefix or marked with this migration's tags,
 * which is what the IAM policy allows (infra/lib/permissions.ts, alarms).
 */
type Deps = Pick<Clients, 'elasticache' | 'cloudwatch'>;

const NAMESPACE = 'AWS/ElastiCache';
const MAX_NAME = 255;

interface AlarmOptions {
  copy: boolean;
  keepSourceAlarms: boolean;
  recommended: boolean;
}

function alarmOptions(plan: MigrationPlan): AlarmOptions {
  return plan.options.alarms ?? { copy: true, keepSourceAlarms: false, recommended: false };
}

/** Where the new alarms of a migration live: one name prefix per target group. */
export function alarmPrefix(targetId: string): string {
  return `${ALARM_NAME_PREFIX}${targetId}/`;
}

/** `at-rest-migrator/<target>/<rest>`, shortened with a hash to CloudWatch's 255 characters. */
export function copyName(targetId: string, rest: string): string {
  const prefix = alarmPrefix(targetId);
  // A source alarm that an earlier migration created keeps only its own part of the name.
  const own = rest.startsWith(ALARM_NAME_PREFIX) ? rest.replace(/^at-rest-migrator\/[^/]+\//, '') : rest;
  const name = `${prefix}${own}`;
  if (name.length <= MAX_NAME) return name;
  const hash = createHash('sha256').update(own).digest('hex').slice(0, 8);
  return `${name.slice(0, MAX_NAME - 9)}~${hash}`;
}

/** Every metric alarm of the account (DescribeAlarms, all pages), or those under a name prefix. */
async function listAlarms(cloudwatch: CloudWatchClient, prefix?: string): Promise<MetricAlarm[]> {
  const alarms: MetricAlarm[] = [];
  for await (const page of paginateDescribeAlarms(
    { client: cloudwatch, pageSize: 100 },
    { AlarmTypes: ['MetricAlarm'], ...(prefix ? { AlarmNamePrefix: prefix } : {}) },
  ))
    alarms.push(...(page.MetricAlarms ?? []));
  return alarms;
}

async function describeByName(cloudwatch: CloudWatchClient, names: string[]): Promise<MetricAlarm[]> {
  const found: MetricAlarm[] = [];
  for (let i = 0; i < names.length; i += 100) {
    const page = await cloudwatch.send(
      new DescribeAlarmsCommand({ AlarmNames: names.slice(i, i + 100), AlarmTypes: ['MetricAlarm'] }),
    );
    found.push(...(page.MetricAlarms ?? []));
  }
  return found;
}

async function tagsOfAlarm(cloudwatch: CloudWatchClient, arn: string): Promise<Record<string, string>> {
  const out = await cloudwatch.send(new ListTagsForResourceCommand({ ResourceARN: arn }));
  return Object.fromEntries((out.Tags ?? []).map((t) => [t.Key!, t.Value ?? '']));
}

/** The dimensions of an alarm: its own, or those of the metrics of a metric-math alarm. */
function dimensionSets(alarm: MetricAlarm): { namespace?: string; dimensions: Dimension[] }[] {
  if (alarm.Metrics?.length) {
    return alarm.Metrics.filter((m) => m.MetricStat?.Metric).map((m) => ({
      namespace: m.MetricStat!.Metric!.Namespace,
      dimensions: m.MetricStat!.Metric!.Dimensions ?? [],
    }));
  }
  return [{ namespace: alarm.Namespace, dimensions: alarm.Dimensions ?? [] }];
}

/**
 * Source member → new group member: the same position in the group's member list (ElastiCache
 * names members `<group>-001`…, `<group>-0001-001`… in cluster mode), preferring the member whose
 * id has the same suffix after the group id.
 */
export function memberMap(
  sourceId: string,
  sourceMembers: string[],
  targetId: string,
  targetMembers: string[],
): Map<string, string> {
  const map = new Map<string, string>();
  const targets = new Set(targetMembers);
  sourceMembers.forEach((member, i) => {
    const suffix = member.startsWith(`${sourceId}-`) ? member.slice(sourceId.length) : undefined;
    const bySuffix = suffix !== undefined ? `${targetId}${suffix}` : undefined;
    const counterpart = bySuffix && targets.has(bySuffix) ? bySuffix : targetMembers[i];
    if (counterpart) map.set(member, counterpart);
  });
  return map;
}

interface Mapping {
  sourceId: string;
  sourceMembers: Set<string>;
  targetId: string;
  members: Map<string, string>;
}

/** Does an alarm watch the source? (Its ElastiCache dimensions name the group or a member.) */
function watchesSource(alarm: MetricAlarm, sourceId: string, sourceMembers: Set<string>): boolean {
  return dimensionSets(alarm).some(
    (set) =>
      set.namespace === NAMESPACE &&
      set.dimensions.some(
        (d) =>
          (d.Name === 'ReplicationGroupId' && d.Value === sourceId) ||
          (d.Name === 'CacheClusterId' && sourceMembers.has(d.Value ?? '')),
      ),
  );
}

/** The dimensions mapped to the new group, or why they cannot be. */
function mapDimensions(dimensions: Dimension[], mapping: Mapping): Dimension[] | string {
  const mapped: Dimension[] = [];
  for (const d of dimensions) {
    if (d.Name === 'ReplicationGroupId' && d.Value === mapping.sourceId) {
      mapped.push({ Name: d.Name, Value: mapping.targetId });
    } else if (d.Name === 'CacheClusterId' && mapping.sourceMembers.has(d.Value ?? '')) {
      const counterpart = mapping.members.get(d.Value!);
      if (!counterpart) return `the new group has no counterpart of member '${d.Value}'`;
      mapped.push({ Name: d.Name, Value: counterpart });
    } else {
      mapped.push(d);
    }
  }
  return mapped;
}

/** The PutMetricAlarm request that recreates `alarm` on the new group, or why it cannot. */
function equivalent(
  alarm: MetricAlarm,
  mapping: Mapping,
  tags: Record<string, string>,
  migrationId: string,
): PutMetricAlarmCommandInput | string {
  let dimensions: Dimension[] | undefined;
  let metrics = alarm.Metrics;
  if (alarm.Metrics?.length) {
    const mappedMetrics = [];
    for (const query of alarm.Metrics) {
      const metric = query.MetricStat?.Metric;
      if (!metric) {
        mappedMetrics.push(query);
        continue;
      }
      const mapped = mapDimensions(metric.Dimensions ?? [], mapping);
      if (typeof mapped === 'string') return mapped;
      mappedMetrics.push({
        ...query,
        MetricStat: { ...query.MetricStat!, Metric: { ...metric, Dimensions: mapped } },
      });
    }
    metrics = mappedMetrics;
  } else {
    const mapped = mapDimensions(alarm.Dimensions ?? [], mapping);
    if (typeof mapped === 'string') return mapped;
    dimensions = mapped;
  }
  const name = copyName(mapping.targetId, alarm.AlarmName!);
  const ownTags = Object.entries(tags).filter(([k]) => k !== TAG_MIGRATION_ID && k !== TAG_ROLE);
  return {
    AlarmName: name,
    AlarmDescription: alarm.AlarmDescription,
    ActionsEnabled: alarm.ActionsEnabled,
    OKActions: alarm.OKActions,
    AlarmActions: alarm.AlarmActions,
    InsufficientDataActions: alarm.InsufficientDataActions,
    MetricName: alarm.MetricName,
    Namespace: alarm.Namespace,
    Statistic: alarm.Statistic,
    ExtendedStatistic: alarm.ExtendedStatistic,
    Dimensions: dimensions,
    Period: alarm.Period,
    Unit: alarm.Unit,
    EvaluationPeriods: alarm.EvaluationPeriods,
    DatapointsToAlarm: alarm.DatapointsToAlarm,
    Threshold: alarm.Threshold,
    ComparisonOperator: alarm.ComparisonOperator,
    TreatMissingData: alarm.TreatMissingData,
    EvaluateLowSampleCountPercentile: alarm.EvaluateLowSampleCountPercentile,
    ...(metrics?.length ? { Metrics: metrics } : {}),
    ThresholdMetricId: alarm.ThresholdMetricId,
    Tags: [
      ...ownTags.map(([Key, Value]) => ({ Key, Value })).slice(0, 48),
      { Key: TAG_MIGRATION_ID, Value: migrationId },
      { Key: TAG_ROLE, Value: ROLE_ALARM },
    ],
  };
}

/** vCPUs of a node type, from its size (cache.r7g.xlarge → 4); 2 for the small sizes. */
export function vcpusOf(nodeType: string): number {
  const size = nodeType.split('.').pop() ?? '';
  if (size === 'xlarge') return 4;
  const multiple = /^(\d+)xlarge$/.exec(size);
  if (multiple) return 4 * Number(multiple[1]);
  return 2;
}

/**
 * The recommended alarms of one member (the seeds' set; thresholds from the ElastiCache guide
 * "Which metrics should I monitor?", docs/aws-behaviour.md, CloudWatch). Every alarm notifies
 * `topicArn` when it fires and when it recovers.
 */
export function recommendedAlarms(
  targetId: string,
  member: string,
  nodeType: string,
  topicArn: string,
  migrationId: string,
): PutMetricAlarmCommandInput[] {
  const base = {
    Namespace: NAMESPACE,
    Dimensions: [{ Name: 'CacheClusterId', Value: member }],
    ActionsEnabled: true,
    AlarmActions: [topicArn],
    OKActions: [topicArn],
    TreatMissingData: 'missing',
    Tags: [
      { Key: TAG_MIGRATION_ID, Value: migrationId },
      { Key: TAG_ROLE, Value: ROLE_ALARM },
    ],
  };
  const vcpus = vcpusOf(nodeType);
  const alarm = (
    metric: string,
    statistic: 'Average' | 'Maximum',
    threshold: number,
    period: number,
    evaluations: number,
    why: string,
  ): PutMetricAlarmCommandInput => ({
    ...base,
    AlarmName: copyName(targetId, `${member}-${metric}`),
    AlarmDescription: `Recommended alarm on ${member} (${nodeType}): ${why}`,
    MetricName: metric,
    Statistic: statistic,
    Period: period,
    EvaluationPeriods: evaluations,
    DatapointsToAlarm: evaluations,
    Threshold: threshold,
    ComparisonOperator: 'GreaterThanThreshold',
  });
  return [
    alarm(
      'EngineCPUUtilization',
      'Average',
      90,
      60,
      5,
      'the engine thread above 90% for 5 minutes; add replicas for reads, scale up or add shards for writes.',
    ),
    alarm(
      'CurrConnections',
      'Maximum',
      1000 * vcpus,
      300,
      2,
      `more than ${1000 * vcpus} client connections (1,000 per vCPU) for 10 minutes, well under the 65,000 ceiling: a connection leak or a traffic spike.`,
    ),
    alarm(
      'SwapUsage',
      'Maximum',
      50 * 1024 * 1024,
      300,
      2,
      'swap above 50 MB: the node is short of memory (check reserved-memory-percent).',
    ),
    alarm(
      'DatabaseMemoryUsagePercentage',
      'Average',
      80,
      300,
      3,
      'data above 80% of the memory available to it for 15 minutes: evictions follow, and a backup needs headroom.',
    ),
  ];
}

function alarmProgress(state: MigrationState): AlarmProgress {
  state.progress.alarms ??= { copied: [], recommended: [], marked: [], skipped: [] };
  return state.progress.alarms;
}

/** Puts an alarm unless a different owner's alarm holds the name (a retry re-puts its own). */
/**
 * Puts alarms this migration owns. Every name is checked first (one DescribeAlarms per 100
 * names): an alarm of that name that this migration did not create stops the step before any
 * alarm is written. Alarms it created (a retry) are put again.
 */
async function putOwn(
  cloudwatch: CloudWatchClient,
  requests: readonly PutMetricAlarmCommandInput[],
  migrationId: string,
) {
  for (const existing of await describeByName(
    cloudwatch,
    requests.map((r) => r.AlarmName!),
  )) {
    const tags = await tagsOfAlarm(cloudwatch, existing.AlarmArn!);
    if (tags[TAG_MIGRATION_ID] !== migrationId) {
      throw new AlarmNameTakenError(
        `The alarm '${existing.AlarmName}' exists and was not created by this migration (its ${TAG_MIGRATION_ID} tag is '${tags[TAG_MIGRATION_ID] ?? 'absent'}'). Rename or delete it, then retry the migration from a new execution.`,
      );
    }
  }
  for (const request of requests) await cloudwatch.send(new PutMetricAlarmCommand(request));
}

/**
 * Creates the new group's alarms (copies and, on request, the recommended set) and marks the
 * source's alarms for removal. Run twice, it puts the same alarms again and marks the same ones.
 */
export async function copyAlarms(
  state: MigrationState,
  { elasticache, cloudwatch }: Deps,
  now = Date.now(),
  topicArn = env.alarmTopicArn,
): Promise<MigrationState> {
  const plan = requirePlan(state);
  const options = alarmOptions(plan);
  startStep(state, 'alarms', now);
  alarmProgress(state); // the summary lists the alarm moves, none included
  if (!options.copy && !options.recommended) {
    completeStep(state, 'alarms', now);
    return state;
  }
  const source = await findGroup(elasticache, plan.source.id);
  const target = await findGroup(elasticache, plan.target.id);
  if (!source || !target) {
    throw new Error(
      `Copying alarms needs both groups: '${plan.source.id}' is ${source ? 'there' : 'gone'}, '${plan.target.id}' is ${target ? 'there' : 'gone'}.`,
    );
  }
  const sourceMembers = memberIds(source);
  const targetMembers = memberIds(target);
  const mapping: Mapping = {
    sourceId: plan.source.id,
    sourceMembers: new Set(sourceMembers),
    targetId: plan.target.id,
    members: memberMap(plan.source.id, sourceMembers, plan.target.id, targetMembers),
  };
  const ours = alarmPrefix(plan.target.id);
  const watching = (await listAlarms(cloudwatch)).filter(
    (a) => !a.AlarmName!.startsWith(ours) && watchesSource(a, plan.source.id, mapping.sourceMembers),
  );

  const copied: AlarmProgress['copied'] = [];
  const skipped: AlarmProgress['skipped'] = [];
  const covered = new Set<string>();
  const requests: PutMetricAlarmCommandInput[] = [];
  if (options.copy) {
    for (const alarm of watching) {
      const tags = await tagsOfAlarm(cloudwatch, alarm.AlarmArn!);
      const request = equivalent(alarm, mapping, tags, plan.migrationId);
      if (typeof request === 'string') {
        skipped.push({ name: alarm.AlarmName!, reason: request });
        continue;
      }
      requests.push(request);
      copied.push({ from: alarm.AlarmName!, name: request.AlarmName! });
      for (const name of [
        alarm.MetricName,
        ...(alarm.Metrics ?? []).map((m) => m.MetricStat?.Metric?.MetricName),
      ])
        if (name) covered.add(name);
    }
  }

  const recommended: string[] = [];
  if (options.recommended) {
    if (!topicArn) {
      throw new Error(
        'Recommended alarms notify the deployment topic, but ALARM_TOPIC_ARN is not set on this function; redeploy the stack (infra/) or turn alarms.recommended off.',
      );
    }
    for (const member of targetMembers) {
      for (const request of recommendedAlarms(
        plan.target.id,
        member,
        plan.source.nodeType,
        topicArn,
        plan.migrationId,
      )) {
        // Where the source had an alarm on the metric, its copy stands in for the recommended one.
        if (covered.has(request.MetricName!)) continue;
        requests.push(request);
        recommended.push(request.AlarmName!);
      }
    }
  }
  await putOwn(cloudwatch, requests, plan.migrationId);

  // The source's alarms go once the source is deleted: mark them now (two tool tags), so that
  // deletion is limited to marked alarms. A migration that keeps the source keeps its alarms.
  const marked: string[] = [];
  if (plan.options.deleteSource && !options.keepSourceAlarms) {
    for (const alarm of watching) {
      // Only alarms with a copy: an alarm that could not be carried over stays for the operator.
      if (!copied.some((c) => c.from === alarm.AlarmName)) continue;
      await cloudwatch.send(
        new TagResourceCommand({
          ResourceARN: alarm.AlarmArn!,
          Tags: [
            { Key: TAG_MIGRATION_ID, Value: plan.migrationId },
            { Key: TAG_ROLE, Value: ROLE_SOURCE_ALARM },
          ],
        }),
      );
      marked.push(alarm.AlarmName!);
    }
  }
  state.progress.alarms = { copied, recommended, marked, skipped };
  completeStep(state, 'alarms', now);
  return state;
}

/** After the source is deleted: removes the source's alarms that `copyAlarms` marked. */
export async function deleteSourceAlarms(
  state: MigrationState,
  { cloudwatch }: Pick<Clients, 'cloudwatch'>,
): Promise<MigrationState> {
  const plan = requirePlan(state);
  const progress = alarmProgress(state);
  const present = await describeByName(cloudwatch, progress.marked);
  const doomed: string[] = [];
  for (const alarm of present) {
    const tags = await tagsOfAlarm(cloudwatch, alarm.AlarmArn!);
    if (tags[TAG_MIGRATION_ID] === plan.migrationId && tags[TAG_ROLE] === ROLE_SOURCE_ALARM)
      doomed.push(alarm.AlarmName!);
  }
  for (let i = 0; i < doomed.length; i += 100) {
    await cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: doomed.slice(i, i + 100) }));
  }
  // Every marked alarm is gone now (deleted by this call or an earlier run of it).
  const stillMarked = progress.marked.filter(
    (n) => present.some((a) => a.AlarmName === n) && !doomed.includes(n),
  );
  progress.sourceAlarmsDeleted = progress.marked.filter((n) => !stillMarked.includes(n));
  return state;
}

/**
 * Rollback: deletes the alarms this migration created on the new group (found by their name
 * prefix and migration tag, so alarms created by a run that failed before it returned are found
 * too) and removes the marks from the source's alarms. The source's alarms are never deleted here.
 */
export async function removeAlarms(state: MigrationState, { elasticache, cloudwatch }: Deps): Promise<void> {
  const plan = requirePlan(state);
  const created: string[] = [];
  for (const alarm of await listAlarms(cloudwatch, alarmPrefix(plan.target.id))) {
    const tags = await tagsOfAlarm(cloudwatch, alarm.AlarmArn!);
    if (tags[TAG_MIGRATION_ID] === plan.migrationId && tags[TAG_ROLE] === ROLE_ALARM)
      created.push(alarm.AlarmName!);
  }
  for (let i = 0; i < created.length; i += 100) {
    await cloudwatch.send(new DeleteAlarmsCommand({ AlarmNames: created.slice(i, i + 100) }));
  }
  const source = await findGroup(elasticache, plan.source.id);
  const sourceMembers = new Set(source ? memberIds(source) : []);
  const candidates = new Set(state.progress.alarms?.marked ?? []);
  for (const alarm of await listAlarms(cloudwatch)) {
    if (!candidates.has(alarm.AlarmName!) && !watchesSource(alarm, plan.source.id, sourceMembers)) continue;
    const tags = await tagsOfAlarm(cloudwatch, alarm.AlarmArn!);
    if (tags[TAG_MIGRATION_ID] === plan.migrationId && tags[TAG_ROLE] === ROLE_SOURCE_ALARM) {
      await cloudwatch.send(
        new UntagResourceCommand({ ResourceARN: alarm.AlarmArn!, TagKeys: [TAG_MIGRATION_ID, TAG_ROLE] }),
      );
    }
  }
}

/** The summary's account of the alarms: copies, recommended, removed and kept source alarms. */
export function alarmSummary(state: MigrationState): NonNullable<MigrationSummary['alarms']> {
  const progress = state.progress.alarms ?? { copied: [], recommended: [], marked: [], skipped: [] };
  const deleted = progress.sourceAlarmsDeleted ?? [];
  return {
    copied: progress.copied,
    recommended: progress.recommended,
    sourceAlarmsDeleted: deleted,
    kept: progress.copied.map((c) => c.from).filter((name) => !deleted.includes(name)),
    // The backup-failure watch is the new group's notification topic, set at create (preflight/plan.ts).
    ...(state.plan?.backupFailureTopic ? { backupFailures: state.plan.backupFailureTopic } : {}),
  };
}

/** What the operator must look at: alarms not carried over, a removal that failed. */
export function alarmWarnings(
  state: MigrationState & { alarmCleanupFailure?: { Error?: string; Cause?: string } },
): string[] {
  const warnings = (state.progress.alarms?.skipped ?? []).map(
    (s) => `Alarm '${s.name}' was not carried over (${s.reason}); it still watches the old group.`,
  );
  if (state.alarmCleanupFailure) {
    warnings.push(
      `The source's alarms could not all be removed (${state.alarmCleanupFailure.Error ?? 'error'}): delete ${(state.progress.alarms?.marked ?? []).map((n) => `'${n}'`).join(', ')} by hand.`,
    );
  }
  return warnings;
}
