import {
  type Change,
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import type { Clients } from '../shared/clients.js';
import { DnsChangeError, DnsCutoverMismatchError, DnsRecordMismatchError } from '../shared/errors.js';
import { endpointOf, findGroup, findRecord, sameHost } from './aws.js';
import {
  checkDeadline,
  clearDeadline,
  completeStep,
  dnsProgress,
  requirePlan,
  setDeadline,
  startStep,
} from './progress.js';
import type { MigrationState, PlannedRecord } from './state.js';

type Deps = Pick<Clients, 'route53' | 'elasticache'>;

/** Groups records by hosted zone: one change batch per zone (a batch is all-or-nothing). */
function byZone(records: PlannedRecord[]): Map<string, PlannedRecord[]> {
  const zones = new Map<string, PlannedRecord[]>();
  for (const r of records) zones.set(r.hostedZoneId, [...(zones.get(r.hostedZoneId) ?? []), r]);
  return zones;
}

function upsert(record: PlannedRecord, value: string, ttl: number): Change {
  return {
    Action: 'UPSERT',
    ResourceRecordSet: {
      Name: record.recordName,
      Type: 'CNAME',
      TTL: ttl,
      ResourceRecords: [{ Value: value }],
    },
  };
}

/** Submits one UPSERT batch per zone; returns the change ids to wait for. */
export async function submitUpserts(
  route53: Route53Client,
  records: PlannedRecord[],
  recordValue: (r: PlannedRecord) => { value: string; ttl: number },
  comment: string,
): Promise<string[]> {
  const ids: string[] = [];
  for (const [zone, zoneRecords] of byZone(records)) {
    try {
      const out = await route53.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: zone,
          ChangeBatch: {
            Comment: comment.slice(0, 256),
            Changes: zoneRecords.map((r) => {
              const { value, ttl } = recordValue(r);
              return upsert(r, value, ttl);
            }),
          },
        }),
      );
      if (out.ChangeInfo?.Id) ids.push(out.ChangeInfo.Id);
    } catch (error) {
      if ((error as Error).name === 'InvalidChangeBatch' || (error as Error).name === 'NoSuchHostedZone') {
        throw new DnsChangeError(`Route 53 refused the change to zone ${zone}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      throw error;
    }
  }
  return ids;
}

/** True when every change is INSYNC. GetChange is the only way to know propagation finished. */
export async function changesInSync(route53: Route53Client, ids: string[]): Promise<boolean> {
  for (const id of ids) {
    const out = await route53.send(new GetChangeCommand({ Id: id }));
    if (out.ChangeInfo?.Status !== 'INSYNC') return false;
  }
  return true;
}

/**
 * Before the flip: checks each record still points at the source (or already at the target, on a
 * re-run), and lowers TTLs where asked, so clients pick up the flip quickly. The longest old TTL
 * is returned as the time to wait before the flip.
 */
export async function prepareCutover(
  state: MigrationState,
  { route53 }: Deps,
  now = Date.now(),
): Promise<MigrationState> {
  const plan = requirePlan(state);
  startStep(state, 'cutover', now);
  const dns = dnsProgress(state);
  for (const record of plan.dns) {
    const current = await findRecord(route53, record.hostedZoneId, record.recordName, 'CNAME');
    const value = current?.ResourceRecords?.[0]?.Value;
    if (!sameHost(value, record.originalValue)) {
      throw new DnsRecordMismatchError(
        `CNAME ${record.recordName} changed during the migration (now '${value ?? 'absent'}', was '${record.originalValue}'). Someone else is changing this record; the migration stops without touching it.`,
      );
    }
  }
  const lowering = plan.dns.filter((r) => r.lowerTtlTo !== undefined && r.lowerTtlTo < r.originalTtl);
  if (lowering.length > 0 && !dns.ttlLowered) {
    const ids = await submitUpserts(
      route53,
      lowering,
      (r) => ({ value: r.originalValue, ttl: r.lowerTtlTo! }),
      `at-rest migration ${plan.migrationId}: lower TTL before cutover`,
    );
    dns.pendingChangeId = ids.join(',');
    dns.pendingChangeKind = 'lower-ttl';
    dns.changeInSync = false;
    dns.ttlLowered = true;
    dns.waitSeconds = Math.max(...lowering.map((r) => r.originalTtl));
    setDeadline(state, 'dns', plan.options.timeouts.dnsChangeSeconds, now);
  } else if (!dns.pendingChangeId) {
    dns.changeInSync = true;
    dns.waitSeconds = 0;
  }
  return state;
}

/** One poll of the pending Route 53 change. */
export async function checkChange(
  state: MigrationState,
  { route53 }: Pick<Clients, 'route53'>,
  now = Date.now(),
) {
  requirePlan(state);
  const dns = dnsProgress(state);
  if (!dns.pendingChangeId) {
    dns.changeInSync = true;
    return state;
  }
  if (await changesInSync(route53, dns.pendingChangeId.split(','))) {
    dns.changeInSync = true;
    dns.pendingChangeId = undefined;
    clearDeadline(state, 'dns');
    return state;
  }
  checkDeadline(state, 'dns', now, `Route 53 change ${dns.pendingChangeId} (${dns.pendingChangeKind})`);
  dns.changeInSync = false;
  return state;
}

/** UPSERTs every record to the new group's endpoint, one all-or-nothing batch per zone. */
export async function flip(
  state: MigrationState,
  { route53, elasticache }: Deps,
  now = Date.now(),
): Promise<MigrationState> {
  const plan = requirePlan(state);
  const target = await findGroup(elasticache, plan.target.id);
  if (target?.Status !== 'available' || !state.progress.targetVerified) {
    throw new DnsCutoverMismatchError(
      `The new group '${plan.target.id}' is not verified and available; DNS is not moved.`,
    );
  }
  const ids = await submitUpserts(
    route53,
    plan.dns,
    (r) => {
      const endpoint = endpointOf(target, r.endpoint);
      if (!endpoint)
        throw new DnsCutoverMismatchError(`The new group has no ${r.endpoint} endpoint for ${r.recordName}.`);
      return { value: endpoint, ttl: r.lowerTtlTo ?? r.originalTtl };
    },
    `at-rest migration ${plan.migrationId}: cutover to ${plan.target.id}`,
  );
  const dns = dnsProgress(state);
  dns.flipped = true;
  dns.pendingChangeId = ids.join(',');
  dns.pendingChangeKind = 'flip';
  dns.changeInSync = ids.length === 0;
  state.deadlines.dns = new Date(now + plan.options.timeouts.dnsChangeSeconds * 1000).toISOString();
  return state;
}

/** Confirms every record now holds the new endpoint. */
export async function confirmCutover(
  state: MigrationState,
  { route53, elasticache }: Deps,
  now = Date.now(),
) {
  const plan = requirePlan(state);
  const target = await findGroup(elasticache, plan.target.id);
  const wrong: string[] = [];
  for (const record of plan.dns) {
    const expected = target ? endpointOf(target, record.endpoint) : undefined;
    const current = await findRecord(route53, record.hostedZoneId, record.recordName, 'CNAME');
    const value = current?.ResourceRecords?.[0]?.Value;
    if (!sameHost(value, expected))
      wrong.push(`${record.recordName} holds '${value ?? 'nothing'}', expected '${expected}'`);
  }
  if (wrong.length > 0) {
    throw new DnsCutoverMismatchError(
      `After the flip, DNS does not point at the new group:\n- ${wrong.join('\n- ')}`,
    );
  }
  dnsProgress(state).confirmed = true;
  completeStep(state, 'cutover', now);
  return state;
}
