/**
 * The workflow's side of keyspace notifications: making sure the source group's parameter group
 * turns `notify-keyspace-events` on for every write, expiry and eviction, and putting it back
 * afterwards. ElastiCache API calls only (no Redis connection).
 *
 * Facts (docs/aws-behaviour.md: ElastiCache's own data and restricted commands): CONFIG is refused on
 * ElastiCache, so notifications can only be turned on through the parameter group;
 * `notify-keyspace-events` is modifiable, applies immediately and is empty by default; default
 * parameter groups (`default.*`) cannot be modified, so a group on one is first moved to a custom
 * copy (ModifyReplicationGroup `CacheParameterGroupName`; whether that reboots nodes is
 * *unconfirmed*). Modifying a custom group changes every replication group that uses it.
 *
 * Both functions are reconcilers: each call moves one step and says whether the end state is
 * reached; calling again after a crash or a retry is safe.
 */
import {
  CreateCacheParameterGroupCommand,
  DeleteCacheParameterGroupCommand,
  DescribeCacheClustersCommand,
  DescribeCacheParameterGroupsCommand,
  DescribeCacheParametersCommand,
  DescribeReplicationGroupsCommand,
  type ElastiCacheClient,
  ModifyCacheParameterGroupCommand,
  ModifyReplicationGroupCommand,
  type Parameter,
  type ReplicationGroup,
} from '@aws-sdk/client-elasticache';

export const NOTIFY_KEYSPACE_EVENTS = 'notify-keyspace-events';
/** What change tracking asks for: keyspace events (K) of every class (A). */
export const CHANGE_TRACKING_FLAGS = 'KEA';
/** The classes `A` stands for: generic, string, list, set, hash, zset, expired, evicted, stream. */
const ALL_CLASSES = 'g$lshzxet';

/**
 * Whether a `notify-keyspace-events` value reports every write, expiry and eviction as a keyspace
 * event: it has `K` and either `A` or every class `A` stands for.
 */
export function coversChangeTracking(value: string): boolean {
  return value.includes('K') && (value.includes('A') || [...ALL_CLASSES].every((c) => value.includes(c)));
}

/** `current` with the flags of `add` it lacks appended (order kept, nothing dropped). */
export function unionFlags(current: string, add: string = CHANGE_TRACKING_FLAGS): string {
  let result = current;
  for (const flag of add) if (!result.includes(flag)) result += flag;
  return result;
}

/**
 * The name of the custom copy of a default parameter group: `<groupid>-mig-<shortId>`, the group
 * id trimmed so the name stays within 255 characters and ends without a hyphen (parameter group
 * names: letters, digits, hyphens, starting with a letter, no `--`, no trailing hyphen).
 */
export function copyName(groupId: string, migrationShortId: string): string {
  const suffix = `-mig-${migrationShortId.toLowerCase().replace(/[^a-z0-9-]/g, '-')}`
    .replace(/-{2,}/g, '-')
    .replace(/-$/, '');
  const head = groupId
    .toLowerCase()
    .slice(0, 255 - suffix.length)
    .replace(/-+$/, '');
  return `${head}${suffix}`;
}

export interface ChangeTrackingStatus {
  parameterGroup: string;
  isDefault: boolean;
  notifyKeyspaceEvents: string;
  covers: boolean;
}

export interface ChangeTrackingChange {
  /** The parameter group whose `notify-keyspace-events` change tracking relies on. */
  parameterGroup: string;
  /** Its value before change tracking (for a copy: the default group's value). */
  previousValue: string;
  /** The copy this module created of a default group, to delete at restore. */
  createdCopy?: string;
  /** The default group the replication group was on before being moved to the copy. */
  previousParameterGroup?: string;
}

const isDefaultGroup = (name: string) => name.startsWith('default.');

function isNotFound(error: unknown, name: string): boolean {
  return (error as { name?: string }).name === name;
}

async function describeGroup(ec: ElastiCacheClient, groupId: string): Promise<ReplicationGroup | undefined> {
  try {
    const out = await ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: groupId }));
    return out.ReplicationGroups?.[0];
  } catch (error) {
    if (isNotFound(error, 'ReplicationGroupNotFoundFault')) return undefined;
    throw error;
  }
}

