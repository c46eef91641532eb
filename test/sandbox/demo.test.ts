import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const demo = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'sandbox/demo/main.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });

// The full demo (a real migration) runs in CI through `npm run demo`, as a newcomer runs it.
describe('npm run demo, at its edges', () => {
  it('explains its options', () => {
    const out = demo(['--help']);
    expect(out.status).toBe(0);
    expect(out.stdout).toContain('--cluster-mode');
    expect(out.stdout).toContain('--report FILE');
  });

  it('refuses a bad option with the usage and exit status 2', () => {
    const out = demo(['--keys', 'many']);
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('--keys must be a whole number');
    expect(demo(['--fault', 'meteor']).stderr).toContain('--fault must be one of: snapshot-fails');
  });

  it('says how to install redis-server when it is missing', () => {
    const out = demo([], { REDIS_SERVER_BIN: '/nonexistent/redis-server' });
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('sudo apt-get install -y redis-server');
  });
});
