/**
 * Starts the sandbox by hand: `npm run sandbox -- --fixture FILE [--port N] [--time-scale X]
 * [--data-plane redis]`. Prints the environment variables that point the AWS SDK (and the AWS CLI
 * v2) at it, then serves until Ctrl-C or SIGTERM. Bad arguments and bad fixtures exit 2 with a message.
 */
import { parseArgs } from 'node:util';
import type { Fixture } from './fixture.js';
import { FixtureError, loadFixtureFile, type Sandbox, startSandbox } from './index.js';

const USAGE = `Usage: npm run sandbox -- --fixture FILE [--port N] [--time-scale X] [--data-plane redis]

Starts the local AWS sandbox (ElastiCache, Route 53, KMS, Secrets Manager, SNS, DynamoDB and Step
Functions running the project's workflows) seeded from a fleet
fixture and prints the environment variables that point the AWS SDK and the AWS CLI v2 at it.

Options:
  --fixture FILE     fleet fixture, YAML or JSON (example: sandbox/fixtures/example.yaml)
  --port N           port on 127.0.0.1 (default 0: a free port)
  --time-scale X     multiplies realistic durations, overriding the fixture's timeScale
                     (1 = real pace, 0.01 = a 6-minute create takes 3.6 s, 0 = instant)
  --data-plane KIND  null (default: groups hold no data) or redis (every node is a real
                     redis-server on its own loopback address; endpoint names and hosted zones
                     are served as DNS on 127.0.0.1, TLS certificates come from one CA)
  -h, --help         show this help`;

/** A problem with what the user asked for: exit status 2, no stack trace. */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

interface CliOptions {
  fixture: string;
  port: number;
  timeScale?: number;
  dataPlane: 'null' | 'redis';
}

function parseOptions(argv: string[]): CliOptions | 'help' {
  let values: {
    fixture?: string;
    port?: string;
    'time-scale'?: string;
    'data-plane'?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        fixture: { type: 'string', short: 'f' },
        port: { type: 'string', short: 'p' },
        'time-scale': { type: 'string' },
        'data-plane': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  if (!values.fixture) throw new UsageError('--fixture FILE is required.');
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!/^\d+$/.test(values.port ?? '0') || port > 65535) {
    throw new UsageError(`--port expects an integer from 0 to 65535, got '${values.port}'.`);
  }
  let timeScale: number | undefined;
  if (values['time-scale'] !== undefined) {
    timeScale = Number(values['time-scale']);
    if (values['time-scale'].trim() === '' || !Number.isFinite(timeScale) || timeScale < 0) {
      throw new UsageError(`--time-scale expects a number >= 0, got '${values['time-scale']}'.`);
    }
  }
  const dataPlane = values['data-plane'] ?? 'null';
  if (dataPlane !== 'null' && dataPlane !== 'redis') {
    throw new UsageError(`--data-plane expects null or redis, got '${dataPlane}'.`);
  }
  return { fixture: values.fixture, port, timeScale, dataPlane };
}

/** Quotes a value for POSIX shells when it holds anything but safe characters. */
function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function summary(fixture: Fixture): string {
  const groups = fixture.elasticache.replicationGroups;
  const nodes = groups.reduce(
    (sum, g) => sum + (g.clusterMode === 'enabled' ? g.shards : 1) * (g.replicasPerShard + 1),
    0,
  );
  const zones = fixture.route53.hostedZones;
  const records = zones.reduce((sum, z) => sum + z.records.length, 0);
  return [
    `${plural(groups.length, 'replication group')} (${plural(nodes, 'node')})`,
    `${plural(zones.length, 'hosted zone')} (${plural(records, 'record')})`,
    plural(fixture.kms.keys.length, 'KMS key'),
    plural(fixture.secretsManager.secrets.length, 'secret'),
    plural(fixture.faults.length, 'fault'),
  ].join(', ');
}

function exportLines(sandbox: Sandbox): string[] {
  const env: Record<string, string> = {
    ...sandbox.env,
    // Per-service variables are redundant with AWS_ENDPOINT_URL; listed so it is clear which
    // services the sandbox answers (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html).
    AWS_ENDPOINT_URL_ELASTICACHE: sandbox.endpoint,
    AWS_ENDPOINT_URL_ROUTE_53: sandbox.endpoint,
    AWS_ENDPOINT_URL_KMS: sandbox.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sandbox.endpoint,
    AWS_ENDPOINT_URL_SFN: sandbox.endpoint,
  };
  return Object.entries(env).map(([name, value]) => `export ${name}=${shellQuote(value)}`);
}

/** With the Redis data plane: where names resolve and which CA the nodes' certificates chain to. */
function dataPlaneLines(sandbox: Sandbox): string[] {
  const lines: string[] = [];
  if (sandbox.dnsServer) {
    const [host, port] = sandbox.dnsServer.split(':');
    lines.push(
      `# DNS (hosted zones and endpoint names) on ${sandbox.dnsServer}, e.g. dig @${host} -p ${port} <name>`,
      `export SANDBOX_DNS_SERVER=${shellQuote(sandbox.dnsServer)}`,
    );
  }
  if (sandbox.tlsCa) {
    lines.push(
      '# CA of every node certificate (TLS groups), e.g. redis-cli --tls --cacert "$SANDBOX_TLS_CA_FILE"',
      `export SANDBOX_TLS_CA_FILE=${shellQuote(sandbox.tlsCa.certFile)}`,
    );
  }
  return lines;
}

async function main(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const fixture = loadFixtureFile(options.fixture);
  let sandbox: Sandbox;
  try {
    sandbox = await startSandbox({
      fixture,
      port: options.port,
      timeScale: options.timeScale,
      dataPlane: options.dataPlane,
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      throw new UsageError(`Cannot listen on port ${options.port}: ${(error as Error).message}`);
    }
    // Anything else thrown while seeding is a fixture the schema let through.
    throw new FixtureError(`${options.fixture}: ${(error as Error).message}`);
  }

  const out = [
    `# AWS sandbox on ${sandbox.endpoint}, fixture ${options.fixture}, time scale ${options.timeScale ?? fixture.timeScale}`,
    `# Seeded: ${summary(fixture)}.`,
    ...exportLines(sandbox),
    ...dataPlaneLines(sandbox),
    `# Step Functions: ${[...sandbox.stepfunctions.machines.values()].map((m) => m.arn).join(', ')}`,
    '# The AWS SDKs and the AWS CLI v2 honour AWS_ENDPOINT_URL (before 2.13 it needs --endpoint-url), e.g.:',
    `#   aws --endpoint-url ${sandbox.endpoint} elasticache describe-replication-groups`,
    '#   npx at-rest-migrator plan --source <group id>     (docs/cli.md)',
    '# Ctrl-C to stop.',
  ];
  process.stdout.write(`${out.join('\n')}\n`);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  // A second signal while stopping exits at once.
  const force = () => process.exit(1);
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  await sandbox.stop();
  process.stderr.write(`# sandbox stopped (${signal})\n`);
  // Handlers run in this process (Step Functions, the migrations API) and may leave SDK sockets or
  // Redis clients open: everything the sandbox owns is stopped, so do not wait for them.
  setTimeout(() => process.exit(0), 200).unref();
  return 0;
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`sandbox: ${error.message}\n\n${USAGE}\n`);
      process.exitCode = 2;
    } else if (error instanceof FixtureError) {
      process.stderr.write(`sandbox: ${error.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`sandbox: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    }
  },
);
