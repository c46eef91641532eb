import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { checkSnapshot, startSnapshot } from '../migration/snapshot.js';
import { stepHandler } from '../shared/handler.js';

const clients = { elasticache: new ElastiCacheClient({}) };

export const handler = stepHandler('snapshot', {
  start: (state) => startSnapshot(state, clients),
  check: (state) => checkSnapshot(state, clients),
});
