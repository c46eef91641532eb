import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { verifyTarget } from '../migration/verify-target.js';
import { stepHandler } from '../shared/handler.js';

const clients = { elasticache: new ElastiCacheClient({}) };

export const handler = stepHandler('verifyTarget', {
  verify: (state) => verifyTarget(state, clients),
});
