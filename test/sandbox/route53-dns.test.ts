import { DescribeReplicationGroupsCommand, ElastiCacheClient } from '@aws-sdk/client-elasticache';
import {
  ChangeResourceRecordSetsCommand,
  GetHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  TestDNSAnswerCommand,
  type TestDNSAnswerCommandInput,
} from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../sandbox/index.js';

const PUBLIC_ZONE = 'Z0PUBLIC000001';
const PRIVATE_ZONE = 'Z0PRIVATE00001';
const credentials = { accessKeyId: 'x', secretAccessKey: 'x' };

describe('Route 53 TestDNSAnswer', () => {
  let sandbox: Sandbox;
  let route53: Route53Client;

  beforeAll(async () => {
    sandbox = await startSandbox({
      fixture: {
        route53: {
          hostedZones: [
            {
              id: PUBLIC_ZONE,
              name: 'example.com',
              private: false,
              records: [
                { name: 'www.example.com', type: 'A', values: ['192.0.2.10', '192.0.2.11'] },
                { name: 'alias.example.com', type: 'CNAME', values: ['www.example.com'] },
                { name: 'away.example.com', type: 'CNAME', values: ['target.example.org'] },
                { name: 'deep.branch.example.com', type: 'TXT', values: ['"x"'] },
              ],
            },
            {
              id: PRIVATE_ZONE,
              name: 'example.internal',
              records: [{ name: 'cache.example.internal', values: ['a.example.org'] }],
            },
          ],
        },
      },
    });
    route53 = new Route53Client({ endpoint: sandbox.endpoint, region: sandbox.region, credentials });
  });
  afterAll(() => sandbox.stop());

  function ask(input: Partial<TestDNSAnswerCommandInput>) {
    return route53.send(
      new TestDNSAnswerCommand({ HostedZoneId: PUBLIC_ZONE, RecordName: '', RecordType: 'A', ...input }),
    );
  }

  it('answers NOERROR over UDP with the record values, from one of the zone name servers', async () => {
    const out = await ask({ RecordName: 'www.example.com', RecordType: 'A' });
    expect(out).toMatchObject({
      RecordName: 'www.example.com',
      RecordType: 'A',
      RecordData: ['192.0.2.10', '192.0.2.11'],
      ResponseCode: 'NOERROR',
      Protocol: 'UDP',
    });
    const zone = await route53.send(new GetHostedZoneCommand({ Id: PUBLIC_ZONE }));
    expect(zone.DelegationSet?.NameServers).toContain(out.Nameserver);
  });

  it('answers from the current records, including a change that is still PENDING', async () => {
    await route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: PUBLIC_ZONE,
        ChangeBatch: {
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: {
                Name: 'fresh.example.com',
                Type: 'A',
                TTL: 60,
                ResourceRecords: [{ Value: '192.0.2.99' }],
              },
            },
          ],
        },
      }),
    );
    expect(await ask({ RecordName: 'FRESH.example.com.', RecordType: 'A' })).toMatchObject({
      ResponseCode: 'NOERROR',
      RecordData: ['192.0.2.99'],
    });
  });

  it('follows a CNAME inside the zone and stops at one that leaves it', async () => {
    expect(await ask({ RecordName: 'alias.example.com', RecordType: 'A' })).toMatchObject({
      ResponseCode: 'NOERROR',
      RecordData: ['www.example.com', '192.0.2.10', '192.0.2.11'],
    });
    expect(await ask({ RecordName: 'away.example.com', RecordType: 'A' })).toMatchObject({
      ResponseCode: 'NOERROR',
      RecordData: ['target.example.org'],
    });
  });

  it('answers NXDOMAIN for a name that does not exist', async () => {
    expect(await ask({ RecordName: 'nothing.example.com', RecordType: 'A' })).toMatchObject({
      ResponseCode: 'NXDOMAIN',
      RecordData: [],
    });
  });

  it('answers NOERROR with no data for a name that exists with other types or only has names below it', async () => {
    expect(await ask({ RecordName: 'www.example.com', RecordType: 'TXT' })).toMatchObject({
      ResponseCode: 'NOERROR',
      RecordData: [],
    });
    expect(await ask({ RecordName: 'branch.example.com', RecordType: 'A' })).toMatchObject({
      ResponseCode: 'NOERROR',
      RecordData: [],
    });
  });

  it('refuses a private hosted zone, as TestDNSAnswer supports public zones only', async () => {
    await expect(
      ask({ HostedZoneId: PRIVATE_ZONE, RecordName: 'cache.example.internal', RecordType: 'CNAME' }),
    ).rejects.toMatchObject({ name: 'InvalidInput' });
  });

  it('answers NoSuchHostedZone for an unknown zone and InvalidInput for an unknown record type', async () => {
    await expect(
      ask({ HostedZoneId: 'Z0NOSUCHZONE00', RecordName: 'www.example.com' }),
    ).rejects.toMatchObject({
      name: 'NoSuchHostedZone',
    });
    await expect(ask({ RecordName: 'www.example.com', RecordType: 'BOGUS' as 'A' })).rejects.toMatchObject({
      name: 'InvalidInput',
    });
  });
});

describe('Route 53 fixture records that reference ElastiCache endpoints', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = await startSandbox({
      fixture: {
        elasticache: { replicationGroups: [{ id: 'orders-cache' }] },
        route53: {
          hostedZones: [
            {
              id: PRIVATE_ZONE,
              name: 'example.internal',
              records: [
                { name: 'orders.example.internal', values: [{ group: 'orders-cache' }] },
                {
                  name: 'orders-ro.example.internal',
                  values: [{ group: 'orders-cache', endpoint: 'reader' }],
                },
              ],
            },
          ],
        },
      },
    });
  });
  afterAll(() => sandbox.stop());

  it('hold the primary and reader endpoint addresses that ElastiCache reports for the group', async () => {
    const elasticache = new ElastiCacheClient({
      endpoint: sandbox.endpoint,
      region: sandbox.region,
      credentials,
    });
    const { ReplicationGroups = [] } = await elasticache.send(
      new DescribeReplicationGroupsCommand({ ReplicationGroupId: 'orders-cache' }),
    );
    const nodeGroup = ReplicationGroups[0]?.NodeGroups?.[0];
    const route53 = new Route53Client({ endpoint: sandbox.endpoint, region: sandbox.region, credentials });
    const { ResourceRecordSets = [] } = await route53.send(
      new ListResourceRecordSetsCommand({ HostedZoneId: PRIVATE_ZONE }),
    );
    const value = (name: string) =>
      ResourceRecordSets.find((r) => r.Name === name)?.ResourceRecords?.[0]?.Value;
    expect(nodeGroup?.PrimaryEndpoint?.Address).toBeTruthy();
    expect(value('orders.example.internal.')).toBe(nodeGroup?.PrimaryEndpoint?.Address);
    expect(value('orders-ro.example.internal.')).toBe(nodeGroup?.ReaderEndpoint?.Address);
  });
});

describe('Route 53 fixture validation', () => {
  it('fails to start with the zone named when a fixture record breaks a Route 53 rule', async () => {
    await expect(
      startSandbox({
        fixture: {
          route53: {
            hostedZones: [
              {
                name: 'example.internal',
                records: [{ name: 'cache.example.org', values: ['a.example.org'] }],
              },
            ],
          },
        },
      }),
    ).rejects.toThrow(
      /hosted zone example\.internal: .*RRSet with DNS name cache\.example\.org\. is not permitted/,
    );
  });
});
