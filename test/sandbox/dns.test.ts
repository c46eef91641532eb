import { connect as connectTcp } from 'node:net';
import {
  DeleteReplicationGroupCommand,
  DescribeReplicationGroupsCommand,
  ElastiCacheClient,
  type ReplicationGroup,
} from '@aws-sdk/client-elasticache';
import { ChangeResourceRecordSetsCommand, GetChangeCommand, Route53Client } from '@aws-sdk/client-route-53';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENDPOINT_TTL } from '../../sandbox/dns.js';
import { type Sandbox, startSandbox } from '../../sandbox/index.js';
import { connect, sandboxResolver } from './redis-dataplane-support.js';
import { pollUntil, sdkConfig } from './sdk-support.js';

const ZONE = 'Z0SANDBOXDNS01';
const APP_NAME = 'orders.example.internal';

let sandbox: Sandbox;
let ec: ElastiCacheClient;
let route53: Route53Client;

beforeAll(async () => {
  sandbox = await startSandbox({
    dataPlane: 'redis',
    fixture: {
      timeScale: 0.001,
      elasticache: {
        replicationGroups: [
          { id: 'orders', replicasPerShard: 2 },
          { id: 'orders-encrypted', replicasPerShard: 0, atRestEncryption: true },
          { id: 'scratch', replicasPerShard: 0 },
        ],
      },
      route53: {
        hostedZones: [
          {
            id: ZONE,
            name: 'example.internal',
            records: [
              { name: APP_NAME, ttl: 30, values: [{ group: 'orders' }] },
              { name: 'notes.example.internal', type: 'TXT', values: ['"owner=orders" "tier=gold"'] },
              { name: 'db.example.internal', type: 'A', ttl: 60, values: ['10.0.0.5', '10.0.0.6'] },
              { name: 'away.example.internal', values: ['cache.example.org'] },
            ],
          },
        ],
      },
    },
  });
  ec = new ElastiCacheClient(sdkConfig(sandbox));
  route53 = new Route53Client(sdkConfig(sandbox));
});
afterAll(async () => {
  ec?.destroy();
  route53?.destroy();
  await sandbox?.stop();
});

async function describeGroup(id: string): Promise<ReplicationGroup> {
  const out = await ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: id }));
  return out.ReplicationGroups![0]!;
}

/** The DNS error code a lookup fails with. */
async function lookupError(lookup: Promise<unknown>): Promise<string> {
  try {
    await lookup;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  }
  throw new Error('the lookup succeeded');
}

