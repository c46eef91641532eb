import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFixtureFile, type Sandbox, startSandbox } from '../../sandbox/index.js';

/**
 * The migrations API handlers against the sandbox's Step Functions, called as an operator calls
 * the deployed API: curl signing with SigV4 (`--aws-sigv4`) at MIGRATIONS_API_URL.
 */
const SECRET = 'Sandbox-Secret-Key-Not-For-History';
let sandbox: Sandbox;
let sfn: SFNClient;

beforeAll(async () => {
  sandbox = await startSandbox({
    fixture: loadFixtureFile('sandbox/fixtures/example.yaml'),
    timeScale: 0.001,
  });
  sfn = new SFNClient({ endpoint: sandbox.endpoint, region: sandbox.region });
});
afterAll(async () => {
  sfn.destroy();
  await sandbox.stop();
});

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

function curl(method: string, path: string, body?: string, signed = true): Promise<Reply> {
  const args = ['-s', '-X', method, '-w', '\n%{http_code}', `${sandbox.env.MIGRATIONS_API_URL}${path}`];
  if (signed)
    args.push('--aws-sigv4', `aws:amz:${sandbox.region}:execute-api`, '--user', `AKIDSANDBOX:${SECRET}`);
  if (body !== undefined) args.push('-H', 'content-type: application/json', '--data-binary', body);
  return new Promise((resolve, reject) => {
    execFile('curl', args, { timeout: 30_000 }, (error, stdout) => {
      if (error) return reject(error);
      const cut = stdout.lastIndexOf('\n');
      resolve({ status: Number(stdout.slice(cut + 1)), body: JSON.parse(stdout.slice(0, cut)) });
    });
  });
}

