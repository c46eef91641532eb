/** Public types of the data verifier: its input, cursor, report and policy. */

/** How to reach one replication group over the Redis protocol. */
export interface RedisEndpointSpec {
  /** Primary (cluster mode disabled) or configuration endpoint (enabled), or any node. */
  readonly host: string;
  readonly port: number;
  /** In-transit encryption. */
  readonly tls: boolean;
  /** PEM bundle to trust instead of Node's default CAs (sandbox and tests). */
  readonly caPem?: string;
  /** TLS server name to verify (SNI), when it differs from `host`. */
  readonly servername?: string;
  /**
   * AUTH token (from Secrets Manager). Never logged, never put in a cursor, report or error.
   */
  readonly authToken?: string;
  /** RBAC user name to AUTH as. @default 'default' when a token is given */
  readonly username?: string;
  /** Cluster mode enabled: iterate every primary shard; only database 0 exists. */
  readonly clusterMode: boolean;
}

/** The kinds of difference a check can report. */
export const DIFFERENCE_KINDS = [
  'missing',
  'extra',
  'type',
  'value',
  'expiry',
  'changedDuringCheck',
] as const;
export type DifferenceKind = (typeof DIFFERENCE_KINDS)[number];

/** What counts as a failure. */
export interface VerifierPolicy {
  /**
   * Writes to the source were frozen during the check. Then every difference fails, including
   * keys seen changing; otherwise keys that changed during the check are allowed.
   */
  readonly writesFrozen: boolean;
  /** Kinds that never fail the check. @default [] when frozen, ['changedDuringCheck'] otherwise */
  readonly allowedKinds?: readonly DifferenceKind[];
  /** Failing keys tolerated before the verdict is `fail`. @default 0 */
  readonly maxFailingKeys?: number;
}

export type VerifierMode = 'full' | 'sample';

/** Tuning knobs; the defaults suit a Lambda function in the VPC. */
export interface VerifierTuning {
  /** SCAN COUNT and fast-path batch size. @default 1000 */
  readonly batchSize?: number;
  /** Batches in flight at once (pipelining depth). @default 8 (npm run bench:verify: 8 beat 4 and 16) */
  readonly concurrency?: number;
  /** Further observations of a key still different after the content re-check. @default 2 */
  readonly recheckRounds?: number;
  /** Pause before each further observation round. @default 500 */
  readonly recheckIntervalMs?: number;
  /** Keys with more elements (or string bytes) than this are compared in chunks. @default 1000 */
  readonly chunkSize?: number;
  /** Largest key digested by a server-side script in one go. @default 5000 elements */
  readonly scriptDigestMaxElements?: number;
  /** Random keys per database or shard in `sample` mode. @default 1000 */
  readonly sampleSize?: number;
  /** Accept absolute expiry times this far apart as equal. @default 0 */
  readonly expiryToleranceMs?: number;
  /**
   * A key present on one side only whose expiry on the other side falls within this many ms of
   * the server clock is counted as expiring during the check, not as missing or extra.
   * @default 2000
   */
  readonly expiryGraceMs?: number;
  /**
   * Fast path: `lua` hashes DUMP server-side (one EVALSHA per batch), `dump` pipelines DUMP and
   * compares bytes in the Lambda (no scripting needed). `auto` uses Lua, falling back to `dump`
   * when scripting is refused or unusable in cluster mode (engines before 7.0).
   * @default 'auto'
   */
  readonly fastPath?: 'auto' | 'lua' | 'dump';
  /**
   * How to read absolute expiry times: PEXPIRETIME (Redis 7.0+), or PTTL plus the server clock
   * (older engines; the tolerance is then at least 25 ms). @default 'auto'
   */
  readonly expiryCommand?: 'auto' | 'pexpiretime' | 'pttl';
  /** Databases 0..n-1 to check when cluster mode is disabled. @default 16 */
  readonly databases?: number;
  /**
   * Most keys per second each pass reads (the forward pass from the source, the reverse pass
   * from the target), to spare a busy server; batches shrink to a tenth of it. @default no limit
   */
  readonly maxKeysPerSecond?: number;
}

export interface VerifierInput {
  readonly source: RedisEndpointSpec;
  readonly target: RedisEndpointSpec;
  /** @default 'full' */
  readonly mode?: VerifierMode;
  /** @default { writesFrozen: true } */
  readonly policy?: VerifierPolicy;
  /** Where a previous call stopped; absent on the first call. */
  readonly cursor?: VerifierCursor;
  /** Stop and return a cursor once this much time has been spent (leave headroom for the Lambda). */
  readonly timeBudgetMs: number;
  /** Report example keys by name instead of by hash. @default false */
  readonly revealKeyNames?: boolean;
  readonly tuning?: VerifierTuning;
}

/** Where one pass stands: the database or shard being scanned and the SCAN cursor within it. */
export interface PassPosition {
  /** Index of the database (cluster mode disabled) or shard (enabled) being scanned. */
  readonly unit: number;
  /** First slot of that shard (cluster mode), to find it again after a failover. */
  readonly shardFirstSlot?: number;
  /**
   * Databases in the order they are scanned (cluster mode disabled), `unit` indexing into it:
   * smallest first, so that differences in small databases are re-checked while the big ones
   * are scanned. Absent: databases 0, 1, 2... in turn.
   */
  readonly order?: readonly number[];
  /** SCAN cursor within the unit ('0': the unit's start). */
  readonly scanCursor: string;
}

/** Where a check stands. Small and JSON-serializable: it travels in Step Functions state. */
export interface VerifierCursor {
  readonly version: 1;
  readonly mode: VerifierMode;
  /** The forward pass scans the source; `done` once every unit was scanned. */
  readonly forward: PassPosition | 'done';
  /** The reverse pass scans the target (runs alongside the forward pass). */
  readonly reverse: PassPosition | 'done';
  readonly report: VerifierReport;
}

/** Counts and examples per difference kind. */
export interface VerifierReport {
  readonly mode: VerifierMode;
  /** Source keys compared (forward pass). */
  keysChecked: number;
  /** Target keys looked up on the source (reverse pass). */
  targetKeysScanned: number;
  counts: Record<DifferenceKind, number>;
  /** Up to a few example keys per kind: `db<n>:<name>` or `db<n>:sha256:<prefix>`. */
  examples: Record<DifferenceKind, string[]>;
  readonly keyNamesRevealed: boolean;
  /** How much work the fast path could not settle. */
  info: {
    /** Keys whose DUMP bytes (or expiry) differed, compared by contents. */
    comparedByContents: number;
    /** Keys compared in chunks (larger than `chunkSize`). */
    comparedInChunks: number;
    /** Keys first seen different that were equal on a later observation. */
    resolvedOnRecheck: number;
    /** Keys present on one side only because they were expiring during the check. */
    expiredDuringCheck: number;
    /** Keys of types without a content comparison (modules) whose DUMP bytes differed. */
    uncomparable: number;
  };
  /** Lambda invocations that worked on this check. */
  calls: number;
  /** Time spent in those invocations. */
  elapsedMs: number;
}

export interface VerifierResult {
  readonly done: boolean;
  /** Present when not done: pass it back as `cursor`. */
  readonly cursor?: VerifierCursor;
  readonly report: VerifierReport;
  /** Present when done. */
  readonly verdict?: 'pass' | 'fail';
  /** Kinds that made the verdict fail, with their counts. */
  readonly failingKinds?: Partial<Record<DifferenceKind, number>>;
}
