import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import {
  type ApiContext,
  ApiError,
  cancelMigration,
  decide,
  getMigration,
  listMigrations,
  startMigration,
} from '../api/migrations.js';
import { requireEnv } from '../shared/env.js';
import { logger } from '../shared/logger.js';

/**
 * The migrations API behind API Gateway (REST, IAM authorization, Lambda proxy integration):
 * routes the request to lambdas/api/migrations.ts and maps refusals to 4xx responses. Only the
 * body, the path and query parameters and the caller's ARN are read from the event; headers (the
 * caller's Authorization and security token among them) are never read, logged or passed on.
 */

const sfn = new SFNClient({});
const dynamodb = new DynamoDBClient({});
const stateMachineArn = requireEnv('stateMachineArn');
// Read by the claim checks (lambdas/migration/claim.ts): a missing table fails the cold start.
requireEnv('migrationsTableName');

/** The fields of API Gateway's Lambda proxy event this function reads. */
export interface ApiEvent {
  httpMethod: string;
  /** The resource template, e.g. `/migrations/{id}/approve`. */
  resource: string;
  pathParameters?: Record<string, string | undefined> | null;
  queryStringParameters?: Record<string, string | undefined> | null;
  body?: string | null;
  isBase64Encoded?: boolean;
  requestContext?: { requestId?: string; identity?: { userArn?: string | null } | null };
}

export interface ApiResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const json = (statusCode: number, body: unknown): ApiResponse => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body, null, 2),
});

function readBody(event: ApiEvent): unknown {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, 'InvalidJson', `The body is not JSON: ${(error as Error).message}.`);
  }
}

function migrationId(event: ApiEvent): string {
  const id = event.pathParameters?.id;
  if (!id) throw new ApiError(400, 'InvalidMigrationId', 'The path names no migration id.');
  return decodeURIComponent(id);
}

export async function route(event: ApiEvent, context: ApiContext): Promise<ApiResponse> {
  const key = `${event.httpMethod} ${event.resource}`;
  switch (key) {
    case 'POST /migrations': {
      const body = readBody(event);
      if (body === undefined) {
        throw new ApiError(
          400,
          'InvalidInputError',
          'The body is empty: send the migration input, like {"sourceReplicationGroupId": "orders"}.',
        );
      }
      const started = await startMigration(context, body, event.queryStringParameters?.name ?? undefined);
      logger.info('migration started', { migrationId: started.migrationId, caller: context.caller });
      return json(201, started);
    }
    case 'GET /migrations':
      return json(
        200,
        await listMigrations(context, {
          ...(event.queryStringParameters?.status ? { status: event.queryStringParameters.status } : {}),
          ...(event.queryStringParameters?.nextToken
            ? { nextToken: event.queryStringParameters.nextToken }
            : {}),
          ...(event.queryStringParameters?.limit ? { limit: event.queryStringParameters.limit } : {}),
        }),
      );
    case 'GET /migrations/{id}':
      return json(200, await getMigration(context, migrationId(event)));
    case 'POST /migrations/{id}/approve':
    case 'POST /migrations/{id}/reject': {
      const decision = event.resource.endsWith('/approve') ? 'approve' : 'reject';
      const result = await decide(context, migrationId(event), decision, readBody(event));
      logger.info(`gate ${result.decision}`, { ...result, caller: context.caller });
      return json(200, result);
    }
    case 'POST /migrations/{id}/cancel': {
      const result = await cancelMigration(context, migrationId(event), readBody(event));
      logger.info('migration cancelled', { ...result, caller: context.caller });
      return json(200, result);
    }
    default:
      throw new ApiError(404, 'NoSuchRoute', `No route ${key}.`);
  }
}

export async function handler(event: ApiEvent): Promise<ApiResponse> {
  logger.resetKeys();
  logger.appendKeys({
    requestId: event.requestContext?.requestId,
    route: `${event.httpMethod} ${event.resource}`,
  });
  const caller = event.requestContext?.identity?.userArn ?? undefined;
  try {
    return await route(event, { sfn, dynamodb, stateMachineArn, ...(caller ? { caller } : {}) });
  } catch (error) {
    if (error instanceof ApiError) {
      logger.warn('request refused', { status: error.status, code: error.code, reason: error.message });
      return json(error.status, {
        error: error.code,
        message: error.message,
        ...(error.fields ? { fields: error.fields } : {}),
      });
    }
    logger.error('request failed', error as Error);
    return json(500, {
      error: 'InternalError',
      message: `The request failed: ${(error as Error).name}. The function's log has the details (request ${event.requestContext?.requestId ?? 'unknown'}).`,
    });
  }
}