async function until(
  id: string,
  done: (m: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { body } = await curl('GET', `/migrations/${id}`);
    if (done(body)) return body;
    if (Date.now() > deadline) throw new Error(`migration ${id} never got there: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const example = (name: string) => readFileSync(`examples/${name}`, 'utf8');

describe('the migrations API on the sandbox', () => {
  it('refuses an unsigned request as API Gateway does', async () => {
    expect(await curl('GET', '/migrations', undefined, false)).toEqual({
      status: 403,
      body: { message: 'Missing Authentication Token' },
    });
  });

  it('refuses a body the model refuses, naming each field, and starts nothing', async () => {
    const { status, body } = await curl(
      'POST',
      '/migrations',
      JSON.stringify({ sourceReplicationGroupId: 'orders-cache', dnsRecords: [{ endpoint: 'writer' }] }),
    );
    expect(status).toBe(400);
    expect(String(body.validationErrors)).toMatch(/dnsRecords\/0.*hostedZoneId/);
    expect(String(body.validationErrors)).toMatch(/\/dnsRecords\/0\/endpoint/);
    expect((await curl('GET', '/migrations')).body.migrations).toEqual([]);
  });

  it('runs a dry run to SUCCEEDED and returns the plan with the step timings', async () => {
    const started = await curl('POST', '/migrations?name=api-dry-run', example('dry-run.json'));
    expect(started.status).toBe(201);
    const done = await until('api-dry-run', (m) => m.status !== 'RUNNING');
    expect(done.status).toBe('SUCCEEDED');
    expect((done.output as { outcome: string }).outcome).toBe('planned');
    expect((done.steps as Array<{ name: string; durationMs: number }>)[0]?.durationMs).toBeGreaterThan(0);
    const list = await curl('GET', '/migrations?status=succeeded');
    expect(list.body.migrations).toEqual([expect.objectContaining({ migrationId: 'api-dry-run' })]);
  });

  it('finds the waiting gate, refuses a second start for the source, and rejects into a rollback', async () => {
    await curl('POST', '/migrations?name=api-gate', example('with-approvals.json'));
    const waiting = await until('api-gate', (m) => m.waitingFor !== undefined);
    expect(waiting.waitingFor).toMatchObject({ gate: 'beforeSnapshot' });
    expect(JSON.stringify(waiting)).not.toContain('taskToken');

    const duplicate = await curl('POST', '/migrations', example('standard-with-dns.json'));
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error).toBe('MigrationInProgressError');
    expect(String(duplicate.body.message)).toContain("execution 'api-gate'");

    const rejected = await curl('POST', '/migrations/api-gate/reject', '{"reason":"change freeze"}');
    expect(rejected).toMatchObject({ status: 200, body: { decision: 'rejected', gate: 'beforeSnapshot' } });
    const ended = await until('api-gate', (m) => m.status !== 'RUNNING');
    expect(ended).toMatchObject({ status: 'FAILED', error: 'ApprovalRejectedError' });
    expect(String(ended.cause)).toContain('change freeze');
    expect(await sandbox.dynamodb.claims()).toEqual([]);
    expect((await curl('POST', '/migrations/api-gate/approve')).status).toBe(409);

    // Nothing of the caller's request but the body reached the execution's history.
    const history = await sfn.send(
      new GetExecutionHistoryCommand({
        executionArn: String(waiting.executionArn),
        includeExecutionData: true,
      }),
    );
    const text = JSON.stringify(history.events);
    for (const leak of [SECRET, 'AWS4-HMAC-SHA256', 'AKIDSANDBOX/', 'authorization', 'x-amz-date']) {
      expect(text.toLowerCase()).not.toContain(leak.toLowerCase());
    }
  });

  it('approves a gate: the migration goes on past it', async () => {
    await curl('POST', '/migrations?name=api-approve', example('with-approvals.json'));
    await until(
      'api-approve',
      (m) => (m.waitingFor as { gate?: string } | undefined)?.gate === 'beforeSnapshot',
    );
    const approved = await curl('POST', '/migrations/api-approve/approve', '{"reason":"go"}');
    expect(approved.body).toMatchObject({ decision: 'approved', gate: 'beforeSnapshot' });
    const moved = await until(
      'api-approve',
      (m) => (m.steps as Array<{ name: string }>).length > 2 || m.status !== 'RUNNING',
    );
    const names = (moved.steps as Array<{ name: string }>).map((s) => s.name);
    expect(names.indexOf('AwaitSnapshotApproval')).toBeGreaterThan(-1);
    expect(names.length).toBeGreaterThan(names.indexOf('AwaitSnapshotApproval') + 1);
    // Groups without data (the null data plane) cannot be caught up: it rolls back by itself.
    await until('api-approve', (m) => m.status !== 'RUNNING');
  });

  it('cancels a migration at a gate into its own rollback, naming who and why', async () => {
    const clusterWithGate = {
      ...JSON.parse(example('cluster-mode.json')),
      approvals: { beforeSnapshot: true },
    };
    await curl('POST', '/migrations?name=api-cancel', JSON.stringify(clusterWithGate));
    await until('api-cancel', (m) => m.waitingFor !== undefined);
    const cancelled = await curl('POST', '/migrations/api-cancel/cancel', '{"reason":"wrong group"}');
    expect(cancelled).toMatchObject({
      status: 200,
      body: { cancelled: 'gate-rejected', stoppedIn: 'AwaitSnapshotApproval' },
    });
    const ended = await until('api-cancel', (m) => m.status !== 'RUNNING');
    expect(ended).toMatchObject({ status: 'FAILED', error: 'MigrationCancelledError' });
    expect(String(ended.cause)).toContain('wrong group');
    expect(await sandbox.dynamodb.claims()).toEqual([]);
    expect((await curl('POST', '/migrations/api-cancel/cancel')).status).toBe(409);
    expect((await curl('GET', '/migrations/no-such-migration')).status).toBe(404);
  });

  it('cancels a migration between gates with StopExecution', async () => {
    await curl('POST', '/migrations?name=api-stop', example('standard-with-dns.json'));
    await until('api-stop', (m) => (m.steps as unknown[]).length > 0);
    const cancelled = await curl('POST', '/migrations/api-stop/cancel', '{"reason":"incident"}');
    expect(cancelled).toMatchObject({ status: 200, body: { cancelled: 'stopped' } });
    const ended = await until('api-stop', (m) => m.status !== 'RUNNING');
    expect(ended).toMatchObject({ status: 'ABORTED', error: 'MigrationCancelledError' });
  });
});
