import type { CreateReplicationGroupCommandInput } from '@aws-sdk/client-elasticache';
import type { DnsRecordInput, MigrationInput } from './input.js';
import type { TargetIdDerivation } from './naming.js';

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
  /**
   * Where ElastiCache notifies the new group's events, backup failures (`ElastiCache:SnapshotFailed`)
   * among them: the source's topic, or the deployment's cache-events topic where the source has
   * none (alarms.recommended). Absent when the recommended set was not asked for.
   */
  backupFailureTopic?: { topicArn: string; from: 'source' | 'deployment' };
  /** `idDerivation`: given in the input, or how it was derived from the source id. */
  target: { id: string; idDerivation?: 'input' | TargetIdDerivation };
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
    | 'cutover'
    | 'alarms'
    | 'backups'
  >;
  /** How the cutover stops writes to the source (see lambdas/migration/catch-up.ts). */
  cutover: {
    /**
     * `pause`: the workflow holds the source's writes (CLIENT PAUSE WRITE) for the final copy and
     * the flip, and keeps holding them after it. `gate`: the beforeCutover approval asks the
     * operator to stop the application's writes (engines before 6.2, or pauseWrites: false).
     */
    method: 'pause' | 'gate';
    /** Keyspace notifications on the source make the freeze copy only changed keys. */
    changeTracking: boolean;
    /**
     * The data policy. `exact`: writes made after the snapshot are caught up, the cutover copies
     * the last ones under the write freeze and reads every copied key back (zero tolerance).
     * `snapshot-only` (verification.mode: off, accepted by the operator): the new group holds
     * what the snapshot held; later writes are not carried over and nothing is checked.
     */
    dataPolicy: 'exact' | 'snapshot-only';
  };
  /**
   * Every setting of the new group that will differ from the source's, with the reason; each can
   * be kept as the source has it (`keepSourceSettings`) where listed there.
   */
  changes: PlannedChange[];
  warnings: string[];
}

export interface PlannedChange {
  setting: string;
  from: string;
  to: string;
  reason: string;
  /** The `keepSourceSettings` value that keeps the source's setting instead, where there is one. */
  keepWith?: string;
}

/** The catch-up's progress: passes over the data until few keys are left to copy. */
export interface CatchUpProgress {
  passes: number;
  /** Keys copied by the pass in progress (it may span invocations). */
  passKeysCopied: number;
  /** Keys copied by the last finished pass. */
  lastPassKeysCopied?: number;
  keysCopied: number;
  keysChecked: number;
  cursor?: import('../verifier/index.js').VerifierCursor;
  /** Few enough keys left for the freeze. */
  converged?: boolean;
}

/** The cutover's write freeze on the source. */
export interface FreezeProgress {
  /** Freezes started (a freeze past its budget releases the writes and counts as one). */
  attempts: number;
  /** Freezes that ran over their budget. */
  overBudget: number;
  /** What the last freeze led to: the flip, or back to catching up. */
  outcome?: 'flipped' | 'resume';
  /** The flip was requested: from then on the new group may hold writes the source lacks. */
  flipRequested?: boolean;
  /** The source holds writes until about this time (CLIENT PAUSE timeout). */
  holdUntil?: string;
  /** Write freeze before the flip, in ms (pause to UPSERT), of the freeze that flipped. */
  frozenMs?: number;
  /** Keys copied under the freeze. */
  keysCopied?: number;
  /** Change tracking used for the final copy, and why not when it was asked for. */
  tracked?: boolean;
  untrackedReason?: string;
  /** Client connections closed on the source after the flip (they reconnect through DNS). */
  clientsClosed?: number;
  reason?: string;
}

/** The rollback's copy of the new group's writes back to the source (after the flip). */
export interface SyncBackProgress {
  done?: boolean;
  /** The flip went out (by the freeze's record or by the records themselves). */
  flipped?: boolean;
  targetHeld?: boolean;
  sourceReleased?: boolean;
  cursor?: import('../verifier/index.js').VerifierCursor;
  keysCopied: number;
  conflicts: number;
  stillDifferent: number;
  /** The new group keeps serving and is not deleted: it holds writes the source may lack. */
  keepTarget?: boolean;
  reason?: string;
}

/** What the alarm steps did (the summary and the demo's report show it). */
export interface AlarmProgress {
  /** Alarms created for the new group, each with the source alarm it copies. */
  copied: { from: string; name: string }[];
  /** Recommended alarms created where the source had none for the metric. */
  recommended: string[];
  /** Source alarms marked for removal once the source is deleted. */
  marked: string[];
  /** Source alarms whose dimensions had no counterpart on the new group (not copied). */
  skipped: { name: string; reason: string }[];
  /** The marked source alarms were deleted after the source. */
  sourceAlarmsDeleted?: string[];
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
    /** Keyspace notifications on the source's parameter group (cutover.changeTracking). */
    changeTracking?: {
      change?: import('./change-tracking.js').ChangeTrackingChange;
      enabled?: boolean;
      restored?: boolean;
    };
    catchUp?: CatchUpProgress;
    freeze?: FreezeProgress;
    syncBack?: SyncBackProgress;
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
    /** The new group's automatic backups taken from a replica (SnapshottingClusterId). */
    backupNode?: { clusterId?: string; requested?: boolean; done?: boolean; reason?: string };
    /** CloudWatch alarms carried over to the new group (lambdas/migration/alarms.ts). */
    alarms?: AlarmProgress;
    sourceDeletionStarted?: boolean;
    sourceDeleted?: boolean;
    snapshotCleaned?: boolean;
    rollback?: {
      dnsRestored?: boolean;
      targetDeleted?: boolean;
      snapshotDeleted?: boolean;
      /** The alarms this migration created are deleted and the source's alarms unmarked. */
      alarmsRemoved?: boolean;
      sourceReleased?: boolean;
      /** A moved record pointed at the new group when the rollback began: it served clients. */
      targetServed?: boolean;
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
  /** Settings of the new group that differ from the source's, with their reasons. */
  changes?: PlannedChange[];
  /** The member the new group's automatic backups are taken from, when a replica was chosen. */
  backupNode?: string;
  /** CloudWatch alarms carried over, created and removed. */
  alarms?: {
    copied: { from: string; name: string }[];
    recommended: string[];
    sourceAlarmsDeleted: string[];
    kept: string[];
    /** The topic ElastiCache notifies of the new group's failed backups (alarms.recommended). */
    backupFailures?: { topicArn: string; from: 'source' | 'deployment' };
  };
  /** The live catch-up and the cutover's write freeze. */
  cutover?: {
    method: 'pause' | 'gate';
    dataPolicy: 'exact' | 'snapshot-only';
    catchUpPasses: number;
    keysCopied: number;
    freezeAttempts: number;
    frozenMs?: number;
    changeTracking: boolean;
    clientsClosed?: number;
  };
  stepSeconds: Record<string, number>;
  warnings: string[];
}
