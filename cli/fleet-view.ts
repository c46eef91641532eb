/**
 * What `fleet plan` and `fleet status` print: the batch's plan (what will be created, changed and
 * refused), and the batch with each of its migrations (the per-group child executions), ending
 * with the report's outcomes and location.
 */
import type { FleetReport, GroupReport } from '../lambdas/fleet/report-model.js';
import { duration } from './status.js';

/** Where the batch's report is (the fleet execution's output). */
export interface ReportFiles {
  json: string;
  html: string;
}

/** `3 migrated, 1 refused`: counts in the order given, then the rest. */
export function countsText(counts: Record<string, number>, order: string[] = []): string {
  const keys = [...order.filter((k) => counts[k]), ...Object.keys(counts).filter((k) => !order.includes(k))];
  return keys.map((k) => `${counts[k]} ${k}`).join(', ') || 'none';
}

/** The outcomes as the report lists them, the good ones first. */
export const OUTCOME_ORDER = [
  'planned',
  'migrated',
  'migrated-source-kept',
  'already-encrypted',
  'already-migrated',
  'in-flight',
  'skipped',
  'refused',
  'rolled-back',
  'failed',
];

function limitsText(settings: FleetReport['settings']): string {
  const t = settings.threshold;
  const tolerated = [
    ...(t.count !== undefined ? [`${t.count} failure(s)`] : []),
    ...(t.percentage !== undefined ? [`${t.percentage}% of the batch failing`] : []),
  ];
  const failures =
    t.count === 0 && t.percentage === undefined
      ? 'the first failure stops new starts'
      : `${tolerated.join(' or ')} tolerated`;
  const window = settings.windowClosesAt ? `; no start after ${settings.windowClosesAt}` : '';
  return `at most ${settings.maxConcurrency} at once; ${failures}${window}`;
}

const errorLine = (error: NonNullable<GroupReport['error']>) =>
  `${error.name}: ${error.message}\n      runbook: ${error.runbook}`;

/** The dry run's plan: every group, what it becomes, what changes, why it is not started. */
export function renderFleetPlan(report: FleetReport, files: ReportFiles): string {
  const planned = report.groups.filter((g) => g.outcome === 'planned');
  const others = report.groups.filter((g) => g.outcome !== 'planned');
  const nodes = (g: GroupReport) => `${g.nodes} node${g.nodes === 1 ? '' : 's'}`;
  const lines = [
    `Plan of batch ${report.batchId} (dry run: nothing was started or changed)`,
    `  ${report.groups.length} group(s): ${countsText(report.counts, OUTCOME_ORDER).replace(/ planned\b/, ' to migrate')}`,
    '',
    `To migrate (${planned.length}), ${limitsText(report.settings)}:`,
    ...(planned.length === 0
      ? ['  (none)']
      : planned.flatMap((g) => [
          `  ${g.groupId} → ${g.targetReplicationGroupId ?? '?'}: ${g.engine ?? 'redis'}, ${nodes(g)}, ${
            g.dnsRecords ? `${g.dnsRecords} DNS record(s) to move` : 'no DNS record to move'
          }`,
          ...(g.changes ?? []).map((c) => `      ${c}`),
        ])),
    '',
    `Not started (${others.length}):`,
    ...(others.length === 0
      ? ['  (none)']
      : others.map(
          (g) =>
            `  ${g.groupId}: ${g.outcome}${g.error ? `, ${errorLine(g.error)}` : g.message ? `, ${g.message}` : ''}`,
        )),
    '',
    `Report: ${files.json}`,
    `        ${files.html}`,
  ];
  return lines.join('\n');
}

/** One migration of the batch: the per-group child execution `<batchId>-<groupId>`. */
export interface ChildStatus {
  groupId: string;
  executionName: string;
  /** The execution's status, or NOT_STARTED while it does not exist (waiting for its turn). */
  status: string;
  executionArn?: string;
  startDate?: string;
  stopDate?: string;
  durationMs?: number;
  /** The state it runs now. */
  currentStep?: string;
  /** The approval gate it waits at (`at-rest-migrator approve <executionName>`). */
  waitingFor?: string;
  error?: string;
}

