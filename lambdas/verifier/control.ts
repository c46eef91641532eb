/**
 * Group-level control over the Redis protocol, for the cutover: hold writes on every primary
 * (CLIENT PAUSE WRITE), move clients (CLIENT KILL), and track changed keys (keyspace
 * notifications). Only commands ElastiCache allows (docs/aws-behaviour.md, "Restricted
 * commands"): CLIENT PAUSE/UNPAUSE/KILL (Redis OSS 6.2+ / Valkey), PSUBSCRIBE, INFO, CLUSTER SLOTS.
 *
 * Undocumented on ElastiCache, and so handled both ways:
 * - whether CLIENT PAUSE WRITE behaves as in open-source Redis: the cutover checks that writes
 *   are held (a probe write from a second connection must not be acknowledged) before it relies
 *   on the pause;
 * - which connections ElastiCache itself keeps to a node: CLIENT KILL TYPE normal closes them
 *   too; ElastiCache's agents reconnect (as the sandbox's timestamp writer does).
 */
import type { Redis } from 'ioredis';
import {
  createIoredisClient,
  isApplicationKey,
  type RedisClientFactory,
  toVerifierError,
} from './connection.js';
import { VerifierTopologyError } from './errors.js';
import type { RedisEndpointSpec } from './types.js';

interface Node {
  readonly host: string;
  readonly port: number;
  readonly primary: boolean;
  readonly client: Redis;
}

/** Connections to every node of one group: primaries and replicas. */
export class GroupControl {
  private constructor(
    readonly spec: RedisEndpointSpec,
    private readonly nodes: readonly Node[],
  ) {}

  static async open(
    spec: RedisEndpointSpec,
    factory: RedisClientFactory = createIoredisClient,
  ): Promise<GroupControl> {
    const opened: Redis[] = [];
    const connect = async (host: string, port: number): Promise<Redis> => {
      const client = factory({ host, port }, spec);
      opened.push(client);
      client.on('error', () => {});
      try {
        if (client.status === 'wait') await client.connect();
        return client;
      } catch (error) {
        throw toVerifierError(error, `cannot connect to ${host}:${port}`, [spec.authToken]);
      }
    };
    try {
      const seed = await connect(spec.host, spec.port);
      const addresses: { host: string; port: number; primary: boolean }[] = [];
      if (spec.clusterMode) {
        const slots = (await seed.call('CLUSTER', 'SLOTS')) as unknown[][];
        const seen = new Set<string>();
        for (const entry of slots) {
          entry.slice(2).forEach((node, i) => {
            const [h, p] = node as [string, number];
            const host = String(h) === '' ? spec.host : String(h);
            const id = `${host}:${p}`;
            if (seen.has(id)) return;
            seen.add(id);
            addresses.push({ host, port: Number(p), primary: i === 0 });
          });
        }
        if (addresses.length === 0) throw new VerifierTopologyError('the cluster lists no nodes');
      } else {
        addresses.push({ host: spec.host, port: spec.port, primary: true });
        const info = await seed.info('replication');
        if (!/^role:master/m.test(info)) {
          throw new VerifierTopologyError(`${spec.host}:${spec.port} is not a primary`);
        }
        for (const [, ip, port] of info.matchAll(/^slave\d+:ip=([^,]+),port=(\d+)/gm)) {
          addresses.push({ host: ip as string, port: Number(port), primary: false });
        }
      }
      const nodes: Node[] = [];
      for (const a of addresses) {
        const reuse = a.host === spec.host && a.port === spec.port;
        nodes.push({ ...a, client: reuse ? seed : await connect(a.host, a.port) });
      }
      if (!nodes.some((n) => n.client === seed)) seed.disconnect();
      return new GroupControl(spec, nodes);
    } catch (error) {
      for (const client of opened) client.disconnect();
      throw error;
    }
  }

  get primaries(): readonly { host: string; port: number }[] {
    return this.nodes.filter((n) => n.primary).map(({ host, port }) => ({ host, port }));
  }

  private async onEach<T>(nodes: readonly Node[], what: string, run: (c: Redis) => Promise<T>): Promise<T[]> {
    return Promise.all(
      nodes.map(async (node) => {
        try {
          return await run(node.client);
        } catch (error) {
          throw toVerifierError(error, `${what} on ${node.host}:${node.port}`, [this.spec.authToken]);
        }
      }),
    );
  }

  /**
   * Holds every write on every primary for `ms` (CLIENT PAUSE … WRITE): writes wait, reads and
   * read-only scripts go on. Calling it again extends the hold. Redis ends it by itself when the
   * time is up, so a cutover that dies leaves no pause longer than it asked for.
   */
  async holdWrites(ms: number): Promise<void> {
    await this.onEach(
      this.nodes.filter((n) => n.primary),
      'CLIENT PAUSE WRITE',
      (c) => c.call('CLIENT', 'PAUSE', String(Math.max(1, Math.round(ms))), 'WRITE'),
    );
  }

  /** Ends a hold at once (CLIENT UNPAUSE). */
  async releaseWrites(): Promise<void> {
    await this.onEach(
      this.nodes.filter((n) => n.primary),
      'CLIENT UNPAUSE',
      (c) => c.call('CLIENT', 'UNPAUSE'),
    );
  }

