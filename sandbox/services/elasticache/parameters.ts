import { AwsFault } from '../../protocol/errors.js';

/**
 * Cache parameter groups: families, the implicit default groups, the parameters the sandbox
 * models and their rules.
 *
 * Sources: API reference (CreateCacheParameterGroup, ModifyCacheParameterGroup,
 * DescribeCacheParameters, DeleteCacheParameterGroup); "Redis OSS-specific parameters"
 * (docs.aws.amazon.com/AmazonElastiCache/latest/dg/ParameterGroups.Engine.html): default groups
 * `default.<family>` and `default.<family>.cluster.on`, which cannot be modified;
 * `notify-keyspace-events` modifiable, empty by default, applied immediately;
 * `reserved-memory-percent` 25; `maxmemory-policy` volatile-lru; `cluster-enabled` yes in the
 * `.cluster.on` defaults and required to match the group's cluster mode (docs/aws-behaviour.md: ElastiCache's
 * own data and restricted commands).
 * The sandbox models a handful of parameters, the same for every family.
 */

export const FAMILIES = [
  'redis2.6',
  'redis2.8',
  'redis3.2',
  'redis4.0',
  'redis5.0',
  'redis6.x',
  'redis7',
  'valkey7',
  'valkey8',
] as const;
export type Family = (typeof FAMILIES)[number];

export interface ParameterDefinition {
  readonly name: string;
  readonly defaultValue: string;
  readonly dataType: 'string' | 'integer';
  readonly allowedValues?: string;
  readonly modifiable: boolean;
  readonly changeType: 'immediate' | 'requires-reboot';
  readonly description: string;
  /** A redis.conf setting the sandbox applies to the nodes (others only matter to ElastiCache). */
  readonly onNodes?: boolean;
  /** Refuses a value with a reason. */
  readonly check?: (value: string) => string | undefined;
}

/** The characters `notify-keyspace-events` accepts (redis `keyspaceEventsStringToFlags`). */
export const KEYSPACE_EVENT_FLAGS = 'KEg$lshzxetdmnA';

export const PARAMETERS: readonly ParameterDefinition[] = [
  {
    name: 'cluster-enabled',
    defaultValue: 'no',
    dataType: 'string',
    allowedValues: 'yes,no',
    modifiable: true,
    changeType: 'requires-reboot',
    description: 'Enable cluster mode',
  },
  {
    name: 'lua-time-limit',
    defaultValue: '5000',
    dataType: 'integer',
    modifiable: false,
    changeType: 'immediate',
    description:
      'Max execution time of a Lua script in milliseconds. 0 for unlimited execution without warnings.',
  },
  {
    name: 'maxmemory-policy',
    defaultValue: 'volatile-lru',
    dataType: 'string',
    allowedValues:
      'volatile-lru,allkeys-lru,volatile-lfu,allkeys-lfu,volatile-random,allkeys-random,volatile-ttl,noeviction',
    modifiable: true,
    changeType: 'immediate',
    description: 'Max memory policy.',
    onNodes: true,
  },
  {
    name: 'notify-keyspace-events',
    defaultValue: '',
    dataType: 'string',
    modifiable: true,
    changeType: 'immediate',
    description:
      'The keyspace events for Redis to notify Pub/Sub clients about. By default all notifications are disabled',
    onNodes: true,
    check: checkKeyspaceEvents,
  },
  {
    name: 'reserved-memory-percent',
    defaultValue: '25',
    dataType: 'integer',
    allowedValues: '0-100',
    modifiable: true,
    changeType: 'immediate',
    description: 'The percent of memory reserved for non-cache memory usage.',
  },
];

/**
 * Like redis: only characters of {@link KEYSPACE_EVENT_FLAGS}. Redis silently turns a non-empty
 * value without K or E into "off"; the sandbox refuses it instead (it cannot mean anything; what
 * ElastiCache answers is *unconfirmed*). Empty (off) is allowed.
 */
export function checkKeyspaceEvents(value: string): string | undefined {
  for (const char of value) {
    if (!KEYSPACE_EVENT_FLAGS.includes(char))
      return `'${char}' is not a keyspace event class (allowed: ${KEYSPACE_EVENT_FLAGS})`;
  }
  if (value !== '' && !value.includes('K') && !value.includes('E'))
    return 'it needs K (keyspace) or E (keyevent) to enable any notification';
  return undefined;
}

export function parameterDefinition(name: string): ParameterDefinition | undefined {
  return PARAMETERS.find((p) => p.name === name);
}

