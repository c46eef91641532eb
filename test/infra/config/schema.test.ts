// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ASL definition placeholders are literal text, not template strings
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  loadConfigFile,
  type MigratorConfigInput,
  normalizeRecordName,
  parseConfig,
} from '../../../infra/config/schema.js';
import { exampleConfig } from '../support.js';

function problemsOf(change: (config: MigratorConfigInput) => unknown): readonly string[] {
  try {
    parseConfig(change(exampleConfig()));
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected the configuration to be refused');
}

describe('the configuration', () => {
  it('accepts the example file and fills in the defaults', () => {
    const config = parseConfig(exampleConfig());
    expect(config.account).toBe('123456789012');
    expect(config.kms).toEqual({ mode: 'create', alias: 'alias/elasticache-at-rest', additionalKeyArns: [] });
    expect(config.logging).toEqual({ level: 'INFO', retentionDays: 365, includeExecutionData: true });
    expect(config.network.cachePort).toBe(6379);
  });

  it.each([
    [
      'account',
      (c: MigratorConfigInput) => ({ ...c, account: '1234' }),
      'account: expected a 12-digit AWS account ID, got "1234"',
    ],
    [
      'region',
      (c: MigratorConfigInput) => ({ ...c, region: 'Ireland' }),
      'region: expected an AWS Region code',
    ],
    [
      'a subnet',
      (c: MigratorConfigInput) => ({
        ...c,
        network: { ...c.network, subnetIds: ['subnet-0123456789abcdef0', 'sn-1'] },
      }),
      'network.subnetIds[1]: expected a subnet ID such as subnet-0123456789abcdef0, got "sn-1"',
    ],
    [
      'the cache port',
      (c: MigratorConfigInput) => ({ ...c, network: { ...c.network, cachePort: 70000 } }),
      'network.cachePort:',
    ],
    [
      'the key ARN of an existing key',
      (c: MigratorConfigInput) => ({ ...c, kms: { mode: 'existing', keyArn: 'alias/my-key' } }),
      'kms.keyArn: expected a KMS key ARN',
    ],
    ['the key mode', (c: MigratorConfigInput) => ({ ...c, kms: { mode: 'reuse' } }), 'kms.mode:'],
    [
      'the log retention',
      (c: MigratorConfigInput) => ({ ...c, logging: { retentionDays: 42 } }),
      'logging.retentionDays: expected one of the CloudWatch Logs retention values',
    ],
    ['the log level', (c: MigratorConfigInput) => ({ ...c, logging: { level: 'TRACE' } }), 'logging.level:'],
    [
      'a notification address',
      (c: MigratorConfigInput) => ({ ...c, notifications: { emails: ['oncall'] } }),
      'notifications.emails[0]: expected an email address, got "oncall"',
    ],
    ['a misspelt key', (c: MigratorConfigInput) => ({ ...c, netwrok: {} }), 'netwrok'],
  ])('refuses a bad %s, naming the key and what was expected', (_name, change, expected) => {
    const problems = problemsOf(change);
    expect(
      problems.some((problem) => problem.startsWith(expected) || problem.includes(expected)),
      problems.join('\n'),
    ).toBe(true);
  });

  it('refuses a record name outside its hosted zone', () => {
    const problems = problemsOf((c) => ({
      ...c,
      dns: {
        hostedZones: [
          { id: 'Z0123456789ABCDEFGHIJ', name: 'internal.example.com', recordNames: ['cache.example.org'] },
        ],
      },
    }));
    expect(problems).toEqual([
      'dns.hostedZones[0].recordNames[0]: expected a name inside the zone internal.example.com, got "cache.example.org"',
    ]);
  });

  it('refuses a key from another Region, which ElastiCache could not use', () => {
    const problems = problemsOf((c) => ({
      ...c,
      kms: {
        mode: 'existing',
        keyArn: 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555',
      },
    }));
    expect(problems).toEqual([
      'kms.keyArn: expected a key in the deployment region eu-west-1 (ElastiCache cannot use a key from another Region), got one in us-east-1',
    ]);
  });

  it('requires a way for the verifier to reach the caches and the AWS APIs', () => {
    const problems = problemsOf((c) => ({
      ...c,
      network: { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0123456789abcdef0'] },
    }));
    expect(problems).toEqual([
      'network.cacheSecurityGroupIds: expected cache security group IDs or a cacheCidr, so the verifier can reach the caches',
      'network.awsApiEndpointSecurityGroupIds: expected VPC endpoint security group IDs or an awsApiCidr, so the verifier can reach Secrets Manager and ElastiCache',
    ]);
  });

  it('refuses an existing approval topic together with addresses it cannot subscribe', () => {
    const problems = problemsOf((c) => ({
      ...c,
      approval: { topicArn: 'arn:aws:sns:eu-west-1:123456789012:approvals', emails: ['a@example.com'] },
    }));
    expect(problems[0]).toMatch(/^approval\.emails: expected either topicArn/);
  });

  it('reports every problem at once, in one error message', () => {
    expect(() => parseConfig({ ...exampleConfig(), account: 'x', region: 'y' })).toThrow(
      /Invalid configuration:\n {2}- account: .*\n {2}- region: /,
    );
  });

  it('names the file when it cannot be read or parsed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'migrator-config-'));
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{ "account": ');
    expect(() => loadConfigFile(broken)).toThrow(`Configuration file ${broken} is not valid JSON`);
    expect(() => loadConfigFile(join(dir, 'missing.json'))).toThrow(
      /Cannot read configuration file .*missing\.json/,
    );
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...exampleConfig(), account: '1' }));
    expect(() => loadConfigFile(bad)).toThrow(`Invalid configuration file ${bad}:`);
  });
});

describe('record name normalization', () => {
  it('lower-cases names, drops the trailing dot and escapes a leading wildcard as Route 53 does', () => {
    expect(normalizeRecordName('Orders-Cache.Example.COM.')).toBe('orders-cache.example.com');
    expect(normalizeRecordName('*.example.com')).toBe('\\052.example.com');
  });
});
