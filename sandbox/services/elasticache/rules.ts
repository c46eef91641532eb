import { AwsFault } from '../../protocol/errors.js';

/**
 * ElastiCache request rules. Each cites its source; the facts are collected with sources in
 * docs/aws-behaviour.md. Each rule has a compliant/non-compliant test pair in
 * test/sandbox/elasticache-rules.test.ts.
 */

const invalid = (message: string) => new AwsFault('InvalidParameterValueException', message);
const combination = (message: string) => new AwsFault('InvalidParameterCombinationException', message);

/**
 * Replication group and snapshot identifiers: 1–40 letters, digits or hyphens, starting with a
 * letter, no two consecutive hyphens, not ending with a hyphen; stored lowercase.
 * https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html
 */
export function checkIdentifier(
  kind: 'ReplicationGroupId' | 'SnapshotName' | 'FinalSnapshotIdentifier',
  value: unknown,
): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new AwsFault('MissingParameter', `The request must contain the parameter ${kind}`);
  }
  const problems: string[] = [];
  if (value.length > 40) problems.push('must contain from 1 to 40 characters');
  if (!/^[A-Za-z]/.test(value)) problems.push('must begin with a letter');
  if (!/^[A-Za-z0-9-]+$/.test(value)) problems.push('must contain only ASCII letters, digits and hyphens');
  if (value.includes('--')) problems.push('cannot contain two consecutive hyphens');
  if (value.endsWith('-')) problems.push('cannot end with a hyphen');
  if (problems.length > 0) throw invalid(`Invalid ${kind} '${value}': ${problems.join('; ')}.`);
  return value.toLowerCase();
}

/**
 * AUTH tokens: only with in-transit encryption; 16–128 printable ASCII characters; of the
 * special characters only ! & # $ ^ < > - are allowed.
 * https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html
 */
