import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ISecurityGroup, ISubnet, IVpc } from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  ApplicationLogLevel,
  Architecture,
  LoggingFormat,
  Runtime,
  SystemLogLevel,
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Log levels shared by Powertools (`POWERTOOLS_LOG_LEVEL`) and Lambda's log filtering. */
export type MigratorLogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** Placement of a function inside a VPC. */
export interface MigratorFunctionVpcPlacement {
  /** The VPC (imported by ID; no lookup). */
  readonly vpc: IVpc;
  /** Subnets the function's network interfaces are created in. */
  readonly subnets: readonly ISubnet[];
  /** Security groups of the function's network interfaces. */
  readonly securityGroups: readonly ISecurityGroup[];
}

export interface MigratorFunctionProps {
  /** Absolute path of the handler file; it must export `handler`. */
  readonly entry: string;
  /** What the function does, shown in the console. */
  readonly description: string;
  /**
   * Memory in MB. Explicit so that cdk-nag and readers see it; CPU scales with it.
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Maximum run time of one invocation. Steps poll through Step Functions Wait states, so an
   * invocation only makes a few API calls.
   * @default Duration.minutes(1)
   */
  readonly timeout?: Duration;
  /**
   * Level of the function's logs (Powertools and Lambda's own filter).
   * @default 'INFO'
   */
  readonly logLevel?: MigratorLogLevel;
  /**
   * Retention of the function's log group.
   * @default RetentionDays.ONE_YEAR
   */
  readonly logRetention?: RetentionDays;
  /**
   * `POWERTOOLS_SERVICE_NAME`.
   * @default 'elasticache-at-rest-migrator'
   */
  readonly serviceName?: string;
  /**
   * Extra environment variables. Prefer `bind`, which sets a variable with its permission.
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Runs the function inside a VPC, with network-interface permissions limited to these subnets and
   * security groups.
   * @default - not in a VPC
   */
  readonly vpcPlacement?: MigratorFunctionVpcPlacement;
  /**
   * The permissions of the function beyond logging and tracing.
   * @default - none
   */
  readonly statements?: readonly PolicyStatement[];
}

/** The banner that gives ESM bundles a `require` for CommonJS dependencies (ioredis, ...). */
const ESM_REQUIRE_SHIM =
  "import { createRequire as __migratorCreateRequire } from 'node:module'; const require = __migratorCreateRequire(import.meta.url);";

/**
 * The one way this project deploys a Lambda function: Node.js 22 on arm64, active tracing, explicit
 * memory and timeout, a log group with retention, JSON logs at the configured level, and a local
 * esbuild bundle (no Docker) holding only the code and SDK clients the handler imports.
 *
 * The role is created here with no managed policy: logs may only be written to the function's own
 * log group, and every other permission is passed in or bound explicitly.
 */
export class MigratorFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: MigratorFunctionProps) {
    super(scope, id);
    const logLevel = props.logLevel ?? 'INFO';

    this.logGroup = new LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.description}`,
    });
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'WriteOwnLogGroup',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    if (props.vpcPlacement !== undefined) {
      for (const statement of networkInterfaceStatements(this, props.vpcPlacement)) {
        this.role.addToPrincipalPolicy(statement);
      }
    }
    for (const statement of props.statements ?? []) {
      this.role.addToPrincipalPolicy(statement);
    }

    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.minutes(1),
      tracing: Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel[logLevel],
      systemLogLevelV2: SystemLogLevel.WARN,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName ?? 'elasticache-at-rest-migrator',
        POWERTOOLS_LOG_LEVEL: logLevel,
        ...props.environment,
      },
      ...(props.vpcPlacement === undefined
        ? {}
        : {
            vpc: props.vpcPlacement.vpc,
            vpcSubnets: { subnets: [...props.vpcPlacement.subnets] },
            securityGroups: [...props.vpcPlacement.securityGroups],
            allowPublicSubnet: false,
          }),
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_SHIM,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // Bundle the SDK clients instead of using the runtime's copy: the handlers are tested against
        // the versions pinned in package-lock.json, and tree-shaking keeps only the clients imported.
        externalModules: [],
        forceDockerBundling: false,
      },
    });
  }

  /**
   * Sets an environment variable together with the permissions its value implies, so that the two
   * cannot drift apart.
   */
  bind(name: string, value: string, ...statements: PolicyStatement[]): this {
    this.function.addEnvironment(name, value);
    for (const statement of statements) {
      this.role.addToPrincipalPolicy(statement);
    }
    return this;
  }
}

/**
 * The execution role creates and removes the function's Hyperplane network interfaces. Creation is
 * limited to the configured subnets and security groups. `DescribeNetworkInterfaces` supports no
 * resource-level permission; `DeleteNetworkInterface` and the IP assignment actions act on interfaces
 * whose IDs Lambda generates, so they are limited to this account and Region's interfaces.
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions
 */
function networkInterfaceStatements(
  scope: Construct,
  placement: MigratorFunctionVpcPlacement,
): PolicyStatement[] {
  const stack = Stack.of(scope);
  const ec2Arn = (resource: string) =>
    `arn:${stack.partition}:ec2:${stack.region}:${stack.account}:${resource}`;
  return [
    new PolicyStatement({
      sid: 'CreateNetworkInterfacesInConfiguredSubnets',
      actions: ['ec2:CreateNetworkInterface'],
      resources: [
        ec2Arn('network-interface/*'),
        ...placement.subnets.map((subnet) => ec2Arn(`subnet/${subnet.subnetId}`)),
        ...placement.securityGroups.map((group) => ec2Arn(`security-group/${group.securityGroupId}`)),
      ],
    }),
    new PolicyStatement({
      sid: 'ManageOwnNetworkInterfaces',
      actions: [
        'ec2:DeleteNetworkInterface',
        'ec2:AssignPrivateIpAddresses',
        'ec2:UnassignPrivateIpAddresses',
      ],
      resources: [ec2Arn('network-interface/*')],
    }),
    new PolicyStatement({
      sid: 'DescribeNetworkInterfaces',
      actions: ['ec2:DescribeNetworkInterfaces'],
      resources: ['*'],
    }),
  ];
}
