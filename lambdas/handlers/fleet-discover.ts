import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { KMSClient } from '@aws-sdk/client-kms';
import { Route53Client } from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type DiscoverEvent, discover } from '../fleet/discover.js';
import { networkSettings } from '../migration/verify-data.js';
import { requireEnv } from '../shared/env.js';
import { logged } from '../shared/handler.js';

// Discovery reads every group of the Region: adaptive retry paces the calls when ElastiCache
// throttles (the SDK's client-side rate limiter), instead of failing the batch.
const throttled = { retryMode: 'adaptive', maxAttempts: 10 } as const;
const deps = {
  elasticache: new ElastiCacheClient(throttled),
  route53: new Route53Client(throttled),
  kms: new KMSClient(throttled),
  secrets: new SecretsManagerClient(throttled),
  dynamodb: new DynamoDBClient(throttled),
  s3: new S3Client(throttled),
  bucket: requireEnv('reportsBucketName'),
  // Runs in the VPC: the dry run proves each group's AUTH token as the per-group preflight does.
  network: networkSettings(),
};

/** Finds and plans the batch's groups; changes no group. */
export async function handler(event: DiscoverEvent) {
  return logged(
    'fleet-discover',
    () => discover(event, deps),
    (result) => ['fleet discovered', { batchId: result.batchId, counts: result.counts }],
  );
}
