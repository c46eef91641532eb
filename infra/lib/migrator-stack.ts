import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CfnOutput,
  type CfnResource,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Peer, Port, SecurityGroup, Subnet, Vpc } from 'aws-cdk-lib/aws-ec2';
import { Rule, RuleTargetInput } from 'aws-cdk-lib/aws-events';
import { SfnStateMachine } from 'aws-cdk-lib/aws-events-targets';
import { Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Key } from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct, IConstruct } from 'constructs';
import {
  FUNCTION_NAMES,
  FUNCTIONS,
  type FunctionName,
  functionSubstitutions,
  STOPPED_MIGRATION_ROLLBACK,
  WORKFLOWS,
  type WorkflowName,
} from '../../statemachine/manifest.js';
import { type MigratorConfig, normalizeRecordName } from '../config/schema.js';
import { acknowledgeFindings } from './acknowledgements.js';
import { FleetBatch } from './constructs/fleet-batch.js';
import { CacheEncryptionKey, NotificationKey } from './constructs/keys.js';
import { MigrationStateMachine } from './constructs/migration-state-machine.js';
import { MigrationsApi } from './constructs/migrations-api.js';
import { MigratorFunction } from './constructs/migrator-function.js';
import { MigrationMonitoring } from './constructs/monitoring.js';
import { MigrationNotifications } from './constructs/notifications.js';
import { acknowledge } from './nag.js';
import { type PermissionScope, permissions, stepPermissions } from './permissions.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Where the stack finds the handlers and the ASL files. */
export interface SourcePaths {
  /** Directory of the step handlers (`preflight.ts`, ...). */
  readonly handlersDir: string;
  /** Directory of the `*.asl.json` definitions. */
  readonly stateMachineDir: string;
}

/** The paths of this repository. */
export const REPOSITORY_SOURCES: SourcePaths = {
  handlersDir: join(REPO_ROOT, 'lambdas', 'handlers'),
  stateMachineDir: join(REPO_ROOT, 'statemachine'),
};

export interface MigratorStackProps extends StackProps {
  /** The validated configuration. */
  readonly config: MigratorConfig;
  /**
   * Where the handlers and definitions are.
   * @default REPOSITORY_SOURCES
   */
  readonly sources?: SourcePaths;
}

/**
 * The migrator: the cache key, one function per step, the workflow state machines, notifications,
 * alarms and a dashboard.
 */
export class MigratorStack extends Stack {
  readonly cacheKey: CacheEncryptionKey;
  /** Key of the notification and approval topics and of the dead-letter queue. */
  readonly notificationKey: Key;
  readonly functions: Readonly<Record<FunctionName, MigratorFunction>>;
  readonly workflows: Readonly<Record<WorkflowName, MigrationStateMachine>>;
  /** Rolls back a migration stopped with StopExecution or timed out. */
  readonly stoppedMigrationRollback: MigrationStateMachine;
  readonly notifications: MigrationNotifications;
  readonly monitoring: MigrationMonitoring;
  readonly approvalTopic: ITopic;
  readonly verifierSecurityGroup: SecurityGroup;
  /** The exclusive claim of each source group (lambdas/migration/claim.ts). */
  readonly migrationsTable: Table;
  /** The scheduled fleet batch. */
  readonly fleet: FleetBatch;
  /** Start, watch and approve migrations over HTTPS with IAM authorization. */
  readonly api: MigrationsApi;

