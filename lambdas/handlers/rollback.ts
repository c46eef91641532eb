import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { Route53Client } from '@aws-sdk/client-route-53';
import { leftovers, rollbackStep } from '../migration/rollback.js';
import { stepHandler } from '../shared/handler.js';

const clients = {
  elasticache: new ElastiCacheClient({}),
  route53: new Route53Client({}),
  dynamodb: new DynamoDBClient({}),
  cloudwatch: new CloudWatchClient({}),
};

export const handler = stepHandler('rollback', {
  step: (state) => rollbackStep(state, clients),
  report: async (state) => ({
    ...state,
    leftovers: {
      message: await leftovers(state, clients, 'the rollback step kept failing after its retries'),
    },
  }),
});
