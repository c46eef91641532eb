import { Logger } from '@aws-lambda-powertools/logger';
import { env } from './env.js';

/**
 * The one logger of the workflow. Level from POWERTOOLS_LOG_LEVEL; service name from
 * POWERTOOLS_SERVICE_NAME. Handlers add `migrationId` and `sourceReplicationGroupId` keys for
 * the invocation. Nothing logs AUTH tokens: they are only ever held in a local variable of the
 * restore step, between Secrets Manager and the CreateReplicationGroup call.
 */
export const logger = new Logger({
  serviceName: env.serviceName ?? 'elasticache-at-rest-migrator',
});

export function withMigrationKeys(keys: { migrationId?: string; sourceReplicationGroupId?: string }): void {
  logger.resetKeys();
  logger.appendKeys(keys);
}
