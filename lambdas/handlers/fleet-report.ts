import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { type ReportEvent, writeReport } from '../fleet/report.js';
import { env, requireEnv } from '../shared/env.js';
import { logged } from '../shared/handler.js';

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
  return logged(
    'fleet-report',
    () => writeReport(event, deps),
    (result) => ['fleet report', { ...result }],
  );
}
