import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApprovalRequest } from '../../sandbox/stepfunctions.js';
import { fleet, startWorkflowBed, type WorkflowBed, ZONE_ID } from '../support/workflow.js';

let bed: WorkflowBed;
beforeAll(async () => {
  bed = await startWorkflowBed();
});
afterAll(() => bed.stop());
beforeEach(() => bed.sandbox.reset(fleet()));

const input = {
  sourceReplicationGroupId: 'orders',
  dnsRecords: [{ hostedZoneId: ZONE_ID, recordName: 'orders.example.internal', endpoint: 'primary' }],
  approvals: { beforeSnapshot: true, beforeCutover: true, beforeDeleteSource: true },
};

describe('approval gates', () => {
  it('asks at each gate through the approval topic, with the commands to answer, and goes on when approved', async () => {
    const asked: ApprovalRequest[] = [];
    const result = await bed.run(input, {
      decide: async (request) => {
        asked.push(request);
        return { output: { approved: true } };
      },
    });
    expect(result.error, result.cause).toBeUndefined();
    expect(asked.map((a) => a.gate)).toEqual(['beforeSnapshot', 'beforeCutover', 'beforeDeleteSource']);
    const messages = bed.sandbox.sns.published;
    expect(messages.map((m) => m.attributes.gate)).toEqual([
      'beforeSnapshot',
      'beforeCutover',
      'beforeDeleteSource',
    ]);
    for (const [i, message] of messages.entries()) {
      expect(message.topicArn).toBe('arn:aws:sns:us-east-1:123456789012:migration-approvals');
      expect(message.message).toContain(
        `send-task-success --task-output '{"approved":true}' --task-token '${asked[i]!.taskToken}'`,
      );
      expect(message.message).toContain('send-task-failure --error ApprovalRejectedError');
      expect(message.message).toContain('Source: orders');
    }
    expect(await bed.groupIds()).toEqual(['orders-atrest', 'sessions']);
  });

  it.each([
    ['beforeSnapshot', false],
    ['beforeCutover', false],
    ['beforeDeleteSource', true],
  ] as const)(
    'rolls back when the %s gate is rejected, leaving the source serving',
    async (gate, flipped) => {
      const sourceEndpoint = await bed.cname('orders.example.internal.');
      const result = await bed.run(input, {
        decide: async (request) =>
          request.gate === gate
            ? { error: 'ApprovalRejectedError', cause: 'rejected by the on-call engineer' }
            : { output: { approved: true } },
      });
      expect(result.status).toBe('FAILED');
      expect(result.error).toBe('ApprovalRejectedError');
      expect(result.cause).toBe('rejected by the on-call engineer');
      expect(await bed.groupIds()).toEqual(['orders', 'sessions']);
      // A new group that served clients (after the flip) goes only with a final snapshot.
      const snapshots = await bed.snapshotNames();
      if (flipped) {
        expect(snapshots).toHaveLength(1);
        expect(snapshots[0]).toMatch(/^orders-atrest-final-[0-9a-f]{8}$/);
      } else {
        expect(snapshots).toEqual([]);
      }
      expect(await bed.cname('orders.example.internal.')).toBe(sourceEndpoint);
      const visited = new Set(result.events.map((e) => e.state?.name));
      expect(visited.has('FlipRecords')).toBe(flipped);
      expect(visited.has('DeleteSource')).toBe(false);
    },
  );

  it('rolls back when nobody answers a gate in time', async () => {
    const result = await bed.run(input, {
      decide: async () => ({ error: 'States.Timeout', cause: 'the gate timed out' }),
    });
    expect(result.error).toBe('States.Timeout');
    expect(await bed.groupIds()).toEqual(['orders', 'sessions']);
  });
});
