import { createHash } from 'node:crypto';
import { DURATIONS, sizeDuration } from '../../clock.js';
import type { DataPlane, NodeAddress, SnapshotData } from '../../dataplane.js';
import type { ParameterGroupFixture, ReplicationGroupFixture } from '../../fixture.js';
import { AwsFault } from '../../protocol/errors.js';
import type { KmsStore } from '../kms.js';
import type { SecretStore } from '../secretsmanager.js';
import type { SandboxContext } from '../types.js';
import {
  type CustomParameterGroup,
  checkParameterGroupName,
  checkParameterValue,
  defaultGroupName,
  FAMILIES,
  type Family,
  familyOf,
  nodeParameters,
  type ResolvedParameterGroup,
  resolveParameterGroup,
} from './parameters.js';
import { checkBackupSupported, SNAPSHOT_QUOTA_PER_NODE_PER_DAY } from './rules.js';

export type GroupStatus =
  | 'creating'
  | 'available'
  | 'modifying'
  | 'deleting'
  | 'create-failed'
  | 'snapshotting';
export type SnapshotStatus = 'creating' | 'available' | 'restoring' | 'deleting' | 'failed';

export interface Member {
  id: string;
  role: 'primary' | 'replica';
  az: string;
  created: Date;
  address?: NodeAddress;
}

export interface Shard {
  id: string;
  slots?: string;
  members: Member[];
}

export interface LogDelivery {
  LogType: string;
  DestinationType: string;
  DestinationDetails: unknown;
  LogFormat: string;
}

export interface GroupSettings {
  description: string;
  engine: 'redis' | 'valkey';
  engineVersion: string;
  nodeType: string;
  clusterEnabled: boolean;
  clusterMode: 'enabled' | 'disabled' | 'compatible';
  automaticFailover: boolean;
  multiAz: boolean;
  port: number;
  parameterGroup: string;
  subnetGroup: string;
  securityGroupIds: string[];
  atRest: boolean;
  kmsKeyArn?: string;
  transit: boolean;
  transitMode?: 'preferred' | 'required';
  authToken?: string;
  userGroupIds: string[];
  logDelivery: LogDelivery[];
  networkType: string;
  ipDiscovery: string;
  snapshotRetentionLimit: number;
  snapshotWindow: string;
  maintenanceWindow: string;
  autoMinorVersionUpgrade: boolean;
  dataTiering: boolean;
  globalReplicationGroupId?: string;
  notificationTopicArn?: string;
}

/** A pending life-cycle transition, applied when read after `until` (and after `work` settles). */
interface Pending {
  until: number;
  stuck: boolean;
  work?: { done: boolean; failed: boolean };
  apply: (failed: boolean) => void;
}

export interface Group extends GroupSettings {
  id: string;
  arn: string;
  status: GroupStatus;
  shards: Shard[];
  tags: Map<string, string>;
  dataSizeMb: number;
  created: Date;
  authTokenLastModified?: Date;
  pending?: Pending;
  /** Settings applied when the running modification completes. */
  pendingModification?: Partial<GroupSettings>;
  snapshottingClusterId?: string;
  /**
   * The member automatic backups are taken from (ModifyReplicationGroup SnapshottingClusterId;
   * cluster mode disabled only). DescribeReplicationGroups reports it as SnapshottingClusterId.
   */
  backupClusterId?: string;
  /** Manual snapshot start times per node id, for the 24-hour quota. */
  backupsTaken: Map<string, number[]>;
}

export interface Snapshot {
  name: string;
  arn: string;
  status: SnapshotStatus;
  source: 'manual' | 'automated';
  groupId: string;
  cacheClusterId?: string;
  settings: GroupSettings;
  shards: { id: string; slots?: string; replicaCount: number; memberId: string }[];
  kmsKeyArn?: string;
  tags: Map<string, string>;
  dataSizeMb: number;
  created: Date;
  data?: SnapshotData;
  pending?: Pending;
}

