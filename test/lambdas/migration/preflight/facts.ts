import type { CacheCluster, ReplicationGroup } from '@aws-sdk/client-elasticache';
import { parseMigrationInput } from '../../../../lambdas/migration/input.js';
import { derive } from '../../../../lambdas/migration/preflight/derive.js';
import type { SourceDetails } from '../../../../lambdas/migration/preflight/reads.js';
import type { RuleContext } from '../../../../lambdas/migration/preflight/rules.js';

/**
 * Facts as preflight reads them for a compliant source: an unencrypted Redis OSS 7.1 group with a
 * primary and a replica, automatic failover, a CNAME pointing at it, a usable customer managed key.
 * Tests change one fact at a time to make a rule refuse or warn.
 */
export const ZONE = 'Z0123456789ABC';
export const RECORD = 'orders.example.internal.';
export const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
export const SOURCE_ARN = 'arn:aws:elasticache:eu-west-1:111122223333:replicationgroup:orders';
export const PRIMARY_ENDPOINT = 'orders.abc123.ng.0001.euw1.cache.amazonaws.com';

export function sourceGroup(overrides: Partial<ReplicationGroup> = {}): ReplicationGroup {
  return {
    ReplicationGroupId: 'orders',
    ARN: SOURCE_ARN,
    Status: 'available',
    Engine: 'redis',
    CacheNodeType: 'cache.r7g.large',
    ClusterEnabled: false,
    AtRestEncryptionEnabled: false,
    TransitEncryptionEnabled: false,
    AuthTokenEnabled: false,
    AutomaticFailover: 'enabled',
    MultiAZ: 'enabled',
    SnapshotRetentionLimit: 1,
    SnapshotWindow: '03:00-04:00',
    MemberClusters: ['orders-001', 'orders-002'],
    NodeGroups: [
      {
        NodeGroupId: '0001',
        PrimaryEndpoint: { Address: PRIMARY_ENDPOINT, Port: 6379 },
        ReaderEndpoint: { Address: 'orders-ro.abc123.ng.0001.euw1.cache.amazonaws.com', Port: 6379 },
        NodeGroupMembers: [
          { CacheClusterId: 'orders-001', CurrentRole: 'primary', PreferredAvailabilityZone: 'eu-west-1a' },
          { CacheClusterId: 'orders-002', CurrentRole: 'replica', PreferredAvailabilityZone: 'eu-west-1b' },
        ],
      },
    ],
    ...overrides,
  };
}

export function member(overrides: Partial<CacheCluster> = {}): CacheCluster {
  return {
    CacheClusterId: 'orders-001',
    Engine: 'redis',
    EngineVersion: '7.1.0',
    CacheNodeType: 'cache.r7g.large',
    CacheSubnetGroupName: 'private-subnets',
    CacheParameterGroup: { CacheParameterGroupName: 'default.redis7' },
    SecurityGroups: [{ SecurityGroupId: 'sg-0123', Status: 'active' }],
    AutoMinorVersionUpgrade: true,
    PreferredMaintenanceWindow: 'sun:05:00-sun:06:00',
    CacheNodes: [
      {
        CacheNodeId: '0001',
        Endpoint: { Address: 'orders-001.abc123.0001.euw1.cache.amazonaws.com', Port: 6379 },
      },
    ],
    ...overrides,
  };
}

export function details(overrides: Partial<SourceDetails> = {}): SourceDetails {
  return {
    member: member(),
    tags: { team: 'payments' },
    claim: undefined,
    key: {
      requested: KEY_ARN,
      metadata: {
        KeyId: '1234abcd-12ab-34cd-56ef-1234567890ab',
        Arn: KEY_ARN,
        KeyState: 'Enabled',
        KeySpec: 'SYMMETRIC_DEFAULT',
        KeyUsage: 'ENCRYPT_DECRYPT',
        KeyManager: 'CUSTOMER',
      },
    },
    target: { id: 'orders-atrest' },
    zones: { [ZONE]: true },
    records: {
      [`${ZONE}/${RECORD}`]: {
        Name: RECORD,
        Type: 'CNAME',
        TTL: 60,
        ResourceRecords: [{ Value: PRIMARY_ENDPOINT }],
      },
    },
    manualSnapshots: [],
    subnetGroup: { name: 'private-subnets', exists: true },
    userGroups: {},
    ...overrides,
  };
}

export const BASE_INPUT = {
  sourceReplicationGroupId: 'orders',
  kmsKeyId: KEY_ARN,
  dnsRecords: [{ hostedZoneId: ZONE, recordName: RECORD }],
};

/** A rule context: the compliant facts, with the given input fields, source and details changed. */
export function context(
  change: {
    input?: Record<string, unknown>;
    source?: Partial<ReplicationGroup>;
    member?: Partial<CacheCluster>;
    details?: Partial<SourceDetails>;
    allowedHostedZoneIds?: string[];
    now?: number;
  } = {},
): RuleContext {
  const input = parseMigrationInput({ ...BASE_INPUT, ...change.input });
  const source = sourceGroup(change.source);
  const facts = details({ ...change.details, member: member(change.member) });
  return {
    input,
    migrationId: 'mig-1',
    source,
    details: facts,
    derived: derive(input, source, facts.member),
    settings: { allowedHostedZoneIds: change.allowedHostedZoneIds ?? [] },
    now: change.now ?? Date.parse('2026-11-29T12:00:00Z'),
  };
}
