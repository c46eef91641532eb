import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../../../sandbox/redis/process.js';
import { parseInfo, type RedisServer, startRedisServer, stopAll } from '../../../sandbox/redis/server.js';

const started: RedisServer[] = [];
async function start(...args: Parameters<typeof startRedisServer>): Promise<RedisServer> {
  const server = await startRedisServer(...args);
  started.push(server);
  return server;
}
afterEach(async () => {
  await stopAll(started.splice(0));
});

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return condition();
}

describe('a sandbox redis-server', () => {
  it('listens on an ephemeral port of 127.0.0.1 and answers PING', async () => {
    const server = await start();
    expect(server.port).not.toBe(6379);
    await expect(server.ping()).resolves.toBeUndefined();
    const client = server.client();
    const info = parseInfo(await client.info('persistence'));
    client.disconnect();
    expect(info.aof_enabled).toBe('0');
  });

  it('refuses clients without the password when requirepass is set', async () => {
    const server = await start({ requirepass: 'Sandbox-pass!&#$^<>-1' });
    const anonymous = new Redis({
      ...server.connectionOptions(),
      password: undefined,
      enableReadyCheck: false,
    });
    anonymous.on('error', () => {});
    await anonymous.connect();
    await expect(anonymous.get('x')).rejects.toThrow(/NOAUTH/);
    anonymous.disconnect();
    const client = server.client();
    await expect(client.set('x', '1')).resolves.toBe('OK');
    client.disconnect();
  });

  it('serves TLS only, with a certificate from its generated CA', async () => {
    const server = await start({ tls: true, requirepass: 'tls-and-auth-pass' });
    expect(server.caPem).toContain('BEGIN CERTIFICATE');
    const client = server.client();
    await expect(client.ping()).resolves.toBe('PONG');
    client.disconnect();
    const plaintext = new Redis({ ...server.connectionOptions(), tls: undefined, connectTimeout: 1000 });
    plaintext.on('error', () => {});
    await expect(plaintext.connect().then(() => plaintext.ping())).rejects.toThrow();
    plaintext.disconnect();
    const untrusting = new Redis({ ...server.connectionOptions(), tls: { servername: 'localhost' } });
    const errors: string[] = [];
    untrusting.on('error', (error: Error) => errors.push(error.message));
    await expect(untrusting.connect()).rejects.toThrow();
    untrusting.disconnect();
    expect(errors.join(' ')).toMatch(/certificate/);
  });

  it('saves to an RDB file that another server then loads', async () => {
    const source = await start();
    const client = source.client();
    await client.set('kept', 'value');
    await client.select(3);
    await client.hset('h', 'f', 'v');
    client.disconnect();
    const dir = await mkdtemp(join(tmpdir(), 'rdb-test-'));
    try {
      const rdb = await source.save(join(dir, 'snapshot.rdb'));
      expect(existsSync(rdb)).toBe(true);
      const restored = await start({ rdbFile: rdb });
      const reader = restored.client();
      expect(await reader.get('kept')).toBe('value');
      await reader.select(3);
      expect(await reader.hget('h', 'f')).toBe('v');
      reader.disconnect();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('replicates from a primary given with replicaOf', async () => {
    const primary = await start({ requirepass: 'primary-pass' });
    const writer = primary.client();
    await writer.set('replicated', 'yes');
    writer.disconnect();
    const replica = await start({
      replicaOf: { host: primary.host, port: primary.port },
      masterAuth: 'primary-pass',
    });
    const reader = replica.client();
    let value: string | null = null;
    for (let i = 0; i < 100 && value === null; i++) {
      value = await reader.get('replicated');
      if (value === null) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    reader.disconnect();
    expect(value).toBe('yes');
  });

  it('applies extra configuration directives', async () => {
    const server = await start({ config: { 'hash-max-listpack-entries': '2' } });
    const client = server.client();
    await client.hset('h', 'a', '1', 'b', '2', 'c', '3');
    expect(await client.object('ENCODING', 'h')).toBe('hashtable');
    client.disconnect();
  });

  it('stops its process and removes its directory', async () => {
    const server = await start();
    await server.stop();
    expect(isProcessAlive(server.pid)).toBe(false);
    expect(existsSync(server.dir)).toBe(false);
  });
});

describe('no orphan redis-server', () => {
  const fixture = join(import.meta.dirname, 'fixtures', 'start-and-wait.ts');

  async function spawnParent(...args: string[]) {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    for await (const chunk of child.stdout) {
      output += String(chunk);
      if (output.includes('\n')) break;
    }
    const servers = JSON.parse(output.trim()) as { pid: number; dir: string }[];
    return { child, servers };
  }

  for (const signal of ['SIGKILL', 'SIGTERM', 'SIGINT'] as const) {
    it(`stops every redis-server when the parent is killed with ${signal}`, async () => {
      const { child, servers } = await spawnParent();
      expect(servers).toHaveLength(2);
      for (const { pid } of servers) expect(isProcessAlive(pid)).toBe(true);

      child.kill(signal);

      for (const { pid, dir } of servers) {
        expect(await waitUntil(() => !isProcessAlive(pid))).toBe(true);
        expect(await waitUntil(() => !existsSync(dir))).toBe(true);
      }
    });
  }

  it('stops every redis-server when the parent exits without stopping them', async () => {
    const { child, servers } = await spawnParent('exit');
    await new Promise((resolve) => child.once('exit', resolve));
    for (const { pid } of servers) expect(await waitUntil(() => !isProcessAlive(pid))).toBe(true);
  });
});
