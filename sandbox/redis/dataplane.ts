/**
 * The sandbox's Redis data plane: every node of a replication group is a real `redis-server`.
 *
 * Addresses: ElastiCache endpoints are host names on the group's port (6379 unless chosen), and
 * a restore copies the source's port, so every node gets its own loopback address (random in
 * 127.64.0.0/10; Linux routes all of 127.0.0.0/8 to `lo`) and listens on `<address>:<group port>`.
 * An address that is taken (another test process, another sandbox) is detected by binding it and
 * replaced by another. 127.0.0.1 is never used, so a system redis on 127.0.0.1:6379 is left alone.
 *
 * Topology: cluster mode disabled = a primary and replicas (`replicaof`, `masterauth`), created
 * once every replica has finished its initial sync. Cluster mode enabled = a real Redis Cluster
 * with exactly the layout's slot ranges per shard, nodes announcing their own address.
 *
 * Snapshots: one RDB per shard (BGSAVE on the node the control plane chose), kept in this data
 * plane's directory; encrypted (AES-256-GCM under a random data key, itself encrypted under the KMS
 * key, or under the sandbox's own key for at-rest groups without a KMS key) when asked to. A restore
 * decrypts each shard's RDB, which fails when the KMS key is not Enabled, and loads it into the
 * shard's primary; replicas sync from it.
 *
 * Transit encryption: TLS with certificates signed by one CA per data plane ({@link tlsCa}), for
 * the group's endpoint and node host names and the node's address. `preferred` mode (TLS and
 * plaintext on the same port, as ElastiCache serves it) is beyond redis-server 7.0, whose `port` and
 * `tls-port` must differ: the node serves both on ports of its own address and a small TCP splitter
 * on the group port sends each connection to one or the other by its first byte (0x16, a TLS
 * handshake record, or anything else).
 *
 * No orphans: nodes run under the watchdog of `startRedisServer`; their process titles carry
 * {@link RedisDataPlane.processTag}, so `pgrep -f <tag>` finds every node of this data plane.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes, randomInt, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, open, rm, stat } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Redis } from 'ioredis';
import type { DataKeyCipher, DataPlane, GroupLayout, NodeAddress, SnapshotData } from '../dataplane.js';
import {
  type AdminAccess,
  adminCall,
  createAdminAccess,
  PortTakenError,
  parseInfo,
  type RedisServer,
  registerAdminAddress,
  startRedisServer,
  stopAll,
} from './server.js';
import { type CertificateAuthority, generateCertificateAuthority } from './tls.js';

export interface RedisDataPlaneOptions {
  /** Path of the server binary. @default `REDIS_SERVER_BIN` or `redis-server` on PATH */
  readonly redisServerBin?: string;
  /** How long a group may take to start, sync and form its cluster. @default 30000 */
  readonly readyTimeoutMs?: number;
  /**
   * ElastiCache's own key {@link REPLICATION_TIMESTAMP_KEY}, rewritten on each group's primary
   * every `intervalMs` (see {@link TimestampWriter}). `false` turns it off, for tests that need an
   * empty keyspace. @default { intervalMs: 100 }
   */
  readonly replicationTimestamp?: false | { readonly intervalMs?: number };
}

/** The key ElastiCache keeps on every primary (docs/aws-behaviour.md: ElastiCache's own data). */
export const REPLICATION_TIMESTAMP_KEY = 'ElastiCacheMasterReplicationTimestamp';
/** The client name of the connection that writes {@link REPLICATION_TIMESTAMP_KEY}. */
export const REPLICATION_TIMESTAMP_CLIENT_NAME = 'elasticache-internal-timestamp';

interface RunningNode {
  readonly id: string;
  readonly server: RedisServer;
  /** The `preferred`-mode splitter on the group port, when there is one. */
  readonly splitter?: Splitter;
  /** Unregisters the splitter's address from adminCall's table. */
  readonly unregister?: () => void;
  /** Serialises BGSAVEs of this node (a second one while one runs is an error). */
  saving: Promise<unknown>;
}

interface RunningGroup {
  readonly layout: GroupLayout;
  readonly nodes: Map<string, RunningNode>;
  writer?: TimestampWriter;
}

