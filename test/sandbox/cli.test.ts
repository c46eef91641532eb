import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

const CLI = ['--import', 'tsx', 'sandbox/cli.ts'];
const EXAMPLE = 'sandbox/fixtures/example.yaml';

/** Only what a shell needs: no AWS_* variable of the test runner reaches the children. */
const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir() };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion (for arguments that make it exit on its own). */
function runCli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...CLI, ...args],
      { env: baseEnv, timeout: 30_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr });
      },
    );
  });
}

/** Resolves with the CLI's stdout once it has printed its environment block. */
function waitForBanner(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('Ctrl-C to stop')) resolve(stdout);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`CLI exited (${code}) before it was ready:\n${stderr}`)));
  });
}

/** The `export NAME=value` lines, unquoted as a POSIX shell would. */
function parseExports(stdout: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const match of stdout.matchAll(/^export ([A-Z0-9_]+)=(.*)$/gm)) {
    const raw = match[2] ?? '';
    env[match[1]!] = raw.startsWith("'") ? raw.slice(1, -1).replaceAll(`'\\''`, "'") : raw;
  }
  return env;
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

describe('npm run sandbox', () => {
  let cli: ChildProcess | undefined;
  afterEach(() => {
    if (cli && cli.exitCode === null) cli.kill('SIGKILL');
    cli = undefined;
  });

  it('prints environment variables that alone point an SDK client at the sandbox, and stops cleanly on SIGTERM', async () => {
    cli = spawn(process.execPath, [...CLI, '--fixture', EXAMPLE, '--port', '0', '--time-scale', '0'], {
      env: baseEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    cli.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const stdout = await waitForBanner(cli);
    const env = parseExports(stdout);
    expect(env.AWS_ENDPOINT_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(env).toMatchObject({
      AWS_ENDPOINT_URL_ELASTICACHE: env.AWS_ENDPOINT_URL,
      AWS_ENDPOINT_URL_ROUTE_53: env.AWS_ENDPOINT_URL,
      AWS_ENDPOINT_URL_KMS: env.AWS_ENDPOINT_URL,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: env.AWS_ENDPOINT_URL,
      AWS_REGION: 'us-east-1',
    });
    expect(stdout).toMatch(
      /Seeded: 3 replication groups \(11 nodes\), 1 hosted zone \(2 records\), 2 KMS keys, 1 secret/,
    );
    expect(stdout).toMatch(/AWS CLI v2/);

    // A separate process whose SDK client is configured by nothing but the printed variables.
    const script = [
      "import { DescribeReplicationGroupsCommand, ElastiCacheClient } from '@aws-sdk/client-elasticache';",
      'const out = await new ElastiCacheClient({}).send(new DescribeReplicationGroupsCommand({}));',
      'console.log(JSON.stringify(out.ReplicationGroups.map((g) => g.ReplicationGroupId)));',
    ].join('\n');
    const { stdout: ids } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '-e', script],
      {
        env: { ...baseEnv, ...env },
        timeout: 30_000,
      },
    );
    expect(JSON.parse(ids)).toEqual(['orders-cache', 'catalog-cluster', 'sessions-tls']);

    cli.kill('SIGTERM');
    expect(await exited(cli)).toBe(0);
    expect(stderr).toContain('sandbox stopped');
  });

  it('prints its usage with --help and exits 0', async () => {
    const run = await runCli(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Usage: npm run sandbox -- --fixture FILE/);
  });

  describe('refuses bad input with exit status 2 and no stack trace', () => {
    let dir: string | undefined;
    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('names the file, the path inside it and what was expected for a malformed fixture', async () => {
      dir = mkdtempSync(join(tmpdir(), 'sandbox-cli-'));
      const path = join(dir, 'bad.yaml');
      writeFileSync(path, 'elasticache:\n  replicationGroups:\n    - id: orders\n      shards: many\n');
      const run = await runCli(['--fixture', path]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`${path}: elasticache.replicationGroups.0.shards`);
      expect(run.stderr).toMatch(/expected number/);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    });

    it.concurrent.for<[string, string[], RegExp]>([
      ['a missing --fixture', [], /--fixture FILE is required/],
      ['an unknown option', ['--fixture', EXAMPLE, '--verbose'], /Unknown option '--verbose'/],
      ['a port that is not a number', ['--fixture', EXAMPLE, '--port', 'http'], /--port expects an integer/],
      [
        'a negative time scale',
        ['--fixture', EXAMPLE, '--time-scale=-1'],
        /--time-scale expects a number >= 0/,
      ],
      [
        'a fixture file that does not exist',
        ['--fixture', 'nowhere.yaml'],
        /Cannot read fixture file nowhere\.yaml/,
      ],
    ])('explains %s', async ([, args, message], { expect }) => {
      const run = await runCli(args);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    });
  });
});