const regionShort = (region: string) =>
  region
    .split('-')
    .map((part, i) => (i === 0 ? part : /^\d+$/.test(part) ? part : part[0]))
    .join('');

/** Keeps track of replication groups and snapshots, and advances their life cycles. */
export class ElastiCacheStore {
  readonly groups = new Map<string, Group>();
  readonly snapshots = new Map<string, Snapshot>();
  /** Custom cache parameter groups by (lowercase) name; the default groups are implicit. */
  readonly parameterGroups = new Map<string, CustomParameterGroup>();
  /** Cache subnet groups that exist (names, lowercase). */
  readonly subnetGroups = new Set<string>(['default']);
  /** RBAC user groups that exist (ids). */
  readonly userGroups = new Set<string>();
  /** Per account and region, like the random part of real endpoint host names. */
  readonly endpointSuffix: string;
  /**
   * Where the group's event notifications go (its NotificationTopicArn): the sandbox wires it to
   * its SNS. Only `ElastiCache:SnapshotFailed` is modelled (docs/aws-behaviour.md, CloudWatch).
   */
  notify: (topicArn: string, event: string, message: string) => void = () => {};

  constructor(
    readonly ctx: SandboxContext,
    readonly kms: KmsStore,
    readonly secrets: SecretStore,
    readonly dataPlane: DataPlane,
  ) {
    this.endpointSuffix = createHash('sha256')
      .update(`${ctx.accountId}/${ctx.region}`)
      .digest('hex')
      .slice(0, 6);
  }

  groupArn(id: string): string {
    return `arn:aws:elasticache:${this.ctx.region}:${this.ctx.accountId}:replicationgroup:${id}`;
  }

  parameterGroupArn(name: string): string {
    return `arn:aws:elasticache:${this.ctx.region}:${this.ctx.accountId}:parametergroup:${name}`;
  }

  /** A default or custom parameter group; throws CacheParameterGroupNotFound. */
  parameterGroup(name: string): ResolvedParameterGroup {
    return resolveParameterGroup(this.parameterGroups, name);
  }

  /**
   * The parameter group `name` for a group of this engine, version and cluster mode; throws
   * CacheParameterGroupNotFound, or InvalidParameterCombination when its family or its
   * `cluster-enabled` does not fit (ParameterGroups.Engine.html: cluster mode enabled groups need
   * `cluster-enabled yes`).
   */
  parameterGroupFor(
    settings: Pick<GroupSettings, 'engine' | 'engineVersion' | 'clusterEnabled'>,
    name: string,
  ): ResolvedParameterGroup {
    const resolved = this.parameterGroup(name);
    const family = familyOf(settings.engine, settings.engineVersion);
    if (resolved.family !== family) {
      throw new AwsFault(
        'InvalidParameterCombinationException',
        `The parameter group ${resolved.name} is of family ${resolved.family}; ${settings.engine} ${settings.engineVersion} needs ${family}.`,
      );
    }
    if ((resolved.values.get('cluster-enabled') === 'yes') !== settings.clusterEnabled) {
      throw new AwsFault(
        'InvalidParameterCombinationException',
        `The parameter group ${resolved.name} has cluster-enabled ${resolved.values.get('cluster-enabled')}, which does not match the cluster mode of the replication group.`,
      );
    }
    return resolved;
  }

  /** The default parameter group of a group's engine, version and cluster mode. */
  defaultParameterGroup(
    settings: Pick<GroupSettings, 'engine' | 'engineVersion' | 'clusterEnabled'>,
  ): string {
    return defaultGroupName(familyOf(settings.engine, settings.engineVersion), settings.clusterEnabled);
  }

  /** Groups on a parameter group, or moving to it. */
  groupsUsing(parameterGroup: string): Group[] {
    const name = parameterGroup.toLowerCase();
    return [...this.groups.values()].filter(
      (g) => g.parameterGroup === name || g.pendingModification?.parameterGroup === name,
    );
  }