export function checkAuthToken(token: string | undefined, transitEncryption: boolean): void {
  if (token === undefined) return;
  if (!transitEncryption) {
    throw combination('AuthToken can only be specified when TransitEncryptionEnabled is true.');
  }
  if (token.length < 16 || token.length > 128) {
    throw invalid('Invalid AuthToken: the token must be between 16 and 128 characters long.');
  }
  // Printable ASCII without space; specials limited to ! & # $ ^ < > -
  if (!/^[A-Za-z0-9!&#$^<>-]+$/.test(token)) {
    throw invalid(
      'Invalid AuthToken: only printable ASCII characters are allowed, and of the special characters only ! & # $ ^ < > -.',
    );
  }
}

function versionAtLeast(version: string, minimum: string): boolean {
  const a = version.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

/**
 * At-rest encryption: Valkey 7.2+ or Redis OSS 4.0.10+. `AtRestEncryptionEnabled` defaults to
 * true for Valkey and false for Redis OSS. `KmsKeyId` requires at-rest encryption.
 * https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/at-rest-encryption.html
 */
export function resolveAtRest(
  engine: 'redis' | 'valkey',
  engineVersion: string,
  requested: boolean | undefined,
  kmsKeyId: string | undefined,
): boolean {
  const enabled = requested ?? engine === 'valkey';
  if (kmsKeyId !== undefined && !enabled) {
    throw combination('KmsKeyId can only be specified when AtRestEncryptionEnabled is true.');
  }
  if (enabled) {
    const minimum = engine === 'valkey' ? '7.2' : '4.0.10';
    if (!versionAtLeast(engineVersion, minimum)) {
      throw combination(
        `At-rest encryption requires ${engine} ${minimum} or later; the engine version is ${engineVersion}.`,
      );
    }
  }
  return enabled;
}

/**
 * In-transit encryption mode (`preferred` / `required`) needs Valkey 7.2+ or Redis OSS 7.0+ and
 * TransitEncryptionEnabled.
 * https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/in-transit-encryption-enable-existing.html
 */
export function checkTransitMode(
  engine: 'redis' | 'valkey',
  engineVersion: string,
  transitEnabled: boolean,
  mode: string | undefined,
): void {
  if (mode === undefined) return;
  if (mode !== 'preferred' && mode !== 'required') {
    throw invalid(`Invalid TransitEncryptionMode '${mode}': expected preferred or required.`);
  }
  if (!transitEnabled)
    throw combination('TransitEncryptionMode requires TransitEncryptionEnabled to be true.');
  const minimum = engine === 'valkey' ? '7.2' : '7.0';
  if (!versionAtLeast(engineVersion, minimum)) {
    throw combination(`TransitEncryptionMode requires ${engine} ${minimum} or later.`);
  }
}

/**
 * Replica and failover combinations:
 * - NumCacheClusters 1–6, at least 2 with automatic failover;
 * - ReplicasPerNodeGroup 0–5;
 * - automatic failover is mandatory with cluster mode enabled;
 * - Multi-AZ requires automatic failover.
 * https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CreateReplicationGroup.html
 * https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/AutoFailover.html
 */
export function checkTopology(options: {
  clusterEnabled: boolean;
  shards: number;
  replicasPerShard: number;
  automaticFailover: boolean;
  multiAz: boolean;
}): void {
  const { clusterEnabled, shards, replicasPerShard, automaticFailover, multiAz } = options;
  if (replicasPerShard < 0 || replicasPerShard > 5) {
    throw invalid(`ReplicasPerNodeGroup must be between 0 and 5; got ${replicasPerShard}.`);
  }
  if (!clusterEnabled) {
    const nodes = replicasPerShard + 1;
    if (nodes > 6) throw invalid(`NumCacheClusters must be between 1 and 6; got ${nodes}.`);
    if (automaticFailover && nodes < 2) {
      throw combination('Automatic failover requires at least 2 cache clusters (NumCacheClusters >= 2).');
    }
  } else {
    if (!automaticFailover)
      throw combination('Automatic failover must be enabled for cluster mode enabled replication groups.');
    if (shards < 1 || shards > 500) throw invalid(`NumNodeGroups must be between 1 and 500; got ${shards}.`);
  }
  if (multiAz && !automaticFailover) {
    throw combination('Multi-AZ can only be enabled when automatic failover is enabled.');
  }
}

/** Security group ids as VPC uses them. https://docs.aws.amazon.com/vpc/latest/userguide/vpc-security-groups.html */
export function checkSecurityGroupIds(ids: string[] | undefined): void {
  for (const id of ids ?? []) {
    if (!/^sg-[0-9a-f]{8,17}$/.test(id)) throw invalid(`Invalid security group id '${id}'.`);
  }
}

/**
 * Tags: at most 50 per resource; keys 1–128, values 0–256 characters; the `aws:` prefix is reserved.
 * https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Tagging-Resources.html
 */
export function checkTags(tags: { Key?: string; Value?: string }[] | undefined, existing = 0): void {
  for (const tag of tags ?? []) {
    if (!tag.Key || tag.Key.length > 128) throw invalid('Tag keys must be between 1 and 128 characters.');
    if (tag.Key.toLowerCase().startsWith('aws:'))
      throw invalid(`Tag key '${tag.Key}' uses the reserved prefix aws:.`);
    if ((tag.Value ?? '').length > 256) throw invalid('Tag values must be at most 256 characters.');
  }
  if (existing + (tags?.length ?? 0) > 50) {
    throw new AwsFault(
      'TagQuotaPerResourceExceeded',
      'The request cannot be processed because it would cause the resource to have more than the allowed number of tags (50).',
    );
  }
}

/** At most 20 manual backups per node per 24 hours. https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/backups-manual.html */
export const SNAPSHOT_QUOTA_PER_NODE_PER_DAY = 20;

/** cache.t1.micro nodes cannot be backed up. https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/backups.html */
export function checkBackupSupported(nodeType: string): void {
  if (nodeType === 'cache.t1.micro') {
    throw new AwsFault(
      'SnapshotFeatureNotSupportedFault',
      `Snapshots are not supported for node type ${nodeType}.`,
    );
  }
}
