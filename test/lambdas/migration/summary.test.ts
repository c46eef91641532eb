import { describe, expect, it } from 'vitest';
import type { MigrationState } from '../../../lambdas/migration/state.js';
import { summarize } from '../../../lambdas/migration/summary.js';

/** A finished migration's state, with only what the summary reads. */
function finished(
  overrides: { deleteSource?: boolean; changeTracking?: boolean; lowerTtlTo?: number } = {},
  progress: Record<string, unknown> = {},
): MigrationState {
  const deleteSource = overrides.deleteSource ?? true;
  return {
    migrationId: 'orders-2026-11-22',
    sourceReplicationGroupId: 'orders',
    plan: {
      migrationId: 'orders-2026-11-22',
      source: { id: 'orders' },
      target: { id: 'orders-atrest' },
      snapshotName: 'orders-mig-0a1b2c3d',
      finalSnapshotName: 'orders-final-0a1b2c3d',
      kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234',
      dns: [
        {
          hostedZoneId: 'Z1',
          recordName: 'orders.example.internal',
          endpoint: 'primary',
          originalValue: 'orders.abc.cache.amazonaws.com',
          originalTtl: 300,
          ...(overrides.lowerTtlTo === undefined ? {} : { lowerTtlTo: overrides.lowerTtlTo }),
        },
      ],
      options: { deleteSource },
      cutover: { method: 'pause', changeTracking: overrides.changeTracking ?? false, dataPolicy: 'exact' },
      changes: [],
      warnings: ['a warning of the plan'],
    },
    progress: { sourceDeleted: deleteSource, snapshotCleaned: true, ...progress },
    steps: { restore: { seconds: 420 }, cutover: { seconds: 12 } },
  } as unknown as MigrationState;
}

const endpoints = { primary: 'orders-atrest.xyz.cache.amazonaws.com' };

describe('the summary of a migration', () => {
  it('names the final snapshot of a deleted source and where each record now points', () => {
    const summary = summarize(finished(), endpoints);
    expect(summary.outcome).toBe('migrated');
    expect(summary.source).toEqual({
      id: 'orders',
      deleted: true,
      finalSnapshotName: 'orders-final-0a1b2c3d',
    });
    expect(summary.dns).toEqual([
      {
        recordName: 'orders.example.internal',
        hostedZoneId: 'Z1',
        from: 'orders.abc.cache.amazonaws.com',
        to: 'orders-atrest.xyz.cache.amazonaws.com',
      },
    ]);
    expect(summary.stepSeconds).toEqual({ restore: 420, cutover: 12 });
    expect(summary.warnings).toEqual(['a warning of the plan']);
  });

  it('says a kept source still holds its writes, and until when', () => {
    const summary = summarize(
      finished({ deleteSource: false }, { freeze: { holdUntil: '2026-11-22T10:00:00.000Z' } }),
      endpoints,
    );
    expect(summary.outcome).toBe('migrated-source-kept');
    expect(summary.source.finalSnapshotName).toBeUndefined();
    expect(summary.warnings.join('\n')).toContain(
      "The source 'orders' was kept: it holds every write (CLIENT PAUSE WRITE) until 2026-11-22T10:00:00.000Z",
    );
  });

  it('asks to raise a lowered TTL back to its old value', () => {
    const summary = summarize(finished({ lowerTtlTo: 30 }), endpoints);
    expect(summary.warnings).toContain(
      'CNAME orders.example.internal keeps its lowered TTL of 30s; raise it back to 300s when satisfied.',
    );
  });

  it('says why change tracking was not used for the final copy when it was asked for', () => {
    const progress = { freeze: { untrackedReason: 'the notification stream was cut', keysCopied: 7 } };
    const summary = summarize(finished({ changeTracking: true }, progress), endpoints);
    expect(summary.warnings).toContain(
      'Change tracking was not used for the final copy: the notification stream was cut.',
    );
  });

  it('counts the keys copied by the catch-up and under the freeze together', () => {
    const progress = { catchUp: { passes: 2, keysCopied: 1200 }, freeze: { attempts: 1, keysCopied: 34 } };
    const summary = summarize(finished({}, progress), endpoints);
    expect(summary.cutover).toMatchObject({ catchUpPasses: 2, keysCopied: 1234, freezeAttempts: 1 });
  });
});