/** The group's parameter group, as its first member reports it (DescribeReplicationGroups has none). */
async function parameterGroupOf(ec: ElastiCacheClient, group: ReplicationGroup): Promise<string> {
  const member = group.MemberClusters?.[0];
  if (!member) throw new Error(`replication group ${group.ReplicationGroupId} has no member clusters`);
  const out = await ec.send(new DescribeCacheClustersCommand({ CacheClusterId: member }));
  const name = out.CacheClusters?.[0]?.CacheParameterGroup?.CacheParameterGroupName;
  if (!name) throw new Error(`cache cluster ${member} reports no parameter group`);
  return name;
}

/** Every parameter of a group, by name (all pages). */
async function parametersOf(ec: ElastiCacheClient, name: string): Promise<Map<string, Parameter>> {
  const parameters = new Map<string, Parameter>();
  let marker: string | undefined;
  do {
    const out = await ec.send(
      new DescribeCacheParametersCommand({ CacheParameterGroupName: name, Marker: marker, MaxRecords: 100 }),
    );
    for (const p of out.Parameters ?? []) if (p.ParameterName) parameters.set(p.ParameterName, p);
    marker = out.Marker;
  } while (marker);
  return parameters;
}

async function keyspaceEventsOf(ec: ElastiCacheClient, name: string): Promise<string> {
  return (await parametersOf(ec, name)).get(NOTIFY_KEYSPACE_EVENTS)?.ParameterValue ?? '';
}

async function setKeyspaceEvents(ec: ElastiCacheClient, name: string, value: string): Promise<void> {
  await ec.send(
    new ModifyCacheParameterGroupCommand({
      CacheParameterGroupName: name,
      ParameterNameValues: [{ ParameterName: NOTIFY_KEYSPACE_EVENTS, ParameterValue: value }],
    }),
  );
}

/** The family of a parameter group, or undefined when it does not exist. */
async function familyOf(ec: ElastiCacheClient, name: string): Promise<string | undefined> {
  try {
    const out = await ec.send(new DescribeCacheParameterGroupsCommand({ CacheParameterGroupName: name }));
    return out.CacheParameterGroups?.[0]?.CacheParameterGroupFamily;
  } catch (error) {
    if (isNotFound(error, 'CacheParameterGroupNotFoundFault')) return undefined;
    throw error;
  }
}

/** Other replication groups (and standalone clusters) on a parameter group, from one paged DescribeCacheClusters. */
async function otherUsers(ec: ElastiCacheClient, parameterGroup: string, groupId: string): Promise<string[]> {
  const users = new Set<string>();
  let marker: string | undefined;
  do {
    const out = await ec.send(new DescribeCacheClustersCommand({ Marker: marker, MaxRecords: 100 }));
    for (const c of out.CacheClusters ?? []) {
      if (c.CacheParameterGroup?.CacheParameterGroupName !== parameterGroup) continue;
      const owner = c.ReplicationGroupId ?? c.CacheClusterId ?? '?';
      if (owner.toLowerCase() !== groupId.toLowerCase()) users.add(owner);
    }
    marker = out.Marker;
  } while (marker);
  return [...users].sort();
}

/**
 * The default group a copy was made of, when no earlier result says: `default.<family>`, with
 * `.cluster.on` when the copy has `cluster-enabled yes` (the naming of the default groups,
 * docs.aws.amazon.com/AmazonElastiCache/latest/dg/ParameterGroups.Engine.html).
 */
async function defaultOfCopy(ec: ElastiCacheClient, copy: string): Promise<string> {
  const family = await familyOf(ec, copy);
  if (!family) throw new Error(`parameter group ${copy} does not exist`);
  const clusterOn = (await parametersOf(ec, copy)).get('cluster-enabled')?.ParameterValue === 'yes';
  return `default.${family}${clusterOn ? '.cluster.on' : ''}`;
}

