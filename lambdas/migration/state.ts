import type { CreateReplicationGroupCommandInput } from '@aws-sdk/client-elasticache';
import type { DnsRecordInput, MigrationInput } from './input.js';

/**
 * The document a migration carries from step to step (the Step Functions state). Every step
 * takes it and returns it updated; it holds ids, plans and progress, never secrets. It stays far
 * below the 256 KB state limit.
 */
export interface PlannedRecord extends DnsRecordInput {
  type: 'CNAME';
  /** The record's value and TTL before the migration, restored on rollback. */
  originalValue: string;
  originalTtl: number;
  /** The source endpoint the record points at (checked at preflight). */
  sourceEndpoint: string;
}

export interface MigrationPlan {
  migrationId: string;
  /** Eight hex characters derived from the migration id, used in resource names. */
  shortId: string;
  source: {
    id: string;
    arn: string;
    engine: string;
    engineVersion: string;
    nodeType: string;
    clusterEnabled: boolean;
    shards: number;
    replicasPerShard: number;
    transitEncryption: boolean;
    authTokenEnabled: boolean;
    /** The member to snapshot (a replica where there is one); undefined in cluster mode. */
    snapshotClusterId?: string;
  };
  target: { id: string };
  snapshotName: string;
  finalSnapshotName: string;
  kmsKeyArn: string;
  /** The exact CreateReplicationGroup request, without the AUTH token (fetched at restore). */
  createRequest: Omit<CreateReplicationGroupCommandInput, 'AuthToken'>;
  authTokenSecretArn?: string;
  dns: PlannedRecord[];
  options: Pick<
    MigrationInput,
    | 'approvals'
    | 'soakSeconds'
    | 'deleteSource'
    | 'keepIntermediateSnapshot'
    | 'pollIntervalSeconds'
    | 'timeouts'
    | 'verification'
    | 'writesFrozen'
    | 'dryRun'
  >;
  warnings: string[];
}

export interface StepTiming {
  startedAt: string;
  completedAt?: string;
  seconds?: number;
}

export interface MigrationState {
  migrationId: string;
  sourceReplicationGroupId: string;
  outcome: 'planned' | 'already-encrypted' | 'in-progress' | 'migrated';
  /** Why the migration is a no-op (already encrypted). */
  message?: string;
  plan?: MigrationPlan;
  progress: {
    sourceClaimed?: boolean;
    snapshotReady?: boolean;
    targetCreated?: boolean;
    targetReady?: boolean;
    targetVerified?: boolean;
    dataVerified?: boolean;
    /** The data check: its cursor while it runs (it spans several invocations), then its report. */
    dataVerification?: {
      done: boolean;
      verdict?: 'pass' | 'fail';
      cursor?: import('../verifier/index.js').VerifierCursor;
      report: import('../verifier/index.js').VerifierReport;
    };
    /** After the flip, the moved records resolve to the new group. */
    dnsResolved?: boolean;
    dns?: {
      /** A Route 53 change to wait for, and what it does. */
      pendingChangeId?: string;
      pendingChangeKind?: 'lower-ttl' | 'flip' | 'restore';
      changeInSync?: boolean;
      ttlLowered?: boolean;
      /** Longest original TTL to wait out after lowering TTLs. */
      waitSeconds?: number;
      flipped?: boolean;
      confirmed?: boolean;
    };
    sourceDeletionStarted?: boolean;
    sourceDeleted?: boolean;
    snapshotCleaned?: boolean;
    rollback?: {
      dnsRestored?: boolean;
      targetDeleted?: boolean;
      snapshotDeleted?: boolean;
      sourceReleased?: boolean;
      done?: boolean;
    };
  };
  /** Wall-clock deadlines (ISO) of the waits in progress. */
  deadlines: Record<string, string>;
  steps: Record<string, StepTiming>;
  /** Set by the state machine's Catch (Error and Cause of the failure that started a rollback). */
  failure?: { Error: string; Cause: string };
  summary?: MigrationSummary;
  leftovers?: { message: string };
}

export interface MigrationSummary {
  migrationId: string;
  outcome: 'migrated' | 'migrated-source-kept' | 'already-encrypted' | 'dry-run';
  source: { id: string; deleted: boolean; finalSnapshotName?: string };
  target: { id: string; endpoints: Record<string, string>; kmsKeyArn: string };
  dns: { recordName: string; hostedZoneId: string; from: string; to: string }[];
  intermediateSnapshot: { name: string; deleted: boolean };
  /** The data check's figures (absent when verification was off). */
  dataVerification?: {
    mode: string;
    keysChecked: number;
    targetKeysScanned: number;
    counts: Record<string, number>;
  };
  stepSeconds: Record<string, number>;
  warnings: string[];
}
