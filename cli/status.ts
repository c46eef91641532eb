import type { DescribeExecutionCommandOutput, HistoryEvent } from '@aws-sdk/client-sfn';
import { type ExecutionProgress, readableCause, summarizeHistory } from '../lambdas/api/history.js';
import { latestMigrationState } from '../lambdas/migration/recover-stopped.js';
import type { MigrationState } from '../lambdas/migration/state.js';

/** What `status` and `watch` show: the execution, its steps and the data path's progress. */
export interface MigrationStatus {
  migrationId: string;
  executionArn: string;
  status: string;
  startDate?: string;
  stopDate?: string;
  durationMs: number;
  source?: string;
  target?: string;
  currentStep?: string;
  steps: ExecutionProgress['steps'];
  errors: ExecutionProgress['errors'];
  /** The gate waiting for `approve` / `reject` (its token is not shown; `approve` finds it). */
  waitingFor?: { step: string; gate: string; since: string };
  /** The catch-up (the data check): passes over the data and keys copied and checked. */
  dataCheck?: { passes: number; keysChecked: number; keysCopied: number; converged: boolean };
  /** The write freeze at the cutover against its budget. */
  freeze?: {
    budgetSeconds?: number;
    attempts: number;
    overBudget: number;
    frozenMs?: number;
    holdUntil?: string;
    outcome?: string;
  };
  error?: string;
  cause?: string;
  runbook?: string;
  output?: unknown;
}

export function migrationStatus(
  execution: DescribeExecutionCommandOutput,
  events: readonly HistoryEvent[],
  now = new Date(),
): MigrationStatus {
  const progress = summarizeHistory(events, now);
  const state = latestMigrationState(events) as MigrationState | undefined;
  const plan = state?.plan;
  const catchUp = state?.progress?.catchUp;
  const freeze = state?.progress?.freeze;
  const end = execution.stopDate ?? now;
  let output: unknown;
  try {
    output = execution.output ? JSON.parse(execution.output) : undefined;
  } catch {
    output = execution.output;
  }
  return {
    migrationId: execution.name ?? '',
    executionArn: execution.executionArn ?? '',
    status: execution.status ?? 'UNKNOWN',
    ...(execution.startDate ? { startDate: execution.startDate.toISOString() } : {}),
    ...(execution.stopDate ? { stopDate: execution.stopDate.toISOString() } : {}),
    durationMs: execution.startDate ? end.getTime() - execution.startDate.getTime() : 0,
    ...(plan ? { source: plan.source.id, target: plan.target.id } : {}),
    ...(progress.currentStep ? { currentStep: progress.currentStep } : {}),
    steps: progress.steps,
    errors: progress.errors,
    ...(progress.waitingFor
      ? {
          waitingFor: {
            step: progress.waitingFor.step,
            gate: progress.waitingFor.gate,
            since: progress.waitingFor.since,
          },
        }
      : {}),
    ...(catchUp
      ? {
          dataCheck: {
            passes: catchUp.passes,
            keysChecked: catchUp.keysChecked,
            keysCopied: catchUp.keysCopied,
            converged: catchUp.converged === true,
          },
        }
      : {}),
    ...(freeze
      ? {
          freeze: {
            ...(plan?.options.cutover?.freezeBudgetSeconds !== undefined
              ? { budgetSeconds: plan.options.cutover.freezeBudgetSeconds }
              : {}),
            attempts: freeze.attempts,
            overBudget: freeze.overBudget,
            ...(freeze.frozenMs !== undefined ? { frozenMs: freeze.frozenMs } : {}),
            ...(freeze.holdUntil ? { holdUntil: freeze.holdUntil } : {}),
            ...(freeze.outcome ? { outcome: freeze.outcome } : {}),
          },
        }
      : {}),
    ...(execution.error ? { error: execution.error } : {}),
    ...(execution.cause !== undefined ? { cause: readableCause(execution.cause) } : {}),
    ...(output !== undefined ? { output } : {}),
  };
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

const MARK: Record<string, string> = { running: '▶', done: '✓' };

/** The status as text: one line per step with its duration, then the data check and the freeze. */
export function renderStatus(s: MigrationStatus): string {
  const lines = [
    `Migration ${s.migrationId}: ${s.status} (${duration(s.durationMs)})`,
    ...(s.source ? [`  ${s.source} → ${s.target}`] : []),
  ];
  for (const step of s.steps) {
    const mark = step.running ? MARK.running : MARK.done;
    const runs = step.runs > 1 ? ` ×${step.runs}` : '';
    lines.push(`  ${mark} ${step.name.padEnd(28)} ${duration(step.durationMs).padStart(12)}${runs}`);
  }
  if (s.dataCheck) {
    const d = s.dataCheck;
    lines.push(
      `  Data check: ${d.passes} pass(es), ${d.keysChecked.toLocaleString('en-US')} keys checked, ${d.keysCopied.toLocaleString('en-US')} copied${d.converged ? ', converged' : ''}`,
    );
  }
  if (s.freeze) {
    const f = s.freeze;
    const budget = f.budgetSeconds !== undefined ? ` of a ${f.budgetSeconds} s budget` : '';
    const frozen =
      f.frozenMs !== undefined ? `writes held ${duration(f.frozenMs)}${budget}` : `budget${budget}`;
    lines.push(
      `  Write freeze: ${frozen}; ${f.attempts} freeze(s), ${f.overBudget} over budget${f.outcome ? `, ${f.outcome}` : ''}`,
    );
  }
  if (s.waitingFor) {
    lines.push(
      `  Waiting for approval: ${s.waitingFor.gate} (${s.waitingFor.step}) since ${s.waitingFor.since}`,
      `    approve: npx at-rest-migrator approve ${s.migrationId}    reject: npx at-rest-migrator reject ${s.migrationId} --reason "…"`,
    );
  }
  if (s.error) {
    lines.push(`  Error: ${s.error}${s.cause ? `: ${s.cause}` : ''}`);
    lines.push(`  Runbook: ${s.runbook ?? ''}`);
  }
  return lines.join('\n');
}