/** What one shard of a snapshot is, in this data plane's directory. */
interface ShardFile {
  readonly file: string;
  /** Absent: a plain RDB. Otherwise the KMS key the data key is encrypted under (null: the sandbox's own key). */
  readonly encryptedUnder?: string | null;
}

/** The address range nodes get their addresses from: 127.64.0.0/10. */
const ADDRESS_SECOND_OCTETS = [64, 127] as const;
const ADDRESS_ATTEMPTS = 32;
const CLUSTER_NODE_TIMEOUT_MS = 2000;
/** The first bytes of an encrypted snapshot file (an RDB starts with `REDIS`). */
const ENCRYPTED_MAGIC = Buffer.from('SBXENC01');
const GCM_TAG_BYTES = 16;

const liveDirectories = new Set<string>();
let exitHookInstalled = false;

/**
 * Removes a data plane directory (snapshots, CA) once this process is gone, however it ends: a
 * shell blocked reading a pipe from this process removes it at EOF (the redis-server watchdog's
 * technique), and a normal exit removes it at once.
 */
function removeWhenGone(dir: string): ChildProcess {
  const guard = spawn(
    'sh',
    ['-c', 'while read -r _line; do :; done; rm -rf "$1"', 'redis-sandbox-dir-guard', dir],
    {
      stdio: ['pipe', 'ignore', 'ignore'],
    },
  );
  guard.on('error', () => {});
  guard.unref();
  (guard.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  liveDirectories.add(dir);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const path of liveDirectories) rmSync(path, { recursive: true, force: true });
    });
  }
  return guard;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class RedisDataPlane implements DataPlane {
  private readonly groups = new Map<string, RunningGroup>();
  private readonly snapshotFiles = new Set<string>();
  /** Data keys of at-rest-encrypted snapshots without a KMS key are wrapped under this key. */
  private readonly serviceKey = randomBytes(32);
  /**
   * How the sandbox gets past the commands its nodes refuse to clients (CONFIG, BGSAVE, SYNC, ...):
   * secret command names and an internal user, random per data plane. See `restrictCommands` in
   * ./server.ts; tests use `adminCall` from there.
   */
  readonly adminAccess: AdminAccess = createAdminAccess();
  private closed = false;

  private constructor(
    /** Holds the CA and the snapshots; removed by `close()` or when the process is gone. */
    readonly dir: string,
    private readonly dirGuard: ChildProcess,
    private readonly ca: CertificateAuthority,
    /** In the process title of every node: `pgrep -f <processTag>` lists them. */
    readonly processTag: string,
    private readonly options: RedisDataPlaneOptions,
  ) {}

  /** Creates the data plane's directory and its TLS certificate authority. */
  static async start(options: RedisDataPlaneOptions = {}): Promise<RedisDataPlane> {
    const dir = await mkdtemp(join(tmpdir(), 'redis-sandbox-dataplane-'));
    const guard = removeWhenGone(dir);
    try {
      await mkdir(join(dir, 'snapshots'));
      const ca = await generateCertificateAuthority(join(dir, 'ca'));
      return new RedisDataPlane(dir, guard, ca, `redis-sandbox-${randomBytes(6).toString('hex')}`, options);
    } catch (error) {
      guard.stdin?.end();
      await rm(dir, { recursive: true, force: true });
      liveDirectories.delete(dir);
      throw error;
    }
  }

  get tlsCa(): { certPem: string; certFile: string } {
    return { certPem: this.ca.certPem, certFile: this.ca.certFile };
  }

  /** The running server of a node, for tests and tools that need more than its address. */
  server(groupId: string, nodeId: string): RedisServer | undefined {
    return this.groups.get(groupId)?.nodes.get(nodeId)?.server;
  }

  async createGroup(
    layout: GroupLayout,
    from?: SnapshotData,
    keys?: DataKeyCipher,
  ): Promise<Record<string, NodeAddress>> {
    if (this.closed) throw new Error('the Redis data plane is closed');
    await this.deleteGroup(layout.groupId);
    const group: RunningGroup = { layout, nodes: new Map() };
    this.groups.set(layout.groupId, group);
    const plaintextCopies: string[] = [];
    try {
      const rdbFiles = new Map<string, string>();
      if (from) {
        for (const [index, shard] of layout.shards.entries()) {
          const source = shardFile(from, shard.nodeGroupId, index);
          if (source.encryptedUnder === undefined) {
            rdbFiles.set(shard.nodeGroupId, source.file);
          } else {
            const copy = join(this.dir, `restore-${randomUUID()}.rdb`);
            plaintextCopies.push(copy);
            await this.decryptFile(source, copy, keys);
            rdbFiles.set(shard.nodeGroupId, copy);
          }
        }
      }
      if (layout.clusterMode) await this.startCluster(group, rdbFiles);
      else await this.startReplicated(group, rdbFiles);
      const timestamp = this.options.replicationTimestamp ?? {};
      if (timestamp !== false) {
        group.writer = new TimestampWriter(group, timestamp.intervalMs ?? 100);
        group.writer.start();
      }
      const addresses: Record<string, NodeAddress> = {};
      for (const node of group.nodes.values())
        addresses[node.id] = { host: node.server.host, port: layout.port };
      return addresses;
    } catch (error) {
      if (this.groups.get(layout.groupId) === group) this.groups.delete(layout.groupId);
      await stopNodes(group);
      throw error;
    } finally {
      await Promise.all(plaintextCopies.map((file) => rm(file, { force: true })));
    }
  }

  async snapshot(
    groupId: string,
    nodeIds: Record<string, string>,
    options: { kmsKeyArn?: string; keys?: DataKeyCipher },
  ): Promise<SnapshotData> {
    const group = this.groups.get(groupId);
    if (!group) throw new Error(`replication group ${groupId} has no running nodes`);
    const encrypt = options.kmsKeyArn !== undefined || group.layout.atRestEncryption === true;
    const id = `${groupId}-${randomUUID()}`;
    const shards: Record<string, ShardFile> = {};
    const written: string[] = [];
    try {
      await Promise.all(
        Object.entries(nodeIds).map(async ([shardId, nodeId]) => {
          const node = group.nodes.get(nodeId);
          if (!node) throw new Error(`node ${nodeId} of ${groupId} is not running`);
          const file = join(this.dir, 'snapshots', `${id}-${shardId}.rdb`);
          written.push(file);
          const save = node.saving.then(() => node.server.save());
          node.saving = save.catch(() => undefined);
          const rdb = await save;
          try {
            if (encrypt) await this.encryptFile(rdb, file, options.kmsKeyArn ?? null, options.keys);
            else await copyFile(rdb, file);
          } finally {
            // The node keeps no RDB of its own: the snapshot's copy is the only one.
            await rm(rdb, { force: true });
          }
          shards[shardId] = encrypt ? { file, encryptedUnder: options.kmsKeyArn ?? null } : { file };
        }),
      );
    } catch (error) {
      await Promise.all(written.map((file) => rm(file, { force: true })));
      throw error;
    }
    for (const file of written) this.snapshotFiles.add(file);
    return { id, shards };
  }

  async deleteSnapshot(snapshot: SnapshotData): Promise<void> {
    for (const [index, key] of Object.keys(snapshot.shards).entries()) {
      const { file } = shardFile(snapshot, key, index);
      this.snapshotFiles.delete(file);
      await rm(file, { force: true });
    }
  }

  async deleteGroup(groupId: string): Promise<void> {
    const group = this.groups.get(groupId);
    if (!group) return;
    this.groups.delete(groupId);
    await stopNodes(group);
  }

  async applyParameters(groupId: string, parameters: Record<string, string>): Promise<void> {
    const group = this.groups.get(groupId);
    if (!group) return;
    await Promise.all(
      [...group.nodes.values()].map((node) =>
        withClient(node.server, async (client) => {
          for (const [name, value] of Object.entries(parameters))
            await adminCall(client, 'CONFIG', 'SET', name, value);
        }),
      ),
    );
  }

  async reset(): Promise<void> {
    const groups = [...this.groups.values()];
    this.groups.clear();
    await Promise.all(groups.map(stopNodes));
    const files = [...this.snapshotFiles];
    this.snapshotFiles.clear();
    await Promise.all(files.map((file) => rm(file, { force: true })));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.reset();
    await rm(this.dir, { recursive: true, force: true });
    liveDirectories.delete(this.dir);
    this.dirGuard.stdin?.end();
  }

  // ------------------------------------------------------------------ nodes

  private async startReplicated(group: RunningGroup, rdbFiles: Map<string, string>): Promise<void> {
    for (const shard of group.layout.shards) {
      const [primaryId, ...replicaIds] = shard.nodeIds;
      if (!primaryId) throw new Error(`shard ${shard.nodeGroupId} has no nodes`);
      const primary = await this.startNode(group, primaryId, { rdbFile: rdbFiles.get(shard.nodeGroupId) });
      const replicas = await Promise.all(
        replicaIds.map((id) =>
          this.startNode(group, id, { replicaOf: { host: primary.server.host, port: primary.server.port } }),
        ),
      );
      await this.waitUntil(`the replicas of ${group.layout.groupId} to sync`, async () => {
        const links = await Promise.all(
          replicas.map(async (replica) => {
            const info = parseInfo(await withClient(replica.server, (c) => c.info('replication')));
            return info.master_link_status === 'up' && info.master_sync_in_progress === '0';
          }),
        );
        return links.every(Boolean);
      });
    }
  }

  private async startCluster(group: RunningGroup, rdbFiles: Map<string, string>): Promise<void> {
    const shards = await Promise.all(
      group.layout.shards.map(async (shard) => {
        const [primaryId, ...replicaIds] = shard.nodeIds;
        if (!primaryId) throw new Error(`shard ${shard.nodeGroupId} has no nodes`);
        const [primary, ...replicas] = await Promise.all([
          this.startNode(group, primaryId, { rdbFile: rdbFiles.get(shard.nodeGroupId) }),
          ...replicaIds.map((id) => this.startNode(group, id, {})),
        ]);
        return {
          primary: primary!.server,
          replicas: replicas.map((r) => r.server),
          slots: parseSlots(shard.slots ?? ''),
        };
      }),
    );
    await this.formCluster(group.layout.groupId, shards);
  }

  /** Starts one node on a free loopback address and the group's port; registers it in `group`. */
  private async startNode(
    group: RunningGroup,
    id: string,
    extra: { rdbFile?: string; replicaOf?: { host: string; port: number } },
  ): Promise<RunningNode> {
    const { layout } = group;
    const tls = layout.transitEncryption;
    const preferred = tls && layout.transitEncryptionMode === 'preferred';
    const busPort = layout.port + 10_000 <= 65_535 ? layout.port + 10_000 : layout.port - 10_000;
    for (let attempt = 0; attempt < ADDRESS_ATTEMPTS; attempt++) {
      const host = randomLoopbackAddress();
      if (!(await canListen(host, layout.port))) continue;
      if (layout.clusterMode && !(await canListen(host, busPort))) continue;
      // In preferred mode the group port belongs to the splitter; the node listens beside it.
      const port = preferred ? await freePort(host) : layout.port;
      const plaintextPort = preferred ? await freePort(host) : undefined;
      const config: Record<string, string> = {
        ...layout.parameters,
        'proc-title-template': `{title} {listen-addr} {server-mode} ${this.processTag}`,
        'replica-announce-ip': host,
      };
      if (layout.clusterMode) {
        config['cluster-announce-ip'] = host;
        // Nodes gossip roles within a second (a node pings peers silent for half this timeout).
        config['cluster-node-timeout'] = String(CLUSTER_NODE_TIMEOUT_MS);
        // Roles are the control plane's: the sandbox models no failover, so nodes make none.
        config['cluster-replica-no-failover'] = 'yes';
        // CLUSTER SLOTS lists a replica only once its replication offset is non-zero; the
        // primary's pings move it on an idle group within a second rather than ten.
        config['repl-ping-replica-period'] = '1';
        if (preferred) {
          // Clients and replicas are sent to the group port, where the splitter is.
          config['cluster-announce-port'] = String(layout.port);
          config['cluster-announce-tls-port'] = String(layout.port);
        }
      }
      let server: RedisServer;
      try {
        server = await startRedisServer({
          bind: host,
          port,
          ...(layout.clusterMode ? { clusterEnabled: true, busPort } : {}),
          ...(tls ? { tls: this.ca, tlsNames: layout.hostNames ?? [] } : {}),
          ...(plaintextPort !== undefined ? { plaintextPort } : {}),
          ...(layout.authToken !== undefined
            ? { requirepass: layout.authToken, masterAuth: layout.authToken }
            : {}),
          ...(extra.rdbFile !== undefined ? { rdbFile: extra.rdbFile } : {}),
          ...(extra.replicaOf ? { replicaOf: extra.replicaOf } : {}),
          ...(this.options.redisServerBin !== undefined
            ? { redisServerBin: this.options.redisServerBin }
            : {}),
          config,
          restrictCommands: this.adminAccess,
        });
      } catch (error) {
        if (error instanceof PortTakenError) continue;
        throw error;
      }
      let splitter: Splitter | undefined;
      if (preferred && plaintextPort !== undefined) {
        try {
          splitter = await listenSplitter(host, layout.port, server.port, plaintextPort);
        } catch (error) {
          await server.stop();
          if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
          throw error;
        }
      }
      const unregister = splitter ? registerAdminAddress(host, layout.port, this.adminAccess) : undefined;
      const node: RunningNode = { id, server, splitter, unregister, saving: Promise.resolve() };
      if (this.groups.get(layout.groupId) !== group) {
        await stopNodes({ layout, nodes: new Map([[id, node]]) });
        throw new Error(`replication group ${layout.groupId} was deleted while its nodes were starting`);
      }
      group.nodes.set(id, node);
      if (extra.rdbFile !== undefined) await rm(join(server.dir, 'dump.rdb'), { force: true });
      return node;
    }
    throw new Error(
      `no loopback address in 127.64.0.0/10 had port ${layout.port} free after ${ADDRESS_ATTEMPTS} tries; is something listening on 0.0.0.0:${layout.port}?`,
    );
  }

  /**
   * Forms a Redis Cluster with exactly the given slot ranges per shard. A primary restored from a
   * snapshot already claims the slots its keys are in (redis-server does so at load); it is given
   * the rest of its ranges.
   */
  private async formCluster(
    groupId: string,
    shards: { primary: RedisServer; replicas: RedisServer[]; slots: [number, number][] }[],
  ): Promise<void> {
    const all = shards.flatMap((s) => [s.primary, ...s.replicas]);
    const clients = all.map((server) => {
      const client = server.client({ lazyConnect: false });
      client.on('error', () => {});
      return client;
    });
    const clientOf = (server: RedisServer) => clients[all.indexOf(server)]!;
    try {
      const ids = await Promise.all(
        shards.map((s) => clientOf(s.primary).call('CLUSTER', 'MYID') as Promise<string>),
      );
      let assigned = 0;
      for (const shard of shards) {
        const client = clientOf(shard.primary);
        const wanted = new Uint8Array(16_384);
        for (const [first, last] of shard.slots) wanted.fill(1, first, last + 1);
        const owned = (await client.call('CLUSTER', 'SLOTS')) as [number, number][];
        for (const [first, last] of owned) {
          for (let slot = first; slot <= last; slot++) {
            if (!wanted[slot])
              throw new Error(`the snapshot of ${groupId} holds keys in slot ${slot}, outside its shard`);
            wanted[slot] = 2;
          }
        }
        const missing = rangesOf(wanted, 1);
        if (missing.length > 0) await client.call('CLUSTER', 'ADDSLOTSRANGE', ...missing.flat());
        assigned += wanted.reduce((sum, v) => sum + (v > 0 ? 1 : 0), 0);
      }
      const seed = all[0]!;
      await Promise.all(
        all
          .slice(1)
          .map((server) => clientOf(server).call('CLUSTER', 'MEET', seed.host, seed.port, seed.busPort!)),
      );
      await this.waitUntil(`the nodes of ${groupId} to meet`, async () => {
        const views = await Promise.all(clients.map((c) => c.call('CLUSTER', 'NODES') as Promise<string>));
        return views.every((view) => {
          const lines = view.trim().split('\n');
          return lines.length === all.length && lines.every((line) => !/handshake|noaddr/.test(line));
        });
      });
      await Promise.all(
        shards.flatMap((shard, i) =>
          shard.replicas.map((replica) => clientOf(replica).call('CLUSTER', 'REPLICATE', ids[i]!)),
        ),
      );
      const replicaCount = new Map(ids.map((id, i) => [id, shards[i]!.replicas.length]));
      await this.waitUntil(`the cluster ${groupId} to be ok`, async () => {
        const infos = await Promise.all(clients.map((c) => c.call('CLUSTER', 'INFO') as Promise<string>));
        const ok = infos.every((text) => {
          const info = parseInfo(text);
          return (
            info.cluster_slots_assigned === String(assigned) &&
            (assigned < 16_384 || info.cluster_state === 'ok')
          );
        });
        if (!ok) return false;
        // Every node lists every replica in CLUSTER SLOTS, as clients read the topology there.
        // (A replica is listed once it has a non-zero replication offset: see repl-ping-replica-period.)
        const views = await Promise.all(
          clients.map((c) => c.call('CLUSTER', 'SLOTS') as Promise<SlotsEntry[]>),
        );
        const complete = views.every((view) =>
          view.every(([, , primary, ...replicas]) => replicas.length === replicaCount.get(primary[2])),
        );
        if (!complete) return false;
        const links = await Promise.all(
          shards.flatMap((s) =>
            s.replicas.map(async (replica) => {
              const info = parseInfo(await clientOf(replica).info('replication'));
              return info.master_link_status === 'up' && info.master_sync_in_progress === '0';
            }),
          ),
        );
        return links.every(Boolean);
      });
    } finally {
      for (const client of clients) client.disconnect();
    }
  }

  private async waitUntil(what: string, condition: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 30_000);
    let lastError: unknown;
    for (;;) {
      try {
        if (await condition()) return;
      } catch (error) {
        lastError = error;
      }
      if (Date.now() > deadline) {
        const detail = lastError ? `: ${(lastError as Error).message}` : '';
        throw new Error(`timed out waiting for ${what}${detail}`);
      }
      await sleep(20);
    }
  }

  // ------------------------------------------------------------------ encryption at rest

  /**
   * Writes `source` encrypted: magic, header (wrapped data key, IV), AES-256-GCM ciphertext, tag.
   * The data key is wrapped under the KMS key (`keyArn`) or, for `null`, the sandbox's own key.
   */
  private async encryptFile(
    source: string,
    target: string,
    keyArn: string | null,
    keys: DataKeyCipher | undefined,
  ): Promise<void> {
    const dataKey = randomBytes(32);
    const wrapped =
      keyArn === null ? this.wrapWithServiceKey(dataKey) : requireKeys(keys).encryptDataKey(keyArn, dataKey);
    const iv = randomBytes(12);
    const header = Buffer.from(
      JSON.stringify({ key: wrapped.toString('base64'), iv: iv.toString('base64') }),
    );
    const length = Buffer.alloc(4);
    length.writeUInt32BE(header.length);
    const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
    const out = createWriteStream(target, { mode: 0o600 });
    out.write(Buffer.concat([ENCRYPTED_MAGIC, length, header]));
    await pipeline(createReadStream(source), cipher, out, { end: false });
    await new Promise<void>((resolve, reject) =>
      out.end(cipher.getAuthTag(), (error?: Error | null) => (error ? reject(error) : resolve())),
    );
  }

  private async decryptFile(
    source: ShardFile,
    target: string,
    keys: DataKeyCipher | undefined,
  ): Promise<void> {
    const size = (await stat(source.file)).size;
    const handle = await open(source.file, 'r');
    let headerEnd: number;
    let header: { key: string; iv: string };
    const tag = Buffer.alloc(GCM_TAG_BYTES);
    try {
      const prefix = Buffer.alloc(ENCRYPTED_MAGIC.length + 4);
      await handle.read(prefix, 0, prefix.length, 0);
      if (!prefix.subarray(0, ENCRYPTED_MAGIC.length).equals(ENCRYPTED_MAGIC))
        throw new Error(`${source.file} is not an encrypted snapshot`);
      const headerLength = prefix.readUInt32BE(ENCRYPTED_MAGIC.length);
      const headerBytes = Buffer.alloc(headerLength);
      await handle.read(headerBytes, 0, headerLength, prefix.length);
      header = JSON.parse(headerBytes.toString('utf8')) as { key: string; iv: string };
      headerEnd = prefix.length + headerLength;
      await handle.read(tag, 0, GCM_TAG_BYTES, size - GCM_TAG_BYTES);
    } finally {
      await handle.close();
    }
    const wrapped = Buffer.from(header.key, 'base64');
    // Unwrapping is where a disabled or deleted KMS key stops a restore, as in AWS.
    const dataKey =
      source.encryptedUnder === null || source.encryptedUnder === undefined
        ? this.unwrapWithServiceKey(wrapped)
        : requireKeys(keys).decryptDataKey(source.encryptedUnder, wrapped);
    const decipher = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(header.iv, 'base64'));
    decipher.setAuthTag(tag);
    await pipeline(
      createReadStream(source.file, { start: headerEnd, end: size - GCM_TAG_BYTES - 1 }),
      decipher,
      createWriteStream(target, { mode: 0o600 }),
    );
  }

  private wrapWithServiceKey(dataKey: Buffer): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.serviceKey, iv);
    const body = Buffer.concat([cipher.update(dataKey), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]);
  }

  private unwrapWithServiceKey(wrapped: Buffer): Buffer {
    const decipher = createDecipheriv('aes-256-gcm', this.serviceKey, wrapped.subarray(0, 12));
    decipher.setAuthTag(wrapped.subarray(12, 28));
    return Buffer.concat([decipher.update(wrapped.subarray(28)), decipher.final()]);
  }
}

