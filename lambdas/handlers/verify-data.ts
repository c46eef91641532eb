import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { networkSettingsFromEnv, resolveRecords, verifyData } from '../migration/verify-data.js';
import { stepHandler } from '../shared/handler.js';

const network = networkSettingsFromEnv();
const clients = { elasticache: new ElastiCacheClient({}), secrets: new SecretsManagerClient({}), network };
/** Time one invocation spends on the data check; the rest of the Lambda timeout is headroom. */
const timeBudgetMs = Number(process.env.VERIFY_TIME_BUDGET_MS ?? 10 * 60_000);

/** Runs in the VPC: speaks the Redis protocol to source and target, and resolves DNS as clients do. */
export const handler = stepHandler('verifyData', {
  verify: (state) => verifyData(state, { ...clients, timeBudgetMs }),
  resolve: (state) => resolveRecords(state, clients),
});
