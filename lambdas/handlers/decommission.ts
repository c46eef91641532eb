import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { Route53Client } from '@aws-sdk/client-route-53';
import { checkDecommission, startDecommission } from '../migration/decommission.js';
import { cleanUpAndSummarize } from '../migration/summary.js';
import { stepHandler } from '../shared/handler.js';

const clients = {
  elasticache: new ElastiCacheClient({}),
  route53: new Route53Client({}),
  dynamodb: new DynamoDBClient({}),
};

export const handler = stepHandler('decommission', {
  start: (state) => startDecommission(state, clients),
  check: (state) => checkDecommission(state, clients),
  // The last step, also when the source is kept (CleanUpAndSummarize).
  finish: (state) => cleanUpAndSummarize(state, clients),
});
