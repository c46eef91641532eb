import { DeleteSnapshotCommand, type ReplicationGroup } from '@aws-sdk/client-elasticache';
import type { Clients } from '../shared/clients.js';
import { alarmSummary, alarmWarnings } from './alarms.js';
import { endpointOf, findGroup, findSnapshot } from './aws.js';
import { releaseClaim } from './claim.js';
import { releaseSource } from './decommission.js';
import { completeStep, requirePlan, startStep } from './progress.js';
import type { MigrationState, MigrationSummary } from './state.js';

/**
 * The last step of a migration (state CleanUpAndSummarize), whether the source was deleted or
 * kept: removes the intermediate snapshot (unless kept), releases the source when it stays and
 * its claim in the migrations table, then writes the summary, the execution's output.
 */
export async function cleanUpAndSummarize(
  state: MigrationState,
  { elasticache, dynamodb }: Pick<Clients, 'elasticache' | 'dynamodb'>,
  now = Date.now(),
) {
  const plan = requirePlan(state);
  startStep(state, 'finish', now);
  if (!plan.options.keepIntermediateSnapshot && !state.progress.snapshotCleaned) {
    const snapshot = await findSnapshot(elasticache, plan.snapshotName);
    if (snapshot && snapshot.SnapshotStatus !== 'deleting') {
      try {
        await elasticache.send(new DeleteSnapshotCommand({ SnapshotName: plan.snapshotName }));
      } catch (error) {
        if ((error as Error).name !== 'SnapshotNotFoundFault') throw error;
      }
    }
    state.progress.snapshotCleaned = true;
  }
  if (!plan.options.deleteSource) await releaseSource(state, elasticache);
  // The source's claim in the migrations table, whether the source was deleted or kept.
  await releaseClaim(dynamodb, plan.source.arn, plan.migrationId);
  const target = await findGroup(elasticache, plan.target.id);
  completeStep(state, 'finish', now);
  state.outcome = 'migrated';
  state.summary = summarize(state, target ? endpointsOf(target) : {});
  return state;
}

function endpointsOf(group: ReplicationGroup): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kind of ['primary', 'reader', 'configuration'] as const) {
    const e = endpointOf(group, kind);
    if (e) out[kind] = e;
  }
  return out;
}

/** The execution's output: what was migrated, what changed, how the cutover went, what to do next. */
export function summarize(state: MigrationState, endpoints: Record<string, string>): MigrationSummary {
  const plan = requirePlan(state);
  const report = state.progress.dataVerification?.report;
  const warnings = [...plan.warnings];
  const freeze = state.progress.freeze;
  if (plan.cutover.changeTracking && freeze?.untrackedReason) {
    warnings.push(`Change tracking was not used for the final copy: ${freeze.untrackedReason}.`);
  }
  if (!plan.options.deleteSource && freeze?.holdUntil) {
    warnings.push(
      `The source '${plan.source.id}' was kept: it holds every write (CLIENT PAUSE WRITE) until ${freeze.holdUntil} and accepts writes again after that. Point no client at it.`,
    );
  }
  for (const r of plan.dns) {
    if (r.lowerTtlTo !== undefined && r.lowerTtlTo < r.originalTtl) {
      warnings.push(
        `CNAME ${r.recordName} keeps its lowered TTL of ${r.lowerTtlTo}s; raise it back to ${r.originalTtl}s when satisfied.`,
      );
    }
  }
  warnings.push(...alarmWarnings(state));
  const backupNode = state.progress.backupNode;
  return {
    migrationId: state.migrationId,
    outcome: plan.options.deleteSource ? 'migrated' : 'migrated-source-kept',
    source: {
      id: plan.source.id,
      deleted: state.progress.sourceDeleted === true,
      finalSnapshotName: state.progress.sourceDeleted ? plan.finalSnapshotName : undefined,
    },
    target: { id: plan.target.id, endpoints, kmsKeyArn: plan.kmsKeyArn },
    dns: plan.dns.map((r) => ({
      recordName: r.recordName,
      hostedZoneId: r.hostedZoneId,
      from: r.originalValue,
      to: endpoints[r.endpoint] ?? '',
    })),
    intermediateSnapshot: { name: plan.snapshotName, deleted: state.progress.snapshotCleaned === true },
    dataVerification: report
      ? {
          mode: report.mode,
          keysChecked: report.keysChecked,
          targetKeysScanned: report.targetKeysScanned,
          counts: report.counts,
        }
      : undefined,
    changes: plan.changes ?? [],
    ...(backupNode?.done && backupNode.clusterId ? { backupNode: backupNode.clusterId } : {}),
    ...(state.progress.alarms ? { alarms: alarmSummary(state) } : {}),
    cutover: {
      method: plan.cutover.method,
      dataPolicy: plan.cutover.dataPolicy,
      catchUpPasses: state.progress.catchUp?.passes ?? 0,
      keysCopied: (state.progress.catchUp?.keysCopied ?? 0) + (state.progress.freeze?.keysCopied ?? 0),
      freezeAttempts: state.progress.freeze?.attempts ?? 0,
      changeTracking: state.progress.freeze?.tracked === true,
      ...(state.progress.freeze?.frozenMs !== undefined ? { frozenMs: state.progress.freeze.frozenMs } : {}),
      ...(state.progress.freeze?.clientsClosed !== undefined
        ? { clientsClosed: state.progress.freeze.clientsClosed }
        : {}),
    },
    stepSeconds: Object.fromEntries(Object.entries(state.steps).map(([k, v]) => [k, v.seconds ?? 0])),
    warnings,
  };
}
