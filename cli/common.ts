/** What the CLI's commands share: reading an input file, starting an execution, waiting for its end. */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { describeExecution } from './aws.js';
import { CliError, EXIT } from './errors.js';
import { duration } from './status.js';

/** What a command prints and how it exits. */
export interface Result {
  json: unknown;
  text: string;
  exitCode?: number;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const CLOSED = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);

/** A JSON object from a file (`-`: stdin); `example` says where a valid one is. */
export function readInput(
  file: string,
  example = 'The input is a JSON object such as examples/standard-with-dns.json (README, "Execution input").',
): Record<string, unknown> {
  let text: string;
  try {
    text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(`Cannot read ${file}: ${(error as Error).message}`, EXIT.usage);
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new CliError(
      `${file} is not an execution input: ${(error as Error).message}.`,
      EXIT.usage,
      example,
    );
  }
}

/** `<stamp>-<random>`: two runs in one millisecond (a script, a retry) must not share a name. */
export function uniqueSuffix(date = new Date()): string {
  // A name is kept 90 days and a second StartExecution with it fails with ExecutionAlreadyExists.
  return `${date.toISOString().replace(/[:.]/g, '-')}-${randomBytes(2).toString('hex')}`;
}

/** Starts an execution; `what` names it in errors (a migration, a batch). */
export async function startExecution(
  sfn: SFNClient,
  stateMachineArn: string,
  name: string,
  input: Record<string, unknown>,
  what = 'migration',
): Promise<string> {
  try {
    const out = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
    );
    return out.executionArn!;
  } catch (error) {
    const e = error as Error;
    if (e.name === 'ExecutionAlreadyExists')
      throw new CliError(
        `A ${what} named ${name} exists already.`,
        EXIT.conflict,
        `Names are kept 90 days: choose another --name, or follow the existing one with \`${what === 'batch' ? 'fleet status' : 'status'}\`.`,
      );
    if (e.name === 'InvalidName' || e.name === 'InvalidExecutionInput')
      throw new CliError(`${e.name}: ${e.message}`, EXIT.usage, 'Names: 1-80 letters, digits, - and _.');
    throw error;
  }
}

export async function waitForEnd(
  sfn: SFNClient,
  executionArn: string,
  timeoutMs: number,
  follow = 'Follow it with `watch`.',
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const execution = await describeExecution(sfn, executionArn);
    if (CLOSED.has(execution.status ?? '')) return execution;
    if (Date.now() > deadline)
      throw new CliError(
        `${executionArn.split(':').pop()} is still ${execution.status} after ${duration(timeoutMs)}.`,
        EXIT.failure,
        follow,
      );
    await sleep(500);
  }
}
