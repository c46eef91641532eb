/**
 * Configuration: every environment variable the Lambda code reads is read here, and only here.
 * Each is parsed and validated the first time it is used and kept from then on (a function reads
 * only the variables it needs, so one meant for another function never fails it; handlers read
 * theirs at load, so a bad value fails the cold start). A bad value raises ConfigurationError,
 * naming the variable, what is wrong and what it is for.
 *
 * Adding a variable is one line in VARIABLES: a key, then `text`, `list`, `wholeNumber` or
 * `pemFile` with the variable's name and what it is for. Read it as `env.key`; `requireEnv('key')`
 * when the function cannot work without it.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

/** An environment variable with a missing or unusable value. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

/** How to read one variable. */
interface Variable<T> {
  readonly name: string;
  /** What it is for, as the end of "it is needed …". */
  readonly purpose: string;
  read(raw: string | undefined): T;
}

function invalid(name: string, purpose: string, problem: string): ConfigurationError {
  return new ConfigurationError(`Environment variable ${name} ${problem}; it is needed ${purpose}.`);
}

/** A string; unset or empty: undefined. `pattern`, when given, is what a value must match. */
function text(
  name: string,
  purpose: string,
  pattern?: { readonly test: RegExp; readonly expected: string },
): Variable<string | undefined> {
  return {
    name,
    purpose,
    read(raw) {
      const value = raw?.trim();
      if (!value) return undefined;
      if (pattern && !pattern.test.test(value))
        throw invalid(name, purpose, `is '${value}', not ${pattern.expected}`);
      return value;
    },
  };
}

/** What is wrong with one item of a list. */
class Problem {
  constructor(readonly text: string) {}
}

/** A comma-separated list; unset or empty: no items. Each item is trimmed, then `item` reads it. */
function list<T = string>(
  name: string,
  purpose: string,
  item: (value: string) => T | Problem = (value) => value as T,
): Variable<T[]> {
  return {
    name,
    purpose,
    read(raw) {
      return (raw ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .map((value) => {
          const read = item(value);
          if (read instanceof Problem) throw invalid(name, purpose, `lists '${value}', ${read.text}`);
          return read;
        });
    },
  };
}

/** A whole number of at least `min`; unset or empty: `fallback`. */
function wholeNumber(name: string, purpose: string, fallback: number, min = 1): Variable<number> {
  return {
    name,
    purpose,
    read(raw) {
      const value = raw?.trim();
      if (!value) return fallback;
      const n = Number(value);
      if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min)
        throw invalid(name, purpose, `is '${value}', not a whole number of at least ${min}`);
      return n;
    },
  };
}

/** The path of a PEM file, read as text; unset or empty: undefined. */
function pemFile(name: string, purpose: string): Variable<string | undefined> {
  return {
    name,
    purpose,
    read(raw) {
      const path = raw?.trim();
      if (!path) return undefined;
      let pem: string;
      try {
        pem = readFileSync(path, 'utf8');
      } catch (error) {
        throw invalid(name, purpose, `names '${path}', which cannot be read (${(error as Error).message})`);
      }
      if (!pem.includes('-----BEGIN CERTIFICATE-----'))
        throw invalid(name, purpose, `names '${path}', which holds no PEM certificate`);
      return pem;
    },
  };
}

/** A name server as Node's resolver takes it: an IP address, with a port (`[v6]:port` for IPv6). */
function nameServer(value: string): string | Problem {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  const [host, port] = bracketed
    ? [bracketed[1] as string, bracketed[2]]
    : isIP(value)
      ? [value, undefined]
      : [value.slice(0, value.lastIndexOf(':')), value.slice(value.lastIndexOf(':') + 1)];
  if (!isIP(host) || (port !== undefined && !(/^\d+$/.test(port) && Number(port) <= 65535)))
    return new Problem('not an IP address with an optional port (host:port, [v6]:port)');
  return value;
}

