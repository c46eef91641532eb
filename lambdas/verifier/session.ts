/**
 * One call's worth of work on a check or a catch-up: its input validated, its cursor read back,
 * its connections opened (and closed), its time budget, and its result. Shared by verify.ts and
 * catch-up.ts, which differ only in what they do with the keys the walk finds different.
 */
// Named imports keep the bundle small (see lambdas/migration/input.ts).
import {
  array,
  boolean,
  enum as enumOf,
  literal,
  number,
  object,
  string,
  union,
  unknown,
  type ZodError,
} from 'zod';

const z = { array, boolean, enum: enumOf, literal, number, object, string, union, unknown };

import type { ComparisonOptions } from './compare.js';
import { createIoredisClient, Endpoint, type RedisClientFactory } from './connection.js';
import { VerifierCursorError, VerifierInputError } from './errors.js';
import { emptyReport, failingKinds, verdictOf } from './report.js';
import {
  DIFFERENCE_KINDS,
  type VerifierCursor,
  type VerifierInput,
  type VerifierMode,
  type VerifierPolicy,
  type VerifierReport,
  type VerifierResult,
  type VerifierTuning,
} from './types.js';
import type { WalkEndpoints, WalkPositions } from './walk.js';

export interface VerifierDependencies {
  /** Creates the Redis clients. @default {@link createIoredisClient} */
  readonly clientFactory?: RedisClientFactory;
  /** Clock for the time budget. @default Date.now */
  readonly now?: () => number;
}

export type Tuning = Required<VerifierTuning>;

const DEFAULT_TUNING: Tuning = {
  batchSize: 1000,
  concurrency: 8,
  recheckRounds: 2,
  recheckIntervalMs: 500,
  chunkSize: 1000,
  scriptDigestMaxElements: 5000,
  sampleSize: 1000,
  expiryToleranceMs: 0,
  expiryGraceMs: 2000,
  fastPath: 'auto',
  expiryCommand: 'auto',
  databases: 16,
  maxKeysPerSecond: Number.POSITIVE_INFINITY,
};

/** Least expiry tolerance when expiry times are derived from PTTL and the server clock. */
const PTTL_MIN_TOLERANCE_MS = 25;

const endpointSchema = z.object({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  tls: z.boolean(),
  caPem: z.string().optional(),
  servername: z.string().optional(),
  authToken: z.string().min(1).optional(),
  username: z.string().min(1).optional(),
  clusterMode: z.boolean(),
});
const kindSchema = z.enum(DIFFERENCE_KINDS);
const inputSchema = z.object({
  source: endpointSchema,
  target: endpointSchema,
  mode: z.enum(['full', 'sample']).optional(),
  policy: z
    .object({
      writesFrozen: z.boolean(),
      allowedKinds: z.array(kindSchema).optional(),
      maxFailingKeys: z.number().int().min(0).optional(),
    })
    .optional(),
  cursor: z.unknown().optional(),
  timeBudgetMs: z.number().positive(),
  revealKeyNames: z.boolean().optional(),
  tuning: z
    .object({
      batchSize: z.number().int().min(1).max(100_000).optional(),
      concurrency: z.number().int().min(1).max(64).optional(),
      recheckRounds: z.number().int().min(0).max(20).optional(),
      recheckIntervalMs: z.number().int().min(0).optional(),
      chunkSize: z.number().int().min(1).optional(),
      scriptDigestMaxElements: z.number().int().min(0).optional(),
      sampleSize: z.number().int().min(1).optional(),
      expiryToleranceMs: z.number().min(0).optional(),
      expiryGraceMs: z.number().min(0).optional(),
      fastPath: z.enum(['auto', 'lua', 'dump']).optional(),
      expiryCommand: z.enum(['auto', 'pexpiretime', 'pttl']).optional(),
      databases: z.number().int().min(1).max(16_384).optional(),
      maxKeysPerSecond: z.number().positive().optional(),
    })
    .optional(),
});
const countsSchema = z.object(Object.fromEntries(DIFFERENCE_KINDS.map((k) => [k, z.number().int().min(0)])));
const examplesSchema = z.object(Object.fromEntries(DIFFERENCE_KINDS.map((k) => [k, z.array(z.string())])));
const positionSchema = z.union([
  z.literal('done'),
  z.object({
    unit: z.number().int().min(0),
    shardFirstSlot: z.number().int().min(0).max(16383).optional(),
    order: z.array(z.number().int().min(0)).optional(),
    scanCursor: z.string().regex(/^\d+$/),
  }),
]);
const cursorSchema = z.object({
  version: z.literal(1),
  mode: z.enum(['full', 'sample']),
  forward: positionSchema,
  reverse: positionSchema,
  report: z.object({
    mode: z.enum(['full', 'sample']),
    keysChecked: z.number().int().min(0),
    targetKeysScanned: z.number().int().min(0),
    counts: countsSchema,
    examples: examplesSchema,
    keyNamesRevealed: z.boolean(),
    info: z.object({
      comparedByContents: z.number().int().min(0),
      comparedInChunks: z.number().int().min(0),
      resolvedOnRecheck: z.number().int().min(0),
      expiredDuringCheck: z.number().int().min(0),
      uncomparable: z.number().int().min(0),
    }),
    calls: z.number().int().min(0),
    elapsedMs: z.number().min(0),
  }),
});

