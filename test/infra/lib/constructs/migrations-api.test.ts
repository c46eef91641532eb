import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ajvDraft04 from 'ajv-draft-04';
import { App, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { BAD_REQUEST_BODY_TEMPLATE } from '../../../../infra/lib/constructs/migrations-api.js';
import { MigratorFunction } from '../../../../infra/lib/constructs/migrator-function.js';
import { REPOSITORY_SOURCES } from '../../../../infra/lib/migrator-stack.js';
import { migrationInputModelSchema } from '../../../../lambdas/migration/input-json-schema.js';
import { logicalIdOf, statementsOfRole, synthesize } from '../../support.js';

/** The migrations API as deployed: IAM on every method, the validated model, a narrow role. */
const { stack, template } = synthesize();
const api = stack.api;
const apiId = logicalIdOf(stack, api.api);
const machineId = logicalIdOf(stack, stack.workflows.MigrateReplicationGroup.stateMachine);
const methods = Object.values(template.findResources('AWS::ApiGateway::Method'));

/** `METHOD /path` of each method, read back from the template's resources. */
function routeOf(method: { Properties: { HttpMethod: string; ResourceId: unknown } }): string {
  const resources = template.toJSON().Resources as Record<
    string,
    { Properties: { PathPart: string; ParentId: unknown } }
  >;
  const parts: string[] = [];
  let ref = method.Properties.ResourceId as { Ref?: string };
  while (ref.Ref && resources[ref.Ref]) {
    const resource = resources[ref.Ref] as { Properties: { PathPart: string; ParentId: unknown } };
    parts.unshift(resource.Properties.PathPart);
    ref = resource.Properties.ParentId as { Ref?: string };
  }
  return `${method.Properties.HttpMethod} /${parts.join('/')}`;
}

describe('the migrations API', () => {
  it('has exactly the documented routes, each with AWS_IAM authorization and the Lambda proxy', () => {
    expect(methods.map((m) => routeOf(m as never)).sort()).toEqual([
      'GET /migrations',
      'GET /migrations/{id}',
      'POST /migrations',
      'POST /migrations/{id}/approve',
      'POST /migrations/{id}/cancel',
      'POST /migrations/{id}/reject',
    ]);
    for (const method of methods) {
      expect(method.Properties.AuthorizationType, routeOf(method as never)).toBe('AWS_IAM');
      expect(method.Properties.Integration.Type).toBe('AWS_PROXY');
      expect(JSON.stringify(method.Properties.Integration.Uri)).toContain(
        logicalIdOf(stack, api.handler.function),
      );
    }
  });

  it('validates the start body against the model generated from the input definition', () => {
    const validatorId = logicalIdOf(stack, api.validator);
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', {
      RestApiId: { Ref: apiId },
      ValidateRequestBody: true,
      ValidateRequestParameters: true,
    });
    const start = methods.find((m) => routeOf(m as never) === 'POST /migrations');
    expect(start?.Properties.RequestValidatorId).toEqual({ Ref: validatorId });
    expect(start?.Properties.RequestModels).toEqual({
      $default: { Ref: logicalIdOf(stack, api.inputModel) },
    });
    for (const method of methods) {
      expect(method.Properties.RequestValidatorId, routeOf(method as never)).toEqual({ Ref: validatorId });
    }
    const model = Object.values(template.findResources('AWS::ApiGateway::Model'))[0];
    expect(model?.Properties.ContentType).toBe('application/json');
    expect(model?.Properties.Schema).toEqual(migrationInputModelSchema());
    expect(model?.Properties.Schema.$schema).toBe('http://json-schema.org/draft-04/schema#');
    // The deployed model refuses a bad body and accepts a good one, as API Gateway would apply it.
    const validate = new ajvDraft04.default({ allErrors: true }).compile(model?.Properties.Schema);
    expect(validate({ sourceReplicationGroupId: 'orders' })).toBe(true);
    expect(validate({ sourceReplicationGroupId: 'orders', dnsRecords: [{ endpoint: 'x' }] })).toBe(false);
  });

  it('answers a refused body with the fields that failed', () => {
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'BAD_REQUEST_BODY',
      StatusCode: '400',
      ResponseTemplates: { 'application/json': BAD_REQUEST_BODY_TEMPLATE },
    });
    expect(BAD_REQUEST_BODY_TEMPLATE).toContain('$context.error.validationErrorString');
  });

  it('logs every call with its caller, traces and throttles the stage', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'prod',
      TracingEnabled: true,
      AccessLogSetting: {
        DestinationArn: { 'Fn::GetAtt': [logicalIdOf(stack, api.accessLogs), 'Arn'] },
        Format: Match.stringLikeRegexp('\\$context\\.identity\\.caller'),
      },
      MethodSettings: [
        Match.objectLike({ DataTraceEnabled: false, ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 }),
      ],
    });
  });
});

