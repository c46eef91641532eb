import { SNSClient } from '@aws-sdk/client-sns';
import { type Gate, requestApproval } from '../migration/approval.js';
import type { MigrationState } from '../migration/state.js';
import { requireEnv } from '../shared/env.js';
import { InvalidInputError } from '../shared/errors.js';
import { logged } from '../shared/handler.js';
import { withMigrationKeys } from '../shared/logger.js';

const sns = new SNSClient({});
const topicArn = requireEnv('approvalTopicArn');

/** Publishes an approval request; the state machine waits for the task token to be answered. */
export async function handler(event: { taskToken: string; gate: Gate; state: MigrationState }) {
  if (!event?.taskToken || !event.gate || !event.state?.migrationId) {
    throw new InvalidInputError('request-approval needs {taskToken, gate, state}.');
  }
  withMigrationKeys({
    migrationId: event.state.migrationId,
    sourceReplicationGroupId: event.state.sourceReplicationGroupId,
  });
  return logged(
    'request-approval',
    () => requestApproval(event, sns, topicArn),
    () => ['approval requested', { gate: event.gate }],
  );
}
