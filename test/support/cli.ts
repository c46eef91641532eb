/** The project's CLI (bin/at-rest-migrator.mjs) run as a user runs it: a child process. */
import { type ChildProcess, execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/at-rest-migrator.mjs', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI with `env` on top of a bare PATH and HOME (the sandbox's variables, for one), and
 * `stdin` as its input; the promise carries the child process (to read its output as it comes).
 */
export function runCli(
  args: string[],
  options: { env: Record<string, string>; stdin?: string; timeoutMs: number },
): Promise<CliRun> & { child: ChildProcess } {
  let child: ChildProcess | undefined;
  const done = new Promise<CliRun>((resolve) => {
    child = execFile(
      process.execPath,
      [BIN, ...args],
      {
        timeout: options.timeoutMs,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...options.env },
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
    if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  });
  return Object.assign(done, { child: child as unknown as ChildProcess });
}

/** The JSON a run printed (`--output json`). */
export const cliJson = (run: CliRun) => JSON.parse(run.stdout) as Record<string, unknown>;
