import type { CacheCluster, ReplicationGroup } from '@aws-sdk/client-elasticache';
import type { MigrationInput } from '../input.js';
import { derivedTarget, type TargetIdDerivation } from '../naming.js';
import type { MigrationPlan } from '../state.js';
import { versionAtLeast } from '../versions.js';

/**
 * What preflight derives from the source and the input, before any rule judges it: pure, shared
 * by the rules (lambdas/migration/preflight/rules.ts) and the plan (plan.ts).
 */
export interface Derived {
  engine: string;
  engineVersion: string;
  nodeType: string;
  clusterEnabled: boolean;
  target: { id: string; how: 'input' | TargetIdDerivation; alternate: boolean };
  transit: TransitPlan;
  cutover: MigrationPlan['cutover'];
  /** The member the intermediate snapshot is taken from (a replica where there is one); cluster mode: none. */
  snapshotClusterId?: string;
  /** Nodes whose manual-backup quota the migration uses; undefined = every node (cluster mode). */
  quotaNodeIds?: string[];
}

export interface TransitPlan {
  enabled: boolean;
  mode?: 'preferred' | 'required';
}

export function derive(
  input: MigrationInput,
  source: ReplicationGroup,
  member: CacheCluster | undefined,
): Derived {
  const engine = engineOf(source, member);
  const engineVersion = member?.EngineVersion ?? '0';
  const clusterEnabled = source.ClusterEnabled === true;
  const members = source.MemberClusters ?? [];
  const shard = source.NodeGroups?.[0]?.NodeGroupMembers ?? [];
  const snapshotClusterId = clusterEnabled
    ? undefined
    : (shard.find((m) => m.CurrentRole === 'replica')?.CacheClusterId ?? members[0]);
  const primaryId = shard.find((m) => m.CurrentRole === 'primary')?.CacheClusterId ?? members[0];
  return {
    engine,
    engineVersion,
    nodeType: source.CacheNodeType ?? member?.CacheNodeType ?? '',
    clusterEnabled,
    target: targetOf(input, source.ReplicationGroupId ?? input.sourceReplicationGroupId),
    transit: transitOf(input, source, engine, engineVersion),
    cutover: cutoverOf(input, engine, engineVersion),
    snapshotClusterId,
    quotaNodeIds: clusterEnabled
      ? undefined
      : [snapshotClusterId, primaryId].filter((id): id is string => id !== undefined),
  };
}

export function engineOf(source: ReplicationGroup, member: CacheCluster | undefined): string {
  return (source.Engine ?? member?.Engine ?? 'redis').toLowerCase();
}

/** The target id: the input's, or derived from the source id (naming.ts: derivedTarget). */
export function targetOf(
  input: Pick<MigrationInput, 'targetReplicationGroupId'>,
  sourceId: string,
): Derived['target'] {
  if (input.targetReplicationGroupId)
    return { id: input.targetReplicationGroupId, how: 'input', alternate: false };
  return derivedTarget(sourceId);
}

/** In-transit encryption can be chosen as a mode on Valkey 7.2+ / Redis OSS 7.0+. */
export function transitModeSupported(engine: string, version: string): boolean {
  return versionAtLeast(version, engine === 'valkey' ? '7.2' : '7.0');
}

function transitOf(
  input: MigrationInput,
  source: ReplicationGroup,
  engine: string,
  version: string,
): TransitPlan {
  const modeSupported = transitModeSupported(engine, version);
  if (input.transitEncryption === 'preserve') {
    if (source.TransitEncryptionEnabled !== true) return { enabled: false };
    return {
      enabled: true,
      mode: modeSupported ? ((source.TransitEncryptionMode as TransitPlan['mode']) ?? 'required') : undefined,
    };
  }
  return { enabled: true, mode: modeSupported ? input.transitEncryption : undefined };
}

/** CLIENT PAUSE WRITE came with Redis OSS 6.2; every Valkey version has it. */
export function canPauseWrites(engine: string, engineVersion: string): boolean {
  return engine === 'valkey' || versionAtLeast(engineVersion, '6.2');
}

/**
 * How the cutover stops writes: the workflow holds them (CLIENT PAUSE WRITE), or, where it
 * cannot or must not, the beforeCutover approval asks the operator to stop the application.
 * The rules (cutover warnings) say every weaker choice.
 */
function cutoverOf(input: MigrationInput, engine: string, engineVersion: string): MigrationPlan['cutover'] {
  const pausable = canPauseWrites(engine, engineVersion);
  if (input.verification.mode === 'off') {
    return { method: pausable ? 'pause' : 'gate', changeTracking: false, dataPolicy: 'snapshot-only' };
  }
  const method = input.cutover.pauseWrites && pausable ? 'pause' : 'gate';
  return { method, changeTracking: input.cutover.changeTracking && method === 'pause', dataPolicy: 'exact' };
}