/** What `fleet status` shows. */
export interface FleetStatus {
  batchId?: string;
  executionName: string;
  executionArn: string;
  status: string;
  startDate?: string;
  stopDate?: string;
  durationMs: number;
  dryRun?: boolean;
  /** The state the batch is in (DiscoverGroups, MigrateGroups, WriteReport, ...). */
  currentState?: string;
  maxConcurrency?: number;
  /** The plan: groups by outcome, `planned` being the migrations to run. */
  plan?: Record<string, number>;
  migrations: ChildStatus[];
  /** Migrations by status (NOT_STARTED, RUNNING, SUCCEEDED, FAILED, ...). */
  migrationCounts: Record<string, number>;
  error?: string;
  cause?: string;
  /** Once the report is written: outcomes, why starts stopped, each group, where the files are. */
  outcomes?: Record<string, number>;
  stopped?: string;
  groups?: { groupId: string; outcome: string; reason?: string; error?: string; runbook?: string }[];
  report?: ReportFiles;
}

const MARKS: Record<string, string> = {
  NOT_STARTED: '·',
  RUNNING: '▶',
  SUCCEEDED: '✓',
  FAILED: '✗',
  ABORTED: '✗',
  TIMED_OUT: '✗',
};

/** Past this many migrations only the running and failed ones get a line each. */
const LIST_ALL_UP_TO = 40;

export function renderFleetStatus(s: FleetStatus): string {
  const ended = s.stopDate ? ` in ${duration(s.durationMs)}` : ` for ${duration(s.durationMs)}`;
  const lines = [
    `Batch ${s.batchId ?? '(not planned yet)'}${s.dryRun ? ' (dry run)' : ''}, execution ${s.executionName}: ${s.status}${ended}${
      s.status === 'RUNNING' && s.currentState ? `, at ${s.currentState}` : ''
    }`,
  ];
  if (s.plan) {
    const counts = countsText(s.plan, OUTCOME_ORDER).replace(/ planned\b/, ' to migrate');
    lines.push(`  Plan: ${Object.keys(s.plan).length === 0 ? 'no group found' : counts}`);
  }
  if (s.migrations.length > 0) {
    lines.push(
      `  Migrations (${s.migrations.length}${s.maxConcurrency ? `, at most ${s.maxConcurrency} at once` : ''}): ${countsText(
        s.migrationCounts,
        ['SUCCEEDED', 'RUNNING', 'NOT_STARTED', 'FAILED', 'ABORTED', 'TIMED_OUT'],
      ).replace('NOT_STARTED', 'not started')}`,
    );
    const width = Math.max(...s.migrations.map((m) => m.groupId.length));
    const shown =
      s.migrations.length <= LIST_ALL_UP_TO
        ? s.migrations
        : s.migrations.filter((m) => m.status !== 'SUCCEEDED' && m.status !== 'NOT_STARTED');
    for (const m of shown) {
      const status = m.status === 'NOT_STARTED' ? 'not started' : m.status;
      const time = m.durationMs !== undefined ? duration(m.durationMs) : '';
      const detail = m.waitingFor
        ? `waits for approval ${m.waitingFor}: npx at-rest-migrator approve ${m.executionName}`
        : m.status === 'RUNNING'
          ? (m.currentStep ?? '')
          : (m.error ?? '');
      lines.push(
        `    ${MARKS[m.status] ?? '?'} ${m.groupId.padEnd(width)}  ${status.padEnd(11)} ${time.padStart(10)}  ${detail}`.trimEnd(),
      );
    }
    if (shown.length < s.migrations.length)
      lines.push(
        `    … ${s.migrations.length - shown.length} more succeeded or not started (-o json lists every one)`,
      );
  }
  if (s.error) lines.push(`  Error: ${s.error}${s.cause ? `: ${s.cause}` : ''}`);
  if (s.outcomes) {
    lines.push(`  Outcomes: ${countsText(s.outcomes, OUTCOME_ORDER)}`);
    if (s.stopped) lines.push(`  New starts stopped: ${s.stopped}`);
    const width = Math.max(0, ...(s.groups ?? []).map((g) => g.groupId.length));
    for (const g of s.groups ?? []) {
      const why = g.error ? `  ${g.error}: ${g.runbook}` : g.reason ? `  ${g.reason}` : '';
      lines.push(`    ${g.groupId.padEnd(width)}  ${g.outcome}${why}`);
    }
  }
  if (s.report) lines.push(`  Report: ${s.report.json}`, `          ${s.report.html}`);
  return lines.join('\n');
}
