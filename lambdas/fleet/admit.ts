import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type ElastiCacheClient, paginateDescribeCacheClusters } from '@aws-sdk/client-elasticache';
import {
  type Batch,
  type GroupStatus,
  type NodeCount,
  putRow,
  readBatch,
  readRow,
  updateBatch,
} from './ledger.js';
import { type Admission, admit } from './schedule.js';

export interface AdmitEvent {
  batchId: string;
  groupId: string;
}

export type AdmitResult = AdmitEvent &
  (
    | { decision: 'start'; executionName: string; input: Record<string, unknown> }
    | { decision: 'wait'; waitSeconds: number; reason: string; message: string }
    | { decision: 'skip'; reason: string; message: string }
  );

export type AdmitDeps = { dynamodb: DynamoDBClient; elasticache: ElastiCacheClient };

/** Every node in the Region: a Redis OSS / Valkey cache cluster is one node (NumCacheNodes). */
export async function nodesInRegion(client: ElastiCacheClient): Promise<number> {
  let nodes = 0;
  for await (const page of paginateDescribeCacheClusters({ client }, { MaxRecords: 100 }))
    for (const cluster of page.CacheClusters ?? []) nodes += cluster.NumCacheNodes ?? 1;
  return nodes;
}

function failedCount(batch: Batch): number {
  return Object.values(batch.groups).filter((g) => g.s === 'done' && g.failed).length;
}

function reservedBy(batch: Batch, except: string): number {
  return Object.entries(batch.groups)
    .filter(([id, g]) => id !== except && g.s === 'running')
    .reduce((sum, [, g]) => sum + g.n, 0);
}

/**
 * How long a Region-wide node count serves admissions before it is read again. Between reads an
 * admission counts the nodes of every migration the batch started since (an upper bound of what
 * the batch added: sources are only deleted), so it never finds more room than a fresh read
 * would, save for nodes created outside the batch in the meantime. A read pages through every
 * cache cluster of the Region; one per admission made a 1,000-group batch quadratic (docs/fleet.md).
 */
export const NODE_COUNT_MAX_AGE_MS = 60_000;

/**
 * May this group's migration start now? Applies lambdas/fleet/schedule.ts to the ledger and the
 * account, and records the decision: a start reserves the new group's nodes (under the batch's
 * optimistic lock, so two admissions never share the same headroom), a skip is the group's
 * outcome. The Region's nodes come from the batch's last count plus the batch's starts since
 * (NODE_COUNT_MAX_AGE_MS); the Region is read again when that count is older, or when it leaves
 * no room: a group waits for headroom only on a fresh read. Running it twice gives the same
 * decision: a group already running starts again (StartExecution with the same name and input
 * returns the running execution).
 */
export async function admitGroup(event: AdmitEvent, deps: AdmitDeps, now = Date.now()): Promise<AdmitResult> {
  const { batchId, groupId } = event;
  const first = await readBatch(deps.dynamodb, batchId);
  if (!first) throw new Error(`Batch '${batchId}' has no ledger item; was DiscoverGroups run for it?`);
  const row = await readRow(deps.dynamodb, batchId, groupId);
  if (!row?.input || !row.executionName)
    throw new Error(`Group '${groupId}' has no planned input in batch '${batchId}'.`);
  const start = { decision: 'start' as const, executionName: row.executionName, input: row.input };
  if (first.groups[groupId]?.s === 'running') return { ...event, ...start };

  /** A Region-wide count made by this admission, once the batch's count would not do. */
  let fresh: NodeCount['read'];
  let decided: Admission | 'count';
  for (;;) {
    decided = await updateBatch<Admission | 'count'>(deps.dynamodb, batchId, (batch) => {
      const status = batch.groups[groupId];
      const read =
        fresh ??
        (batch.nodes.read && now - batch.nodes.read.at < NODE_COUNT_MAX_AGE_MS
          ? batch.nodes.read
          : undefined);
      const facts = {
        now,
        ...(batch.settings.windowClosesAt !== undefined
          ? { windowClosesAt: batch.settings.windowClosesAt }
          : {}),
        threshold: batch.settings.threshold,
        total: batch.total,
        failed: failedCount(batch),
        // Without a count, no nodes: the decision is then a skip that needs none, or a count.
        nodesInRegion: read ? read.count + batch.nodes.started - read.started : 0,
        reservedNodes: reservedBy(batch, groupId),
        groupNodes: row.nodes,
        nodesPerRegion: batch.settings.nodesPerRegion,
        headroomWaitSeconds: batch.settings.headroomWaitSeconds,
        alreadyDone: status?.s === 'done',
      };
      const decision = admit(facts);
      if (decision.decision !== 'skip' && !fresh && (!read || decision.decision === 'wait')) {
        // Counted just before the read starts: a start after it is counted twice, never missed.
        fresh = { count: 0, at: now, started: batch.nodes.started };
        return { result: 'count' };
      }
      const nodes: NodeCount = { ...batch.nodes, ...(fresh ? { read: fresh } : {}) };
      if (decision.decision === 'wait')
        return fresh && fresh !== batch.nodes.read ? { nodes, result: decision } : { result: decision };
      if (decision.decision === 'skip' && decision.reason === 'already-done') return { result: decision };
      const next: GroupStatus =
        decision.decision === 'start'
          ? { s: 'running', n: row.nodes }
          : { s: 'done', n: row.nodes, failed: false };
      if (decision.decision === 'start') nodes.started = batch.nodes.started + row.nodes;
      return { groups: { ...batch.groups, [groupId]: next }, nodes, result: decision };
    });
    if (decided !== 'count') break;
    fresh = { ...(fresh as NonNullable<NodeCount['read']>), count: await nodesInRegion(deps.elasticache) };
  }

  if (decided.decision === 'start') return { ...event, ...start };
  if (decided.decision === 'wait') return { ...event, ...decided };
  if (decided.reason !== 'already-done')
    await putRow(deps.dynamodb, batchId, {
      ...row,
      outcome: 'skipped',
      reason: decided.reason,
      message: decided.message,
    });
  return { ...event, ...decided };
}
