import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { requireEnv } from '../shared/env.js';
import { LedgerBusyError } from '../shared/errors.js';
import type { FailureThreshold, GroupReport } from './report-model.js';

/**
 * The batch's ledger, in the deployment's migrations table (next to the claims, under keys
 * starting with `fleet#`, which the fleet functions' IAM policy is limited to):
 * - `fleet#<batchId>`: the batch (its settings, and every group's status in one map, written
 *   with optimistic locking on `version`, so concurrent admissions see each other's
 *   reservations and every write is idempotent);
 * - `fleet#<batchId>#<groupId>`: the group's row of the report (its planned input before it runs).
 * DynamoDB has no sum in a condition expression, hence one item that holds every status.
 */

export type GroupStatus =
  | { s: 'planned'; n: number }
  | { s: 'running'; n: number }
  | { s: 'waiting'; n: number }
  | { s: 'done'; n: number; failed: boolean };

export interface BatchSettings {
  batchId: string;
  executionArn?: string;
  startedAt: string;
  windowClosesAt?: number;
  threshold: FailureThreshold;
  nodesPerRegion: number;
  headroomWaitSeconds: number;
  reportPrefix: string;
  dryRun: boolean;
  maxConcurrency: number;
}

/**
 * The Region's nodes as AdmitGroup last counted them (one paged DescribeCacheClusters over the
 * whole Region), and the nodes this batch's starts added since: the count an admission uses
 * without reading the Region again (lambdas/fleet/admit.ts).
 */
export interface NodeCount {
  /** Nodes of every migration this batch started so far (their new groups), cumulative. */
  started: number;
  /** The last Region-wide read: its count, when (epoch ms), and `started` just before it. */
  read?: { count: number; at: number; started: number };
}

export interface Batch {
  settings: BatchSettings;
  /** Groups the batch will try to start (the Map's items). */
  total: number;
  groups: Record<string, GroupStatus>;
  /** Every group the batch reported on, in report order (candidates and the rest). */
  order: string[];
  nodes: NodeCount;
  version: number;
}

function table(): string {
  return requireEnv('migrationsTableName');
}

export const batchKey = (batchId: string) => `fleet#${batchId}`;
export const groupKey = (batchId: string, groupId: string) => `fleet#${batchId}#${groupId}`;

