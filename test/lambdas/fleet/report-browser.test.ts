import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderHtml } from '../../../lambdas/fleet/html.js';
import type { FleetReport, GroupReport } from '../../../lambdas/fleet/report-model.js';

/** Debian's chromium (`apt-get install chromium`; .ci/run installs it). */
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

const t0 = Date.parse('2026-11-30T01:00:00Z');
const at = (s: number) => new Date(t0 + s * 1000).toISOString();
const steps = (offset: number, names: string[]) =>
  names.map((step, i) => ({ step, startedAt: at(offset + i * 60), seconds: 60 }));

const groups: GroupReport[] = [
  {
    groupId: 'orders',
    nodes: 3,
    outcome: 'migrated',
    steps: steps(0, ['Preflight', 'Snapshot', 'Restore', 'Cutover', 'Decommission']),
    keysVerified: 120_000,
    freezeMs: 640,
  },
  {
    groupId: 'carts',
    nodes: 2,
    outcome: 'rolled-back',
    steps: steps(30, ['Preflight', 'Snapshot', 'Rollback']),
    error: {
      name: 'SnapshotFailedError',
      message: 'The snapshot <failed> & was deleted',
      runbook: 'runbooks/failures.md#snapshotfailederror',
    },
  },
  {
    groupId: 'legacy',
    nodes: 2,
    outcome: 'refused',
    steps: [],
    error: {
      name: 'GlobalDatastoreMemberError',
      message: 'member of a Global Datastore',
      runbook: 'runbooks/failures.md#globaldatastoremembererror',
    },
  },
  { groupId: 'search', nodes: 2, outcome: 'skipped', reason: 'window-closed', steps: [] },
];
const report: FleetReport = {
  batchId: 'night-1',
  dryRun: false,
  startedAt: at(0),
  finishedAt: at(400),
  settings: { maxConcurrency: 2, threshold: { count: 1 }, windowClosesAt: at(120) },
  counts: { migrated: 1, 'rolled-back': 1, refused: 1, skipped: 1 },
  stopped: 'the maintenance window closed',
  groups,
  files: { json: 'fleet-reports/night-1/report.json', html: 'fleet-reports/night-1/report.html' },
};

const dir = mkdtempSync(join(tmpdir(), 'fleet-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the HTML report in a real browser', () => {
  it('lays out one row per group and one bar per step, coloured by outcome, with errors escaped', () => {
    if (!CHROMIUM)
      throw new Error(
        'Chromium is not installed: sudo apt-get install -y chromium (Debian), as .ci/run does.',
      );
    const file = join(dir, 'report.html');
    writeFileSync(file, renderHtml(report));
    const dom = execFileSync(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        `--user-data-dir=${join(dir, 'profile')}`,
        '--virtual-time-budget=2000',
        '--dump-dom',
        `file://${file}`,
      ],
      { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    // The page's own script ran in the browser and found every bar inside the timeline, with a size.
    expect(dom).toMatch(/data-bars="8"/);
    expect(dom).toMatch(/data-bars-laid-out="8"/);
    expect(dom.match(/<g class="row"/g)).toHaveLength(4);
    expect(dom.match(/<rect class="bar"[^>]*data-outcome="migrated"[^>]*fill="#2e7d32"/g)).toHaveLength(5);
    expect(dom.match(/<rect class="bar"[^>]*data-outcome="rolled-back"[^>]*fill="#f9a825"/g)).toHaveLength(3);
    expect(dom).toContain('The snapshot &lt;failed&gt; &amp; was deleted');
    expect(dom).toContain('href="runbooks/failures.md#snapshotfailederror"');
    expect(dom).toContain('Stopped starting migrations:</b> the maintenance window closed');
  }, 90_000);
});