/** Checks that `name` may be set to `value` in a custom group; throws InvalidParameterValue. */
export function checkParameterValue(name: string, value: string): void {
  const definition = parameterDefinition(name);
  const invalid = (reason: string) =>
    new AwsFault('InvalidParameterValueException', `Invalid value for parameter ${name}: ${reason}.`);
  if (!definition)
    throw new AwsFault(
      'InvalidParameterValueException',
      `Unknown parameter ${name} (the sandbox models ${PARAMETERS.map((p) => p.name).join(', ')}).`,
    );
  if (!definition.modifiable)
    throw new AwsFault('InvalidParameterValueException', `Parameter ${name} is not modifiable.`);
  if (definition.dataType === 'integer') {
    if (!/^-?\d+$/.test(value)) throw invalid('expected an integer');
    const range = /^(\d+)-(\d+)$/.exec(definition.allowedValues ?? '');
    if (range && (Number(value) < Number(range[1]) || Number(value) > Number(range[2])))
      throw invalid(`expected ${definition.allowedValues}`);
  } else if (definition.allowedValues && !definition.allowedValues.split(',').includes(value)) {
    throw invalid(`expected one of ${definition.allowedValues}`);
  }
  const problem = definition.check?.(value);
  if (problem) throw invalid(problem);
}

/** The family of an engine version: redis 7.x → redis7, 6.x → redis6.x, 5.0 → redis5.0, valkey 8.x → valkey8. */
export function familyOf(engine: string, version: string): Family {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (engine === 'valkey') return major >= 8 ? 'valkey8' : 'valkey7';
  if (major >= 7) return 'redis7';
  if (major === 6) return 'redis6.x';
  if (major === 5) return 'redis5.0';
  if (major === 4) return 'redis4.0';
  if (major === 3) return 'redis3.2';
  return minor >= 8 ? 'redis2.8' : 'redis2.6';
}

/** The default group of a family: `default.redis7`, `default.redis7.cluster.on`, ... */
export function defaultGroupName(family: Family, clusterEnabled: boolean): string {
  return `default.${family}${clusterEnabled ? '.cluster.on' : ''}`;
}

/** The family and cluster mode of a default group's name, or undefined when it is none. */
export function parseDefaultGroupName(name: string): { family: Family; clusterOn: boolean } | undefined {
  const match = /^default\.(.+?)(\.cluster\.on)?$/.exec(name.toLowerCase());
  const family = match?.[1] as Family | undefined;
  if (!family || !FAMILIES.includes(family)) return undefined;
  return { family, clusterOn: match?.[2] !== undefined };
}

/** Every default group's name, in a stable order. */
export function defaultGroupNames(): string[] {
  return FAMILIES.flatMap((family) => [defaultGroupName(family, false), defaultGroupName(family, true)]);
}

/**
 * Custom group names: 1–255 letters, digits or hyphens, starting with a letter, no `--`, no
 * trailing hyphen; stored lowercase (as the console states them; *unconfirmed* beyond that).
 */
export function checkParameterGroupName(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new AwsFault('MissingParameter', 'The request must contain the parameter CacheParameterGroupName');
  if (
    value.length > 255 ||
    !/^[A-Za-z][A-Za-z0-9-]*$/.test(value) ||
    value.includes('--') ||
    value.endsWith('-')
  ) {
    throw new AwsFault(
      'InvalidParameterValueException',
      `Invalid CacheParameterGroupName '${value}': 1 to 255 letters, digits or hyphens, starting with a letter, without two consecutive hyphens or a trailing hyphen.`,
    );
  }
  return value.toLowerCase();
}

/** A custom parameter group. Default groups are implicit (see {@link resolveParameterGroup}). */
export interface CustomParameterGroup {
  name: string;
  family: Family;
  description: string;
  arn: string;
  /** Values set by the user (parameters absent here have their default). */
  values: Map<string, string>;
}

/** A parameter group as the service sees it, default or custom. */
export interface ResolvedParameterGroup {
  name: string;
  family: Family;
  description: string;
  isDefault: boolean;
  custom?: CustomParameterGroup;
  /** Every modelled parameter's current value. */
  values: Map<string, string>;
}

/** Finds a default or custom group; throws CacheParameterGroupNotFound. */
export function resolveParameterGroup(
  customs: ReadonlyMap<string, CustomParameterGroup>,
  name: string,
): ResolvedParameterGroup {
  const lower = name.toLowerCase();
  const parsed = parseDefaultGroupName(lower);
  const base = (clusterOn: boolean) =>
    new Map(
      PARAMETERS.map((p) => [p.name, p.name === 'cluster-enabled' && clusterOn ? 'yes' : p.defaultValue]),
    );
  if (parsed) {
    return {
      name: lower,
      family: parsed.family,
      description: `Default parameter group for ${parsed.family}${parsed.clusterOn ? ' with cluster mode on' : ''}`,
      isDefault: true,
      values: base(parsed.clusterOn),
    };
  }
  const custom = customs.get(lower);
  if (!custom)
    throw new AwsFault('CacheParameterGroupNotFoundFault', `CacheParameterGroup ${name} not found.`);
  const values = base(false);
  for (const [k, v] of custom.values) values.set(k, v);
  return {
    name: custom.name,
    family: custom.family,
    description: custom.description,
    isDefault: false,
    custom,
    values,
  };
}

/** The values of a group that act on its nodes (redis.conf names). */
export function nodeParameters(group: ResolvedParameterGroup): Record<string, string> {
  return Object.fromEntries(
    PARAMETERS.filter((p) => p.onNodes).map((p) => [p.name, group.values.get(p.name) ?? p.defaultValue]),
  );
}
