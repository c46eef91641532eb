import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  callStep,
  fleet,
  migrateThroughFlip,
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

describe('the rollback', () => {
  it('never sends clients back to, or deletes the new group for, a source that is being deleted', async () => {
    const state = await migrateThroughFlip(
      bed,
      {
        sourceReplicationGroupId: 'orders',
        dnsRecords: [{ hostedZoneId: ZONE_ID, recordName: 'orders.example.internal' }],
      },
      'late-failure',
    );
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
