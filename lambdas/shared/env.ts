/**
 * Configuration read once at module load. Values are optional here because each function needs
 * a different subset; `requireEnv` fails fast with the variable's name and what it is for.
 */
export const env = {
  defaultKmsKeyId: process.env.DEFAULT_KMS_KEY_ID || undefined,
  approvalTopicArn: process.env.APPROVAL_TOPIC_ARN || undefined,
  /** The DynamoDB table of source claims (lambdas/migration/claim.ts). */
  migrationsTableName: process.env.MIGRATIONS_TABLE_NAME || undefined,
  /** The fleet batch: S3 bucket of its plans and reports, SNS topic and EventBridge bus announcing them. */
  reportsBucketName: process.env.REPORTS_BUCKET_NAME || undefined,
  fleetReportTopicArn: process.env.FLEET_REPORT_TOPIC_ARN || undefined,
  fleetEventBusName: process.env.FLEET_EVENT_BUS_NAME || undefined,
  /** The state machine the migrations API starts and reads (lambdas/handlers/api.ts). */
  stateMachineArn: process.env.STATE_MACHINE_ARN || undefined,
  allowedHostedZoneIds: (process.env.ALLOWED_HOSTED_ZONE_IDS ?? '')
    .split(',')
    .map((z) => z.trim().replace(/^\/hostedzone\//, ''))
    .filter(Boolean),
};

export function requireEnv(value: string | undefined, name: string, purpose: string): string {
  if (!value) throw new Error(`Environment variable ${name} is not set; it is needed ${purpose}.`);
  return value;
}
