/**
 * The project's CLI (`npx at-rest-migrator`, bin/at-rest-migrator.mjs) run as a user runs it, in a
 * child process, against the sandbox's Step Functions (AWS_ENDPOINT_URL): every command, in text
 * and with --output json, and its exit codes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliJson, runCli } from '../support/cli.js';
import { fleet, startWorkflowBed, type WorkflowBed, ZONE_ID } from '../support/workflow.js';

let bed: WorkflowBed;

beforeAll(async () => {
  bed = await startWorkflowBed(fleet());
});
afterAll(() => bed.stop());

/** Runs the CLI against the sandbox, as the operator 'test-operator'. */
const cli = (args: string[], stdin?: string) =>
  runCli(args, {
    env: { ...bed.sandbox.env, MIGRATOR_OPERATOR: 'test-operator' },
    timeoutMs: 120_000,
    ...(stdin !== undefined ? { stdin } : {}),
  });
const json = cliJson;

const input = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    sourceReplicationGroupId: 'orders',
    dnsRecords: [{ hostedZoneId: ZONE_ID, recordName: 'orders.example.internal', endpoint: 'primary' }],
    verification: { mode: 'off' },
    pollIntervalSeconds: 1,
    ...extra,
  });

async function waitUntil(
  id: string,
  done: (status: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const status = json(await cli(['status', id, '-o', 'json']));
    if (done(status)) return status;
    if (Date.now() > deadline) throw new Error(`status of ${id}: ${JSON.stringify(status)}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

describe('at-rest-migrator', () => {
  it('plan prints the create request and every planned change, and changes nothing', async () => {
    const text = await cli(['plan', '--input', '-'], input());
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('Plan for orders');
    expect(text.stdout).toContain('New group: orders-atrest, encrypted at rest');
    expect(text.stdout).toContain('SnapshotRetentionLimit: 1 → 7');
    expect(text.stdout).toContain('orders.example.internal. (Z0PRIVATE00001)');
    expect(text.stdout).toContain('"ReplicationGroupId": "orders-atrest"');

    const out = await cli(['plan', '--source', 'orders', '--output', 'json']);
    expect(out.code, out.stderr).toBe(0);
    const plan = json(out) as {
      status: string;
      plan: { createRequest: Record<string, unknown>; changes: unknown[] };
    };
    expect(plan.status).toBe('planned');
    expect(plan.plan.createRequest).toMatchObject({
      ReplicationGroupId: 'orders-atrest',
      AtRestEncryptionEnabled: true,
    });
    expect(plan.plan.changes.length).toBeGreaterThan(0);
    expect(await bed.groupIds()).toEqual(['orders', 'sessions']);
    expect(await bed.sandbox.dynamodb.claims()).toEqual([]);
  });

  it('plan exits 3 on a refusal, with the error and its runbook link', async () => {
    const text = await cli(['plan', '--source', 'no-such-group']);
    expect(text.code).toBe(3);
    expect(text.stderr).toContain('SourceNotFoundError');
    expect(text.stderr).toContain('runbooks/failures.md#sourcenotfounderror');

    const out = await cli(['plan', '--source', 'no-such-group', '-o', 'json']);
    expect(out.code).toBe(3);
    expect(json(out)).toMatchObject({
      status: 'refused',
      error: 'SourceNotFoundError',
      runbook: 'runbooks/failures.md#sourcenotfounderror',
      exitCode: 3,
    });
  });

  it('refuses bad arguments with exit 2 and says what to give', async () => {
    const none = await cli(['start']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--input FILE');
    const bad = await cli(['plan', '--input', '-', '-o', 'json'], '[1, 2]');
    expect(bad.code).toBe(2);
    expect(json(bad).error).toContain('not an execution input');
    const unknown = await cli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
  });

  it('start, status at the gate, approve, watch to SUCCEEDED, list and history, in text and JSON', async () => {
    const started = await cli(
      ['start', '--input', '-', '--name', 'cli-approve'],
      input({ approvals: { beforeCutover: true } }),
    );
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toContain('Started migration cli-approve');

    const waiting = await waitUntil('cli-approve', (s) => s.waitingFor !== undefined);
    expect(waiting).toMatchObject({ status: 'RUNNING', source: 'orders', target: 'orders-atrest' });
    expect(waiting.waitingFor).toMatchObject({ gate: 'beforeCutover', step: 'AwaitCutoverApproval' });
    expect(JSON.stringify(waiting)).not.toContain('taskToken');
    const steps = waiting.steps as { name: string; durationMs: number }[];
    expect(steps.map((s) => s.name)).toContain('RestoreEncryptedGroup');
    const text = await cli(['status', 'cli-approve']);
    expect(text.stdout).toContain('Waiting for approval: beforeCutover');
    expect(text.stdout).toMatch(/✓ RestoreEncryptedGroup\s+\d/);

    const wrongGate = await cli(['approve', 'cli-approve', '--gate', 'beforeDeleteSource']);
    expect(wrongGate.code).toBe(5);
    expect(wrongGate.stderr).toContain('waits at beforeCutover');

    const approved = await cli(['approve', 'cli-approve', '--gate', 'beforeCutover', '-o', 'json']);
    expect(approved.code, approved.stderr).toBe(0);
    expect(json(approved)).toMatchObject({
      migrationId: 'cli-approve',
      gate: 'beforeCutover',
      approved: true,
      by: 'test-operator',
    });

    const watched = await cli(['watch', 'cli-approve', '--interval', '0.3']);
    expect(watched.code, watched.stderr).toBe(0);
    expect(watched.stdout).toContain('Migration cli-approve: SUCCEEDED');
    expect(watched.stdout).toMatch(/✓ FlipRecords\s+\d/);
    const watchedJson = await cli(['watch', 'cli-approve', '-o', 'json']);
    expect(json(watchedJson)).toMatchObject({ status: 'SUCCEEDED' });

    const again = await cli(['approve', 'cli-approve']);
    expect(again.code).toBe(5);
    expect(again.stderr).toContain('SUCCEEDED');

    const list = await cli(['list', '--output', 'json']);
    expect(
      (json(list) as unknown as { migrationId: string; status: string }[]).find(
        (r) => r.migrationId === 'cli-approve',
      ),
    ).toMatchObject({ status: 'SUCCEEDED' });
    expect((await cli(['list', '--status', 'SUCCEEDED'])).stdout).toMatch(/cli-approve\s+SUCCEEDED/);

    const history = await cli(['history', 'cli-approve', '-o', 'json']);
    const events = json(history) as unknown as { type: string; state?: string }[];
    expect(events[0]).toMatchObject({ type: 'ExecutionStarted' });
    expect(events.at(-1)).toMatchObject({ type: 'ExecutionSucceeded' });
    expect((await cli(['history', 'cli-approve'])).stdout).toMatch(/TaskStateEntered\s+AwaitCutoverApproval/);
    expect(await bed.cname('orders.example.internal.')).toMatch(/^orders-atrest\./);
  });

  it('reject rolls the migration back; watch then exits 3 with the runbook link', async () => {
    await bed.sandbox.reset(fleet());
    await cli(
      ['start', '--input', '-', '--name', 'cli-reject'],
      input({ approvals: { beforeCutover: true } }),
    );
    await waitUntil('cli-reject', (s) => s.waitingFor !== undefined);
    const rejected = await cli(['reject', 'cli-reject', '--reason', 'not tonight']);
    expect(rejected.code, rejected.stderr).toBe(0);
    expect(rejected.stdout).toContain('rolls back');
    const watched = await cli(['watch', 'cli-reject', '-o', 'json']);
    expect(watched.code).toBe(3);
    expect(json(watched)).toMatchObject({
      status: 'FAILED',
      error: 'ApprovalRejectedError',
      runbook: 'runbooks/failures.md#approvalrejectederror',
    });
    expect(String(json(watched).cause)).toContain('test-operator: not tonight');
    expect(await bed.groupIds()).toEqual(['orders', 'sessions']);
  });

  it('cancel at a gate fails the gate into the rollback', async () => {
    await bed.sandbox.reset(fleet());
    await cli(
      ['start', '--input', '-', '--name', 'cli-cancel-gate'],
      input({ approvals: { beforeCutover: true } }),
    );
    await waitUntil('cli-cancel-gate', (s) => s.waitingFor !== undefined);
    const cancelled = await cli(['cancel', 'cli-cancel-gate', '--wait', '-o', 'json']);
    expect(cancelled.code, cancelled.stdout).toBe(0);
    expect(json(cancelled)).toMatchObject({ cancelled: 'gate-rejected', rolledBack: true });
    expect(await bed.groupIds()).toEqual(['orders', 'sessions']);
    expect(await bed.snapshotNames()).toEqual([]);
    expect(await bed.sandbox.dynamodb.claims()).toEqual([]);
  });

  it('cancel mid-step stops the execution and RollbackStoppedMigration leaves nothing behind', async () => {
    // A large source: its snapshot takes about 10 s at the test's time scale, so the execution is
    // in the snapshot's wait loop when it is cancelled.
    await bed.sandbox.reset(fleet({ orders: { dataSizeMb: 600_000 } }));
    const before = await bed.cname('orders.example.internal.');
    await cli(['start', '--input', '-', '--name', 'cli-cancel-step'], input());
    await waitUntil('cli-cancel-step', (s) =>
      (s.steps as { name: string }[]).some((step) => step.name === 'WaitForSnapshot'),
    );
    const cancelled = await cli(['cancel', 'cli-cancel-step', '--wait', '--reason', 'wrong group']);
    expect(cancelled.code, cancelled.stdout + cancelled.stderr).toBe(0);
    expect(cancelled.stdout).toContain('Rolled back: nothing is left behind');
    const status = json(await cli(['status', 'cli-cancel-step', '-o', 'json']));
    expect(status).toMatchObject({
      status: 'ABORTED',
      error: 'MigrationCancelledError',
      rollback: { status: 'SUCCEEDED' },
    });
    expect(status.cause).toContain('test-operator: wrong group');
    expect(await bed.groupIds()).toEqual(['orders', 'sessions']);
    expect(await bed.snapshotNames()).toEqual([]);
    expect(await bed.cname('orders.example.internal.')).toBe(before);
    expect(await bed.sandbox.dynamodb.claims()).toEqual([]);

    const notRunning = await cli(['cancel', 'cli-cancel-step']);
    expect(notRunning.code).toBe(5);
  });

  it('says which migration does not exist (exit 4)', async () => {
    const out = await cli(['status', 'never-started']);
    expect(out.code).toBe(4);
    expect(out.stderr).toContain('No migration never-started');
    expect(json(await cli(['status', 'never-started', '-o', 'json']))).toMatchObject({ exitCode: 4 });
  });
});
