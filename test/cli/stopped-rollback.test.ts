/**
 * `status` and `cancel --wait` of a stopped migration look for the RollbackStoppedMigration
 * execution that EventBridge started for it. In an account with many earlier rollbacks that
 * search must not describe every one of them on every poll: it reads only the executions started
 * since the stop (ListExecutions lists newest first).
 */
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { findStoppedRollback } from '../../cli/aws.js';

const MACHINE = 'arn:aws:states:us-east-1:111111111111:stateMachine:RollbackStoppedMigration';
const STOPPED = 'arn:aws:states:us-east-1:111111111111:execution:MigrateReplicationGroup:m-1';
const STOP = new Date('2026-11-30T05:00:00Z');

/** A Step Functions client over `count` rollback executions, one a minute, newest first. */
function account(executions: { startDate: Date; stopped: string }[]) {
  const calls = { list: 0, describe: 0 };
  const byArn = new Map(
    executions.map((e, i) => [`${MACHINE.replace(':stateMachine:', ':execution:')}:r${i}`, e]),
  );
  const newestFirst = [...byArn.entries()].sort(
    (a, b) => b[1].startDate.getTime() - a[1].startDate.getTime(),
  );
  const client = {
    async send(command: unknown) {
      if (command instanceof ListStateMachinesCommand)
        return { stateMachines: [{ name: 'RollbackStoppedMigration', stateMachineArn: MACHINE }] };
      if (command instanceof ListExecutionsCommand) {
        calls.list++;
        const from = Number(command.input.nextToken ?? 0);
        const page = newestFirst.slice(from, from + 100);
        return {
          executions: page.map(([arn, e]) => ({
            executionArn: arn,
            startDate: e.startDate,
            status: 'SUCCEEDED',
          })),
          ...(from + 100 < newestFirst.length ? { nextToken: String(from + 100) } : {}),
        };
      }
      if (command instanceof DescribeExecutionCommand) {
        calls.describe++;
        const arn = command.input.executionArn as string;
        const e = byArn.get(arn);
        return {
          executionArn: arn,
          status: 'SUCCEEDED',
          input: JSON.stringify({ detail: { executionArn: e?.stopped } }),
        };
      }
      throw new Error(`unexpected ${String(command)}`);
    },
  };
  // An SFNClient (the SDK's paginators check the class) whose send is the fake above.
  return { sfn: Object.assign(Object.create(SFNClient.prototype) as SFNClient, client), calls };
}

const minutes = (n: number) => new Date(STOP.getTime() + n * 60_000);

describe('the rollback of a stopped migration', () => {
  const earlier = Array.from({ length: 1000 }, (_, i) => ({
    startDate: minutes(-1 - i),
    stopped: `old-${i}`,
  }));

  it('is found among a thousand earlier rollbacks by describing only those started since the stop', async () => {
    const { sfn, calls } = account([
      ...earlier,
      { startDate: minutes(0.1), stopped: STOPPED },
      { startDate: minutes(0.2), stopped: 'another' },
    ]);
    const found = await findStoppedRollback(sfn, STOPPED, STOP);
    expect(found?.executionArn).toMatch(/:r1000$/);
    expect(calls.describe).toBe(2);
    expect(calls.list).toBe(1);
  });

  it('is reported not started yet without reading the earlier ones', async () => {
    const { sfn, calls } = account(earlier);
    expect(await findStoppedRollback(sfn, STOPPED, STOP)).toBeUndefined();
    expect(calls.describe).toBe(1); // the first one a minute before the stop, within the slack
    expect(calls.list).toBe(1);
  });

  it('without a stop date still finds it on a later page', async () => {
    const { sfn } = account([{ startDate: minutes(-2000), stopped: STOPPED }, ...earlier]);
    expect((await findStoppedRollback(sfn, STOPPED))?.executionArn).toMatch(/:r0$/);
  });
});
