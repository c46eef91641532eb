import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { requireEnv } from '../shared/env.js';
import { MigrationInProgressError } from '../shared/errors.js';

/**
 * The exclusive claim of a source group: one item per source in the migrations table (partition
 * key `pk` = the group's ARN, which holds account and Region), carrying the owner's migration id
 * (the execution name). It is taken with a conditional write, so of any number of executions
 * started together for one source exactly one gets it; the others fail with
 * MigrationInProgressError before they change anything. The claim tags on the source stay (IAM
 * conditions key on them), but this item decides. It is deleted, only by its owner, when the
 * migration finishes or its rollback completes.
 */
export interface Claim {
  /** The migration id (execution name) that holds the source. */
  owner: string;
  /** The owner's execution ARN, when the state machine passed it. */
  executionArn?: string;
  sourceReplicationGroupId?: string;
  claimedAt?: string;
}

export interface ClaimRequest {
  sourceArn: string;
  sourceId: string;
  migrationId: string;
  executionArn?: string;
  /** The migration id of a dead execution whose claim an operator lets this one take over. */
  takeOver?: string;
}

function tableName(): string {
  return requireEnv('migrationsTableName');
}

/** The current claim of a source, read consistently; undefined when nobody holds it. */
export async function readClaim(dynamodb: DynamoDBClient, sourceArn: string): Promise<Claim | undefined> {
  const out = await dynamodb.send(
    new GetItemCommand({ TableName: tableName(), Key: { pk: { S: sourceArn } }, ConsistentRead: true }),
  );
  const item = out.Item;
  const owner = item?.owner?.S;
  if (!item || !owner) return undefined;
  return {
    owner,
    ...(item.executionArn?.S ? { executionArn: item.executionArn.S } : {}),
    ...(item.sourceReplicationGroupId?.S
      ? { sourceReplicationGroupId: item.sourceReplicationGroupId.S }
      : {}),
    ...(item.claimedAt?.S ? { claimedAt: item.claimedAt.S } : {}),
  };
}

/** Refuses when another migration holds the source (and it is not the stale one being taken over). */
export function checkClaim(claim: Claim | undefined, request: ClaimRequest): void {
  if (claim && claim.owner !== request.migrationId && claim.owner !== request.takeOver) {
    throw inProgress(request.sourceId, claim);
  }
}

/**
 * Takes the claim, atomically: `attribute_not_exists(pk) OR owner = :me` (a retry of the same
 * execution keeps it), or also `owner = :stale` when an operator takes over a dead execution's claim.
 */
export async function takeClaim(
  dynamodb: DynamoDBClient,
  request: ClaimRequest,
  now = Date.now(),
): Promise<void> {
  const values: Record<string, { S: string }> = { ':me': { S: request.migrationId } };
  let condition = 'attribute_not_exists(pk) OR #owner = :me';
  if (request.takeOver && request.takeOver !== request.migrationId) {
    values[':stale'] = { S: request.takeOver };
    condition += ' OR #owner = :stale';
  }
  try {
    await dynamodb.send(
      new PutItemCommand({
        TableName: tableName(),
        Item: {
          pk: { S: request.sourceArn },
          owner: { S: request.migrationId },
          sourceReplicationGroupId: { S: request.sourceId },
          claimedAt: { S: new Date(now).toISOString() },
          ...(request.executionArn ? { executionArn: { S: request.executionArn } } : {}),
        },
        ConditionExpression: condition,
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: values,
      }),
    );
  } catch (error) {
    if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    const current = await readClaim(dynamodb, request.sourceArn);
    throw inProgress(request.sourceId, current ?? { owner: 'another execution' }, error);
  }
}

/** Deletes the claim if this migration holds it; another owner's claim is never touched. */
export async function releaseClaim(
  dynamodb: DynamoDBClient,
  sourceArn: string,
  migrationId: string,
): Promise<void> {
  try {
    await dynamodb.send(
      new DeleteItemCommand({
        TableName: tableName(),
        Key: { pk: { S: sourceArn } },
        ConditionExpression: '#owner = :me',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':me': { S: migrationId } },
      }),
    );
  } catch (error) {
    // Gone already (a retry), or held by another migration: nothing of ours to release.
    if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
  }
}

function inProgress(sourceId: string, claim: Claim, cause?: unknown) {
  const execution = claim.executionArn ? ` (${claim.executionArn})` : '';
  return new MigrationInProgressError(
    `Replication group '${sourceId}' is already being migrated by execution '${claim.owner}'${execution}. Wait for it to finish. If that execution is no longer running (aws stepfunctions describe-execution), start again with takeOverStaleClaim: '${claim.owner}' (runbooks/failures.md, MigrationInProgressError).`,
    cause === undefined ? undefined : { cause },
  );
}
