import {
  type Change,
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Sandbox, type SandboxOptions, startSandbox } from '../../sandbox/index.js';

const ZONE = 'Z0CHANGES00001';
const OTHER_ZONE = 'Z0CHANGES00002';

let sandbox: Sandbox;
let route53: Route53Client;

async function start(options: Omit<SandboxOptions, 'fixture'> = {}, maxAttempts?: number): Promise<void> {
  sandbox = await startSandbox({
    ...options,
    fixture: {
      route53: {
        hostedZones: [
          {
            id: ZONE,
            name: 'example.com',
            records: [
              { name: 'www.example.com', type: 'A', ttl: 300, values: ['10.0.0.1', '10.0.0.2'] },
              { name: 'cache.example.com', type: 'CNAME', ttl: 60, values: ['old.cache.amazonaws.com'] },
            ],
          },
          { id: OTHER_ZONE, name: 'example.net' },
        ],
      },
    },
  });
  route53 = new Route53Client({
    endpoint: sandbox.endpoint,
    region: sandbox.region,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts,
  });
}

afterEach(async () => {
  await sandbox?.stop();
});

function rrs(
  name: string,
  type: ResourceRecordSet['Type'],
  ttl: number | undefined,
  ...values: string[]
): ResourceRecordSet {
  return { Name: name, Type: type, TTL: ttl, ResourceRecords: values.map((Value) => ({ Value })) };
}

function change(Action: Change['Action'], set: ResourceRecordSet): Change {
  return { Action, ResourceRecordSet: set };
}

function submit(changes: Change[], zoneId = ZONE, comment?: string) {
  return route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: { Changes: changes, Comment: comment },
    }),
  );
}

