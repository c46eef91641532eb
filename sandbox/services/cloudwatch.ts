import * as cloudWatchModel from '@aws-sdk/client-cloudwatch';
import { AwsFault } from '../protocol/errors.js';
import { jsonProtocol } from '../protocol/json.js';
import { queryProtocol } from '../protocol/query.js';
import { collectSchemas } from '../protocol/schema.js';
import type { SandboxContext, ServiceDefinition } from './types.js';

/**
 * CloudWatch metric alarms: what the migration reads, creates and deletes (DescribeAlarms,
 * PutMetricAlarm, DeleteAlarms, tags). Alarms hold no state machine of their own here: every
 * alarm stays in INSUFFICIENT_DATA, as a new alarm does until its metric has data.
 *
 * Two protocols on one signing name (`monitoring`), as on AWS: the current JS SDK speaks
 * awsJson1_0 with the awsQueryCompatible trait, the AWS CLI v2.9 (botocore) speaks awsQuery
 * (docs/aws-behaviour.md, CloudWatch).
 */
export interface Dimension {
  Name: string;
  Value: string;
}

export interface MetricAlarm {
  AlarmName: string;
  AlarmArn: string;
  AlarmDescription?: string;
  AlarmConfigurationUpdatedTimestamp: Date;
  ActionsEnabled: boolean;
  OKActions: string[];
  AlarmActions: string[];
  InsufficientDataActions: string[];
  StateValue: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  StateReason: string;
  StateUpdatedTimestamp: Date;
  StateTransitionedTimestamp: Date;
  MetricName?: string;
  Namespace?: string;
  Statistic?: string;
  ExtendedStatistic?: string;
  Dimensions: Dimension[];
  Period?: number;
  Unit?: string;
  EvaluationPeriods: number;
  DatapointsToAlarm?: number;
  Threshold?: number;
  ComparisonOperator: string;
  TreatMissingData?: string;
  EvaluateLowSampleCountPercentile?: string;
  Metrics?: unknown[];
  ThresholdMetricId?: string;
}

export interface AlarmSeed {
  name: string;
  namespace?: string;
  metricName: string;
  dimensions: Record<string, string>;
  statistic?: string;
  period?: number;
  evaluationPeriods?: number;
  threshold: number;
  comparisonOperator?: string;
  alarmActions?: string[];
  okActions?: string[];
  description?: string;
  tags?: Record<string, string>;
}

const COMPARISONS = [
  'GreaterThanOrEqualToThreshold',
  'GreaterThanThreshold',
  'LessThanThreshold',
  'LessThanOrEqualToThreshold',
  'LessThanLowerOrGreaterThanUpperThreshold',
  'LessThanLowerThreshold',
  'GreaterThanUpperThreshold',
];
const STATISTICS = ['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum'];
const TREAT_MISSING = ['breaching', 'notBreaching', 'ignore', 'missing'];

/** Fault codes are the model's shape names; the protocols write their query codes. */
function missing(member: string): AwsFault {
  return new AwsFault('MissingRequiredParameterException', `The parameter ${member} is required.`);
}

function invalid(message: string): AwsFault {
  return new AwsFault('InvalidParameterValueException', message);
}

export class CloudWatchStore {
  readonly alarms = new Map<string, MetricAlarm>();
  readonly tags = new Map<string, Map<string, string>>();

  constructor(private readonly ctx: SandboxContext) {}

  arnOf(name: string): string {
    return `arn:aws:cloudwatch:${this.ctx.region}:${this.ctx.accountId}:alarm:${name}`;
  }

  nameOfArn(arn: string): string {
    const prefix = `arn:aws:cloudwatch:${this.ctx.region}:${this.ctx.accountId}:alarm:`;
    const name = arn.startsWith(prefix) ? arn.slice(prefix.length) : undefined;
    if (!name || !this.alarms.has(name)) {
      throw new AwsFault('ResourceNotFoundException', `The resource ${arn} does not exist.`, undefined, {
        ResourceType: 'alarm',
        ResourceId: arn,
      });
    }
    return name;
  }

