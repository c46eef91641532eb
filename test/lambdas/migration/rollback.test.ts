import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MigrationState } from '../../../lambdas/migration/state.js';
import {
  callStep,
  fleet,
  pollStep,
  startWorkflowBed,
  type WorkflowBed,
  ZONE_ID,
} from '../../support/workflow.js';

let bed: WorkflowBed;
beforeAll(async () => {
  bed = await startWorkflowBed();
});
afterAll(() => bed.stop());
beforeEach(() => bed.sandbox.reset(fleet()));

const call = (fn: string, event: unknown) => callStep(bed, fn, event);
const until = (fn: string, action: string, state: MigrationState, done: (s: MigrationState) => boolean) =>
  pollStep(bed, fn, action, state, done);

describe('the rollback', () => {
  it('never sends clients back to, or deletes the new group for, a source that is being deleted', async () => {
    let state = await call('preflight', {
      input: {
        sourceReplicationGroupId: 'orders',
        dnsRecords: [{ hostedZoneId: ZONE_ID, recordName: 'orders.example.internal' }],
      },
      migrationId: 'late-failure',
    });
    state = await call('snapshot', { action: 'start', state });
    state = await until('snapshot', 'check', state, (s) => s.progress.snapshotReady === true);
    state = await call('restore', { action: 'start', state });
    state = await until('restore', 'check', state, (s) => s.progress.targetReady === true);
    state = await call('verify-target', { action: 'verify', state });
    state = await call('cutover', { action: 'prepare', state });
    state = await call('cutover', { action: 'flip', state });
    state = await until('cutover', 'check-change', state, (s) => s.progress.dns?.changeInSync === true);
    // The source's deletion is accepted, then something fails and the rollback is asked for.
    const afterDelete = await call('decommission', { action: 'start', state });
    const onTarget = await bed.cname('orders.example.internal.');
    const rollback = call('rollback', {
      action: 'step',
      state: {
        ...afterDelete,
        failure: { Error: 'Lambda.Unknown', Cause: 'lost response' },
        rollbackScope: { dns: true },
      },
    });
    await expect(rollback).rejects.toMatchObject({
      name: 'RollbackFailedError',
      message: expect.stringContaining('nothing is rolled back'),
    });
    expect(await bed.groupIds()).toContain('orders-atrest');
    expect(await bed.cname('orders.example.internal.')).toBe(onTarget);
  });
});
