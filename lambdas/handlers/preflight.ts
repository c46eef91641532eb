import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { KMSClient } from '@aws-sdk/client-kms';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type PreflightEvent, preflight } from '../migration/preflight.js';
import type { MigrationState } from '../migration/state.js';
import { logFailure } from '../shared/handler.js';
import { logger, withMigrationKeys } from '../shared/logger.js';

const clients = {
  elasticache: new ElastiCacheClient({}),
  route53: new Route53Client({}),
  kms: new KMSClient({}),
  secrets: new SecretsManagerClient({}),
};

/** Validates the execution input and builds the plan. Reads only. */
export async function handler(event: PreflightEvent): Promise<MigrationState> {
  const raw = (event?.input ?? {}) as { sourceReplicationGroupId?: unknown };
  withMigrationKeys({
    migrationId: event?.migrationId,
    sourceReplicationGroupId:
      typeof raw.sourceReplicationGroupId === 'string' ? raw.sourceReplicationGroupId : undefined,
  });
  try {
    const state = await preflight(event, clients);
    logger.info('preflight finished', { outcome: state.outcome, warnings: state.plan?.warnings ?? [] });
    return state;
  } catch (error) {
    logFailure('preflight', error);
    throw error;
  }
}
