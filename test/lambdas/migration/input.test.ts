import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseMigrationInput } from '../../../lambdas/migration/input.js';
import { migrationInputJsonSchema } from '../../../lambdas/migration/input-json-schema.js';
import {
  derivedTarget,
  derivedTargetId,
  finalSnapshotName,
  intermediateSnapshotName,
  shortIdOf,
} from '../../../lambdas/migration/naming.js';

describe('the execution input', () => {
  it('fills every default and normalizes ids and record names', () => {
    const input = parseMigrationInput({
      sourceReplicationGroupId: 'Orders',
      dnsRecords: [{ hostedZoneId: '/hostedzone/Z0123ABC', recordName: 'Orders.Example.Internal' }],
    });
    expect(input.sourceReplicationGroupId).toBe('orders');
    expect(input.dnsRecords).toEqual([
      { hostedZoneId: 'Z0123ABC', recordName: 'orders.example.internal.', endpoint: 'primary' },
    ]);
    expect(input).toMatchObject({
      transitEncryption: 'preserve',
      deleteSource: true,
      dryRun: false,
      verification: { mode: 'full', revealKeyNames: false },
      approvals: { beforeSnapshot: false, beforeCutover: false, beforeDeleteSource: false },
    });
  });

  it('lists every problem with its path, so the operator fixes them all at once', () => {
    expect(() =>
      parseMigrationInput({
        sourceReplicationGroupId: '1-bad--id-',
        dnsRecords: [{ hostedZoneId: 'nope', recordName: 'x', endpoint: 'master' }],
        transitEncryption: 'maybe',
        surprise: true,
      }),
    ).toThrow(
      expect.objectContaining({
        name: 'InvalidInputError',
        message: expect.stringMatching(
          /sourceReplicationGroupId[\s\S]*dnsRecords\.0\.hostedZoneId[\s\S]*dnsRecords\.0\.endpoint[\s\S]*transitEncryption/,
        ),
      }),
    );
  });

  it('takes a pace for the data check of at least 100 keys per second', () => {
    const base = { sourceReplicationGroupId: 'a' };
    expect(parseMigrationInput({ ...base, verification: { maxKeysPerSecond: 5000 } }).verification).toEqual({
      mode: 'full',
      revealKeyNames: false,
      maxKeysPerSecond: 5000,
    });
    expect(() => parseMigrationInput({ ...base, verification: { maxKeysPerSecond: 10 } })).toThrow(
      /verification\.maxKeysPerSecond/,
    );
  });

  it('rejects an AUTH secret that is not a Secrets Manager ARN', () => {
    expect(() =>
      parseMigrationInput({ sourceReplicationGroupId: 'a', authTokenSecretArn: 'my-token' }),
    ).toThrow(/authTokenSecretArn/);
  });

  it('is documented field by field in the README', () => {
    const readme = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');
    const schema = migrationInputJsonSchema() as { properties: Record<string, unknown> };
    const missing = Object.keys(schema.properties).filter((field) => !readme.includes(`\`${field}`));
    expect(missing).toEqual([]);
  });
});

describe('resource names', () => {
  it('derives valid ElastiCache ids (≤ 40 characters, no trailing or double hyphen) from any source id', () => {
    const long = `${'a'.repeat(39)}b`;
    const shortId = shortIdOf('execution-1');
    for (const name of [
      derivedTargetId(long),
      intermediateSnapshotName(long, shortId),
      finalSnapshotName(`${'c'.repeat(30)}-d`, shortId),
    ]) {
      expect(name.length).toBeLessThanOrEqual(40);
      expect(name).toMatch(/^[a-z][a-z0-9-]*[a-z0-9]$/);
      expect(name).not.toContain('--');
    }
  });

  it('derives a target id different from the source even for a 40-character source ending in -atrest', () => {
    for (const source of [
      `${'a'.repeat(33)}-atrest`,
      `${'b'.repeat(31)}-c-atrest`,
      `x${'-y'.repeat(16)}-atrest`,
    ]) {
      expect(source).toHaveLength(40);
      const derived = derivedTarget(source);
      expect(derived.id).not.toBe(source);
      expect(derivedTargetId(source)).toBe(derived.id);
      expect(derived).toMatchObject({ how: 'source-trimmed-atrest2', alternate: true });
      expect(derived.id.length).toBeLessThanOrEqual(40);
      expect(derived.id).toMatch(/^[a-z][a-z0-9-]*[a-z0-9]$/);
      expect(derived.id).not.toContain('--');
    }
    expect(derivedTarget('orders')).toEqual({ id: 'orders-atrest', how: 'source-atrest', alternate: false });
    expect(derivedTarget(`${'d'.repeat(40)}`).how).toBe('source-trimmed-atrest');
  });

  it('gives the same names to the same migration and different names to another', () => {
    expect(intermediateSnapshotName('orders', shortIdOf('run-1'))).toBe(
      intermediateSnapshotName('orders', shortIdOf('run-1')),
    );
    expect(intermediateSnapshotName('orders', shortIdOf('run-1'))).not.toBe(
      intermediateSnapshotName('orders', shortIdOf('run-2')),
    );
  });
});
