import { Duration, Stack } from 'aws-cdk-lib';
import { EventField, Rule, RuleTargetInput } from 'aws-cdk-lib/aws-events';
import { SnsTopic } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface MigrationNotificationsProps {
  /** Key of the topics and of the dead-letter queue. */
  readonly key: IKey;
  /**
   * Addresses subscribed to execution outcomes and alarms.
   * @default - none; subscribe other endpoints to `topic`
   */
  readonly emails?: readonly string[];
  /**
   * Addresses subscribed to the critical topic (rollback failures, lost notifications).
   * @default - the same as `emails`
   */
  readonly criticalEmails?: readonly string[];
}

/** The execution statuses reported; RUNNING is included so that every start leaves a trace. */
export const REPORTED_STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] as const;

/**
 * Topics for migration outcomes and alarms, and the EventBridge rule that publishes every execution
 * status change with the migration's summary (its execution output) in the message.
 *
 * Deliveries that fail (EventBridge to SNS, SNS to email) land in an encrypted dead-letter queue,
 * which has an alarm of its own on the critical topic.
 */
export class MigrationNotifications extends Construct {
  /** Execution outcomes and alarms. */
  readonly topic: Topic;
  /** Alarms that need a human now. */
  readonly criticalTopic: Topic;
  /** Notifications that could not be delivered. */
  readonly deadLetterQueue: Queue;
  /**
   * ElastiCache's event notifications of the groups a migration creates without a topic of their
   * own (alarms.recommended): the backup-failure watch, `ElastiCache:SnapshotFailed` among the
   * group's other events. ElastiCache reports failed backups only to a group's notification topic
   * (no metric, and node-based groups send no EventBridge events), and cannot publish to an
   * encrypted topic: this one has no KMS key, by necessity. Its messages carry ids and event
   * texts, never cache data. docs/aws-behaviour.md, CloudWatch.
   */
  readonly cacheEventsTopic: Topic;

  constructor(scope: Construct, id: string, props: MigrationNotificationsProps) {
    super(scope, id);
    const account = Stack.of(this).account;

    this.deadLetterQueue = new Queue(this, 'DeliveryFailures', {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    this.topic = new Topic(this, 'Topic', {
      displayName: 'ElastiCache at-rest migrations',
      masterKey: props.key,
      enforceSSL: true,
    });
    this.criticalTopic = new Topic(this, 'CriticalTopic', {
      displayName: 'ElastiCache at-rest migrations: CRITICAL',
      masterKey: props.key,
      enforceSSL: true,
    });

    for (const topic of [this.topic, this.criticalTopic]) {
      // A topic policy replaces the default one, so CloudWatch alarms of this account are let in
      // explicitly. https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html
      topic.addToResourcePolicy(
        new PolicyStatement({
          sid: 'AllowAlarmsOfThisAccount',
          principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['sns:Publish'],
          resources: [topic.topicArn],
          conditions: { StringEquals: { 'aws:SourceAccount': account } },
        }),
      );
    }

    this.cacheEventsTopic = new Topic(this, 'CacheEventsTopic', {
      displayName: 'ElastiCache events of migrated groups (backup failures)',
      enforceSSL: true,
    });
    // ElastiCache publishes only where the topic policy names the account with aws:SourceOwner
    // (aws:SourceAccount does not let it in). https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/ElastiCacheSNS.html
    this.cacheEventsTopic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowElastiCacheOfThisAccount',
        principals: [new ServicePrincipal('elasticache.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.cacheEventsTopic.topicArn],
        conditions: { StringEquals: { 'aws:SourceOwner': account } },
      }),
    );

    for (const address of props.emails ?? []) {
      this.subscribeEmail(this.topic, address);
      this.subscribeEmail(this.cacheEventsTopic, address);
    }
    for (const address of props.criticalEmails ?? props.emails ?? []) {
      this.subscribeEmail(this.criticalTopic, address);
    }
  }

  /**
   * Publishes every status change of these state machines' executions to `topic`. Call once per
   * group of state machines; each call adds one rule.
   */
  reportExecutions(id: string, stateMachines: readonly IStateMachine[]): Rule {
    const region = Stack.of(this).region;
    return new Rule(this, id, {
      description: 'Publishes every status change of a migration execution',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: stateMachines.map((machine) => machine.stateMachineArn),
          status: [...REPORTED_STATUSES],
        },
      },
      targets: [
        new SnsTopic(this.topic, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 10,
          maxEventAge: Duration.hours(6),
          // A JSON object, so that values holding quotes (the input and output documents) stay valid.
          message: RuleTargetInput.fromObject({
            migrationId: EventField.fromPath('$.detail.name'),
            status: EventField.fromPath('$.detail.status'),
            summary: EventField.fromPath('$.detail.output'),
            error: EventField.fromPath('$.detail.error'),
            cause: EventField.fromPath('$.detail.cause'),
            input: EventField.fromPath('$.detail.input'),
            startDate: EventField.fromPath('$.detail.startDate'),
            stopDate: EventField.fromPath('$.detail.stopDate'),
            stateMachineArn: EventField.fromPath('$.detail.stateMachineArn'),
            executionArn: EventField.fromPath('$.detail.executionArn'),
            console: `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${EventField.fromPath('$.detail.executionArn')}`,
          }),
        }),
      ],
    });
  }

  /** Subscribes an address to a topic, with failed deliveries kept in the dead-letter queue. */
  subscribeEmail(topic: Topic, address: string): void {
    topic.addSubscription(new EmailSubscription(address, { deadLetterQueue: this.deadLetterQueue }));
  }
}