function requireKeys(keys: DataKeyCipher | undefined): DataKeyCipher {
  if (!keys) throw new Error('a snapshot encrypted under a KMS key needs the KMS store (keys) to be given');
  return keys;
}

function shardFile(snapshot: SnapshotData, shardId: string, index: number): ShardFile {
  const value = snapshot.shards[shardId] ?? Object.values(snapshot.shards)[index];
  if (typeof value !== 'object' || value === null || typeof (value as ShardFile).file !== 'string') {
    throw new Error(
      `snapshot ${snapshot.id} has no data for shard ${shardId} (was it taken by this data plane?)`,
    );
  }
  return value as ShardFile;
}

async function stopNodes(group: RunningGroup): Promise<void> {
  group.writer?.stop();
  const nodes = [...group.nodes.values()];
  for (const node of nodes) node.unregister?.();
  await Promise.allSettled(nodes.map((node) => node.splitter?.close()));
  await stopAll(nodes.map((node) => node.server));
}

async function withClient<T>(server: RedisServer, fn: (client: Redis) => Promise<T>): Promise<T> {
  const client = server.client();
  client.on('error', () => {});
  try {
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

/** ElastiCache slot ranges: `0-5460`, or several separated by commas. */
export function parseSlots(text: string): [number, number][] {
  const ranges = text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const match = /^(\d+)(?:-(\d+))?$/.exec(part);
      const first = Number(match?.[1]);
      const last = Number(match?.[2] ?? match?.[1]);
      if (!match || first > last || last >= 16_384) throw new Error(`invalid slot range '${part}'`);
      return [first, last] as [number, number];
    });
  if (ranges.length === 0) throw new Error('a cluster mode enabled shard needs slots');
  return ranges;
}