  constructor(scope: Construct, id: string, props: MigratorStackProps) {
    super(scope, id, {
      ...props,
      env: props.env ?? { account: props.config.account, region: props.config.region },
      description: props.description ?? 'Migrates ElastiCache replication groups to at-rest encryption',
    });
    const { config } = props;
    const sources = props.sources ?? REPOSITORY_SOURCES;

    this.cacheKey = new CacheEncryptionKey(this, 'CacheKey', {
      ...(config.kms.mode === 'existing' ? { existingKeyArn: config.kms.keyArn } : {}),
      ...(config.kms.mode === 'create' && config.kms.alias !== undefined ? { alias: config.kms.alias } : {}),
    });
    const notificationKey = new NotificationKey(this, 'NotificationKey');
    this.notificationKey = notificationKey.key;

    const permissionScope: PermissionScope = {
      partition: this.partition,
      region: this.region,
      account: this.account,
      cacheKeyArns: [this.cacheKey.keyArn, ...config.kms.additionalKeyArns],
      hostedZones: config.dns.hostedZones.map((zone) => ({
        id: zone.id,
        normalizedRecordNames: [...new Set(zone.recordNames.map(normalizeRecordName))],
      })),
      secretKmsKeyArns: config.secrets.kmsKeyArns,
    };

    // The VPC is referenced by ID, never looked up, so synth needs no credentials.
    const vpc = Vpc.fromVpcAttributes(this, 'Vpc', {
      vpcId: config.network.vpcId,
      availabilityZones: Fn.getAzs(),
    });
    Validations.of(vpc).acknowledge({
      id: 'Annotation::@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones',
      reason: 'Subnets are passed explicitly by ID; nothing selects subnets by availability zone',
    });
    const subnets = config.network.subnetIds.map((subnetId, index) => {
      const subnet = Subnet.fromSubnetId(this, `VerifierSubnet${index}`, subnetId);
      Validations.of(subnet).acknowledge({
        id: 'Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId',
        reason: 'Only the subnet ID is used (Lambda VpcConfig); route tables are never read',
      });
      return subnet;
    });
    this.verifierSecurityGroup = this.createVerifierSecurityGroup(vpc, config);

    const logRetention = config.logging.retentionDays as RetentionDays;
    // One function per entry of the manifest, with its own IAM statements.
    const functions = Object.fromEntries(
      FUNCTION_NAMES.map((step) => {
        const spec = FUNCTIONS[step];
        const fn = new MigratorFunction(this, `${step[0]?.toUpperCase()}${step.slice(1)}`, {
          entry: join(sources.handlersDir, `${spec.handler}.ts`),
          description: spec.description,
          memorySize: spec.memorySize,
          timeout: Duration.seconds(spec.timeoutSeconds),
          logLevel: config.logging.level,
          logRetention,
          statements: stepPermissions[step](permissionScope),
          ...(spec.inVpc
            ? { vpcPlacement: { vpc, subnets, securityGroups: [this.verifierSecurityGroup] } }
            : {}),
        });
        return [step, fn];
      }),
    ) as Record<FunctionName, MigratorFunction>;
    this.functions = functions;

    functions.preflight.bind('DEFAULT_KMS_KEY_ID', this.cacheKey.keyArn);

    // One item per source group being migrated: taken by preflight with a conditional write,
    // deleted by its owner when the migration finishes (decommission) or rolls back.
    this.migrationsTable = new Table(this, 'Migrations', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      // A claim may name a migration still running or one an operator must clean up after.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const tableArn = this.migrationsTable.tableArn;
    const tableName = this.migrationsTable.tableName;
    functions.preflight.bind(
      'MIGRATIONS_TABLE_NAME',
      tableName,
      ...permissions.claimSource(tableArn, ['dynamodb:GetItem', 'dynamodb:PutItem']),
    );
    for (const step of ['decommission', 'rollback'] as const) {
      functions[step].bind(
        'MIGRATIONS_TABLE_NAME',
        tableName,
        ...permissions.claimSource(tableArn, ['dynamodb:DeleteItem']),
      );
    }
    functions.restore.bind('DEFAULT_KMS_KEY_ID', this.cacheKey.keyArn);
    const zoneIds = config.dns.hostedZones.map((zone) => zone.id).join(',');
    for (const step of ['preflight', 'cutover', 'rollback'] as const) {
      functions[step].bind('ALLOWED_HOSTED_ZONE_IDS', zoneIds);
    }

    this.notifications = new MigrationNotifications(this, 'Notifications', {
      key: notificationKey.key,
      emails: config.notifications.emails,
      ...(config.notifications.criticalEmails === undefined
        ? {}
        : { criticalEmails: config.notifications.criticalEmails }),
    });
    this.approvalTopic = this.createApprovalTopic(config, notificationKey);
    // The recommended alarms notify the deployment's topic (its policy lets CloudWatch publish).
    functions.alarms.bind('ALARM_TOPIC_ARN', this.notifications.topic.topicArn);
    // Their backup-failure watch: preflight names the cache-events topic in the new group's create
    // request (the restore's CreateReplicationGroup), where the source has no topic of its own.
    functions.preflight.bind('CACHE_EVENTS_TOPIC_ARN', this.notifications.cacheEventsTopic.topicArn);
    functions.requestApproval.bind(
      'APPROVAL_TOPIC_ARN',
      this.approvalTopic.topicArn,
      new PolicyStatement({
        sid: 'PublishApprovalRequests',
        actions: ['sns:Publish'],
        resources: [this.approvalTopic.topicArn],
      }),
      ...(config.approval.topicArn === undefined
        ? [
            new PolicyStatement({
              sid: 'EncryptApprovalRequests',
              actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
              resources: [notificationKey.key.keyArn],
              conditions: { StringEquals: { 'kms:ViaService': `sns.${this.region}.amazonaws.com` } },
            }),
          ]
        : []),
    );

    const bySubstitution = functionSubstitutions((step) => functions[step]);
    this.workflows = Object.fromEntries(
      (Object.keys(WORKFLOWS) as WorkflowName[]).map((name) => [
        name,
        new MigrationStateMachine(this, name, {
          definitionFile: join(sources.stateMachineDir, WORKFLOWS[name].file),
          functions: bySubstitution,
          logRetention,
          includeExecutionData: config.logging.includeExecutionData,
        }),
      ]),
    ) as Record<WorkflowName, MigrationStateMachine>;
    this.stoppedMigrationRollback = new MigrationStateMachine(this, STOPPED_MIGRATION_ROLLBACK.name, {
      definitionFile: join(sources.stateMachineDir, STOPPED_MIGRATION_ROLLBACK.file),
      functions: bySubstitution,
      logRetention,
      includeExecutionData: config.logging.includeExecutionData,
    });
    this.rollBackStoppedMigrations(functions.rollback);

    this.api = new MigrationsApi(this, 'MigrationsApi', {
      stateMachine: this.workflows.MigrateReplicationGroup.stateMachine,
      migrationsTable: this.migrationsTable,
      entry: join(sources.handlersDir, 'api.ts'),
      logLevel: config.logging.level,
      logRetention,
    });

    this.fleet = new FleetBatch(this, 'Fleet', {
      handlersDir: sources.handlersDir,
      stateMachineDir: sources.stateMachineDir,
      migrationStateMachine: this.workflows.MigrateReplicationGroup.stateMachine,
      table: this.migrationsTable,
      topic: this.notifications.topic,
      topicKey: notificationKey.key,
      permissionScope,
      vpcPlacement: { vpc, subnets, securityGroups: [this.verifierSecurityGroup] },
      defaultKmsKeyArn: this.cacheKey.keyArn,
      allowedHostedZoneIds: zoneIds,
      logLevel: config.logging.level,
      logRetention,
      includeExecutionData: config.logging.includeExecutionData,
      schedule: config.fleet.schedule,
    });

    this.notifications.reportExecutions(
      'ExecutionStatusChanged',
      Object.values(this.workflows).map((workflow) => workflow.stateMachine),
    );

    this.monitoring = new MigrationMonitoring(this, 'Monitoring', {
      stateMachines: this.workflows,
      functions,
      rollbackFunction: functions.rollback,
      topic: this.notifications.topic,
      criticalTopic: this.notifications.criticalTopic,
      deadLetterQueue: this.notifications.deadLetterQueue,
    });

    new CfnOutput(this, 'CacheKeyArn', {
      value: this.cacheKey.keyArn,
      description: 'KMS key of the targets',
    });
    for (const [name, workflow] of Object.entries(this.workflows)) {
      new CfnOutput(this, `${name}StateMachineArn`, { value: workflow.stateMachine.stateMachineArn });
    }
    new CfnOutput(this, 'MigrateFleetStateMachineArn', {
      value: this.fleet.workflow.stateMachine.stateMachineArn,
    });
    new CfnOutput(this, 'ReportsBucketName', { value: this.fleet.bucket.bucketName });
    new CfnOutput(this, 'MigrationsApiUrl', {
      value: this.api.api.url,
      description: 'runbooks/start-via-api.md',
    });
    new CfnOutput(this, 'ApprovalTopicArn', { value: this.approvalTopic.topicArn });
    new CfnOutput(this, 'MigrationsTableName', {
      value: tableName,
      description:
        'Claims of the source groups being migrated (runbooks/failures.md, MigrationInProgressError)',
    });
    new CfnOutput(this, 'NotificationTopicArn', { value: this.notifications.topic.topicArn });
    new CfnOutput(this, 'CriticalTopicArn', { value: this.notifications.criticalTopic.topicArn });
    new CfnOutput(this, 'CacheEventsTopicArn', {
      value: this.notifications.cacheEventsTopic.topicArn,
      description:
        'ElastiCache event notifications (backup failures) of new groups without a topic of their own',
    });

    acknowledgeFindings(this);
  }

  /**
   * StopExecution (and an execution timeout) ends a migration at once and runs no Catch, which
   * would abandon a snapshot, a new group or a lowered TTL. The status change starts
   * RollbackStoppedMigration with the event; its rollback function reads the stopped execution's
   * history (docs/cli.md, "Cancel").
   */
  private rollBackStoppedMigrations(rollback: MigratorFunction): void {
    const migrate = this.workflows.MigrateReplicationGroup.stateMachine;
    new Rule(this, 'RollBackStoppedMigrations', {
      description: 'Rolls back a migration stopped with StopExecution or timed out (no Catch runs then)',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { stateMachineArn: [migrate.stateMachineArn], status: ['ABORTED', 'TIMED_OUT'] },
      },
      targets: [
        new SfnStateMachine(this.stoppedMigrationRollback.stateMachine, {
          input: RuleTargetInput.fromEventPath('$'),
          deadLetterQueue: this.notifications.deadLetterQueue,
          retryAttempts: 10,
          maxEventAge: Duration.hours(6),
        }),
      ],
    });
    // A policy of its own: in the function's default policy it would close a cycle (the state
    // machine's role invokes the function, whose policy would name the state machine).
    const readStopped = new Policy(this, 'ReadStoppedMigrations', {
      roles: [rollback.function.role!],
      statements: [
        new PolicyStatement({
          sid: 'ReadStoppedMigrations',
          actions: [
            'states:DescribeExecution',
            'states:GetExecutionHistory',
            'states:DescribeStateMachineForExecution',
          ],
          resources: [
            `arn:${this.partition}:states:${this.region}:${this.account}:execution:${migrate.stateMachineName}:*`,
          ],
        }),
      ],
    });
    const machineId = this.resolve(this.getLogicalId(migrate.node.defaultChild as CfnResource)) as string;
    acknowledge(readStopped.node.defaultChild as IConstruct, {
      id: `AwsSolutions-IAM5[Resource::arn:${this.partition}:states:${this.region}:${this.account}:execution:<${machineId}.Name>:*]`,
      reason:
        'Executions of the migration state machine, named at run time (the migration id); read-only (describe and history), to roll back one that was stopped',
    });
  }

