import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeReplicationGroupsCommand, ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixtureError, loadFixtureFile, type Sandbox, startSandbox } from '../../sandbox/index.js';
import { sdkConfig } from './sdk-support.js';

const EXAMPLE = 'sandbox/fixtures/example.yaml';

describe('the example fixture', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ fixture: loadFixtureFile(EXAMPLE) });
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('seeds the groups it documents, as an SDK client sees them', async () => {
    const ec = new ElastiCacheClient(sdkConfig(sandbox));
    try {
      const { ReplicationGroups: groups = [] } = await ec.send(new DescribeReplicationGroupsCommand({}));
      const byId = new Map(groups.map((g) => [g.ReplicationGroupId, g]));
      expect([...byId.keys()]).toEqual(['orders-cache', 'catalog-cluster', 'sessions-tls']);
      expect(byId.get('orders-cache')).toMatchObject({
        ClusterEnabled: false,
        AutomaticFailover: 'enabled',
        AtRestEncryptionEnabled: false,
        MemberClusters: ['orders-cache-001', 'orders-cache-002', 'orders-cache-003'],
      });
      expect(byId.get('catalog-cluster')).toMatchObject({ ClusterEnabled: true });
      expect(byId.get('catalog-cluster')?.NodeGroups).toHaveLength(3);
      expect(byId.get('sessions-tls')).toMatchObject({
        TransitEncryptionEnabled: true,
        AuthTokenEnabled: true,
        AtRestEncryptionEnabled: true,
        StorageEncryptionType: 'sse-kms',
      });
    } finally {
      ec.destroy();
    }
  });

  it('points its CNAMEs at the primary and configuration endpoints of its groups', async () => {
    const ec = new ElastiCacheClient(sdkConfig(sandbox));
    const r53 = new Route53Client(sdkConfig(sandbox));
    try {
      const { ReplicationGroups: groups = [] } = await ec.send(new DescribeReplicationGroupsCommand({}));
      const primary = groups.find((g) => g.ReplicationGroupId === 'orders-cache')?.NodeGroups?.[0]
        ?.PrimaryEndpoint;
      const config = groups.find((g) => g.ReplicationGroupId === 'catalog-cluster')?.ConfigurationEndpoint;
      const records = await r53.send(
        new ListResourceRecordSetsCommand({ HostedZoneId: 'Z0SANDBOXINTERNAL' }),
      );
      const cname = (name: string) =>
        records.ResourceRecordSets?.find((r) => r.Name === name && r.Type === 'CNAME')?.ResourceRecords?.[0]
          ?.Value;
      expect(cname('cache.orders.internal.')).toBe(primary?.Address);
      expect(cname('catalog.internal.')).toBe(config?.Address);
    } finally {
      ec.destroy();
      r53.destroy();
    }
  });

  it('keeps the AUTH token in a secret and has a customer-managed key with an alias and a disabled key', async () => {
    const sm = new SecretsManagerClient(sdkConfig(sandbox));
    const kms = new KMSClient(sdkConfig(sandbox));
    try {
      const secret = await sm.send(
        new GetSecretValueCommand({ SecretId: 'elasticache/sessions-tls/auth-token' }),
      );
      expect(secret.SecretString).toMatch(/^[A-Za-z0-9!&#$^<>-]{16,128}$/);
      const key = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/elasticache-at-rest' }));
      expect(key.KeyMetadata).toMatchObject({ KeyManager: 'CUSTOMER', KeyState: 'Enabled' });
      const retired = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/retired-cache-key' }));
      expect(retired.KeyMetadata?.KeyState).toBe('Disabled');
    } finally {
      sm.destroy();
      kms.destroy();
    }
  });
});

