import {
  type CacheCluster,
  DescribeCacheSubnetGroupsCommand,
  DescribeUserGroupsCommand,
  type ElastiCacheClient,
  paginateDescribeCacheParameters,
  paginateDescribeSnapshots,
  type ReplicationGroup,
  type Snapshot,
} from '@aws-sdk/client-elasticache';
import { DescribeKeyCommand, type KeyMetadata, type KMSClient } from '@aws-sdk/client-kms';
import { GetHostedZoneCommand, type ResourceRecordSet, type Route53Client } from '@aws-sdk/client-route-53';
import type { Redis } from 'ioredis';
import type { Clients } from '../../shared/clients.js';
import { AuthTokenError } from '../../shared/errors.js';
import { createIoredisClient, type RedisClientFactory } from '../../verifier/connection.js';
import { describeMember, findGroup, findRecord, memberIds, tagsOf } from '../aws.js';
import { type Claim, readClaim } from '../claim.js';
import { type BusyWait, isBusy, retryWhileBusy, untilAvailable } from '../group-state.js';
import type { MigrationInput } from '../input.js';
import { readAuthToken } from '../secrets.js';
import { endpointSpec, type NetworkSettings, resolverFor } from '../verify-data.js';
import type { HeadroomParameters } from './backups.js';
import { targetOf } from './derive.js';

/** Preflight's clients, and how it reaches the source over Redis to prove the AUTH token. */
export type PreflightDeps = Pick<Clients, 'elasticache' | 'route53' | 'kms' | 'secrets' | 'dynamodb'> & {
  network: NetworkSettings;
  /** @default createIoredisClient */
  connect?: RedisClientFactory;
  /** How long a backup on the source is waited out (@default BUSY_WAIT). */
  busyWait?: BusyWait;
};

/** What the deployment allows, read from its configuration (lambdas/shared/env.ts) by the caller. */
export interface PreflightSettings {
  /** The KMS key used when the input names none. */
  defaultKmsKeyId?: string;
  /** Hosted zones this deployment may change; empty = any. */
  allowedHostedZoneIds: readonly string[];
  /**
   * The deployment's topic for ElastiCache event notifications (backup failures among them),
   * given to a new group whose source has none when the recommended alarms are asked for.
   */
  cacheEventsTopicArn?: string;
}

/**
 * Every fact preflight judges, read from AWS (and, for the AUTH token, from the source itself).
 * Nothing in here is a decision: what does not exist is `undefined` / `false`, and the rules
 * (rules.ts) turn the facts into refusals and warnings. No secret is ever kept in it.
 */
export interface PreflightFacts {
  /** The source group; undefined when it does not exist. */
  source: ReplicationGroup | undefined;
  /**
   * Everything else, read only when the source exists, is not encrypted yet and is `available`
   * (otherwise there is nothing to migrate, or it cannot be read: ListTagsForResource fails on a
   * group that is not available, docs/aws-behaviour.md).
   */
  details?: SourceDetails;
}

export interface SourceDetails {
  /** The first member cluster (engine version, parameter and subnet groups, security groups). */
  member: CacheCluster | undefined;
  /** The source's tags. */
  tags: Record<string, string>;
  /** The source's item in the migrations table. */
  claim: Claim | undefined;
  key: KeyFact;
  target: TargetFact;
  /** Hosted zone id → whether it exists, for the input's zones this deployment may change. */
  zones: Record<string, boolean>;
  /** `${hostedZoneId}/${recordName}` → the CNAME set as it is now (undefined: none). */
  records: Record<string, ResourceRecordSet | undefined>;
  /** The source's manual backups (every page). */
  manualSnapshots: Snapshot[];
  /** Present when the input names an AUTH token secret. */
  authToken?: AuthTokenFact;
  /**
   * Whether the groups the new group will use exist: its cache subnet group (the source member's)
   * and each RBAC user group of the source (CreateReplicationGroup refuses a missing one).
   */
  subnetGroup?: { name: string; exists: boolean };
  userGroups: Record<string, boolean>;
  /** The backup-headroom parameters of the source's parameter group (backups.ts). */
  parameters?: HeadroomParameters;
}

export interface KeyFact {
  /** The key the input (or the deployment's default) names; undefined when neither does. */
  requested: string | undefined;
  /** DescribeKey's answer; undefined when the key does not exist. */
  metadata?: KeyMetadata;
}

