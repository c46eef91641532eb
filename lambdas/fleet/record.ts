import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { putRow, readRow, updateBatch } from './ledger.js';
import { childEndOf, type GroupReport, type HistoryEvent, outcomeOfChild, stepBars } from './report-model.js';

export interface RecordEvent {
  batchId: string;
  groupId: string;
  decision?: string;
  /** The startExecution.sync:2 result (the child succeeded). */
  child?: unknown;
  /** The Catch's {Error, Cause} (the child failed, was stopped or never started). */
  childError?: unknown;
}

export type RecordDeps = {
  dynamodb: DynamoDBClient;
  /** The child's GetExecutionHistory events, for the timeline; undefined when it cannot be read. */
  readHistory?: (executionArn: string) => Promise<HistoryEvent[]>;
};

/** Outcomes that count against the batch's tolerated-failure threshold. */
export const FAILURES = new Set<GroupReport['outcome']>(['rolled-back', 'failed']);

/**
 * Records how a group's migration ended: its report row (outcome, step timeline from the
 * child's history, keys verified, freeze, error with its runbook) and its status in the batch,
 * which releases its node reservation. Idempotent: a second run writes the same.
 */
export async function recordOutcome(
  event: RecordEvent,
  deps: RecordDeps,
): Promise<{ groupId: string; outcome: string }> {
  const { batchId, groupId } = event;
  const planned = await readRow(deps.dynamodb, batchId, groupId);
  if (!planned) throw new Error(`Group '${groupId}' has no row in batch '${batchId}'.`);
  if (event.decision === 'skip') return { groupId, outcome: planned.outcome };
  const end = childEndOf(event.child, event.childError);
  const result = outcomeOfChild(end);
  let steps = planned.steps;
  let historyNote: string | undefined;
  if (end.executionArn && deps.readHistory) {
    try {
      steps = stepBars(await deps.readHistory(end.executionArn));
    } catch (error) {
      historyNote = `The execution history could not be read (${(error as Error).name}): no step timeline.`;
    }
  }
  const row: GroupReport = {
    ...planned,
    ...result,
    ...(end.executionArn ? { executionArn: end.executionArn } : {}),
    ...(end.startedAt ? { startedAt: end.startedAt } : {}),
    ...(end.stoppedAt ? { stoppedAt: end.stoppedAt } : {}),
    steps,
    ...(historyNote ? { message: historyNote } : {}),
  };
  await putRow(deps.dynamodb, batchId, row);
  await updateBatch(deps.dynamodb, batchId, (batch) => ({
    groups: {
      ...batch.groups,
      [groupId]: { s: 'done', n: planned.nodes, failed: FAILURES.has(row.outcome) },
    },
    result: undefined,
  }));
  return { groupId, outcome: row.outcome };
}