  /**
   * Proves writes are held on every primary: a PUBLISH (paused like a write, and touching no
   * key) from a connection of its own must get no reply within `waitMs`. Undocumented on
   * ElastiCache, so the cutover relies on this probe, not on the docs.
   */
  async writesHeld(factory: RedisClientFactory = createIoredisClient, waitMs = 200): Promise<boolean> {
    const held = await Promise.all(
      this.nodes
        .filter((n) => n.primary)
        .map(async (node) => {
          const probe = factory({ host: node.host, port: node.port }, this.spec);
          probe.on('error', () => {});
          try {
            if (probe.status === 'wait') await probe.connect();
            const publish = probe.publish('__at-rest-migrator:pause-probe', '1').then(
              () => false,
              () => false,
            );
            return await Promise.race([publish, sleep(waitMs).then(() => true)]);
          } finally {
            probe.disconnect();
          }
        }),
    );
    return held.every(Boolean);
  }

  /**
   * Closes every client connection of every node (normal and pub/sub; replicas' replication
   * links are not clients of this type), except this control's own: applications reconnect
   * through DNS. Returns how many were closed.
   */
  async killClients(): Promise<number> {
    const counts = await this.onEach(this.nodes, 'CLIENT KILL', async (c) => {
      const normal = Number(await c.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
      const pubsub = Number(await c.call('CLIENT', 'KILL', 'TYPE', 'pubsub', 'SKIPME', 'yes'));
      return normal + pubsub;
    });
    return counts.reduce((a, b) => a + b, 0);
  }

  /** run_id of each primary: a change means a restart or failover in between. */
  async primaryRunIds(): Promise<string[]> {
    return this.onEach(
      this.nodes.filter((n) => n.primary),
      'INFO server',
      async (c) => /^run_id:(\w+)/m.exec(await c.info('server'))?.[1] ?? '',
    );
  }

  /**
   * Calls of the commands that change keys without a keyspace notification per key (FLUSHALL,
   * FLUSHDB, SWAPDB), summed over the primaries: a change means the stream missed something.
   */
  async silentWriteCalls(): Promise<number> {
    const counts = await this.onEach(
      this.nodes.filter((n) => n.primary),
      'INFO commandstats',
      async (c) => {
        const info = await c.info('commandstats');
        let n = 0;
        for (const [, calls] of info.matchAll(/^cmdstat_(?:flushall|flushdb|swapdb):calls=(\d+)/gm))
          n += Number(calls);
        return n;
      },
    );
    return counts.reduce((a, b) => a + b, 0);
  }

  close(): void {
    for (const node of this.nodes) node.client.disconnect();
  }
}

/**
 * Keys changed on a group, from keyspace notifications (`notify-keyspace-events` with K and
 * every class: the parameter group's setting). One subscriber per primary. Notifications are
 * fire-and-forget: a closed subscriber (network, output buffer limit) is a gap, reported by
 * {@link gap}, and the caller must then fall back to a full pass. Never trusted alone: the
 * cutover also checks run ids and FLUSH/SWAPDB calls.
 */
export class ChangeTracker {
  private pending = new Map<number, Map<string, Buffer>>();
  private broken: string | undefined;
  private closing = false;

  private constructor(private readonly subscribers: readonly Redis[]) {}

  static async start(
    control: GroupControl,
    factory: RedisClientFactory = createIoredisClient,
  ): Promise<ChangeTracker> {
    const subscribers: Redis[] = [];
    const tracker = new ChangeTracker(subscribers);
    try {
      for (const node of control.primaries) {
        const client = factory(node, control.spec);
        subscribers.push(client);
        client.on('error', () => {});
        client.on('close', () => {
          if (!tracker.closing)
            tracker.broken ??= `the subscriber on ${node.host}:${node.port} was disconnected`;
        });
        client.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer) => tracker.note(channel));
        if (client.status === 'wait') await client.connect();
        await client.psubscribe('__keyspace@*__:*');
      }
      return tracker;
    } catch (error) {
      tracker.close();
      throw toVerifierError(error, 'cannot subscribe to keyspace notifications', [control.spec.authToken]);
    }
  }

  private note(channel: Buffer): void {
    // __keyspace@<db>__:<key>
    const at = channel.indexOf('@');
    const colon = channel.indexOf('__:', at);
    if (at < 0 || colon < 0) return;
    const db = Number(channel.subarray(at + 1, colon).toString());
    const key = channel.subarray(colon + 3);
    if (!isApplicationKey(key)) return;
    let keys = this.pending.get(db);
    if (!keys) {
      keys = new Map();
      this.pending.set(db, keys);
    }
    keys.set(key.toString('latin1'), Buffer.from(key));
  }

  /** Why the stream cannot be trusted, or undefined while it is whole. */
  get gap(): string | undefined {
    return this.broken;
  }

  /** Keys noted so far. */
  get size(): number {
    let n = 0;
    for (const keys of this.pending.values()) n += keys.size;
    return n;
  }

  /**
   * Waits until every notification of a write acknowledged before this call has arrived: a PING
   * on each subscriber connection is answered after the messages published before it. A broken
   * stream does not throw: it is a {@link gap}, which the caller checks after the barrier and
   * answers with a whole pass. (Throwing here failed the cutover under its freeze with
   * VerifierConnectionError on a subscriber cut, retried it and, after the retries, rolled the
   * migration back, instead of the documented fallback to a whole pass.)
   */
  async barrier(): Promise<void> {
    if (this.broken) return;
    try {
      await Promise.all(this.subscribers.map((s) => s.ping()));
    } catch (error) {
      this.broken ??= `a subscriber failed: ${(error as Error).message}`;
    }
  }

  /** The keys noted since the last drain, by database; the tracker starts over. */
  drain(): Map<number, Buffer[]> {
    const out = new Map<number, Buffer[]>();
    for (const [db, keys] of this.pending) out.set(db, [...keys.values()]);
    this.pending = new Map();
    return out;
  }

  close(): void {
    this.closing = true;
    for (const s of this.subscribers) s.disconnect();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