/** A hosted zone id, `/hostedzone/` prefix dropped (Route 53 returns ids both ways). */
function hostedZoneId(value: string): string | Problem {
  const id = value.replace(/^\/hostedzone\//, '');
  return /^[A-Za-z0-9]+$/.test(id) ? id : new Problem('not a Route 53 hosted zone id (letters and digits)');
}

const VARIABLES = {
  defaultKmsKeyId: text(
    'DEFAULT_KMS_KEY_ID',
    'for the KMS key new groups are encrypted with when the input names none',
  ),
  approvalTopicArn: text('APPROVAL_TOPIC_ARN', 'to publish approval requests', {
    test: /^arn:aws[\w-]*:sns:[\w-]+:\d{12}:[\w.-]+$/,
    expected: 'an SNS topic ARN',
  }),
  alarmTopicArn: text(
    'ALARM_TOPIC_ARN',
    "for the actions of the recommended alarms (the deployment's topic)",
    {
      test: /^arn:aws[\w-]*:sns:[\w-]+:\d{12}:[\w.-]+$/,
      expected: 'an SNS topic ARN',
    },
  ),
  cacheEventsTopicArn: text(
    'CACHE_EVENTS_TOPIC_ARN',
    "for the new group's ElastiCache event notifications, backup failures among them (the deployment's unencrypted cache-events topic)",
    {
      test: /^arn:aws[\w-]*:sns:[\w-]+:\d{12}:[\w.-]+$/,
      expected: 'an SNS topic ARN',
    },
  ),
  migrationsTableName: text(
    'MIGRATIONS_TABLE_NAME',
    'for the migrations table, where each source is claimed by one migration',
    {
      test: /^([\w.-]{3,255}|arn:aws[\w-]*:dynamodb:[\w-]+:\d{12}:table\/[\w.-]{3,255})$/,
      expected: 'a DynamoDB table name or ARN',
    },
  ),
  reportsBucketName: text('REPORTS_BUCKET_NAME', 'to store the fleet batch plans and reports (S3)'),
  fleetReportTopicArn: text('FLEET_REPORT_TOPIC_ARN', 'to announce the fleet batch report (SNS)'),
  fleetEventBusName: text('FLEET_EVENT_BUS_NAME', 'to announce the fleet batch report (EventBridge)'),
  stateMachineArn: text('STATE_MACHINE_ARN', 'to start and read migrations (the migrations API)', {
    test: /^arn:[^:]+:states:[^:]+:\d{12}:stateMachine:[^:]+$/,
    expected: 'a Step Functions state machine ARN',
  }),
  allowedHostedZoneIds: list(
    'ALLOWED_HOSTED_ZONE_IDS',
    'for the hosted zones this deployment may change',
    hostedZoneId,
  ),
  verifyTimeBudgetMs: wholeNumber(
    'VERIFY_TIME_BUDGET_MS',
    'for the time one data-path invocation spends on the data, in ms (the rest of the timeout is headroom)',
    10 * 60_000,
  ),
  dnsServers: list(
    'DNS_SERVERS',
    'to resolve endpoints through other name servers than the VPC resolver',
    nameServer,
  ),
  redisTlsCaPem: pemFile('REDIS_TLS_CA_FILE', "for the CA bundle to trust for Redis TLS instead of Node's"),
  serviceName: text('POWERTOOLS_SERVICE_NAME', 'for the service name in the logs'),
} satisfies Record<string, Variable<unknown>>;

type Variables = typeof VARIABLES;
export type Configuration = { readonly [K in keyof Variables]: ReturnType<Variables[K]['read']> };

/** The configuration held in `source`, each variable read on first use and kept. */
export function readConfiguration(source: Readonly<Record<string, string | undefined>>): Configuration {
  const configuration = {};
  for (const [key, variable] of Object.entries(VARIABLES) as [string, Variable<unknown>][]) {
    Object.defineProperty(configuration, key, {
      enumerable: true,
      get() {
        const value = variable.read(source[variable.name]);
        Object.defineProperty(configuration, key, { value, enumerable: true });
        return value;
      },
      configurable: true,
    });
  }
  return configuration as Configuration;
}

/** This process's configuration. */
export const env: Configuration = readConfiguration(process.env);

/** A variable the caller cannot work without; ConfigurationError when it is not set. */
export function requireEnv<K extends keyof Configuration>(
  key: K,
  configuration: Configuration = env,
): NonNullable<Configuration[K]> {
  const value = configuration[key];
  if (value === undefined || value === null) {
    const { name, purpose } = VARIABLES[key];
    throw new ConfigurationError(`Environment variable ${name} is not set; it is needed ${purpose}.`);
  }
  return value as NonNullable<Configuration[K]>;
}
