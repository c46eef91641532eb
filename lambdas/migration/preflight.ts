import {
  type CacheCluster,
  type CreateReplicationGroupCommandInput,
  type ElastiCacheClient,
  type LogDeliveryConfigurationRequest,
  paginateDescribeSnapshots,
  type ReplicationGroup,
  type Snapshot,
} from '@aws-sdk/client-elasticache';
import { DescribeKeyCommand, type KeyMetadata, type KMSClient } from '@aws-sdk/client-kms';
import { GetHostedZoneCommand, type Route53Client } from '@aws-sdk/client-route-53';
import type { Redis } from 'ioredis';
import type { Clients } from '../shared/clients.js';
import { env } from '../shared/env.js';
import {
  AuthTokenError,
  CloudFormationManagedError,
  DnsRecordMismatchError,
  EncryptionNotSupportedError,
  GlobalDatastoreMemberError,
  HostedZoneNotAllowedError,
  InvalidInputError,
  KmsKeyNotUsableError,
  MigrationInProgressError,
  SnapshotQuotaError,
  SourceNotAvailableError,
  SourceNotFoundError,
  TargetIdTakenError,
  TransitEncryptionPolicyError,
} from '../shared/errors.js';
import { createIoredisClient, type RedisClientFactory } from '../verifier/connection.js';
import { describeMember, endpointOf, findGroup, findRecord, memberIds, sameHost, tagsOf } from './aws.js';
import { checkClaim, readClaim, takeClaim } from './claim.js';
import { type MigrationInput, parseMigrationInput } from './input.js';
import {
  derivedTarget,
  finalSnapshotName,
  intermediateSnapshotName,
  shortIdOf,
  TAG_MIGRATION_ID,
  TAG_ROLE,
  TAG_SOURCE,
} from './naming.js';
import { readAuthToken } from './secrets.js';
import type { MigrationPlan, MigrationState, PlannedRecord } from './state.js';
import { endpointSpec, type NetworkSettings, resolverFor } from './verify-data.js';
import { versionAtLeast } from './versions.js';

export interface PreflightEvent {
  input: unknown;
  migrationId: string;
  /** The execution's ARN (`$$.Execution.Id`), recorded in the claim for the operator. */
  executionArn?: string;
}

/** Preflight's clients, and how it reaches the source over Redis to prove the AUTH token. */
export type PreflightDeps = Pick<Clients, 'elasticache' | 'route53' | 'kms' | 'secrets' | 'dynamodb'> & {
  network: NetworkSettings;
  /** @default createIoredisClient */
  connect?: RedisClientFactory;
};

/** Security Hub ElastiCache.1 asks for automatic backups kept at least 7 days (docs/aws-behaviour.md, Backups). */
export const MIN_BACKUP_RETENTION_DAYS = 7;
/** At most 20 manual backups per node per 24 hours (docs/aws-behaviour.md: Snapshot). */
const SNAPSHOT_QUOTA = 20;

/**
 * Builds the migration plan (the exact CreateReplicationGroup request) and refuses, with a
 * distinct error, anything that would make the migration unsafe. A refusal changes nothing: the
 * only write, the source's claim in the migrations table (lambdas/migration/claim.ts), is made
 * last, once every check passed, and never for a dry run.
 */