  /** Creates or replaces an alarm (PutMetricAlarm); tags are set only when it is created. */
  put(input: PutMetricAlarmInput): void {
    const name = input.AlarmName;
    const now = new Date(this.ctx.clock.now());
    const existing = this.alarms.get(name);
    const alarm: MetricAlarm = {
      AlarmName: name,
      AlarmArn: this.arnOf(name),
      AlarmDescription: input.AlarmDescription,
      AlarmConfigurationUpdatedTimestamp: now,
      ActionsEnabled: input.ActionsEnabled ?? true,
      OKActions: input.OKActions ?? [],
      AlarmActions: input.AlarmActions ?? [],
      InsufficientDataActions: input.InsufficientDataActions ?? [],
      // An update leaves the alarm's state as it was.
      StateValue: existing?.StateValue ?? 'INSUFFICIENT_DATA',
      StateReason: existing?.StateReason ?? 'Unchecked: Initial alarm creation',
      StateUpdatedTimestamp: existing?.StateUpdatedTimestamp ?? now,
      StateTransitionedTimestamp: existing?.StateTransitionedTimestamp ?? now,
      MetricName: input.MetricName,
      Namespace: input.Namespace,
      Statistic: input.Statistic,
      ExtendedStatistic: input.ExtendedStatistic,
      Dimensions: input.Dimensions ?? [],
      Period: input.Period,
      Unit: input.Unit,
      EvaluationPeriods: input.EvaluationPeriods!,
      DatapointsToAlarm: input.DatapointsToAlarm,
      Threshold: input.Threshold,
      ComparisonOperator: input.ComparisonOperator!,
      TreatMissingData: input.TreatMissingData,
      EvaluateLowSampleCountPercentile: input.EvaluateLowSampleCountPercentile,
      Metrics: input.Metrics,
      ThresholdMetricId: input.ThresholdMetricId,
    };
    this.alarms.set(name, alarm);
    if (!existing) this.tags.set(name, new Map((input.Tags ?? []).map((t) => [t.Key, t.Value])));
  }

