import { randomInt, randomUUID } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import * as route53Model from '@aws-sdk/client-route-53';
import { DURATIONS } from '../clock.js';
import type { EndpointRef, HostedZoneFixture } from '../fixture.js';
import { AwsFault } from '../protocol/errors.js';
import { restXmlProtocol } from '../protocol/rest-xml.js';
import { collectSchemas } from '../protocol/schema.js';
import type { SandboxContext, ServiceDefinition } from './types.js';

/**
 * Route 53: hosted zones, their record sets, change batches and their PENDING → INSYNC life
 * cycle. Only simple routing is modelled (one record set per name and type); alias records,
 * routing policies and traffic policies are refused with a message that says so.
 */

/** One record set, as Route 53 stores it: lowercase fully-qualified name, type, TTL, values. */
export interface RecordSet {
  name: string;
  type: string;
  ttl: number;
  values: string[];
}

export interface HostedZone {
  /** The bare id (`Z…`); the API returns it as `/hostedzone/Z…`. */
  id: string;
  /** Lowercase, with the trailing dot. */
  name: string;
  private: boolean;
  vpc?: { id: string; region: string };
  callerReference: string;
  comment?: string;
  /** The zone's four name servers, without trailing dots (as DelegationSet lists them). */
  nameServers: string[];
  records: Map<string, RecordSet>;
}

export interface ChangeStatus {
  id: string;
  zoneId: string;
  status: 'PENDING' | 'INSYNC';
  submittedAt: Date;
  comment?: string;
}

interface ChangeRecord {
  id: string;
  zoneId: string;
  comment?: string;
  submittedAt: Date;
  /** Wall-clock instant at which the change has propagated (sandbox clock). */
  insyncAt: number;
  insync: boolean;
}

/** A change as the SDK sends it (ChangeBatch.Changes[n]). */
interface ChangeInput {
  Action?: string;
  ResourceRecordSet?: {
    Name?: string;
    Type?: string;
    TTL?: number;
    ResourceRecords?: { Value?: string }[];
    AliasTarget?: unknown;
    TrafficPolicyInstanceId?: string;
    SetIdentifier?: string;
    Weight?: number;
    Region?: string;
    GeoLocation?: unknown;
    Failover?: string;
    MultiValueAnswer?: boolean;
    CidrRoutingConfig?: unknown;
    GeoProximityLocation?: unknown;
    HealthCheckId?: string;
  };
}

const RR_TYPES: readonly string[] = Object.values(route53Model.RRType);
const MAX_TTL = 2_147_483_647;
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

// SOA and NS defaults Route 53 writes when it creates a zone: NS TTL 172800, SOA TTL 900,
// SOA `<name server> awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400`.
// https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/SOA-NSrecords.html
const NS_TTL = 172_800;
const SOA_TTL = 900;
const SOA_TAIL = 'awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400';

/**
 * Route 53 treats `www.example.com` and `www.example.com.` as the same name and stores letters
 * in lowercase. https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DomainNameFormat.html
 */
export function normalizeName(name: string): string {
  const lower = name.trim().toLowerCase();
  return lower.endsWith('.') ? lower : `${lower}.`;
}

/**
 * The sort key of a name: its labels reversed, with the trailing dot (`com.example.www.`), compared
 * in ASCII order. https://docs.aws.amazon.com/Route53/latest/APIReference/API_ListResourceRecordSets.html
 */
function sortKey(name: string): string {
  // Memoized: every ListResourceRecordSets sorts the whole zone, and a fleet's zone holds
  // thousands of names (bench/fleet.ts).
  let key = sortKeys.get(name);
  if (key === undefined) {
    key = name === '.' ? '.' : `${name.slice(0, -1).split('.').reverse().join('.')}.`;
    if (sortKeys.size >= 100_000) sortKeys.clear();
    sortKeys.set(name, key);
  }
  return key;
}
const sortKeys = new Map<string, string>();

