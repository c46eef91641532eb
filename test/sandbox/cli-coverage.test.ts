import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Every AWS SDK command the Lambda code sends is also made by the AWS CLI v2 (botocore, AWS's own
 * models) against the sandbox, so a wire difference the JS SDK forgives cannot hide
 * (docs/aws-behaviour.md: Independent clients). The table maps each command, by its client
 * package, to the CLI operation that makes it and the test file that runs it; this test reads
 * `lambdas/` and fails for a command without an entry, an entry no longer used, or an entry whose
 * test file does not run that CLI operation.
 */
const COVERAGE: Record<string, { cli: string; test: string }> = {
  'client-cloudwatch DeleteAlarms': {
    cli: 'cloudwatch delete-alarms',
    test: 'test/sandbox/cloudwatch.test.ts',
  },
  'client-cloudwatch DescribeAlarms': {
    cli: 'cloudwatch describe-alarms',
    test: 'test/sandbox/cloudwatch.test.ts',
  },
  'client-cloudwatch ListTagsForResource': {
    cli: 'cloudwatch list-tags-for-resource',
    test: 'test/sandbox/cloudwatch.test.ts',
  },
  'client-cloudwatch PutMetricAlarm': {
    cli: 'cloudwatch put-metric-alarm',
    test: 'test/sandbox/cloudwatch.test.ts',
  },
  'client-cloudwatch TagResource': {
    cli: 'cloudwatch tag-resource',
    test: 'test/sandbox/workflow-calls-cli.test.ts',
  },
  'client-cloudwatch UntagResource': {
    cli: 'cloudwatch untag-resource',
    test: 'test/sandbox/workflow-calls-cli.test.ts',
  },
  'client-dynamodb BatchGetItem': {
    cli: 'dynamodb batch-get-item',
    test: 'test/sandbox/workflow-calls-cli.test.ts',
  },
  'client-dynamodb BatchWriteItem': {
    cli: 'dynamodb batch-write-item',
    test: 'test/sandbox/workflow-calls-cli.test.ts',
  },
  'client-dynamodb DeleteItem': {
    cli: 'dynamodb delete-item',
    test: 'test/sandbox/workflow-calls-cli.test.ts',
  },
  'client-dynamodb GetItem': { cli: 'dynamodb get-item', test: 'test/sandbox/workflow-calls-cli.test.ts' },
  'client-dynamodb PutItem': { cli: 'dynamodb put-item', test: 'test/sandbox/workflow-calls-cli.test.ts' },
  'client-dynamodb UpdateItem': {
    cli: 'dynamodb update-item',
    test: 'test/sandbox/workflow-calls-cli.test.ts',
  },
  'client-elasticache AddTagsToResource': {
    cli: 'elasticache add-tags-to-resource',
    test: 'test/sandbox/elasticache-cli.test.ts',
  },
  'client-elasticache CreateCacheParameterGroup': {
    cli: 'elasticache create-cache-parameter-group',
    test: 'test/sandbox/parameter-groups.test.ts',
  },
  'client-elasticache CreateReplicationGroup': {
    cli: 'elasticache create-replication-group',
    test: 'test/sandbox/workflow-calls-cli.test.ts',
  },
  'client-elasticache CreateSnapshot': {
    cli: 'elasticache create-snapshot',
    test: 'test/sandbox/workflow-calls-cli.test.ts',
  },
  'client-elasticache DeleteCacheParameterGroup': {
    cli: 'elasticache delete-cache-parameter-group',
    test: 'test/sandbox/workflow-calls-cli.test.ts',
  },
  'client-elasticache DeleteReplicationGroup': {
    cli: 'elasticache delete-replication-group',
    test: 'test/sandbox/workflow-calls-cli.test.ts',
  },
  'client-elasticache DeleteSnapshot': {
    cli: 'elasticache delete-snapshot',
    test: 'test/sandbox/workflow-calls-cli.test.ts',
  },
  'client-elasticache DescribeCacheClusters': {
    cli: 'elasticache describe-cache-clusters',
    test: 'test/sandbox/pagination.test.ts',
  },
  'client-elasticache DescribeCacheParameterGroups': {
    cli: 'elasticache describe-cache-parameter-groups',
    test: 'test/sandbox/workflow-calls-cli.test.ts',
  },
  'client-elasticache DescribeCacheParameters': {
    cli: 'elasticache describe-cache-parameters',
    test: 'test/sandbox/pagination.test.ts',
  },
  'client-elasticache DescribeCacheSubnetGroups': {
    cli: 'elasticache describe-cache-subnet-groups',
    test: 'test/sandbox/elasticache-cli.test.ts',
  },
  'client-elasticache DescribeReplicationGroups': {
    cli: 'elasticache describe-replication-groups',
    test: 'test/sandbox/pagination.test.ts',
  },
  'client-elasticache DescribeSnapshots': {
    cli: 'elasticache describe-snapshots',
    test: 'test/sandbox/workflow-calls-cli.test.ts',
  },
  'client-elasticache DescribeUserGroups': {
    cli: 'elasticache describe-user-groups',
    test: 'test/sandbox/elasticache-cli.test.ts',
  },
  'client-elasticache ListTagsForResource': {
    cli: 'elasticache list-tags-for-resource',
    test: 'test/sandbox/elasticache-cli.test.ts',
  },
  'client-elasticache ModifyCacheParameterGroup': {
    cli: 'elasticache modify-cache-parameter-group',
    test: 'test/sandbox/parameter-groups.test.ts',
  },
  'client-elasticache ModifyReplicationGroup': {
    cli: 'elasticache modify-replication-group',
    test: 'test/sandbox/parameter-groups.test.ts',
  },
  'client-elasticache RemoveTagsFromResource': {
    cli: 'elasticache remove-tags-from-resource',
    test: 'test/sandbox/elasticache-cli.test.ts',
  },
  'client-eventbridge PutEvents': {
    cli: 'events put-events',
    test: 'test/sandbox/workflow-calls-cli.test.ts',
  },
  'client-kms DescribeKey': { cli: 'kms describe-key', test: 'test/sandbox/workflow-calls-cli.test.ts' },
  'client-route-53 ChangeResourceRecordSets': {
    cli: 'route53 change-resource-record-sets',
    test: 'test/sandbox/route53-cli.test.ts',
  },
  'client-route-53 GetChange': { cli: 'route53 get-change', test: 'test/sandbox/route53-cli.test.ts' },
  'client-route-53 GetHostedZone': {
    cli: 'route53 get-hosted-zone',
    test: 'test/sandbox/workflow-calls-cli.test.ts',
  },
  'client-route-53 ListResourceRecordSets': {
    cli: 'route53 list-resource-record-sets',
    test: 'test/sandbox/pagination.test.ts',
  },
  'client-s3 PutObject': { cli: 's3api put-object', test: 'test/sandbox/workflow-calls-cli.test.ts' },
  'client-secrets-manager GetSecretValue': {
    cli: 'secretsmanager get-secret-value',
    test: 'test/sandbox/workflow-calls-cli.test.ts',
  },
  'client-sfn DescribeExecution': {
    cli: 'stepfunctions describe-execution',
    test: 'test/sandbox/stepfunctions-cli.test.ts',
  },
  'client-sfn DescribeStateMachineForExecution': {
    cli: 'stepfunctions describe-state-machine-for-execution',
    test: 'test/sandbox/stepfunctions-cli.test.ts',
  },
  'client-sfn GetExecutionHistory': {
    cli: 'stepfunctions get-execution-history',
    test: 'test/sandbox/stepfunctions-cli.test.ts',
  },
  'client-sfn ListExecutions': {
    cli: 'stepfunctions list-executions',
    test: 'test/sandbox/stepfunctions-cli.test.ts',
  },
  'client-sfn SendTaskFailure': {
    cli: 'stepfunctions send-task-failure',
    test: 'test/sandbox/stepfunctions-cli.test.ts',
  },
  'client-sfn SendTaskSuccess': {
    cli: 'stepfunctions send-task-success',
    test: 'test/sandbox/stepfunctions-cli.test.ts',
  },
  'client-sfn StartExecution': {
    cli: 'stepfunctions start-execution',
    test: 'test/sandbox/stepfunctions-cli.test.ts',
  },
  'client-sfn StopExecution': {
    cli: 'stepfunctions stop-execution',
    test: 'test/sandbox/stepfunctions-cli.test.ts',
  },
  'client-sns Publish': { cli: 'sns publish', test: 'test/sandbox/workflow-calls-cli.test.ts' },
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

/**
 * `client-x Operation` → the files that send it, for every `new XCommand(` and `paginateX(` of
 * a source file whose name was imported from `@aws-sdk/client-x` (aliases followed).
 */
function sdkCommandsOf(files: { path: string; text: string }[]): Map<string, string[]> {
  const used = new Map<string, string[]>();
  for (const { path, text } of files) {
    const imported = new Map<string, { client: string; name: string }>();
    for (const m of text.matchAll(
      /import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*['"]@aws-sdk\/(client-[a-z0-9-]+)['"]/g,
    )) {
      for (const spec of (m[1] ?? '').split(',')) {
        const [name, alias] = spec
          .trim()
          .replace(/^type\s+/, '')
          .split(/\s+as\s+/)
          .map((s) => s.trim());
        if (name) imported.set(alias ?? name, { client: m[2] ?? '', name });
      }
    }
    const calls = [
      ...[...text.matchAll(/new\s+(\w+)\s*\(/g)].map((m) => m[1] ?? ''),
      ...[...text.matchAll(/\b(paginate\w+)\s*\(/g)].map((m) => m[1] ?? ''),
    ];
    for (const local of calls) {
      const from = imported.get(local);
      if (!from) continue;
      const operation = from.name.startsWith('paginate')
        ? from.name.slice('paginate'.length)
        : from.name.endsWith('Command')
          ? from.name.slice(0, -'Command'.length)
          : undefined;
      if (!operation) continue; // a client, not a command
      const key = `${from.client} ${operation}`;
      used.set(key, [...new Set([...(used.get(key) ?? []), path])]);
    }
  }
  return used;
}

const lambdaFiles = () => sourceFiles('lambdas').map((path) => ({ path, text: readFileSync(path, 'utf8') }));

describe('AWS CLI coverage of the Lambda code', () => {
  it('has a CLI test for every AWS SDK command the Lambda code sends', () => {
    const used = sdkCommandsOf(lambdaFiles());
    expect(used.size).toBeGreaterThan(40);
    const missing = [...used]
      .filter(([key]) => !COVERAGE[key])
      .map(([key, files]) => `${key} (${files.join(', ')})`);
    expect(missing, 'add each to COVERAGE with the AWS CLI test that makes the call').toEqual([]);
  });

  it('lists no command the Lambda code no longer sends', () => {
    const used = sdkCommandsOf(lambdaFiles());
    expect(Object.keys(COVERAGE).filter((key) => !used.has(key))).toEqual([]);
  });

  it('names, for each command, a test file that runs that AWS CLI operation', () => {
    const wrong = Object.entries(COVERAGE).filter(([, { cli, test }]) => {
      const [service, operation] = cli.split(' ');
      const text = readFileSync(test, 'utf8');
      // The CLI's arguments as the tests write them: ['service', 'operation', ...], on one line or several.
      return !new RegExp(`'${service}',\\s*'${operation}'`).test(text) || !text.includes('awsCli(');
    });
    expect(wrong.map(([key, { cli, test }]) => `${key}: no 'aws ${cli}' in ${test}`)).toEqual([]);
  });

  it('finds commands by their client package, through aliases and paginators (compliant and non-compliant sources)', () => {
    const found = sdkCommandsOf([
      {
        path: 'a.ts',
        text: [
          "import { GetItemCommand as Get, DynamoDBClient } from '@aws-sdk/client-dynamodb';",
          "import { paginateDescribeSnapshots } from '@aws-sdk/client-elasticache';",
          "import { Command } from 'commander';",
          'new DynamoDBClient({}); await c.send(new Get({})); paginateDescribeSnapshots({ client }, {}); new Command();',
        ].join('\n'),
      },
    ]);
    expect([...found.keys()].sort()).toEqual([
      'client-dynamodb GetItem',
      'client-elasticache DescribeSnapshots',
    ]);
  });
});
