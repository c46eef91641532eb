import type { MigrationPlan } from '../lambdas/migration/state.js';

/** The dry run's plan as an operator reads it: what is created, every change, every DNS move. */
export function renderPlan(plan: MigrationPlan): string {
  const s = plan.source;
  const lines = [
    `Plan for ${s.id} (migration ${plan.migrationId})`,
    `  Source: ${s.id}, ${s.engine} ${s.engineVersion}, ${s.nodeType}, ${s.shards} shard(s) × ${s.replicasPerShard} replica(s)${s.clusterEnabled ? ', cluster mode' : ''}`,
    `  New group: ${plan.target.id}, encrypted at rest with ${plan.kmsKeyArn}`,
    `  Snapshot: ${plan.snapshotName}; final snapshot of the source: ${plan.finalSnapshotName}`,
    `  Data: ${plan.cutover.dataPolicy} (cutover by ${plan.cutover.method === 'pause' ? 'a write freeze' : 'an approval gate'}${plan.cutover.changeTracking ? ', change tracking' : ''})`,
    '',
    'Settings that will differ from the source:',
    ...(plan.changes.length === 0
      ? ['  (none besides the encryption)']
      : plan.changes.map(
          (c) =>
            `  ${c.setting}: ${c.from} → ${c.to}\n      why: ${c.reason}${c.keepWith ? `\n      keep the source's: "keepSourceSettings": ["${c.keepWith}"]` : ''}`,
        )),
    '',
    'DNS records to move:',
    ...(plan.dns.length === 0
      ? ['  (none: point your clients at the new group yourself)']
      : plan.dns.map(
          (r) =>
            `  ${r.recordName} (${r.hostedZoneId}): ${r.originalValue} → the new group's ${r.endpoint} endpoint${r.lowerTtlTo !== undefined ? `, TTL ${r.originalTtl} → ${r.lowerTtlTo} s first` : ''}`,
        )),
    ...(plan.warnings.length > 0 ? ['', 'Warnings:', ...plan.warnings.map((w) => `  ! ${w}`)] : []),
    '',
    'CreateReplicationGroup request (the AUTH token, if any, is read from Secrets Manager at the restore):',
    ...JSON.stringify(plan.createRequest, null, 2)
      .split('\n')
      .map((line) => `  ${line}`),
  ];
  return lines.join('\n');
}
