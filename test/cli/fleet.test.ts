/**
 * `at-rest-migrator fleet plan|start|status` run as a user runs them, in a child process, against
 * the sandbox's Step Functions (the fleet state machine with its Distributed Map, the per-group
 * machine as its children) and S3 (the report).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetInputFrom } from '../../cli/fleet.js';
import { parseFleetInput } from '../../lambdas/fleet/input.js';
import { cliJson, runCli } from '../support/cli.js';
import { type FleetBed, fleetFixture, NULL_DATA_MIGRATION, startFleetBed } from '../support/fleet.js';

const MIX = { succeed: 2, encrypted: 1, refused: 1, failing: 1 };
let bed: FleetBed;

beforeAll(async () => {
  // One item a page (every List* call): a status that read only the first page of the
  // per-group machine's executions would miss migrations (test/scenarios/pagination.test.ts).
  bed = await startFleetBed({ ...fleetFixture(MIX), pageSize: 1 });
}, 60_000);
afterAll(async () => bed?.stop());

/** Runs the CLI against the sandbox; the promise carries the child process. */
const cli = (args: string[], stdin?: string) =>
  runCli(args, { env: bed.sandbox.env, timeoutMs: 180_000, ...(stdin !== undefined ? { stdin } : {}) });
const json = cliJson;
const fleetExecutions = () =>
  [...bed.sandbox.stepfunctions.executions.values()].filter((e) => e.stateMachineArn === bed.fleetArn);

