import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { startTracking, stopTracking } from '../migration/track-changes.js';
import { stepHandler } from '../shared/handler.js';

const clients = { elasticache: new ElastiCacheClient({}) };

/** Turns keyspace notifications on in the source's parameter group, and puts them back. */
export const handler = stepHandler('changeTracking', {
  enable: (state) => startTracking(state, clients),
  restore: (state) => stopTracking(state, clients),
});
