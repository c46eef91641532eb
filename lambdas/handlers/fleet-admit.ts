import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { type AdmitEvent, admitGroup } from '../fleet/admit.js';
import { logged } from '../shared/handler.js';

const throttled = { retryMode: 'adaptive', maxAttempts: 10 } as const;
const deps = { dynamodb: new DynamoDBClient(throttled), elasticache: new ElastiCacheClient(throttled) };

/** Decides whether a group's migration starts now (threshold, window, node headroom). */
export async function handler(event: AdmitEvent) {
  return logged(
    'fleet-admit',
    () => admitGroup(event, deps),
    (result) => [
      'fleet admission',
      { batchId: event.batchId, groupId: event.groupId, decision: result.decision },
    ],
  );
}
