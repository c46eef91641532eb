import type { FleetReport } from '../../lambdas/fleet/report-model.js';
import type { FixtureInput } from '../../sandbox/index.js';
import { SANDBOX_REPORTS_BUCKET, type Sandbox, startSandbox } from '../../sandbox/index.js';
import type { ExecutionRecord } from '../../sandbox/services/stepfunctions/store.js';
import { configureLocalEnvironment, LOCAL_APPROVAL_TOPIC, LOCAL_KMS_ALIAS } from '../../sandbox/workflow.js';

export const FLEET_ZONE = 'Z0FLEET000001';

export interface FleetMix {
  /** Groups that migrate. */
  succeed: number;
  /** Groups already encrypted at rest. */
  encrypted?: number;
  /** Groups whose DNS tag names a record that points elsewhere (DnsRecordMismatchError at preflight). */
  refused?: number;
  /** Groups whose snapshot fails mid-way (rolled back). */
  failing?: number;
  /** Replicas per shard of every group (nodes per group = 1 + this). */
  replicas?: number;
  /** Data per group: drives how long its snapshot and restore take (simulated). */
  dataSizeMb?: number;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Ids of a mix, by fate. */
export function fleetIds(mix: FleetMix) {
  const ids = (prefix: string, n = 0) => Array.from({ length: n }, (_, i) => `${prefix}-${pad(i + 1)}`);
  return {
    succeed: ids('ok', mix.succeed),
    encrypted: ids('enc', mix.encrypted),
    refused: ids('ref', mix.refused),
    failing: ids('bad', mix.failing),
  };
}

/** A fleet of one-shard groups tagged team=web, each with its CNAME named in its DNS tag. */
export function fleetFixture(mix: FleetMix): FixtureInput {
  const ids = fleetIds(mix);
  const all = [...ids.succeed, ...ids.encrypted, ...ids.refused, ...ids.failing];
  const dnsTag = (id: string) => `${FLEET_ZONE}:${id}.fleet.internal:primary`;
  return {
    timeScale: 0.0002,
    kms: { keys: [{ aliases: [LOCAL_KMS_ALIAS], description: 'migration key' }] },
    sns: { topics: [LOCAL_APPROVAL_TOPIC] },
    elasticache: {
      replicationGroups: all.map((id) => ({
        id,
        engineVersion: '7.1',
        replicasPerShard: mix.replicas ?? 1,
        dataSizeMb: mix.dataSizeMb ?? 10,
        atRestEncryption: ids.encrypted.includes(id),
        // A refused group's tag names the record of another group: DnsRecordMismatchError.
        tags: {
          team: 'web',
          'at-rest-migrator:dns': ids.refused.includes(id) ? dnsTag(ids.succeed[0] ?? 'none') : dnsTag(id),
        },
      })),
    },
    route53: {
      hostedZones: [
        {
          id: FLEET_ZONE,
          name: 'fleet.internal.',
          records: all.map((id) => ({
            name: `${id}.fleet.internal.`,
            ttl: 60,
            values: [{ group: id, endpoint: 'primary' }],
          })),
        },
      ],
    },
    faults: ids.failing.map((id) => ({
      type: 'snapshot' as const,
      name: `${id}-mig-*`,
      outcome: 'failed' as const,
    })),
  };
}

export interface FleetBed {
  sandbox: Sandbox;
  fleetArn: string;
  migrationArn: string;
  /** Starts a fleet execution on the sandbox's Step Functions and waits for it to close. */
  run(name: string, input: unknown): Promise<ExecutionRecord>;
  /** The per-group executions, by name. */
  migrations(): ExecutionRecord[];
  /** The most per-group executions that were running at one instant. */
  maxConcurrentMigrations(): number;
  report(batchId: string): FleetReport;
  html(batchId: string): string;
  stop(): Promise<void>;
}

/** One sandbox per test file (handlers bind their clients at import); `sandbox.reset` between tests. */
export async function startFleetBed(fixture: FixtureInput): Promise<FleetBed> {
  const sandbox = await startSandbox({ fixture, dns: true });
  configureLocalEnvironment(sandbox, { DNS_SERVERS: sandbox.dnsServer! });
  const sfn = () => sandbox.stepfunctions;
  const fleetArn = sfn().machineArn('MigrateFleet');
  const migrationArn = sfn().machineArn('MigrateReplicationGroup');
  const text = (key: string) => {
    const body = sandbox.s3.text(SANDBOX_REPORTS_BUCKET, key);
    if (body === undefined) throw new Error(`No object ${key} in the reports bucket.`);
    return body;
  };
  const migrations = () => [...sfn().executions.values()].filter((e) => e.stateMachineArn === migrationArn);
  return {
    sandbox,
    fleetArn,
    migrationArn,
    async run(name, input) {
      const record = sfn().start(fleetArn, name, JSON.stringify(input));
      await record.settled;
      return record;
    },
    migrations,
    maxConcurrentMigrations: () => maxOverlap(migrations()),
    report: (batchId) => JSON.parse(text(`fleet-reports/${batchId}/report.json`)) as FleetReport,
    html: (batchId) => text(`fleet-reports/${batchId}/report.html`),
    stop: () => sandbox.stop(),
  };
}

/** The most intervals [startDate, stopDate] open at one instant (a close before a start at a tie). */
export function maxOverlap(records: ExecutionRecord[]): number {
  const points = records.flatMap((r) => [
    { at: r.startDate.getTime(), delta: 1 },
    { at: (r.stopDate ?? new Date(8.64e15)).getTime(), delta: -1 },
  ]);
  points.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let open = 0;
  let max = 0;
  for (const p of points) {
    open += p.delta;
    max = Math.max(max, open);
  }
  return max;
}

/** The per-group settings every test batch uses: no data to verify on a null data plane. */
export const NULL_DATA_MIGRATION = { verification: { mode: 'off' } };