  /**
   * The verifier's security group: no default egress; TCP to the caches on their port, HTTPS to the
   * AWS API endpoints, nothing else. DNS to the VPC resolver is not subject to security groups.
   * https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html (Amazon DNS server)
   */
  private createVerifierSecurityGroup(vpc: ReturnType<typeof Vpc.fromVpcAttributes>, config: MigratorConfig) {
    const group = new SecurityGroup(this, 'VerifierSecurityGroup', {
      vpc,
      allowAllOutbound: false,
      description: 'Data verifier: Redis to the caches, HTTPS to AWS APIs',
    });
    const cachePort = Port.tcp(config.network.cachePort);
    config.network.cacheSecurityGroupIds.forEach((id, index) => {
      const cacheGroup = SecurityGroup.fromSecurityGroupId(this, `CacheSecurityGroup${index}`, id, {
        allowAllOutbound: false,
      });
      group.connections.allowTo(cacheGroup, cachePort, 'Data verifier to the caches');
    });
    if (config.network.cacheCidr !== undefined) {
      group.addEgressRule(Peer.ipv4(config.network.cacheCidr), cachePort, 'Data verifier to the caches');
    }
    config.network.awsApiEndpointSecurityGroupIds.forEach((id, index) => {
      const endpointGroup = SecurityGroup.fromSecurityGroupId(this, `EndpointSecurityGroup${index}`, id, {
        allowAllOutbound: false,
      });
      group.connections.allowTo(endpointGroup, Port.tcp(443), 'Data verifier to AWS API endpoints');
    });
    if (config.network.awsApiCidr !== undefined) {
      group.addEgressRule(Peer.ipv4(config.network.awsApiCidr), Port.tcp(443), 'Data verifier to AWS APIs');
    }
    return group;
  }

  private createApprovalTopic(config: MigratorConfig, key: NotificationKey): ITopic {
    if (config.approval.topicArn !== undefined) {
      return Topic.fromTopicArn(this, 'ApprovalTopic', config.approval.topicArn);
    }
    const topic = new Topic(this, 'ApprovalTopic', {
      displayName: 'ElastiCache at-rest migrations: approval requests',
      masterKey: key.key,
      enforceSSL: true,
    });
    for (const address of config.approval.emails) {
      this.notifications.subscribeEmail(topic, address);
    }
    return topic;
  }
}