export async function preflight(
  event: PreflightEvent,
  clients: PreflightDeps,
  now = Date.now(),
): Promise<MigrationState> {
  const input = parseMigrationInput(event.input);
  const migrationId = event.migrationId;
  if (!migrationId) throw new InvalidInputError('The migration id (execution name) is missing.');
  const startedAt = new Date(now).toISOString();
  const base: MigrationState = {
    migrationId,
    sourceReplicationGroupId: input.sourceReplicationGroupId,
    outcome: 'planned',
    progress: {},
    deadlines: {},
    steps: {},
  };

  const source = await findGroup(clients.elasticache, input.sourceReplicationGroupId);
  if (!source) {
    throw new SourceNotFoundError(
      `Replication group '${input.sourceReplicationGroupId}' does not exist in this account and region. Check the id (ElastiCache stores ids in lowercase) and the region the workflow runs in.`,
    );
  }
  if (source.AtRestEncryptionEnabled) {
    return {
      ...base,
      outcome: 'already-encrypted',
      message: `Replication group '${source.ReplicationGroupId}' is already encrypted at rest${source.KmsKeyId ? ` with ${source.KmsKeyId}` : ' with an AWS owned key'}; nothing to do.`,
      steps: { preflight: timing(startedAt, now) },
    };
  }
  if (source.GlobalReplicationGroupInfo?.GlobalReplicationGroupId) {
    throw new GlobalDatastoreMemberError(
      `Replication group '${source.ReplicationGroupId}' is a member of Global Datastore '${source.GlobalReplicationGroupInfo.GlobalReplicationGroupId}'. Members cannot be restored from a snapshot into the datastore; remove it from the Global Datastore first or migrate the datastore by hand.`,
    );
  }
  if (source.Status !== 'available') {
    throw new SourceNotAvailableError(
      `Replication group '${source.ReplicationGroupId}' is '${source.Status}'. Start the migration again when it is 'available'.`,
    );
  }

  const members = memberIds(source);
  const firstMember = members[0] ? await describeMember(clients.elasticache, members[0]) : undefined;
  if (!firstMember)
    throw new SourceNotAvailableError(
      `Replication group '${source.ReplicationGroupId}' has no member clusters.`,
    );
  const engine = (source.Engine ?? firstMember.Engine ?? 'redis').toLowerCase();
  const engineVersion = firstMember.EngineVersion ?? '0';
  const nodeType = source.CacheNodeType ?? firstMember.CacheNodeType ?? '';
  checkEncryptable(engine, engineVersion, nodeType, source.ReplicationGroupId!);

  const sourceTags = await tagsOf(clients.elasticache, source.ARN!);
  const warnings: string[] = [];
  // The claim item decides (tags can be written by anyone at any time); read it first, so a
  // migration already under way refuses this one before any other check.
  const claimRequest = {
    sourceArn: source.ARN!,
    sourceId: source.ReplicationGroupId!,
    migrationId,
    executionArn: event.executionArn,
    takeOver: input.takeOverStaleClaim,
  };
  checkClaim(await readClaim(clients.dynamodb, source.ARN!), claimRequest);
  const claimedBy = sourceTags[TAG_MIGRATION_ID];
  if (claimedBy && claimedBy !== migrationId && claimedBy !== input.takeOverStaleClaim) {
    throw new MigrationInProgressError(
      `Replication group '${source.ReplicationGroupId}' is already being migrated by execution '${claimedBy}'. Wait for it to finish; if it is gone and left the tag ${TAG_MIGRATION_ID} behind, start again with takeOverStaleClaim: '${claimedBy}' (runbooks/failures.md, MigrationInProgressError).`,
    );
  }
  if (sourceTags['aws:cloudformation:stack-name']) {
    const stack = sourceTags['aws:cloudformation:stack-name'];
    if (!input.allowCloudFormationManaged) {
      throw new CloudFormationManagedError(
        `Replication group '${source.ReplicationGroupId}' belongs to CloudFormation stack '${stack}'. Migrating it outside the stack makes the stack drift; change the stack instead, or start again with allowCloudFormationManaged: true.`,
      );
    }
    warnings.push(`Stack '${stack}' will drift: its replication group is replaced outside CloudFormation.`);
  }

  const kmsKeyArn = await resolveKey(clients.kms, input.kmsKeyId ?? env.defaultKmsKeyId);
  const shortId = shortIdOf(migrationId);
  const derived = derivedTarget(source.ReplicationGroupId!);
  const targetId = input.targetReplicationGroupId ?? derived.id;
  if (!input.targetReplicationGroupId && derived.alternate) {
    warnings.push(
      `No targetReplicationGroupId was given and '${source.ReplicationGroupId}-atrest' would not fit in 40 characters, so the new group is named '${targetId}' (${derived.how}).`,
    );
  }
  if (targetId === source.ReplicationGroupId) {
    throw new InvalidInputError(
      'targetReplicationGroupId must differ from sourceReplicationGroupId: groups cannot be renamed.',
    );
  }
  const existingTarget = await findGroup(clients.elasticache, targetId);
  if (existingTarget) {
    const targetTags =
      existingTarget.Status === 'available' ? await tagsOf(clients.elasticache, existingTarget.ARN!) : {};
    if (targetTags[TAG_MIGRATION_ID] !== migrationId) {
      throw new TargetIdTakenError(
        `A replication group named '${targetId}' already exists and was not created by this migration. Choose another targetReplicationGroupId.`,
      );
    }
  }

  const clusterEnabled = source.ClusterEnabled === true;
  const dns = await planRecords(clients.route53, input, source, clusterEnabled);
  const shards = source.NodeGroups ?? [];
  const replicasPerShard = Math.max(0, (shards[0]?.NodeGroupMembers?.length ?? 1) - 1);
  const snapshotClusterId = clusterEnabled
    ? undefined
    : (shards[0]?.NodeGroupMembers?.find((m) => m.CurrentRole === 'replica')?.CacheClusterId ?? members[0]);
  const primaryId =
    shards[0]?.NodeGroupMembers?.find((m) => m.CurrentRole === 'primary')?.CacheClusterId ?? members[0]!;
  await checkSnapshotQuota(
    clients.elasticache,
    clusterEnabled ? undefined : [snapshotClusterId!, primaryId],
    source,
    now,
  );

  const transit = planTransit(input, source, engine, engineVersion, warnings);
  const authTokenSecretArn = await planAuth(clients, input, source, transit.enabled);
  if (transit.enabled && dns.length > 0) {
    warnings.push(
      'Clients that verify TLS host names fail through a custom CNAME: ElastiCache certificates cover *.cache.amazonaws.com only.',
    );
  }

  // Every setting that will differ from the source's, with its reason (said in the plan and the
  // summary); the at-rest encryption itself is the point of the migration.
  const changes: MigrationPlan['changes'] = [
    {
      setting: 'AtRestEncryptionEnabled',
      from: 'false',
      to: `true (${kmsKeyArn})`,
      reason: 'the migration: at-rest encryption under a customer-managed key (Security Hub ElastiCache.4)',
    },
  ];
  const sourceTransit =
    source.TransitEncryptionEnabled === true ? (source.TransitEncryptionMode ?? 'required') : 'off';
  const targetTransit = transit.enabled ? (transit.mode ?? 'required') : 'off';
  if (sourceTransit !== targetTransit) {
    changes.push({
      setting: 'TransitEncryption',
      from: sourceTransit,
      to: targetTransit,
      reason: `transitEncryption: ${input.transitEncryption} in the input (use 'preserve' to keep the source's)`,
    });
  }
  const createRequest = buildCreateRequest({
    source,
    engine,
    firstMember,
    targetId,
    snapshotName: intermediateSnapshotName(source.ReplicationGroupId!, shortId),
    kmsKeyArn,
    transit,
    sourceTags,
    migrationId,
    warnings,
    keepSourceSettings: input.keepSourceSettings,
    changes,
  });

  const cutover = planCutover(input, engine, engineVersion, warnings);
  const approvals =
    cutover.method === 'gate' && cutover.dataPolicy === 'exact'
      ? { ...input.approvals, beforeCutover: true }
      : input.approvals;

  const plan: MigrationPlan = {
    migrationId,
    shortId,
    source: {
      id: source.ReplicationGroupId!,
      arn: source.ARN!,
      engine,
      engineVersion,
      nodeType,
      clusterEnabled,
      shards: shards.length,
      replicasPerShard,
      transitEncryption: source.TransitEncryptionEnabled === true,
      authTokenEnabled: source.AuthTokenEnabled === true,
      snapshotClusterId,
    },
    target: {
      id: targetId,
      idDerivation: input.targetReplicationGroupId ? 'input' : derived.how,
    },
    snapshotName: intermediateSnapshotName(source.ReplicationGroupId!, shortId),
    finalSnapshotName: finalSnapshotName(source.ReplicationGroupId!, shortId),
    kmsKeyArn,
    createRequest,
    authTokenSecretArn,
    dns,
    options: {
      approvals,
      cutover: input.cutover,
      soakSeconds: input.soakSeconds,
      deleteSource: input.deleteSource,
      keepIntermediateSnapshot: input.keepIntermediateSnapshot,
      pollIntervalSeconds: input.pollIntervalSeconds,
      timeouts: input.timeouts,
      verification: input.verification,
      writesFrozen: input.writesFrozen,
      dryRun: input.dryRun,
      alarms: input.alarms,
      backups: input.backups,
    },
    cutover,
    changes,
    warnings,
  };
  // Last: every check passed. Of executions started together for this source, one gets it.
  if (!input.dryRun) await takeClaim(clients.dynamodb, claimRequest, now);
  return { ...base, plan, steps: { preflight: timing(startedAt, now) } };
}

