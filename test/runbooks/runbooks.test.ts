import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * Runbooks that run: every fenced `sh` block of each runbook is executed, in order and in one
 * bash shell (variables carry from block to block, `set -euo pipefail`), against a sandbox
 * started as an operator starts it (`npm run sandbox`, Redis data plane) with the variables a
 * runbook asks for bound from it. Other blocks (`text`, `json`) are shown, not run: they hold what
 * only exists on AWS (stack outputs, the console) or commands whose moment has passed.
 *
 * The AWS CLI is Debian's v2.9 (/usr/bin/aws), which ignores AWS_ENDPOINT_URL: `aws` is a shell
 * function adding `--endpoint-url`, as each runbook tells an operator rehearsing on the sandbox.
 */

/** The `sh` blocks of a Markdown file, in order. */
function shellBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```sh\n([\s\S]*?)^```\s*$/gm)].map((m) => m[1] ?? '');
}

interface StartedSandbox {
  child: ChildProcess;
  env: Record<string, string>;
}

/** `npm run sandbox -- ...` as a child process; resolves with the variables it prints. */
function startSandbox(): Promise<StartedSandbox> {
  // tsx itself (not npx): it passes SIGTERM on, so the sandbox stops its redis-servers.
  const child = spawn(
    'node_modules/.bin/tsx',
    [
      'sandbox/cli.ts',
      '--fixture',
      'sandbox/fixtures/example.yaml',
      '--data-plane',
      'redis',
      '--time-scale',
      '0.001',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'ERROR' } },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (d) => {
      err += String(d);
    });
    child.stdout?.on('data', (d) => {
      out += String(d);
      if (!out.includes('# Ctrl-C to stop.')) return;
      const env: Record<string, string> = {};
      for (const [, name, value] of out.matchAll(/^export (\w+)=(.*)$/gm)) {
        env[name as string] = (value as string).replace(/^'(.*)'$/, '$1');
      }
      resolve({ child, env });
    });
    child.once('exit', (code) => reject(new Error(`the sandbox exited (${code}): ${err}`)));
  });
}

function stopSandbox(sandbox: StartedSandbox): Promise<void> {
  return new Promise((resolve) => {
    if (sandbox.child.exitCode !== null) return resolve();
    sandbox.child.once('exit', () => resolve());
    sandbox.child.kill('SIGTERM');
  });
}

const PREAMBLE = `set -euo pipefail
aws() { command /usr/bin/aws --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }
`;

/** Runs a runbook's blocks in one bash; resolves with the exit code and the output. */
function runRunbook(file: string, env: Record<string, string>) {
  const blocks = shellBlocks(readFileSync(file, 'utf8'));
  const script =
    PREAMBLE +
    blocks.map((block, i) => `echo "### ${file} block ${i + 1}/${blocks.length}"\n${block}`).join('\n');
  return new Promise<{ code: number; output: string; blocks: number }>((resolve) => {
    execFile(
      'bash',
      ['-c', script],
      {
        timeout: 240_000,
        maxBuffer: 16 * 1024 * 1024,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: process.env.HOME ?? '/tmp',
          AWS_PAGER: '',
          ...env,
        },
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, output: `${stdout}\n${stderr}`, blocks: blocks.length });
      },
    );
  });
}

let sandbox: StartedSandbox | undefined;
afterEach(async () => {
  if (sandbox) await stopSandbox(sandbox);
  sandbox = undefined;
});

/** Each runbook, with what its run must show besides exiting 0. */
const RUNBOOKS: Record<string, RegExp[]> = {
  'runbooks/start-via-api.md': [
    /orders-cache-plan-\d{8}-\d{6}: SUCCEEDED/,
    /orders-cache-\d{8}-\d{6}: SUCCEEDED/,
  ],
  'runbooks/start-from-console.md': [/"outcome": "planned"/, /"outcome": "migrated"/, /FreezeAndFlip/],
  'runbooks/start-via-cli.md': [
    /Approved beforeSnapshot/,
    /Approved beforeDeleteSource/,
    /ExecutionSucceeded/,
  ],
  'runbooks/approvals.md': [
    /waits at beforeSnapshot/,
    /waits at beforeCutover/,
    /waits at beforeDeleteSource/,
    /"decision": "rejected"/,
    /"cancelled": "gate-rejected"/,
    /"error": "MigrationCancelledError"/,
  ],
  'runbooks/scheduled-batch.md': [
    /Plan of batch plan-\d{8}-\d{6} \(dry run: nothing was started or changed\)/,
    /catalog-cluster → catalog-cluster-atrest: redis, 6 nodes, 1 DNS record\(s\) to move/,
    /orders-cache → orders-cache-atrest: redis, 3 nodes, 1 DNS record\(s\) to move/,
    /download: s3:\/\/at-rest-migrator-reports\/fleet-reports\/plan-\d{8}-\d{6}\/report\.html to /,
    /Batch (night-\d{8}-\d{6}), execution \1: SUCCEEDED in .*\n.*\n.*2 SUCCEEDED\n(.*\n){2} {2}Outcomes: 2 migrated\n/,
    /night-\d{8}-\d{6}-catalog-cluster\tSUCCEEDED\nnight-\d{8}-\d{6}-orders-cache\tSUCCEEDED/,
    /\{"batchId":"night-\d{8}-\d{6}-next","counts":\{\}\}/,
    /Batch (night-\d{8}-\d{6}), execution \1-report: SUCCEEDED/,
  ],
};

describe('runbooks', () => {
  it('finds run blocks in every runbook of a way to start a migration or a batch', () => {
    for (const file of [
      'runbooks/start-from-console.md',
      'runbooks/start-via-api.md',
      'runbooks/start-via-cli.md',
      'runbooks/approvals.md',
      'runbooks/scheduled-batch.md',
    ]) {
      expect(shellBlocks(readFileSync(file, 'utf8')).length, file).toBeGreaterThan(2);
    }
  });

  it.each(Object.entries(RUNBOOKS))(
    '%s runs against the sandbox, every sh block in order',
    async (file, expected) => {
      sandbox = await startSandbox();
      const run = await runRunbook(file, {
        ...sandbox.env,
        STATE_MACHINE_ARN: `arn:aws:states:${sandbox.env.AWS_REGION}:123456789012:stateMachine:MigrateReplicationGroup`,
      });
      expect(run.code, run.output).toBe(0);
      expect(run.output).toContain(`block ${run.blocks}/${run.blocks}`);
      for (const pattern of expected) expect(run.output).toMatch(pattern);
    },
    300_000,
  );
});
