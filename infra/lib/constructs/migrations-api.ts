import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  EndpointType,
  type JsonSchema,
  JsonSchemaVersion,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  type Model,
  type RequestValidator,
  ResponseType,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { migrationInputModelSchema } from '../../../lambdas/migration/input-json-schema.js';
import { acknowledge } from '../nag.js';
import { MigratorFunction, type MigratorLogLevel } from './migrator-function.js';

export interface MigrationsApiProps {
  /** The one state machine the API starts, reads and answers approval gates of. */
  readonly stateMachine: IStateMachine;
  /** The migrations table: the API reads a source's claim to refuse a second migration early. */
  readonly migrationsTable: ITable;
  /** Absolute path of the API handler (lambdas/handlers/api.ts). */
  readonly entry: string;
  /**
   * Level of the function's logs.
   * @default 'INFO'
   */
  readonly logLevel?: MigratorLogLevel;
  /**
   * Retention of the function's and the access log's log groups.
   * @default RetentionDays.ONE_YEAR
   */
  readonly logRetention?: RetentionDays;
  /**
   * Steady-state requests per second the stage accepts (and twice as many in a burst).
   * @default 10
   */
  readonly requestsPerSecond?: number;
}

/** API Gateway's template for a body the model refuses: what failed, field by field. */
export const BAD_REQUEST_BODY_TEMPLATE =
  '{"error":"InvalidInputError","message":$context.error.messageString,"validationErrors":"$context.error.validationErrorString"}';

/**
 * The migrations API: API Gateway REST with IAM authorization (SigV4) on every method, in front of
 * one Lambda function (lambdas/handlers/api.ts) that calls Step Functions. A Lambda front rather
 * than a direct integration because CDK's StepFunctionsIntegration calls StartSyncExecution, which
 * Standard state machines refuse (docs/aws-behaviour.md, Step Functions).
 *
 * - `POST /migrations`: the body is validated against a model generated from the one input
 *   definition (lambdas/migration/input.ts) before the function runs; a refused body gets a 400
 *   naming the fields. The function validates again with input.ts (for what JSON Schema cannot
 *   say) and refuses a source another migration holds with a 409.
 * - `GET /migrations`, `GET /migrations/{id}`: executions, and one execution's status, current
 *   step, step timings and errors.
 * - `POST /migrations/{id}/approve`, `/reject`: answer the approval gate it waits at.
 * - `POST /migrations/{id}/cancel`: StopExecution; the rollback of a stopped migration runs.
 *
 * The function may start executions of this state machine only, read and stop only its executions,
 * and answer only its task tokens; it reads claims and writes nothing else. Only the body reaches
 * Step Functions: no header (the caller's Authorization) is read or passed on.
 */
export class MigrationsApi extends Construct {
  readonly api: RestApi;
  readonly handler: MigratorFunction;
  readonly inputModel: Model;
  readonly validator: RequestValidator;
  readonly accessLogs: LogGroup;

