import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { throttled, throttlingCode } from '../support/fault-matrix.js';
import { fleet, startWorkflowBed, type WorkflowBed, ZONE_ID } from '../support/workflow.js';

/**
 * AWS throttling passes: the rollback backs off (with jitter) for as long as it takes, rather than
 * giving up after a few tries and leaving resources behind.
 */
let bed: WorkflowBed;
beforeAll(async () => {
  bed = await startWorkflowBed();
});
afterAll(() => bed.stop());
beforeEach(() => bed.sandbox.reset(fleet()));

describe('a rollback under throttling', () => {
  it('outlasts 30 throttled DeleteReplicationGroup calls in a row and ends rolled back, not failed', async () => {
    const sourceEndpoint = await bed.cname('orders.example.internal.');
    const result = await bed.run(
      {
        sourceReplicationGroupId: 'orders',
        dnsRecords: [{ hostedZoneId: ZONE_ID, recordName: 'orders.example.internal', endpoint: 'primary' }],
        approvals: { beforeCutover: true },
      },
      {
        decide: async () => {
          // The operator rejects the cutover; from now on every DeleteReplicationGroup is throttled 30 times.
          bed.sandbox.faults.add(throttled('DeleteReplicationGroup', { times: 30 }));
          return { error: 'ApprovalRejectedError', cause: 'rejected' };
        },
      },
    );
    const throttles = bed.sandbox.server.calls.filter(
      (c) => c.operation === 'DeleteReplicationGroup' && c.error === throttlingCode('DeleteReplicationGroup'),
    );
    expect(throttles).toHaveLength(30);
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('ApprovalRejectedError');
    expect(await bed.groupIds()).toEqual(['orders', 'sessions']);
    expect(await bed.snapshotNames()).toEqual([]);
    expect(await bed.cname('orders.example.internal.')).toBe(sourceEndpoint);
  });
});
