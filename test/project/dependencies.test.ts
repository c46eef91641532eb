import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const lock = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../package-lock.json', import.meta.url)), 'utf8'),
) as {
  packages: Record<string, { version?: string }>;
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
});