export interface TargetFact {
  id: string;
  /** The group that already carries the target id, if any. */
  existing?: ReplicationGroup;
  /** Its tags, when it is available (read only then). */
  existingTags?: Record<string, string>;
}

export interface AuthTokenFact {
  secretArn: string;
  /** Why the secret cannot be used (unreadable, not a valid token); undefined when it can. */
  problem?: string;
  /** The source's answer to AUTH with the secret's token (only for a source that uses AUTH). */
  proof?: { outcome: 'accepted' } | { outcome: 'refused' | 'unreachable'; reply: string };
}

/** The key of `SourceDetails.records`. */
export function recordKey(hostedZoneId: string, recordName: string): string {
  return `${hostedZoneId}/${recordName}`;
}

/** Reads every fact preflight needs. Only reads: a refusal later changes nothing. */
export async function readFacts(
  input: MigrationInput,
  deps: PreflightDeps,
  settings: PreflightSettings,
): Promise<PreflightFacts> {
  let source = await findGroup(deps.elasticache, input.sourceReplicationGroupId);
  // A backup (the daily window) is waited out for a while; other states are judged as they are.
  if (source?.Status === 'snapshotting' && !source.AtRestEncryptionEnabled) {
    source = await untilAvailable(deps.elasticache, source.ReplicationGroupId!, deps.busyWait).catch(
      (error) => {
        if (isBusy(error)) return source;
        throw error;
      },
    );
  }
  if (!source || source.AtRestEncryptionEnabled || source.Status !== 'available') return { source };
  try {
    return { source, details: await readDetails(input, source, deps, settings) };
  } catch (error) {
    // The source's tags could not be read for the whole wait: a backup or a change started after
    // it was described. The source as it is now is what the rules judge.
    if (!isBusy(error)) throw error;
    const now = await findGroup(deps.elasticache, source.ReplicationGroupId!);
    if (now?.Status === 'available') throw error;
    return { source: now };
  }
}

async function readDetails(
  input: MigrationInput,
  source: ReplicationGroup,
  deps: PreflightDeps,
  settings: PreflightSettings,
): Promise<SourceDetails> {
  const sourceId = source.ReplicationGroupId!;
  const firstMemberId = memberIds(source)[0];
  const member = firstMemberId ? await describeMember(deps.elasticache, firstMemberId) : undefined;
  const tags = await retryWhileBusy(() => tagsOf(deps.elasticache, source.ARN!), deps.busyWait);
  const claim = await readClaim(deps.dynamodb, source.ARN!);
  const key = await readKey(deps.kms, input.kmsKeyId ?? settings.defaultKmsKeyId);
  const target = await readTarget(deps.elasticache, targetOf(input, sourceId).id, deps.busyWait);
  const { zones, records } = await readRecords(deps.route53, input, settings);
  const manualSnapshots = await readManualSnapshots(deps.elasticache, sourceId);
  const authToken = input.authTokenSecretArn
    ? await readAuthTokenFact(deps, source, input.authTokenSecretArn)
    : undefined;
  const groupName = member?.CacheParameterGroup?.CacheParameterGroupName;
  const parameters = groupName ? await readHeadroomParameters(deps.elasticache, groupName) : undefined;
  const subnetName = member?.CacheSubnetGroupName;
  const subnetGroup = subnetName
    ? { name: subnetName, exists: await subnetGroupExists(deps.elasticache, subnetName) }
    : undefined;
  const userGroups: Record<string, boolean> = {};
  for (const id of source.UserGroupIds ?? []) userGroups[id] = await userGroupExists(deps.elasticache, id);
  return {
    member,
    tags,
    claim,
    key,
    target,
    zones,
    records,
    manualSnapshots,
    authToken,
    subnetGroup,
    userGroups,
    parameters,
  };
}

async function subnetGroupExists(elasticache: ElastiCacheClient, name: string): Promise<boolean> {
  try {
    await elasticache.send(new DescribeCacheSubnetGroupsCommand({ CacheSubnetGroupName: name }));
    return true;
  } catch (error) {
    if ((error as Error).name === 'CacheSubnetGroupNotFoundFault') return false;
    throw error;
  }
}

async function userGroupExists(elasticache: ElastiCacheClient, id: string): Promise<boolean> {
  try {
    await elasticache.send(new DescribeUserGroupsCommand({ UserGroupId: id }));
    return true;
  } catch (error) {
    if ((error as Error).name === 'UserGroupNotFoundFault') return false;
    throw error;
  }
}