function compareAscii(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isInZone(name: string, zoneName: string): boolean {
  return name === zoneName || name.endsWith(`.${zoneName}`);
}

/**
 * Labels of at most 63 bytes, at most 255 bytes in all, no empty label.
 * https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/DomainNameFormat.html
 */
function isValidDomainName(fqdn: string): boolean {
  if (fqdn === '.') return true;
  const labels = fqdn.slice(0, -1).split('.');
  return (
    fqdn.length <= 255 && labels.every((l) => l.length > 0 && l.length <= 63 && /^[\x21-\x7e]+$/.test(l))
  );
}

function recordKey(name: string, type: string): string {
  return `${name}|${type}`;
}

function randomId(prefix: string, length: number): string {
  let id = prefix;
  for (let i = 0; i < length; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

/** Strips the `/hostedzone/` or `/change/` prefix, as the SDK's route53 middleware does. */
function bareId(id: string): string {
  return id.replace(/^\/(hostedzone|change|delegationset)\//, '');
}

/**
 * Route 53 name servers are `ns-N.awsdns-XX.{com,net,org,co.uk}` (SOA-NSrecords.html). The ranges
 * of N per TLD (0–511 .com, 512–1023 .net, 1024–1535 .org, 1536–2047 .co.uk) and XX = (N mod 512)
 * / 8 are read off real delegation sets, not documented. Private zones all show the same four:
 * ns-0.awsdns-00.com, ns-512.awsdns-00.net, ns-1024.awsdns-00.org, ns-1536.awsdns-00.co.uk.
 * https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/hosted-zones-private.html
 */
function nameServers(isPrivate: boolean): string[] {
  return ['com', 'net', 'org', 'co.uk'].map((tld, i) => {
    const n = i * 512 + (isPrivate ? 0 : randomInt(512));
    return `ns-${n}.awsdns-${String(Math.floor((n % 512) / 8)).padStart(2, '0')}.${tld}`;
  });
}

function invalidInput(message: string): AwsFault {
  return new AwsFault('InvalidInput', message);
}

/** The validation message style of Route 53's model checks (a failed constraint on a member). */
function constraint(value: unknown, path: string, rule: string): AwsFault {
  const shown = Array.isArray(value) ? `[${value.join(', ')}]` : String(value);
  return invalidInput(
    `1 validation error detected: Value '${shown}' at '${path}' failed to satisfy constraint: ${rule}`,
  );
}

function noSuchHostedZone(id: string): AwsFault {
  return new AwsFault('NoSuchHostedZone', `No hosted zone found with ID: ${id}`);
}

/** Hosted zones, record sets and changes. Other sandbox parts read DNS answers from it. */
export class Route53Store {
  private readonly zones = new Map<string, HostedZone>();
  private readonly changes = new Map<string, ChangeRecord>();

  constructor(
    private readonly ctx: SandboxContext,
    private readonly resolveEndpoint: (ref: EndpointRef) => string,
  ) {}

  /**
   * Creates a zone from the fixture with its SOA and NS records (Route 53 creates both with every
   * zone: https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/SOA-NSrecords.html), then
   * its records, through the same rules as ChangeResourceRecordSets. Endpoint references are
   * resolved now, as a real CNAME holds the endpoint's name, not a link to the group.
   */
  seedZone(fixture: HostedZoneFixture): HostedZone {
    // Generated ids are `Z` followed by uppercase letters and digits, like Z0123456789ABCDEFGHIJ;
    // the API returns them as `/hostedzone/Z…`.
    // https://docs.aws.amazon.com/Route53/latest/APIReference/API_HostedZone.html
    const id = fixture.id ?? randomId('Z', 20);
    if (this.zones.has(id)) throw new Error(`Route 53 fixture: hosted zone id ${id} is used twice`);
    const name = normalizeName(fixture.name);
    if (!isValidDomainName(name))
      throw new Error(`Route 53 fixture: '${fixture.name}' is not a valid domain name`);
    const ns = nameServers(fixture.private);
    const zone: HostedZone = {
      id,
      name,
      private: fixture.private,
      vpc: fixture.private ? { id: fixture.vpcId, region: this.ctx.region } : undefined,
      callerReference: randomUUID(),
      nameServers: ns,
      records: new Map(),
    };
    zone.records.set(recordKey(name, 'NS'), {
      name,
      type: 'NS',
      ttl: NS_TTL,
      values: ns.map((s) => `${s}.`),
    });
    // A private zone's SOA names ns-1536.awsdns-00.co.uk; a public zone's one of its own servers.
    const primary = fixture.private ? ns[3] : ns[0];
    zone.records.set(recordKey(name, 'SOA'), {
      name,
      type: 'SOA',
      ttl: SOA_TTL,
      values: [`${primary}. ${SOA_TAIL}`],
    });

    const changes: ChangeInput[] = fixture.records.map((record) => ({
      Action: 'CREATE',
      ResourceRecordSet: {
        Name: record.name,
        Type: record.type,
        TTL: record.ttl,
        ResourceRecords: record.values.map((value) => ({
          Value: typeof value === 'string' ? value : this.resolveEndpoint(value),
        })),
      },
    }));
    try {
      zone.records = this.applyChanges(zone, changes);
    } catch (error) {
      throw new Error(`Route 53 fixture: hosted zone ${fixture.name}: ${(error as Error).message}`);
    }
    this.zones.set(id, zone);
    return zone;
  }

  /** A zone by id, with or without the `/hostedzone/` prefix. */
  zone(id: string): HostedZone | undefined {
    return this.zones.get(bareId(id));
  }

  requireZone(id: string): HostedZone {
    const zone = this.zone(id);
    if (!zone) throw noSuchHostedZone(bareId(id));
    return zone;
  }

  /** Zones in ListHostedZonesByName order: reversed-label name, then id. */
  listZones(): HostedZone[] {
    return [...this.zones.values()].sort(
      (a, b) => compareAscii(sortKey(a.name), sortKey(b.name)) || compareAscii(a.id, b.id),
    );
  }

  /** A zone's record sets in ListResourceRecordSets order: reversed-label name, then type. */
  recordSets(zoneId: string): RecordSet[] {
    const zone = this.requireZone(zoneId);
    return [...zone.records.values()]
      .sort((a, b) => compareAscii(sortKey(a.name), sortKey(b.name)) || compareAscii(a.type, b.type))
      .map((r) => ({ ...r, values: [...r.values] }));
  }

  /**
   * The current record set for a name and type, from the most specific zone holding the name
   * (a private zone wins over a public zone of the same name, as inside its VPC). Changes are
   * visible at once, as in ListResourceRecordSets; `changeStatus` tells whether they propagated.
   */
  lookup(name: string, type: string): RecordSet | undefined {
    const fqdn = normalizeName(name);
    const zone = this.zoneFor(fqdn);
    const record = zone?.records.get(recordKey(fqdn, type.toUpperCase()));
    return record ? { ...record, values: [...record.values] } : undefined;
  }

  /** The zone a DNS server would answer `name` from, if any. */
  zoneFor(name: string): HostedZone | undefined {
    const fqdn = normalizeName(name);
    let best: HostedZone | undefined;
    for (const zone of this.zones.values()) {
      if (!isInZone(fqdn, zone.name)) continue;
      if (
        !best ||
        zone.name.length > best.name.length ||
        (zone.name === best.name && zone.private && !best.private)
      ) {
        best = zone;
      }
    }
    return best;
  }

  /**
   * Answers a query from the zone's current records as an authoritative server does:
   * NOERROR with the values, or the CNAME chain inside the zone; NOERROR with no data when
   * the name exists with other types (or only has names below it); NXDOMAIN when it does not
   * exist; REFUSED for a name outside the zone. (RFC 1034 §4.3.2, RFC 8020.)
   */
  answer(
    zoneId: string,
    name: string,
    type: string,
  ): { code: 'NOERROR' | 'NXDOMAIN' | 'REFUSED'; data: string[] } {
    const zone = this.requireZone(zoneId);
    let current = normalizeName(name);
    if (!isInZone(current, zone.name)) return { code: 'REFUSED', data: [] };
    const data: string[] = [];
    for (let hop = 0; hop < 8; hop++) {
      const direct = zone.records.get(recordKey(current, type));
      if (direct) return { code: 'NOERROR', data: [...data, ...direct.values] };
      const cname = type === 'CNAME' ? undefined : zone.records.get(recordKey(current, 'CNAME'));
      if (!cname?.values[0]) break;
      data.push(cname.values[0]);
      current = normalizeName(cname.values[0]);
      if (!isInZone(current, zone.name)) return { code: 'NOERROR', data };
    }
    if (data.length > 0) return { code: 'NOERROR', data };
    const exists = [...zone.records.values()].some(
      (r) => r.name === current || r.name.endsWith(`.${current}`),
    );
    return { code: exists ? 'NOERROR' : 'NXDOMAIN', data: [] };
  }

  /**
   * Applies a change batch, all or nothing, and returns the new change (PENDING).
   * https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html
   */
  changeRecordSets(zoneId: string, changes: ChangeInput[], comment?: string): ChangeStatus {
    const zone = this.requireZone(zoneId);
    // ChangeBatch.Changes has at least one member.
    // https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeBatch.html
    if (changes.length === 0) {
      throw constraint([], 'changeBatch.changes', 'Member must have length greater than or equal to 1');
    }
    zone.records = this.applyChanges(zone, changes);
    const change: ChangeRecord = {
      id: randomId('C', 19),
      zoneId: zone.id,
      comment,
      submittedAt: new Date(this.ctx.clock.now()),
      insyncAt: this.ctx.clock.deadline(DURATIONS.dnsChangeMs),
      insync: false,
    };
    this.changes.set(change.id, change);
    // Every new change starts PENDING, whatever the clock says.
    // https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeInfo.html
    return { id: change.id, zoneId: zone.id, status: 'PENDING', submittedAt: change.submittedAt, comment };
  }

  /**
   * A change's status, evaluated now: INSYNC once the propagation deadline has passed, unless a
   * `dns-change` fault holds the zone's changes PENDING. Once INSYNC, it stays INSYNC.
   * https://docs.aws.amazon.com/Route53/latest/APIReference/API_GetChange.html
   */
  changeStatus(id: string): ChangeStatus | undefined {
    const change = this.changes.get(bareId(id));
    if (!change) return undefined;
    if (!change.insync && this.ctx.clock.now() >= change.insyncAt) {
      const held =
        this.ctx.faults.changeStaysPending(change.zoneId) ||
        this.ctx.faults.changeStaysPending(`/hostedzone/${change.zoneId}`);
      if (!held) change.insync = true;
    }
    return {
      id: change.id,
      zoneId: change.zoneId,
      status: change.insync ? 'INSYNC' : 'PENDING',
      submittedAt: change.submittedAt,
      comment: change.comment,
    };
  }

  /**
   * Validates every change against the state left by the changes before it and returns the new
   * record map; throws (leaving the zone untouched) if any change is refused. Input errors are
   * `InvalidInput`; rule violations are collected and reported together as one
   * `InvalidChangeBatch` whose message lists them in brackets, comma separated, as Route 53 does:
   * `[Tried to delete … but it was not found, Tried to create … but it already exists]`
   * (the ErrorResponse Route 53 returns; seen in aws/aws-sdk-kotlin#1435).
   */
  private applyChanges(zone: HostedZone, changes: ChangeInput[]): Map<string, RecordSet> {
    const records = new Map(zone.records);
    const errors: string[] = [];
    changes.forEach((change, index) => {
      const set = parseChange(change, index + 1);
      const problems = checkChange(zone, records, change.Action as Action, set);
      if (problems.length > 0) {
        errors.push(...problems);
        return;
      }
      const key = recordKey(set.name, set.type);
      if (change.Action === 'DELETE') records.delete(key);
      else records.set(key, set);
    });
    // The zone keeps its SOA and apex NS records: they can be changed (UPSERT) but not removed.
    // https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/SOA-NSrecords.html
    if (errors.length === 0) {
      if (!records.has(recordKey(zone.name, 'SOA')))
        errors.push('A HostedZone must contain exactly one SOA record.');
      if (!records.has(recordKey(zone.name, 'NS')))
        errors.push('A HostedZone must contain at least one NS record for the zone itself.');
    }
    if (errors.length > 0) throw new AwsFault('InvalidChangeBatch', `[${errors.join(', ')}]`);
    return records;
  }
}

type Action = 'CREATE' | 'DELETE' | 'UPSERT';

/**
 * Input checks Route 53 makes before looking at the zone (InvalidInput).
 * https://docs.aws.amazon.com/Route53/latest/APIReference/API_ResourceRecordSet.html
 */
function parseChange(change: ChangeInput, position: number): RecordSet {
  const path = `changeBatch.changes.${position}.member`;
  if (!['CREATE', 'DELETE', 'UPSERT'].includes(change.Action ?? '')) {
    throw constraint(
      change.Action,
      `${path}.action`,
      'Member must satisfy enum value set: [CREATE, DELETE, UPSERT]',
    );
  }
  const rrs = change.ResourceRecordSet;
  if (!rrs?.Name) throw constraint(null, `${path}.resourceRecordSet.name`, 'Member must not be null');
  if (!RR_TYPES.includes(rrs.Type ?? '')) {
    throw constraint(
      rrs.Type,
      `${path}.resourceRecordSet.type`,
      `Member must satisfy enum value set: [${RR_TYPES.join(', ')}]`,
    );
  }
  const name = normalizeName(rrs.Name);
  const type = rrs.Type as string;
  // TTL is 0 to 2147483647 seconds (Valid Range of TTL).
  // https://docs.aws.amazon.com/Route53/latest/APIReference/API_ResourceRecordSet.html
  if (rrs.TTL !== undefined && (rrs.TTL < 0 || rrs.TTL > MAX_TTL || !Number.isInteger(rrs.TTL))) {
    const rule = rrs.TTL < 0 ? 'greater than or equal to 0' : `less than or equal to ${MAX_TTL}`;
    throw constraint(rrs.TTL, `${path}.resourceRecordSet.tTL`, `Member must have value ${rule}`);
  }
  // The sandbox models simple routing only; say so rather than pretend.
  const unsupported = (
    [
      'AliasTarget',
      'TrafficPolicyInstanceId',
      'SetIdentifier',
      'Weight',
      'Region',
      'GeoLocation',
      'Failover',
      'MultiValueAnswer',
      'CidrRoutingConfig',
      'GeoProximityLocation',
      'HealthCheckId',
    ] as const
  ).filter((member) => rrs[member] !== undefined);
  const hasRecords = rrs.TTL !== undefined && (rrs.ResourceRecords?.length ?? 0) > 0;
  // A record set has exactly one of: AliasTarget, TTL with ResourceRecords, TrafficPolicyInstanceId.
  const kinds = [rrs.AliasTarget !== undefined, hasRecords, rrs.TrafficPolicyInstanceId !== undefined];
  if (kinds.filter(Boolean).length !== 1) {
    throw invalidInput(
      `Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found ${kinds.some(Boolean) ? 'more than one' : 'none'} in Change with [Action=${change.Action}, Name=${name}, Type=${type}, SetIdentifier=${rrs.SetIdentifier ?? 'null'}]`,
    );
  }
  if (unsupported.length > 0) {
    throw invalidInput(
      `sandbox: Route 53 here models simple routing only; ${unsupported.join(', ')} is not supported`,
    );
  }
  const values = (rrs.ResourceRecords ?? []).map((r) => r.Value ?? '');
  return { name, type, ttl: rrs.TTL as number, values };
}

/** Rule checks against the zone's state (InvalidChangeBatch messages). */
function checkChange(
  zone: HostedZone,
  records: Map<string, RecordSet>,
  action: Action,
  set: RecordSet,
): string[] {
  const { name, type } = set;
  const rrset = `[name='${name}', type='${type}']`;
  // A record's name must be the zone's name or end with it.
  // https://docs.aws.amazon.com/Route53/latest/APIReference/API_ResourceRecordSet.html (Name)
  if (!isInZone(name, zone.name))
    return [`RRSet with DNS name ${name} is not permitted in zone ${zone.name}`];

  const problems: string[] = [];
  if (action !== 'DELETE') {
    for (const value of set.values) {
      // A values are IPv4 addresses in dotted decimal; AAAA values are IPv6 addresses.
      // https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/ResourceRecordTypes.html#AFormat
      if (type === 'A' && !isIPv4(value)) {
        problems.push(
          `Invalid Resource Record: 'FATAL problem: ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with '${value}''`,
        );
      }
      // https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/ResourceRecordTypes.html#AAAAFormat
      if (type === 'AAAA' && !isIPv6(value)) {
        problems.push(
          `Invalid Resource Record: 'FATAL problem: AAAARRDATAIllegalIPv6Address (Value is not a valid IPv6 address) encountered with '${value}''`,
        );
      }
    }
    // An alias has exactly one canonical name (RFC 2181 §10.1), so a CNAME has one value.
    // https://www.rfc-editor.org/rfc/rfc2181#section-10.1 (message text is the sandbox's own)
    if (type === 'CNAME' && set.values.length > 1) {
      problems.push(`RRSet of type CNAME with DNS name ${name} must have exactly one resource record`);
    }
    if (problems.length > 0) return problems;
  }

  const existing = records.get(recordKey(name, type));
  if (action === 'CREATE' && existing)
    return [`Tried to create resource record set ${rrset} but it already exists`];
  if (action === 'DELETE') {
    if (!existing) return [`Tried to delete resource record set ${rrset} but it was not found`];
    // DELETE must repeat the record set exactly: same TTL and the same values.
    // https://docs.aws.amazon.com/Route53/latest/APIReference/API_Change.html (DELETE)
    const same =
      existing.ttl === set.ttl &&
      existing.values.length === set.values.length &&
      [...existing.values].sort().join('\n') === [...set.values].sort().join('\n');
    return same
      ? []
      : [
          `Tried to delete resource record set ${rrset} but the values provided do not match the current values`,
        ];
  }

  // DNS does not allow a CNAME at the zone apex, nor a CNAME beside any other record of the
  // same name. https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/ResourceRecordTypes.html#CNAMEFormat
  if (type === 'CNAME') {
    if (name === zone.name)
      return [`RRSet of type CNAME with DNS name ${name} is not permitted at apex in zone ${zone.name}`];
    const others = [...records.values()].some((r) => r.name === name && r.type !== 'CNAME');
    if (others) {
      return [
        `RRSet of type CNAME with DNS name ${name} is not permitted as it conflicts with other records with the same DNS name in zone ${zone.name}`,
      ];
    }
  } else if (records.has(recordKey(name, 'CNAME'))) {
    return [
      `RRSet of type ${type} with DNS name ${name} is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists in zone ${zone.name}`,
    ];
  }
  return [];
}

function hostedZoneView(zone: HostedZone) {
  return {
    Id: `/hostedzone/${zone.id}`,
    Name: zone.name,
    CallerReference: zone.callerReference,
    Config: { Comment: zone.comment, PrivateZone: zone.private },
    ResourceRecordSetCount: zone.records.size,
  };
}

function changeInfoView(change: ChangeStatus) {
  return {
    Id: `/change/${change.id}`,
    Status: change.status,
    SubmittedAt: change.submittedAt,
    Comment: change.comment,
  };
}

function requireType(value: string | undefined, member: string): string {
  if (!RR_TYPES.includes(value ?? '')) {
    throw constraint(value, member, `Member must satisfy enum value set: [${RR_TYPES.join(', ')}]`);
  }
  return value as string;
}

/** A page of zero or fewer items cannot make progress: the sandbox refuses it (its own rule). */
function requireMaxItems(value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1)
    throw constraint(value, 'maxItems', 'Member must have value greater than or equal to 1');
  return value;
}

export function route53Service(ctx: SandboxContext, store: Route53Store): ServiceDefinition {
  return {
    signingName: 'route53',
    faults: ctx.faults,
    wire: restXmlProtocol({
      schemas: collectSchemas(route53Model),
      namespace: 'com.amazonaws.route53',
      xmlNamespace: 'https://route53.amazonaws.com/doc/2013-04-01/',
    }),
    operations: {
      /**
       * The zone, plus its name servers (public zones) or its VPCs (private zones).
       * https://docs.aws.amazon.com/Route53/latest/APIReference/API_GetHostedZone.html
       */
      GetHostedZone(input: { Id?: string }) {
        const zone = store.requireZone(input.Id ?? '');
        return {
          HostedZone: hostedZoneView(zone),
          DelegationSet: zone.private ? undefined : { NameServers: zone.nameServers },
          VPCs: zone.vpc ? [{ VPCRegion: zone.vpc.region, VPCId: zone.vpc.id }] : undefined,
        };
      },

      /**
       * Zones sorted by reversed-label name, starting at `DNSName` (and `HostedZoneId` among zones
       * of that name), at most `MaxItems` (default and ceiling 100) a page; the request's values
       * are echoed and the next page's first zone given as NextDNSName/NextHostedZoneId.
       * https://docs.aws.amazon.com/Route53/latest/APIReference/API_ListHostedZonesByName.html
       */
      ListHostedZonesByName(input: { DNSName?: string; HostedZoneId?: string; MaxItems?: number }) {
        const startName = input.DNSName === undefined ? undefined : normalizeName(input.DNSName);
        if (startName !== undefined && !isValidDomainName(startName)) {
          throw new AwsFault('InvalidDomainName', `${input.DNSName} is not a valid domain name.`);
        }
        // hostedzoneid only continues a listing that dnsname started ("include both dnsname and
        // hostedzoneid"); the error text is the sandbox's own.
        // https://docs.aws.amazon.com/Route53/latest/APIReference/API_ListHostedZonesByName.html
        if (input.HostedZoneId !== undefined && startName === undefined) {
          throw invalidInput(
            'The hostedzoneid parameter can be specified only together with the dnsname parameter.',
          );
        }
        const maxItems = requireMaxItems(input.MaxItems, 100);
        const zones = store.listZones();
        let start = 0;
        if (startName !== undefined) {
          const key = sortKey(startName);
          const id = input.HostedZoneId === undefined ? '' : bareId(input.HostedZoneId);
          start = zones.findIndex((z) => {
            const c = compareAscii(sortKey(z.name), key);
            return c > 0 || (c === 0 && compareAscii(z.id, id) >= 0);
          });
          if (start < 0) start = zones.length;
        }
        const page = zones.slice(start, start + Math.min(maxItems, 100, ctx.pageSize ?? 100));
        const next = zones[start + page.length];
        return {
          HostedZones: page.map(hostedZoneView),
          DNSName: input.DNSName,
          HostedZoneId: input.HostedZoneId,
          IsTruncated: next !== undefined,
          MaxItems: maxItems,
          NextDNSName: next?.name,
          NextHostedZoneId: next?.id,
        };
      },

      /**
       * Record sets sorted by reversed-label name then type, from the first one at or after
       * (StartRecordName, StartRecordType); StartRecordType without StartRecordName is
       * InvalidInput; at most MaxItems (default and ceiling 300) a page.
       * https://docs.aws.amazon.com/Route53/latest/APIReference/API_ListResourceRecordSets.html
       */
      ListResourceRecordSets(input: {
        HostedZoneId?: string;
        StartRecordName?: string;
        StartRecordType?: string;
        StartRecordIdentifier?: string;
        MaxItems?: number;
      }) {
        const records = store.recordSets(input.HostedZoneId ?? '');
        if (input.StartRecordType !== undefined && input.StartRecordName === undefined) {
          throw invalidInput(
            'The input is not valid: you must specify StartRecordName if you specify StartRecordType.',
          );
        }
        if (input.StartRecordType !== undefined) requireType(input.StartRecordType, 'type');
        const maxItems = requireMaxItems(input.MaxItems, 300);
        let start = 0;
        if (input.StartRecordName !== undefined) {
          const key = sortKey(normalizeName(input.StartRecordName));
          const type = input.StartRecordType ?? '';
          start = records.findIndex((r) => {
            const c = compareAscii(sortKey(r.name), key);
            return c > 0 || (c === 0 && compareAscii(r.type, type) >= 0);
          });
          if (start < 0) start = records.length;
        }
        const page = records.slice(start, start + Math.min(maxItems, 300, ctx.pageSize ?? 300));
        const next = records[start + page.length];
        return {
          ResourceRecordSets: page.map((r) => ({
            Name: r.name,
            Type: r.type,
            TTL: r.ttl,
            ResourceRecords: r.values.map((Value) => ({ Value })),
          })),
          IsTruncated: next !== undefined,
          MaxItems: maxItems,
          NextRecordName: next?.name,
          NextRecordType: next?.type,
        };
      },

      /** https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html */
      ChangeResourceRecordSets(input: {
        HostedZoneId?: string;
        ChangeBatch?: { Changes?: ChangeInput[]; Comment?: string };
      }) {
        const zone = store.requireZone(input.HostedZoneId ?? '');
        const change = store.changeRecordSets(
          zone.id,
          input.ChangeBatch?.Changes ?? [],
          input.ChangeBatch?.Comment,
        );
        return { ChangeInfo: changeInfoView(change) };
      },

      /** https://docs.aws.amazon.com/Route53/latest/APIReference/API_GetChange.html */
      GetChange(input: { Id?: string }) {
        const change = store.changeStatus(input.Id ?? '');
        if (!change)
          throw new AwsFault('NoSuchChange', 'A change with the specified change ID does not exist.');
        return { ChangeInfo: changeInfoView(change) };
      },

      /**
       * What a Route 53 name server answers for the name and type, over UDP. The operation
       * "only supports querying public hosted zones"; for a private zone the sandbox answers
       * InvalidInput, the operation's documented client error (the exact AWS text is not
       * documented). https://docs.aws.amazon.com/Route53/latest/APIReference/API_TestDNSAnswer.html
       */
      TestDNSAnswer(input: { HostedZoneId?: string; RecordName?: string; RecordType?: string }) {
        const zone = store.requireZone(input.HostedZoneId ?? '');
        if (zone.private) {
          throw invalidInput(
            `TestDNSAnswer supports only public hosted zones; ${zone.id} is a private hosted zone.`,
          );
        }
        const type = requireType(input.RecordType, 'recordType');
        const answer = store.answer(zone.id, input.RecordName ?? '', type);
        return {
          Nameserver: zone.nameServers[0],
          RecordName: input.RecordName,
          RecordType: type,
          RecordData: answer.data,
          ResponseCode: answer.code,
          Protocol: 'UDP',
        };
      },
    },
  };
}
