import type { FleetReport, GroupReport } from './report-model.js';

/** Colour of each outcome on the timeline and in the table. */
export const OUTCOME_COLOURS: Record<GroupReport['outcome'], string> = {
  migrated: '#2e7d32',
  'migrated-source-kept': '#66bb6a',
  'already-encrypted': '#1e88e5',
  'already-migrated': '#64b5f6',
  'in-flight': '#8e24aa',
  planned: '#90a4ae',
  refused: '#757575',
  'rolled-back': '#f9a825',
  failed: '#c62828',
  skipped: '#bdbdbd',
};

const esc = (value: unknown) =>
  String(value ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

function seconds(s: number): string {
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 0)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/**
 * The report as one self-contained HTML page (no external resource, so it opens from S3, an
 * e-mail or a file): counts, a timeline with one row per group and one bar per step coloured by
 * the group's outcome (an SVG drawn here, readable without scripts), and a table with each
 * group's outcome, steps, keys verified, freeze and error with its runbook. A small inline
 * script adds hover details and checks the layout (test/lambdas/fleet/report-browser.test.ts).
 */
export function renderHtml(report: FleetReport): string {
  const rows = report.groups;
  const bars = rows.flatMap((g) => g.steps.map((s) => ({ g, s, start: Date.parse(s.startedAt) })));
  const t0 = Math.min(...bars.map((b) => b.start), Date.parse(report.startedAt));
  const t1 = Math.max(...bars.map((b) => b.start + b.s.seconds * 1000), t0 + 1);
  const span = t1 - t0;
  const labelWidth = 220;
  const width = 1000;
  const rowHeight = 18;
  const scale = (t: number) => labelWidth + ((t - t0) / span) * (width - labelWidth - 10);
  const svgRows = rows
    .map((g, i) => {
      const y = 24 + i * rowHeight;
      const colour = OUTCOME_COLOURS[g.outcome];
      const rects = g.steps
        .map((s) => {
          const x = scale(Date.parse(s.startedAt));
          const w = Math.max(1.5, scale(Date.parse(s.startedAt) + s.seconds * 1000) - x);
          return `<rect class="bar" data-group="${esc(g.groupId)}" data-step="${esc(s.step)}" data-outcome="${g.outcome}" x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${rowHeight - 5}" fill="${colour}" stroke="#fff" stroke-width="0.5"><title>${esc(g.groupId)} · ${esc(s.step)} · ${seconds(s.seconds)}</title></rect>`;
        })
        .join('');
      const none = g.steps.length
        ? ''
        : `<text x="${labelWidth + 4}" y="${y + 11}" font-size="11" fill="${colour}">${esc(g.outcome)}${g.reason ? ` (${esc(g.reason)})` : ''}</text>`;
      return `<g class="row" data-group="${esc(g.groupId)}" data-outcome="${g.outcome}"><text x="4" y="${y + 11}" font-size="11">${esc(g.groupId)}</text>${rects}${none}</g>`;
    })
    .join('\n');
  const height = 34 + rows.length * rowHeight;
  const ticks = Array.from({ length: 6 }, (_, i) => {
    const t = t0 + (span * i) / 5;
    const x = scale(t);
    return `<line x1="${x}" y1="16" x2="${x}" y2="${height}" stroke="#eee"/><text x="${x}" y="12" font-size="10" text-anchor="middle">+${seconds((t - t0) / 1000)}</text>`;
  }).join('');
  const legend = Object.entries(OUTCOME_COLOURS)
    .filter(([o]) => report.counts[o])
    .map(([o, c]) => `<span class="chip" style="background:${c}"></span>${esc(o)}: ${report.counts[o]}`)
    .join(' &nbsp; ');
  const tableRows = rows
    .map(
      (g) => `<tr data-group="${esc(g.groupId)}" data-outcome="${g.outcome}">
<td>${esc(g.groupId)}</td><td><span class="chip" style="background:${OUTCOME_COLOURS[g.outcome]}"></span>${esc(g.outcome)}${g.reason ? ` (${esc(g.reason)})` : ''}</td>
<td>${g.steps.map((s) => `${esc(s.step)} ${seconds(s.seconds)}`).join(', ')}</td>
<td>${g.keysVerified ?? ''}</td><td>${g.freezeMs !== undefined ? `${g.freezeMs} ms` : ''}</td>
<td>${g.error ? `<b>${esc(g.error.name)}</b>: ${esc(g.error.message)} (<a href="${esc(g.error.runbook)}">${esc(g.error.runbook)}</a>)` : esc(g.message ?? '')}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Fleet batch ${esc(report.batchId)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222}
table{border-collapse:collapse;width:100%;margin-top:16px}td,th{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
.chip{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px}
svg .bar:hover{opacity:.7}#detail{min-height:1.2em;color:#555}
</style></head>
<body data-groups="${rows.length}" data-bars="${bars.length}">
<h1>Fleet batch ${esc(report.batchId)}</h1>
<p>Started ${esc(report.startedAt)}, finished ${esc(report.finishedAt)}${report.dryRun ? ' (dry run: nothing was started)' : ''}.
Concurrency ${report.settings.maxConcurrency}; tolerated failures ${esc(JSON.stringify(report.settings.threshold))}${report.settings.windowClosesAt ? `; window closed ${esc(report.settings.windowClosesAt)}` : ''}.</p>
<p id="counts">${legend}</p>
${report.stopped ? `<p id="stopped"><b>Stopped starting migrations:</b> ${esc(report.stopped)}</p>` : ''}
<h2>Timeline</h2><p id="detail"></p>
<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${ticks}
${svgRows}</svg>
<h2>Groups</h2>
<table id="groups"><thead><tr><th>Group</th><th>Outcome</th><th>Steps</th><th>Keys verified</th><th>Freeze</th><th>Error / note</th></tr></thead>
<tbody>${tableRows}</tbody></table>
<script>
(function () {
  var svg = document.getElementById('timeline');
  var box = svg.getBoundingClientRect();
  var bars = svg.querySelectorAll('.bar');
  var ok = 0;
  bars.forEach(function (bar) {
    var r = bar.getBoundingClientRect();
    if (r.width > 0 && r.height > 0 && r.left >= box.left - 0.5 && r.right <= box.right + 0.5) ok++;
    bar.addEventListener('mouseenter', function () {
      document.getElementById('detail').textContent = bar.querySelector('title').textContent;
    });
  });
  document.body.setAttribute('data-bars-laid-out', String(ok));
})();
</script>
</body></html>
`;
}
