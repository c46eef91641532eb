/**
 * What the sandbox's Step Functions fills in where the local engine differs from AWS
 * (docs/stepfunctions-sandbox.md): a task token per task attempt, HeartbeatSeconds, StartExecution
 * idempotency, definitions the engine cannot run, and history without data. Driven through the
 * SDK's SFNClient over the wire.
 */
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Clock } from '../../sandbox/clock.js';
import { FaultInjector } from '../../sandbox/faults.js';
import { SandboxServer } from '../../sandbox/server.js';
import { stepFunctionsService } from '../../sandbox/services/stepfunctions/service.js';
import { StepFunctionsStore } from '../../sandbox/services/stepfunctions/store.js';

const ASK = 'arn:aws:lambda:us-east-1:123456789012:function:ask';
const ROLE = 'arn:aws:iam::123456789012:role/test';
const asked: { token: string; gate: string }[] = [];

let server: SandboxServer;
let sfn: SFNClient;

beforeAll(async () => {
  const ctx = {
    region: 'us-east-1',
    accountId: '123456789012',
    clock: new Clock(1),
    faults: new FaultInjector(),
  };
  const store = new StepFunctionsStore(ctx, {
    timeScale: 1,
    functions: async () => ({
      [ASK]: async (event: { taskToken: string; gate: string }) => {
        asked.push({ token: event.taskToken, gate: event.gate });
        return { asked: true };
      },
    }),
  });
  server = new SandboxServer([stepFunctionsService(ctx, store)]);
  const endpoint = await server.listen();
  sfn = new SFNClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
});
afterAll(() => server.close());

const gate = (name: string, next: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  Type: 'Task',
  Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
  Parameters: { FunctionName: ASK, Payload: { 'taskToken.$': '$$.Task.Token', gate: name } },
  ResultPath: `$.${name}`,
  ...next,
  ...extra,
});

async function machine(name: string, states: Record<string, unknown>, startAt: string) {
  const out = await sfn.send(
    new CreateStateMachineCommand({
      name,
      roleArn: ROLE,
      definition: JSON.stringify({ StartAt: startAt, States: states }),
    }),
  );
  return out.stateMachineArn!;
}

async function ended(executionArn: string) {
  for (let i = 0; i < 200; i++) {
    const e = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (e.status !== 'RUNNING') return e;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('still running');
}

/** The next task the function was asked for (`count` asks in all so far). */
async function nextAsk(count: number, executionArn: string | undefined) {
  for (let i = 0; i < 200 && asked.length < count; i++)
    await new Promise((resolve) => setTimeout(resolve, 20));
  const ask = asked[count - 1];
  if (ask) return ask;
  const e = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  throw new Error(`no task asked (${asked.length} so far): ${e.status} ${e.error ?? ''} ${e.cause ?? ''}`);
}

describe('Step Functions in the sandbox', () => {
  it('gives every task its own opaque token, as AWS does (the engine has one placeholder)', async () => {
    const arn = await machine(
      'TwoGates',
      { First: gate('first', { Next: 'Second' }), Second: gate('second', { End: true }) },
      'First',
    );
    const before = asked.length;
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, input: '{}' }));
    const first = await nextAsk(before + 1, executionArn);
    await sfn.send(new SendTaskSuccessCommand({ taskToken: first.token, output: '{"ok":1}' }));
    const second = await nextAsk(before + 2, executionArn);
    expect(second.token).not.toBe(first.token);
    expect(second.token.length).toBeLessThanOrEqual(2048);
    expect(second.token).toMatch(/^[A-Za-z0-9+/=]+$/);
    await sfn.send(new SendTaskSuccessCommand({ taskToken: second.token, output: '{"ok":2}' }));
    const done = await ended(executionArn!);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output!)).toEqual({ first: { ok: 1 }, second: { ok: 2 } });
  });

  it('times a task out after HeartbeatSeconds without a heartbeat, and heartbeats keep it alive', async () => {
    const arn = await machine(
      'Heartbeat',
      { Wait: gate('beat', { End: true }, { HeartbeatSeconds: 1 }) },
      'Wait',
    );
    let before = asked.length;
    const silent = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, input: '{}' }));
    await nextAsk(before + 1, silent.executionArn);
    const timedOut = await ended(silent.executionArn!);
    expect(timedOut).toMatchObject({ status: 'FAILED', error: 'States.HeartbeatTimeout' });

    before = asked.length;
    const kept = await sfn.send(new StartExecutionCommand({ stateMachineArn: arn, input: '{}' }));
    const { token } = await nextAsk(before + 1, kept.executionArn);
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 400));
      await sfn.send(new SendTaskHeartbeatCommand({ taskToken: token }));
    }
    await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }));
    expect((await ended(kept.executionArn!)).status).toBe('SUCCEEDED');
    const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn: timedOut.executionArn }));
    expect(history.events?.map((e) => e.type)).toContain('TaskTimedOut');
  });

  it('starts the same execution again for the same name and input, and refuses another input or a bad name', async () => {
    const arn = await machine('Idempotent', { Wait: gate('idem', { End: true }) }, 'Wait');
    const a = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: arn, name: 'once', input: '{"a":1}' }),
    );
    const b = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: arn, name: 'once', input: '{"a":1}' }),
    );
    expect(b.executionArn).toBe(a.executionArn);
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'once', input: '{"a":2}' })),
    ).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'has space', input: '{}' })),
    ).rejects.toMatchObject({ name: 'InvalidName' });
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'bad-json', input: '{' })),
    ).rejects.toMatchObject({ name: 'InvalidExecutionInput' });
  });

  it('refuses a definition the local engine cannot run, naming the state', async () => {
    await expect(
      machine(
        'Sqs',
        { Send: { Type: 'Task', Resource: 'arn:aws:states:::sqs:sendMessage', End: true } },
        'Send',
      ),
    ).rejects.toMatchObject({ name: 'InvalidDefinition', message: expect.stringContaining('state Send') });
    await expect(machine('Broken', { A: { Type: 'Nope' } }, 'A')).rejects.toMatchObject({
      name: 'InvalidDefinition',
    });
  });

  it('leaves input, output and parameters out of the history when asked (includeExecutionData=false)', async () => {
    const arn = await machine('Data', { Pass: { Type: 'Pass', Result: { secret: 'x' }, End: true } }, 'Pass');
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: arn, input: '{"in":1}' }),
    );
    await ended(executionArn!);
    const full = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    expect(JSON.stringify(full.events)).toContain('secret');
    const bare = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn, includeExecutionData: false }),
    );
    expect(bare.events?.map((e) => e.type)).toEqual(full.events?.map((e) => e.type));
    expect(JSON.stringify(bare.events)).not.toContain('secret');
    expect(JSON.stringify(bare.events)).not.toContain('"in"');
  });
});
