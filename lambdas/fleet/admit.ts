import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type ElastiCacheClient, paginateDescribeCacheClusters } from '@aws-sdk/client-elasticache';
import { type Batch, type GroupStatus, putRow, readBatch, readRow, updateBatch } from './ledger.js';
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
 * May this group's migration start now? Applies lambdas/fleet/schedule.ts to the ledger and the
 * account, and records the decision: a start reserves the new group's nodes (under the batch's
 * optimistic lock, so two admissions never share the same headroom), a skip is the group's
 * outcome. Running it twice gives the same decision: a group already running starts again
 * (StartExecution with the same name and input returns the running execution).
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
  const nodes = first.groups[groupId]?.s === 'done' ? 0 : await nodesInRegion(deps.elasticache);

  const decided = await updateBatch<Admission>(deps.dynamodb, batchId, (batch) => {
    const status = batch.groups[groupId];
    const decision = admit({
      now,
      ...(batch.settings.windowClosesAt !== undefined
        ? { windowClosesAt: batch.settings.windowClosesAt }
        : {}),
      threshold: batch.settings.threshold,
      total: batch.total,
      failed: failedCount(batch),
      nodesInRegion: nodes,
      reservedNodes: reservedBy(batch, groupId),
      groupNodes: row.nodes,
      nodesPerRegion: batch.settings.nodesPerRegion,
      headroomWaitSeconds: batch.settings.headroomWaitSeconds,
      alreadyDone: status?.s === 'done',
    });
    if (decision.decision === 'wait' || (decision.decision === 'skip' && decision.reason === 'already-done'))
      return { result: decision };
    const next: GroupStatus =
      decision.decision === 'start'
        ? { s: 'running', n: row.nodes }
        : { s: 'done', n: row.nodes, failed: false };
    return { groups: { ...batch.groups, [groupId]: next }, result: decision };
  });

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