describe("the API function's role", () => {
  const statements = statementsOfRole(template, logicalIdOf(stack, api.handler.role));
  const bySid = new Map(statements.map((s) => [s.Sid, s]));

  it('may start and list executions of the migration state machine only', () => {
    expect(bySid.get('StartAndListMigrations')).toEqual({
      Sid: 'StartAndListMigrations',
      Effect: 'Allow',
      Action: ['states:StartExecution', 'states:ListExecutions'],
      Resource: { Ref: machineId },
    });
  });

  it('may read only that machine’s executions and answer only its task tokens', () => {
    const read = bySid.get('ReadMigrations');
    expect(read?.Action).toEqual(['states:DescribeExecution', 'states:GetExecutionHistory']);
    const resource = JSON.stringify(read?.Resource);
    expect(resource).toContain(':execution:');
    expect(resource).toContain(machineId);
    expect(resource).toMatch(/:\*"\]\]\}$/);
    expect(bySid.get('AnswerApprovalGates')).toEqual({
      Sid: 'AnswerApprovalGates',
      Effect: 'Allow',
      Action: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
      Resource: { Ref: machineId },
    });
  });

  it('may stop only that machine’s executions (cancel)', () => {
    const cancel = bySid.get('CancelMigrations');
    expect(cancel?.Action).toEqual('states:StopExecution');
    expect(cancel?.Resource).toEqual(bySid.get('ReadMigrations')?.Resource);
  });

  it('reads claims and writes nothing else, with no wildcard action', () => {
    expect(bySid.get('ReadClaims')).toEqual({
      Sid: 'ReadClaims',
      Effect: 'Allow',
      Action: 'dynamodb:GetItem',
      Resource: { 'Fn::GetAtt': [logicalIdOf(stack, stack.migrationsTable), 'Arn'] },
    });
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions.filter((a) => a.includes('*'))).toEqual([]);
    expect(actions.filter((a) => /^(states|dynamodb|lambda|iam|elasticache):/.test(a)).sort()).toEqual([
      'dynamodb:GetItem',
      'states:DescribeExecution',
      'states:GetExecutionHistory',
      'states:ListExecutions',
      'states:SendTaskFailure',
      'states:SendTaskSuccess',
      'states:StartExecution',
      'states:StopExecution',
    ]);
  });

  it('knows the state machine and the table from its environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('^Migrations API'),
      Environment: {
        Variables: Match.objectLike({
          STATE_MACHINE_ARN: { Ref: machineId },
          MIGRATIONS_TABLE_NAME: { Ref: logicalIdOf(stack, stack.migrationsTable) },
        }),
      },
    });
  });
});

describe("the API function's bundle", () => {
  const outdir = mkdtempSync(join(tmpdir(), 'migrator-api-bundle-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('is an ESM file that loads on Node with its configuration and exports the handler', async () => {
    const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
    const bundleStack = new Stack(app, 'ApiBundle', {
      env: { account: '123456789012', region: 'eu-west-1' },
    });
    const fn = new MigratorFunction(bundleStack, 'Api', {
      entry: join(REPOSITORY_SOURCES.handlersDir, 'api.ts'),
      description: 'api',
    });
    app.synth();
    Object.assign(process.env, {
      AWS_REGION: 'eu-west-1',
      STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:123456789012:stateMachine:MigrateReplicationGroup',
      MIGRATIONS_TABLE_NAME: 'migrations',
    });
    const metadata = (
      fn.function.node.defaultChild as unknown as { cfnOptions: { metadata: Record<string, string> } }
    ).cfnOptions.metadata;
    const dir = join(outdir, metadata['aws:asset:path'] ?? '');
    expect(readdirSync(dir).sort()).toEqual(['index.mjs', 'index.mjs.map']);
    const module = (await import(pathToFileURL(join(dir, 'index.mjs')).href)) as { handler?: unknown };
    expect(typeof module.handler).toBe('function');
  }, 180_000);
});