  /** A fixture's alarm (an operator's alarm on the source). */
  seed(seed: AlarmSeed): void {
    const input: PutMetricAlarmInput = {
      AlarmName: seed.name,
      AlarmDescription: seed.description,
      Namespace: seed.namespace ?? 'AWS/ElastiCache',
      MetricName: seed.metricName,
      Dimensions: Object.entries(seed.dimensions).map(([Name, Value]) => ({ Name, Value })),
      Statistic: seed.statistic ?? 'Average',
      Period: seed.period ?? 300,
      EvaluationPeriods: seed.evaluationPeriods ?? 1,
      Threshold: seed.threshold,
      ComparisonOperator: seed.comparisonOperator ?? 'GreaterThanThreshold',
      AlarmActions: seed.alarmActions,
      OKActions: seed.okActions,
      Tags: Object.entries(seed.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
    };
    validatePut(input);
    this.put(input);
  }
}

interface PutMetricAlarmInput {
  AlarmName: string;
  AlarmDescription?: string;
  ActionsEnabled?: boolean;
  OKActions?: string[];
  AlarmActions?: string[];
  InsufficientDataActions?: string[];
  MetricName?: string;
  Namespace?: string;
  Statistic?: string;
  ExtendedStatistic?: string;
  Dimensions?: Dimension[];
  Period?: number;
  Unit?: string;
  EvaluationPeriods?: number;
  DatapointsToAlarm?: number;
  Threshold?: number;
  ComparisonOperator?: string;
  TreatMissingData?: string;
  EvaluateLowSampleCountPercentile?: string;
  Metrics?: unknown[];
  Tags?: { Key: string; Value: string }[];
  ThresholdMetricId?: string;
}

/**
 * The PutMetricAlarm rules of the API reference
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
 */
function validatePut(input: Partial<PutMetricAlarmInput>): asserts input is PutMetricAlarmInput {
  if (!input.AlarmName) throw missing('AlarmName');
  if (input.AlarmName.length > 255) throw invalid('AlarmName must be at most 255 characters.');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII control characters are what is refused.
  if (/[\x00-\x1f\x7f]/.test(input.AlarmName))
    throw invalid('AlarmName must not contain ASCII control characters.');
  if (input.EvaluationPeriods === undefined) throw missing('EvaluationPeriods');
  if (!Number.isInteger(input.EvaluationPeriods) || input.EvaluationPeriods < 1)
    throw invalid('EvaluationPeriods must be at least 1.');
  if (!input.ComparisonOperator) throw missing('ComparisonOperator');
  if (!COMPARISONS.includes(input.ComparisonOperator))
    throw new AwsFault('ValidationException', `Invalid ComparisonOperator '${input.ComparisonOperator}'.`);
  if (input.TreatMissingData !== undefined && !TREAT_MISSING.includes(input.TreatMissingData))
    throw invalid(`Invalid TreatMissingData '${input.TreatMissingData}'.`);
  const metricMath = input.Metrics !== undefined && input.Metrics.length > 0;
  if (metricMath && (input.MetricName || input.Namespace || input.Statistic || input.Dimensions?.length)) {
    throw new AwsFault(
      'InvalidParameterCombinationException',
      'Metrics cannot be specified with MetricName, Namespace, Statistic or Dimensions.',
    );
  }
  if (!metricMath) {
    if (!input.MetricName) throw missing('MetricName');
    if (!input.Namespace) throw missing('Namespace');
    if (input.Statistic && input.ExtendedStatistic)
      throw new AwsFault(
        'InvalidParameterCombinationException',
        'Statistic and ExtendedStatistic are mutually exclusive.',
      );
    if (!input.Statistic && !input.ExtendedStatistic) throw missing('Statistic or ExtendedStatistic');
    if (input.Statistic && !STATISTICS.includes(input.Statistic))
      throw new AwsFault('ValidationException', `Invalid Statistic '${input.Statistic}'.`);
    if (input.Period === undefined) throw missing('Period');
    if (![10, 20, 30].includes(input.Period) && (input.Period <= 0 || input.Period % 60 !== 0))
      throw invalid('Period must be 10, 20, 30 or a multiple of 60.');
    // At most seven days of evaluation, one day for periods under an hour.
    const total = input.Period * input.EvaluationPeriods;
    const limit = input.Period < 3600 ? 86_400 : 604_800;
    if (total > limit)
      throw invalid(
        `Period multiplied by EvaluationPeriods must not exceed ${limit} seconds for this period.`,
      );
    if (input.Threshold === undefined && !input.ThresholdMetricId) throw missing('Threshold');
    if ((input.Dimensions?.length ?? 0) > 30) throw invalid('At most 30 dimensions.');
  }
  if (
    input.DatapointsToAlarm !== undefined &&
    (input.DatapointsToAlarm < 1 || input.DatapointsToAlarm > input.EvaluationPeriods)
  )
    throw invalid('DatapointsToAlarm must be between 1 and EvaluationPeriods.');
  for (const [member, actions] of [
    ['AlarmActions', input.AlarmActions],
    ['OKActions', input.OKActions],
    ['InsufficientDataActions', input.InsufficientDataActions],
  ] as const) {
    if ((actions?.length ?? 0) > 5) throw invalid(`${member} can hold at most 5 actions.`);
    for (const action of actions ?? []) {
      if (!action.startsWith('arn:')) throw invalid(`Invalid action ARN '${action}' in ${member}.`);
    }
  }
  checkTags(input.Tags);
}

function checkTags(tags: { Key?: string; Value?: string }[] | undefined): void {
  if ((tags?.length ?? 0) > 50) throw invalid('At most 50 tags per resource.');
  for (const tag of tags ?? []) {
    if (!tag.Key || tag.Key.length > 128) throw invalid('Tag keys must be 1-128 characters.');
    if (tag.Value === undefined) throw missing('Tags.member.N.Value');
    if (tag.Value.length > 256) throw invalid('Tag values must be at most 256 characters.');
  }
}

/** Opaque page tokens: the name the next page starts after. */
function pageToken(name: string): string {
  return Buffer.from(name, 'utf8').toString('base64');
}

function readToken(token: string): string {
  const name = Buffer.from(token, 'base64').toString('utf8');
  if (!token || pageToken(name) !== token) throw new AwsFault('InvalidNextToken', 'The token is invalid.');
  return name;
}

export function cloudWatchService(ctx: SandboxContext, store: CloudWatchStore): ServiceDefinition {
  const schemas = collectSchemas(cloudWatchModel);
  const query = queryProtocol({
    schemas,
    namespace: 'com.amazonaws.cloudwatch',
    xmlNamespace: 'http://monitoring.amazonaws.com/doc/2010-08-01/',
    version: '2010-08-01',
  });
  const json = jsonProtocol({
    schemas,
    targetPrefix: 'GraniteServiceVersion20100801',
    version: '1.0',
    queryCompatibleNamespace: 'com.amazonaws.cloudwatch',
  });
  return {
    signingName: 'monitoring',
    faults: ctx.faults,
    wire: json,
    wireFor: (req) => (req.headers['x-amz-target'] ? json : query),
    operations: {
      PutMetricAlarm(input: Partial<PutMetricAlarmInput>) {
        validatePut(input);
        store.put(input);
        return {};
      },

      DescribeAlarms(input: {
        AlarmNames?: string[];
        AlarmNamePrefix?: string;
        AlarmTypes?: string[];
        StateValue?: string;
        ActionPrefix?: string;
        MaxRecords?: number;
        NextToken?: string;
      }) {
        if (input.AlarmNames?.length && input.AlarmNamePrefix)
          throw new AwsFault(
            'InvalidParameterCombinationException',
            'AlarmNames and AlarmNamePrefix cannot be given together.',
          );
        if ((input.AlarmNames?.length ?? 0) > 100) throw invalid('At most 100 AlarmNames.');
        const max = input.MaxRecords ?? 50;
        if (!Number.isInteger(max) || max < 1 || max > 100) throw invalid('MaxRecords must be 1-100.');
        const after = input.NextToken ? readToken(input.NextToken) : undefined;
        // Without AlarmTypes only metric alarms are returned, which is all the sandbox has.
        const wantsMetric = !input.AlarmTypes?.length || input.AlarmTypes.includes('MetricAlarm');
        const names = [...store.alarms.keys()].sort();
        const matching = names.filter(
          (name) =>
            wantsMetric &&
            (!input.AlarmNames?.length || input.AlarmNames.includes(name)) &&
            (!input.AlarmNamePrefix || name.startsWith(input.AlarmNamePrefix)) &&
            (!input.StateValue || store.alarms.get(name)!.StateValue === input.StateValue) &&
            (!input.ActionPrefix ||
              store.alarms.get(name)!.AlarmActions.some((a) => a.startsWith(input.ActionPrefix!))) &&
            (after === undefined || name > after),
        );
        const page = matching.slice(0, max);
        return {
          MetricAlarms: page.map((name) => store.alarms.get(name)!),
          CompositeAlarms: [],
          NextToken: matching.length > max ? pageToken(page[page.length - 1]!) : undefined,
        };
      },

      DeleteAlarms(input: { AlarmNames?: string[] }) {
        if (!input.AlarmNames) throw missing('AlarmNames');
        if (input.AlarmNames.length > 100) throw invalid('At most 100 AlarmNames.');
        // "If you specify an incorrect alarm name ... no alarms are deleted."
        const absent = input.AlarmNames.filter((name) => !store.alarms.has(name));
        if (absent.length > 0)
          throw new AwsFault('ResourceNotFound', `Alarm(s) not found: ${absent.join(', ')}`);
        for (const name of input.AlarmNames) {
          store.alarms.delete(name);
          store.tags.delete(name);
        }
        return {};
      },

      ListTagsForResource(input: { ResourceARN?: string }) {
        if (!input.ResourceARN) throw missing('ResourceARN');
        const name = store.nameOfArn(input.ResourceARN);
        return { Tags: [...(store.tags.get(name) ?? new Map())].map(([Key, Value]) => ({ Key, Value })) };
      },

      TagResource(input: { ResourceARN?: string; Tags?: { Key: string; Value: string }[] }) {
        if (!input.ResourceARN) throw missing('ResourceARN');
        if (!input.Tags) throw missing('Tags');
        const name = store.nameOfArn(input.ResourceARN);
        checkTags(input.Tags);
        const tags = store.tags.get(name) ?? new Map<string, string>();
        const keys = new Set([...tags.keys(), ...input.Tags.map((t) => t.Key)]);
        if (keys.size > 50) throw invalid('At most 50 tags per resource.');
        for (const tag of input.Tags) tags.set(tag.Key, tag.Value);
        store.tags.set(name, tags);
        return {};
      },

      UntagResource(input: { ResourceARN?: string; TagKeys?: string[] }) {
        if (!input.ResourceARN) throw missing('ResourceARN');
        if (!input.TagKeys) throw missing('TagKeys');
        const name = store.nameOfArn(input.ResourceARN);
        for (const key of input.TagKeys) store.tags.get(name)?.delete(key);
        return {};
      },
    },
  };
}