  /** The settings of a group's parameter group that act on its nodes (none when it is unknown). */
  nodeParametersOf(parameterGroup: string): Record<string, string> {
    try {
      return nodeParameters(this.parameterGroup(parameterGroup));
    } catch {
      return {};
    }
  }

  /** Applies a parameter group's node settings to the running nodes of every group on it, at once. */
  async applyParameterGroup(parameterGroup: string): Promise<void> {
    const parameters = this.nodeParametersOf(parameterGroup);
    await Promise.all(
      this.groupsUsing(parameterGroup).map((g) => this.dataPlane.applyParameters(g.id, parameters)),
    );
  }

  /** Adds a fixture's custom parameter group. */
  seedParameterGroup(fixture: ParameterGroupFixture): void {
    const where = `fixture parameter group '${fixture.name}'`;
    let name: string;
    try {
      name = checkParameterGroupName(fixture.name);
      for (const [parameter, value] of Object.entries(fixture.parameters))
        checkParameterValue(parameter, value);
    } catch (error) {
      throw new Error(`${where}: ${(error as Error).message}`);
    }
    if (!FAMILIES.includes(fixture.family as Family))
      throw new Error(`${where}: unknown family ${fixture.family}`);
    this.parameterGroups.set(name, {
      name,
      family: fixture.family as Family,
      description: fixture.description,
      arn: this.parameterGroupArn(name),
      values: new Map(Object.entries(fixture.parameters)),
    });
  }

  snapshotArn(name: string): string {
    return `arn:aws:elasticache:${this.ctx.region}:${this.ctx.accountId}:snapshot:${name}`;
  }

  /**
   * Endpoint host names in the formats ElastiCache uses: `master.`/`replica.` names for groups
   * with in-transit encryption, `<id>.xxxxxx.ng.0001` / `<id>-ro` otherwise, and a
   * configuration endpoint for cluster mode enabled.
   * https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Endpoints.html
   */
  endpointHost(
    group: Pick<Group, 'id' | 'transit' | 'clusterEnabled'>,
    kind: 'primary' | 'reader' | 'configuration' | { node: string },
  ): string {
    const tail = `${this.endpointSuffix}.${regionShort(this.ctx.region)}.cache.amazonaws.com`;
    if (typeof kind === 'object') {
      const node = kind.node;
      const shard = /-(\d{4})-\d{3}$/.exec(node)?.[1] ?? '0001';
      return `${node}.${this.endpointSuffix}.${shard}.${regionShort(this.ctx.region)}.cache.amazonaws.com`;
    }
    if (kind === 'configuration') {
      return group.transit
        ? `clustercfg.${group.id}.${tail}`
        : `${group.id}.${this.endpointSuffix}.clustercfg.${regionShort(this.ctx.region)}.cache.amazonaws.com`;
    }
    if (group.transit) return `${kind === 'primary' ? 'master' : 'replica'}.${group.id}.${tail}`;
    return `${kind === 'primary' ? group.id : `${group.id}-ro`}.${this.endpointSuffix}.ng.0001.${regionShort(this.ctx.region)}.cache.amazonaws.com`;
  }

  /** The host name a DNS record can point at, for fixture references. */
  endpointOf(groupId: string, kind: 'primary' | 'reader' | 'configuration'): string {
    const group = this.groups.get(groupId.toLowerCase());
    if (!group)
      throw new Error(`fixture references replication group '${groupId}', which the fixture does not define`);
    if (kind === 'configuration' && !group.clusterEnabled) {
      throw new Error(
        `fixture references the configuration endpoint of '${groupId}', which has cluster mode disabled`,
      );
    }
    if (kind !== 'configuration' && group.clusterEnabled) {
      throw new Error(
        `fixture references the ${kind} endpoint of '${groupId}', which has cluster mode enabled: use configuration`,
      );
    }
    return this.endpointHost(group, kind);
  }

