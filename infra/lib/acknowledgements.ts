import { Aspects, CfnResource, Stack } from 'aws-cdk-lib';
import { CfnPolicy } from 'aws-cdk-lib/aws-iam';
import { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { acknowledge } from './nag.js';

/**
 * Every cdk-nag finding this stack accepts, with the reason it is right here. Each acknowledgement
 * names exactly one finding on exactly one resource. Wildcards in IAM policies are acknowledged by
 * inspecting each policy: a wildcard action or resource that has no justification below is left
 * unacknowledged, so it fails the synth until someone explains it here.
 */

/** Actions that need `Resource: *`, and why. */
const STAR_RESOURCE_ACTIONS: Readonly<Record<string, string>> = {
  'xray:PutTraceSegments':
    'X-Ray trace upload supports no resource-level permissions (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsx-ray.html)',
  'xray:PutTelemetryRecords': 'X-Ray telemetry supports no resource-level permissions (same source)',
  'xray:GetSamplingRules': 'X-Ray sampling rules support no resource-level permissions (same source)',
  'xray:GetSamplingTargets': 'X-Ray sampling targets support no resource-level permissions (same source)',
  'elasticache:DescribeReplicationGroups':
    'read-only; Describe calls without an identifier are authorized against *, and the groups are named by operators at run time',
  'elasticache:DescribeCacheClusters': 'read-only, same reason as DescribeReplicationGroups',
  'elasticache:DescribeSnapshots': 'read-only, same reason as DescribeReplicationGroups',
  'elasticache:ListTagsForResource': 'read-only; the resources are named by operators at run time',
  'elasticache:DescribeCacheParameters':
    "read-only; the source's parameter group is known only at run time (change tracking reads notify-keyspace-events)",
  'elasticache:DescribeCacheParameterGroups': 'read-only, same reason as DescribeCacheParameters',
  'elasticache:DescribeCacheSubnetGroups':
    'read-only; preflight proves the subnet group the new group will use exists, and it is named only at run time',
  'elasticache:DescribeUserGroups':
    "read-only; preflight proves the source's RBAC user groups exist before the new group is created with them",
  'ec2:DescribeNetworkInterfaces':
    'supports no resource-level permissions; Lambda needs it for VPC functions (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions)',
  'logs:CreateLogDelivery':
    'Step Functions log delivery actions support no resource-level permissions (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html#cloudwatch-iam-policy)',
  'logs:GetLogDelivery': 'log delivery, same source as CreateLogDelivery',
  'logs:UpdateLogDelivery': 'log delivery, same source as CreateLogDelivery',
  'logs:DeleteLogDelivery': 'log delivery, same source as CreateLogDelivery',
  'logs:ListLogDeliveries': 'log delivery, same source as CreateLogDelivery',
  'logs:PutResourcePolicy': 'log delivery, same source as CreateLogDelivery',
  'logs:DescribeResourcePolicies': 'log delivery, same source as CreateLogDelivery',
  'logs:DescribeLogGroups': 'log delivery, same source as CreateLogDelivery',
};

/** Wildcard resource patterns (after the account and Region), and why. */
const WILDCARD_RESOURCES: ReadonlyArray<readonly [RegExp, string]> = [
  [
    /^arn:[^:]+:elasticache:[^:]+:\d+:replicationgroup:\*$/,
    'Replication groups are named by operators at run time. Every mutating action on them is narrowed by the tool tags (at-rest-migrator:role source/target) and, for CreateReplicationGroup, by elasticache:AtRestEncryptionEnabled and elasticache:KmsKeyId (infra/lib/permissions.ts)',
  ],
  [
    /^arn:[^:]+:elasticache:[^:]+:\d+:cluster:\*$/,
    'Nodes of groups named at run time. Tagging and snapshotting them are tag-conditioned; creating them is only possible together with the conditioned replication-group statement',
  ],
  [
    /^arn:[^:]+:elasticache:[^:]+:\d+:snapshot:\*-mig-\*$/,
    'Intermediate snapshots are named <source>-mig-<id> per migration, so the naming contract is the narrowest ARN; deletion also requires the migration-id tag',
  ],
  [
    /^arn:[^:]+:elasticache:[^:]+:\d+:snapshot:\*-final-\*$/,
    'Final snapshots are named <source>-final-<id> per migration; only creating them (as part of deleting a tag-marked source) is allowed',
  ],
  [
    /^arn:[^:]+:elasticache:[^:]+:\d+:(parametergroup|subnetgroup|usergroup):\*$/,
    "The restore reuses the source's parameter, subnet and user groups, known only at run time; CreateReplicationGroup on them only succeeds together with the conditioned replication-group statement. Change tracking (operator consent: cutover.changeTracking) creates a copy of the source's default parameter group or sets notify-keyspace-events in its custom one, and puts it back; parameter groups carry none of the tool's tags, and moving a replication group to one is narrowed to tag-marked sources",
  ],
  [
    /^arn:[^:]+:secretsmanager:[^:]+:\d+:secret:\*$/,
    'Secret names are chosen by operators; access is limited to secrets tagged at-rest-migrator:allowed=true in this account and Region',
  ],
  [
    /^arn:[^:]+:ec2:[^:]+:\d+:network-interface\/\*$/,
    'Lambda generates the IDs of the network interfaces of a VPC function; creation is limited to the configured subnets and security group (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions)',
  ],
  [
    /^arn:[^:]+:cloudwatch:[^:]+:\d+:alarm:\*$/,
    "The source's CloudWatch alarms have operators' names and are found by their dimensions: reading (DescribeAlarms, ListTagsForResource) is account-wide; tagging is limited to the two tool tags with role source-alarm, and deleting to alarms that carry that mark (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_alarms_and_tagging.html)",
  ],
  [
    /^arn:[^:]+:cloudwatch:[^:]+:\d+:alarm:at-rest-migrator\/\*$/,
    'Alarms a migration creates for the new group are named at-rest-migrator/<target id>/...; the name prefix is the narrowest ARN for names derived at run time',
  ],
  [
    /^arn:[^:]+:states:[^:]+:\d+:execution:.+:\*$/,
    'Executions of one state machine (execution:<its name>:*), read by the migrations API: their names are the migration ids operators choose when they start one; DescribeExecution and GetExecutionHistory only',
  ],
  [
    /^arn:[^:]+:route53:::change\/\*$/,
    'Route 53 generates change IDs; GetChange is read-only and needed to know a DNS change is in sync',
  ],
];

interface Statement {
  readonly Effect?: string;
  readonly Action?: string | string[];
  readonly Resource?: unknown;
}

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/**
 * An ARN built with Fn::Join (a token inside, such as a state machine's name) as cdk-nag names it
 * in a finding: the parts joined, each non-string part as its JSON.
 */
function flattenJoin(resource: unknown): unknown {
  const join = (resource as { 'Fn::Join'?: [string, unknown[]] } | undefined)?.['Fn::Join'];
  if (!Array.isArray(join)) return resource;
  const [separator, parts] = join;
  return parts.map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join(separator);
}

function acknowledgePolicyWildcards(policy: CfnPolicy): void {
  const stack = Stack.of(policy);
  const document = stack.resolve(policy.policyDocument) as { Statement?: Statement[] };
  const starActions = new Set<string>();
  const wildcardResources = new Set<string>();
  for (const statement of document.Statement ?? []) {
    if (statement.Effect !== 'Allow') continue;
    const actions = asArray(statement.Action);
    const resources = asArray(statement.Resource)
      .map(flattenJoin)
      .filter((r): r is string => typeof r === 'string');
    if (resources.includes('*')) {
      for (const action of actions) starActions.add(action);
    }
    for (const resource of resources) {
      if (resource !== '*' && resource.includes('*')) wildcardResources.add(resource);
    }
  }

  if (starActions.size > 0) {
    const unexplained = [...starActions].filter((action) => STAR_RESOURCE_ACTIONS[action] === undefined);
    if (unexplained.length === 0) {
      const reasons = [...starActions].sort().map((action) => `${action}: ${STAR_RESOURCE_ACTIONS[action]}`);
      acknowledge(policy, {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: `Resource * only for: ${reasons.join('; ')}`,
      });
    }
  }
  for (const resource of wildcardResources) {
    const match = WILDCARD_RESOURCES.find(([pattern]) => pattern.test(resource));
    if (match !== undefined) {
      acknowledge(policy, { id: `AwsSolutions-IAM5[Resource::${resource}]`, reason: match[1] });
    }
  }
}

/**
 * Acknowledges the accepted findings of every resource under `scope`, at synthesis time, so that
 * statements added after construction are judged too.
 */
export function acknowledgeFindings(scope: IConstruct): void {
  Aspects.of(scope).add({ visit: acknowledgeResource });
}

function acknowledgeResource(construct: IConstruct): void {
  if (construct instanceof CfnPolicy) {
    acknowledgePolicyWildcards(construct);
  } else if (construct instanceof CfnFunction) {
    acknowledge(
      construct,
      {
        id: 'Serverless-LambdaDLQ',
        reason:
          'Invoked synchronously only: by Step Functions (lambda:invoke tasks; failures return to the state machine, whose Retry/Catch handle them and whose history keeps the payload) or, for the migrations API, by API Gateway (the caller gets the error). A dead-letter queue only receives asynchronous invocations, which never happen here',
      },
      {
        id: 'Serverless-LambdaLatestVersion',
        reason:
          'The project targets nodejs22.x, the runtime the handlers are built and tested for (package.json engines, esbuild target node22); moving to a newer runtime is a deliberate, tested change',
      },
      {
        id: 'AwsSolutions-L1',
        reason: 'Same as Serverless-LambdaLatestVersion: nodejs22.x is the tested runtime of this project',
      },
    );
  } else if (
    CfnResource.isCfnResource(construct) &&
    construct.cfnResourceType === 'AWS::SNS::Topic' &&
    construct.node.scope?.node.id === 'CacheEventsTopic'
  ) {
    acknowledge(construct, {
      id: 'AwsSolutions-SNS2',
      reason:
        'ElastiCache cannot publish its event notifications (the backup-failure watch) to a topic with server-side encryption: an encrypted topic turns inactive and is disassociated from the group (docs/aws-behaviour.md, CloudWatch). The messages hold group and node ids and event texts, no cache data; transport is TLS-only (enforceSSL)',
    });
  } else if (
    CfnResource.isCfnResource(construct) &&
    construct.cfnResourceType === 'AWS::SQS::Queue' &&
    construct.node.scope?.node.id === 'DeliveryFailures'
  ) {
    acknowledge(
      construct,
      {
        id: 'AwsSolutions-SQS3',
        reason:
          'This queue is itself the dead-letter queue of the notification rule and subscriptions; anything landing here raises the NotificationsUndelivered alarm',
      },
      {
        id: 'Serverless-SQSRedrivePolicy',
        reason:
          'This queue is itself a dead-letter queue; a further queue behind it would have nothing to receive',
      },
    );
  }
}