/** The ranges of slots whose mark is `value`. */
function rangesOf(marks: Uint8Array, value: number): [number, number][] {
  const ranges: [number, number][] = [];
  for (let slot = 0; slot < marks.length; slot++) {
    if (marks[slot] !== value) continue;
    const last = ranges.at(-1);
    if (last && last[1] === slot - 1) last[1] = slot;
    else ranges.push([slot, slot]);
  }
  return ranges;
}

function randomLoopbackAddress(): string {
  const [low, high] = ADDRESS_SECOND_OCTETS;
  return `127.${randomInt(low, high + 1)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
}

/** Whether `host:port` can be bound now (a quick test before starting a server there). */
function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host, port: 0, exclusive: true }, () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** One entry of CLUSTER SLOTS: range, primary, replicas (each address, port, node id). */
type SlotsEntry = [number, number, [string, number, string], ...[string, number, string][]];

interface Splitter {
  close(): Promise<void>;
}

/**
 * ElastiCache's `preferred` transit mode on one port: each connection goes to the node's TLS port
 * when its first byte opens a TLS handshake record (0x16), to its plaintext port otherwise.
 */
async function listenSplitter(
  host: string,
  port: number,
  tlsPort: number,
  plaintextPort: number,
): Promise<Splitter> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server: Server = createServer((client) => {
    track(client);
    client.once('data', (first: Buffer) => {
      const upstream = createConnection({ host, port: first[0] === 0x16 ? tlsPort : plaintextPort });
      track(upstream);
      upstream.once('close', () => client.destroy());
      client.once('close', () => upstream.destroy());
      upstream.write(first);
      client.pipe(upstream);
      upstream.pipe(client);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * ElastiCache's replication-lag key: {@link REPLICATION_TIMESTAMP_KEY} in database 0 of the
 * group's primary, set to the current UTC time (ISO 8601 with milliseconds, as ElastiCache writes
 * it) every `intervalMs`, over a connection of its own named
 * {@link REPLICATION_TIMESTAMP_CLIENT_NAME} (docs.aws.amazon.com/AmazonElastiCache/latest/dg/Clusters.Create.html;
 * docs/aws-behaviour.md: ElastiCache's own data). Each group has its own writer, so a source and its restored
 * copy always differ on the key.
 *
 * With cluster mode enabled the key lives in one slot; it is written on the primary that owns
 * that slot only. Where ElastiCache keeps it in cluster mode is *unconfirmed* (docs/aws-behaviour.md).
 *
 * The connection is a normal client: `CLIENT KILL TYPE normal` kills it (the writer reconnects at
 * its next turn) and `CLIENT PAUSE WRITE` holds its SET (the writer waits; no second write is
 * queued). It connects to whichever node of the shard reports the `master` role, so it follows a
 * failover; a restore is a new group with a new writer. Its timer and socket are unref'd: it never
 * keeps the process alive. It logs in as the data plane's internal user, so AUTH token changes do
 * not stop it.
 */
class TimestampWriter {
  private client: Redis | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly group: RunningGroup,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.drop();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.turn(), ms);
    this.timer.unref();
  }

  private async turn(): Promise<void> {
    try {
      const client = await this.connection();
      if (client && !this.stopped) await client.set(REPLICATION_TIMESTAMP_KEY, new Date().toISOString());
    } catch {
      // Killed, the node restarting or no longer primary (READONLY): reconnect at the next turn.
      this.drop();
    } finally {
      this.schedule(this.intervalMs);
    }
  }

  private drop(): void {
    this.client?.disconnect();
    this.client = undefined;
  }

  /** The connection to the current primary of the key's shard, opened when there is none. */
  private async connection(): Promise<Redis | undefined> {
    if (this.client?.status === 'ready') return this.client;
    this.drop();
    const { layout, nodes } = this.group;
    let shard = layout.shards[0];
    if (layout.clusterMode) {
      const any = [...nodes.values()][0];
      if (!any) return undefined;
      const slot = Number(
        await withClient(any.server, (c) => c.call('CLUSTER', 'KEYSLOT', REPLICATION_TIMESTAMP_KEY)),
      );
      shard = layout.shards.find((s) =>
        parseSlots(s.slots ?? '').some(([first, last]) => slot >= first && slot <= last),
      );
    }
    for (const id of shard?.nodeIds ?? []) {
      const node = nodes.get(id);
      if (!node || this.stopped) continue;
      const client = node.server.adminClient({
        lazyConnect: true,
        connectionName: REPLICATION_TIMESTAMP_CLIENT_NAME,
        db: 0,
      });
      client.on('error', () => {});
      try {
        await client.connect();
        (client.stream as { unref?: () => void }).unref?.();
        const role = (await client.call('ROLE')) as [string, ...unknown[]];
        if (role[0] === 'master' && !this.stopped) {
          this.client = client;
          return client;
        }
      } catch {
        // try the next node
      }
      client.disconnect();
    }
    return undefined;
  }
}
