import { join } from 'node:path';
import { ArnFormat, Aspects, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { CfnPolicy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { CfnSchedule } from 'aws-cdk-lib/aws-scheduler';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { FLEET_WORKFLOW } from '../../../statemachine/manifest.js';
import { acknowledge } from '../nag.js';
import { type PermissionScope, permissions } from '../permissions.js';
import { MigrationStateMachine } from './migration-state-machine.js';
import {
  MigratorFunction,
  type MigratorFunctionVpcPlacement,
  type MigratorLogLevel,
} from './migrator-function.js';

/** When the batch runs by itself: an EventBridge Scheduler schedule, disabled unless enabled. */
export interface FleetScheduleProps {
  /**
   * Whether the schedule starts batches.
   * @default false
   */
  readonly enabled?: boolean;
  /** `cron(...)` or `rate(...)`, as EventBridge Scheduler takes it. */
  readonly expression: string;
  /** IANA time zone of the expression. */
  readonly timezone: string;
  /** Minutes the start may be spread over (0: exactly on time). */
  readonly flexibleWindowMinutes: number;
  /** The fleet execution's input (selection, limits, window). */
  readonly input: Record<string, unknown>;
}

export interface FleetBatchProps {
  /** Directory of the handlers and of the ASL files. */
  readonly handlersDir: string;
  readonly stateMachineDir: string;
  /** The per-group state machine each group's child execution runs. */
  readonly migrationStateMachine: StateMachine;
  /** The migrations table (claims, and the batch ledger under `fleet#` keys). */
  readonly table: ITable;
  /** The topic the report is announced on, and the key it is encrypted with. */
  readonly topic: ITopic;
  readonly topicKey: IKey;
  readonly permissionScope: PermissionScope;
  /** Discovery proves each group's AUTH token in its dry run, from inside the VPC. */
  readonly vpcPlacement: MigratorFunctionVpcPlacement;
  readonly defaultKmsKeyArn: string;
  readonly allowedHostedZoneIds: string;
  readonly logLevel?: MigratorLogLevel;
  readonly logRetention?: RetentionDays;
  readonly includeExecutionData?: boolean;
  readonly schedule: FleetScheduleProps;
}

/** Ledger items of batches: the partition keys the fleet functions may write. */
const LEDGER_KEYS = { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['fleet#*'] } };

/**
 * The scheduled batch (statemachine/migrate-fleet.asl.json): its four functions, the reports
 * bucket, the fleet state machine (a Distributed Map whose items start child executions of the
 * per-group machine) and an EventBridge Scheduler schedule, disabled by default.
 */
export class FleetBatch extends Construct {
  readonly bucket: Bucket;
  readonly workflow: MigrationStateMachine;
  readonly schedule: CfnSchedule;
  readonly functions: Readonly<Record<'discover' | 'admit' | 'record' | 'report', MigratorFunction>>;

  constructor(scope: Construct, id: string, props: FleetBatchProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.bucket = new Bucket(this, 'Reports', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(this.bucket.node.defaultChild as Construct, {
      id: 'AwsSolutions-S1',
      reason:
        'The bucket holds the batch plans and reports the state machine writes; every write is in the execution history and CloudTrail, so server access logs would add a second bucket and nothing new',
    });

    const make = (
      name: string,
      file: string,
      description: string,
      timeout: Duration,
      statements: PolicyStatement[],
      vpc = false,
    ) =>
      new MigratorFunction(this, name, {
        entry: join(props.handlersDir, file),
        description,
        memorySize: 512,
        timeout,
        ...(props.logLevel ? { logLevel: props.logLevel } : {}),
        ...(props.logRetention ? { logRetention: props.logRetention } : {}),
        statements,
        ...(vpc ? { vpcPlacement: props.vpcPlacement } : {}),
      });
    const tableArn = props.table.tableArn;
    const ledger = (sid: string, actions: string[]) =>
      new PolicyStatement({ sid, actions, resources: [tableArn], conditions: LEDGER_KEYS });
    const reports = `${this.bucket.bucketArn}/fleet-reports/*`;
    const migrationName = props.migrationStateMachine.stateMachineName;
    const childExecutions = stack.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${migrationName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    const discover = make(
      'FleetDiscover',
      'fleet-discover.ts',
      'Fleet: finds and plans the groups of a batch (dry runs)',
      Duration.minutes(15),
      [
        ...permissions.preflight(props.permissionScope),
        ...permissions.claimSource(tableArn, ['dynamodb:GetItem']),
        ledger('WriteBatchLedger', ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem']),
        new PolicyStatement({ sid: 'WritePlan', actions: ['s3:PutObject'], resources: [reports] }),
      ],
      true,
    );
    const admit = make(
      'FleetAdmit',
      'fleet-admit.ts',
      'Fleet: decides whether a group starts now',
      Duration.minutes(1),
      [
        new PolicyStatement({
          sid: 'CountNodes',
          actions: ['elasticache:DescribeCacheClusters'],
          resources: ['*'],
        }),
        ledger('AdmitInLedger', ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']),
      ],
    );
    const record = make(
      'FleetRecord',
      'fleet-record.ts',
      "Fleet: records a group's outcome",
      Duration.minutes(1),
      [
        ledger('RecordInLedger', ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']),
        new PolicyStatement({
          sid: 'ReadChildHistory',
          actions: ['states:GetExecutionHistory'],
          resources: [childExecutions],
        }),
      ],
    );
    const report = make(
      'FleetReport',
      'fleet-report.ts',
      'Fleet: writes and announces the batch report',
      Duration.minutes(5),
      [
        ledger('ReadLedger', ['dynamodb:GetItem', 'dynamodb:BatchGetItem']),
        new PolicyStatement({ sid: 'WriteReport', actions: ['s3:PutObject'], resources: [reports] }),
        new PolicyStatement({
          sid: 'AnnounceOnEventBridge',
          actions: ['events:PutEvents'],
          resources: [stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' })],
        }),
      ],
    );
    for (const fn of [discover, admit, record, report])
      fn.bind('MIGRATIONS_TABLE_NAME', props.table.tableName);
    for (const fn of [discover, report]) fn.bind('REPORTS_BUCKET_NAME', this.bucket.bucketName);
    discover.bind('DEFAULT_KMS_KEY_ID', props.defaultKmsKeyArn);
    discover.bind('ALLOWED_HOSTED_ZONE_IDS', props.allowedHostedZoneIds);
    report.bind('FLEET_REPORT_TOPIC_ARN', props.topic.topicArn);
    report.function.addToRolePolicy(
      new PolicyStatement({
        sid: 'AnnounceOnSns',
        actions: ['sns:Publish'],
        resources: [props.topic.topicArn],
      }),
    );
    report.function.addToRolePolicy(
      new PolicyStatement({
        sid: 'EncryptAnnouncement',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [props.topicKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `sns.${stack.region}.amazonaws.com` } },
      }),
    );
    this.functions = { discover, admit, record, report };

    // Its own name, so its role can name its own executions (the Distributed Map's children)
    // without a circular reference.
    const fleetName = `${stack.stackName}-MigrateFleet`;
    this.workflow = new MigrationStateMachine(this, 'MigrateFleet', {
      definitionFile: join(props.stateMachineDir, FLEET_WORKFLOW.file),
      functions: {
        FleetDiscoverFunctionArn: discover,
        FleetAdmitFunctionArn: admit,
        FleetRecordFunctionArn: record,
        FleetReportFunctionArn: report,
      },
      substitutions: { MigrateReplicationGroupStateMachineArn: props.migrationStateMachine.stateMachineArn },
      stateMachineName: fleetName,
      ...(props.logRetention ? { logRetention: props.logRetention } : {}),
      ...(props.includeExecutionData !== undefined
        ? { includeExecutionData: props.includeExecutionData }
        : {}),
    });
    const fleetArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: fleetName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const role = this.workflow.stateMachine;
    // startExecution.sync:2 of the per-group machine (https://docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html).
    role.addToRolePolicy(
      new PolicyStatement({
        sid: 'StartMigrations',
        actions: ['states:StartExecution'],
        resources: [props.migrationStateMachine.stateMachineArn],
      }),
    );
    role.addToRolePolicy(
      new PolicyStatement({
        sid: 'FollowMigrations',
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: [childExecutions],
      }),
    );
    role.addToRolePolicy(
      new PolicyStatement({
        sid: 'SyncRule',
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [
          stack.formatArn({
            service: 'events',
            resource: 'rule',
            resourceName: 'StepFunctionsGetEventsForStepFunctionsExecutionRule',
          }),
        ],
      }),
    );
    // The Distributed Map's child workflows (https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html#dist-map-permissions).
    role.addToRolePolicy(
      new PolicyStatement({
        sid: 'RunMapChildren',
        actions: ['states:StartExecution'],
        resources: [fleetArn],
      }),
    );
    role.addToRolePolicy(
      new PolicyStatement({
        sid: 'FollowMapChildren',
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: [
          stack.formatArn({
            service: 'states',
            resource: 'execution',
            resourceName: `${fleetName}/*`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );

    Aspects.of(this).add({ visit: acknowledgeFleetWildcards });

    const scheduler = new Role(this, 'SchedulerRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'EventBridge Scheduler: starts the fleet batch',
    });
    scheduler.addToPolicy(
      new PolicyStatement({ sid: 'StartBatch', actions: ['states:StartExecution'], resources: [fleetArn] }),
    );
    const s = props.schedule;
    this.schedule = new CfnSchedule(this, 'Schedule', {
      description: 'Starts the fleet batch of at-rest migrations',
      state: s.enabled === true ? 'ENABLED' : 'DISABLED',
      scheduleExpression: s.expression,
      scheduleExpressionTimezone: s.timezone,
      flexibleTimeWindow:
        s.flexibleWindowMinutes > 0
          ? { mode: 'FLEXIBLE', maximumWindowInMinutes: s.flexibleWindowMinutes }
          : { mode: 'OFF' },
      target: {
        arn: this.workflow.stateMachine.stateMachineArn,
        roleArn: scheduler.roleArn,
        input: JSON.stringify(s.input),
        retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
      },
    });
  }
}

/** How cdk-nag writes a resolved ARN in a finding ID (`<Logical.Attr>` for GetAtt, `<Logical>` for Ref). */
function nagFormat(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as { 'Fn::Join'?: [string, unknown[]]; Ref?: string; 'Fn::GetAtt'?: string[] };
  if (v['Fn::Join']) return v['Fn::Join'][1].map(nagFormat).join(v['Fn::Join'][0]);
  if (v.Ref) return `<${v.Ref}>`;
  if (v['Fn::GetAtt']) return `<${v['Fn::GetAtt'].join('.')}>`;
  return JSON.stringify(value);
}

/** The fleet's wildcard resources, each with why it is the narrowest possible. */
const FLEET_WILDCARDS: ReadonlyArray<readonly [RegExp, string]> = [
  [
    /\/fleet-reports\/\*$/,
    'Plans and reports are written under fleet-reports/<batchId>/ of the reports bucket; batch ids are chosen at run time',
  ],
  [
    /:execution:[^/]+:\*$/,
    "Child executions of the per-group state machine are named <batchId>-<groupId> at run time; this is that one state machine's executions only (the startExecution.sync:2 policy, https://docs.aws.amazon.com/step-functions/latest/dg/stepfunctions-iam.html)",
  ],
  [
    /:execution:[^:]+\/\*$/,
    "The Distributed Map's child workflow executions, which Step Functions names (the documented Distributed Map policy, https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html#dist-map-permissions)",
  ],
];

function acknowledgeFleetWildcards(construct: import('constructs').IConstruct): void {
  if (!(construct instanceof CfnPolicy)) return;
  const document = Stack.of(construct).resolve(construct.policyDocument) as {
    Statement?: { Effect?: string; Resource?: unknown }[];
  };
  for (const statement of document.Statement ?? []) {
    if (statement.Effect !== 'Allow') continue;
    const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
    for (const resource of resources.map(nagFormat)) {
      if (!resource.includes('*') || resource === '*') continue;
      const match = FLEET_WILDCARDS.find(([pattern]) => pattern.test(resource));
      if (match) acknowledge(construct, { id: `AwsSolutions-IAM5[Resource::${resource}]`, reason: match[1] });
    }
  }
}
