import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ApiEvent } from '../../../lambdas/handlers/api.js';
import { SandboxDynamoDb } from '../../../sandbox/dynamodb.js';

/**
 * The migrations API's refusals, which need no Step Functions: bad bodies get a field-level 400,
 * a source another migration holds gets a 409, and neither starts anything. The table is the
 * sandbox's DynamoDB (dynalite), so the claim is read as preflight writes it.
 */
const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:MigrateReplicationGroup';
const SOURCE_ARN = 'arn:aws:elasticache:us-east-1:123456789012:replicationgroup:orders-cache';

let db: SandboxDynamoDb;
let dynamodb: DynamoDBClient;
let api: typeof import('../../../lambdas/handlers/api.js');
let claim: typeof import('../../../lambdas/migration/claim.js');
const sfn = new SFNClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
const sent = vi.spyOn(sfn, 'send');

beforeAll(async () => {
  db = await SandboxDynamoDb.start('us-east-1');
  Object.assign(process.env, {
    STATE_MACHINE_ARN,
    MIGRATIONS_TABLE_NAME: db.tableName,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'sandbox',
    AWS_SECRET_ACCESS_KEY: 'sandbox',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  dynamodb = new DynamoDBClient({ endpoint: db.endpoint, region: 'us-east-1' });
  api = await import('../../../lambdas/handlers/api.js');
  claim = await import('../../../lambdas/migration/claim.js');
});
afterAll(async () => {
  dynamodb.destroy();
  await db.close();
});
beforeEach(async () => {
  await db.reset();
  sent.mockClear();
});

const context = () => ({ sfn, dynamodb, stateMachineArn: STATE_MACHINE_ARN });

function post(body: unknown, resource = '/migrations'): ApiEvent {
  return {
    httpMethod: 'POST',
    resource,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    requestContext: { requestId: 'test' },
  };
}

async function call(event: ApiEvent) {
  try {
    const response = await api.route(event, context());
    return { status: response.statusCode, body: JSON.parse(response.body) };
  } catch (error) {
    if (error instanceof Error && error.name === 'ApiError') {
      const e = error as Error & { status: number; code: string; fields?: unknown };
      return { status: e.status, body: { error: e.code, message: e.message, fields: e.fields } };
    }
    throw error;
  }
}

describe('POST /migrations refusals', () => {
  it('lists every bad field with its path and starts nothing', async () => {
    const { status, body } = await call(
      post({
        sourceReplicationGroupId: 'orders--cache',
        dnsRecords: [{ hostedZoneId: 'zone-1', recordName: 'cache.orders.internal', endpoint: 'writer' }],
        soakSeconds: -1,
        surprise: true,
      }),
    );
    expect(status).toBe(400);
    expect(body.error).toBe('InvalidInputError');
    const paths = (body.fields as Array<{ path: string }>).map((f) => f.path).sort();
    expect(paths).toEqual([
      '(body)',
      'dnsRecords.0.endpoint',
      'dnsRecords.0.hostedZoneId',
      'soakSeconds',
      'sourceReplicationGroupId',
    ]);
    expect(body.message).toContain('sourceReplicationGroupId: must not contain "--"');
    expect(body.message).toContain('surprise');
    expect(sent).not.toHaveBeenCalled();
  });

  it('refuses a body that is not JSON, an empty body and a JSON array', async () => {
    expect((await call(post('{"sourceReplicationGroupId": '))).body.error).toBe('InvalidJson');
    expect((await call(post(''))).status).toBe(400);
    const array = await call(post([{ sourceReplicationGroupId: 'orders-cache' }]));
    expect(array).toMatchObject({ status: 400, body: { error: 'InvalidInputError' } });
    expect(array.body.message).toContain('JSON object');
    expect(sent).not.toHaveBeenCalled();
  });

  it('refuses a migration id Step Functions would refuse as an execution name', async () => {
    const { status, body } = await call({
      ...post({ sourceReplicationGroupId: 'orders-cache' }),
      queryStringParameters: { name: 'orders cache/1' },
    });
    expect(status).toBe(400);
    expect(body.error).toBe('InvalidMigrationId');
    expect(sent).not.toHaveBeenCalled();
  });

  it('answers 409 while another migration holds the source, naming it and how to take over', async () => {
    await claim.takeClaim(dynamodb, {
      sourceArn: SOURCE_ARN,
      sourceId: 'orders-cache',
      migrationId: 'orders-cache-earlier',
      executionArn: `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:orders-cache-earlier`,
    });
    const { status, body } = await call(post({ sourceReplicationGroupId: 'Orders-Cache' }));
    expect(status).toBe(409);
    expect(body.error).toBe('MigrationInProgressError');
    expect(body.message).toContain("execution 'orders-cache-earlier'");
    expect(body.message).toContain("takeOverStaleClaim: 'orders-cache-earlier'");
    expect(sent).not.toHaveBeenCalled();
    expect(await db.claims()).toEqual([expect.objectContaining({ owner: 'orders-cache-earlier' })]);
  });

  it('lets a start through when it takes over the stale claim it names', async () => {
    await claim.takeClaim(dynamodb, {
      sourceArn: SOURCE_ARN,
      sourceId: 'orders-cache',
      migrationId: 'orders-cache-dead',
    });
    sent.mockResolvedValueOnce({
      executionArn: `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:retry-1`,
      startDate: new Date('2026-11-29T22:00:00Z'),
    } as never);
    const { status, body } = await call({
      ...post({ sourceReplicationGroupId: 'orders-cache', takeOverStaleClaim: 'orders-cache-dead' }),
      queryStringParameters: { name: 'retry-1' },
    });
    expect(status).toBe(201);
    expect(body.migrationId).toBe('retry-1');
    expect(sent).toHaveBeenCalledTimes(1);
  });

  it('starts a source nobody holds with the body as the input, unchanged, and no header', async () => {
    sent.mockResolvedValueOnce({ executionArn: 'arn:x', startDate: new Date() } as never);
    const body = { sourceReplicationGroupId: 'orders-cache', dryRun: true };
    const event = {
      ...post(body),
      headers: { Authorization: 'AWS4-HMAC-SHA256 Credential=AKIDSECRET/…', 'X-Amz-Security-Token': 'tok' },
    } as ApiEvent;
    const response = await call(event);
    expect(response.status).toBe(201);
    expect(response.body.migrationId).toMatch(/^orders-cache-\d{8}-\d{6}$/);
    const command = sent.mock.calls[0]?.[0] as unknown as { input: { input: string; name: string } };
    expect(JSON.parse(command.input.input)).toEqual(body);
    expect(JSON.stringify(command.input)).not.toMatch(/AKIDSECRET|Security-Token|tok"/);
  });
});

describe('routes', () => {
  it('answers 404 for a route the API does not have', async () => {
    const { status, body } = await call({ httpMethod: 'DELETE', resource: '/migrations/{id}' });
    expect(status).toBe(404);
    expect(body.error).toBe('NoSuchRoute');
  });

  it('refuses an unknown status filter and a limit out of range before calling Step Functions', async () => {
    const list = (q: Record<string, string>) =>
      call({ httpMethod: 'GET', resource: '/migrations', queryStringParameters: q });
    expect((await list({ status: 'DONE' })).body.error).toBe('InvalidStatus');
    expect((await list({ limit: '0' })).body.error).toBe('InvalidLimit');
    expect(sent).not.toHaveBeenCalled();
  });

  it('refuses an approval body with unknown fields', async () => {
    const { status, body } = await call({
      ...post({ reason: 'ok', approved: true }, '/migrations/{id}/approve'),
      pathParameters: { id: 'orders-cache-1' },
    });
    expect(status).toBe(400);
    expect(body.fields).toEqual([{ path: 'approved', message: expect.stringContaining('unknown field') }]);
    expect(sent).not.toHaveBeenCalled();
  });
});
