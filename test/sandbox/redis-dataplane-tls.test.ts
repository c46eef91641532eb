import {
  DescribeReplicationGroupsCommand,
  ElastiCacheClient,
  type ReplicationGroup,
} from '@aws-sdk/client-elasticache';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../sandbox/index.js';
import { connect, connectByName, sandboxResolver } from './redis-dataplane-support.js';
import { sdkConfig } from './sdk-support.js';

const TOKEN = 'S3ssions-Token-2024#abc';

let sandbox: Sandbox;
let ec: ElastiCacheClient;
const clients: (Redis | Cluster)[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({
    dataPlane: 'redis',
    fixture: {
      timeScale: 0.001,
      secretsManager: { secrets: [{ name: 'sessions/auth-token', value: TOKEN }] },
      elasticache: {
        replicationGroups: [
          { id: 'sessions', transitEncryption: true, authTokenSecret: 'sessions/auth-token' },
          {
            id: 'sessions-preferred',
            transitEncryption: true,
            transitEncryptionMode: 'preferred',
            authTokenSecret: 'sessions/auth-token',
          },
          {
            id: 'carts',
            clusterMode: 'enabled',
            shards: 2,
            transitEncryption: true,
            authTokenSecret: 'sessions/auth-token',
          },
        ],
      },
    },
  });
  ec = new ElastiCacheClient(sdkConfig(sandbox));
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  ec?.destroy();
  await sandbox?.stop();
});

async function describeGroup(id: string): Promise<ReplicationGroup> {
  const out = await ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: id }));
  return out.ReplicationGroups![0]!;
}

/** The outcome of connecting and sending one command: `ok`, or every error message seen. */
async function attempt(address: string, port: number, options: RedisOptions): Promise<string> {
  const client = new Redis({
    host: address,
    port,
    lazyConnect: true,
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2000,
    protocol: 2,
    ...options,
  });
  const errors: string[] = [];
  client.on('error', (error: Error) => errors.push(error.message));
  clients.push(client);
  try {
    await client.connect();
    await client.call('CLIENT', 'ID');
    return 'ok';
  } catch (error) {
    return [...errors, (error as Error).message].join('; ');
  }
}

describe('transit encryption and AUTH on the Redis data plane', () => {
  it('serves TLS only and requires the AUTH token: plaintext, no token and a wrong token are refused', async () => {
    const group = await describeGroup('sessions');
    const endpoint = group.NodeGroups![0]!.PrimaryEndpoint!;
    expect(endpoint.Address).toMatch(/^master\.sessions\./);
    const [address] = await sandboxResolver(sandbox).resolve4(endpoint.Address!);
    const tls = { ca: sandbox.tlsCa!.certPem, servername: endpoint.Address! };

    expect(await attempt(address!, endpoint.Port!, { password: TOKEN })).not.toBe('ok');
    expect(await attempt(address!, endpoint.Port!, { tls })).toMatch(/NOAUTH/);
    expect(await attempt(address!, endpoint.Port!, { tls, password: 'Not-The-Token-1234' })).toMatch(
      /WRONGPASS|invalid password/,
    );
    expect(
      await attempt(address!, endpoint.Port!, { tls: { servername: endpoint.Address! }, password: TOKEN }),
    ).toMatch(/certificate/);
    expect(await attempt(address!, endpoint.Port!, { tls, password: TOKEN })).toBe('ok');
  });

  it('issues certificates for the endpoint host names, and replicates over TLS with the token', async () => {
    const group = await describeGroup('sessions');
    const resolver = sandboxResolver(sandbox);
    const primaryName = group.NodeGroups![0]!.PrimaryEndpoint!.Address!;
    const readerName = group.NodeGroups![0]!.ReaderEndpoint!.Address!;
    const primary = await connectByName(resolver, primaryName, 6379, {
      tls: { ca: sandbox.tlsCa!.certPem, servername: primaryName },
      password: TOKEN,
    });
    clients.push(primary);
    await primary.set('session:1', 'alice');
    expect(await primary.call('WAIT', 1, 2000)).toBe(1);
    const replica = await connectByName(resolver, readerName, 6379, {
      tls: { ca: sandbox.tlsCa!.certPem, servername: readerName },
      password: TOKEN,
    });
    clients.push(replica);
    expect(await replica.get('session:1')).toBe('alice');
  });

  it('accepts TLS and plaintext clients on the same address and port in preferred mode', async () => {
    const group = await describeGroup('sessions-preferred');
    expect(group.TransitEncryptionMode).toBe('preferred');
    const endpoint = group.NodeGroups![0]!.PrimaryEndpoint!;
    const [address] = await sandboxResolver(sandbox).resolve4(endpoint.Address!);
    const viaTls = await connect(address!, endpoint.Port!, {
      tls: { ca: sandbox.tlsCa!.certPem, servername: endpoint.Address! },
      password: TOKEN,
    });
    const plain = await connect(address!, endpoint.Port!, { password: TOKEN });
    clients.push(viaTls, plain);
    await viaTls.set('written-over-tls', '1');
    expect(await plain.get('written-over-tls')).toBe('1');
    expect(await attempt(address!, endpoint.Port!, {})).toMatch(/NOAUTH/);
  });

  it('runs a cluster mode enabled group as a TLS Redis Cluster whose nodes present certificates for their addresses', async () => {
    const group = await describeGroup('carts');
    const endpoint = group.ConfigurationEndpoint!;
    const addresses = await sandboxResolver(sandbox).resolve4(endpoint.Address!);
    expect(addresses).toHaveLength(2);
    const cluster = new Cluster(
      addresses.map((host) => ({ host, port: endpoint.Port! })),
      { redisOptions: { tls: { ca: sandbox.tlsCa!.certPem }, password: TOKEN, protocol: 2 } },
    );
    clients.push(cluster);
    await Promise.all(Array.from({ length: 100 }, (_, i) => cluster.set(`cart:${i}`, String(i))));
    expect(await cluster.get('cart:42')).toBe('42');
    const slots = (await cluster.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    expect(slots.map(([first, last]) => `${first}-${last}`).sort()).toEqual(
      group.NodeGroups!.map((n) => n.Slots).sort(),
    );
    expect(new Set(slots.map(([, , [host]]) => host))).toEqual(new Set(addresses));
  });
});