  /** Lays out shards and members: `<id>-001…` (disabled) or `<id>-0001-001…` (enabled). */
  layout(
    id: string,
    clusterEnabled: boolean,
    shardCount: number,
    replicasPerShard: number,
    azs: string[],
    slotsFrom?: (string | undefined)[],
  ): Shard[] {
    const created = new Date(this.ctx.clock.now());
    const shards: Shard[] = [];
    let azIndex = 0;
    for (let s = 0; s < shardCount; s++) {
      const shardId = String(s + 1).padStart(4, '0');
      const members: Member[] = [];
      for (let n = 0; n <= replicasPerShard; n++) {
        const nodeNumber = clusterEnabled ? n + 1 : s * (replicasPerShard + 1) + n + 1;
        const memberId = clusterEnabled
          ? `${id}-${shardId}-${String(nodeNumber).padStart(3, '0')}`
          : `${id}-${String(nodeNumber).padStart(3, '0')}`;
        members.push({
          id: memberId,
          role: n === 0 ? 'primary' : 'replica',
          az: azs[azIndex++ % Math.max(azs.length, 1)] ?? 'us-east-1a',
          created,
        });
      }
      shards.push({
        id: shardId,
        slots: clusterEnabled ? (slotsFrom?.[s] ?? evenSlots(s, shardCount)) : undefined,
        members,
      });
    }
    return shards;
  }

  /** Adds a fixture group as it already exists (no life cycle), starting its data plane nodes. */
  async seedGroup(fixture: ReplicationGroupFixture): Promise<Group> {
    const id = fixture.id.toLowerCase();
    const clusterEnabled = fixture.clusterMode === 'enabled';
    const kmsKeyArn = fixture.kmsKey ? this.kms.resolve(fixture.kmsKey)?.arn : undefined;
    if (fixture.kmsKey && !kmsKeyArn)
      throw new Error(
        `fixture group '${fixture.id}' names KMS key '${fixture.kmsKey}', which the fixture does not define`,
      );
    let authToken: string | undefined;
    if (fixture.authTokenSecret) {
      const secret = this.secrets.resolve(fixture.authTokenSecret);
      if (!secret)
        throw new Error(
          `fixture group '${fixture.id}' names secret '${fixture.authTokenSecret}', which the fixture does not define`,
        );
      authToken = secret.value;
    }
    const automaticFailover = fixture.automaticFailover ?? (clusterEnabled || fixture.replicasPerShard > 0);
    const group: Group = {
      id,
      arn: this.groupArn(id),
      status: fixture.status,
      description: fixture.description,
      engine: fixture.engine,
      engineVersion: fixture.engineVersion,
      nodeType: fixture.nodeType,
      clusterEnabled,
      clusterMode: fixture.clusterMode,
      automaticFailover,
      multiAz: fixture.multiAz,
      port: fixture.port,
      parameterGroup: (
        fixture.parameterGroup ??
        this.defaultParameterGroup({
          engine: fixture.engine,
          engineVersion: fixture.engineVersion,
          clusterEnabled,
        })
      ).toLowerCase(),
      subnetGroup: fixture.subnetGroup,
      securityGroupIds: fixture.securityGroupIds,
      // Data tiering (r6gd) nodes are always encrypted at rest (docs/aws-behaviour.md, Engines).
      atRest: fixture.atRestEncryption || fixture.dataTiering,
      kmsKeyArn,
      transit: fixture.transitEncryption,
      transitMode: fixture.transitEncryption ? (fixture.transitEncryptionMode ?? 'required') : undefined,
      authToken,
      userGroupIds: fixture.userGroupIds,
      logDelivery: fixture.logDelivery.map((l) => ({
        LogType: l.logType,
        DestinationType: l.destinationType,
        DestinationDetails:
          l.destinationType === 'cloudwatch-logs'
            ? { CloudWatchLogsDetails: { LogGroup: l.destination } }
            : { KinesisFirehoseDetails: { DeliveryStream: l.destination } },
        LogFormat: l.logFormat,
      })),
      networkType: fixture.networkType,
      ipDiscovery: fixture.ipDiscovery,
      snapshotRetentionLimit: fixture.snapshotRetentionLimit,
      snapshotWindow: fixture.snapshotWindow,
      maintenanceWindow: fixture.maintenanceWindow,
      autoMinorVersionUpgrade: fixture.autoMinorVersionUpgrade,
      dataTiering: fixture.dataTiering,
      globalReplicationGroupId: fixture.globalReplicationGroupId,
      notificationTopicArn: fixture.notificationTopicArn,
      shards: this.layout(
        id,
        clusterEnabled,
        fixture.shards,
        fixture.replicasPerShard,
        fixture.availabilityZones,
      ),
      tags: new Map(Object.entries(fixture.tags)),
      dataSizeMb: fixture.dataSizeMb,
      created: new Date(this.ctx.clock.now()),
      backupsTaken: new Map(),
    };
    try {
      this.parameterGroupFor(group, group.parameterGroup);
    } catch (error) {
      throw new Error(`fixture group '${fixture.id}': ${(error as Error).message}`);
    }
    await this.startNodes(group);
    this.groups.set(id, group);
    return group;
  }