describe('at-rest-migrator fleet', () => {
  it('plan prints every group: what is created, what changes, what is refused and why; starts nothing', async () => {
    const run = await cli(
      ['fleet', 'plan', '--tag', 'team=web', '--max-concurrency', '2', '--input', '-', '--name', 'plan-1'],
      JSON.stringify({ migration: NULL_DATA_MIGRATION, toleratedFailureCount: 1 }),
    );
    expect(run.code, run.stderr).toBe(0);
    // The sandbox's KMS key id is new in every run.
    expect(run.stdout.replace(/:key\/[0-9a-f-]{36}\)/g, ':key/<id>)')).toBe(
      `${[
        'Plan of batch plan-1 (dry run: nothing was started or changed)',
        '  5 group(s): 3 to migrate, 1 already-encrypted, 1 refused',
        '',
        'To migrate (3), at most 2 at once; 1 failure(s) tolerated:',
        '  bad-01 → bad-01-atrest: redis, 2 nodes, 1 DNS record(s) to move',
        '      AtRestEncryptionEnabled: false → true (arn:aws:kms:us-east-1:123456789012:key/<id>) — the migration: at-rest encryption under a customer-managed key (Security Hub ElastiCache.4)',
        '      SnapshotRetentionLimit: 0 → 7 — automatic backups kept at least 7 days (Security Hub ElastiCache.1; docs/aws-behaviour.md, Backups)',
        '  ok-01 → ok-01-atrest: redis, 2 nodes, 1 DNS record(s) to move',
        '      AtRestEncryptionEnabled: false → true (arn:aws:kms:us-east-1:123456789012:key/<id>) — the migration: at-rest encryption under a customer-managed key (Security Hub ElastiCache.4)',
        '      SnapshotRetentionLimit: 0 → 7 — automatic backups kept at least 7 days (Security Hub ElastiCache.1; docs/aws-behaviour.md, Backups)',
        '  ok-02 → ok-02-atrest: redis, 2 nodes, 1 DNS record(s) to move',
        '      AtRestEncryptionEnabled: false → true (arn:aws:kms:us-east-1:123456789012:key/<id>) — the migration: at-rest encryption under a customer-managed key (Security Hub ElastiCache.4)',
        '      SnapshotRetentionLimit: 0 → 7 — automatic backups kept at least 7 days (Security Hub ElastiCache.1; docs/aws-behaviour.md, Backups)',
        '',
        'Not started (2):',
        '  enc-01: already-encrypted, Encrypted at rest already.',
        // The sandbox's endpoints are <id>.<6 hex of sha256(account/Region)>.ng.0001.use1...
        "  ref-01: refused, DnsRecordMismatchError: CNAME ok-01.fleet.internal. points at 'ok-01.eb805c.ng.0001.use1.cache.amazonaws.com', not at the primary endpoint of 'ref-01' (ref-01.eb805c.ng.0001.use1.cache.amazonaws.com). Moving it would redirect other clients: fix the record list.",
        '      runbook: runbooks/failures.md#dnsrecordmismatcherror',
        '',
        'Report: s3://at-rest-migrator-reports/fleet-reports/plan-1/report.json',
        '        s3://at-rest-migrator-reports/fleet-reports/plan-1/report.html',
      ].join('\n')}\n`,
    );
    // Nothing started and no group claimed: the table holds only the batch's ledger (fleet#plan-1).
    expect(bed.migrations()).toEqual([]);
    const items = await bed.sandbox.dynamodb.claims();
    expect(items.filter((i) => !String(i.pk).startsWith('fleet#plan-1'))).toEqual([]);

    const out = await cli(['fleet', 'plan', '--group', 'ok-01', '--group', 'enc-01', '-o', 'json']);
    expect(out.code, out.stderr).toBe(0);
    expect(json(out)).toMatchObject({
      status: 'planned',
      counts: { planned: 1, 'already-encrypted': 1 },
      groups: [
        { groupId: 'enc-01', outcome: 'already-encrypted' },
        { groupId: 'ok-01', outcome: 'planned', targetReplicationGroupId: 'ok-01-atrest' },
      ],
    });
    expect(String((json(out).report as { html: string }).html)).toMatch(
      /^s3:\/\/at-rest-migrator-reports\/fleet-reports\/plan-[\d-]+-[0-9a-f]{4}\/report\.html$/,
    );
    expect(bed.migrations()).toEqual([]);
  }, 180_000);

  it('refuses bad input with exit 2, says what is wrong, and starts nothing', async () => {
    const before = fleetExecutions().length;
    const bad = await cli(['fleet', 'start', '--tag', 'team=web', '--max-concurrency', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('maxConcurrency: Too small: expected number to be >=1');
    expect(bad.stderr).toContain('Nothing was started. (--max-concurrency sets maxConcurrency)');

    const file = await cli(
      ['fleet', 'start', '--input', '-', '-o', 'json'],
      JSON.stringify({ selection: { tags: { team: 'web' } }, window: { closesAt: 'tonight' }, speed: 3 }),
    );
    expect(file.code).toBe(2);
    const error = json(file);
    expect(error).toMatchObject({ exitCode: 2, status: 'invalid' });
    expect(error.error).toContain('window.closesAt');
    expect(error.error).toContain('speed');

    const notNumber = await cli(['fleet', 'plan', '--max-concurrency', 'many']);
    expect(notNumber.code).toBe(2);
    expect(notNumber.stderr).toContain("expected a whole number, got 'many'");

    const tag = await cli(['fleet', 'plan', '--tag', 'team']);
    expect(tag.code).toBe(2);
    expect(tag.stderr).toContain('--tag team: expected KEY=VALUE');

    const everything = await cli(['fleet', 'start']);
    expect(everything.code).toBe(2);
    expect(everything.stderr).toContain('Say which groups');

    const dry = await cli(['fleet', 'start', '--input', '-'], '{"dryRun": true, "selection": {}}');
    expect(dry.code).toBe(2);
    expect(dry.stderr).toContain('use `fleet plan`');

    const perGroup = await cli(
      ['fleet', 'start', '--tag', 'team=web', '--input', '-'],
      '{"migration": {"sourceReplicationGroupId": "ok-01"}}',
    );
    expect(perGroup.code).toBe(2);
    expect(perGroup.stderr).toContain('migration.sourceReplicationGroupId is set per group by the batch');

    expect(fleetExecutions()).toHaveLength(before);
    expect(bed.migrations()).toEqual([]);
  }, 180_000);

  it('start, then status follows every migration to the end and ends with the outcomes and the report', async () => {
    const started = await cli(
      ['fleet', 'start', '--tag', 'team=web', '--max-concurrency', '2', '--input', '-', '--name', 'night-1'],
      JSON.stringify({ migration: NULL_DATA_MIGRATION, toleratedFailureCount: 1 }),
    );
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toContain('Started batch night-1');
    expect(started.stdout).toContain('fleet status night-1');

    const followed = await cli(['fleet', 'status', 'night-1', '--interval', '0.2']);
    // A migration rolled back: the batch succeeded, the command exits 3.
    expect(followed.code, followed.stderr).toBe(3);
    const blocks = followed.stdout.split(/^(?=Batch night-1)/m);
    expect(blocks.length).toBeGreaterThan(1);
    // While it ran: the plan and each migration's state.
    expect(followed.stdout).toMatch(/Batch night-1, execution night-1: RUNNING/);
    expect(followed.stdout).toMatch(/▶ ok-0\d\s+RUNNING\s+\S+ \S+\s+\w+/);
    const end = blocks.at(-1) ?? '';
    expect(end).toMatch(/^Batch night-1, execution night-1: SUCCEEDED in /);
    expect(end).toContain('  Plan: 3 to migrate, 1 already-encrypted, 1 refused');
    expect(end).toContain('  Migrations (3, at most 2 at once): 2 SUCCEEDED, 1 FAILED');
    expect(end).toMatch(/✗ bad-01\s+FAILED\s+\S+ \S+\s+SnapshotFailedError/);
    expect(end).toMatch(/✓ ok-01\s+SUCCEEDED/);
    expect(end).toContain('  Outcomes: 2 migrated, 1 already-encrypted, 1 refused, 1 rolled-back');
    expect(end).toContain(
      'bad-01  rolled-back  SnapshotFailedError: runbooks/failures.md#snapshotfailederror',
    );
    expect(end).toContain(
      'ref-01  refused  DnsRecordMismatchError: runbooks/failures.md#dnsrecordmismatcherror',
    );
    expect(end).toContain('Report: s3://at-rest-migrator-reports/fleet-reports/night-1/report.json');

    const once = await cli(['fleet', 'status', 'night-1', '--once', '-o', 'json']);
    expect(once.code).toBe(3);
    const status = json(once) as {
      status: string;
      migrations: { groupId: string; executionName: string; status: string; error?: string }[];
      outcomes: Record<string, number>;
      groups: { groupId: string; outcome: string }[];
    };
    expect(status.status).toBe('SUCCEEDED');
    expect(status.migrations.map((m) => [m.groupId, m.executionName, m.status, m.error])).toEqual([
      ['bad-01', 'night-1-bad-01', 'FAILED', 'SnapshotFailedError'],
      ['ok-01', 'night-1-ok-01', 'SUCCEEDED', undefined],
      ['ok-02', 'night-1-ok-02', 'SUCCEEDED', undefined],
    ]);
    expect(status.outcomes).toEqual(bed.report('night-1').counts);
    expect(status.groups.map((g) => `${g.groupId} ${g.outcome}`)).toEqual([
      'bad-01 rolled-back',
      'enc-01 already-encrypted',
      'ok-01 migrated',
      'ok-02 migrated',
      'ref-01 refused',
    ]);
    // What the CLI showed is what happened.
    expect(
      bed
        .migrations()
        .map((e) => `${e.name} ${e.status}`)
        .sort(),
    ).toEqual(['night-1-bad-01 FAILED', 'night-1-ok-01 SUCCEEDED', 'night-1-ok-02 SUCCEEDED']);
  }, 240_000);

  it('status shows the migrations waiting at their gates; approving each by its name lets the batch finish', async () => {
    await bed.sandbox.reset({ ...fleetFixture(MIX), pageSize: 1 });
    const started = await cli(
      [
        'fleet',
        'start',
        '--group',
        'ok-01',
        '--group',
        'ok-02',
        '--input',
        '-',
        '--name',
        'gated-1',
        '-o',
        'json',
      ],
      JSON.stringify({ migration: { ...NULL_DATA_MIGRATION, approvals: { beforeCutover: true } } }),
    );
    expect(started.code, started.stderr).toBe(0);
    expect(json(started)).toMatchObject({ executionName: 'gated-1', status: 'RUNNING' });
    // Both wait at their gate at once: each must be found (one item a page, so the older one is
    // on page 2 of ListExecutions).
    let text = '';
    const deadline = Date.now() + 90_000;
    while (
      (text.match(/waits for approval/g) ?? []).length < 2 &&
      !/: (SUCCEEDED|FAILED)/.test(text) &&
      Date.now() < deadline
    ) {
      const once = await cli(['fleet', 'status', 'gated-1', '--once']);
      expect(once.code, once.stderr).toBe(0);
      text = once.stdout;
    }
    expect(text).toMatch(/^Batch gated-1, execution gated-1: RUNNING for .*, at MigrateGroups$/m);
    expect(text).toContain('  Plan: 2 to migrate');
    expect(text).toContain('  Migrations (2, at most 5 at once): 2 RUNNING');
    for (const id of ['ok-01', 'ok-02'])
      expect(text).toMatch(
        new RegExp(
          `▶ ${id}\\s+RUNNING\\s+\\S+ \\S+\\s+waits for approval beforeCutover: npx at-rest-migrator approve gated-1-${id}$`,
          'm',
        ),
      );
    // Follow it (JSON lines), and approve once the follower has shown the waiting gates.
    const following = cli(['fleet', 'status', 'gated-1', '--interval', '0.3', '-o', 'json']);
    const first = await new Promise<string>((resolve) => {
      let seen = '';
      following.child.stdout?.on('data', function onData(chunk) {
        seen += String(chunk);
        if (!seen.includes('\n')) return;
        following.child.stdout?.off('data', onData);
        resolve(seen.split('\n')[0] ?? '');
      });
    });
    expect(JSON.parse(first)).toMatchObject({
      status: 'RUNNING',
      batchId: 'gated-1',
      migrations: [
        { groupId: 'ok-01', status: 'RUNNING', waitingFor: 'beforeCutover' },
        { groupId: 'ok-02', status: 'RUNNING', waitingFor: 'beforeCutover' },
      ],
    });
    for (const id of ['ok-01', 'ok-02']) {
      const approved = await cli(['approve', `gated-1-${id}`, '--gate', 'beforeCutover']);
      expect(approved.code, approved.stderr).toBe(0);
    }
    const end = await following;
    expect(end.code, end.stderr).toBe(0);
    const lines = end.stdout.trim().split('\n');
    const final = JSON.parse(lines.slice(lines.indexOf('{')).join('\n'));
    expect(final).toMatchObject({
      status: 'SUCCEEDED',
      outcomes: { migrated: 2 },
      migrations: [
        { groupId: 'ok-01', executionName: 'gated-1-ok-01', status: 'SUCCEEDED' },
        { groupId: 'ok-02', executionName: 'gated-1-ok-02', status: 'SUCCEEDED' },
      ],
      report: { json: 's3://at-rest-migrator-reports/fleet-reports/gated-1/report.json' },
    });
  }, 240_000);

  it('flags set the fleet input fields over the input file, and the result passes the check of the fleet machine', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleet-input-'));
    const file = join(dir, 'night.json');
    writeFileSync(
      file,
      JSON.stringify({
        selection: { tags: { env: 'prod' }, engines: ['redis'] },
        window: { durationMinutes: 60 },
        maxConcurrency: 3,
        migration: { soakSeconds: 60 },
      }),
    );
    const input = fleetInputFrom({
      input: file,
      group: ['ok-01', 'ok-02'],
      tag: ['team=web', 'tier=a=b'],
      engine: ['valkey'],
      maxConcurrency: 4,
      toleratedFailures: 2,
      toleratedFailurePercentage: 12.5,
      windowMinutes: 90,
      batchId: 'night-7',
    });
    expect(input).toEqual({
      selection: { groupIds: ['ok-01', 'ok-02'], tags: { team: 'web', tier: 'a=b' }, engines: ['valkey'] },
      window: { durationMinutes: 90 },
      maxConcurrency: 4,
      toleratedFailureCount: 2,
      toleratedFailurePercentage: 12.5,
      migration: { soakSeconds: 60 },
      batchId: 'night-7',
    });
    expect(parseFleetInput(input).selection.groupIds).toEqual(['ok-01', 'ok-02']);
    // Without flags, the file as it is.
    expect(fleetInputFrom({ input: file, group: [], tag: [], engine: [] })).toEqual(
      JSON.parse(readFileSync(file, 'utf8')),
    );
  });

  it('says which batch does not exist (exit 4) and which name is taken (exit 5)', async () => {
    const out = await cli(['fleet', 'status', 'no-such-batch']);
    expect(out.code).toBe(4);
    expect(out.stderr).toContain('No batch no-such-batch');
    const first = await cli(['fleet', 'start', '--group', 'gone-01', '--name', 'taken-1']);
    expect(first.code, first.stderr).toBe(0);
    const taken = await cli(['fleet', 'start', '--group', 'gone-02', '--name', 'taken-1']);
    expect(taken.code).toBe(5);
    expect(taken.stderr).toContain('A batch named taken-1 exists already');
    expect(taken.stderr).toContain('`fleet status`');
  }, 60_000);
});
