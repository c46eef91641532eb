import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigurationError, readConfiguration, requireEnv } from '../../../lambdas/shared/env.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('the configuration', () => {
  it('reads every setting from its variable, typed, with the defaults of a deployment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'env-test-'));
    writeFileSync(join(dir, 'ca.pem'), PEM);
    const config = readConfiguration({
      DEFAULT_KMS_KEY_ID: 'alias/elasticache-at-rest',
      APPROVAL_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:migration-approvals',
      MIGRATIONS_TABLE_NAME: 'MigratorStack-Migrations1A2B3C',
      ALLOWED_HOSTED_ZONE_IDS: ' Z0123456789ABCDEFGHIJ, /hostedzone/ZORDERS ,',
      VERIFY_TIME_BUDGET_MS: '3000',
      DNS_SERVERS: '127.0.0.1:5353, [::1]:53, 10.0.0.2',
      REDIS_TLS_CA_FILE: join(dir, 'ca.pem'),
    });
    expect(config).toMatchObject({
      defaultKmsKeyId: 'alias/elasticache-at-rest',
      approvalTopicArn: 'arn:aws:sns:us-east-1:123456789012:migration-approvals',
      migrationsTableName: 'MigratorStack-Migrations1A2B3C',
      allowedHostedZoneIds: ['Z0123456789ABCDEFGHIJ', 'ZORDERS'],
      verifyTimeBudgetMs: 3000,
      dnsServers: ['127.0.0.1:5353', '[::1]:53', '10.0.0.2'],
      redisTlsCaPem: PEM,
    });
    const unset = readConfiguration({ DEFAULT_KMS_KEY_ID: '' });
    expect(unset.defaultKmsKeyId).toBeUndefined();
    expect(unset.verifyTimeBudgetMs).toBe(600_000);
    expect(unset.allowedHostedZoneIds).toEqual([]);
    expect(unset.dnsServers).toEqual([]);
    expect(unset.redisTlsCaPem).toBeUndefined();
  });

  it.each([
    ['VERIFY_TIME_BUDGET_MS', '10m', /VERIFY_TIME_BUDGET_MS is '10m', not a whole number of at least 1/],
    ['VERIFY_TIME_BUDGET_MS', '0', /VERIFY_TIME_BUDGET_MS is '0'/],
    [
      'DNS_SERVERS',
      '127.0.0.1:5353,ns1.example.com:53',
      /DNS_SERVERS lists 'ns1.example.com:53', not an IP address/,
    ],
    ['DNS_SERVERS', '127.0.0.1:99999', /DNS_SERVERS lists '127.0.0.1:99999'/],
    [
      'ALLOWED_HOSTED_ZONE_IDS',
      'Z123,example.com',
      /ALLOWED_HOSTED_ZONE_IDS lists 'example.com', not a Route 53 hosted zone id/,
    ],
    [
      'APPROVAL_TOPIC_ARN',
      'migration-approvals',
      /APPROVAL_TOPIC_ARN is 'migration-approvals', not an SNS topic ARN/,
    ],
    ['MIGRATIONS_TABLE_NAME', 'a b', /MIGRATIONS_TABLE_NAME is 'a b', not a DynamoDB table name/],
    [
      'REDIS_TLS_CA_FILE',
      '/nonexistent/ca.pem',
      /REDIS_TLS_CA_FILE names '\/nonexistent\/ca.pem', which cannot be read/,
    ],
  ])('refuses %s=%s with an error that names the variable and what it is for', (name, value, message) => {
    const keys = {
      VERIFY_TIME_BUDGET_MS: 'verifyTimeBudgetMs',
      DNS_SERVERS: 'dnsServers',
      ALLOWED_HOSTED_ZONE_IDS: 'allowedHostedZoneIds',
      APPROVAL_TOPIC_ARN: 'approvalTopicArn',
      MIGRATIONS_TABLE_NAME: 'migrationsTableName',
      REDIS_TLS_CA_FILE: 'redisTlsCaPem',
    } as const;
    const config = readConfiguration({ [name]: value });
    const read = () => config[keys[name as keyof typeof keys]];
    expect(read).toThrow(ConfigurationError);
    expect(read).toThrow(message);
    expect(read).toThrow(/it is needed /);
  });

  it('refuses a CA file that holds no certificate', () => {
    const dir = mkdtempSync(join(tmpdir(), 'env-test-'));
    writeFileSync(join(dir, 'ca.pem'), 'not a certificate');
    expect(() => readConfiguration({ REDIS_TLS_CA_FILE: join(dir, 'ca.pem') }).redisTlsCaPem).toThrow(
      /REDIS_TLS_CA_FILE names '.*ca.pem', which holds no PEM certificate/,
    );
  });

  it('reads a variable once: a later change of the environment is not seen', () => {
    const source: Record<string, string> = { VERIFY_TIME_BUDGET_MS: '3000' };
    const config = readConfiguration(source);
    expect(config.verifyTimeBudgetMs).toBe(3000);
    source.VERIFY_TIME_BUDGET_MS = '9000';
    expect(config.verifyTimeBudgetMs).toBe(3000);
  });

  it('does not fail a function over a variable it never reads', () => {
    const config = readConfiguration({ VERIFY_TIME_BUDGET_MS: 'soon', DEFAULT_KMS_KEY_ID: 'alias/k' });
    expect(config.defaultKmsKeyId).toBe('alias/k');
  });

  it('says which variable a function needs when it is not set', () => {
    const config = readConfiguration({});
    expect(() => requireEnv('approvalTopicArn', config)).toThrow(
      'Environment variable APPROVAL_TOPIC_ARN is not set; it is needed to publish approval requests.',
    );
    expect(
      requireEnv(
        'approvalTopicArn',
        readConfiguration({ APPROVAL_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:t' }),
      ),
    ).toBe('arn:aws:sns:eu-west-1:123456789012:t');
  });
});

describe('the Lambda code', () => {
  it('reads the environment in lambdas/shared/env.ts only', () => {
    const root = fileURLToPath(new URL('../../../lambdas', import.meta.url));
    const readers = (readdirSync(root, { recursive: true }) as string[])
      .filter((file) => file.endsWith('.ts') && file !== join('shared', 'env.ts'))
      .filter((file) => /process\.env\b/.test(readFileSync(join(root, file), 'utf8')));
    expect(readers).toEqual([]);
  });
});
