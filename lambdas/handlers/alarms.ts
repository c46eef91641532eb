import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { copyAlarms, deleteSourceAlarms } from '../migration/alarms.js';
import { stepHandler } from '../shared/handler.js';

const clients = { elasticache: new ElastiCacheClient({}), cloudwatch: new CloudWatchClient({}) };

export const handler = stepHandler('alarms', {
  copy: (state) => copyAlarms(state, clients),
  'delete-source': (state) => deleteSourceAlarms(state, clients),
});