/** What change tracking would find on a group now. */
export async function changeTrackingStatus(
  elasticache: ElastiCacheClient,
  group: ReplicationGroup,
): Promise<ChangeTrackingStatus> {
  const parameterGroup = await parameterGroupOf(elasticache, group);
  const notifyKeyspaceEvents = await keyspaceEventsOf(elasticache, parameterGroup);
  return {
    parameterGroup,
    isDefault: isDefaultGroup(parameterGroup),
    notifyKeyspaceEvents,
    covers: coversChangeTracking(notifyKeyspaceEvents),
  };
}

export interface EnableChangeTrackingInput {
  groupId: string;
  /** The parameter group family (e.g. `redis7`); read from the current parameter group when absent. */
  family?: string;
  /** Short migration id: names the copy of a default group (`<groupid>-mig-<shortId>`). */
  migrationShortId: string;
  /**
   * The `changed` of an earlier call of this migration. Pass it back on every later call: on a
   * custom group the value before change tracking is only known to the first call.
   */
  previous?: ChangeTrackingChange;
}

export interface EnableChangeTrackingResult {
  /** The group is on a parameter group whose `notify-keyspace-events` covers, and `available`. */
  done: boolean;
  changed: ChangeTrackingChange;
  warnings: string[];
}

/**
 * Turns keyspace notifications on for a replication group, one step per call:
 * - on a default parameter group: creates the custom copy (same family, the default's modifiable
 *   values, `notify-keyspace-events` = the default's value plus `KEA`), then moves the group to it
 *   (ApplyImmediately); `done` once the group is `available` on the copy;
 * - on a custom group: sets `notify-keyspace-events` to the union of its flags and `KEA` when it
 *   does not cover already (this changes every group on it: see `warnings`).
 */
export async function enableChangeTracking(
  elasticache: ElastiCacheClient,
  input: EnableChangeTrackingInput,
): Promise<EnableChangeTrackingResult> {
  const warnings: string[] = [];
  const group = await describeGroup(elasticache, input.groupId);
  if (!group) throw new Error(`replication group ${input.groupId} does not exist`);
  const available = group.Status === 'available';
  const current = await parameterGroupOf(elasticache, group);
  const copy = copyName(input.groupId, input.migrationShortId);

  if (isDefaultGroup(current) || current === copy) {
    // The copy's family and the default's values come from the default group; once the group is
    // on the copy, the default is the one the earlier call recorded (or the copy's family's).
    const source = isDefaultGroup(current)
      ? current
      : (input.previous?.previousParameterGroup ?? (await defaultOfCopy(elasticache, copy)));
    const family = input.family ?? (await familyOf(elasticache, source));
    if (!family) throw new Error(`cannot tell the parameter group family of ${source}`);
    const defaults = await parametersOf(elasticache, source);
    const previousValue =
      input.previous?.previousValue ?? defaults.get(NOTIFY_KEYSPACE_EVENTS)?.ParameterValue ?? '';
    if ((await familyOf(elasticache, copy)) === undefined) {
      await elasticache.send(
        new CreateCacheParameterGroupCommand({
          CacheParameterGroupName: copy,
          CacheParameterGroupFamily: family,
          Description: `Copy of ${source} with keyspace notifications for an at-rest migration of ${input.groupId}`,
        }),
      );
    }
    const copyParameters = await parametersOf(elasticache, copy);
    // The copy starts with the family's defaults; a default group can differ from them
    // (`cluster-enabled yes` in `.cluster.on`), so every modifiable value that differs is copied.
    const differing = [...defaults.values()].filter(
      (p) =>
        p.IsModifiable &&
        p.ParameterName !== NOTIFY_KEYSPACE_EVENTS &&
        (p.ParameterValue ?? '') !== (copyParameters.get(p.ParameterName!)?.ParameterValue ?? ''),
    );
    if (differing.length > 0) {
      await elasticache.send(
        new ModifyCacheParameterGroupCommand({
          CacheParameterGroupName: copy,
          ParameterNameValues: differing.map((p) => ({
            ParameterName: p.ParameterName,
            ParameterValue: p.ParameterValue ?? '',
          })),
        }),
      );
    }
    const copyValue = copyParameters.get(NOTIFY_KEYSPACE_EVENTS)?.ParameterValue ?? '';
    if (!coversChangeTracking(copyValue))
      await setKeyspaceEvents(elasticache, copy, unionFlags(previousValue));
    const changed: ChangeTrackingChange = {
      parameterGroup: copy,
      previousValue,
      createdCopy: copy,
      previousParameterGroup: source,
    };
    if (current !== copy) {
      if (!available) return { done: false, changed, warnings };
      await elasticache.send(
        new ModifyReplicationGroupCommand({
          ReplicationGroupId: input.groupId,
          CacheParameterGroupName: copy,
          ApplyImmediately: true,
        }),
      );
      return { done: false, changed, warnings };
    }
    return { done: available, changed, warnings };
  }

  // A custom group: change it in place.
  const value = await keyspaceEventsOf(elasticache, current);
  const previousValue = input.previous?.parameterGroup === current ? input.previous.previousValue : value;
  if (!coversChangeTracking(value)) await setKeyspaceEvents(elasticache, current, unionFlags(value));
  const others = await otherUsers(elasticache, current, input.groupId);
  if (others.length > 0) {
    warnings.push(
      `Parameter group ${current} is shared with ${others.join(', ')}: keyspace notifications are on for them too until the migration puts ${NOTIFY_KEYSPACE_EVENTS} back to '${previousValue}'.`,
    );
  }
  return { done: available, changed: { parameterGroup: current, previousValue }, warnings };
}

