/**
 * `npm run bench:verify`: the data verifier against a plain full-value comparison and the raw
 * floor, on two local redis-servers holding 1,000,000 mixed keys.
 *
 * The source is seeded with strings (int/embstr/raw, with and without expiry), hashes (listpack
 * and hashtable), lists, sets (intset and hashtable), sorted sets, 3,000 big keys of 1,000
 * elements and 5% of keys in db 1. The target is restored from the source's RDB snapshot (the
 * migration's path: docs/aws-behaviour.md says DUMP bytes then differ for hashtable-encoded hashes and sets),
 * then a handful of differences of every kind is planted.
 *
 * Measured, each over the same source keys:
 * - verifier: `verify()` in `full` mode (forward + reverse pass, re-check rounds included);
 * - baseline: type-aware full-value comparison as RedisFullCheck and RIOT's full compare do it
 *   (TYPE, then GET / HGETALL / LRANGE / SMEMBERS / ZRANGE WITHSCORES and PTTL on both sides,
 *   pipelined per SCAN batch, batches in flight like the verifier's);
 * - raw floor: SCAN plus pipelined DUMP of the source alone.
 * The three take turns for BENCH_ROUNDS rounds (default 3) and the figures are the medians: on a
 * shared machine speed drifts over a run. Prints keys/s and ratios (per round too), checks that
 * the verifier reported exactly the planted differences in every round, and ends with one line of
 * JSON.
 */
import type { Redis } from 'ioredis';
import { type RedisEndpointSpec, type VerifierReport, verify } from '../lambdas/verifier/index.js';
import { type RedisServer, startRedisServer, stopAll } from '../sandbox/redis/server.js';

const TOTAL_KEYS = Number(process.env.BENCH_KEYS ?? 1_000_000);
const BIG_KEYS = Math.min(3000, Math.floor(TOTAL_KEYS / 100));
const BIG_KEY_ELEMENTS = 1000;
const BATCH = 1000;
const IN_FLIGHT = 4;
const DAY_MS = 86_400_000;
/** Measurement rounds (floor, baseline, verifier in turn); figures are medians. */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));

type Kind = 'missing' | 'extra' | 'type' | 'value' | 'expiry';

