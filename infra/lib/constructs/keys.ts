import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AccountRootPrincipal, PolicyDocument, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { type IKey, Key } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface CacheEncryptionKeyProps {
  /**
   * Use this key instead of creating one. Its key policy is then the key owner's responsibility
   * (see runbooks/deploy.md for what it must allow).
   * @default - a new customer-managed key
   */
  readonly existingKeyArn?: string;
  /**
   * Alias of a created key.
   * @default - no alias
   */
  readonly alias?: string;
}

/**
 * The customer-managed key that encrypts the new replication groups and their backups.
 *
 * A created key follows the seed article: symmetric, automatic rotation on, and a key policy with
 * two statements: the account root (so IAM policies in the account govern its use) and the
 * ElastiCache service principal limited to the data-key actions it needs. It is retained when the
 * stack is deleted: removing it would make every cache it encrypts unrecoverable.
 */
export class CacheEncryptionKey extends Construct {
  readonly key: IKey;
  /** The key ARN, as handlers and IAM conditions need it. */
  readonly keyArn: string;

  constructor(scope: Construct, id: string, props: CacheEncryptionKeyProps = {}) {
    super(scope, id);
    if (props.existingKeyArn !== undefined) {
      this.key = Key.fromKeyArn(this, 'Imported', props.existingKeyArn);
      this.keyArn = props.existingKeyArn;
      return;
    }
    const key = new Key(this, 'Key', {
      description:
        'Encrypts ElastiCache replication groups migrated to at-rest encryption, and their backups',
      enableKeyRotation: true,
      pendingWindow: Duration.days(30),
      removalPolicy: RemovalPolicy.RETAIN,
      policy: new PolicyDocument({
        statements: [
          rootAccess(),
          new PolicyStatement({
            sid: 'AllowElastiCache',
            principals: [new ServicePrincipal('elasticache.amazonaws.com')],
            actions: [
              'kms:Encrypt',
              'kms:Decrypt',
              'kms:ReEncrypt*',
              'kms:GenerateDataKey*',
              'kms:DescribeKey',
            ],
            resources: ['*'],
          }),
        ],
      }),
    });
    if (props.alias !== undefined) {
      key.addAlias(props.alias);
    }
    this.key = key;
    this.keyArn = key.keyArn;
  }
}

/**
 * The key of the notification topics and their dead-letter queue. Separate from the cache key so
 * that the cache key's policy stays the seed's. CloudWatch alarms, EventBridge and SNS (delivering
 * to the dead-letter queue) need data keys to write to encrypted topics and queues. The statement
 * has the documented form, without `aws:SourceAccount`: CloudWatch alarm actions are known to fail
 * on caller-account conditions, and a silent alarm is worse than the residual risk. What bounds
 * the key's use is the resource policies: only this account's alarms, this stack's rule and topics
 * may write to the topics and the queue.
 * https://repost.aws/knowledge-center/cloudwatch-configure-alarm-sns
 * https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
 */
export class NotificationKey extends Construct {
  readonly key: Key;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      description: 'Encrypts the migrator notification topics and their dead-letter queue',
      enableKeyRotation: true,
      pendingWindow: Duration.days(30),
      removalPolicy: RemovalPolicy.RETAIN,
      policy: new PolicyDocument({
        statements: [
          rootAccess(),
          new PolicyStatement({
            sid: 'AllowNotificationServices',
            principals: [
              new ServicePrincipal('cloudwatch.amazonaws.com'),
              new ServicePrincipal('events.amazonaws.com'),
              new ServicePrincipal('sns.amazonaws.com'),
            ],
            actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            resources: ['*'],
          }),
        ],
      }),
    });
  }
}

/** The account root may administer the key (the seed article's first statement; IAM then decides). */
function rootAccess(): PolicyStatement {
  return new PolicyStatement({
    sid: 'RootAccess',
    principals: [new AccountRootPrincipal()],
    actions: ['kms:*'],
    resources: ['*'],
  });
}
