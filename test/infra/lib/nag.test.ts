// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ASL definition placeholders are literal text, not template strings
import { Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { nagPacks } from '../../../infra/lib/nag.js';
import { type Synthesized, synthesize } from '../support.js';

function findings(synthesized: Synthesized): string[] {
  return nagPacks(synthesized.app).flatMap((pack) =>
    pack
      .validateScope(synthesized.stack)
      .violations.flatMap((violation) =>
        violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}`),
      ),
  );
}

function acknowledgementsUnder(scope: IConstruct): Array<{ path: string; id: string; reason: string }> {
  return scope.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

describe('cdk-nag', () => {
  it('finds nothing unacknowledged in the AwsSolutions and Serverless packs', () => {
    expect(findings(synthesize())).toEqual([]);
  });

  it('also finds nothing with an existing key, CIDR networking and an existing approval topic', () => {
    const variant = synthesize({
      config: (config) => ({
        ...config,
        kms: {
          mode: 'existing',
          keyArn: 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555',
        },
        network: {
          vpcId: 'vpc-0123456789abcdef0',
          subnetIds: ['subnet-0123456789abcdef0'],
          cacheCidr: '10.0.0.0/16',
          awsApiCidr: '0.0.0.0/0',
        },
        approval: { topicArn: 'arn:aws:sns:eu-west-1:123456789012:approvals' },
        secrets: {
          kmsKeyArns: ['arn:aws:kms:eu-west-1:123456789012:key/66666666-7777-8888-9999-000000000000'],
        },
      }),
    });
    expect(findings(variant)).toEqual([]);
  });

  it('acknowledges each finding and CDK warning by its exact ID, on the resource that has it, with a reason', () => {
    const { stack } = synthesize();
    const acknowledgements = acknowledgementsUnder(stack);
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const { path, id, reason } of acknowledgements) {
      // The finding part may hold brackets: an ARN built from a token is named by its JSON.
      expect(id, path).toMatch(/^((AwsSolutions|Serverless)-[A-Za-z0-9]+(\[.+\])?|@aws-cdk\/[\w-]+:\w+)$/);
      if (id.startsWith('AwsSolutions-IAM5')) expect(id, path).toMatch(/\[(Resource|Action)::.+\]$/);
      expect(reason.length, `${path} ${id}`).toBeGreaterThan(40);
      expect(path, id).not.toBe('Migrator');
    }
    expect(
      stack.node.metadata.filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY),
    ).toEqual([]);
  });

  it('fails on a wildcard permission nobody has explained', () => {
    const unexplained = synthesize({
      configureStack: (stack) => {
        stack.functions.cutover.role.addToPrincipalPolicy(
          new PolicyStatement({ actions: ['s3:GetObject'], resources: ['arn:aws:s3:::some-bucket/*'] }),
        );
        stack.functions.preflight.role.addToPrincipalPolicy(
          new PolicyStatement({ actions: ['ssm:GetParameter'], resources: ['*'] }),
        );
      },
    });
    expect(findings(unexplained)).toEqual([
      'AwsSolutions-IAM5[Resource::*] at Migrator/Preflight/Role/DefaultPolicy/Resource',
      'AwsSolutions-IAM5[Resource::arn:aws:s3:::some-bucket/*] at Migrator/Cutover/Role/DefaultPolicy/Resource',
    ]);
  });
});
