import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { OutcomeNotRecordedError, runbookLink } from '../shared/errors.js';
import { renderHtml } from './html.js';
import { readBatch, readRows } from './ledger.js';
import type { FleetReport, GroupReport } from './report-model.js';
import { putJson, putText, reportKey } from './store.js';

export interface ReportEvent {
  batchId: string;
  mapError?: { Error?: string; Cause?: string };
}

export type ReportDeps = {
  dynamodb: DynamoDBClient;
  s3: S3Client;
  bucket: string;
  sns?: SNSClient;
  topicArn?: string;
  eventBridge?: EventBridgeClient;
  eventBusName?: string;
};

/** Builds the batch report from the ledger, stores it (JSON and HTML) in S3 and announces it. */
export async function writeReport(event: ReportEvent, deps: ReportDeps, now = Date.now()) {
  const batch = await readBatch(deps.dynamodb, event.batchId);
  if (!batch) throw new Error(`Batch '${event.batchId}' has no ledger item; was DiscoverGroups run for it?`);
  const rows = await readRows(deps.dynamodb, event.batchId, batch.order);
  // After the Map, a row still `planned` is a group whose item failed before recording anything
  // (its admission or its record step gave up): the report never shows it as waiting to run.
  const groups = batch.settings.dryRun ? rows : rows.map(unrecorded);
  const counts: Record<string, number> = {};
  for (const g of groups) counts[g.outcome] = (counts[g.outcome] ?? 0) + 1;
  const reasons = new Set(groups.map((g) => g.reason).filter(Boolean));
  const stopped = reasons.has('threshold-reached')
    ? 'the tolerated-failure threshold was passed'
    : reasons.has('window-closed')
      ? 'the maintenance window closed'
      : undefined;
  const s = batch.settings;
  const files = {
    json: reportKey(s.reportPrefix, s.batchId, 'report.json'),
    html: reportKey(s.reportPrefix, s.batchId, 'report.html'),
  };
  const report: FleetReport = {
    batchId: s.batchId,
    ...(s.executionArn ? { executionArn: s.executionArn } : {}),
    dryRun: s.dryRun,
    startedAt: s.startedAt,
    finishedAt: new Date(now).toISOString(),
    settings: {
      maxConcurrency: s.maxConcurrency,
      threshold: s.threshold,
      ...(s.windowClosesAt !== undefined ? { windowClosesAt: new Date(s.windowClosesAt).toISOString() } : {}),
    },
    counts,
    ...(stopped ? { stopped } : {}),
    ...(event.mapError ? { mapError: event.mapError } : {}),
    groups,
    files,
  };
  await putJson(deps.s3, deps.bucket, files.json, report);
  await putText(deps.s3, deps.bucket, files.html, renderHtml(report), 'text/html');
  const announcement = {
    batchId: s.batchId,
    dryRun: s.dryRun,
    counts,
    ...(stopped ? { stopped } : {}),
    report: { json: `s3://${deps.bucket}/${files.json}`, html: `s3://${deps.bucket}/${files.html}` },
  };
  if (deps.sns && deps.topicArn)
    await deps.sns.send(
      new PublishCommand({
        TopicArn: deps.topicArn,
        Subject: `Fleet batch ${s.batchId}: ${Object.entries(counts)
          .map(([k, v]) => `${v} ${k}`)
          .join(', ')}`.slice(0, 100),
        Message: JSON.stringify(announcement, null, 2),
      }),
    );
  if (deps.eventBridge)
    await deps.eventBridge.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: 'at-rest-migrator.fleet',
            DetailType: 'Fleet Batch Report',
            Detail: JSON.stringify(announcement),
            ...(deps.eventBusName ? { EventBusName: deps.eventBusName } : {}),
          },
        ],
      }),
    );
  return { batchId: s.batchId, counts, ...(stopped ? { stopped } : {}), report: announcement.report };
}

function unrecorded(row: GroupReport): GroupReport {
  if (row.outcome !== 'planned') return row;
  const name = OutcomeNotRecordedError.name;
  const started = row.executionName
    ? ` If its migration started, execution '${row.executionName}' of the per-group state machine says how it ended.`
    : '';
  return {
    ...row,
    outcome: 'failed',
    error: {
      name,
      message: `The batch's item for '${row.groupId}' ended without recording an outcome (the Map Run lists it among its failed items).${started}`,
      runbook: runbookLink(name),
    },
  };
}
