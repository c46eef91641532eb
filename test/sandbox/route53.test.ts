import {
  ChangeResourceRecordSetsCommand,
  GetHostedZoneCommand,
  ListHostedZonesByNameCommand,
  type ListHostedZonesByNameCommandOutput,
  ListResourceRecordSetsCommand,
  type ListResourceRecordSetsCommandInput,
  type ListResourceRecordSetsCommandOutput,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureInput, type Sandbox, startSandbox } from '../../sandbox/index.js';

function clientFor(sandbox: Sandbox): Route53Client {
  return new Route53Client({
    endpoint: sandbox.endpoint,
    region: sandbox.region,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
}

describe('Route 53 hosted zones', () => {
  let sandbox: Sandbox;
  let route53: Route53Client;

  beforeAll(async () => {
    sandbox = await startSandbox({
      fixture: {
        route53: {
          hostedZones: [
            { id: 'Z0PRIVATE00001', name: 'Cache.Example.Internal', vpcId: 'vpc-0abc', private: true },
            { name: 'example.com', private: false },
          ],
        },
      },
    });
    route53 = clientFor(sandbox);
  });
  afterAll(() => sandbox.stop());

  async function zoneNamed(name: string) {
    const { HostedZones = [] } = await route53.send(new ListHostedZonesByNameCommand({ DNSName: name }));
    const zone = HostedZones.find((z) => z.Name === name);
    if (!zone?.Id) throw new Error(`no zone ${name}`);
    return zone;
  }

  it('returns a private zone with its /hostedzone/ id, lowercase dotted name and VPC, without name servers', async () => {
    const out = await route53.send(new GetHostedZoneCommand({ Id: 'Z0PRIVATE00001' }));
    expect(out.HostedZone).toMatchObject({
      Id: '/hostedzone/Z0PRIVATE00001',
      Name: 'cache.example.internal.',
      Config: { PrivateZone: true },
      ResourceRecordSetCount: 2,
    });
    expect(out.VPCs).toEqual([{ VPCId: 'vpc-0abc', VPCRegion: sandbox.region }]);
    expect(out.DelegationSet).toBeUndefined();
  });

  it('accepts a zone id with the /hostedzone/ prefix, as returned by the API', async () => {
    const out = await route53.send(new GetHostedZoneCommand({ Id: '/hostedzone/Z0PRIVATE00001' }));
    expect(out.HostedZone?.Id).toBe('/hostedzone/Z0PRIVATE00001');
  });

  it('generates a Z-prefixed id of uppercase letters and digits when the fixture gives none', async () => {
    const zone = await zoneNamed('example.com.');
    expect(zone.Id).toMatch(/^\/hostedzone\/Z[A-Z0-9]{13,21}$/);
  });

  it('gives a public zone four name servers and no VPCs', async () => {
    const zone = await zoneNamed('example.com.');
    const out = await route53.send(new GetHostedZoneCommand({ Id: zone.Id }));
    expect(out.VPCs).toBeUndefined();
    expect(out.DelegationSet?.NameServers).toHaveLength(4);
    for (const ns of out.DelegationSet?.NameServers ?? [])
      expect(ns).toMatch(/^ns-\d+\.awsdns-\d\d\.(com|net|org|co\.uk)$/);
  });

  it('creates the SOA and NS records at the apex of every zone', async () => {
    const zone = await zoneNamed('example.com.');
    const { DelegationSet } = await route53.send(new GetHostedZoneCommand({ Id: zone.Id }));
    const { ResourceRecordSets = [] } = await route53.send(
      new ListResourceRecordSetsCommand({ HostedZoneId: zone.Id }),
    );
    const ns = ResourceRecordSets.find((r) => r.Type === 'NS');
    const soa = ResourceRecordSets.find((r) => r.Type === 'SOA');
    expect(ns).toMatchObject({ Name: 'example.com.', TTL: 172800 });
    expect(ns?.ResourceRecords?.map((r) => r.Value)).toEqual(DelegationSet?.NameServers?.map((s) => `${s}.`));
    expect(soa).toMatchObject({ Name: 'example.com.', TTL: 900 });
    expect(soa?.ResourceRecords?.[0]?.Value).toMatch(
      /^ns-\d+\.awsdns-\d\d\.\S+\. awsdns-hostmaster\.amazon\.com\. 1 7200 900 1209600 86400$/,
    );
  });

  it('answers NoSuchHostedZone for an unknown zone id', async () => {
    await expect(route53.send(new GetHostedZoneCommand({ Id: 'Z0NOSUCHZONE00' }))).rejects.toMatchObject({
      name: 'NoSuchHostedZone',
      message: 'No hosted zone found with ID: Z0NOSUCHZONE00',
    });
    await expect(
      route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: 'Z0NOSUCHZONE00' })),
    ).rejects.toMatchObject({ name: 'NoSuchHostedZone' });
    await expect(
      route53.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: 'Z0NOSUCHZONE00',
          ChangeBatch: {
            Changes: [
              {
                Action: 'CREATE',
                ResourceRecordSet: {
                  Name: 'a.example.com',
                  Type: 'A',
                  TTL: 60,
                  ResourceRecords: [{ Value: '10.0.0.1' }],
                },
              },
            ],
          },
        }),
      ),
    ).rejects.toMatchObject({ name: 'NoSuchHostedZone' });
  });
});

