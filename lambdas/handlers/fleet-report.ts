import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { type ReportEvent, writeReport } from '../fleet/report.js';
import { env, requireEnv } from '../shared/env.js';
import { logFailure } from '../shared/handler.js';
import { logger } from '../shared/logger.js';

const deps = {
  dynamodb: new DynamoDBClient({}),
  s3: new S3Client({}),
  bucket: requireEnv('reportsBucketName'),
  sns: new SNSClient({}),
  ...(env.fleetReportTopicArn ? { topicArn: env.fleetReportTopicArn } : {}),
  eventBridge: new EventBridgeClient({}),
  ...(env.fleetEventBusName ? { eventBusName: env.fleetEventBusName } : {}),
};

/** Writes the batch report (JSON and HTML) to S3 and announces it (SNS, EventBridge). */
export async function handler(event: ReportEvent) {
  try {
    const result = await writeReport(event, deps);
    logger.info('fleet report', result);
    return result;
  } catch (error) {
    logFailure('fleet-report', error);
    throw error;
  }
}
