import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { requirePlan } from './progress.js';
import type { MigrationState } from './state.js';

export type Gate = 'beforeSnapshot' | 'beforeCutover' | 'beforeDeleteSource';

const GATE_TEXT: Record<Gate, string> = {
  beforeSnapshot: 'take the snapshot (freeze writes to the source now if your team does)',
  beforeCutover: 'move the DNS records to the new, encrypted group',
  beforeDeleteSource: 'delete the source group (a final snapshot is taken first)',
};

/**
 * Asks an operator to approve the next stage: publishes the plan and the task token to the
 * approval topic. The execution waits until someone calls SendTaskSuccess (go on) or
 * SendTaskFailure (roll back). The token authorizes only this one decision.
 */
export async function requestApproval(
  event: { taskToken: string; gate: Gate; state: MigrationState },
  sns: SNSClient,
  topicArn: string,
): Promise<{ requested: true }> {
  const plan = requirePlan(event.state);
  const lines = [
    `ElastiCache at-rest migration ${plan.migrationId} waits for approval to ${GATE_TEXT[event.gate]}.`,
    '',
    `Source: ${plan.source.id} (${plan.source.engine} ${plan.source.engineVersion}, ${plan.source.nodeType}, ${plan.source.shards} shard(s), ${plan.source.replicasPerShard} replica(s) each)`,
    `Target: ${plan.target.id}, encrypted at rest with ${plan.kmsKeyArn}`,
    ...plan.dns.map(
      (r) => `DNS: ${r.recordName} (${r.hostedZoneId}) ${r.originalValue} -> new ${r.endpoint} endpoint`,
    ),
    ...plan.warnings.map((w) => `Warning: ${w}`),
    '',
    'Approve:',
    `  aws stepfunctions send-task-success --task-output '{"approved":true}' --task-token '${event.taskToken}'`,
    ...(event.gate === 'beforeDeleteSource'
      ? [
          '',
          'Rejecting moves clients back to the source and deletes the new group: writes that reached the new group since the cutover are not copied back.',
        ]
      : []),
    'Reject (the migration rolls back):',
    `  aws stepfunctions send-task-failure --error ApprovalRejectedError --cause 'rejected by <you>' --task-token '${event.taskToken}'`,
  ];
  await sns.send(
    new PublishCommand({
      TopicArn: topicArn,
      Subject: `Approve ${event.gate} for ${plan.source.id}`.slice(0, 100),
      Message: lines.join('\n'),
      MessageAttributes: {
        migrationId: { DataType: 'String', StringValue: plan.migrationId },
        gate: { DataType: 'String', StringValue: event.gate },
      },
    }),
  );
  return { requested: true };
}