describe('Route 53 ListHostedZonesByName', () => {
  let sandbox: Sandbox;
  let route53: Route53Client;
  // Plain alphabetical order would differ from reversed-label order on every line.
  const names = [
    'www.a.example.com',
    'example.org',
    'a.example.com',
    'b.example.net',
    'example.com',
    'a-b.example.com',
  ];

  beforeAll(async () => {
    const fixture: FixtureInput = {
      route53: {
        hostedZones: [
          ...names.map((name) => ({ name })),
          // The same name twice (a public and a private zone), told apart by id.
          { id: 'Z0TWIN0000000B', name: 'twin.example.net', private: false },
          { id: 'Z0TWIN0000000A', name: 'twin.example.net' },
        ],
      },
    };
    sandbox = await startSandbox({ fixture });
    route53 = clientFor(sandbox);
  });
  afterAll(() => sandbox.stop());

  it('sorts zones by name with the labels reversed, in ASCII order', async () => {
    const out = await route53.send(new ListHostedZonesByNameCommand({}));
    expect(out.HostedZones?.map((z) => z.Name)).toEqual([
      'example.com.',
      'a-b.example.com.',
      'a.example.com.',
      'www.a.example.com.',
      'b.example.net.',
      'twin.example.net.',
      'twin.example.net.',
      'example.org.',
    ]);
    expect(out.HostedZones?.filter((z) => z.Name === 'twin.example.net.').map((z) => z.Id)).toEqual([
      '/hostedzone/Z0TWIN0000000A',
      '/hostedzone/Z0TWIN0000000B',
    ]);
    expect(out).toMatchObject({ IsTruncated: false, MaxItems: 100 });
    expect(out.NextDNSName).toBeUndefined();
  });

  it('pages with MaxItems, echoing the request and pointing at the next zone with NextDNSName and NextHostedZoneId', async () => {
    const pages: ListHostedZonesByNameCommandOutput[] = [];
    let next: { DNSName?: string; HostedZoneId?: string } = {};
    do {
      const page = await route53.send(new ListHostedZonesByNameCommand({ ...next, MaxItems: 3 }));
      pages.push(page);
      expect(page.DNSName).toBe(next.DNSName);
      expect(page.HostedZoneId).toBe(next.HostedZoneId);
      expect(page.MaxItems).toBe(3);
      next = { DNSName: page.NextDNSName, HostedZoneId: page.NextHostedZoneId };
    } while (pages.at(-1)?.IsTruncated);
    expect(pages.map((p) => p.HostedZones?.length)).toEqual([3, 3, 2]);
    expect(pages[0]).toMatchObject({ IsTruncated: true, NextDNSName: 'www.a.example.com.' });
    expect(pages[1]).toMatchObject({ NextDNSName: 'twin.example.net.', NextHostedZoneId: 'Z0TWIN0000000B' });
    expect(pages[2]?.HostedZones?.[0]?.Id).toBe('/hostedzone/Z0TWIN0000000B');
    const all = await route53.send(new ListHostedZonesByNameCommand({}));
    expect(pages.flatMap((p) => p.HostedZones?.map((z) => z.Id))).toEqual(all.HostedZones?.map((z) => z.Id));
  });

  it('starts at the first zone whose reversed name is at or after DNSName', async () => {
    const exact = await route53.send(new ListHostedZonesByNameCommand({ DNSName: 'B.Example.Net' }));
    expect(exact.HostedZones?.[0]?.Name).toBe('b.example.net.');
    const between = await route53.send(new ListHostedZonesByNameCommand({ DNSName: 'zzz.example.com' }));
    expect(between.HostedZones?.[0]?.Name).toBe('b.example.net.');
    const past = await route53.send(new ListHostedZonesByNameCommand({ DNSName: 'zzz' }));
    expect(past).toMatchObject({ HostedZones: [], IsTruncated: false });
  });

  it('refuses a HostedZoneId without a DNSName', async () => {
    await expect(
      route53.send(new ListHostedZonesByNameCommand({ HostedZoneId: 'Z0TWIN0000000A' })),
    ).rejects.toMatchObject({ name: 'InvalidInput' });
  });

  it('refuses a DNSName that is not a domain name', async () => {
    await expect(
      route53.send(new ListHostedZonesByNameCommand({ DNSName: 'a..example.com' })),
    ).rejects.toMatchObject({
      name: 'InvalidDomainName',
    });
  });
});

