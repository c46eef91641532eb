import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { type RecordEvent, recordOutcome } from '../fleet/record.js';
import type { HistoryEvent } from '../fleet/report-model.js';
import { readExecutionHistory } from '../shared/execution-history.js';
import { logged } from '../shared/handler.js';

const dynamodb = new DynamoDBClient({});
const sfn = new SFNClient({ retryMode: 'adaptive', maxAttempts: 10 });

/** The child's history, every page (the timeline's step bars). */
export async function readHistory(executionArn: string): Promise<HistoryEvent[]> {
  const events = await readExecutionHistory(sfn, executionArn);
  return events.map((e) => ({
    type: e.type ?? '',
    timestamp: e.timestamp ?? 0,
    ...(e.stateEnteredEventDetails?.name
      ? { stateEnteredEventDetails: { name: e.stateEnteredEventDetails.name } }
      : {}),
    ...(e.taskScheduledEventDetails
      ? {
          taskScheduledEventDetails: {
            ...(e.taskScheduledEventDetails.resource
              ? { resource: e.taskScheduledEventDetails.resource }
              : {}),
            ...(e.taskScheduledEventDetails.parameters
              ? { parameters: e.taskScheduledEventDetails.parameters }
              : {}),
          },
        }
      : {}),
  }));
}

/** Records how a group's migration ended (report row, batch status). */
export async function handler(event: RecordEvent) {
  return logged(
    'fleet-record',
    () => recordOutcome(event, { dynamodb, readHistory }),
    (result) => ['fleet outcome', { batchId: event.batchId, ...result }],
  );
}