describe('a malformed fixture file', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sandbox-fixture-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Writes `text` to a fixture file and returns the error loading it fails with. */
  const loadError = (name: string, text: string): FixtureError => {
    const path = join(dir, name);
    writeFileSync(path, text);
    try {
      loadFixtureFile(path);
    } catch (error) {
      expect(error).toBeInstanceOf(FixtureError);
      expect((error as Error).message).toContain(path);
      return error as FixtureError;
    }
    throw new Error(`expected ${name} to be rejected`);
  };

  it('fails on a YAML syntax error, naming the file and the line', () => {
    const error = loadError(
      'syntax.yaml',
      'elasticache:\n  replicationGroups:\n    - id: orders\n      tags: {team: [\n',
    );
    expect(error.message).toMatch(/not valid YAML/);
    expect(error.message).toMatch(/line \d+/);
  });

  it('fails on invalid JSON in a .json file', () => {
    expect(loadError('syntax.json', '{"elasticache": ').message).toMatch(/not valid JSON/);
  });

  it('fails on a wrong type, naming the path inside the file and the type expected', () => {
    const error = loadError(
      'type.yaml',
      'elasticache:\n  replicationGroups:\n    - id: orders\n    - id: catalog\n      replicasPerShard: two\n',
    );
    expect(error.message).toContain('elasticache.replicationGroups.1.replicasPerShard');
    expect(error.message).toMatch(/expected number/);
  });

  it('fails on an unknown key, naming it and where it is', () => {
    const error = loadError(
      'unknown.yaml',
      'elasticache:\n  replicationGroups:\n    - id: orders\n      replicas: 2\n',
    );
    expect(error.message).toContain('elasticache.replicationGroups.0');
    expect(error.message).toMatch(/Unrecognized key.*replicas/);
  });

  it('fails on a value out of its enumeration, listing the allowed values', () => {
    const error = loadError(
      'enum.yaml',
      'elasticache:\n  replicationGroups:\n    - id: orders\n      engine: memcached\n',
    );
    expect(error.message).toContain('elasticache.replicationGroups.0.engine');
    expect(error.message).toMatch(/redis.*valkey/);
  });

  it('fails on ids that break their pattern, saying what was expected', () => {
    const error = loadError(
      'ids.json',
      JSON.stringify({
        kms: { keys: [{ id: 'my-key' }] },
        elasticache: {
          replicationGroups: [{ id: 'orders--cache' }, { id: 'catalog', securityGroupIds: ['default'] }],
        },
      }),
    );
    expect(error.message).toMatch(/kms\.keys\.0\.id: expected a key id in UUID form/);
    expect(error.message).toMatch(/elasticache\.replicationGroups\.0\.id: expected 1–40 letters/);
    expect(error.message).toMatch(
      /elasticache\.replicationGroups\.1\.securityGroupIds\.0: expected a security group id/,
    );
  });

  it('fails on references to a KMS key, secret or group the fixture does not define', () => {
    const error = loadError(
      'refs.yaml',
      [
        'kms:',
        '  keys: [{ aliases: [alias/real] }]',
        'elasticache:',
        '  replicationGroups:',
        '    - id: orders',
        '      atRestEncryption: true',
        '      kmsKey: alias/missing',
        '      transitEncryption: true',
        '      authTokenSecret: missing/secret',
        'route53:',
        '  hostedZones:',
        '    - name: internal.',
        '      records:',
        '        - name: cache.internal.',
        '          values: [{ group: ghost }]',
        '        - name: orders.internal.',
        '          values: [{ group: orders, endpoint: configuration }]',
      ].join('\n'),
    );
    expect(error.message).toMatch(
      /elasticache\.replicationGroups\.0\.kmsKey: .*'alias\/missing' is not defined/,
    );
    expect(error.message).toMatch(/elasticache\.replicationGroups\.0\.authTokenSecret: .*'missing\/secret'/);
    expect(error.message).toMatch(
      /route53\.hostedZones\.0\.records\.0\.values\.0\.group: .*'ghost' is not defined/,
    );
    expect(error.message).toMatch(
      /route53\.hostedZones\.0\.records\.1\.values\.0\.endpoint: expected primary or reader/,
    );
  });

  it('accepts the same references once they are defined', () => {
    const path = join(dir, 'refs-ok.yaml');
    writeFileSync(
      path,
      [
        'kms:',
        '  keys: [{ aliases: [alias/real] }]',
        'secretsManager:',
        '  secrets: [{ name: real/secret, value: "0123456789abcdef" }]',
        'elasticache:',
        '  replicationGroups:',
        '    - { id: orders, atRestEncryption: true, kmsKey: alias/real, transitEncryption: true, authTokenSecret: real/secret }',
        'route53:',
        '  hostedZones:',
        '    - name: internal.',
        '      records: [{ name: cache.internal., values: [{ group: ORDERS }] }]',
      ].join('\n'),
    );
    expect(loadFixtureFile(path).elasticache.replicationGroups[0]?.kmsKey).toBe('alias/real');
  });

  it('fails when the file does not exist', () => {
    expect(() => loadFixtureFile(join(dir, 'absent.yaml'))).toThrow(
      /Cannot read fixture file .*absent\.yaml/,
    );
  });
});