  private async startNodes(group: Group, from?: SnapshotData): Promise<void> {
    const addresses = await this.dataPlane.createGroup(
      {
        groupId: group.id,
        clusterMode: group.clusterEnabled,
        port: group.port,
        shards: group.shards.map((s) => ({
          nodeGroupId: s.id,
          slots: s.slots,
          nodeIds: s.members.map((m) => m.id),
        })),
        transitEncryption: group.transit,
        transitEncryptionMode: group.transit ? group.transitMode : undefined,
        authToken: group.authToken,
        atRestEncryption: group.atRest,
        hostNames: this.hostNames(group),
        parameters: this.nodeParametersOf(group.parameterGroup),
      },
      from,
      this.kms,
    );
    for (const shard of group.shards) for (const m of shard.members) m.address = addresses[m.id];
  }

  /** Every endpoint host name of a group (those Describe* show), then each node's. */
  hostNames(group: Group): string[] {
    const kinds = group.clusterEnabled ? (['configuration'] as const) : (['primary', 'reader'] as const);
    return [
      ...kinds.map((kind) => this.endpointHost(group, kind)),
      ...group.shards.flatMap((s) => s.members.map((m) => this.endpointHost(group, { node: m.id }))),
    ];
  }

  /**
   * The node addresses a DNS server answers for one of this account's endpoint host names:
   * primary endpoint → the primary, reader endpoint → the replicas (the primary when there are
   * none), configuration endpoint → every shard's primary, node endpoint → that node. Undefined
   * when the name is no endpoint of an existing group; empty while its nodes have no address.
   */
  endpointAddresses(hostName: string): string[] | undefined {
    this.tick();
    const name = hostName.toLowerCase().replace(/\.$/, '');
    const addresses = (members: Member[]) =>
      members.map((m) => m.address?.host ?? '').filter((host) => host !== '');
    for (const group of this.groups.values()) {
      const members = group.shards.flatMap((s) => s.members);
      const primaries = members.filter((m) => m.role === 'primary');
      const replicas = members.filter((m) => m.role === 'replica');
      if (group.clusterEnabled) {
        if (name === this.endpointHost(group, 'configuration')) return addresses(primaries);
      } else {
        if (name === this.endpointHost(group, 'primary')) return addresses(primaries);
        if (name === this.endpointHost(group, 'reader'))
          return addresses(replicas.length > 0 ? replicas : primaries);
      }
      const node = members.find((m) => name === this.endpointHost(group, { node: m.id }));
      if (node) return addresses([node]);
    }
    return undefined;
  }

  /**
   * The subnet and user groups that exist: the fixture's lists when given (so a world where one
   * is missing can be built), else `default` and every one a group uses.
   */
  seedNetwork(fixture: { subnetGroups?: string[]; userGroups?: string[] }): void {
    const groups = [...this.groups.values()];
    for (const name of fixture.subnetGroups ?? groups.map((g) => g.subnetGroup))
      this.subnetGroups.add(name.toLowerCase());
    for (const id of fixture.userGroups ?? groups.flatMap((g) => g.userGroupIds)) this.userGroups.add(id);
  }