/** CLIENT PAUSE WRITE came with Redis OSS 6.2; every Valkey version has it. */
export function canPauseWrites(engine: string, engineVersion: string): boolean {
  return engine === 'valkey' || versionAtLeast(engineVersion, '6.2');
}

/**
 * How the cutover stops writes: the workflow holds them (CLIENT PAUSE WRITE), or, where it
 * cannot or must not, the beforeCutover approval asks the operator to stop the application. The
 * plan says which, and every weaker choice is a warning.
 */
function planCutover(
  input: MigrationInput,
  engine: string,
  engineVersion: string,
  warnings: string[],
): MigrationPlan['cutover'] {
  const pausable = canPauseWrites(engine, engineVersion);
  if (input.verification.mode === 'off') {
    warnings.push(
      "Data policy 'snapshot-only' (verification.mode: off): the new group gets what the snapshot holds. Writes made to the source after the snapshot are NOT carried over, the source's writes are not held at cutover, and no data is checked. Use it only for a cache that may lose them.",
    );
    return { method: pausable ? 'pause' : 'gate', changeTracking: false, dataPolicy: 'snapshot-only' };
  }
  const method = input.cutover.pauseWrites && pausable ? 'pause' : 'gate';
  if (method === 'gate') {
    warnings.push(
      `${pausable ? 'pauseWrites is false' : `${engine} ${engineVersion} has no CLIENT PAUSE WRITE (Redis OSS 6.2+ / Valkey)`}: the workflow cannot hold the source's writes at cutover. The beforeCutover approval is on: approve it only once the application has stopped writing; the final check then tolerates no difference at all, and a rollback after the flip keeps the new group.`,
    );
  }
  const changeTracking = input.cutover.changeTracking && method === 'pause';
  if (input.cutover.changeTracking && !changeTracking) {
    warnings.push('changeTracking is ignored: without a write freeze there is no final delta to track.');
  }
  if (changeTracking) {
    warnings.push(
      "Change tracking: keyspace notifications (notify-keyspace-events KEA) are turned on in the source's parameter group for the migration (a default group is replaced by a copy of it) and put back at the end and on rollback.",
    );
  }
  return { method, changeTracking, dataPolicy: 'exact' };
}

