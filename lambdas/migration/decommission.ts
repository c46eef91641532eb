import {
  DeleteReplicationGroupCommand,
  DeleteSnapshotCommand,
  RemoveTagsFromResourceCommand,
} from '@aws-sdk/client-elasticache';
import type { Clients } from '../shared/clients.js';
import { SourceDeletionFailedError, SourceDeletionRefusedError } from '../shared/errors.js';
import { alarmSummary, alarmWarnings } from './alarms.js';
import { belongsTo, endpointOf, findGroup, findRecord, findSnapshot, sameHost } from './aws.js';
import { releaseClaim } from './claim.js';
import { TAG_MIGRATION_ID, TAG_ROLE } from './naming.js';
import {
  checkDeadline,
  clearDeadline,
  completeStep,
  requirePlan,
  setDeadline,
  startStep,
} from './progress.js';
import type { MigrationState, MigrationSummary } from './state.js';

type Deps = Pick<Clients, 'elasticache' | 'route53'>;

/**
 * Deletes the source with a final snapshot — only when the new group was verified, is available,
 * and every moved record points at it right now, and only a source this migration claimed.
 * A deletion already under way (a re-run) is adopted.
 */
export async function startDecommission(
  state: MigrationState,
  { elasticache, route53 }: Deps,
  now = Date.now(),
) {
  const plan = requirePlan(state);
  startStep(state, 'deleteSource', now);
  const source = await findGroup(elasticache, plan.source.id);
  if (!source || source.Status === 'deleting') {
    state.progress.sourceDeletionStarted = true;
    setDeadline(state, 'delete', plan.options.timeouts.deleteSeconds, now);
    return state;
  }
  const refuse = (why: string) =>
    new SourceDeletionRefusedError(
      `The source '${plan.source.id}' is not deleted: ${why}. Both groups are left as they are.`,
    );
  const target = await findGroup(elasticache, plan.target.id);
  if (!state.progress.targetVerified) throw refuse('the new group was not verified');
  if (target?.Status !== 'available') throw refuse(`the new group is ${target?.Status ?? 'missing'}`);
  for (const record of plan.dns) {
    const current = await findRecord(route53, record.hostedZoneId, record.recordName, 'CNAME');
    const value = current?.ResourceRecords?.[0]?.Value;
    if (!sameHost(value, endpointOf(target, record.endpoint))) {
      throw refuse(`CNAME ${record.recordName} points at '${value ?? 'nothing'}', not at the new group`);
    }
  }
  if (!(await belongsTo(elasticache, source.ARN!, plan.migrationId)))
    throw refuse('it is not claimed by this migration');
  const existingFinal = await findSnapshot(elasticache, plan.finalSnapshotName);
  if (existingFinal) {
    throw new SourceDeletionFailedError(
      `A snapshot named '${plan.finalSnapshotName}' already exists, so the final snapshot cannot be taken; the source is not deleted.`,
    );
  }
  await elasticache.send(
    new DeleteReplicationGroupCommand({
      ReplicationGroupId: plan.source.id,
      FinalSnapshotIdentifier: plan.finalSnapshotName,
    }),
  );
  state.progress.sourceDeletionStarted = true;
  setDeadline(state, 'delete', plan.options.timeouts.deleteSeconds, now);
  return state;
}

/** One poll: the source is gone and its final snapshot is available. */
export async function checkDecommission(
  state: MigrationState,
  { elasticache }: Pick<Clients, 'elasticache'>,
  now = Date.now(),
) {
  const plan = requirePlan(state);
  const source = await findGroup(elasticache, plan.source.id);
  const final = await findSnapshot(elasticache, plan.finalSnapshotName);
  if (!source && final?.SnapshotStatus === 'available') {
    state.progress.sourceDeleted = true;
    clearDeadline(state, 'delete');
    completeStep(state, 'deleteSource', now);
    return state;
  }
  if (!source && !final) {
    throw new SourceDeletionFailedError(
      `The source '${plan.source.id}' is gone but its final snapshot '${plan.finalSnapshotName}' does not exist. The new group holds the data; take a backup of it now.`,
    );
  }
  if (final && final.SnapshotStatus !== 'creating' && final.SnapshotStatus !== 'available') {
    throw new SourceDeletionFailedError(
      `The final snapshot '${plan.finalSnapshotName}' is ${final.SnapshotStatus}.`,
    );
  }
  // No rollback once the deletion is accepted (it cannot be cancelled): say what stands.
  checkDeadline(
    state,
    'delete',
    now,
    `Deleting '${plan.source.id}'`,
    `there is no rollback: the new group '${plan.target.id}' serves and the records point at it. Check the deletion of '${plan.source.id}' and its final snapshot '${plan.finalSnapshotName}'`,
  );
  state.progress.sourceDeleted = false;
  return state;
}

/**
 * Removes the intermediate snapshot (unless kept) and, when the source stays, releases it.
 * Then writes the summary.
 */
export async function finish(
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

/** Removes this migration's claim tags from the source, if it still carries them. */
export async function releaseSource(
  state: MigrationState,
  elasticache: Clients['elasticache'],
): Promise<void> {
  const plan = requirePlan(state);
  const source = await findGroup(elasticache, plan.source.id);
  if (!source || source.Status === 'deleting') return;
  if (!(await belongsTo(elasticache, source.ARN!, plan.migrationId))) return;
  await elasticache.send(
    new RemoveTagsFromResourceCommand({ ResourceName: source.ARN!, TagKeys: [TAG_MIGRATION_ID, TAG_ROLE] }),
  );
}

function endpointsOf(group: import('@aws-sdk/client-elasticache').ReplicationGroup): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kind of ['primary', 'reader', 'configuration'] as const) {
    const e = endpointOf(group, kind);
    if (e) out[kind] = e;
  }
  return out;
}

function summarize(state: MigrationState, endpoints: Record<string, string>): MigrationSummary {
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