/**
 * Puts back what {@link enableChangeTracking} changed, one step per call: the previous value of a
 * custom group's `notify-keyspace-events`; or the group back on its default parameter group, then
 * the copy deleted once no group uses it (a copy still in use, e.g. by a group restored from a
 * snapshot of the source, is kept and reported in `warnings`). A group that no longer exists is
 * done (its copy is deleted if nothing uses it).
 */
export async function restoreChangeTracking(
  elasticache: ElastiCacheClient,
  groupId: string,
  changed: ChangeTrackingChange,
): Promise<{ done: boolean; warnings: string[] }> {
  const warnings: string[] = [];
  const group = await describeGroup(elasticache, groupId);
  if (!changed.createdCopy) {
    if (!group) return { done: true, warnings };
    try {
      const value = await keyspaceEventsOf(elasticache, changed.parameterGroup);
      if (value !== changed.previousValue)
        await setKeyspaceEvents(elasticache, changed.parameterGroup, changed.previousValue);
    } catch (error) {
      if (!isNotFound(error, 'CacheParameterGroupNotFoundFault')) throw error;
    }
    return { done: true, warnings };
  }

  const copy = changed.createdCopy;
  if (group) {
    const current = await parameterGroupOf(elasticache, group);
    if (current === copy) {
      if (group.Status !== 'available') return { done: false, warnings };
      await elasticache.send(
        new ModifyReplicationGroupCommand({
          ReplicationGroupId: groupId,
          CacheParameterGroupName: changed.previousParameterGroup,
          ApplyImmediately: true,
        }),
      );
      return { done: false, warnings };
    }
    if (group.Status !== 'available') return { done: false, warnings };
    if (current !== changed.previousParameterGroup) {
      warnings.push(
        `Replication group ${groupId} is on ${current}, neither the copy ${copy} nor ${changed.previousParameterGroup}: left as it is.`,
      );
    }
  }
  if ((await familyOf(elasticache, copy)) === undefined) return { done: true, warnings };
  const users = await otherUsers(elasticache, copy, '');
  if (users.length > 0) {
    warnings.push(`Parameter group ${copy} is still used by ${users.join(', ')}: not deleted.`);
    return { done: true, warnings };
  }
  try {
    await elasticache.send(new DeleteCacheParameterGroupCommand({ CacheParameterGroupName: copy }));
  } catch (error) {
    if (isNotFound(error, 'CacheParameterGroupNotFoundFault')) return { done: true, warnings };
    // In use after all (a group moving to it): try again at the next call.
    if (isNotFound(error, 'InvalidCacheParameterGroupStateFault')) return { done: false, warnings };
    throw error;
  }
  return { done: true, warnings };
}
