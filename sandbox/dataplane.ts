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
  /** With `transitEncryption`: `required` (TLS only, the default) or `preferred` (TLS and plaintext). */
  transitEncryptionMode?: 'preferred' | 'required';
  authToken?: string;
  /** Encrypted at rest: its snapshots are stored encrypted even without a KMS key of their own. */
  atRestEncryption?: boolean;
  /** The group's endpoint and node host names, for the TLS server certificates. */
  hostNames?: string[];
  /**
   * Engine settings from the group's parameter group that act on the nodes (redis.conf names,
   * e.g. `notify-keyspace-events`), applied when the nodes start.
   */
  parameters?: Record<string, string>;
}

/**
 * Envelope encryption of snapshot data keys under a KMS key, as KMS does it for services
 * (implemented by the sandbox's KmsStore). Both refuse, by throwing, a key that is not Enabled.
 */
export interface DataKeyCipher {
  encryptDataKey(keyArn: string, dataKey: Buffer): Buffer;
  decryptDataKey(keyArn: string, encrypted: Buffer): Buffer;
}

/** Opaque handle to snapshot data held by the data plane. */
export interface SnapshotData {
  id: string;
  /** Per shard (node group id) data; encrypted at rest under a KMS key when `kmsKeyArn` is set. */
  shards: Record<string, unknown>;
}

export interface DataPlane {
  /**
   * Starts the group's nodes, optionally loading a snapshot (decrypted with `keys` when it is
   * encrypted under a KMS key). Resolves with each node's address.
   */
  createGroup(
    layout: GroupLayout,
    from?: SnapshotData,
    keys?: DataKeyCipher,
  ): Promise<Record<string, NodeAddress>>;
  /**
   * Takes a snapshot of one node per shard (`nodeIds` maps node group id → node id), encrypted
   * under `kmsKeyArn` (through `keys`) when given.
   */
  snapshot(
    groupId: string,
    nodeIds: Record<string, string>,
    options: { kmsKeyArn?: string; keys?: DataKeyCipher },
  ): Promise<SnapshotData>;
  deleteSnapshot(snapshot: SnapshotData): Promise<void>;
  deleteGroup(groupId: string): Promise<void>;
  /**
   * Applies engine settings (redis.conf names and values) to every running node of a group at
   * once, as ElastiCache applies a parameter whose change type is `immediate`.
   */
  applyParameters(groupId: string, parameters: Record<string, string>): Promise<void>;
  /** Drops every group and snapshot (the sandbox is being re-seeded). */
  reset(): Promise<void>;
  close(): Promise<void>;
  /** The CA that signs the nodes' TLS certificates (PEM and file), when the data plane serves TLS. */
  readonly tlsCa?: { readonly certPem: string; readonly certFile: string };
}

/**
 * The data plane without data: every node gets its own loopback address (so DNS answers for the
 * endpoints, as with real nodes), but nothing listens there. Fast control-plane tests use it.
 */
export class NullDataPlane implements DataPlane {
  private next = 1;

  async createGroup(layout: GroupLayout): Promise<Record<string, NodeAddress>> {
    const addresses: Record<string, NodeAddress> = {};
    for (const shard of layout.shards) {
      for (const id of shard.nodeIds) {
        const n = this.next++;
        // 127.32.0.0/11: apart from the Redis data plane's 127.64.0.0/10; nothing binds here.
        addresses[id] = {
          host: `127.${32 + ((n >> 16) & 31)}.${(n >> 8) & 255}.${n & 255}`,
          port: layout.port,
        };
      }
    }
    return addresses;
  }
  async snapshot(groupId: string): Promise<SnapshotData> {
    return { id: `${groupId}-${Date.now()}`, shards: {} };
  }
  async deleteSnapshot(): Promise<void> {}
  async deleteGroup(): Promise<void> {}
  async applyParameters(): Promise<void> {}
  async reset(): Promise<void> {}
  async close(): Promise<void> {}
}
