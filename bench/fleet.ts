/**
 * 1,000 sandbox groups (null data plane, simulated time) through the fleet batch machine on the
 * sandbox's Step Functions, each group a child execution of the real per-group machine with the
 * real handlers. Prints its figures and ratios and ends with one JSON line.
 *
 *   npm run bench:fleet                 # BENCH_GROUPS=200 BENCH_CONCURRENCY=20 to narrow
 *
 * Cost counts every state transition Standard workflows bill (each state entered, each retry) of
 * the fleet execution, its Distributed Map children and every per-group execution, at $0.025 per
 * 1,000 (the list price); Lambda, DynamoDB and S3 charges are not in it.
 */

import { SANDBOX_REPORTS_BUCKET, startSandbox } from '../sandbox/index.js';
import { configureLocalEnvironment } from '../sandbox/workflow.js';
import { fleetFixture, maxOverlap, NULL_DATA_MIGRATION } from '../test/support/fleet.js';

const groups = Number(process.env.BENCH_GROUPS ?? 1000);
const maxConcurrency = Number(process.env.BENCH_CONCURRENCY ?? 40);
const PRICE_PER_TRANSITION = 0.025 / 1000;

const fixture = fleetFixture({ succeed: groups, replicas: 0 });
const sandbox = await startSandbox({ fixture, dns: true });
try {
  configureLocalEnvironment(sandbox, { DNS_SERVERS: sandbox.dnsServer! });
  const sfn = sandbox.stepfunctions;
  const fleetArn = sfn.machineArn('MigrateFleet');
  const migrationArn = sfn.machineArn('MigrateReplicationGroup');
  const started = Date.now();
  const cpuAtStart = process.cpuUsage();
  const run = sfn.start(
    fleetArn,
    'bench',
    JSON.stringify({
      selection: { tags: { team: 'web' } },
      migration: NULL_DATA_MIGRATION,
      maxConcurrency,
      // Every group's old and new node coexist: the default quota of 300 would make most wait.
      quotas: { nodesPerRegion: groups * 2 + 100 },
    }),
  );
  const progress = setInterval(() => {
    const done = [...sfn.executions.values()].filter(
      (e) => e.stateMachineArn === migrationArn && e.status !== 'RUNNING',
    ).length;
    const line = `${done}/${groups} migrations closed, ${((Date.now() - started) / 1000).toFixed(0)} s`;
    // On a terminal the line is redrawn; in a log (CI, a file) it is one line per tick.
    process.stderr.write(process.stderr.isTTY ? `\r${line}` : `${line}\n`);
  }, 2000);
  await run.settled;
  clearInterval(progress);
  process.stderr.write('\n');
  const wallSeconds = (Date.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuAtStart);
  // Wall time depends on what else the machine runs; the process's CPU time much less.
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  if (run.status !== 'SUCCEEDED')
    throw new Error(`The fleet execution ended ${run.status}: ${run.error} ${run.cause}`);
  const children = [...sfn.executions.values()].filter((e) => e.stateMachineArn === migrationArn);
  const migrated = children.filter((e) => e.status === 'SUCCEEDED').length;
  const fleetTransitions = sfn.transitions.get(fleetArn) ?? 0;
  const migrationTransitions = sfn.transitions.get(migrationArn) ?? 0;
  const transitionsPerMigration = (fleetTransitions + migrationTransitions) / migrated;
  const costPerMigrationUsd = transitionsPerMigration * PRICE_PER_TRANSITION;
  const maxConcurrencyObserved = maxOverlap(children);
  const meanChildSeconds =
    children.reduce((sum, e) => sum + ((e.stopDate?.getTime() ?? 0) - e.startDate.getTime()), 0) /
    children.length /
    1000;
  const orchestrationSecondsPerGroup = wallSeconds / groups;
  // The phases: discovery and plan end when the first migration starts; the report runs after
  // the last one closes.
  const firstStart = Math.min(...children.map((e) => e.startDate.getTime()));
  const lastStop = Math.max(...children.map((e) => e.stopDate?.getTime() ?? 0));
  const discoverySeconds = (firstStart - started) / 1000;
  const migrateSeconds = (lastStop - firstStart) / 1000;
  const reportSeconds = wallSeconds - discoverySeconds - migrateSeconds;

  console.log(`groups                      ${groups} (${migrated === groups ? 'all' : migrated} migrated)`);
  console.log(
    `max concurrency             ${maxConcurrencyObserved} observed / ${maxConcurrency} allowed (${(maxConcurrencyObserved / maxConcurrency).toFixed(2)}×)`,
  );
  console.log(
    `transitions                 fleet ${fleetTransitions} + per-group ${migrationTransitions} = ${(transitionsPerMigration).toFixed(1)} per migration (per-group alone ${(migrationTransitions / migrated).toFixed(1)})`,
  );
  console.log(
    `cost per migration          $${costPerMigrationUsd.toFixed(5)} (target $0.01: ${(costPerMigrationUsd / 0.01).toFixed(3)}× of it)`,
  );
  console.log(
    `per-group execution         ${meanChildSeconds.toFixed(2)} s wall on average (time scale ${fixture.timeScale}: AWS's durations scaled down, waits with them)`,
  );
  console.log(
    `wall                        ${wallSeconds.toFixed(1)} s, ${orchestrationSecondsPerGroup.toFixed(3)} s of sandbox orchestration per group; CPU ${cpuSeconds.toFixed(1)} s (${(cpuSeconds / wallSeconds).toFixed(2)} of a core, ${((1000 * cpuSeconds) / groups).toFixed(0)} ms per group)`,
  );
  console.log(
    `phases                      discover+plan ${discoverySeconds.toFixed(1)} s (${((1000 * discoverySeconds) / groups).toFixed(0)} ms/group), migrations ${migrateSeconds.toFixed(1)} s (${((1000 * migrateSeconds) / groups).toFixed(0)} ms/group), report ${reportSeconds.toFixed(1)} s`,
  );
  const calls = new Map<string, number>();
  for (const c of sandbox.server.calls) {
    const key = `${c.service}:${c.operation}`;
    calls.set(key, (calls.get(key) ?? 0) + 1);
  }
  console.log(
    `AWS calls per group         ${[...calls]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([op, n]) => `${op} ${(n / groups).toFixed(1)}`)
      .join(', ')} (${(sandbox.server.calls.length / groups).toFixed(1)} in all)`,
  );
  if (maxConcurrencyObserved > maxConcurrency)
    throw new Error('maxConcurrencyObserved exceeds maxConcurrency');
  console.log(
    JSON.stringify({
      groups,
      maxConcurrency,
      maxConcurrencyObserved,
      transitionsPerMigration: Number(transitionsPerMigration.toFixed(2)),
      costPerMigrationUsd: Number(costPerMigrationUsd.toFixed(6)),
      orchestrationSecondsPerGroup: Number(orchestrationSecondsPerGroup.toFixed(4)),
      wallSeconds: Number(wallSeconds.toFixed(1)),
      cpuSeconds: Number(cpuSeconds.toFixed(1)),
      ...(migrated !== groups ? { migrated } : {}),
    }),
  );
  if (migrated !== groups) {
    const failures = children.filter((e) => e.status !== 'SUCCEEDED');
    for (const e of failures.slice(0, 5))
      console.error(`${e.name}: ${e.status} ${e.error ?? ''} ${(e.cause ?? '').slice(0, 400)}`);
    const report = JSON.parse(
      sandbox.s3.text(SANDBOX_REPORTS_BUCKET, 'fleet-reports/bench/report.json') ?? '{}',
    ) as {
      groups?: {
        groupId: string;
        outcome: string;
        message?: string;
        error?: { name: string; message: string };
      }[];
    };
    for (const row of (report.groups ?? []).filter((r) => !r.outcome.startsWith('migrated')).slice(0, 5))
      console.error(
        `${row.groupId}: ${row.outcome} ${row.error?.name ?? ''} ${row.error?.message ?? row.message ?? ''}`,
      );
    console.error(`${migrated} of ${groups} groups migrated (${children.length} started).`);
    process.exitCode = 1;
  }
} finally {
  await sandbox.stop();
}
