import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  DescribeReplicationGroupsCommand,
  DescribeSnapshotsCommand,
  ElastiCacheClient,
} from '@aws-sdk/client-elasticache';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { type FaultSpec, type Sandbox, startSandbox } from '../index.js';
import {
  configureLocalEnvironment,
  LOCAL_APPROVAL_TOPIC,
  LOCAL_KMS_ALIAS,
  loadHandlers,
  runMigration,
} from '../workflow.js';
import { Workload } from '../workload.js';
import { type DemoReport, printReport } from './report.js';
import { seedKeys } from './seed.js';

const USAGE = `npm run demo -- [options]

A real migration on the local sandbox: a replication group of real redis-server nodes, an
application writing through its CNAME the whole time (no application-side freeze), the real state
machine and handlers. It ends with every write the application got an OK for checked on the group
the CNAME leads to.

Options:
  --cluster-mode        migrate a cluster-mode-enabled group (3 shards, 1 replica each)
  --tls-auth            the source uses TLS and an AUTH token (kept in Secrets Manager)
  --fault NAME          inject a fault; the migration rolls back. NAME is one of:
                        ${'snapshot-fails, target-create-fails, dns-stuck, reject-delete'}
                        (reject-delete: the operator rejects deleting the source after
                        the flip; the new group's writes go back to the source first)
  --change-tracking     the final copy under the write freeze takes only the keys changed
                        since the last pass (keyspace notifications on the source)
  --writes N            application writes per second (default 500)
  --keys N              keys to seed (default 200000)
  --time-scale X        simulated AWS durations x X (default 0.003; 1 = realistic)
  --report FILE         where the JSON report goes (default reports/demo-report.json)
  --help                this text
`;

const FAULTS: Record<string, { faults: FaultSpec[]; expect: string }> = {
  'snapshot-fails': { faults: [{ type: 'snapshot', outcome: 'failed' }], expect: 'SnapshotFailedError' },
  'target-create-fails': {
    faults: [{ type: 'replication-group', id: '*-atrest', phase: 'create', outcome: 'create-failed' }],
    expect: 'TargetCreateFailedError',
  },
  'dns-stuck': {
    faults: [{ type: 'dns-change', outcome: 'stuck-pending' }],
    expect: 'WaitDeadlineExceededError',
  },
  'reject-delete': { faults: [], expect: 'ApprovalRejectedError' },
};

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

