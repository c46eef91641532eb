import * as ecModel from '@aws-sdk/client-elasticache';
import { AwsFault, missing } from '../../protocol/errors.js';
import { queryProtocol } from '../../protocol/query.js';
import { collectSchemas } from '../../protocol/schema.js';
import type { SandboxContext, ServiceDefinition } from '../types.js';
import {
  checkParameterGroupName,
  checkParameterValue,
  defaultGroupNames,
  FAMILIES,
  type Family,
  PARAMETERS,
  parameterDefinition,
  parseDefaultGroupName,
  type ResolvedParameterGroup,
} from './parameters.js';
import {
  checkAuthToken,
  checkIdentifier,
  checkSecurityGroupIds,
  checkTags,
  checkTopology,
  checkTransitMode,
  resolveAtRest,
} from './rules.js';
import type { ElastiCacheStore, Group, GroupSettings, LogDelivery, Snapshot } from './store.js';

export { ElastiCacheStore } from './store.js';

type Tag = { Key?: string; Value?: string };

const invalid = (message: string) => new AwsFault('InvalidParameterValueException', message);
const combination = (message: string) => new AwsFault('InvalidParameterCombinationException', message);

/**
 * Paging as the Describe* operations do it: MaxRecords from 20 to `limit` (100 for most, 50 for
 * DescribeSnapshots), defaulting to `limit`; opaque Marker, present only when more records remain.
 * `cap` (the fixture's pageSize) shortens every page further: a client must follow the Marker,
 * never count records. docs/aws-behaviour.md: Paging.
 * https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_DescribeSnapshots.html
 */
function pageOf<T>(
  items: T[],
  input: { MaxRecords?: number; Marker?: string },
  limit = 100,
  cap = Number.POSITIVE_INFINITY,
): { items: T[]; Marker?: string } {
  const max = input.MaxRecords ?? limit;
  if (!Number.isInteger(max) || max < 20 || max > limit)
    throw invalid(`MaxRecords must be between 20 and ${limit}.`);
  const start = input.Marker ? Number(Buffer.from(input.Marker, 'base64').toString('utf8')) : 0;
  if (!Number.isInteger(start) || start < 0) throw invalid('Invalid Marker.');
  const slice = items.slice(start, start + Math.min(max, cap));
  const end = start + slice.length;
  const next = end < items.length ? Buffer.from(String(end)).toString('base64') : undefined;
  return { items: slice, Marker: next };
}

