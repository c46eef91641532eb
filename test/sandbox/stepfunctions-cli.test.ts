/**
 * Step Functions in the sandbox, driven by the AWS CLI v2 (botocore, an independent client of the
 * awsJson1_0 wire format): the real state machine with the real handlers, a gate answered with
 * send-task-success, and a stop-execution that ends in a clean rollback.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fleet, startWorkflowBed, type WorkflowBed, ZONE_ID } from '../support/workflow.js';
import { awsCli } from './aws-cli-support.js';

let bed: WorkflowBed;
const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:MigrateReplicationGroup';
const ROLLBACK = 'arn:aws:states:us-east-1:123456789012:stateMachine:RollbackStoppedMigration';
const executionArn = (name: string) =>
  `arn:aws:states:us-east-1:123456789012:execution:MigrateReplicationGroup:${name}`;

beforeAll(async () => {
  bed = await startWorkflowBed(fleet());
});
afterAll(() => bed.stop());
beforeEach(() => bed.sandbox.reset(fleet()));

const input = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    sourceReplicationGroupId: 'orders',
    dnsRecords: [{ hostedZoneId: ZONE_ID, recordName: 'orders.example.internal', endpoint: 'primary' }],
    verification: { mode: 'off' },
    pollIntervalSeconds: 1,
    ...extra,
  });

async function start(name: string, extra: Record<string, unknown> = {}) {
  const out = await awsCli(bed.sandbox, [
    'stepfunctions',
    'start-execution',
    '--state-machine-arn',
    MACHINE,
    '--name',
    name,
    '--input',
    input(extra),
  ]);
  expect(out.code, out.stderr).toBe(0);
  expect(out.json?.executionArn).toBe(executionArn(name));
}

async function describe_(arn: string) {
  const out = await awsCli(bed.sandbox, ['stepfunctions', 'describe-execution', '--execution-arn', arn]);
  expect(out.code, out.stderr).toBe(0);
  return out.json as { status: string; error?: string; cause?: string; output?: string; input: string };
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function history(arn: string) {
  const out = await awsCli(bed.sandbox, ['stepfunctions', 'get-execution-history', '--execution-arn', arn]);
  expect(out.code, out.stderr).toBe(0);
  return (out.json as { events: Record<string, unknown>[] }).events;
}

/** The task token of the gate waiting now, as an operator would read it from the history. */
async function waitingToken(arn: string): Promise<string> {
  const events = await until(
    () => history(arn),
    (events) => events.some((e) => e.type === 'TaskSubmitted'),
    'a gate to wait',
  );
  const scheduled = events.filter((e) => e.type === 'TaskScheduled').at(-1) as {
    taskScheduledEventDetails: { resource: string; parameters: string };
  };
  expect(scheduled.taskScheduledEventDetails.resource).toBe('invoke.waitForTaskToken');
  return (JSON.parse(scheduled.taskScheduledEventDetails.parameters) as { Payload: { taskToken: string } })
    .Payload.taskToken;
}