describe('the sandbox DNS server', () => {
  it('resolves an application CNAME to the address of the primary it points at', async () => {
    const resolver = sandboxResolver(sandbox);
    const orders = await describeGroup('orders');
    const primaryName = orders.NodeGroups![0]!.PrimaryEndpoint!.Address!;
    expect(await resolver.resolveCname(APP_NAME)).toEqual([primaryName]);
    const [viaCname] = await resolver.resolve4(APP_NAME, { ttl: true });
    expect(viaCname?.ttl).toBe(ENDPOINT_TTL);
    expect(await resolver.resolve4(primaryName)).toEqual([viaCname?.address]);

    const client = await connect(viaCname!.address, 6379);
    expect(((await client.call('ROLE')) as unknown[])[0]).toBe('master');
    client.disconnect();
  });

  it('answers reader, node and primary endpoints with the addresses of the right nodes', async () => {
    const resolver = sandboxResolver(sandbox);
    const orders = await describeGroup('orders');
    const group = orders.NodeGroups![0]!;
    const [primary] = await resolver.resolve4(group.PrimaryEndpoint!.Address!);
    const readers = await resolver.resolve4(group.ReaderEndpoint!.Address!);
    expect(readers).toHaveLength(2);
    expect(readers).not.toContain(primary);
    const nodes = await Promise.all(
      group.NodeGroupMembers!.map(async (m) => ({
        role: m.CurrentRole,
        addresses: await resolver.resolve4(m.ReadEndpoint!.Address!),
      })),
    );
    expect(nodes.filter((n) => n.role === 'primary').map((n) => n.addresses)).toEqual([[primary]]);
    expect(
      nodes
        .filter((n) => n.role === 'replica')
        .flatMap((n) => n.addresses)
        .sort(),
    ).toEqual([...readers].sort());
    // Without replicas, the reader endpoint is the primary.
    const single = (await describeGroup('orders-encrypted')).NodeGroups![0]!;
    expect(await resolver.resolve4(single.ReaderEndpoint!.Address!)).toEqual(
      await resolver.resolve4(single.PrimaryEndpoint!.Address!),
    );
  });

  it('follows a flip at once: after an UPSERT to another group the name resolves to that group, while the change is still PENDING', async () => {
    const resolver = sandboxResolver(sandbox);
    const target = (await describeGroup('orders-encrypted')).NodeGroups![0]!.PrimaryEndpoint!.Address!;
    const [targetAddress] = await resolver.resolve4(target);
    const [before] = await resolver.resolve4(APP_NAME);
    expect(before).not.toBe(targetAddress);

    sandbox.clock.pause();
    try {
      const out = await route53.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: ZONE,
          ChangeBatch: {
            Changes: [
              {
                Action: 'UPSERT',
                ResourceRecordSet: {
                  Name: APP_NAME,
                  Type: 'CNAME',
                  TTL: 5,
                  ResourceRecords: [{ Value: target }],
                },
              },
            ],
          },
        }),
      );
      expect(await resolver.resolve4(APP_NAME)).toEqual([targetAddress]);
      const change = await route53.send(new GetChangeCommand({ Id: out.ChangeInfo!.Id! }));
      expect(change.ChangeInfo?.Status).toBe('PENDING');
    } finally {
      sandbox.clock.resume();
    }
    const client = await connect(targetAddress!, 6379);
    await client.set('after-the-flip', '1');
    client.disconnect();
  });

  it('answers NXDOMAIN for unknown names of its zones and endpoints, NODATA for other types, REFUSED elsewhere', async () => {
    const resolver = sandboxResolver(sandbox);
    expect(await lookupError(resolver.resolve4('missing.example.internal'))).toBe('ENOTFOUND');
    expect(await lookupError(resolver.resolve4('nope.abcdef.ng.0001.use1.cache.amazonaws.com'))).toBe(
      'ENOTFOUND',
    );
    expect(await lookupError(resolver.resolve4('example.internal'))).toBe('ENODATA');
    // Through the CNAME to an endpoint: the CNAME, no AAAA (Node reports no addresses).
    expect(await resolver.resolve6(APP_NAME)).toEqual([]);
    expect(await lookupError(resolver.resolve4('www.example.com'))).toBe('EREFUSED');
    // A CNAME to a name outside the sandbox: the CNAME, and no address from here.
    expect(await resolver.resolveCname('away.example.internal')).toEqual(['cache.example.org']);
  });

  it('serves the other record types of the zone with their TTLs', async () => {
    const resolver = sandboxResolver(sandbox);
    expect(await resolver.resolveTxt('notes.example.internal')).toEqual([['owner=orders', 'tier=gold']]);
    expect(
      (await resolver.resolve4('db.example.internal', { ttl: true })).sort((a, b) =>
        a.address < b.address ? -1 : 1,
      ),
    ).toEqual([
      { address: '10.0.0.5', ttl: 60 },
      { address: '10.0.0.6', ttl: 60 },
    ]);
    expect(await resolver.resolveNs('example.internal')).toHaveLength(4);
    expect((await resolver.resolveSoa('example.internal')).hostmaster).toBe('awsdns-hostmaster.amazon.com');
  });

  it('stops answering for the endpoints of a deleted group', async () => {
    const resolver = sandboxResolver(sandbox);
    const name = (await describeGroup('scratch')).NodeGroups![0]!.PrimaryEndpoint!.Address!;
    expect(await resolver.resolve4(name)).toHaveLength(1);
    await ec.send(new DeleteReplicationGroupCommand({ ReplicationGroupId: 'scratch' }));
    await pollUntil(
      () => lookupError(resolver.resolve4(name)).catch(() => 'resolved'),
      (code) => code === 'ENOTFOUND',
    );
  });

  it('answers over TCP too, on the same port', async () => {
    const [host, port] = sandbox.dnsServer!.split(':') as [string, string];
    const socket = connectTcp({ host, port: Number(port) });
    const query = dnsPacket.streamEncode({
      type: 'query',
      id: 7,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'A', name: 'db.example.internal' }],
    });
    socket.write(query);
    const reply = await new Promise<Buffer>((resolve, reject) => {
      let buffered = Buffer.alloc(0);
      socket.on('error', reject);
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) resolve(buffered);
      });
    });
    socket.destroy();
    const answer = dnsPacket.streamDecode(reply) as dnsPacket.DecodedPacket;
    expect(answer.id).toBe(7);
    expect(answer.flag_aa).toBe(true);
    expect(answer.answers?.map((a) => (a.type === 'A' ? a.data : a.type)).sort()).toEqual([
      '10.0.0.5',
      '10.0.0.6',
    ]);
  });
});