  constructor(scope: Construct, id: string, props: MigrationsApiProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const machineArn = props.stateMachine.stateMachineArn;
    const machineName = stack.splitArn(machineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName;
    const executionsArn = stack.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${machineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    this.handler = new MigratorFunction(this, 'Handler', {
      entry: props.entry,
      description: 'Migrations API: starts, reads, approves, rejects and cancels migrations',
      memorySize: 256,
      timeout: Duration.seconds(29),
      ...(props.logLevel === undefined ? {} : { logLevel: props.logLevel }),
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
    });
    this.handler.bind(
      'STATE_MACHINE_ARN',
      machineArn,
      new PolicyStatement({
        sid: 'StartAndListMigrations',
        actions: ['states:StartExecution', 'states:ListExecutions'],
        resources: [machineArn],
      }),
      new PolicyStatement({
        sid: 'ReadMigrations',
        actions: ['states:DescribeExecution', 'states:GetExecutionHistory'],
        resources: [executionsArn],
      }),
      new PolicyStatement({
        // Cancel: the deployment's status-change rule starts RollbackStoppedMigration on ABORTED.
        sid: 'CancelMigrations',
        actions: ['states:StopExecution'],
        resources: [executionsArn],
      }),
      new PolicyStatement({
        sid: 'AnswerApprovalGates',
        actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
        resources: [machineArn],
      }),
    );
    this.handler.bind(
      'MIGRATIONS_TABLE_NAME',
      props.migrationsTable.tableName,
      new PolicyStatement({
        sid: 'ReadClaims',
        actions: ['dynamodb:GetItem'],
        resources: [props.migrationsTable.tableArn],
      }),
    );

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? RetentionDays.ONE_YEAR,
    });
    const rate = props.requestsPerSecond ?? 10;
    this.api = new RestApi(this, 'Api', {
      restApiName: `${stack.stackName}-migrations`,
      description: 'ElastiCache at-rest migrations: start, watch, approve (IAM authorization)',
      endpointConfiguration: { types: [EndpointType.REGIONAL] },
      cloudWatchRole: false,
      deployOptions: {
        stageName: 'prod',
        tracingEnabled: true,
        accessLogDestination: new LogGroupLogDestination(this.accessLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields({
          caller: true,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: true,
        }),
        throttlingRateLimit: rate,
        throttlingBurstLimit: rate * 2,
        // Execution logging needs the account-wide API Gateway CloudWatch role (acknowledged below).
        loggingLevel: MethodLoggingLevel.OFF,
        dataTraceEnabled: false,
      },
      defaultMethodOptions: { authorizationType: AuthorizationType.IAM },
    });

    this.inputModel = this.api.addModel('MigrationInput', {
      contentType: 'application/json',
      modelName: 'MigrationInput',
      description: 'The execution input (lambdas/migration/input.ts), JSON Schema draft 4',
      schema: toCdkJsonSchema(migrationInputModelSchema()),
    });
    this.validator = this.api.addRequestValidator('Validator', {
      requestValidatorName: 'body-and-parameters',
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    this.api.addGatewayResponse('BadRequestBody', {
      type: ResponseType.BAD_REQUEST_BODY,
      statusCode: '400',
      templates: { 'application/json': BAD_REQUEST_BODY_TEMPLATE },
    });

    const integration = new LambdaIntegration(this.handler.function, { allowTestInvoke: false });
    const withId = {
      requestParameters: { 'method.request.path.id': true },
      requestValidator: this.validator,
    };
    const migrations = this.api.root.addResource('migrations');
    migrations.addMethod('POST', integration, {
      // `$default`: the model applies whatever Content-Type the caller sends (else none would).
      requestModels: { $default: this.inputModel },
      requestValidator: this.validator,
    });
    migrations.addMethod('GET', integration, { requestValidator: this.validator });
    const one = migrations.addResource('{id}');
    one.addMethod('GET', integration, withId);
    for (const action of ['approve', 'reject', 'cancel']) {
      one.addResource(action).addMethod('POST', integration, withId);
    }

    acknowledge(
      this.api.deploymentStage.node.defaultChild as Construct,
      {
        id: 'AwsSolutions-APIG6',
        reason:
          'Execution logging needs the account-wide API Gateway CloudWatch role (AWS::ApiGateway::Account, one per Region), which this stack must not overwrite; the access log records every call with its caller, and the function logs each decision',
      },
      {
        id: 'AwsSolutions-APIG3',
        reason:
          'Every method requires SigV4-signed requests from IAM principals of the account (AWS_IAM authorization) and the stage is throttled; a web ACL would add no caller the API does not already refuse',
      },
    );
    for (const method of this.api.methods) {
      acknowledge(method, {
        id: 'AwsSolutions-COG4',
        reason:
          'The API is for operators and automation with IAM identities: AWS_IAM authorization (SigV4) on every method instead of a Cognito user pool',
      });
    }
  }
}

/** CDK names `$schema` `schema` and keeps the other draft-4 keywords as they are. */
function toCdkJsonSchema(schema: Record<string, unknown>): JsonSchema {
  const { $schema: _ignored, ...rest } = schema;
  return { schema: JsonSchemaVersion.DRAFT4, ...(rest as JsonSchema) };
}
