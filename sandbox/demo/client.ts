import { Resolver } from 'node:dns/promises';
import { Cluster, Redis, type RedisOptions } from 'ioredis';

export interface ClientStats {
  reads: Record<string, number>;
  writes: Record<string, number>;
  errors: number;
  /** Acknowledged writes, checked against the new group at the end. */
  acknowledged: number;
  frozenMs: number;
}

/**
 * The application: reads and writes through the CNAME, resolving it through the sandbox's DNS
 * server each time it (re)connects, as a client with a short connection lifetime does. It knows
 * nothing of the migration except the operator's instruction to freeze writes and to reconnect.
 */
export class DemoClient {
  readonly stats: ClientStats = { reads: {}, writes: {}, errors: 0, acknowledged: 0, frozenMs: 0 };
  private readonly written = new Map<string, string>();
  private stopped = false;
  private frozenSince?: number;
  private connection?: { client: Redis | Cluster; address: string; openedAt: number };
  private loop?: Promise<void>;
  private counter = 0;

  constructor(
    private readonly options: {
      recordName: string;
      dnsServer: string;
      port: number;
      clusterMode: boolean;
      redisOptions: RedisOptions;
      /** Which group an address belongs to (for the report). */
      groupOf: (address: string) => string;
      connectionLifetimeMs: number;
      seededKeys: number;
    },
  ) {}

  start(): void {
    this.loop = this.run();
  }

  freezeWrites(): void {
    this.frozenSince ??= Date.now();
  }

  /** Writes resume, on a fresh connection (the instruction after a cutover). */
  async unfreezeWrites(): Promise<void> {
    if (this.frozenSince !== undefined) this.stats.frozenMs += Date.now() - this.frozenSince;
    this.frozenSince = undefined;
    await this.reconnect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await this.close();
  }

  /** Reads back every acknowledged write through the CNAME; returns the ones that are not there. */
  async lostWrites(): Promise<string[]> {
    await this.reconnect();
    const client = this.connection!.client;
    const lost: string[] = [];
    for (const [key, value] of this.written) if ((await client.get(key)) !== value) lost.push(key);
    return lost;
  }

  private async resolve(): Promise<string> {
    const resolver = new Resolver({ timeout: 1000, tries: 2 });
    resolver.setServers([this.options.dnsServer]);
    const [address] = await resolver.resolve4(this.options.recordName);
    if (!address) throw new Error(`${this.options.recordName} resolves to nothing`);
    return address;
  }

  private async close(): Promise<void> {
    const c = this.connection;
    this.connection = undefined;
    if (c) await c.client.quit().catch(() => c.client.disconnect());
  }

  private async reconnect(): Promise<void> {
    await this.close();
    const address = await this.resolve();
    const base: RedisOptions = {
      ...this.options.redisOptions,
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
    };
    const client = this.options.clusterMode
      ? new Cluster([{ host: address, port: this.options.port }], {
          redisOptions: base,
          lazyConnect: true,
          enableOfflineQueue: false,
        })
      : new Redis({ ...base, host: address, port: this.options.port });
    client.on('error', () => {});
    await client.connect();
    this.connection = { client, address, openedAt: Date.now() };
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (!this.connection || Date.now() - this.connection.openedAt > this.options.connectionLifetimeMs)
          await this.reconnect();
        const { client, address } = this.connection!;
        const group = this.options.groupOf(address);
        const n = this.counter++;
        if (this.frozenSince === undefined && n % 4 === 0) {
          const key = `app:{w${n % 64}}:${n}`;
          const value = `written-at-${Date.now()}`;
          await client.set(key, value);
          this.written.set(key, value);
          this.stats.acknowledged = this.written.size;
          this.stats.writes[group] = (this.stats.writes[group] ?? 0) + 1;
        } else {
          const i = (n * 7919) % Math.max(1, this.options.seededKeys);
          await client.exists(`demo:{b${Math.floor(i / 500)}}:${i}`);
          this.stats.reads[group] = (this.stats.reads[group] ?? 0) + 1;
        }
      } catch {
        this.stats.errors++;
        await this.close();
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}