  /** CacheSubnetGroupNotFoundFault unless the subnet group exists. */
  requireSubnetGroup(name: string): void {
    if (!this.subnetGroups.has(name.toLowerCase()))
      throw new AwsFault('CacheSubnetGroupNotFoundFault', `Cache subnet group ${name} not found.`);
  }

  /** UserGroupNotFoundFault for the first user group that does not exist. */
  requireUserGroups(ids: readonly string[]): void {
    const missing = ids.find((id) => !this.userGroups.has(id));
    if (missing !== undefined)
      throw new AwsFault('UserGroupNotFoundFault', `User group ${missing} not found.`);
  }

  // ---------------------------------------------------------------- life cycles

  /** Runs `work` (data plane) alongside the simulated duration. */
  private schedule(
    realisticMs: number,
    stuck: boolean,
    apply: (failed: boolean) => void,
    work?: () => Promise<void>,
  ): Pending {
    const pending: Pending = { until: this.ctx.clock.deadline(realisticMs), stuck, apply };
    if (work) {
      const state = { done: false, failed: false };
      pending.work = state;
      work().then(
        () => {
          state.done = true;
        },
        () => {
          state.done = true;
          state.failed = true;
        },
      );
    }
    return pending;
  }

  private advance(target: { pending?: Pending }): void {
    const p = target.pending;
    if (!p || p.stuck || this.ctx.clock.now() < p.until) return;
    if (p.work && !p.work.done) return;
    target.pending = undefined;
    p.apply(p.work?.failed ?? false);
  }

  /** Applies every transition that is due. Called before any read or write. */
  tick(): void {
    for (const snapshot of [...this.snapshots.values()]) this.advance(snapshot);
    for (const group of [...this.groups.values()]) this.advance(group);
  }

  getGroup(id: string): Group {
    this.tick();
    const group = this.groups.get(id.toLowerCase());
    if (!group) throw new AwsFault('ReplicationGroupNotFoundFault', `ReplicationGroup ${id} not found.`);
    return group;
  }

  getSnapshot(name: string): Snapshot {
    this.tick();
    const snapshot = this.snapshots.get(name.toLowerCase());
    if (!snapshot) throw new AwsFault('SnapshotNotFoundFault', `Snapshot ${name} not found.`);
    return snapshot;
  }

  requireAvailable(group: Group, action: string): void {
    if (group.status !== 'available') {
      throw new AwsFault(
        'InvalidReplicationGroupStateFault',
        `Replication group ${group.id} must be in available state to ${action}; it is ${group.status}.`,
      );
    }
  }

  /** Starts creating a group (new or restored); `create-failed` if its KMS key is unusable. */
  beginCreate(group: Group, from?: Snapshot): void {
    const outcome = this.ctx.faults.groupOutcome(group.id, 'create');
    const keyUsable = (arn?: string) => !arn || this.kms.resolve(arn)?.state === 'Enabled';
    // A disabled or deleted KMS key leaves the new group in create-failed (docs/aws-behaviour.md: KMS).
    const doomed = outcome === 'create-failed' || !keyUsable(group.kmsKeyArn) || !keyUsable(from?.kmsKeyArn);
    if (from) from.status = 'restoring';
    const duration = sizeDuration(DURATIONS.groupCreateBaseMs, from?.dataSizeMb ?? 0);
    group.pending = this.schedule(
      duration,
      outcome === 'stuck',
      (failed) => {
        group.status = failed || doomed ? 'create-failed' : 'available';
        if (from && this.snapshots.get(from.name) === from) from.status = 'available';
      },
      doomed ? undefined : () => this.startNodes(group, from?.data),
    );
    this.groups.set(group.id, group);
  }

