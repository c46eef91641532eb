import * as sfnModel from '@aws-sdk/client-sfn';
import { AwsFault } from '../../protocol/errors.js';
import { jsonProtocol } from '../../protocol/json.js';
import { collectSchemas } from '../../protocol/schema.js';
import type { SandboxContext, ServiceDefinition } from '../types.js';
import { withoutData } from './history.js';
import type { ExecutionRecord, ExecutionStatus, StepFunctionsStore } from './store.js';

const STATUSES: ExecutionStatus[] = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];

/** nextToken is an opaque offset into the listing. */
/** maxResults up to 1000; `cap` (the fixture's pageSize) shortens every page further. */
function page<T>(
  items: T[],
  input: { maxResults?: number; nextToken?: string },
  defaultMax: number,
  cap = Number.POSITIVE_INFINITY,
) {
  const max = Math.min(
    input.maxResults && input.maxResults > 0 ? Math.min(input.maxResults, 1000) : defaultMax,
    cap,
  );
  let start = 0;
  if (input.nextToken) {
    start = Number(Buffer.from(input.nextToken, 'base64').toString('utf8'));
    if (!Number.isInteger(start) || start < 0 || start > items.length)
      throw new AwsFault('InvalidToken', `Invalid Token: '${input.nextToken}'`);
  }
  const slice = items.slice(start, start + max);
  const next = start + max < items.length ? Buffer.from(String(start + max)).toString('base64') : undefined;
  return { slice, next };
}

function executionItem(e: ExecutionRecord) {
  return {
    executionArn: e.executionArn,
    stateMachineArn: e.stateMachineArn,
    name: e.name,
    status: e.status,
    startDate: e.startDate,
    ...(e.stopDate ? { stopDate: e.stopDate } : {}),
  };
}

/**
 * Step Functions over its real protocol (awsJson1_0, `X-Amz-Target: AWSStepFunctions.<Op>`,
 * signing name `states`), so the SDK's SFNClient and `aws stepfunctions` talk to it unchanged.
 */
export function stepFunctionsService(ctx: SandboxContext, store: StepFunctionsStore): ServiceDefinition {
  return {
    signingName: 'states',
    faults: ctx.faults,
    wire: jsonProtocol({
      schemas: collectSchemas(sfnModel),
      targetPrefix: 'AWSStepFunctions',
      version: '1.0',
    }),
    operations: {
      CreateStateMachine(input: { name?: string; definition?: string; roleArn?: string; type?: string }) {
        if (!input.name || !input.definition || !input.roleArn)
          throw new AwsFault('ValidationException', 'name, definition and roleArn are required.');
        if (input.type && input.type !== 'STANDARD')
          throw new AwsFault(
            'StateMachineTypeNotSupported',
            `The sandbox runs STANDARD state machines only, got '${input.type}'.`,
          );
        const machine = store.addMachine(input.name, input.definition, input.roleArn);
        return { stateMachineArn: machine.arn, creationDate: machine.creationDate };
      },
      DescribeStateMachine(input: { stateMachineArn?: string }) {
        const m = store.machine(input.stateMachineArn);
        return {
          stateMachineArn: m.arn,
          name: m.name,
          status: 'ACTIVE',
          definition: m.definition,
          roleArn: m.roleArn,
          type: 'STANDARD',
          creationDate: m.creationDate,
          loggingConfiguration: { level: 'OFF', includeExecutionData: false },
          tracingConfiguration: { enabled: false },
        };
      },
      DescribeStateMachineForExecution(input: { executionArn?: string }) {
        const e = store.execution(input.executionArn);
        const m = store.machine(e.stateMachineArn);
        return {
          stateMachineArn: m.arn,
          name: m.name,
          definition: m.definition,
          roleArn: m.roleArn,
          updateDate: m.creationDate,
        };
      },
      ListStateMachines(input: { maxResults?: number; nextToken?: string }) {
        const all = [...store.machines.values()];
        const { slice, next } = page(all, input, 100, ctx.pageSize);
        return {
          stateMachines: slice.map((m) => ({
            stateMachineArn: m.arn,
            name: m.name,
            type: 'STANDARD',
            creationDate: m.creationDate,
          })),
          ...(next ? { nextToken: next } : {}),
        };
      },
      StartExecution(input: { stateMachineArn?: string; name?: string; input?: string }) {
        const e = store.start(input.stateMachineArn, input.name, input.input);
        return { executionArn: e.executionArn, startDate: e.startDate };
      },
      DescribeExecution(input: { executionArn?: string }) {
        const e = store.execution(input.executionArn);
        return {
          ...executionItem(e),
          input: e.input,
          inputDetails: { included: true },
          ...(e.output !== undefined ? { output: e.output, outputDetails: { included: true } } : {}),
          ...(e.error !== undefined ? { error: e.error } : {}),
          ...(e.cause !== undefined ? { cause: e.cause } : {}),
        };
      },
      ListExecutions(input: {
        stateMachineArn?: string;
        statusFilter?: string;
        maxResults?: number;
        nextToken?: string;
      }) {
        const machine = store.machine(input.stateMachineArn);
        if (input.statusFilter && !STATUSES.includes(input.statusFilter as ExecutionStatus))
          throw new AwsFault('ValidationException', `Invalid statusFilter '${input.statusFilter}'.`);
        // Newest first, as AWS lists them.
        const all = [...store.executions.values()]
          .filter((e) => e.stateMachineArn === machine.arn)
          .filter((e) => !input.statusFilter || e.status === input.statusFilter)
          .reverse();
        const { slice, next } = page(all, input, 100, ctx.pageSize);
        return { executions: slice.map(executionItem), ...(next ? { nextToken: next } : {}) };
      },
      GetExecutionHistory(input: {
        executionArn?: string;
        maxResults?: number;
        reverseOrder?: boolean;
        nextToken?: string;
        includeExecutionData?: boolean;
      }) {
        const e = store.execution(input.executionArn);
        let events = [...store.history(e)];
        if (input.reverseOrder) events.reverse();
        if (input.includeExecutionData === false) events = events.map(withoutData);
        const { slice, next } = page(events, input, 100, ctx.pageSize);
        return { events: slice, ...(next ? { nextToken: next } : {}) };
      },
      StopExecution(input: { executionArn?: string; error?: string; cause?: string }) {
        return { stopDate: store.stop(input.executionArn, input.error, input.cause) };
      },
      SendTaskSuccess(input: { taskToken?: string; output?: string }) {
        store.sendSuccess(input.taskToken, input.output);
        return {};
      },
      SendTaskFailure(input: { taskToken?: string; error?: string; cause?: string }) {
        store.sendFailure(input.taskToken, input.error, input.cause);
        return {};
      },
      SendTaskHeartbeat(input: { taskToken?: string }) {
        store.heartbeat(input.taskToken);
        return {};
      },
    },
  };
}