function describeIssues(error: ZodError): string {
  // Paths and messages only: input values (the AUTH token among them) never reach the message.
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
}

export interface Session {
  readonly mode: VerifierMode;
  readonly policy: VerifierPolicy;
  readonly tuning: Tuning;
  /** Where the previous call stopped. */
  readonly from: WalkPositions | undefined;
  readonly report: VerifierReport;
  /** The walk's connections. */
  readonly endpoints: WalkEndpoints;
  /** The re-check rounds' connections (they run alongside both passes), when asked for. */
  readonly recheck: { readonly source: Endpoint; readonly target: Endpoint } | undefined;
  readonly comparison: ComparisonOptions;
  /** Whether the walk must stop (the time budget less the re-checks' reserve is spent). */
  readonly outOfTime: () => boolean;
  /** Counts the call in the report and tells where the check stands. */
  finish(positions: WalkPositions): VerifierResult;
  close(): void;
}

/**
 * Validates the input and the cursor (nothing is opened when either is wrong), then opens the
 * connections: three per side with `rechecks` (the forward pass, the reverse pass and the
 * re-checks), two without. The first of each side probes the engine (PEXPIRETIME, scripts); the
 * others take what it found.
 */
export async function openSession(
  input: VerifierInput,
  dependencies: VerifierDependencies,
  options: { readonly rechecks: true },
): Promise<Session & { readonly recheck: NonNullable<Session['recheck']> }>;
export async function openSession(
  input: VerifierInput,
  dependencies: VerifierDependencies,
  options: { readonly rechecks: false },
): Promise<Session>;
export async function openSession(
  input: VerifierInput,
  dependencies: VerifierDependencies,
  options: { readonly rechecks: boolean },
): Promise<Session> {
  const now = dependencies.now ?? Date.now;
  const startedAt = now();
  const parsed = inputSchema.safeParse(input);
  if (!parsed.success)
    throw new VerifierInputError(`invalid verifier input: ${describeIssues(parsed.error)}`);
  const mode = input.mode ?? 'full';
  const policy: VerifierPolicy = input.policy ?? { writesFrozen: true };
  const tuning: Tuning = { ...DEFAULT_TUNING, ...input.tuning };
  if (input.source.clusterMode !== input.target.clusterMode) {
    throw new VerifierInputError('source and target must both have cluster mode enabled, or both disabled');
  }
  let cursor: VerifierCursor | undefined;
  if (input.cursor !== undefined) {
    const parsedCursor = cursorSchema.safeParse(input.cursor);
    if (!parsedCursor.success) {
      throw new VerifierCursorError(`invalid verifier cursor: ${describeIssues(parsedCursor.error)}`);
    }
    cursor = structuredClone(input.cursor);
    if (cursor.mode !== mode)
      throw new VerifierCursorError(`the cursor belongs to a ${cursor.mode} check, not ${mode}`);
    for (const position of [cursor.forward, cursor.reverse]) {
      // A scan order that skipped a database would let its keys go unchecked.
      const order = position === 'done' ? undefined : position.order;
      if (order && [...order].sort((a, b) => a - b).join() !== Array.from(order, (_, i) => i).join()) {
        throw new VerifierCursorError(`the cursor's scan order is not databases 0 to ${order.length - 1}`);
      }
      if (order && order.length !== tuning.databases) {
        throw new VerifierCursorError(
          `the cursor's scan order has ${order.length} databases, the check ${tuning.databases}`,
        );
      }
    }
  }

  const factory = dependencies.clientFactory ?? createIoredisClient;
  const endpointOptions = { expiryCommand: tuning.expiryCommand, fastPath: tuning.fastPath };
  const endpoints: Endpoint[] = [];
  const openAll = async (open: (role: 'source' | 'target') => Promise<Endpoint>[]): Promise<void> => {
    const opened = await Promise.allSettled([...open('source'), ...open('target')]);
    for (const result of opened) if (result.status === 'fulfilled') endpoints.push(result.value);
    const failure = opened.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure) {
      for (const endpoint of endpoints) endpoint.close();
      throw failure.reason;
    }
  };
  const specOf = (role: 'source' | 'target') => (role === 'source' ? input.source : input.target);
  await openAll((role) => [Endpoint.open(role, specOf(role), factory, endpointOptions)]);
  const [source, target] = endpoints as [Endpoint, Endpoint];
  const more = options.rechecks ? [1, 2] : [1];
  await openAll((role) =>
    more.map(() =>
      Endpoint.open(role, specOf(role), factory, {
        ...endpointOptions,
        like: role === 'source' ? source : target,
      }),
    ),
  );
  const [reverseSource, recheckSource, reverseTarget, recheckTarget] = options.rechecks
    ? (endpoints.slice(2) as [Endpoint, Endpoint, Endpoint, Endpoint])
    : [endpoints[2] as Endpoint, undefined, endpoints[3] as Endpoint, undefined];

  // PTTL + TIME are read apart, so derived expiry times jitter by a few ms between reads.
  const usesPttl = source.expiryCommand === 'pttl' || target.expiryCommand === 'pttl';
  const comparison: ComparisonOptions = {
    expiryToleranceMs: Math.max(tuning.expiryToleranceMs, usesPttl ? PTTL_MIN_TOLERANCE_MS : 0),
    expiryGraceMs: tuning.expiryGraceMs,
  };
  const report = cursor?.report ?? emptyReport(mode, input.revealKeyNames ?? false);
  const reserveMs = tuning.recheckRounds * tuning.recheckIntervalMs + 1000;
  const deadline = startedAt + Math.max(0, input.timeBudgetMs - reserveMs);
  return {
    mode,
    policy,
    tuning,
    from: cursor,
    report,
    endpoints: { source, target, reverseSource, reverseTarget },
    recheck: recheckSource && recheckTarget ? { source: recheckSource, target: recheckTarget } : undefined,
    comparison,
    outOfTime: () => now() >= deadline,
    finish(positions) {
      report.calls++;
      report.elapsedMs += now() - startedAt;
      if (positions.forward !== 'done' || positions.reverse !== 'done') {
        return { done: false, cursor: { version: 1, mode, ...positions, report }, report };
      }
      const failing = failingKinds(report, policy);
      return { done: true, report, verdict: verdictOf(report, policy), failingKinds: failing };
    },
    close() {
      for (const endpoint of endpoints) endpoint.close();
    },
  };
}
