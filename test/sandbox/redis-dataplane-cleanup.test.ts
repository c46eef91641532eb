import { execFile, spawn } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startSandbox } from '../../sandbox/index.js';
import { RedisDataPlane } from '../../sandbox/redis/dataplane.js';

const run = promisify(execFile);

/** Pids of processes whose command line holds `tag` (pgrep exits 1 when there is none). */
async function processesTagged(tag: string): Promise<number[]> {
  try {
    const { stdout } = await run('pgrep', ['-f', tag]);
    return stdout.trim().split('\n').filter(Boolean).map(Number);
  } catch (error) {
    if ((error as { code?: number }).code === 1) return [];
    throw error;
  }
}

async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('redis-server processes of the sandbox', () => {
  it('are all gone after stop(), with the data plane directory', async () => {
    const dataPlane = await RedisDataPlane.start();
    const sandbox = await startSandbox({
      dataPlane,
      fixture: { timeScale: 0, elasticache: { replicationGroups: [{ id: 'orders', replicasPerShard: 1 }] } },
    });
    expect(await processesTagged(dataPlane.processTag)).toHaveLength(2);
    await sandbox.stop();
    expect(await processesTagged(dataPlane.processTag)).toEqual([]);
    expect(existsSync(dataPlane.dir)).toBe(false);
  });

  it('are replaced by the nodes of the new fixture on reset()', async () => {
    const dataPlane = await RedisDataPlane.start();
    const sandbox = await startSandbox({
      dataPlane,
      fixture: { timeScale: 0, elasticache: { replicationGroups: [{ id: 'orders', replicasPerShard: 1 }] } },
    });
    try {
      const before = await processesTagged(dataPlane.processTag);
      expect(before).toHaveLength(2);
      await sandbox.reset({
        timeScale: 0,
        elasticache: { replicationGroups: [{ id: 'carts', replicasPerShard: 0 }] },
      });
      const after = await processesTagged(dataPlane.processTag);
      expect(after).toHaveLength(1);
      expect(after.filter((pid) => before.includes(pid))).toEqual([]);
    } finally {
      await sandbox.stop();
    }
  });

  it('are all gone when the process running the sandbox is killed with SIGKILL', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'start-redis-sandbox.ts')],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    for await (const chunk of child.stdout) {
      output += String(chunk);
      if (output.includes('\n')) break;
    }
    const { tag, dir } = JSON.parse(output.trim()) as { tag: string; dir: string };
    expect(await processesTagged(tag)).toHaveLength(2);

    child.kill('SIGKILL');

    expect(
      await eventually(
        () => processesTagged(tag),
        (pids) => pids.length === 0,
      ),
    ).toEqual([]);
    expect(
      await eventually(
        async () => existsSync(dir),
        (exists) => !exists,
      ),
    ).toBe(false);
  });

  it('are all gone after the CLI with --data-plane redis is stopped with SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'redis-dataplane-cli-'));
    const fixture = join(dir, 'fleet.json');
    writeFileSync(
      fixture,
      JSON.stringify({
        elasticache: { replicationGroups: [{ id: 'orders', replicasPerShard: 1, transitEncryption: true }] },
        route53: {
          hostedZones: [
            {
              name: 'example.internal',
              records: [{ name: 'cache.example.internal', values: [{ group: 'orders' }] }],
            },
          ],
        },
      }),
    );
    const cli = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'sandbox/cli.ts',
        '--fixture',
        fixture,
        '--time-scale',
        '0',
        '--data-plane',
        'redis',
      ],
      {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir() },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      let stdout = '';
      for await (const chunk of cli.stdout) {
        stdout += String(chunk);
        if (stdout.includes('Ctrl-C to stop')) break;
      }
      const dnsServer = /^export SANDBOX_DNS_SERVER=(\S+)$/m.exec(stdout)?.[1];
      const caFile = /^export SANDBOX_TLS_CA_FILE=(\S+)$/m.exec(stdout)?.[1];
      expect(readFileSync(caFile!, 'utf8')).toContain('BEGIN CERTIFICATE');
      const resolver = new Resolver();
      resolver.setServers([dnsServer!]);
      const [address] = await resolver.resolve4('cache.example.internal');
      const node = `redis-server ${address}:6379`;
      expect(await processesTagged(node)).toHaveLength(1);

      const exited = new Promise((resolve) => cli.once('exit', resolve));
      cli.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(await processesTagged(node)).toEqual([]);
      expect(existsSync(caFile!)).toBe(false);
    } finally {
      if (cli.exitCode === null) cli.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