/** `reserved-memory-percent` and `reserved-memory` of a parameter group (every page). */
async function readHeadroomParameters(
  elasticache: ElastiCacheClient,
  group: string,
): Promise<HeadroomParameters> {
  const values: Record<string, string | undefined> = {};
  for await (const page of paginateDescribeCacheParameters(
    { client: elasticache, pageSize: 100 },
    { CacheParameterGroupName: group },
  )) {
    for (const p of page.Parameters ?? []) values[p.ParameterName!] = p.ParameterValue;
  }
  const number = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));
  return {
    group,
    reservedMemoryPercent: number(values['reserved-memory-percent']),
    reservedMemory: number(values['reserved-memory']),
  };
}

async function readKey(kms: KMSClient, keyId: string | undefined): Promise<KeyFact> {
  if (!keyId) return { requested: undefined };
  try {
    return {
      requested: keyId,
      metadata: (await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata,
    };
  } catch (error) {
    if ((error as Error).name === 'NotFoundException') return { requested: keyId };
    throw error;
  }
}

async function readTarget(elasticache: ElastiCacheClient, id: string, wait?: BusyWait): Promise<TargetFact> {
  const existing = await findGroup(elasticache, id);
  if (!existing) return { id };
  const existingTags =
    existing.Status === 'available'
      ? await retryWhileBusy(() => tagsOf(elasticache, existing.ARN!), wait)
      : undefined;
  return { id, existing, existingTags };
}

async function readRecords(
  route53: Route53Client,
  input: MigrationInput,
  settings: PreflightSettings,
): Promise<Pick<SourceDetails, 'zones' | 'records'>> {
  const zones: Record<string, boolean> = {};
  const records: Record<string, ResourceRecordSet | undefined> = {};
  for (const record of input.dnsRecords) {
    const zone = record.hostedZoneId;
    // A zone this deployment may not change is not read either (its role may not be allowed to).
    if (settings.allowedHostedZoneIds.length > 0 && !settings.allowedHostedZoneIds.includes(zone)) continue;
    if (!(zone in zones)) {
      try {
        await route53.send(new GetHostedZoneCommand({ Id: zone }));
        zones[zone] = true;
      } catch (error) {
        if ((error as Error).name !== 'NoSuchHostedZone') throw error;
        zones[zone] = false;
      }
    }
    const key = recordKey(zone, record.recordName);
    if (zones[zone] && !(key in records)) {
      records[key] = await findRecord(route53, zone, record.recordName, 'CNAME');
    }
  }
  return { zones, records };
}

async function readManualSnapshots(elasticache: ElastiCacheClient, sourceId: string): Promise<Snapshot[]> {
  // Every page: a group that keeps many manual backups has more than one (50 at most a page).
  const snapshots: Snapshot[] = [];
  for await (const page of paginateDescribeSnapshots(
    { client: elasticache, pageSize: 50 },
    { ReplicationGroupId: sourceId, SnapshotSource: 'user' },
  )) {
    snapshots.push(...(page.Snapshots ?? []));
  }
  return snapshots;
}

/**
 * Reads the secret (exists, readable, a valid token) and, for a source that uses AUTH, proves the
 * token against it. The token itself is dropped here: the fact says only what happened.
 */
async function readAuthTokenFact(
  deps: PreflightDeps,
  source: ReplicationGroup,
  secretArn: string,
): Promise<AuthTokenFact> {
  let token: string;
  try {
    token = await readAuthToken(deps.secrets, secretArn);
  } catch (error) {
    if (error instanceof AuthTokenError) return { secretArn, problem: error.message };
    throw error;
  }
  if (!source.AuthTokenEnabled) return { secretArn };
  return { secretArn, proof: await proveAuthToken(deps, source, token) };
}

/**
 * Connects to the source (primary endpoint, or configuration endpoint in cluster mode; TLS when
 * it uses in-transit encryption) and sends AUTH with the secret's token, then PING, so a wrong
 * token is refused at preflight and not by the restore or the data path hours later. The token is
 * never put in the reply kept, an error or a log line.
 */
async function proveAuthToken(
  deps: Pick<PreflightDeps, 'network' | 'connect'>,
  source: ReplicationGroup,
  token: string,
): Promise<NonNullable<AuthTokenFact['proof']>> {
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
    return { outcome: 'accepted' };
  } catch (error) {
    const reply = scrub((refusal ?? (error as Error)).message ?? String(error));
    const refused = /WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(reply);
    return { outcome: refused ? 'refused' : 'unreachable', reply };
  } finally {
    client?.disconnect();
  }
}
