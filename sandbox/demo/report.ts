import type { MigrationSummary } from '../../lambdas/migration/state.js';
import type { ClientStats } from './client.js';

export interface DemoReport {
  ok: boolean;
  variant: { clusterMode: boolean; tlsAuth: boolean; fault: string | null };
  executionName: string;
  status: 'SUCCEEDED' | 'FAILED';
  error?: string;
  cause?: string;
  summary?: MigrationSummary;
  newGroup: { id: string; atRestEncryption: boolean; kmsKeyId: string | null; status: string } | null;
  sourceGroupPresent: boolean;
  snapshots: { name: string; status: string; group: string }[];
  client: ClientStats & { lostWrites: number; lostExamples: string[] };
  seededKeys: number;
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
    if (s.dataVerification) {
      rows.push([
        'keys verified',
        `${s.dataVerification.keysChecked} source keys, ${s.dataVerification.targetKeysScanned} target keys, differences: ${JSON.stringify(s.dataVerification.counts)}`,
      ]);
    }
    for (const d of s.dns) rows.push([`DNS ${d.recordName}`, `${d.from} -> ${d.to}`]);
    rows.push(['final snapshot', s.source.finalSnapshotName ?? '(none)']);
  }
  rows.push([
    'new group',
    report.newGroup
      ? `${report.newGroup.id} ${report.newGroup.status}, at-rest encryption ${report.newGroup.atRestEncryption ? 'ON' : 'OFF'} with ${report.newGroup.kmsKeyId}`
      : '(none)',
  ]);
  rows.push(['old group', report.sourceGroupPresent ? 'still present' : 'gone']);
  rows.push(['snapshots', report.snapshots.map((x) => `${x.name} (${x.status})`).join(', ') || '(none)']);
  rows.push(['client reads', JSON.stringify(report.client.reads)]);
  rows.push(['client writes', JSON.stringify(report.client.writes)]);
  rows.push(['client errors', String(report.client.errors)]);
  rows.push(['writes frozen', `${(report.client.frozenMs / 1000).toFixed(1)} s`]);
  rows.push(['writes lost', `${report.client.lostWrites} of ${report.client.acknowledged} acknowledged`]);
  if (report.cause) rows.push(['cause', report.cause.replace(/\s+/g, ' ').slice(0, 300)]);
  rows.push(['report', file]);
  process.stdout.write(`\n${table(rows)}\n`);
}