describe('Route 53 ListResourceRecordSets', () => {
  let sandbox: Sandbox;
  let route53: Route53Client;
  const zoneId = 'Z0LISTING00001';

  beforeAll(async () => {
    sandbox = await startSandbox({
      fixture: {
        route53: {
          hostedZones: [
            {
              id: zoneId,
              name: 'example.com',
              records: [
                { name: 'www.example.com', type: 'A', values: ['10.0.0.1'] },
                { name: 'a-b.example.com', type: 'A', values: ['10.0.0.2'] },
                { name: 'a.example.com', type: 'TXT', values: ['"hello"'] },
                { name: 'a.example.com', type: 'A', values: ['10.0.0.3'] },
                { name: 'x.a.example.com', type: 'CNAME', values: ['www.example.com'] },
                { name: 'b.example.com', type: 'AAAA', values: ['2001:db8::1'] },
              ],
            },
          ],
        },
      },
    });
    route53 = clientFor(sandbox);
  });
  afterAll(() => sandbox.stop());

  const expected = [
    ['example.com.', 'NS'],
    ['example.com.', 'SOA'],
    ['a-b.example.com.', 'A'],
    ['a.example.com.', 'A'],
    ['a.example.com.', 'TXT'],
    ['x.a.example.com.', 'CNAME'],
    ['b.example.com.', 'AAAA'],
    ['www.example.com.', 'A'],
  ];

  it('sorts record sets by name with the labels reversed, then by type', async () => {
    const out = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
    expect(out.ResourceRecordSets?.map((r) => [r.Name, r.Type])).toEqual(expected);
    expect(out).toMatchObject({ IsTruncated: false, MaxItems: 300 });
    expect(out.NextRecordName).toBeUndefined();
  });

  it('pages with MaxItems through NextRecordName and NextRecordType', async () => {
    const pages: ListResourceRecordSetsCommandOutput[] = [];
    let next: Pick<ListResourceRecordSetsCommandInput, 'StartRecordName' | 'StartRecordType'> = {};
    do {
      const page = await route53.send(
        new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, ...next, MaxItems: 3 }),
      );
      pages.push(page);
      next = { StartRecordName: page.NextRecordName, StartRecordType: page.NextRecordType };
    } while (pages.at(-1)?.IsTruncated);
    expect(pages.map((p) => p.ResourceRecordSets?.length)).toEqual([3, 3, 2]);
    expect(pages[0]).toMatchObject({
      IsTruncated: true,
      MaxItems: 3,
      NextRecordName: 'a.example.com.',
      NextRecordType: 'A',
    });
    expect(pages[1]).toMatchObject({ NextRecordName: 'b.example.com.', NextRecordType: 'AAAA' });
    expect(pages[2]).toMatchObject({ IsTruncated: false });
    expect(pages.flatMap((p) => p.ResourceRecordSets?.map((r) => [r.Name, r.Type]))).toEqual(expected);
  });

  it('starts at the first record set at or after StartRecordName, and StartRecordType within that name', async () => {
    const byName = await route53.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        StartRecordName: 'A.EXAMPLE.COM',
        MaxItems: 1,
      }),
    );
    expect(byName.ResourceRecordSets?.map((r) => [r.Name, r.Type])).toEqual([['a.example.com.', 'A']]);
    const byType = await route53.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        StartRecordName: 'a.example.com.',
        StartRecordType: 'CNAME',
      }),
    );
    expect(byType.ResourceRecordSets?.[0]).toMatchObject({ Name: 'a.example.com.', Type: 'TXT' });
    const missing = await route53.send(
      new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: 'c.example.com' }),
    );
    expect(missing.ResourceRecordSets?.[0]).toMatchObject({ Name: 'www.example.com.' });
  });

  it('refuses StartRecordType without StartRecordName', async () => {
    await expect(
      route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordType: 'A' })),
    ).rejects.toMatchObject({ name: 'InvalidInput' });
  });
});
