import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { catchUpData, freezeAndFlip, moveClients, syncBack } from '../migration/catch-up.js';
import { networkSettings, resolveRecords } from '../migration/verify-data.js';
import { env } from '../shared/env.js';
import { stepHandler } from '../shared/handler.js';

const network = networkSettings();
const clients = {
  elasticache: new ElastiCacheClient({}),
  secrets: new SecretsManagerClient({}),
  route53: new Route53Client({}),
  network,
};
/** Time one invocation spends on the data; the rest of the Lambda timeout is headroom. */
const timeBudgetMs = env.verifyTimeBudgetMs;

/**
 * The data path. Runs in the VPC: speaks the Redis protocol to source and target (catch-up,
 * write freeze, moving clients, copying back on rollback) and resolves DNS as clients do.
 */
export const handler = stepHandler('dataPath', {
  'catch-up': (state) => catchUpData(state, { ...clients, timeBudgetMs }),
  'freeze-flip': (state) => freezeAndFlip(state, { ...clients, timeBudgetMs }),
  resolve: async (state) => resolveRecords(await moveClients(state, { ...clients, timeBudgetMs }), clients),
  'sync-back': (state) => syncBack(state, { ...clients, timeBudgetMs }),
});