  /** Starts a modification; `work` (data plane) runs alongside and the group stays `modifying` until it ends. */
  beginModify(group: Group, changes: Partial<GroupSettings>, work?: () => Promise<void>): void {
    const outcome = this.ctx.faults.groupOutcome(group.id, 'modify');
    group.status = 'modifying';
    group.pendingModification = changes;
    group.pending = this.schedule(
      DURATIONS.groupModifyBaseMs,
      outcome === 'stuck',
      () => {
        Object.assign(group, group.pendingModification);
        if ('authToken' in changes) group.authTokenLastModified = new Date(this.ctx.clock.now());
        group.pendingModification = undefined;
        group.status = 'available';
      },
      work,
    );
  }

  /**
   * A tag change (AddTagsToResource / RemoveTagsFromResource) on a replication group: applied at
   * once, and the group passes through `modifying` for a short while (the stricter reading of
   * what AWS users report; docs/aws-behaviour.md, Tagging and group state).
   */
  beginTagChange(group: Group): void {
    group.status = 'modifying';
    group.pending = this.schedule(DURATIONS.tagChangeMs, false, () => {
      group.status = 'available';
    });
  }

  /**
   * The daily automatic backup (the group's SnapshotWindow) starts now: the group is
   * `snapshotting` for `realisticMs`, and an automated snapshot is kept. For tests and the demo:
   * the sandbox does not run backup windows by itself.
   */
  beginAutomaticBackup(id: string, realisticMs = 20 * 60_000): Snapshot {
    const group = this.getGroup(id);
    this.requireAvailable(group, 'start its automatic backup');
    const stamp = new Date(this.ctx.clock.now()).toISOString().slice(0, 16).replace(/[T:]/g, '-');
    return this.beginSnapshot(group, `automatic.${group.id}-${stamp}`, {
      // From the node SnapshottingClusterId names, where one is set (cluster mode disabled).
      ...(group.backupClusterId ? { memberId: group.backupClusterId } : {}),
      tags: [],
      automated: true,
      realisticMs,
    });
  }

  beginDelete(group: Group, finalSnapshotName?: string): Snapshot | undefined {
    const outcome = this.ctx.faults.groupOutcome(group.id, 'delete');
    let final: Snapshot | undefined;
    if (finalSnapshotName) {
      // The final backup is taken from the primary of each shard (docs/aws-behaviour.md: Delete).
      final = this.beginSnapshot(group, finalSnapshotName, {
        fromPrimary: true,
        kmsKeyArn: group.kmsKeyArn,
        tags: [],
        final: true,
      });
    }
    group.status = 'deleting';
    group.pending = this.schedule(
      sizeDuration(DURATIONS.groupDeleteBaseMs, 0),
      outcome === 'stuck',
      () => {
        this.groups.delete(group.id);
        void this.dataPlane.deleteGroup(group.id);
      },
      final ? () => waitFor(() => final.data !== undefined || final.status !== 'creating') : undefined,
    );
    return final;
  }

