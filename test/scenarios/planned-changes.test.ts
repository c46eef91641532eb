import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MigrationState, MigrationSummary } from '../../lambdas/migration/state.js';
import { fleet, startWorkflowBed, type WorkflowBed } from '../support/workflow.js';

/** Every setting the new group gets differently from the source is said, with its reason, and can be kept. */
let bed: WorkflowBed;
beforeAll(async () => {
  bed = await startWorkflowBed(fleet({ orders: { autoMinorVersionUpgrade: false } }));
});
afterAll(() => bed.stop());

const input = { sourceReplicationGroupId: 'orders' };

describe('planned changes', () => {
  it('lists every setting that will differ from the source, with its reason, in the plan and the summary', async () => {
    const plan = (await bed.run({ ...input, dryRun: true })).output as MigrationState;
    const changes = plan.plan!.changes;
    expect(changes.map((c) => [c.setting, c.from, c.to.replace(/ \(.*/, '')])).toEqual([
      ['AtRestEncryptionEnabled', 'false', 'true'],
      ['SnapshotRetentionLimit', '1', '7'],
      ['AutoMinorVersionUpgrade', 'false', 'true'],
    ]);
    expect(changes.find((c) => c.setting === 'AutoMinorVersionUpgrade')?.reason).toContain('ElastiCache.2');
    expect(plan.plan!.createRequest).toMatchObject({
      AutoMinorVersionUpgrade: true,
      SnapshotRetentionLimit: 7,
    });

    const done = await bed.run(input);
    expect(done.error, done.cause).toBeUndefined();
    expect((done.output as MigrationSummary).changes).toEqual(changes);
    const target = bed.sandbox.elasticache.groups.get('orders-atrest')!;
    expect(target.autoMinorVersionUpgrade).toBe(true);
  });

  it('keeps a setting as the source has it when asked, and then does not list it', async () => {
    await bed.sandbox.reset(fleet({ orders: { autoMinorVersionUpgrade: false } }));
    const plan = (
      await bed.run({
        ...input,
        dryRun: true,
        keepSourceSettings: ['autoMinorVersionUpgrade', 'snapshotRetentionLimit'],
      })
    ).output as MigrationState;
    expect(plan.plan!.changes.map((c) => c.setting)).toEqual(['AtRestEncryptionEnabled']);
    expect(plan.plan!.createRequest).toMatchObject({
      AutoMinorVersionUpgrade: false,
      SnapshotRetentionLimit: 1,
    });
  });

  it('refuses an unknown setting to keep, with the field named', async () => {
    const result = await bed.run({ ...input, keepSourceSettings: ['everything'] });
    expect(result.error).toBe('InvalidInputError');
    expect(result.cause).toContain('keepSourceSettings.0');
  });
  it('finds a data-tiering (r6gd) source already encrypted at rest, and changes nothing', async () => {
    await bed.sandbox.reset(fleet({ orders: { dataTiering: true, nodeType: 'cache.r6gd.xlarge' } }));
    const result = await bed.run(input);
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({ outcome: 'already-encrypted' });
    expect(await bed.groupIds()).toEqual(['orders', 'sessions']);
  });
});
