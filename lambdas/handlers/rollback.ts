import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SFNClient } from '@aws-sdk/client-sfn';
import { recoverStoppedMigration } from '../migration/recover-stopped.js';
import { leftovers, rollbackStep } from '../migration/rollback.js';
import { logged, type StepEvent, stepHandler } from '../shared/handler.js';
import { withMigrationKeys } from '../shared/logger.js';

const clients = {
  elasticache: new ElastiCacheClient({}),
  route53: new Route53Client({}),
  dynamodb: new DynamoDBClient({}),
  cloudwatch: new CloudWatchClient({}),
};
const sfn = new SFNClient({});

const steps = stepHandler('rollback', {
  step: (state) => rollbackStep(state, clients),
  report: async (state) => ({
    ...state,
    leftovers: {
      message: await leftovers(state, clients, 'the rollback step kept failing after its retries'),
    },
  }),
});

/** `recover` (RollbackStoppedMigration): the state of a stopped execution, from its history. */
async function recover(executionArn: string) {
  withMigrationKeys({ migrationId: executionArn.split(':').pop() ?? executionArn });
  return logged(
    'rollback:recover',
    () => recoverStoppedMigration(executionArn, sfn),
    (recovered) => ['rollback:recover finished', { nothingToRollBack: 'nothingToRollBack' in recovered }],
  );
}

export const handler = (event: StepEvent<'step' | 'report'> | { action: 'recover'; executionArn: string }) =>
  event?.action === 'recover' ? recover(event.executionArn) : steps(event as StepEvent<'step' | 'report'>);
