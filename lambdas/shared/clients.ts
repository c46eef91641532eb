import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { Route53Client } from '@aws-sdk/client-route-53';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * The AWS clients domain functions use; each takes only the ones it needs (`Pick<Clients, ...>`).
 * Handlers create those at module scope (warm starts stay fast) and import nothing else, so each
 * bundle holds only the SDK clients its function calls. Endpoints come from the SDK's standard
 * configuration (AWS_ENDPOINT_URL and friends): there is no sandbox branch in the code.
 */
export interface Clients {
  elasticache: ElastiCacheClient;
  route53: Route53Client;
  kms: KMSClient;
  secrets: SecretsManagerClient;
  /** The migrations table: the exclusive claim of each source (lambdas/migration/claim.ts). */
  dynamodb: DynamoDBClient;
  /** Alarms carried over to the new group (lambdas/migration/alarms.ts). */
  cloudwatch: CloudWatchClient;
}
