import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const lock = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../package-lock.json', import.meta.url)), 'utf8'),
) as {
  packages: Record<string, { version?: string; optionalDependencies?: Record<string, string> }>;
};

function versionsOf(name: string): string[] {
  return [
    ...new Set(
      Object.entries(lock.packages)
        .filter(([path]) => path === `node_modules/${name}` || path.endsWith(`/node_modules/${name}`))
        .map(([, p]) => p.version ?? '?'),
    ),
  ];
}

describe('the dependency tree', () => {
  it('holds one release of the AWS SDK core, so every client shares one @smithy/types', () => {
    expect(versionsOf('@smithy/types')).toHaveLength(1);
    expect(versionsOf('@smithy/core')).toHaveLength(1);
    expect(versionsOf('@aws-sdk/core')).toHaveLength(1);
  });

  it('records every optional dependency in the lock file, or `npm ci` refuses a fresh clone', () => {
    // npm drops other platforms' optional packages from the lock on `npm install` (npm/cli#4828);
    // `npm ci` then finds the lock out of sync with their parent's manifest and stops.
    // Resolved as Node does: the package's own node_modules, then each enclosing one.
    const resolves = (path: string, dep: string) => {
      for (let dir = path; ; dir = dir.slice(0, Math.max(0, dir.lastIndexOf('/node_modules/')))) {
        if (lock.packages[`${dir ? `${dir}/` : ''}node_modules/${dep}`]) return true;
        if (!dir) return false;
      }
    };
    const missing = Object.entries(lock.packages).flatMap(([path, pkg]) =>
      Object.keys(pkg.optionalDependencies ?? {})
        .filter((dep) => !resolves(path, dep))
        .map((dep) => `${path || '(root)'} -> ${dep}`),
    );
    expect(missing).toEqual([]);
  });
});