/** What one round measured. */
interface Round {
  readonly keys: number;
  readonly verifierRate: number;
  readonly baseRate: number;
  readonly floorRate: number;
  readonly findings: { falseMismatches: number; found: number; missed: string[] };
  readonly baseFalse: number;
  readonly verdict: string | undefined;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

function pad(n: number): string {
  return String(n).padStart(7, '0');
}

/** Key `i` of the mix: its database and the commands that create it. */
function seedKey(pipe: ReturnType<Redis['pipeline']>, i: number, now: number): void {
  const key = `k:${pad(i)}`;
  const slot = i % 100;
  if (slot < 10) pipe.set(key, String(i * 7919));
  else if (slot < 20) pipe.set(key, `v${i}`);
  else if (slot < 30) pipe.set(key, `raw-value-${i}-${'x'.repeat(48)}`);
  else if (slot < 45) pipe.set(key, `ttl-${i}`, 'PXAT', now + DAY_MS + i);
  else if (slot < 55) pipe.hset(key, 'a', String(i), 'b', 'beta', 'c', `c${i}`, 'd', 'delta', 'e', 'eps');
  else if (slot < 60) pipe.hset(key, 'a', String(i), 'long', `${'L'.repeat(80)}${i}`, 'c', 'gamma', 'd', 'x');
  else if (slot < 70) pipe.rpush(key, 'one', 'two', String(i), 'four', 'five');
  else if (slot < 75) pipe.sadd(key, i, i + 1, i + 2, i + 3, i + 4);
  else if (slot < 80) pipe.sadd(key, `m${i}`, 'alpha', 'beta', 'gamma', 'delta');
  else if (slot < 90) pipe.zadd(key, 1, 'a', 2.5, `b${i}`, 3, 'c', -4, 'd', 1e10, 'e');
  else if (slot < 95) {
    pipe.hset(key, 'f1', 'v1', 'f2', String(i));
    pipe.pexpireat(key, now + 2 * DAY_MS + i);
  } else pipe.rpush(key, String(i), 'tail');
}

function bigKey(pipe: ReturnType<Redis['pipeline']>, j: number): void {
  const key = `big:${pad(j)}`;
  const n = BIG_KEY_ELEMENTS;
  switch (j % 4) {
    case 0:
      pipe.hset(
        key,
        Object.fromEntries(Array.from({ length: n }, (_, e) => [`field:${e}`, `value:${j}:${e}`])),
      );
      break;
    case 1:
      pipe.rpush(key, ...Array.from({ length: n }, (_, e) => `item:${j}:${e}`));
      break;
    case 2:
      pipe.sadd(key, ...Array.from({ length: n }, (_, e) => `member:${e}:${j}`));
      break;
    default:
      pipe.zadd(key, ...Array.from({ length: n }, (_, e) => [e * 1.5, `z:${e}`]).flat());
  }
}

async function seed(server: RedisServer): Promise<{ perDb: Map<number, number> }> {
  const clients = [server.client({ db: 0 }), server.client({ db: 1 })] as const;
  const now = Date.now();
  const regular = TOTAL_KEYS - BIG_KEYS;
  const perDb = new Map<number, number>([
    [0, 0],
    [1, 0],
  ]);
  const pending: Promise<unknown>[] = [];
  let pipes = clients.map((c) => c.pipeline());
  const flush = async (): Promise<void> => {
    pending.push(...pipes.map((p) => p.exec()));
    pipes = clients.map((c) => c.pipeline());
    if (pending.length >= 8) await Promise.all(pending.splice(0));
  };
  for (let i = 0; i < regular; i++) {
    const db = i % 20 === 0 ? 1 : 0;
    seedKey(pipes[db] as ReturnType<Redis['pipeline']>, i, now);
    perDb.set(db, (perDb.get(db) ?? 0) + 1);
    if (i % 5000 === 4999) await flush();
  }
  for (let j = 0; j < BIG_KEYS; j++) {
    bigKey(pipes[0] as ReturnType<Redis['pipeline']>, j);
    perDb.set(0, (perDb.get(0) ?? 0) + 1);
    if (j % 50 === 49) await flush();
  }
  await flush();
  await Promise.all(pending);
  for (const c of clients) c.disconnect();
  return { perDb };
}

interface Planted {
  readonly db: number;
  readonly key: string;
  readonly kind: Kind;
}

/** Plants differences (at most 5 per kind, so the report's examples list them all). */
async function plant(source: RedisServer, target: RedisServer): Promise<Planted[]> {
  const tgt = [target.client({ db: 0 }), target.client({ db: 1 })] as const;
  const src = [source.client({ db: 0 }), source.client({ db: 1 })] as const;
  const planted: Planted[] = [];
  const key = (i: number): string => `k:${pad(i)}`;
  const add = (db: number, k: string, kind: Kind): void => {
    planted.push({ db, key: k, kind });
  };
  const [t0, t1] = tgt;
  const [s0] = src;
  // missing on the target
  await t0.del(key(101));
  add(0, key(101), 'missing');
  await t1.del(key(120));
  add(1, key(120), 'missing');
  await t0.del('big:0000004');
  add(0, 'big:0000004', 'missing');
  // only on the target
  await t0.set('planted:extra:a', 'x');
  add(0, 'planted:extra:a', 'extra');
  await t1.hset('planted:extra:b', 'f', 'v');
  add(1, 'planted:extra:b', 'extra');
  await t0.rpush('planted:extra:c', 'x', 'y');
  add(0, 'planted:extra:c', 'extra');
  // type
  await t0.del(key(211));
  await t0.rpush(key(211), 'now-a-list');
  add(0, key(211), 'type');
  await t1.del(key(260));
  await t1.set(key(260), 'now-a-string');
  add(1, key(260), 'type');
  // value: string, big hash, big list, big zset
  await t0.set(key(312), 'changed');
  add(0, key(312), 'value');
  await t0.hset('big:0000000', 'field:500', 'changed');
  add(0, 'big:0000000', 'value');
  await t0.lset('big:0000001', 999, 'changed');
  add(0, 'big:0000001', 'value');
  await t0.zadd('big:0000003', 12345, 'z:7');
  add(0, 'big:0000003', 'value');
  // expiry: different time, expiry only on the target, expiry only on the source
  await t0.pexpireat(key(431), Date.now() + 3 * DAY_MS);
  add(0, key(431), 'expiry');
  await t0.pexpireat(key(413), Date.now() + 3 * DAY_MS);
  add(0, key(413), 'expiry');
  await t1.persist(key(440));
  add(1, key(440), 'expiry');
  // A value difference planted on the source side too (written after the snapshot).
  await s0.sadd(key(575), 'source-only-member');
  add(0, key(575), 'value');
  for (const c of [...tgt, ...src]) c.disconnect();
  return planted;
}

async function scanAll(client: Redis, onBatch: (keys: Buffer[]) => Promise<void>): Promise<void> {
  let cursor = '0';
  const inflight: Promise<void>[] = [];
  do {
    const [next, keys] = await client.scanBuffer(cursor, 'COUNT', BATCH);
    cursor = next.toString();
    if (keys.length > 0) inflight.push(onBatch(keys));
    if (inflight.length >= IN_FLIGHT) await inflight.shift();
  } while (cursor !== '0');
  await Promise.all(inflight);
}

/** SCAN + pipelined DUMP of the source: the least work any full check must do. */
async function rawFloor(source: RedisServer): Promise<{ keys: number; seconds: number }> {
  let keys = 0;
  const started = process.hrtime.bigint();
  for (const db of [0, 1]) {
    const client = source.client({ db, enableAutoPipelining: false });
    await scanAll(client, async (batch) => {
      const pipe = client.pipeline();
      for (const key of batch) pipe.dumpBuffer(key);
      await pipe.exec();
      keys += batch.length;
    });
    client.disconnect();
  }
  return { keys, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

type Value = string | null;

function canonical(type: string, reply: unknown): Value {
  if (reply === null || reply === undefined) return null;
  switch (type) {
    case 'hash': {
      const flat = reply as Buffer[];
      const pairs: string[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2)
        pairs.push(`${flat[i]?.toString('latin1')}\u0000${flat[i + 1]?.toString('latin1')}`);
      return pairs.sort().join('\u0001');
    }
    case 'set':
      return (reply as Buffer[])
        .map((m) => m.toString('latin1'))
        .sort()
        .join('\u0001');
    case 'list':
    case 'zset':
      return (reply as Buffer[]).map((m) => m.toString('latin1')).join('\u0001');
    default:
      return (reply as Buffer).toString('latin1');
  }
}

function readValue(pipe: ReturnType<Redis['pipeline']>, type: string, key: Buffer): void {
  switch (type) {
    case 'string':
      pipe.getBuffer(key);
      break;
    case 'hash':
      pipe.callBuffer('HGETALL', key);
      break;
    case 'list':
      pipe.lrangeBuffer(key, 0, -1);
      break;
    case 'set':
      pipe.smembersBuffer(key);
      break;
    case 'zset':
      pipe.callBuffer('ZRANGE', key, 0, -1, 'WITHSCORES');
      break;
    default:
      pipe.dumpBuffer(key);
  }
}

/** Full-value comparison in the manner of RedisFullCheck / RIOT compare (source-driven). */
async function baseline(
  source: RedisServer,
  target: RedisServer,
): Promise<{ keys: number; seconds: number; differences: Set<string> }> {
  let keys = 0;
  const differences = new Set<string>();
  const started = process.hrtime.bigint();
  for (const db of [0, 1]) {
    const src = source.client({ db });
    const tgt = target.client({ db });
    await scanAll(src, async (batch) => {
      const types = await Promise.all(
        [src, tgt].map(async (client) => {
          const pipe = client.pipeline();
          for (const key of batch) pipe.type(key);
          return ((await pipe.exec()) ?? []).map(([, type]) => String(type));
        }),
      );
      const [sourceTypes, targetTypes] = types as [string[], string[]];
      const values = await Promise.all(
        [src, tgt].map(async (client, side) => {
          const pipe = client.pipeline();
          batch.forEach((key, i) => {
            const type = (side === 0 ? sourceTypes : targetTypes)[i] as string;
            readValue(pipe, type, key);
            pipe.pttl(key);
          });
          return (await pipe.exec()) ?? [];
        }),
      );
      const [sourceValues, targetValues] = values as [[Error | null, unknown][], [Error | null, unknown][]];
      const nowDiff = 1000; // TTL tolerance, as RIOT's compare has
      batch.forEach((key, i) => {
        const label = `${db}:${key.toString('latin1')}`;
        const sType = sourceTypes[i] as string;
        const tType = targetTypes[i] as string;
        if (sType === 'none') return;
        if (tType === 'none') {
          differences.add(label);
          return;
        }
        if (sType !== tType) {
          differences.add(label);
          return;
        }
        const sValue = canonical(sType, sourceValues[i * 2]?.[1]);
        const tValue = canonical(tType, targetValues[i * 2]?.[1]);
        const sTtl = Number(sourceValues[i * 2 + 1]?.[1]);
        const tTtl = Number(targetValues[i * 2 + 1]?.[1]);
        if (sValue !== tValue) differences.add(label);
        else if (sTtl < 0 !== tTtl < 0 || Math.abs(sTtl - tTtl) > nowDiff) differences.add(label);
      });
      keys += batch.length;
    });
    src.disconnect();
    tgt.disconnect();
  }
  return { keys, seconds: Number(process.hrtime.bigint() - started) / 1e9, differences };
}

function specOf(server: RedisServer): RedisEndpointSpec {
  return { host: server.host, port: server.port, tls: false, clusterMode: false };
}

async function runVerifier(
  source: RedisServer,
  target: RedisServer,
): Promise<{ seconds: number; report: VerifierReport; verdict: string | undefined }> {
  const started = process.hrtime.bigint();
  const result = await verify({
    source: specOf(source),
    target: specOf(target),
    mode: 'full',
    timeBudgetMs: 600_000,
    revealKeyNames: true,
    // For tuning experiments: BENCH_VERIFIER_TUNING='{"batchSize":2000}' (defaults otherwise).
    ...(process.env.BENCH_VERIFIER_TUNING ? { tuning: JSON.parse(process.env.BENCH_VERIFIER_TUNING) } : {}),
  });
  if (!result.done) throw new Error('the verifier did not finish within its time budget');
  return {
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    report: result.report,
    verdict: result.verdict,
  };
}

/** Reported examples (all of them: at most 5 planted per kind) against the planted list. */
function checkFindings(
  report: VerifierReport,
  planted: readonly Planted[],
): { falseMismatches: number; found: number; missed: string[] } {
  let falseMismatches = 0;
  let found = 0;
  const missed: string[] = [];
  const kinds: Kind[] = ['missing', 'extra', 'type', 'value', 'expiry'];
  for (const kind of kinds) {
    const expected = new Set(planted.filter((p) => p.kind === kind).map((p) => `db${p.db}:${p.key}`));
    const reported = new Set(report.examples[kind]);
    for (const label of reported) {
      if (expected.has(label)) found++;
      else falseMismatches++;
    }
    falseMismatches += Math.max(0, report.counts[kind] - reported.size);
    for (const label of expected) if (!reported.has(label)) missed.push(`${kind} ${label}`);
  }
  falseMismatches += report.counts.changedDuringCheck;
  return { falseMismatches, found, missed };
}

async function main(): Promise<void> {
  const servers: RedisServer[] = [];
  const stop = async (): Promise<void> => {
    await stopAll(servers);
  };
  process.once('SIGINT', () => {
    void stop().then(() => process.exit(130));
  });
  try {
    log(`starting the source and seeding ${TOTAL_KEYS.toLocaleString('en')} keys...`);
    const source = await startRedisServer();
    servers.push(source);
    let t = Date.now();
    const { perDb } = await seed(source);
    log(`  seeded in ${((Date.now() - t) / 1000).toFixed(1)} s (db0 ${perDb.get(0)}, db1 ${perDb.get(1)})`);
    t = Date.now();
    const rdb = await source.save();
    const target = await startRedisServer({ rdbFile: rdb });
    servers.push(target);
    log(`  target restored from the source's RDB in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const planted = await plant(source, target);
    log(`  planted ${planted.length} differences`);

    // The three measurements take turns, ROUNDS times: on a shared machine the speed drifts,
    // and each ratio is taken between the medians of measurements made side by side.
    const rounds: Round[] = [];
    const baseExpected = new Set(planted.filter((p) => p.kind !== 'extra').map((p) => `${p.db}:${p.key}`));
    for (let round = 1; round <= ROUNDS; round++) {
      log(`round ${round} of ${ROUNDS}`);
      log('  raw floor: SCAN + pipelined DUMP of the source...');
      const floor = await rawFloor(source);
      log(`    ${floor.keys} keys in ${floor.seconds.toFixed(2)} s`);

      log('  baseline: type-aware full-value comparison...');
      const base = await baseline(source, target);
      const baseFalse = [...base.differences].filter((d) => !baseExpected.has(d)).length;
      log(`    ${base.keys} keys in ${base.seconds.toFixed(2)} s, ${base.differences.size} differences`);

      log('  verifier: full mode, forward + reverse pass...');
      const run = await runVerifier(source, target);
      const findings = checkFindings(run.report, planted);
      log(
        `    ${run.report.keysChecked} source + ${run.report.targetKeysScanned} target keys in ${run.seconds.toFixed(2)} s`,
      );
      log(`    counts ${JSON.stringify(run.report.counts)}`);
      log(`    info ${JSON.stringify(run.report.info)}`);
      rounds.push({
        keys: run.report.keysChecked,
        verifierRate: run.report.keysChecked / run.seconds,
        baseRate: base.keys / base.seconds,
        floorRate: floor.keys / floor.seconds,
        findings,
        baseFalse,
        verdict: run.verdict,
      });
    }

    const verifierRate = median(rounds.map((r) => r.verifierRate));
    const baseRate = median(rounds.map((r) => r.baseRate));
    const floorRate = median(rounds.map((r) => r.floorRate));
    const sourceKeys = (rounds[0] as Round).keys;
    const vsBaseline = verifierRate / baseRate;
    const vsFloor = verifierRate / floorRate;
    const found = Math.min(...rounds.map((r) => r.findings.found));
    const missed = [...new Set(rounds.flatMap((r) => r.findings.missed))];
    const falseMismatches = Math.max(...rounds.map((r) => r.findings.falseMismatches));
    const baseFalse = Math.max(...rounds.map((r) => r.baseFalse));
    const fmt = (n: number): string => Math.round(n).toLocaleString('en').padStart(9);
    const spread = (rates: number[]): string =>
      `(rounds: ${rates.map((n) => Math.round(n).toLocaleString('en')).join(', ')})`;
    console.log('');
    console.log(`keys in the source:           ${sourceKeys.toLocaleString('en')} (big keys: ${BIG_KEYS})`);
    console.log(`medians of ${ROUNDS} rounds, each ratio between medians`);
    console.log(
      `verifier (full)        ${fmt(verifierRate)} keys/s   ${spread(rounds.map((r) => r.verifierRate))}`,
    );
    console.log(
      `baseline (full values) ${fmt(baseRate)} keys/s   verifier is ${vsBaseline.toFixed(2)}x (target >= 4x)   ${spread(rounds.map((r) => r.baseRate))}`,
    );
    console.log(
      `raw floor (SCAN+DUMP)  ${fmt(floorRate)} keys/s   verifier is ${vsFloor.toFixed(2)}x (target >= 0.6x)   ${spread(rounds.map((r) => r.floorRate))}`,
    );
    console.log(
      `per round, verifier vs baseline: ${rounds.map((r) => (r.verifierRate / r.baseRate).toFixed(2)).join(', ')}; vs raw floor: ${rounds.map((r) => (r.verifierRate / r.floorRate).toFixed(2)).join(', ')}`,
    );
    console.log(
      `planted differences: ${planted.length}, found by the verifier in every round: ${found}${
        missed.length > 0 ? ` (missed: ${missed.join(', ')})` : ''
      }`,
    );
    console.log(`false mismatches (worst round): verifier ${falseMismatches}, baseline ${baseFalse}`);
    console.log(`verdict (writes frozen): ${[...new Set(rounds.map((r) => r.verdict))].join(', ')}`);
    const ok = falseMismatches === 0 && missed.length === 0 && vsBaseline >= 4 && vsFloor >= 0.6;
    console.log(`targets met: ${ok ? 'yes' : 'NO'}`);
    console.log(
      JSON.stringify({
        keys: sourceKeys,
        rounds: ROUNDS,
        verifierKeysPerSec: Math.round(verifierRate),
        baselineKeysPerSec: Math.round(baseRate),
        rawFloorKeysPerSec: Math.round(floorRate),
        ratioVsBaseline: Number(vsBaseline.toFixed(2)),
        ratioVsRawFloor: Number(vsFloor.toFixed(2)),
        planted: planted.length,
        plantedFound: found,
        falseMismatches,
        baselineFalseMismatches: baseFalse,
        targetsMet: ok,
      }),
    );
    process.exitCode = ok ? 0 : 1;
  } finally {
    await stop();
  }
}

await main();
