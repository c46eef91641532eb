import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { Route53Client } from '@aws-sdk/client-route-53';
import { checkChange, confirmCutover, flip, prepareCutover } from '../migration/cutover.js';
import { stepHandler } from '../shared/handler.js';

const clients = { elasticache: new ElastiCacheClient({}), route53: new Route53Client({}) };

export const handler = stepHandler('cutover', {
  prepare: (state) => prepareCutover(state, clients),
  'check-change': (state) => checkChange(state, clients),
  flip: (state) => flip(state, clients),
  confirm: (state) => confirmCutover(state, clients),
});