describe('Step Functions through the AWS CLI', () => {
  it('lists the deployed workflows under their deployment names', async () => {
    const out = await awsCli(bed.sandbox, ['stepfunctions', 'list-state-machines']);
    expect(out.code, out.stderr).toBe(0);
    const names = ((out.json?.stateMachines ?? []) as { name: string }[]).map((m) => m.name).sort();
    expect(names).toEqual(['MigrateFleet', 'MigrateReplicationGroup', 'RollbackStoppedMigration']);
  });

  it('start-execution runs the real workflow to SUCCEEDED, with a history in AWS shapes', async () => {
    await start('cli-happy');
    const done = await until(
      () => describe_(executionArn('cli-happy')),
      (e) => e.status !== 'RUNNING',
      'the migration to end',
    );
    expect(done.status, done.cause).toBe('SUCCEEDED');
    expect(JSON.parse(done.output!).target.id).toBe('orders-atrest');
    expect(await bed.groupIds()).toEqual(['orders-atrest', 'sessions']);
    expect(await bed.cname('orders.example.internal.')).toMatch(/^orders-atrest\./);

    const events = await history(executionArn('cli-happy'));
    expect(events[0]).toMatchObject({ id: 1, previousEventId: 0, type: 'ExecutionStarted' });
    events.forEach((e, i) => {
      expect(e.id).toBe(i + 1);
      expect(e.previousEventId).toBe(i);
      // botocore parsed the epoch seconds on the wire as a timestamp (ISO 8601 in its JSON).
      expect(Date.parse(String(e.timestamp))).not.toBeNaN();
    });
    const times = events.map((e) => Date.parse(String(e.timestamp)));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const types = events.map((e) => e.type);
    expect(types).toContain('TaskStateEntered');
    expect(types).toContain('TaskScheduled');
    expect(types).toContain('TaskSucceeded');
    expect(types).toContain('ChoiceStateEntered');
    expect(types.at(-1)).toBe('ExecutionSucceeded');
    // Every Task's events come in AWS's order: entered, scheduled, started, succeeded, exited.
    const first = types.indexOf('TaskStateEntered');
    expect(types.slice(first, first + 5)).toEqual([
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
    ]);
  });

  it('send-task-success answers a gate; the same token again is TaskTimedOut', async () => {
    await start('cli-gate', { approvals: { beforeCutover: true } });
    const token = await waitingToken(executionArn('cli-gate'));
    expect(token.length).toBeGreaterThan(100);
    expect(token.length).toBeLessThanOrEqual(2048);
    // Before the answer the records still point at the source.
    expect(await bed.cname('orders.example.internal.')).toMatch(/^orders\./);
    const ok = await awsCli(bed.sandbox, [
      'stepfunctions',
      'send-task-success',
      '--task-token',
      token,
      '--task-output',
      '{"approved":true}',
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    const done = await until(
      () => describe_(executionArn('cli-gate')),
      (e) => e.status !== 'RUNNING',
      'the migration to end',
    );
    expect(done.status, done.cause).toBe('SUCCEEDED');
    const again = await awsCli(bed.sandbox, [
      'stepfunctions',
      'send-task-success',
      '--task-token',
      token,
      '--task-output',
      '{"approved":true}',
    ]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('TaskTimedOut');
    const forged = await awsCli(bed.sandbox, [
      'stepfunctions',
      'send-task-failure',
      '--task-token',
      `${token.slice(0, -4)}AAAA`,
    ]);
    expect(forged.stderr).toContain('InvalidToken');
  });

  it('stop-execution ends in a clean rollback: nothing left behind, source released, DNS as before', async () => {
    const before = await bed.cname('orders.example.internal.');
    await start('cli-stop', { approvals: { beforeCutover: true } });
    // Stopped at the cutover gate: the snapshot and the new group exist, the source is claimed.
    await waitingToken(executionArn('cli-stop'));
    expect(await bed.groupIds()).toContain('orders-atrest');
    const claims = () => bed.sandbox.dynamodb.claims();
    expect(await claims()).toHaveLength(1);

    const stop = await awsCli(bed.sandbox, [
      'stepfunctions',
      'stop-execution',
      '--execution-arn',
      executionArn('cli-stop'),
      '--error',
      'OperatorStopped',
      '--cause',
      'stopped from the console',
    ]);
    expect(stop.code, stop.stderr).toBe(0);
    const stopped = await describe_(executionArn('cli-stop'));
    expect(stopped.status).toBe('ABORTED');
    expect(stopped.error).toBe('OperatorStopped');
    // What the rollback reads to scope itself: the definition the stopped execution ran.
    const machine = await awsCli(bed.sandbox, [
      'stepfunctions',
      'describe-state-machine-for-execution',
      '--execution-arn',
      executionArn('cli-stop'),
    ]);
    expect(machine.code, machine.stderr).toBe(0);
    expect(machine.json).toMatchObject({ stateMachineArn: MACHINE, name: 'MigrateReplicationGroup' });
    const definition = JSON.parse(String(machine.json?.definition)) as { StartAt: string; States: object };
    expect(Object.keys(definition.States)).toContain(definition.StartAt);

    // The deployment's status-change rule starts RollbackStoppedMigration with the event.
    const rollback = await until(
      async () => {
        const out = await awsCli(bed.sandbox, [
          'stepfunctions',
          'list-executions',
          '--state-machine-arn',
          ROLLBACK,
        ]);
        return (out.json?.executions as { executionArn: string; status: string }[]) ?? [];
      },
      (list) => list.length === 1 && list[0]!.status !== 'RUNNING',
      'the rollback of the stopped migration',
    );
    const rolled = await describe_(rollback[0]!.executionArn);
    expect(rolled.status, rolled.cause).toBe('SUCCEEDED');
    expect(JSON.parse(rolled.input).detail).toMatchObject({
      executionArn: executionArn('cli-stop'),
      status: 'ABORTED',
    });
    expect(await bed.groupIds()).toEqual(['orders', 'sessions']);
    expect(await bed.snapshotNames()).toEqual([]);
    expect(await bed.cname('orders.example.internal.')).toBe(before);
    expect(await claims()).toEqual([]);
    const tags = bed.sandbox.elasticache.groups.get('orders')?.tags ?? new Map<string, string>();
    expect([...tags.keys()].filter((k) => k.startsWith('at-rest-migrator'))).toEqual([]);
  });
});