  /** Starts a manual snapshot of one member per shard. */
  beginSnapshot(
    group: Group,
    name: string,
    options: {
      memberId?: string;
      fromPrimary?: boolean;
      kmsKeyArn?: string;
      tags: { Key?: string; Value?: string }[];
      final?: boolean;
      /** An automatic (daily window) backup: not counted in the manual quota. */
      automated?: boolean;
      realisticMs?: number;
    },
  ): Snapshot {
    checkBackupSupported(group.nodeType);
    if (this.snapshots.has(name))
      throw new AwsFault('SnapshotAlreadyExistsFault', `Snapshot ${name} already exists.`);
    const now = this.ctx.clock.now();
    const sources = group.shards.map((shard) => {
      const chosen =
        (options.memberId ? shard.members.find((m) => m.id === options.memberId) : undefined) ??
        (options.fromPrimary
          ? shard.members[0]
          : (shard.members.find((m) => m.role === 'replica') ?? shard.members[0]));
      return { shard, member: chosen! };
    });
    // At most 20 manual backups per node per 24 hours (docs/aws-behaviour.md: Snapshot).
    for (const { member } of options.automated ? [] : sources) {
      const recent = (group.backupsTaken.get(member.id) ?? []).filter((t) => now - t < 24 * 3600_000);
      if (recent.length >= SNAPSHOT_QUOTA_PER_NODE_PER_DAY) {
        throw new AwsFault(
          'SnapshotQuotaExceededFault',
          `The request cannot be processed because it would exceed the maximum number of snapshots (${SNAPSHOT_QUOTA_PER_NODE_PER_DAY}) for node ${member.id} in 24 hours.`,
        );
      }
    }
    for (const { member } of options.automated ? [] : sources)
      group.backupsTaken.set(member.id, [...(group.backupsTaken.get(member.id) ?? []), now]);

    const settings: GroupSettings = { ...group, securityGroupIds: [...group.securityGroupIds] };
    const snapshot: Snapshot = {
      name,
      arn: this.snapshotArn(name),
      status: 'creating',
      source: options.automated ? 'automated' : 'manual',
      groupId: group.id,
      cacheClusterId: options.memberId,
      settings,
      shards: group.shards.map((s, i) => ({
        id: s.id,
        slots: s.slots,
        replicaCount: s.members.length - 1,
        memberId: sources[i]!.member.id,
      })),
      kmsKeyArn: options.kmsKeyArn,
      tags: new Map(options.tags.filter((t) => t.Key).map((t) => [t.Key!, t.Value ?? ''])),
      dataSizeMb: group.dataSizeMb,
      created: new Date(now),
    };
    const outcome = this.ctx.faults.snapshotOutcome(name);
    const keyDisabled =
      options.kmsKeyArn !== undefined && this.kms.resolve(options.kmsKeyArn)?.state !== 'Enabled';
    if (!options.final) {
      group.status = 'snapshotting';
      group.snapshottingClusterId = sources[0]?.member.id;
    }
    snapshot.pending = this.schedule(
      options.realisticMs ?? sizeDuration(DURATIONS.snapshotBaseMs, group.dataSizeMb),
      outcome === 'stuck',
      (failed) => {
        if (group.status === 'snapshotting') {
          group.status = 'available';
          group.snapshottingClusterId = undefined;
        }
        if (outcome === 'disappears') this.snapshots.delete(name);
        else snapshot.status = failed || outcome === 'failed' || keyDisabled ? 'failed' : 'available';
        if (snapshot.status === 'failed' && group.notificationTopicArn) {
          // ElastiCache:SnapshotFailed to the group's topic. AWS documents the event name and the
          // text, not the body's layout (its guides show two): the sandbox sends the event name as
          // the subject and the documented sample's fields as the body. Nothing parses it.
          const member = sources[0]?.member.id ?? group.id;
          this.notify(
            group.notificationTopicArn,
            'ElastiCache:SnapshotFailed',
            JSON.stringify({
              Date: new Date(this.ctx.clock.now()).toISOString(),
              Message: `Snapshot failed for snapshot with ID '${name}' of cache cluster with ID '${member}'`,
              SourceIdentifier: member,
              SourceType: 'cache-cluster',
            }),
          );
        }
      },
      async () => {
        snapshot.data = await this.dataPlane.snapshot(
          group.id,
          Object.fromEntries(sources.map(({ shard, member }) => [shard.id, member.id])),
          { kmsKeyArn: options.kmsKeyArn, keys: this.kms },
        );
      },
    );
    this.snapshots.set(name, snapshot);
    return snapshot;
  }

  beginDeleteSnapshot(snapshot: Snapshot): void {
    snapshot.status = 'deleting';
    snapshot.pending = this.schedule(10_000, false, () => {
      this.snapshots.delete(snapshot.name);
      if (snapshot.data) void this.dataPlane.deleteSnapshot(snapshot.data);
    });
  }
}

function evenSlots(index: number, count: number): string {
  const size = Math.floor(16384 / count);
  const start = index * size;
  const end = index === count - 1 ? 16383 : start + size - 1;
  return `${start}-${end}`;
}

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}
