import { Duration, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  LogQueryVisualizationType,
  LogQueryWidget,
  MathExpression,
  Metric,
  SingleValueWidget,
  Stats,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { FilterPattern, MetricFilter } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { MigrationStateMachine } from './migration-state-machine.js';
import type { MigratorFunction } from './migrator-function.js';

export interface MigrationMonitoringProps {
  /** The workflows to watch, by a short name used in alarm descriptions and widget titles. */
  readonly stateMachines: Readonly<Record<string, MigrationStateMachine>>;
  /** Every step function, by step name, for the duration widgets. */
  readonly functions: Readonly<Record<string, MigratorFunction>>;
  /** The rollback step: its failures leave a half-migrated cache and get their own alarm. */
  readonly rollbackFunction: MigratorFunction;
  /**
   * The error names with which a workflow ends when its rollback failed (the `Error` of its Fail
   * state). Executions ending with one of them raise the critical alarm.
   * @default ['RollbackFailedError']
   */
  readonly rollbackFailedErrors?: readonly string[];
  /** Where every alarm goes. */
  readonly topic: ITopic;
  /** Where alarms that need a human now go as well. */
  readonly criticalTopic: ITopic;
  /** Notifications that could not be delivered. */
  readonly deadLetterQueue: IQueue;
}

const PERIOD = Duration.minutes(5);

/**
 * Alarms on failed, timed-out and aborted migrations; a louder alarm when a rollback fails; an alarm
 * when notifications cannot be delivered; and a dashboard of migrations in flight, step durations
 * and outcomes. Every alarm is described in runbooks/alarms.md under its construct ID.
 */
export class MigrationMonitoring extends Construct {
  /** The alarms by ID, for tests and for the runbook. */
  readonly alarms: Record<string, Alarm> = {};
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: MigrationMonitoringProps) {
    super(scope, id);
    const notify = new SnsAction(props.topic);
    const page = new SnsAction(props.criticalTopic);

    for (const [name, machine] of Object.entries(props.stateMachines)) {
      const sm = machine.stateMachine;
      const outcomes: Array<[string, Metric, string]> = [
        [
          'ExecutionsFailed',
          sm.metricFailed({ period: PERIOD, statistic: Stats.SUM }),
          'failed: the workflow stopped on an error; see runbooks/alarms.md#executions-failed',
        ],
        [
          'ExecutionsTimedOut',
          sm.metricTimedOut({ period: PERIOD, statistic: Stats.SUM }),
          'timed out: a step or an approval waited longer than allowed; see runbooks/alarms.md#executions-timed-out',
        ],
        [
          'ExecutionsAborted',
          sm.metricAborted({ period: PERIOD, statistic: Stats.SUM }),
          'aborted: someone stopped a migration by hand; see runbooks/alarms.md#executions-aborted',
        ],
      ];
      for (const [metricName, metric, meaning] of outcomes) {
        const alarm = new Alarm(this, `${name}${metricName}`, {
          metric,
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
          alarmDescription: `A ${name} execution ${meaning}`,
        });
        alarm.addAlarmAction(notify);
        this.alarms[`${name}${metricName}`] = alarm;
      }
    }

    // An execution that ended because its rollback failed: DNS or the target may be half done.
    // Counted from the execution logs, so it is the workflow's verdict, not a retried attempt.
    const errors = props.rollbackFailedErrors ?? ['RollbackFailedError'];
    const namespace = `ElastiCacheAtRestMigrator/${Stack.of(this).stackName}`;
    const rollbackFailures = Object.entries(props.stateMachines).map(([name, machine]) => {
      new MetricFilter(this, `${name}RollbackFailedFilter`, {
        logGroup: machine.logGroup,
        metricNamespace: namespace,
        metricName: `${name}RollbackFailed`,
        metricValue: '1',
        filterPattern: FilterPattern.all(
          FilterPattern.stringValue('$.type', '=', 'ExecutionFailed'),
          FilterPattern.any(
            ...errors.map((error) => FilterPattern.stringValue('$.details.error', '=', error)),
          ),
        ),
      });
      return new Metric({
        namespace,
        metricName: `${name}RollbackFailed`,
        period: Duration.minutes(1),
        statistic: Stats.SUM,
      });
    });
    const rollbackFailed = new Alarm(this, 'RollbackFailed', {
      metric:
        rollbackFailures.length === 1 && rollbackFailures[0] !== undefined
          ? rollbackFailures[0]
          : new MathExpression({
              expression: rollbackFailures.map((_, index) => `FILL(m${index}, 0)`).join(' + '),
              usingMetrics: Object.fromEntries(
                rollbackFailures.map((metric, index) => [`m${index}`, metric]),
              ),
              period: Duration.minutes(1),
            }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription:
        'CRITICAL: a migration ended because its rollback failed. DNS may point at a deleted or half-built target; see runbooks/alarms.md#rollback-failed',
    });
    rollbackFailed.addAlarmAction(page, notify);
    this.alarms.RollbackFailed = rollbackFailed;

    // Each failed rollback invocation, including attempts Step Functions retries successfully: an
    // early sign, on the ordinary topic.
    const rollbackStepErrors = new Alarm(this, 'RollbackStepErrors', {
      metric: props.rollbackFunction.function.metricErrors({
        period: Duration.minutes(1),
        statistic: Stats.SUM,
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription:
        'A rollback step invocation failed (it may still succeed on retry); see runbooks/alarms.md#rollback-step-errors',
    });
    rollbackStepErrors.addAlarmAction(notify);
    this.alarms.RollbackStepErrors = rollbackStepErrors;

    const undelivered = new Alarm(this, 'NotificationsUndelivered', {
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: PERIOD,
        statistic: Stats.MAXIMUM,
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription:
        'Migration notifications could not be delivered and wait in the dead-letter queue; see runbooks/alarms.md#notifications-undelivered',
    });
    undelivered.addAlarmAction(page);
    this.alarms.NotificationsUndelivered = undelivered;

    this.dashboard = new Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.days(7),
    });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          '# ElastiCache at-rest migrations\nIn-flight executions, outcomes and step durations. Alarms: runbooks/alarms.md',
        width: 24,
        height: 2,
      }),
    );

    const machines = Object.entries(props.stateMachines);
    this.dashboard.addWidgets(
      new LogQueryWidget({
        title: 'Migrations in flight (started, not finished, within the time range)',
        logGroupNames: machines.map(([, machine]) => machine.logGroup.logGroupName),
        view: LogQueryVisualizationType.TABLE,
        queryLines: [
          'fields @timestamp, execution_arn, type',
          'filter type in ["ExecutionStarted", "ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"]',
          'stats latest(type) as last_event, min(@timestamp) as started by execution_arn',
          'filter last_event = "ExecutionStarted"',
          'sort started asc',
        ],
        width: 12,
        height: 6,
      }),
      ...machines.map(
        ([name, machine]) =>
          new GraphWidget({
            title: `${name}: started minus finished (running total over the range)`,
            left: [
              new MathExpression({
                expression:
                  'RUNNING_SUM(FILL(started, 0) - FILL(succeeded, 0) - FILL(failed, 0) - FILL(aborted, 0) - FILL(timedout, 0))',
                label: 'in flight',
                period: PERIOD,
                usingMetrics: {
                  started: machine.stateMachine.metricStarted({ period: PERIOD, statistic: Stats.SUM }),
                  succeeded: machine.stateMachine.metricSucceeded({ period: PERIOD, statistic: Stats.SUM }),
                  failed: machine.stateMachine.metricFailed({ period: PERIOD, statistic: Stats.SUM }),
                  aborted: machine.stateMachine.metricAborted({ period: PERIOD, statistic: Stats.SUM }),
                  timedout: machine.stateMachine.metricTimedOut({ period: PERIOD, statistic: Stats.SUM }),
                },
              }),
            ],
            width: 12,
            height: 6,
          }),
      ),
    );

    const day = Duration.days(1);
    this.dashboard.addWidgets(
      ...machines.map(
        ([name, machine]) =>
          new GraphWidget({
            title: `${name}: outcomes per day`,
            stacked: true,
            left: [
              machine.stateMachine.metricSucceeded({ period: day, statistic: Stats.SUM, label: 'succeeded' }),
              machine.stateMachine.metricFailed({ period: day, statistic: Stats.SUM, label: 'failed' }),
              machine.stateMachine.metricTimedOut({ period: day, statistic: Stats.SUM, label: 'timed out' }),
              machine.stateMachine.metricAborted({ period: day, statistic: Stats.SUM, label: 'aborted' }),
            ],
            width: 12,
            height: 6,
          }),
      ),
      ...machines.map(
        ([name, machine]) =>
          new SingleValueWidget({
            title: `${name}: outcomes in the time range`,
            setPeriodToTimeRange: true,
            metrics: [
              machine.stateMachine.metricSucceeded({ statistic: Stats.SUM, label: 'succeeded' }),
              machine.stateMachine.metricFailed({ statistic: Stats.SUM, label: 'failed' }),
              machine.stateMachine.metricTimedOut({ statistic: Stats.SUM, label: 'timed out' }),
              machine.stateMachine.metricAborted({ statistic: Stats.SUM, label: 'aborted' }),
            ],
            width: 12,
            height: 6,
          }),
      ),
    );

    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Step durations (p90 per step)',
        left: Object.entries(props.functions).map(([step, fn]) =>
          fn.function.metricDuration({ period: PERIOD, statistic: Stats.p(90), label: step }),
        ),
        width: 12,
        height: 6,
      }),
      new GraphWidget({
        title: 'Migration duration (execution time, p50 and max)',
        left: machines.flatMap(([name, machine]) => [
          machine.stateMachine.metric('ExecutionTime', {
            period: PERIOD,
            statistic: Stats.p(50),
            label: `${name} p50`,
          }),
          machine.stateMachine.metric('ExecutionTime', {
            period: PERIOD,
            statistic: Stats.MAXIMUM,
            label: `${name} max`,
          }),
        ]),
        width: 12,
        height: 6,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Step errors',
        left: Object.entries(props.functions).map(([step, fn]) =>
          fn.function.metricErrors({ period: PERIOD, statistic: Stats.SUM, label: step }),
        ),
        width: 12,
        height: 6,
      }),
      new AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(this.alarms), width: 12, height: 6 }),
    );
  }
}