function parse() {
  let values: ReturnType<typeof parseArgs>['values'];
  try {
    ({ values } = parseArgs({
      options: {
        'cluster-mode': { type: 'boolean', default: false },
        'tls-auth': { type: 'boolean', default: false },
        'change-tracking': { type: 'boolean', default: false },
        writes: { type: 'string', default: '500' },
        fault: { type: 'string' },
        keys: { type: 'string', default: '200000' },
        'time-scale': { type: 'string', default: '0.003' },
        report: { type: 'string', default: 'reports/demo-report.json' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    fail(`${(error as Error).message}\n\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const keys = Number(values.keys);
  const timeScale = Number(values['time-scale']);
  if (!Number.isInteger(keys) || keys < 1000 || keys > 5_000_000)
    fail('--keys must be a whole number from 1000 to 5000000');
  if (!(timeScale > 0 && timeScale <= 1)) fail('--time-scale must be a number above 0 and at most 1');
  const writes = Number(values.writes);
  if (!Number.isInteger(writes) || writes < 1 || writes > 20_000)
    fail('--writes must be a whole number from 1 to 20000');
  const fault = values.fault as string | undefined;
  if (fault !== undefined && !FAULTS[fault])
    fail(`--fault must be one of: ${Object.keys(FAULTS).join(', ')}`);
  return {
    clusterMode: values['cluster-mode'] === true,
    tlsAuth: values['tls-auth'] === true,
    changeTracking: values['change-tracking'] === true,
    writes,
    fault,
    keys,
    timeScale,
    report: resolve(String(values.report)),
  };
}

function requireRedisServer(): void {
  const probe = spawnSync(process.env.REDIS_SERVER_BIN ?? 'redis-server', ['--version'], {
    encoding: 'utf8',
  });
  if (probe.error || probe.status !== 0) {
    fail(
      'redis-server is not installed; the demo runs real Redis nodes.\nInstall it with:  sudo apt-get install -y redis-server\n(or point REDIS_SERVER_BIN at a redis-server 7.x binary)',
    );
  }
}

const AUTH_TOKEN = 'Demo-Auth-Token-For-The-Sandbox-2026';
const ZONE = 'Z0DEMOPRIVATE1';

function fixture(options: ReturnType<typeof parse>) {
  const group = options.clusterMode
    ? {
        id: 'sessions',
        clusterMode: 'enabled',
        shards: 3,
        replicasPerShard: 1,
        engine: 'valkey',
        engineVersion: '7.2',
      }
    : { id: 'orders', replicasPerShard: 2, engineVersion: '7.0', multiAz: true };
  return {
    timeScale: options.timeScale,
    kms: { keys: [{ aliases: [LOCAL_KMS_ALIAS], description: 'ElastiCache at-rest key' }] },
    sns: { topics: [LOCAL_APPROVAL_TOPIC] },
    secretsManager: { secrets: options.tlsAuth ? [{ name: 'demo/auth-token', value: AUTH_TOKEN }] : [] },
    elasticache: {
      replicationGroups: [
        {
          ...group,
          description: 'demo cache',
          securityGroupIds: ['sg-0de0ca0e0000d0e01'],
          tags: { team: 'demo' },
          dataSizeMb: Math.round(options.keys / 1000),
          ...(options.tlsAuth
            ? {
                transitEncryption: true,
                transitEncryptionMode: 'required',
                authTokenSecret: 'demo/auth-token',
              }
            : {}),
        },
      ],
    },
    route53: {
      hostedZones: [
        {
          id: ZONE,
          name: 'demo.internal.',
          private: true,
          records: [
            {
              name: 'cache.demo.internal.',
              ttl: 60,
              values: [{ group: group.id, endpoint: options.clusterMode ? 'configuration' : 'primary' }],
            },
          ],
        },
      ],
    },
    // The operator's alarms on the source: carried over to the new group, removed with the source.
    cloudwatch: {
      alarms: [
        {
          name: `${group.id}-memory`,
          metricName: 'DatabaseMemoryUsagePercentage',
          dimensions: { ReplicationGroupId: group.id },
          threshold: 80,
          alarmActions: [DEMO_TOPIC_ARN],
        },
        {
          name: `${group.id}-cpu`,
          metricName: 'EngineCPUUtilization',
          dimensions: { CacheClusterId: options.clusterMode ? `${group.id}-0001-001` : `${group.id}-001` },
          threshold: 90,
          alarmActions: [DEMO_TOPIC_ARN],
        },
      ],
    },
    faults: options.fault ? FAULTS[options.fault]!.faults : [],
  } as const;
}

const DEMO_TOPIC_ARN = `arn:aws:sns:us-east-1:123456789012:${LOCAL_APPROVAL_TOPIC}`;

/** Every alarm of the account, by name, with the cache its dimensions name. */
async function alarmsOf(sandbox: Sandbox): Promise<{ name: string; watches: string }[]> {
  const cw = new CloudWatchClient({
    endpoint: sandbox.endpoint,
    region: sandbox.region,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  const out = await cw.send(new DescribeAlarmsCommand({ MaxRecords: 100 }));
  return (out.MetricAlarms ?? []).map((a) => ({
    name: a.AlarmName!,
    watches: (a.Dimensions ?? []).map((d) => `${d.Name}=${d.Value}`).join(','),
  }));
}

async function main(): Promise<number> {
  const options = parse();
  requireRedisServer();
  const started = Date.now();
  const log = (text: string) =>
    process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${text}\n`);
  const sourceId = options.clusterMode ? 'sessions' : 'orders';

  log(
    `starting the sandbox (real redis-server nodes, ${options.clusterMode ? '3 shards x 2 nodes' : 'primary + 2 replicas'}${options.tlsAuth ? ', TLS + AUTH' : ''})`,
  );
  const sandbox: Sandbox = await startSandbox({ fixture: fixture(options) as never, dataPlane: 'redis' });
  const alarmsBefore = await alarmsOf(sandbox);
  try {
    const caFile = sandbox.tlsCa?.certFile;
    configureLocalEnvironment(sandbox, {
      DNS_SERVERS: sandbox.dnsServer!,
      ...(caFile ? { REDIS_TLS_CA_FILE: caFile } : {}),
      VERIFY_TIME_BUDGET_MS: '60000',
    });
    const handlers = await loadHandlers();
    // The application reaches the cache through its own CNAME, which ElastiCache certificates do
    // not cover (they name *.cache.amazonaws.com; docs/aws-behaviour.md, "Client behaviour at cutover"), so
    // like such clients in AWS it checks the certificate chain (the sandbox CA) but not the name.
    const redisOptions: RedisOptions = options.tlsAuth
      ? {
          password: AUTH_TOKEN,
          tls: {
            ca: readFileSync(caFile!, 'utf8'),
            servername: undefined,
            checkServerIdentity: () => undefined,
          },
        }
      : {};
    const groupOf = (address: string) => {
      for (const group of sandbox.elasticache.groups.values()) {
        for (const shard of group.shards)
          if (shard.members.some((m) => m.address?.host === address)) return group.id;
      }
      return 'unknown';
    };

    const source = sandbox.elasticache.groups.get(sourceId)!;
    const primary = source.shards[0]!.members[0]!.address!;
    const seedClient = options.clusterMode
      ? new Cluster([{ host: primary.host, port: primary.port }], { redisOptions })
      : new Redis({ ...redisOptions, host: primary.host, port: primary.port });
    const seeded = await seedKeys(seedClient, options.keys, { clusterMode: options.clusterMode });
    await seedClient.quit();
    log(`seeded ${seeded} keys into '${sourceId}'`);

    const workload = new Workload({
      recordName: 'cache.demo.internal',
      dnsServer: sandbox.dnsServer!,
      port: primary.port,
      clusterMode: options.clusterMode,
      redisOptions,
      opsPerSecond: options.writes,
      groupOf,
    });
    workload.start();
    log(
      `application started: ${options.writes} writes/s through cache.demo.internal (overwrites, counters, inserts, deletes, keys with expiry), no freeze of its own`,
    );

    let lastState = '';
    const rejectDelete = options.fault === 'reject-delete';
    const result = await runMigration({
      functions: handlers,
      executionName: `demo-${new Date().toISOString().replace(/[:.]/g, '-')}`,
      input: {
        sourceReplicationGroupId: sourceId,
        dnsRecords: [
          {
            hostedZoneId: ZONE,
            recordName: 'cache.demo.internal',
            endpoint: options.clusterMode ? 'configuration' : 'primary',
            lowerTtlTo: 1,
          },
        ],
        approvals: { beforeDeleteSource: rejectDelete },
        soakSeconds: 2,
        pollIntervalSeconds: 1,
        cutover: { changeTracking: options.changeTracking, freezeBudgetSeconds: 15 },
        timeouts: { dnsChangeSeconds: options.fault === 'dns-stuck' ? 5 : 900 },
        ...(options.tlsAuth ? { authTokenSecretArn: sandbox.secrets.resolve('demo/auth-token')!.arn } : {}),
      },
      waitMs: 150,
      retryMs: 200,
      decide: async (request) => {
        if (request.gate === 'beforeDeleteSource' && rejectDelete) {
          // Let the application write to the new group first: those writes must reach the source.
          await new Promise((r) => setTimeout(r, 2000));
          log('gate beforeDeleteSource: the operator rejects deleting the source');
          return { error: 'ApprovalRejectedError', cause: 'rejected by the operator (demo)' };
        }
        return { output: { approved: true } };
      },
      onEvent: (event) => {
        const name = event.state?.name;
        if (
          event.type === 'StateEntered' &&
          name &&
          name !== lastState &&
          event.state?.type !== 'Choice' &&
          // The polls' waits (WaitForSnapshot, …) would repeat; Soak and WaitOutOldTtl are shown.
          !/^Wait(For|To)[A-Z]/.test(name)
        ) {
          lastState = name;
          log(`state ${name}`);
        }
        if (
          event.type === 'StateEntered' &&
          (name === 'RollbackBeforeFlip' || name === 'RollbackAfterFlip')
        ) {
          log(`failure: ${event.Error ?? 'see the report'}; rolling back`);
        }
      },
    });
    // The application goes on a little after the run, then stops; every write it got an OK for
    // is read back through the CNAME.
    await new Promise((r) => setTimeout(r, 1000));
    await workload.stop();
    const verdict = await workload.verify().catch((e: Error) => e);
    const lost =
      verdict instanceof Error
        ? [`(could not read back: ${verdict.message})`]
        : [
            ...verdict.lost.map((l) => `${l.key}: ${l.problem}`),
            ...verdict.counters
              .filter((c) => !c.ok)
              .map((c) => `${c.key}: counter ${c.actual} of ${c.expected}`),
          ];
    const counter =
      verdict instanceof Error
        ? undefined
        : (verdict.counters.find((c) => c.uncertain === 0) ?? verdict.counters[0]);
    log(
      `application stopped; ${workload.stats.acknowledged} acknowledged writes read back: ${lost.length} lost`,
    );

    const ec = new ElastiCacheClient({
      endpoint: sandbox.endpoint,
      region: sandbox.region,
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    const groups = (await ec.send(new DescribeReplicationGroupsCommand({}))).ReplicationGroups ?? [];
    const snapshots = (await ec.send(new DescribeSnapshotsCommand({}))).Snapshots ?? [];
    const summary = result.output as DemoReport['summary'] | undefined;
    const target = groups.find((g) => g.ReplicationGroupId === summary?.target.id);
    const report: DemoReport = {
      ok: result.status === 'SUCCEEDED' && lost.length === 0,
      variant: { clusterMode: options.clusterMode, tlsAuth: options.tlsAuth, fault: options.fault ?? null },
      executionName: result.executionName,
      status: result.status,
      error: result.error,
      cause: result.cause,
      summary,
      newGroup: target
        ? {
            id: target.ReplicationGroupId!,
            atRestEncryption: target.AtRestEncryptionEnabled === true,
            kmsKeyId: target.KmsKeyId ?? null,
            status: target.Status!,
          }
        : null,
      sourceGroupPresent: groups.some((g) => g.ReplicationGroupId === sourceId),
      snapshots: snapshots.map((s) => ({
        name: s.SnapshotName!,
        status: s.SnapshotStatus!,
        group: s.ReplicationGroupId!,
      })),
      application: {
        writesPerSecond: Math.round(workload.stats.opsPerSecondAchieved),
        acknowledged: workload.stats.acknowledged,
        unacknowledged: workload.stats.unacknowledged,
        byGroup: workload.stats.byGroup,
        byKind: workload.stats.byKind,
        longestWriteStallMs: Math.round(workload.stats.longestStallMs),
        reconnects: workload.stats.reconnects,
        lostWrites: lost.length,
        lostExamples: lost.slice(0, 5),
        ...(counter
          ? { counter: { key: counter.key, value: counter.actual, incrsAcknowledged: counter.expected } }
          : {}),
      },
      seededKeys: seeded,
      alarms: { before: alarmsBefore, after: await alarmsOf(sandbox) },
      seconds: (Date.now() - started) / 1000,
    };
    if (options.fault) {
      // An injected fault must end in the rollback it names, with the source still serving.
      const targetId = `${sourceId}-atrest`;
      report.ok =
        result.error === FAULTS[options.fault]!.expect &&
        report.sourceGroupPresent &&
        !groups.some((g) => g.ReplicationGroupId === targetId) &&
        lost.length === 0;
      if (rejectDelete) {
        // The new group served writes after the flip: it goes only with a final snapshot, and
        // those writes are on the source (checked above with every other write).
        report.ok &&=
          (workload.stats.byGroup[targetId] ?? 0) > 0 &&
          snapshots.some((x) => x.SnapshotName?.startsWith(`${targetId}-final-`));
      }
    }
    mkdirSync(dirname(options.report), { recursive: true });
    writeFileSync(options.report, `${JSON.stringify(report, null, 2)}\n`);
    printReport(report, options.report);
    return report.ok ? 0 : 1;
  } finally {
    await sandbox.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`demo failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