async function records(zoneId = ZONE): Promise<Record<string, { ttl?: number; values?: string[] }>> {
  const out = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
  return Object.fromEntries(
    (out.ResourceRecordSets ?? []).map((r) => [
      `${r.Name} ${r.Type}`,
      { ttl: r.TTL, values: r.ResourceRecords?.map((v) => v.Value ?? '') },
    ]),
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('Route 53 ChangeResourceRecordSets', () => {
  beforeEach(() => start());

  it('returns a PENDING ChangeInfo with a /change/ id, the submission time and the batch comment', async () => {
    const before = Date.now();
    const out = await submit(
      [change('CREATE', rrs('new.example.com', 'A', 60, '10.0.0.9'))],
      ZONE,
      'cutover',
    );
    expect(out.ChangeInfo).toMatchObject({ Status: 'PENDING', Comment: 'cutover' });
    expect(out.ChangeInfo?.Id).toMatch(/^\/change\/C[A-Z0-9]+$/);
    expect(out.ChangeInfo?.SubmittedAt?.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
  });

  it('creates a record under its lowercase name with a trailing dot', async () => {
    await submit([change('CREATE', rrs('New.Example.COM', 'A', 60, '10.0.0.9'))]);
    expect((await records())['new.example.com. A']).toEqual({ ttl: 60, values: ['10.0.0.9'] });
  });

  it('refuses to CREATE a record set that already exists, whatever the case of its name', async () => {
    await expect(
      submit([change('CREATE', rrs('CACHE.example.com.', 'CNAME', 60, 'x.example.org'))]),
    ).rejects.toMatchObject({
      name: 'InvalidChangeBatch',
      message:
        "[Tried to create resource record set [name='cache.example.com.', type='CNAME'] but it already exists]",
    });
  });

  it('UPSERTs a record set that does not exist yet', async () => {
    await submit([change('UPSERT', rrs('api.example.com', 'AAAA', 120, '2001:db8::5'))]);
    expect((await records())['api.example.com. AAAA']).toEqual({ ttl: 120, values: ['2001:db8::5'] });
  });

  it('UPSERT replaces the TTL and values of an existing record set', async () => {
    await submit([change('UPSERT', rrs('cache.example.com', 'CNAME', 30, 'new.cache.amazonaws.com'))]);
    expect((await records())['cache.example.com. CNAME']).toEqual({
      ttl: 30,
      values: ['new.cache.amazonaws.com'],
    });
  });

  it('DELETEs a record set given its exact TTL and values, in any order', async () => {
    await submit([change('DELETE', rrs('www.example.com', 'A', 300, '10.0.0.2', '10.0.0.1'))]);
    expect((await records())['www.example.com. A']).toBeUndefined();
  });

  it('refuses a DELETE whose TTL or values differ from the current ones', async () => {
    const mismatch =
      "[Tried to delete resource record set [name='www.example.com.', type='A'] but the values provided do not match the current values]";
    await expect(
      submit([change('DELETE', rrs('www.example.com', 'A', 60, '10.0.0.1', '10.0.0.2'))]),
    ).rejects.toMatchObject({ name: 'InvalidChangeBatch', message: mismatch });
    await expect(
      submit([change('DELETE', rrs('www.example.com', 'A', 300, '10.0.0.1'))]),
    ).rejects.toMatchObject({
      name: 'InvalidChangeBatch',
      message: mismatch,
    });
    expect((await records())['www.example.com. A']?.values).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  it('refuses to DELETE a record set that does not exist', async () => {
    await expect(submit([change('DELETE', rrs('gone.example.com', 'TXT', 60, '"x"'))])).rejects.toMatchObject(
      {
        name: 'InvalidChangeBatch',
        message:
          "[Tried to delete resource record set [name='gone.example.com.', type='TXT'] but it was not found]",
      },
    );
  });

  it('applies nothing when a later change of the batch fails, and lists every failure', async () => {
    await expect(
      submit([
        change('CREATE', rrs('first.example.com', 'A', 60, '10.0.0.7')),
        change('CREATE', rrs('cache.example.com', 'CNAME', 60, 'x.example.org')),
        change('DELETE', rrs('gone.example.com', 'A', 60, '10.0.0.8')),
      ]),
    ).rejects.toMatchObject({
      name: 'InvalidChangeBatch',
      message:
        "[Tried to create resource record set [name='cache.example.com.', type='CNAME'] but it already exists, Tried to delete resource record set [name='gone.example.com.', type='A'] but it was not found]",
    });
    expect((await records())['first.example.com. A']).toBeUndefined();
  });

  it('validates each change against the ones before it, so DELETE then CREATE replaces a record set', async () => {
    await submit([
      change('DELETE', rrs('cache.example.com', 'CNAME', 60, 'old.cache.amazonaws.com')),
      change('CREATE', rrs('cache.example.com', 'CNAME', 60, 'new.cache.amazonaws.com')),
    ]);
    expect((await records())['cache.example.com. CNAME']?.values).toEqual(['new.cache.amazonaws.com']);
  });

  it('refuses a record whose name is outside the zone, even when it ends with the zone name as text', async () => {
    await expect(
      submit([change('CREATE', rrs('www.example.org', 'A', 60, '10.0.0.1'))]),
    ).rejects.toMatchObject({
      name: 'InvalidChangeBatch',
      message: '[RRSet with DNS name www.example.org. is not permitted in zone example.com.]',
    });
    await expect(
      submit([change('CREATE', rrs('badexample.com', 'A', 60, '10.0.0.1'))]),
    ).rejects.toMatchObject({
      name: 'InvalidChangeBatch',
      message: '[RRSet with DNS name badexample.com. is not permitted in zone example.com.]',
    });
  });

  it('refuses a CNAME at the zone apex', async () => {
    await expect(
      submit([change('UPSERT', rrs('example.com', 'CNAME', 60, 'elsewhere.example.org'))]),
    ).rejects.toMatchObject({
      name: 'InvalidChangeBatch',
      message:
        '[RRSet of type CNAME with DNS name example.com. is not permitted at apex in zone example.com.]',
    });
  });

  it('refuses a CNAME beside another record of the same name', async () => {
    await expect(
      submit([change('CREATE', rrs('www.example.com', 'CNAME', 60, 'web.example.org'))]),
    ).rejects.toMatchObject({
      name: 'InvalidChangeBatch',
      message:
        '[RRSet of type CNAME with DNS name www.example.com. is not permitted as it conflicts with other records with the same DNS name in zone example.com.]',
    });
  });

  it('refuses another record beside an existing CNAME of the same name', async () => {
    await expect(
      submit([change('CREATE', rrs('cache.example.com', 'TXT', 60, '"owner=ops"'))]),
    ).rejects.toMatchObject({
      name: 'InvalidChangeBatch',
      message:
        '[RRSet of type TXT with DNS name cache.example.com. is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists in zone example.com.]',
    });
  });

  it('refuses a CNAME with more than one value', async () => {
    await expect(
      submit([change('CREATE', rrs('two.example.com', 'CNAME', 60, 'a.example.org', 'b.example.org'))]),
    ).rejects.toMatchObject({ name: 'InvalidChangeBatch' });
    expect((await records())['two.example.com. CNAME']).toBeUndefined();
  });

  it('accepts TTLs from 0 to 2147483647 and refuses values outside that range as InvalidInput', async () => {
    await submit([
      change('CREATE', rrs('zero.example.com', 'A', 0, '10.0.0.1')),
      change('CREATE', rrs('max.example.com', 'A', 2147483647, '10.0.0.1')),
    ]);
    const now = await records();
    expect(now['zero.example.com. A']?.ttl).toBe(0);
    expect(now['max.example.com. A']?.ttl).toBe(2147483647);
    await expect(
      submit([change('CREATE', rrs('neg.example.com', 'A', -1, '10.0.0.1'))]),
    ).rejects.toMatchObject({
      name: 'InvalidInput',
      message:
        "1 validation error detected: Value '-1' at 'changeBatch.changes.1.member.resourceRecordSet.tTL' failed to satisfy constraint: Member must have value greater than or equal to 0",
    });
    await expect(
      submit([change('CREATE', rrs('big.example.com', 'A', 2147483648, '10.0.0.1'))]),
    ).rejects.toMatchObject({
      name: 'InvalidInput',
    });
  });

  it('refuses a record set with values but no TTL', async () => {
    await expect(
      submit([change('CREATE', rrs('nottl.example.com', 'A', undefined, '10.0.0.1'))]),
    ).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringContaining(
        'Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords]',
      ),
    });
  });

  it('accepts IPv4 values for A and IPv6 values for AAAA, and refuses anything else', async () => {
    await submit([
      change('CREATE', rrs('v4.example.com', 'A', 60, '192.0.2.1')),
      change('CREATE', rrs('v6.example.com', 'AAAA', 60, '2001:db8::1')),
    ]);
    await expect(
      submit([change('CREATE', rrs('bad4.example.com', 'A', 60, '192.0.2'))]),
    ).rejects.toMatchObject({
      name: 'InvalidChangeBatch',
      message: expect.stringContaining('ARRDATAIllegalIPv4Address'),
    });
    await expect(
      submit([change('CREATE', rrs('bad6.example.com', 'AAAA', 60, '192.0.2.1'))]),
    ).rejects.toMatchObject({
      name: 'InvalidChangeBatch',
      message: expect.stringContaining('AAAARRDATAIllegalIPv6Address'),
    });
  });

  it('lets the apex NS record be changed but not deleted', async () => {
    const ns = (await records())['example.com. NS'];
    const values = ns?.values ?? [];
    await expect(
      submit([change('DELETE', rrs('example.com', 'NS', ns?.ttl, ...values))]),
    ).rejects.toMatchObject({
      name: 'InvalidChangeBatch',
      message: '[A HostedZone must contain at least one NS record for the zone itself.]',
    });
    await submit([change('UPSERT', rrs('example.com', 'NS', 3600, ...values))]);
    expect((await records())['example.com. NS']?.ttl).toBe(3600);
  });

  it('refuses to delete the SOA record', async () => {
    const soa = (await records())['example.com. SOA'];
    await expect(
      submit([change('DELETE', rrs('example.com', 'SOA', soa?.ttl, ...(soa?.values ?? [])))]),
    ).rejects.toMatchObject({
      name: 'InvalidChangeBatch',
      message: '[A HostedZone must contain exactly one SOA record.]',
    });
  });

  it('refuses an empty change batch as InvalidInput', async () => {
    await expect(submit([])).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringContaining("at 'changeBatch.changes' failed to satisfy constraint"),
    });
  });

  it('says plainly that alias records are not modelled', async () => {
    await expect(
      submit([
        change('CREATE', {
          Name: 'alias.example.com',
          Type: 'A',
          AliasTarget: {
            HostedZoneId: 'Z2FDTNDATAQYW2',
            DNSName: 'd111.cloudfront.net',
            EvaluateTargetHealth: false,
          },
        }),
      ]),
    ).rejects.toMatchObject({ name: 'InvalidInput', message: expect.stringContaining('sandbox') });
  });
});

describe('Route 53 GetChange', () => {
  it('reports PENDING until the propagation time has passed, then INSYNC', async () => {
    // dnsChangeMs (30 s) × 0.01 = 300 ms.
    await start({ timeScale: 0.01 });
    const { ChangeInfo } = await submit([
      change('UPSERT', rrs('cache.example.com', 'CNAME', 60, 'new.example.org')),
    ]);
    const early = await route53.send(new GetChangeCommand({ Id: ChangeInfo?.Id }));
    expect(early.ChangeInfo).toMatchObject({ Id: ChangeInfo?.Id, Status: 'PENDING' });
    await sleep(400);
    const late = await route53.send(new GetChangeCommand({ Id: ChangeInfo?.Id }));
    expect(late.ChangeInfo).toMatchObject({
      Id: ChangeInfo?.Id,
      Status: 'INSYNC',
      SubmittedAt: ChangeInfo?.SubmittedAt,
    });
  });

  it('accepts the change id without its /change/ prefix', async () => {
    await start({ timeScale: 0 });
    const { ChangeInfo } = await submit([
      change('UPSERT', rrs('cache.example.com', 'CNAME', 60, 'new.example.org')),
    ]);
    const bare = ChangeInfo?.Id?.replace('/change/', '');
    const out = await route53.send(new GetChangeCommand({ Id: bare }));
    expect(out.ChangeInfo).toMatchObject({ Id: ChangeInfo?.Id, Status: 'INSYNC' });
  });

  it('answers NoSuchChange for an unknown change id', async () => {
    await start();
    await expect(route53.send(new GetChangeCommand({ Id: '/change/C0000000000NONE' }))).rejects.toMatchObject(
      {
        name: 'NoSuchChange',
      },
    );
  });

  it('keeps changes of a zone PENDING while a dns-change fault holds that zone, and not those of other zones', async () => {
    await start({ timeScale: 0 });
    sandbox.injectFaults({ type: 'dns-change', hostedZoneId: ZONE, outcome: 'stuck-pending' });
    const held = await submit([change('UPSERT', rrs('cache.example.com', 'CNAME', 60, 'new.example.org'))]);
    const free = await submit([change('CREATE', rrs('a.example.net', 'A', 60, '10.0.0.1'))], OTHER_ZONE);
    await sleep(20);
    expect((await route53.send(new GetChangeCommand({ Id: held.ChangeInfo?.Id }))).ChangeInfo?.Status).toBe(
      'PENDING',
    );
    expect((await route53.send(new GetChangeCommand({ Id: free.ChangeInfo?.Id }))).ChangeInfo?.Status).toBe(
      'INSYNC',
    );
    sandbox.faults.clear();
    expect((await route53.send(new GetChangeCommand({ Id: held.ChangeInfo?.Id }))).ChangeInfo?.Status).toBe(
      'INSYNC',
    );
  });
});

describe('Route 53 api-error faults', () => {
  it('surfaces an injected Throttling as the SDK error Throttling when retries are off', async () => {
    await start({}, 1);
    sandbox.injectFaults({
      type: 'api-error',
      service: 'route53',
      operation: 'ChangeResourceRecordSets',
      code: 'Throttling',
    });
    const error = await submit([change('CREATE', rrs('t.example.com', 'A', 60, '10.0.0.1'))]).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      name: 'Throttling',
      message: 'Rate exceeded',
      $metadata: { httpStatusCode: 400 },
    });
    expect((await records())['t.example.com. A']).toBeUndefined();
  });

  it('lets the SDK retry past a single Throttling with its default retry strategy', async () => {
    await start();
    sandbox.injectFaults({
      type: 'api-error',
      service: 'route53',
      operation: 'ChangeResourceRecordSets',
      code: 'Throttling',
    });
    const out = await submit([change('CREATE', rrs('t.example.com', 'A', 60, '10.0.0.1'))]);
    expect(out.$metadata.attempts).toBe(2);
    expect((await records())['t.example.com. A']?.values).toEqual(['10.0.0.1']);
  });

  it('surfaces an injected PriorRequestNotComplete under that name, and the batch is not applied', async () => {
    await start({}, 1);
    sandbox.injectFaults({
      type: 'api-error',
      service: 'route53',
      operation: 'ChangeResourceRecordSets',
      code: 'PriorRequestNotComplete',
    });
    const error = await submit([change('CREATE', rrs('p.example.com', 'A', 60, '10.0.0.1'))]).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      name: 'PriorRequestNotComplete',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    expect((await records())['p.example.com. A']).toBeUndefined();
  });

  it('treats PriorRequestNotComplete as retryable, as the SDK classifies it with throttling errors', async () => {
    await start();
    sandbox.injectFaults({
      type: 'api-error',
      service: 'route53',
      operation: 'ChangeResourceRecordSets',
      code: 'PriorRequestNotComplete',
    });
    const out = await submit([change('CREATE', rrs('p.example.com', 'A', 60, '10.0.0.1'))]);
    expect(out.$metadata.attempts).toBe(2);
  });
});