function timing(startedAt: string, now: number) {
  return {
    startedAt,
    completedAt: new Date(Date.now()).toISOString(),
    seconds: Math.max(0, (Date.now() - now) / 1000),
  };
}

/**
 * At-rest encryption needs Valkey 7.2+ or Redis OSS 4.0.10+; cache.t1.micro cannot be backed up,
 * so it cannot be migrated by snapshot (docs/aws-behaviour.md: Engines; Snapshot).
 */
function checkEncryptable(engine: string, version: string, nodeType: string, id: string): void {
  const minimum = engine === 'valkey' ? '7.2' : '4.0.10';
  if (engine !== 'redis' && engine !== 'valkey') {
    throw new EncryptionNotSupportedError(
      `Replication group '${id}' runs engine '${engine}'; only Redis OSS and Valkey are supported.`,
    );
  }
  if (!versionAtLeast(version, minimum)) {
    throw new EncryptionNotSupportedError(
      `Replication group '${id}' runs ${engine} ${version}; at-rest encryption needs ${engine} ${minimum} or later. Upgrade the engine first, then migrate.`,
    );
  }
  if (nodeType === 'cache.t1.micro') {
    throw new EncryptionNotSupportedError(
      `Replication group '${id}' uses cache.t1.micro nodes, which cannot be backed up. Scale it to a current node type first.`,
    );
  }
}

