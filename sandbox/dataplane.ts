/**
 * Where a sandbox group's data lives. The control plane (services/elasticache) calls these hooks
 * at each life-cycle step; the default keeps no data, and a Redis-backed implementation runs a
 * real `redis-server` per node (replicas replicating, cluster mode as a real Redis Cluster).
 */
export interface NodeAddress {
  host: string;
  port: number;
}

export interface GroupLayout {
  groupId: string;
  clusterMode: boolean;
  port: number;
  /** One entry per shard: node ids, the primary first. */
  shards: { nodeGroupId: string; slots?: string; nodeIds: string[] }[];
  transitEncryption: boolean;
  authToken?: string;
}

/** Opaque handle to snapshot data held by the data plane. */
export interface SnapshotData {
  id: string;
  /** Per shard (node group id) data; encrypted at rest under a KMS key when `kmsKeyArn` is set. */
  shards: Record<string, unknown>;
}

export interface DataPlane {
  /** Starts the group's nodes, optionally loading a snapshot. Resolves with each node's address. */
  createGroup(layout: GroupLayout, from?: SnapshotData): Promise<Record<string, NodeAddress>>;
  /** Takes a snapshot of one node per shard (`nodeIds` maps node group id → node id). */
  snapshot(
    groupId: string,
    nodeIds: Record<string, string>,
    options: { kmsKeyArn?: string },
  ): Promise<SnapshotData>;
  deleteSnapshot(snapshot: SnapshotData): Promise<void>;
  deleteGroup(groupId: string): Promise<void>;
  /** Drops every group and snapshot (the sandbox is being re-seeded). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** The data plane without data: nodes have addresses but nothing listens on them. */
export class NullDataPlane implements DataPlane {
  async createGroup(layout: GroupLayout): Promise<Record<string, NodeAddress>> {
    const addresses: Record<string, NodeAddress> = {};
    for (const shard of layout.shards)
      for (const id of shard.nodeIds) addresses[id] = { host: '', port: layout.port };
    return addresses;
  }
  async snapshot(groupId: string): Promise<SnapshotData> {
    return { id: `${groupId}-${Date.now()}`, shards: {} };
  }
  async deleteSnapshot(): Promise<void> {}
  async deleteGroup(): Promise<void> {}
  async reset(): Promise<void> {}
  async close(): Promise<void> {}
}