/** Creates the batch item unless it exists (a redriven discovery keeps the statuses it has). */
export async function createBatch(
  db: DynamoDBClient,
  batch: Omit<Batch, 'version' | 'nodes'>,
  nodesRead?: NodeCount['read'],
): Promise<Batch> {
  const nodes: NodeCount = { started: 0, ...(nodesRead ? { read: nodesRead } : {}) };
  try {
    await db.send(
      new PutItemCommand({
        TableName: table(),
        Item: {
          pk: { S: batchKey(batch.settings.batchId) },
          settings: { S: JSON.stringify(batch.settings) },
          total: { N: String(batch.total) },
          groups: { S: JSON.stringify(batch.groups) },
          order: { S: JSON.stringify(batch.order) },
          nodes: { S: JSON.stringify(nodes) },
          version: { N: '0' },
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    return { ...batch, nodes, version: 0 };
  } catch (error) {
    if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    const existing = await readBatch(db, batch.settings.batchId);
    if (!existing) throw error;
    return existing;
  }
}

export async function readBatch(db: DynamoDBClient, batchId: string): Promise<Batch | undefined> {
  const out = await db.send(
    new GetItemCommand({ TableName: table(), Key: { pk: { S: batchKey(batchId) } }, ConsistentRead: true }),
  );
  const item = out.Item;
  if (!item) return undefined;
  return {
    settings: JSON.parse(item.settings?.S ?? '{}') as BatchSettings,
    total: Number(item.total?.N ?? 0),
    groups: JSON.parse(item.groups?.S ?? '{}') as Record<string, GroupStatus>,
    order: JSON.parse(item.order?.S ?? '[]') as string[],
    nodes: JSON.parse(item.nodes?.S ?? '{"started":0}') as NodeCount,
    version: Number(item.version?.N ?? 0),
  };
}

/**
 * How long one update of the batch item keeps retrying a lost optimistic lock before it gives
 * the step back to the state machine (LedgerBusyError, retried there with backoff): well within
 * the admit and record functions' one-minute timeout, so contention never looks like a timeout.
 */
export const LEDGER_UPDATE_BUDGET_MS = 20_000;

/**
 * Changes the batch under optimistic locking: `change` gets the current batch and returns the new
 * group statuses and node count (neither: nothing to write). Retried on a concurrent write for
 * `budgetMs`, then LedgerBusyError.
 */
export async function updateBatch<T>(
  db: DynamoDBClient,
  batchId: string,
  change: (batch: Batch) => { groups?: Record<string, GroupStatus>; nodes?: NodeCount; result: T },
  budgetMs = LEDGER_UPDATE_BUDGET_MS,
): Promise<T> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    const batch = await readBatch(db, batchId);
    if (!batch) throw new Error(`Batch '${batchId}' has no ledger item; was DiscoverGroups run for it?`);
    const { groups, nodes, result } = change(batch);
    if (!groups && !nodes) return result;
    try {
      await db.send(
        new UpdateItemCommand({
          TableName: table(),
          Key: { pk: { S: batchKey(batchId) } },
          UpdateExpression: 'SET #groups = :groups, #nodes = :nodes, #version = :next',
          ConditionExpression: '#version = :seen',
          ExpressionAttributeNames: { '#groups': 'groups', '#nodes': 'nodes', '#version': 'version' },
          ExpressionAttributeValues: {
            ':groups': { S: JSON.stringify(groups ?? batch.groups) },
            ':nodes': { S: JSON.stringify(nodes ?? batch.nodes) },
            ':next': { N: String(batch.version + 1) },
            ':seen': { N: String(batch.version) },
          },
        }),
      );
      return result;
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      if (Date.now() - started > budgetMs)
        throw new LedgerBusyError(
          `The ledger of batch '${batchId}' changed under ${attempt} updates in a row over ${Math.round((Date.now() - started) / 1000)} s (other groups' admissions and outcomes); the state machine retries this step with backoff.`,
        );
      // Full jitter: concurrent admissions spread out instead of colliding again.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(1000, 20 * 2 ** attempt)));
    }
  }
}

/** Writes report rows (idempotent overwrites), 25 per request, retrying unprocessed items. */
export async function putRows(db: DynamoDBClient, batchId: string, rows: GroupReport[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 25) {
    let requests = rows.slice(i, i + 25).map((row) => ({
      PutRequest: {
        Item: { pk: { S: groupKey(batchId, row.groupId) }, row: { S: JSON.stringify(row) } },
      },
    }));
    for (let attempt = 0; requests.length > 0; attempt++) {
      const out = await db.send(new BatchWriteItemCommand({ RequestItems: { [table()]: requests } }));
      requests = (out.UnprocessedItems?.[table()] ?? []) as typeof requests;
      if (requests.length && attempt > 10) throw new Error('DynamoDB left batch ledger writes unprocessed.');
      if (requests.length) await new Promise((r) => setTimeout(r, 50 * 2 ** Math.min(attempt, 5)));
    }
  }
}

export async function putRow(db: DynamoDBClient, batchId: string, row: GroupReport): Promise<void> {
  await db.send(
    new PutItemCommand({
      TableName: table(),
      Item: { pk: { S: groupKey(batchId, row.groupId) }, row: { S: JSON.stringify(row) } },
    }),
  );
}

export async function readRow(
  db: DynamoDBClient,
  batchId: string,
  groupId: string,
): Promise<GroupReport | undefined> {
  const out = await db.send(
    new GetItemCommand({
      TableName: table(),
      Key: { pk: { S: groupKey(batchId, groupId) } },
      ConsistentRead: true,
    }),
  );
  return out.Item?.row?.S ? (JSON.parse(out.Item.row.S) as GroupReport) : undefined;
}

/** Every row, in the given order (100 keys per request, retrying unprocessed keys). */
export async function readRows(
  db: DynamoDBClient,
  batchId: string,
  groupIds: string[],
): Promise<GroupReport[]> {
  const byId = new Map<string, GroupReport>();
  for (let i = 0; i < groupIds.length; i += 100) {
    let keys = groupIds.slice(i, i + 100).map((id) => ({ pk: { S: groupKey(batchId, id) } }));
    for (let attempt = 0; keys.length > 0; attempt++) {
      const out = await db.send(
        new BatchGetItemCommand({ RequestItems: { [table()]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const item of out.Responses?.[table()] ?? []) {
        if (item.row?.S) {
          const row = JSON.parse(item.row.S) as GroupReport;
          byId.set(row.groupId, row);
        }
      }
      keys = (out.UnprocessedKeys?.[table()]?.Keys ?? []) as typeof keys;
      if (keys.length && attempt > 10) throw new Error('DynamoDB left batch ledger reads unprocessed.');
      if (keys.length) await new Promise((r) => setTimeout(r, 50 * 2 ** Math.min(attempt, 5)));
    }
  }
  return groupIds.flatMap((id) => byId.get(id) ?? []);
}
