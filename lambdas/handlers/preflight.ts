import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { KMSClient } from '@aws-sdk/client-kms';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type PreflightEvent, preflight } from '../migration/preflight/index.js';
import type { MigrationState } from '../migration/state.js';
import { networkSettings } from '../migration/verify-data.js';
import { logged } from '../shared/handler.js';
import { withMigrationKeys } from '../shared/logger.js';

const clients = {
  elasticache: new ElastiCacheClient({}),
  route53: new Route53Client({}),
  kms: new KMSClient({}),
  secrets: new SecretsManagerClient({}),
  dynamodb: new DynamoDBClient({}),
  // Runs in the VPC, like the data path: it proves the AUTH token against the source.
  network: networkSettings(),
};

/**
 * Validates the execution input, proves the AUTH token and builds the plan; then claims the
 * source (its only write). A refusal changes nothing.
 */
export async function handler(event: PreflightEvent): Promise<MigrationState> {
  const input = event?.input;
  const raw = (input !== null && typeof input === 'object' ? input : {}) as {
    sourceReplicationGroupId?: unknown;
  };
  withMigrationKeys({
    migrationId: event?.migrationId,
    sourceReplicationGroupId:
      typeof raw.sourceReplicationGroupId === 'string' ? raw.sourceReplicationGroupId : undefined,
  });
  return logged(
    'preflight',
    () => preflight(event, clients),
    (state) => ['preflight finished', { outcome: state.outcome, warnings: state.plan?.warnings ?? [] }],
  );
}