async function resolveKey(kms: KMSClient, keyId: string | undefined): Promise<string> {
  if (!keyId) {
    throw new InvalidInputError(
      'No kmsKeyId was given and the deployment defines no default key (DEFAULT_KMS_KEY_ID).',
    );
  }
  let metadata: KeyMetadata | undefined;
  try {
    metadata = (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
  } catch (error) {
    if ((error as Error).name === 'NotFoundException') {
      throw new KmsKeyNotUsableError(`KMS key '${keyId}' does not exist in this account and region.`, {
        cause: error,
      });
    }
    throw error;
  }
  if (!metadata?.Arn) throw new KmsKeyNotUsableError(`KMS key '${keyId}' could not be described.`);
  if (metadata.KeyState !== 'Enabled') {
    throw new KmsKeyNotUsableError(
      `KMS key ${metadata.Arn} is ${metadata.KeyState}. ElastiCache cannot use it, and a cache under a disabled key is unrecoverable: enable the key or choose another.`,
    );
  }
  if (
    (metadata.KeySpec ?? metadata.CustomerMasterKeySpec) !== 'SYMMETRIC_DEFAULT' ||
    metadata.KeyUsage !== 'ENCRYPT_DECRYPT'
  ) {
    throw new KmsKeyNotUsableError(
      `KMS key ${metadata.Arn} is not a symmetric encryption key; ElastiCache needs one.`,
    );
  }
  if (metadata.KeyManager !== 'CUSTOMER') {
    throw new KmsKeyNotUsableError(
      `KMS key ${metadata.Arn} is AWS managed; at-rest encryption here needs a customer managed key.`,
    );
  }
  return metadata.Arn;
}

async function planRecords(
  route53: Route53Client,
  input: MigrationInput,
  source: ReplicationGroup,
  clusterEnabled: boolean,
): Promise<PlannedRecord[]> {
  const planned: PlannedRecord[] = [];
  const seen = new Set<string>();
  for (const record of input.dnsRecords) {
    const key = `${record.hostedZoneId}/${record.recordName}`;
    if (seen.has(key))
      throw new InvalidInputError(`dnsRecords lists ${record.recordName} in ${record.hostedZoneId} twice.`);
    seen.add(key);
    if (env.allowedHostedZoneIds.length > 0 && !env.allowedHostedZoneIds.includes(record.hostedZoneId)) {
      throw new HostedZoneNotAllowedError(
        `Hosted zone ${record.hostedZoneId} is not one this deployment may change (allowed: ${env.allowedHostedZoneIds.join(', ')}). Add it to the deployment configuration.`,
      );
    }
    if (clusterEnabled !== (record.endpoint === 'configuration')) {
      throw new InvalidInputError(
        clusterEnabled
          ? `Record ${record.recordName}: a cluster mode enabled group is reached through its configuration endpoint; set endpoint: configuration.`
          : `Record ${record.recordName}: a cluster mode disabled group has no configuration endpoint; use primary or reader.`,
      );
    }
    try {
      await route53.send(new GetHostedZoneCommand({ Id: record.hostedZoneId }));
    } catch (error) {
      if ((error as Error).name === 'NoSuchHostedZone') {
        throw new DnsRecordMismatchError(`Hosted zone ${record.hostedZoneId} does not exist.`, {
          cause: error,
        });
      }
      throw error;
    }
    const current = await findRecord(route53, record.hostedZoneId, record.recordName, 'CNAME');
    const sourceEndpoint = endpointOf(source, record.endpoint);
    const value = current?.ResourceRecords?.[0]?.Value;
    if (!current || !sourceEndpoint || !sameHost(value, sourceEndpoint)) {
      throw new DnsRecordMismatchError(
        current
          ? `CNAME ${record.recordName} points at '${value}', not at the ${record.endpoint} endpoint of '${source.ReplicationGroupId}' (${sourceEndpoint}). Moving it would redirect other clients: fix the record list.`
          : `There is no CNAME ${record.recordName} in hosted zone ${record.hostedZoneId}. Records must exist and point at the source group.`,
      );
    }
    if (current.AliasTarget || current.SetIdentifier) {
      throw new DnsRecordMismatchError(
        `Record ${record.recordName} uses routing policies or alias targets, which this tool does not move.`,
      );
    }
    planned.push({
      ...record,
      type: 'CNAME',
      originalValue: value!,
      originalTtl: current.TTL ?? 300,
      sourceEndpoint,
    });
  }
  return planned;
}

async function checkSnapshotQuota(
  elasticache: ElastiCacheClient,
  nodeIds: string[] | undefined,
  source: ReplicationGroup,
  now: number,
): Promise<void> {
  // Every page: a group that keeps many manual backups has more than one (50 at most a page).
  const snapshots: Snapshot[] = [];
  for await (const page of paginateDescribeSnapshots(
    { client: elasticache, pageSize: 50 },
    { ReplicationGroupId: source.ReplicationGroupId, SnapshotSource: 'user' },
  )) {
    snapshots.push(...(page.Snapshots ?? []));
  }
  const dayAgo = now - 24 * 3600_000;
  const counts = new Map<string, number>();
  for (const snapshot of snapshots) {
    for (const node of snapshot.NodeSnapshots ?? []) {
      if (!node.CacheClusterId || (node.SnapshotCreateTime?.getTime() ?? 0) < dayAgo) continue;
      counts.set(node.CacheClusterId, (counts.get(node.CacheClusterId) ?? 0) + 1);
    }
  }
  for (const [node, count] of counts) {
    if ((nodeIds === undefined || nodeIds.includes(node)) && count + 1 > SNAPSHOT_QUOTA) {
      throw new SnapshotQuotaError(
        `Node ${node} already has ${count} manual backups in the last 24 hours (quota ${SNAPSHOT_QUOTA}); the migration needs one more. Start it again later.`,
      );
    }
  }
}

interface TransitPlan {
  enabled: boolean;
  mode?: 'preferred' | 'required';
}

function planTransit(
  input: MigrationInput,
  source: ReplicationGroup,
  engine: string,
  version: string,
  warnings: string[],
): TransitPlan {
  const sourceTransit = source.TransitEncryptionEnabled === true;
  const modeSupported = versionAtLeast(version, engine === 'valkey' ? '7.2' : '7.0');
  if (input.transitEncryption === 'preserve') {
    if (!sourceTransit) return { enabled: false };
    return {
      enabled: true,
      mode: modeSupported ? ((source.TransitEncryptionMode as TransitPlan['mode']) ?? 'required') : undefined,
    };
  }
  if (input.transitEncryption === 'preferred' && !modeSupported) {
    throw new TransitEncryptionPolicyError(
      `transitEncryption 'preferred' needs ${engine} ${engine === 'valkey' ? '7.2' : '7.0'} or later; the source runs ${version}. Use 'preserve' or 'required'.`,
    );
  }
  if (!sourceTransit && input.transitEncryption === 'required') {
    warnings.push(
      'The new group requires TLS: every client that does not speak TLS yet fails after cutover.',
    );
  }
  return { enabled: true, mode: modeSupported ? input.transitEncryption : undefined };
}

async function planAuth(
  deps: Pick<PreflightDeps, 'secrets' | 'network' | 'connect'>,
  input: MigrationInput,
  source: ReplicationGroup,
  transit: boolean,
): Promise<string | undefined> {
  if (source.AuthTokenEnabled && !input.authTokenSecretArn) {
    throw new AuthTokenError(
      `Replication group '${source.ReplicationGroupId}' uses an AUTH token, which ElastiCache never returns. Store the token in Secrets Manager and pass its ARN as authTokenSecretArn.`,
    );
  }
  if (!input.authTokenSecretArn) return undefined;
  if (!transit) {
    throw new AuthTokenError(
      'An AUTH token needs in-transit encryption; set transitEncryption to preferred or required.',
    );
  }
  // Validates the secret now (exists, readable, well-formed) without keeping the token.
  const token = await readAuthToken(deps.secrets, input.authTokenSecretArn);
  if (!source.AuthTokenEnabled && (source.UserGroupIds?.length ?? 0) > 0) {
    // AUTH and RBAC user groups are alternatives on AWS (docs/aws-behaviour.md, "AUTH and user
    // groups"): the new group keeps the source's user groups, so it cannot take a token too.
    throw new AuthTokenError(
      `Replication group '${source.ReplicationGroupId}' authenticates with user groups (${source.UserGroupIds!.join(', ')}); AUTH tokens and user groups are alternatives. Start again without authTokenSecretArn: the new group keeps the user groups.`,
    );
  }
  if (source.AuthTokenEnabled) await proveAuthToken(deps, source, token, input.authTokenSecretArn);
  return input.authTokenSecretArn;
}

/**
 * Connects to the source (primary endpoint, or configuration endpoint in cluster mode; TLS when
 * it uses in-transit encryption) and sends AUTH with the secret's token, then PING, so a wrong
 * token is refused here and not by the restore or the data path hours later. The token is never
 * put in an error or a log line.
 */
async function proveAuthToken(
  deps: Pick<PreflightDeps, 'network' | 'connect'>,
  source: ReplicationGroup,
  token: string,
  secretArn: string,
): Promise<void> {
  const id = source.ReplicationGroupId;
  const scrub = (text: string) => text.split(token).join('<token>');
  let client: Redis | undefined;
  // ioredis sends AUTH as part of connecting; its refusal comes as an 'error' event and the
  // connect promise only says "Connection is closed", so the event's reply is what tells.
  let refusal: Error | undefined;
  try {
    const spec = await endpointSpec(source, token, deps.network, resolverFor(deps.network));
    client = (deps.connect ?? createIoredisClient)({ host: spec.host, port: spec.port }, spec);
    client.on('error', (error: Error) => {
      refusal ??= error;
    });
    await client.connect();
    await client.ping();
  } catch (error) {
    const reply = scrub((refusal ?? (error as Error)).message ?? String(error));
    if (/WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(reply)) {
      throw new AuthTokenError(
        `Replication group '${id}' refused the AUTH token in ${secretArn} (${reply.split('\n')[0]}). Put the source's current token in that secret, then start again.`,
      );
    }
    throw new SourceNotAvailableError(
      `Preflight could not reach replication group '${id}' over Redis to check the AUTH token in ${secretArn}: ${reply}. Check that the preflight function's security group may reach the cache port and that the cache's security group lets it in.`,
    );
  } finally {
    client?.disconnect();
  }
}

function buildCreateRequest(p: {
  source: ReplicationGroup;
  engine: string;
  firstMember: CacheCluster;
  targetId: string;
  snapshotName: string;
  kmsKeyArn: string;
  transit: TransitPlan;
  sourceTags: Record<string, string>;
  migrationId: string;
  warnings: string[];
  keepSourceSettings: readonly string[];
  changes: MigrationPlan['changes'];
}): Omit<CreateReplicationGroupCommandInput, 'AuthToken'> {
  const { source, firstMember } = p;
  const clusterEnabled = source.ClusterEnabled === true;
  const nodeGroups = source.NodeGroups ?? [];
  const automaticFailover = source.AutomaticFailover === 'enabled' || source.AutomaticFailover === 'enabling';
  const keep = new Set(p.keepSourceSettings);
  const sourceRetention = source.SnapshotRetentionLimit ?? 0;
  const retention = keep.has('snapshotRetentionLimit')
    ? sourceRetention
    : Math.max(sourceRetention, MIN_BACKUP_RETENTION_DAYS);
  if (retention !== sourceRetention) {
    p.changes.push({
      setting: 'SnapshotRetentionLimit',
      from: String(sourceRetention),
      to: String(retention),
      reason: `automatic backups kept at least ${MIN_BACKUP_RETENTION_DAYS} days (Security Hub ElastiCache.1; docs/aws-behaviour.md, Backups)`,
      keepWith: 'snapshotRetentionLimit',
    });
  }
  const sourceMinorUpgrade =
    (firstMember.AutoMinorVersionUpgrade ?? source.AutoMinorVersionUpgrade) !== false;
  const minorUpgrade = keep.has('autoMinorVersionUpgrade') ? sourceMinorUpgrade : true;
  if (minorUpgrade !== sourceMinorUpgrade) {
    p.changes.push({
      setting: 'AutoMinorVersionUpgrade',
      from: String(sourceMinorUpgrade),
      to: String(minorUpgrade),
      reason: 'minor engine versions applied automatically (Security Hub ElastiCache.2)',
      keepWith: 'autoMinorVersionUpgrade',
    });
  }
  if (!automaticFailover) {
    p.warnings.push(
      'The source has no automatic failover (Security Hub ElastiCache.3); the new group keeps that setting.',
    );
  }
  if (firstMember.CacheSubnetGroupName === 'default') {
    p.warnings.push(
      'The source uses the default subnet group (Security Hub ElastiCache.7); the new group keeps it.',
    );
  }
  const keptTags = Object.entries(p.sourceTags)
    .filter(([key]) => !key.startsWith('aws:') && !key.startsWith('at-rest-migrator:'))
    .map(([Key, Value]) => ({ Key, Value }));
  const logDelivery: LogDeliveryConfigurationRequest[] = (source.LogDeliveryConfigurations ?? [])
    .filter((l) => l.Status !== 'disabling' && l.Status !== 'error')
    .map((l) => ({
      LogType: l.LogType,
      DestinationType: l.DestinationType,
      DestinationDetails: l.DestinationDetails,
      LogFormat: l.LogFormat,
      Enabled: true,
    }));
  const request: Omit<CreateReplicationGroupCommandInput, 'AuthToken'> = {
    ReplicationGroupId: p.targetId,
    ReplicationGroupDescription: (source.Description ?? p.targetId).slice(0, 255),
    SnapshotName: p.snapshotName,
    Engine: p.engine,
    CacheNodeType: source.CacheNodeType,
    CacheParameterGroupName: firstMember.CacheParameterGroup?.CacheParameterGroupName,
    CacheSubnetGroupName: firstMember.CacheSubnetGroupName,
    Port: firstMember.CacheNodes?.[0]?.Endpoint?.Port ?? source.ConfigurationEndpoint?.Port,
    SecurityGroupIds: (firstMember.SecurityGroups ?? []).map((g) => g.SecurityGroupId!).filter(Boolean),
    AutomaticFailoverEnabled: automaticFailover,
    MultiAZEnabled: source.MultiAZ === 'enabled',
    // Explicit, always: SCPs test the request parameter, and Redis OSS defaults to false (docs/aws-behaviour.md).
    AtRestEncryptionEnabled: true,
    KmsKeyId: p.kmsKeyArn,
    TransitEncryptionEnabled: p.transit.enabled,
    TransitEncryptionMode: p.transit.enabled ? p.transit.mode : undefined,
    UserGroupIds: source.UserGroupIds?.length ? source.UserGroupIds : undefined,
    LogDeliveryConfigurations: logDelivery.length ? logDelivery : undefined,
    NetworkType: source.NetworkType,
    IpDiscovery: source.IpDiscovery,
    ClusterMode: source.ClusterMode,
    SnapshotRetentionLimit: retention,
    SnapshotWindow: source.SnapshotWindow,
    PreferredMaintenanceWindow: firstMember.PreferredMaintenanceWindow,
    AutoMinorVersionUpgrade: minorUpgrade,
    Tags: [
      ...keptTags,
      { Key: TAG_MIGRATION_ID, Value: p.migrationId },
      { Key: TAG_ROLE, Value: 'target' },
      { Key: TAG_SOURCE, Value: source.ReplicationGroupId },
    ],
  };
  if (clusterEnabled) {
    request.NumNodeGroups = nodeGroups.length;
    request.ReplicasPerNodeGroup = Math.max(0, (nodeGroups[0]?.NodeGroupMembers?.length ?? 1) - 1);
    request.NodeGroupConfiguration = nodeGroups.map((ng) => {
      const azs = (ng.NodeGroupMembers ?? [])
        .map((m) => m.PreferredAvailabilityZone)
        .filter((az): az is string => !!az);
      return {
        NodeGroupId: ng.NodeGroupId,
        Slots: ng.Slots,
        ReplicaCount: Math.max(0, (ng.NodeGroupMembers?.length ?? 1) - 1),
        PrimaryAvailabilityZone: azs[0],
        ReplicaAvailabilityZones: azs.slice(1),
      };
    });
  } else {
    const members = nodeGroups[0]?.NodeGroupMembers ?? [];
    const ordered = [...members].sort((a, b) =>
      a.CurrentRole === 'primary' ? -1 : b.CurrentRole === 'primary' ? 1 : 0,
    );
    request.NumCacheClusters = members.length;
    const azs = ordered.map((m) => m.PreferredAvailabilityZone).filter((az): az is string => !!az);
    if (azs.length === members.length) request.PreferredCacheClusterAZs = azs;
  }
  return request;
}