export function elastiCacheService(ctx: SandboxContext, store: ElastiCacheStore): ServiceDefinition {
  const page = <T>(items: T[], input: { MaxRecords?: number; Marker?: string }, limit = 100) =>
    pageOf(items, input, limit, ctx.pageSize);
  const endpoint = (address: string, port: number) => ({ Address: address, Port: port });

  const describeGroup = (g: Group) => {
    const logDelivery = (g.logDelivery ?? []).map((l) => ({ ...l, Status: 'active' }));
    return {
      ReplicationGroupId: g.id,
      Description: g.description,
      GlobalReplicationGroupInfo: g.globalReplicationGroupId
        ? {
            GlobalReplicationGroupId: g.globalReplicationGroupId,
            GlobalReplicationGroupMemberRole: 'PRIMARY',
          }
        : undefined,
      Status: g.status,
      PendingModifiedValues: g.pendingModification
        ? {
            TransitEncryptionEnabled: g.pendingModification.transit,
            TransitEncryptionMode: g.pendingModification.transitMode,
            AuthTokenStatus: 'authToken' in g.pendingModification ? 'ROTATING' : undefined,
          }
        : {},
      MemberClusters: g.shards.flatMap((s) => s.members.map((m) => m.id)),
      NodeGroups: g.shards.map((s) => ({
        NodeGroupId: s.id,
        Status: g.status === 'creating' ? 'creating' : 'available',
        PrimaryEndpoint: g.clusterEnabled ? undefined : endpoint(store.endpointHost(g, 'primary'), g.port),
        ReaderEndpoint: g.clusterEnabled ? undefined : endpoint(store.endpointHost(g, 'reader'), g.port),
        Slots: s.slots,
        NodeGroupMembers: s.members.map((m) => ({
          CacheClusterId: m.id,
          CacheNodeId: '0001',
          ReadEndpoint: g.clusterEnabled
            ? undefined
            : endpoint(store.endpointHost(g, { node: m.id }), g.port),
          PreferredAvailabilityZone: m.az,
          CurrentRole: g.clusterEnabled ? undefined : m.role,
        })),
      })),
      SnapshottingClusterId: g.backupClusterId ?? g.snapshottingClusterId,
      AutomaticFailover: g.automaticFailover ? 'enabled' : 'disabled',
      MultiAZ: g.multiAz ? 'enabled' : 'disabled',
      ConfigurationEndpoint: g.clusterEnabled
        ? endpoint(store.endpointHost(g, 'configuration'), g.port)
        : undefined,
      SnapshotRetentionLimit: g.snapshotRetentionLimit,
      SnapshotWindow: g.snapshotWindow,
      ClusterEnabled: g.clusterEnabled,
      CacheNodeType: g.nodeType,
      AuthTokenEnabled: g.authToken !== undefined,
      AuthTokenLastModifiedDate: g.authTokenLastModified,
      TransitEncryptionEnabled: g.transit,
      AtRestEncryptionEnabled: g.atRest,
      KmsKeyId: g.kmsKeyArn,
      StorageEncryptionType: g.atRest ? (g.kmsKeyArn ? 'sse-kms' : 'sse-elasticache') : 'none',
      ARN: g.arn,
      UserGroupIds: g.userGroupIds,
      LogDeliveryConfigurations: logDelivery,
      ReplicationGroupCreateTime: g.created,
      DataTiering: g.dataTiering ? 'enabled' : 'disabled',
      AutoMinorVersionUpgrade: g.autoMinorVersionUpgrade,
      NetworkType: g.networkType,
      IpDiscovery: g.ipDiscovery,
      TransitEncryptionMode: g.transit ? g.transitMode : undefined,
      ClusterMode: g.clusterMode,
      Engine: g.engine,
    };
  };

  const describeMember = (g: Group, memberId: string, showNodes: boolean) => {
    const member = g.shards.flatMap((s) => s.members).find((m) => m.id === memberId)!;
    return {
      CacheClusterId: member.id,
      CacheNodeType: g.nodeType,
      Engine: g.engine,
      EngineVersion: g.engineVersion,
      CacheClusterStatus:
        g.status === 'create-failed'
          ? 'create-failed'
          : g.status === 'modifying'
            ? 'modifying'
            : g.status === 'deleting'
              ? 'deleting'
              : g.status === 'creating'
                ? 'creating'
                : 'available',
      NumCacheNodes: 1,
      PreferredAvailabilityZone: member.az,
      CacheClusterCreateTime: member.created,
      PreferredMaintenanceWindow: g.maintenanceWindow,
      // While a move to another parameter group runs, the new name with `applying`
      // (ParameterApplyStatus: in-sync | applying | pending-reboot, API reference).
      CacheParameterGroup:
        g.pendingModification?.parameterGroup !== undefined
          ? {
              CacheParameterGroupName: g.pendingModification.parameterGroup,
              ParameterApplyStatus: 'applying',
            }
          : { CacheParameterGroupName: g.parameterGroup, ParameterApplyStatus: 'in-sync' },
      CacheSubnetGroupName: g.subnetGroup,
      CacheNodes: showNodes
        ? [
            {
              CacheNodeId: '0001',
              CacheNodeStatus: 'available',
              CacheNodeCreateTime: member.created,
              Endpoint: endpoint(store.endpointHost(g, { node: member.id }), g.port),
              ParameterGroupStatus: 'in-sync',
              CustomerAvailabilityZone: member.az,
            },
          ]
        : undefined,
      AutoMinorVersionUpgrade: g.autoMinorVersionUpgrade,
      SecurityGroups: g.securityGroupIds.map((id) => ({ SecurityGroupId: id, Status: 'active' })),
      ReplicationGroupId: g.id,
      SnapshotRetentionLimit: g.snapshotRetentionLimit,
      SnapshotWindow: g.snapshotWindow,
      AuthTokenEnabled: g.authToken !== undefined,
      TransitEncryptionEnabled: g.transit,
      AtRestEncryptionEnabled: g.atRest,
      ARN: `arn:aws:elasticache:${ctx.region}:${ctx.accountId}:cluster:${member.id}`,
      ReplicationGroupLogDeliveryEnabled: g.logDelivery.length > 0,
      NetworkType: g.networkType,
      IpDiscovery: g.ipDiscovery,
      TransitEncryptionMode: g.transit ? g.transitMode : undefined,
      // Where ElastiCache publishes the member's events; the sandbox's topics are never encrypted.
      NotificationConfiguration: g.notificationTopicArn
        ? { TopicArn: g.notificationTopicArn, TopicStatus: 'active' }
        : undefined,
    };
  };

  const describeSnapshot = (s: Snapshot, showNodeGroupConfig: boolean) => ({
    SnapshotName: s.name,
    ReplicationGroupId: s.groupId,
    ReplicationGroupDescription: s.settings.description,
    CacheClusterId: s.cacheClusterId,
    SnapshotStatus: s.status,
    SnapshotSource: s.source,
    CacheNodeType: s.settings.nodeType,
    Engine: s.settings.engine,
    EngineVersion: s.settings.engineVersion,
    PreferredMaintenanceWindow: s.settings.maintenanceWindow,
    TopicArn: s.settings.notificationTopicArn,
    Port: s.settings.port,
    CacheParameterGroupName: s.settings.parameterGroup,
    CacheSubnetGroupName: s.settings.subnetGroup,
    VpcId: 'vpc-0sandbox',
    AutoMinorVersionUpgrade: s.settings.autoMinorVersionUpgrade,
    SnapshotRetentionLimit: s.settings.snapshotRetentionLimit,
    SnapshotWindow: s.settings.snapshotWindow,
    NumNodeGroups: s.shards.length,
    AutomaticFailover: s.settings.automaticFailover ? 'enabled' : 'disabled',
    NodeSnapshots: s.shards.map((shard) => ({
      CacheClusterId: shard.memberId,
      NodeGroupId: shard.id,
      CacheNodeId: '0001',
      NodeGroupConfiguration: showNodeGroupConfig
        ? { NodeGroupId: shard.id, Slots: shard.slots, ReplicaCount: shard.replicaCount }
        : undefined,
      CacheSize: `${Math.max(1, Math.round(s.dataSizeMb / s.shards.length))} MB`,
      SnapshotCreateTime: s.created,
    })),
    KmsKeyId: s.kmsKeyArn,
    ARN: s.arn,
    DataTiering: s.settings.dataTiering ? 'enabled' : 'disabled',
  });

  const describeParameterGroup = (g: ResolvedParameterGroup) => ({
    CacheParameterGroupName: g.name,
    CacheParameterGroupFamily: g.family,
    Description: g.description,
    IsGlobal: false,
    ARN: store.parameterGroupArn(g.name),
  });

  /**
   * Resolves an ElastiCache ARN to the tag map of the group, member cluster or snapshot it names,
   * and the replication group whose state governs tagging (none for a snapshot).
   */
  const taggable = (arn: string | undefined): { tags: Map<string, string>; group?: Group } => {
    if (!arn) throw missing('ResourceName');
    const match =
      /^arn:aws[\w-]*:elasticache:([^:]+):(\d{12}):(replicationgroup|snapshot|cluster):(.+)$/.exec(arn);
    if (!match || match[1] !== ctx.region || match[2] !== ctx.accountId) {
      throw new AwsFault('InvalidARNFault', `The ARN ${arn} is not valid.`);
    }
    const [, , , kind, id] = match as unknown as [string, string, string, string, string];
    if (kind === 'snapshot') return { tags: store.getSnapshot(id).tags };
    if (kind === 'cluster') {
      store.tick();
      const group = [...store.groups.values()].find((g) =>
        g.shards.some((s) => s.members.some((m) => m.id === id)),
      );
      if (!group) throw new AwsFault('CacheClusterNotFoundFault', `CacheCluster ${id} not found.`);
      return { tags: group.tags, group };
    }
    const group = store.getGroup(id);
    return { tags: group.tags, group };
  };
  /**
   * Tags of a replication group (or of one of its clusters) can be read and changed only while it
   * is `available`: ListTagsForResource "returns an error" otherwise (API reference), and
   * AddTagsToResource / RemoveTagsFromResource list InvalidReplicationGroupStateFault (the model;
   * users report "Cluster not in available state to perform tagging operations"). Undocumented
   * for the writes, so the stricter case: every state but `available` refuses
   * (docs/aws-behaviour.md, Tagging and group state).
   */
  const requireTaggable = (group: Group | undefined, action: string) => {
    if (group && group.status !== 'available') {
      throw new AwsFault(
        'InvalidReplicationGroupStateFault',
        `Cluster not in available state to perform tagging operations: replication group ${group.id} is ${group.status}; ${action} once it is available.`,
      );
    }
  };
  const tagList = (tags: Map<string, string>) => ({
    TagList: [...tags].map(([Key, Value]) => ({ Key, Value })),
  });

  const toLogDelivery = (
    configs:
      | {
          LogType?: string;
          DestinationType?: string;
          DestinationDetails?: unknown;
          LogFormat?: string;
          Enabled?: boolean;
        }[]
      | undefined,
  ): LogDelivery[] =>
    (configs ?? [])
      .filter((c) => c.Enabled !== false)
      .map((c) => {
        if (!c.LogType || !c.DestinationType || !c.DestinationDetails || !c.LogFormat) {
          throw invalid(
            'LogDeliveryConfigurations entries need LogType, DestinationType, DestinationDetails and LogFormat.',
          );
        }
        return {
          LogType: c.LogType,
          DestinationType: c.DestinationType,
          DestinationDetails: c.DestinationDetails,
          LogFormat: c.LogFormat,
        };
      });

  return {
    signingName: 'elasticache',
    faults: ctx.faults,
    wire: queryProtocol({
      schemas: collectSchemas(ecModel),
      namespace: 'com.amazonaws.elasticache',
      xmlNamespace: 'http://elasticache.amazonaws.com/doc/2015-02-02/',
      version: '2015-02-02',
    }),
    operations: {
      DescribeReplicationGroups(input: {
        ReplicationGroupId?: string;
        MaxRecords?: number;
        Marker?: string;
      }) {
        store.tick();
        const groups = input.ReplicationGroupId
          ? [store.getGroup(input.ReplicationGroupId)]
          : [...store.groups.values()];
        const { items, Marker } = page(groups, input);
        return { ReplicationGroups: items.map(describeGroup), Marker };
      },

      DescribeCacheClusters(input: {
        CacheClusterId?: string;
        ShowCacheNodeInfo?: boolean;
        MaxRecords?: number;
        Marker?: string;
      }) {
        store.tick();
        const all = [...store.groups.values()].flatMap((g) =>
          g.shards.flatMap((s) => s.members.map((m) => ({ g, id: m.id }))),
        );
        const chosen = input.CacheClusterId
          ? all.filter((c) => c.id === input.CacheClusterId?.toLowerCase())
          : all;
        if (input.CacheClusterId && chosen.length === 0) {
          throw new AwsFault('CacheClusterNotFoundFault', `CacheCluster ${input.CacheClusterId} not found.`);
        }
        const { items, Marker } = page(chosen, input);
        return {
          CacheClusters: items.map((c) => describeMember(c.g, c.id, input.ShowCacheNodeInfo === true)),
          Marker,
        };
      },

      DescribeCacheSubnetGroups(input: {
        CacheSubnetGroupName?: string;
        MaxRecords?: number;
        Marker?: string;
      }) {
        if (input.CacheSubnetGroupName) store.requireSubnetGroup(input.CacheSubnetGroupName);
        const names = input.CacheSubnetGroupName
          ? [input.CacheSubnetGroupName.toLowerCase()]
          : [...store.subnetGroups].sort();
        const { items, Marker } = page(names, input);
        return {
          CacheSubnetGroups: items.map((name) => ({
            CacheSubnetGroupName: name,
            CacheSubnetGroupDescription: `${name} (sandbox)`,
            VpcId: 'vpc-0sandbox',
            Subnets: [
              { SubnetIdentifier: 'subnet-0sandboxa', SubnetAvailabilityZone: { Name: `${ctx.region}a` } },
              { SubnetIdentifier: 'subnet-0sandboxb', SubnetAvailabilityZone: { Name: `${ctx.region}b` } },
            ],
            ARN: `arn:aws:elasticache:${ctx.region}:${ctx.accountId}:subnetgroup:${name}`,
            SupportedNetworkTypes: ['ipv4'],
          })),
          Marker,
        };
      },

      DescribeUserGroups(input: { UserGroupId?: string; MaxRecords?: number; Marker?: string }) {
        if (input.UserGroupId) store.requireUserGroups([input.UserGroupId]);
        const ids = input.UserGroupId ? [input.UserGroupId] : [...store.userGroups].sort();
        const { items, Marker } = page(ids, input);
        return {
          UserGroups: items.map((id) => ({
            UserGroupId: id,
            Status: 'active',
            Engine: 'redis',
            UserIds: ['default'],
            MinimumEngineVersion: '6.0',
            ReplicationGroups: [...store.groups.values()]
              .filter((g) => g.userGroupIds.includes(id))
              .map((g) => g.id),
            ARN: `arn:aws:elasticache:${ctx.region}:${ctx.accountId}:usergroup:${id}`,
          })),
          Marker,
        };
      },

      DescribeSnapshots(input: {
        ReplicationGroupId?: string;
        CacheClusterId?: string;
        SnapshotName?: string;
        SnapshotSource?: string;
        ShowNodeGroupConfig?: boolean;
        MaxRecords?: number;
        Marker?: string;
      }) {
        store.tick();
        if (input.SnapshotName) {
          return {
            Snapshots: [
              describeSnapshot(store.getSnapshot(input.SnapshotName), input.ShowNodeGroupConfig === true),
            ],
          };
        }
        if (input.SnapshotSource && !['user', 'system'].includes(input.SnapshotSource)) {
          throw invalid('SnapshotSource must be user or system.');
        }
        const list = [...store.snapshots.values()].filter(
          (s) =>
            (!input.ReplicationGroupId || s.groupId === input.ReplicationGroupId.toLowerCase()) &&
            (!input.CacheClusterId ||
              s.shards.some((sh) => sh.memberId === input.CacheClusterId?.toLowerCase())) &&
            (!input.SnapshotSource || (input.SnapshotSource === 'user') === (s.source === 'manual')),
        );
        const { items, Marker } = page(list, input, 50);
        return {
          Snapshots: items.map((s) => describeSnapshot(s, input.ShowNodeGroupConfig === true)),
          Marker,
        };
      },

      CreateSnapshot(input: {
        SnapshotName?: string;
        ReplicationGroupId?: string;
        CacheClusterId?: string;
        KmsKeyId?: string;
        Tags?: Tag[];
      }) {
        const name = checkIdentifier('SnapshotName', input.SnapshotName);
        if (!input.ReplicationGroupId && !input.CacheClusterId) {
          throw combination('Either ReplicationGroupId or CacheClusterId must be specified.');
        }
        if (input.ReplicationGroupId && input.CacheClusterId) {
          throw combination('Specify either ReplicationGroupId or CacheClusterId, not both.');
        }
        checkTags(input.Tags);
        let group: Group;
        let memberId: string | undefined;
        if (input.CacheClusterId) {
          memberId = input.CacheClusterId.toLowerCase();
          store.tick();
          const found = [...store.groups.values()].find((g) =>
            g.shards.some((s) => s.members.some((m) => m.id === memberId)),
          );
          if (!found)
            throw new AwsFault(
              'CacheClusterNotFoundFault',
              `CacheCluster ${input.CacheClusterId} not found.`,
            );
          // Cluster mode enabled groups are backed up as a whole (docs/aws-behaviour.md: Snapshot).
          if (found.clusterEnabled) {
            throw combination(
              'Snapshots of cluster mode enabled replication groups must name the ReplicationGroupId.',
            );
          }
          group = found;
        } else {
          group = store.getGroup(input.ReplicationGroupId!);
        }
        store.requireAvailable(group, 'create a snapshot');
        const kmsKeyArn = input.KmsKeyId ? store.kms.resolve(input.KmsKeyId)?.arn : group.kmsKeyArn;
        if (input.KmsKeyId && !kmsKeyArn)
          throw new AwsFault('InvalidKMSKeyFault', `The KMS key ${input.KmsKeyId} does not exist.`);
        const snapshot = store.beginSnapshot(group, name, { memberId, kmsKeyArn, tags: input.Tags ?? [] });
        return { Snapshot: describeSnapshot(snapshot, false) };
      },

      DeleteSnapshot(input: { SnapshotName?: string }) {
        if (!input.SnapshotName) throw missing('SnapshotName');
        const snapshot = store.getSnapshot(input.SnapshotName);
        if (snapshot.status !== 'available' && snapshot.status !== 'failed') {
          throw new AwsFault(
            'InvalidSnapshotStateFault',
            `Snapshot ${snapshot.name} is ${snapshot.status}; only available or failed snapshots can be deleted.`,
          );
        }
        store.beginDeleteSnapshot(snapshot);
        return { Snapshot: describeSnapshot(snapshot, false) };
      },

      CreateReplicationGroup(
        input: Record<string, unknown> & {
          ReplicationGroupId?: string;
          ReplicationGroupDescription?: string;
          SnapshotName?: string;
          Engine?: string;
          EngineVersion?: string;
          CacheNodeType?: string;
          NumCacheClusters?: number;
          NumNodeGroups?: number;
          ReplicasPerNodeGroup?: number;
          NodeGroupConfiguration?: {
            Slots?: string;
            ReplicaCount?: number;
            PrimaryAvailabilityZone?: string;
            ReplicaAvailabilityZones?: string[];
          }[];
          AutomaticFailoverEnabled?: boolean;
          MultiAZEnabled?: boolean;
          PreferredCacheClusterAZs?: string[];
          SecurityGroupIds?: string[];
          Tags?: Tag[];
          AuthToken?: string;
          TransitEncryptionEnabled?: boolean;
          TransitEncryptionMode?: string;
          AtRestEncryptionEnabled?: boolean;
          KmsKeyId?: string;
          UserGroupIds?: string[];
          LogDeliveryConfigurations?: {
            LogType?: string;
            DestinationType?: string;
            DestinationDetails?: unknown;
            LogFormat?: string;
            Enabled?: boolean;
          }[];
          NetworkType?: string;
          IpDiscovery?: string;
          ClusterMode?: string;
          Port?: number;
          CacheParameterGroupName?: string;
          CacheSubnetGroupName?: string;
          SnapshotRetentionLimit?: number;
          SnapshotWindow?: string;
          PreferredMaintenanceWindow?: string;
          AutoMinorVersionUpgrade?: boolean;
          DataTieringEnabled?: boolean;
          NotificationTopicArn?: string;
        },
      ) {
        const id = checkIdentifier('ReplicationGroupId', input.ReplicationGroupId);
        if (!input.ReplicationGroupDescription) throw missing('ReplicationGroupDescription');
        store.tick();
        if (store.groups.has(id))
          throw new AwsFault('ReplicationGroupAlreadyExistsFault', `Replication group ${id} already exists.`);
        const from = input.SnapshotName ? store.getSnapshot(input.SnapshotName) : undefined;
        if (from && from.status !== 'available') {
          throw new AwsFault(
            'InvalidSnapshotStateFault',
            `Snapshot ${from.name} is ${from.status}; it must be available to restore from it.`,
          );
        }
        // The snapshot carries engine, version, node type, port, parameter and subnet groups,
        // windows, retention, shard layout, failover and data tiering (docs/aws-behaviour.md: Restore).
        const base = from?.settings;
        const engine = (input.Engine ?? base?.engine ?? 'redis').toLowerCase();
        if (engine !== 'redis' && engine !== 'valkey')
          throw invalid(`Invalid Engine '${input.Engine}': expected redis or valkey.`);
        // Without a version, the engine's current default: Valkey has no 7.1 (it starts at 7.2).
        const engineVersion =
          input.EngineVersion ?? base?.engineVersion ?? (engine === 'valkey' ? '8.0' : '7.1');
        const snapshotCluster = base?.clusterEnabled ?? false;
        const requestedMode = input.ClusterMode;
        if (requestedMode && !['enabled', 'disabled', 'compatible'].includes(requestedMode))
          throw invalid(`Invalid ClusterMode '${requestedMode}'.`);
        if (snapshotCluster && requestedMode === 'disabled') {
          throw combination(
            'A cluster mode enabled snapshot cannot be restored into a cluster mode disabled replication group.',
          );
        }
        const clusterEnabled =
          snapshotCluster ||
          requestedMode === 'enabled' ||
          (input.NumNodeGroups ?? 1) > 1 ||
          (input.NodeGroupConfiguration?.length ?? 0) > 1;
        // A cluster mode enabled snapshot restored without its shape: what AWS does is undocumented
        // (one report: a default 3-shard cluster). The stricter case: refused, so the restore must
        // send NumNodeGroups or NodeGroupConfiguration (docs/aws-behaviour.md, Restore).
        if (snapshotCluster && input.NumNodeGroups === undefined && !input.NodeGroupConfiguration?.length) {
          throw combination(
            `Snapshot ${from?.name} is of a cluster mode enabled group: give NumNodeGroups or NodeGroupConfiguration (and ClusterMode) to restore it.`,
          );
        }
        const shardsFromSnapshot = from?.shards.length;
        const shardCount =
          input.NumNodeGroups ?? input.NodeGroupConfiguration?.length ?? shardsFromSnapshot ?? 1;
        if (shardsFromSnapshot !== undefined && shardCount !== shardsFromSnapshot) {
          throw combination(
            `The snapshot has ${shardsFromSnapshot} node groups; the sandbox restores with the same number (got ${shardCount}).`,
          );
        }
        if (
          !clusterEnabled &&
          input.NumCacheClusters !== undefined &&
          input.ReplicasPerNodeGroup !== undefined
        ) {
          throw combination('Specify either NumCacheClusters or ReplicasPerNodeGroup, not both.');
        }
        const replicas = clusterEnabled
          ? (input.ReplicasPerNodeGroup ??
            input.NodeGroupConfiguration?.[0]?.ReplicaCount ??
            from?.shards[0]?.replicaCount ??
            1)
          : input.NumCacheClusters !== undefined
            ? input.NumCacheClusters - 1
            : (input.ReplicasPerNodeGroup ?? 0);
        if (
          !clusterEnabled &&
          input.NumCacheClusters !== undefined &&
          (input.NumCacheClusters < 1 || input.NumCacheClusters > 6)
        ) {
          throw invalid(`NumCacheClusters must be between 1 and 6; got ${input.NumCacheClusters}.`);
        }
        const automaticFailover = input.AutomaticFailoverEnabled ?? (base ? base.automaticFailover : false);
        const multiAz = input.MultiAZEnabled ?? false;
        checkTopology({
          clusterEnabled,
          shards: shardCount,
          replicasPerShard: replicas,
          automaticFailover,
          multiAz,
        });
        const transit = input.TransitEncryptionEnabled ?? false;
        checkTransitMode(engine, engineVersion, transit, input.TransitEncryptionMode);
        checkAuthToken(input.AuthToken, transit);
        if (input.AuthToken !== undefined && (input.UserGroupIds?.length ?? 0) > 0) {
          // AUTH and RBAC are alternatives: AWS refuses a user group together with an AUTH token
          // (docs/aws-behaviour.md, "AUTH and user groups"); the stricter case on create too.
          throw combination(
            "Auth tokens can't be enabled with a user group associated: pass either AuthToken or UserGroupIds.",
          );
        }
        // The subnet group (given, or the snapshot's) and the user groups must exist
        // (CacheSubnetGroupNotFoundFault, UserGroupNotFoundFault: CreateReplicationGroup API reference).
        store.requireSubnetGroup(input.CacheSubnetGroupName ?? base?.subnetGroup ?? 'default');
        store.requireUserGroups(input.UserGroupIds ?? []);
        // Data tiering (r6gd) nodes are always encrypted at rest (docs/aws-behaviour.md, Engines).
        const atRest =
          resolveAtRest(engine, engineVersion, input.AtRestEncryptionEnabled, input.KmsKeyId) ||
          (input.DataTieringEnabled ?? false);
        let kmsKeyArn: string | undefined;
        if (input.KmsKeyId) {
          const key = store.kms.resolve(input.KmsKeyId);
          if (!key)
            throw new AwsFault(
              'InvalidKMSKeyFault',
              `The KMS key ${input.KmsKeyId} does not exist or is not accessible.`,
            );
          if (key.spec !== 'SYMMETRIC_DEFAULT')
            throw new AwsFault(
              'InvalidKMSKeyFault',
              `The KMS key ${input.KmsKeyId} is not a symmetric encryption key.`,
            );
          kmsKeyArn = key.arn;
        }
        checkSecurityGroupIds(input.SecurityGroupIds);
        checkTags(input.Tags);
        const azs =
          input.PreferredCacheClusterAZs ??
          input.NodeGroupConfiguration?.flatMap((n) => [
            n.PrimaryAvailabilityZone ?? '',
            ...(n.ReplicaAvailabilityZones ?? []),
          ]).filter(Boolean) ??
          [];
        // The request's parameter group, else the snapshot's (docs/aws-behaviour.md: Restore), else the
        // engine's default. A snapshot's default group of another family (a restore into another
        // engine version) gives way to the new version's default: *unconfirmed* on AWS.
        const shape = { engine: engine as 'redis' | 'valkey', engineVersion, clusterEnabled };
        const fromSnapshot =
          base?.parameterGroup !== undefined && !parseDefaultGroupName(base.parameterGroup)
            ? base.parameterGroup
            : undefined;
        const parameterGroup = store.parameterGroupFor(
          shape,
          input.CacheParameterGroupName ?? fromSnapshot ?? store.defaultParameterGroup(shape),
        ).name;
        const settings: GroupSettings = {
          description: input.ReplicationGroupDescription,
          engine,
          engineVersion,
          nodeType:
            input.CacheNodeType ??
            base?.nodeType ??
            (() => {
              throw missing('CacheNodeType');
            })(),
          clusterEnabled,
          clusterMode:
            (requestedMode as GroupSettings['clusterMode'] | undefined) ??
            (clusterEnabled ? 'enabled' : 'disabled'),
          automaticFailover,
          multiAz,
          port: input.Port ?? base?.port ?? 6379,
          parameterGroup,
          subnetGroup: input.CacheSubnetGroupName ?? base?.subnetGroup ?? 'default',
          securityGroupIds: input.SecurityGroupIds ?? [],
          atRest,
          kmsKeyArn,
          transit,
          transitMode: transit
            ? ((input.TransitEncryptionMode as 'preferred' | 'required' | undefined) ?? 'required')
            : undefined,
          authToken: input.AuthToken,
          userGroupIds: input.UserGroupIds ?? [],
          logDelivery: toLogDelivery(input.LogDeliveryConfigurations),
          networkType: input.NetworkType ?? 'ipv4',
          ipDiscovery: input.IpDiscovery ?? 'ipv4',
          snapshotRetentionLimit: input.SnapshotRetentionLimit ?? base?.snapshotRetentionLimit ?? 0,
          snapshotWindow: input.SnapshotWindow ?? base?.snapshotWindow ?? '05:00-06:00',
          maintenanceWindow:
            input.PreferredMaintenanceWindow ?? base?.maintenanceWindow ?? 'sun:23:00-mon:01:30',
          autoMinorVersionUpgrade: input.AutoMinorVersionUpgrade ?? base?.autoMinorVersionUpgrade ?? true,
          dataTiering: input.DataTieringEnabled ?? base?.dataTiering ?? false,
          notificationTopicArn: input.NotificationTopicArn ?? base?.notificationTopicArn,
        };
        const group: Group = {
          ...settings,
          id,
          arn: store.groupArn(id),
          status: 'creating',
          shards: store.layout(
            id,
            clusterEnabled,
            shardCount,
            replicas,
            azs.length > 0 ? azs : ['us-east-1a', 'us-east-1b', 'us-east-1c'],
            from?.shards.map((s) => s.slots) ?? input.NodeGroupConfiguration?.map((n) => n.Slots),
          ),
          tags: new Map((input.Tags ?? []).map((t) => [t.Key!, t.Value ?? ''])),
          dataSizeMb: from?.dataSizeMb ?? 0,
          created: new Date(ctx.clock.now()),
          authTokenLastModified: input.AuthToken ? new Date(ctx.clock.now()) : undefined,
          backupsTaken: new Map(),
        };
        store.beginCreate(group, from);
        return { ReplicationGroup: describeGroup(group) };
      },

      ModifyReplicationGroup(input: {
        ReplicationGroupId?: string;
        ApplyImmediately?: boolean;
        ReplicationGroupDescription?: string;
        SecurityGroupIds?: string[];
        SnapshotRetentionLimit?: number;
        SnapshotWindow?: string;
        PreferredMaintenanceWindow?: string;
        SnapshottingClusterId?: string;
        AutoMinorVersionUpgrade?: boolean;
        AutomaticFailoverEnabled?: boolean;
        MultiAZEnabled?: boolean;
        TransitEncryptionEnabled?: boolean;
        TransitEncryptionMode?: string;
        AuthToken?: string;
        AuthTokenUpdateStrategy?: string;
        UserGroupIdsToAdd?: string[];
        UserGroupIdsToRemove?: string[];
        CacheParameterGroupName?: string;
        LogDeliveryConfigurations?: {
          LogType?: string;
          DestinationType?: string;
          DestinationDetails?: unknown;
          LogFormat?: string;
          Enabled?: boolean;
        }[];
      }) {
        if (!input.ReplicationGroupId) throw missing('ReplicationGroupId');
        const group = store.getGroup(input.ReplicationGroupId);
        store.requireAvailable(group, 'modify it');
        const changes: Partial<GroupSettings> = {};
        if (input.ReplicationGroupDescription !== undefined)
          changes.description = input.ReplicationGroupDescription;
        if (input.SecurityGroupIds !== undefined) {
          checkSecurityGroupIds(input.SecurityGroupIds);
          changes.securityGroupIds = input.SecurityGroupIds;
        }
        if (input.SnapshotRetentionLimit !== undefined) {
          if (input.SnapshotRetentionLimit < 0 || input.SnapshotRetentionLimit > 35)
            throw invalid('SnapshotRetentionLimit must be between 0 and 35.');
          changes.snapshotRetentionLimit = input.SnapshotRetentionLimit;
        }
        if (input.SnapshotWindow !== undefined) changes.snapshotWindow = input.SnapshotWindow;
        if (input.PreferredMaintenanceWindow !== undefined)
          changes.maintenanceWindow = input.PreferredMaintenanceWindow;
        if (input.AutoMinorVersionUpgrade !== undefined)
          changes.autoMinorVersionUpgrade = input.AutoMinorVersionUpgrade;
        if (input.SnapshottingClusterId !== undefined) {
          // "This parameter cannot be set for Valkey or Redis OSS (cluster mode enabled)
          // replication groups." (API reference). Which error a non-member id gets is not
          // documented: the stricter case, a refusal (docs/aws-behaviour.md, Backups).
          if (group.clusterEnabled)
            throw combination(
              'SnapshottingClusterId cannot be set for a cluster mode enabled replication group.',
            );
          const member = group.shards[0]?.members.find(
            (m) => m.id === input.SnapshottingClusterId!.toLowerCase(),
          );
          if (!member)
            throw invalid(
              `SnapshottingClusterId '${input.SnapshottingClusterId}' is not a member of replication group ${group.id}.`,
            );
          (changes as Partial<GroupSettings> & { backupClusterId?: string }).backupClusterId = member.id;
        }
        let work: (() => Promise<void>) | undefined;
        if (input.CacheParameterGroupName !== undefined) {
          const target = store.parameterGroupFor(group, input.CacheParameterGroupName);
          changes.parameterGroup = target.name;
          // The new group's settings reach the nodes while the group is `modifying`; it is
          // `available` again once they are applied. Whether AWS reboots nodes on this change is
          // undocumented (docs/aws-behaviour.md): the sandbox does not. ApplyImmediately false would wait for
          // the maintenance window on AWS; the sandbox models no windows and applies it at once.
          work = () => store.dataPlane.applyParameters(group.id, store.nodeParametersOf(target.name));
        }
        if (input.AutomaticFailoverEnabled !== undefined || input.MultiAZEnabled !== undefined) {
          const automaticFailover = input.AutomaticFailoverEnabled ?? group.automaticFailover;
          const multiAz = input.MultiAZEnabled ?? group.multiAz;
          checkTopology({
            clusterEnabled: group.clusterEnabled,
            shards: group.shards.length,
            replicasPerShard: (group.shards[0]?.members.length ?? 1) - 1,
            automaticFailover,
            multiAz,
          });
          changes.automaticFailover = automaticFailover;
          changes.multiAz = multiAz;
        }
        if (input.TransitEncryptionEnabled !== undefined || input.TransitEncryptionMode !== undefined) {
          const transit = input.TransitEncryptionEnabled ?? group.transit;
          checkTransitMode(
            group.engine,
            group.engineVersion,
            transit,
            input.TransitEncryptionMode ?? (transit ? group.transitMode : undefined),
          );
          // Turning in-transit encryption on in place goes through `preferred` first
          // (https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/in-transit-encryption-enable-existing.html).
          if (transit && !group.transit && input.TransitEncryptionMode !== 'preferred') {
            throw combination(
              'To enable in-transit encryption on an existing replication group, set TransitEncryptionMode to preferred first.',
            );
          }
          changes.transit = transit;
          changes.transitMode = transit
            ? ((input.TransitEncryptionMode as 'preferred' | 'required' | undefined) ?? group.transitMode)
            : undefined;
        }
        if (input.AuthToken !== undefined || input.AuthTokenUpdateStrategy !== undefined) {
          const strategy = input.AuthTokenUpdateStrategy ?? 'ROTATE';
          if (!['SET', 'ROTATE', 'DELETE'].includes(strategy))
            throw invalid(`Invalid AuthTokenUpdateStrategy '${strategy}'.`);
          const transit = changes.transit ?? group.transit;
          if (strategy === 'DELETE') {
            if (input.AuthToken !== undefined)
              throw combination('AuthToken must not be given with AuthTokenUpdateStrategy DELETE.');
            changes.authToken = undefined;
          } else {
            if (input.AuthToken === undefined) throw missing('AuthToken');
            checkAuthToken(input.AuthToken, transit);
            changes.authToken = input.AuthToken;
          }
        }
        if (input.UserGroupIdsToAdd || input.UserGroupIdsToRemove) {
          store.requireUserGroups(input.UserGroupIdsToAdd ?? []);
          const current = new Set(group.userGroupIds);
          for (const u of input.UserGroupIdsToAdd ?? []) current.add(u);
          for (const u of input.UserGroupIdsToRemove ?? []) current.delete(u);
          changes.userGroupIds = [...current];
        }
        if (input.LogDeliveryConfigurations)
          changes.logDelivery = toLogDelivery(input.LogDeliveryConfigurations);
        if (Object.keys(changes).length === 0) {
          throw new AwsFault('InvalidParameterCombinationException', 'No modifications were requested.');
        }
        store.beginModify(group, changes, work);
        return { ReplicationGroup: describeGroup(group) };
      },

      DeleteReplicationGroup(input: {
        ReplicationGroupId?: string;
        FinalSnapshotIdentifier?: string;
        RetainPrimaryCluster?: boolean;
      }) {
        if (!input.ReplicationGroupId) throw missing('ReplicationGroupId');
        const group = store.getGroup(input.ReplicationGroupId);
        if (group.status !== 'available' && group.status !== 'create-failed') {
          throw new AwsFault(
            'InvalidReplicationGroupStateFault',
            `Replication group ${group.id} is ${group.status}; it can be deleted when available.`,
          );
        }
        const finalName =
          input.FinalSnapshotIdentifier !== undefined
            ? checkIdentifier('FinalSnapshotIdentifier', input.FinalSnapshotIdentifier)
            : undefined;
        if (finalName && group.status === 'create-failed') {
          throw combination('A final snapshot cannot be taken of a replication group that failed to create.');
        }
        if (finalName && store.snapshots.has(finalName)) {
          throw new AwsFault('SnapshotAlreadyExistsFault', `Snapshot ${finalName} already exists.`);
        }
        store.beginDelete(group, finalName);
        return { ReplicationGroup: describeGroup(group) };
      },

      CreateCacheParameterGroup(input: {
        CacheParameterGroupName?: string;
        CacheParameterGroupFamily?: string;
        Description?: string;
        Tags?: Tag[];
      }) {
        const name = checkParameterGroupName(input.CacheParameterGroupName);
        if (!input.CacheParameterGroupFamily) throw missing('CacheParameterGroupFamily');
        if (input.Description === undefined) throw missing('Description');
        const family = input.CacheParameterGroupFamily.toLowerCase() as Family;
        if (!FAMILIES.includes(family))
          throw invalid(`Invalid CacheParameterGroupFamily '${input.CacheParameterGroupFamily}'.`);
        checkTags(input.Tags);
        if (store.parameterGroups.has(name))
          throw new AwsFault(
            'CacheParameterGroupAlreadyExistsFault',
            `Cache Parameter Group ${name} already exists.`,
          );
        store.parameterGroups.set(name, {
          name,
          family,
          description: input.Description,
          arn: store.parameterGroupArn(name),
          values: new Map(),
        });
        return { CacheParameterGroup: describeParameterGroup(store.parameterGroup(name)) };
      },

      DescribeCacheParameterGroups(input: {
        CacheParameterGroupName?: string;
        MaxRecords?: number;
        Marker?: string;
      }) {
        const all = input.CacheParameterGroupName
          ? [store.parameterGroup(input.CacheParameterGroupName)]
          : [...defaultGroupNames(), ...[...store.parameterGroups.keys()].sort()].map((n) =>
              store.parameterGroup(n),
            );
        const { items, Marker } = page(all, input);
        return { CacheParameterGroups: items.map(describeParameterGroup), Marker };
      },

      DescribeCacheParameters(input: {
        CacheParameterGroupName?: string;
        Source?: string;
        MaxRecords?: number;
        Marker?: string;
      }) {
        if (!input.CacheParameterGroupName) throw missing('CacheParameterGroupName');
        const group = store.parameterGroup(input.CacheParameterGroupName);
        if (input.Source !== undefined && !['user', 'system', 'engine-default'].includes(input.Source))
          throw invalid(`Invalid Source '${input.Source}': expected user, system or engine-default.`);
        const parameters = PARAMETERS.map((p) => {
          const value = group.values.get(p.name) ?? p.defaultValue;
          const source = group.custom?.values.has(p.name) ? 'user' : 'system';
          return {
            ParameterName: p.name,
            ParameterValue: value,
            Description: p.description,
            Source: source,
            DataType: p.dataType,
            AllowedValues: p.allowedValues,
            IsModifiable: p.modifiable,
            MinimumEngineVersion: '2.6.13',
            ChangeType: p.changeType,
          };
        }).filter(
          (p) =>
            input.Source === undefined ||
            (input.Source === 'user'
              ? p.Source === 'user'
              : input.Source === 'engine-default'
                ? p.Source !== 'user'
                : true),
        );
        const { items, Marker } = page(parameters, input);
        return { Parameters: items, CacheNodeTypeSpecificParameters: [], Marker };
      },

      async ModifyCacheParameterGroup(input: {
        CacheParameterGroupName?: string;
        ParameterNameValues?: { ParameterName?: string; ParameterValue?: string }[];
      }) {
        if (!input.CacheParameterGroupName) throw missing('CacheParameterGroupName');
        if (!input.ParameterNameValues?.length) throw missing('ParameterNameValues');
        const group = store.parameterGroup(input.CacheParameterGroupName);
        if (!group.custom)
          throw new AwsFault(
            'InvalidCacheParameterGroupStateFault',
            `The default cache parameter group ${group.name} cannot be modified.`,
          );
        const changes = input.ParameterNameValues.map((p) => {
          if (!p.ParameterName) throw missing('ParameterName');
          const value = p.ParameterValue ?? '';
          checkParameterValue(p.ParameterName, value);
          return [p.ParameterName, value] as const;
        });
        store.tick();
        const inUse = store.groupsUsing(group.name);
        if (inUse.length > 0 && changes.some(([name]) => name === 'cluster-enabled')) {
          // A group in use cannot change cluster mode under its replication groups (*unconfirmed* on AWS).
          throw new AwsFault(
            'InvalidCacheParameterGroupStateFault',
            `cluster-enabled cannot be changed while ${inUse.map((g) => g.id).join(', ')} use ${group.name}.`,
          );
        }
        for (const [name, value] of changes) group.custom.values.set(name, value);
        // `immediate` parameters reach the running nodes of every group on it at once
        // (ParameterGroups.Engine.html: notify-keyspace-events changes take effect immediately).
        if (changes.some(([name]) => parameterDefinition(name)?.onNodes))
          await store.applyParameterGroup(group.name);
        return { CacheParameterGroupName: group.name };
      },

      DeleteCacheParameterGroup(input: { CacheParameterGroupName?: string }) {
        if (!input.CacheParameterGroupName) throw missing('CacheParameterGroupName');
        const group = store.parameterGroup(input.CacheParameterGroupName);
        if (!group.custom)
          throw new AwsFault(
            'InvalidCacheParameterGroupStateFault',
            `The default cache parameter group ${group.name} cannot be deleted.`,
          );
        store.tick();
        const inUse = store.groupsUsing(group.name);
        if (inUse.length > 0)
          throw new AwsFault(
            'InvalidCacheParameterGroupStateFault',
            `Cache parameter group ${group.name} is in use by ${inUse.map((g) => g.id).join(', ')}.`,
          );
        store.parameterGroups.delete(group.name);
        return {};
      },

      ListTagsForResource(input: { ResourceName?: string }) {
        const { tags, group } = taggable(input.ResourceName);
        requireTaggable(group, 'list its tags');
        return tagList(tags);
      },

      AddTagsToResource(input: { ResourceName?: string; Tags?: Tag[] }) {
        if (!input.Tags?.length) throw missing('Tags');
        const { tags, group } = taggable(input.ResourceName);
        requireTaggable(group, 'tag it');
        const added = input.Tags.filter((t) => t.Key && !tags.has(t.Key));
        checkTags(input.Tags, tags.size - (input.Tags.length - added.length));
        for (const t of input.Tags) tags.set(t.Key!, t.Value ?? '');
        if (group) store.beginTagChange(group);
        return tagList(tags);
      },

      RemoveTagsFromResource(input: { ResourceName?: string; TagKeys?: string[] }) {
        if (!input.TagKeys?.length) throw missing('TagKeys');
        const { tags, group } = taggable(input.ResourceName);
        requireTaggable(group, 'untag it');
        for (const key of input.TagKeys) {
          if (!tags.has(key))
            throw new AwsFault('TagNotFoundFault', `The tag ${key} is not on the resource.`);
        }
        for (const key of input.TagKeys) tags.delete(key);
        if (group) store.beginTagChange(group);
        return tagList(tags);
      },
    },
  };
}
