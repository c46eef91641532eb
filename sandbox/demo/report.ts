import type { MigrationSummary } from '../../lambdas/migration/state.js';

export interface DemoReport {
  ok: boolean;
  variant: { clusterMode: boolean; tlsAuth: boolean; fault: string | null };
  executionName: string;
  status: 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';
  error?: string;
  cause?: string;
  summary?: MigrationSummary;
  newGroup: { id: string; atRestEncryption: boolean; kmsKeyId: string | null; status: string } | null;
  sourceGroupPresent: boolean;
  snapshots: { name: string; status: string; group: string }[];
  /** The application that wrote through the CNAME the whole time. */
  application: {
    writesPerSecond: number;
    acknowledged: number;
    /** Writes whose outcome the application never learned (held by the freeze, then cut off). */
    unacknowledged: number;
    byGroup: Record<string, number>;
    byKind: Record<string, number>;
    /** The write freeze as the application saw it: its longest wait for an acknowledgement. */
    longestWriteStallMs: number;
    reconnects: number;
    lostWrites: number;
    lostExamples: string[];
    /** One counter: its final value equals the INCRs the application got an OK for. */
    counter?: { key: string; value: number; incrsAcknowledged: number };
  };
  seededKeys: number;
  /** The account's CloudWatch alarms before and after, with the cache each watches. */
  alarms?: { before: { name: string; watches: string }[]; after: { name: string; watches: string }[] };
  seconds: number;
}

function table(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
}

export function printReport(report: DemoReport, file: string): void {
  const s = report.summary;
  const rows: [string, string][] = [
    ['result', report.ok ? 'OK' : 'FAILED'],
    ['execution', `${report.executionName}: ${report.status}${report.error ? ` (${report.error})` : ''}`],
  ];
  if (s) {
    for (const [step, seconds] of Object.entries(s.stepSeconds))
      rows.push([`step ${step}`, `${seconds.toFixed(2)} s`]);
    if (s.cutover) {
      rows.push([
        'catch-up',
        `${s.cutover.catchUpPasses} passes, ${s.cutover.keysCopied} keys copied after the snapshot`,
      ]);
      rows.push([
        'write freeze',
        `${s.cutover.method === 'pause' ? 'CLIENT PAUSE WRITE' : 'operator gate'}, ${s.cutover.frozenMs ?? 0} ms before the flip, ${s.cutover.freezeAttempts} attempt(s), change tracking ${s.cutover.changeTracking ? 'on' : 'off'}`,
      ]);
    }
    for (const d of s.dns) rows.push([`DNS ${d.recordName}`, `${d.from} -> ${d.to}`]);
    rows.push(['final snapshot', s.source.finalSnapshotName ?? '(none)']);
    rows.push(['backup node', s.backupNode ?? "(ElastiCache's choice)"]);
    for (const moved of s.alarms?.copied ?? []) rows.push(['alarm moved', `${moved.from} -> ${moved.name}`]);
    for (const name of s.alarms?.recommended ?? []) rows.push(['alarm added', name]);
    if (s.alarms?.sourceAlarmsDeleted.length)
      rows.push(['alarms removed', s.alarms.sourceAlarmsDeleted.join(', ')]);
  }
  if (report.alarms) {
    const list = (alarms: { name: string; watches: string }[]) =>
      alarms.map((a) => `${a.name} [${a.watches}]`).join(', ') || '(none)';
    rows.push(['alarms before', list(report.alarms.before)]);
    rows.push(['alarms after', list(report.alarms.after)]);
  }
  rows.push([
    'new group',
    report.newGroup
      ? `${report.newGroup.id} ${report.newGroup.status}, at-rest encryption ${report.newGroup.atRestEncryption ? 'ON' : 'OFF'} with ${report.newGroup.kmsKeyId}`
      : '(none)',
  ]);
  rows.push(['old group', report.sourceGroupPresent ? 'still present' : 'gone']);
  rows.push(['snapshots', report.snapshots.map((x) => `${x.name} (${x.status})`).join(', ') || '(none)']);
  const app = report.application;
  rows.push([
    'app writes',
    `${app.acknowledged} acknowledged (${app.writesPerSecond}/s), by group ${JSON.stringify(app.byGroup)}`,
  ]);
  rows.push([
    'app write stall',
    `${app.longestWriteStallMs} ms at most (the freeze as the application saw it)`,
  ]);
  if (app.counter) {
    rows.push([
      'counter',
      `${app.counter.key} = ${app.counter.value}, INCRs acknowledged: ${app.counter.incrsAcknowledged}`,
    ]);
  }
  rows.push(['writes lost', `${app.lostWrites} of ${app.acknowledged} acknowledged`]);
  if (report.cause) rows.push(['cause', report.cause.replace(/\s+/g, ' ').slice(0, 300)]);
  rows.push(['report', file]);
  process.stdout.write(`\n${table(rows)}\n`);
}
