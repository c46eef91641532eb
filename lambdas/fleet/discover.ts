import {
  type ElastiCacheClient,
  paginateDescribeReplicationGroups,
  type ReplicationGroup,
} from '@aws-sdk/client-elasticache';
import type { S3Client } from '@aws-sdk/client-s3';
import { findGroup, tagsOf } from '../migration/aws.js';
import { readClaim } from '../migration/claim.js';
import { type BusyWait, isBusy, retryWhileBusy } from '../migration/group-state.js';
import { TAG_ROLE, TAG_SOURCE } from '../migration/naming.js';
import { type PreflightDeps, preflight } from '../migration/preflight/index.js';
import { MigrationError, runbookLink } from '../shared/errors.js';
import { nodesInRegion } from './admit.js';
import { type FleetInput, failureThreshold, parseFleetInput, windowClosesAt } from './input.js';
import { type Batch, type BatchSettings, createBatch, type GroupStatus, putRows } from './ledger.js';
import { childExecutionName } from './names.js';

export { childExecutionName };

import type { GroupReport } from './report-model.js';
import { putJson, reportKey } from './store.js';

/**
 * The DNS records of a group, by tag: `at-rest-migrator:dns` holds space-separated
 * `HOSTEDZONEID:record.name:endpoint[:lowerTtlTo]` entries (tag values allow letters, digits,
 * spaces and `_ . : / = + - @`, so no commas or semicolons), e.g.
 * `Z0123456789ABC:orders.example.internal:primary Z0123456789ABC:orders-ro.example.internal:reader:30`.
 * An input mapping (`dnsRecords`) for the group wins over the tag.
 */
export const TAG_DNS = 'at-rest-migrator:dns';

export function parseDnsTag(value: string): Record<string, unknown>[] {
  return value
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((entry) => {
      const parts = entry.split(':');
      if (parts.length < 3 || parts.length > 4 || parts.some((p) => p === ''))
        throw new Error(
          `'${entry}' is not HOSTEDZONEID:record.name:endpoint[:lowerTtlTo] (e.g. Z0123456789ABC:orders.example.internal:primary:30)`,
        );
      const [hostedZoneId, recordName, endpoint, ttl] = parts as [string, string, string, string?];
      if (ttl !== undefined && !/^\d+$/.test(ttl))
        throw new Error(`'${entry}': lowerTtlTo '${ttl}' is not a number`);
      return {
        hostedZoneId,
        recordName,
        endpoint,
        ...(ttl !== undefined ? { lowerTtlTo: Number(ttl) } : {}),
      };
    });
}

export interface DiscoverEvent {
  input: unknown;
  /** The fleet execution's name: the batch id unless the input names one. */
  executionName: string;
  executionArn?: string;
  startedAt?: string;
}

export interface DiscoverResult {
  batchId: string;
  dryRun: boolean;
  maxConcurrency: number;
  /** The Map's items: the groups whose migration may start. */
  items: { groupId: string }[];
  counts: Record<string, number>;
  planKey: string;
}

export type DiscoverDeps = PreflightDeps & { s3: S3Client; bucket: string };

const nodesOf = (group: ReplicationGroup) => group.MemberClusters?.length ?? 0;

/**
 * How long discovery waits for a busy group (its tags, its preflight): long enough for the
 * `modifying` of a tag change, not for a backup, which lasts minutes (the group is refused for
 * this batch instead). A migration's own preflight waits longer (BUSY_WAIT); here a fleet full of
 * groups in their backup windows would otherwise hold the one planning invocation for minutes.
 */
export const DISCOVERY_BUSY_WAIT: BusyWait = { budgetMs: 5_000, firstDelayMs: 200, maxDelayMs: 2_000 };

/**
 * Finds the groups of the batch, plans each (a dry run of the per-group preflight: the exact
 * CreateReplicationGroup request, or the refusal), records the ledger and the plan (S3), and
 * returns the groups that may start. Reads only, apart from the ledger and the plan: a group
 * is never changed here.
 */
export async function discover(
  event: DiscoverEvent,
  deps: DiscoverDeps,
  now = Date.now(),
): Promise<DiscoverResult> {
  const input = parseFleetInput(event.input);
  const busyWait = deps.busyWait ?? DISCOVERY_BUSY_WAIT;
  const batchId = input.batchId ?? event.executionName.slice(0, 32).replace(/[^A-Za-z0-9-]/g, '-');
  const startedAt = event.startedAt ? Date.parse(event.startedAt) : now;
  const groups = await listGroups(deps.elasticache);
  const byId = new Map(groups.map((g) => [g.ReplicationGroupId ?? '', g]));
  const rows: GroupReport[] = [];

  // Groups this tool made (targets of migrations) and the sources they replaced.
  // ElastiCache reads a group's tags only while it is `available` (docs/aws-behaviour.md, Tagging
  // and group state): a group in its daily backup window answers InvalidReplicationGroupStateFault
  // for as long as the backup runs. Such a group's tags are `undefined` (unknown) here, after a
  // short wait, instead of failing the whole batch.
  const tagsById = new Map<string, Record<string, string> | undefined>();
  const readTags = async (g: ReplicationGroup) => {
    const id = g.ReplicationGroupId ?? '';
    if (!tagsById.has(id)) {
      const tags = g.ARN
        ? await retryWhileBusy(() => tagsOf(deps.elasticache, g.ARN!), busyWait).catch((error) => {
            if (isBusy(error)) return undefined;
            throw error;
          })
        : {};
      tagsById.set(id, tags);
    }
    return tagsById.get(id);
  };
  const migratedSources = new Map<string, string>();
  await pool(
    groups.filter((g) => g.AtRestEncryptionEnabled),
    8,
    async (g) => {
      // An encrypted group whose tags cannot be read now may be the target of a kept source's
      // earlier migration. That source is still safe from a second migration: its records point
      // at the target (preflight refuses with DnsRecordMismatchError), and the derived target id
      // is taken (TargetExistsError).
      const tags = (await readTags(g)) ?? {};
      if (tags[TAG_ROLE] === 'target' && tags[TAG_SOURCE])
        migratedSources.set(tags[TAG_SOURCE], g.ReplicationGroupId ?? '');
    },
  );
  const unreadable: ReplicationGroup[] = [];

  const selected: ReplicationGroup[] = [];
  for (const id of input.selection.groupIds ?? []) {
    if (byId.has(id)) continue;
    rows.push(
      refusedRow(
        id,
        0,
        'SourceNotFoundError',
        `Replication group '${id}' (listed in selection.groupIds) does not exist in this account and Region.`,
      ),
    );
  }
  await pool(groups, 8, async (g) => {
    const id = g.ReplicationGroupId ?? '';
    if (input.selection.groupIds && !input.selection.groupIds.includes(id)) return;
    if (
      input.selection.engines &&
      !input.selection.engines.includes((g.Engine ?? 'redis') as 'redis' | 'valkey')
    )
      return;
    if (g.Status === 'deleting') return;
    const tags = input.selection.tags || !input.dnsRecords[id] ? await readTags(g) : {};
    if (!tags) {
      // Whether it is selected (its tags) or where its records are (its DNS tag) is unknown. An
      // encrypted one needs nothing either way, and is left out of the report (it may not be
      // selected); an unencrypted one is refused for this batch.
      if (!g.AtRestEncryptionEnabled) unreadable.push(g);
      return;
    }
    if (tags[TAG_ROLE] === 'target') return; // a group this tool created
    if (input.selection.tags && !Object.entries(input.selection.tags).every(([k, v]) => tags[k] === v))
      return;
    selected.push(g);
  });
  selected.sort((a, b) => (a.ReplicationGroupId ?? '').localeCompare(b.ReplicationGroupId ?? ''));
  for (const g of unreadable) {
    const id = g.ReplicationGroupId ?? '';
    const status = (await findGroup(deps.elasticache, id))?.Status ?? g.Status;
    rows.push(
      refusedRow(
        id,
        nodesOf(g),
        'SourceNotAvailableError',
        `Replication group '${id}' is '${status}' (a backup, its daily window at ${g.SnapshotWindow ?? 'an unknown time'} UTC, or a change in progress): ElastiCache does not let its tags be read until it is 'available', so the batch cannot tell whether it is selected or where its records are. The next batch takes it; schedule batches away from the backup windows.`,
        g.Engine ?? 'redis',
      ),
    );
  }

  const candidates: GroupReport[] = [];
  // The groups of a fleet name the same key, zones, parameter and subnet groups: read each once.
  const planDeps: DiscoverDeps = { ...deps, busyWait, sharedReads: deps.sharedReads ?? new Map() };
  await pool(selected, 4, async (g) => {
    const row = await planGroup(
      g,
      input,
      batchId,
      planDeps,
      tagsById.get(g.ReplicationGroupId ?? '') ?? {},
      migratedSources,
      now,
    );
    rows.push(row);
    if (row.outcome === 'planned') candidates.push(row);
  });
  rows.sort((a, b) => a.groupId.localeCompare(b.groupId));
  candidates.sort((a, b) => a.groupId.localeCompare(b.groupId));

  const settings: BatchSettings = {
    batchId,
    ...(event.executionArn ? { executionArn: event.executionArn } : {}),
    startedAt: new Date(startedAt).toISOString(),
    ...(windowClosesAt(input, startedAt) !== undefined
      ? { windowClosesAt: windowClosesAt(input, startedAt) }
      : {}),
    threshold: failureThreshold(input),
    nodesPerRegion: input.quotas.nodesPerRegion,
    headroomWaitSeconds: input.headroomWaitSeconds,
    reportPrefix: input.reportPrefix,
    dryRun: input.dryRun,
    maxConcurrency: input.maxConcurrency,
  };
  const statuses: Record<string, GroupStatus> = Object.fromEntries(
    candidates.map((c) => [c.groupId, { s: 'planned', n: c.nodes } as GroupStatus]),
  );
  const batch: Omit<Batch, 'version' | 'nodes'> = {
    settings,
    total: candidates.length,
    groups: statuses,
    order: rows.map((r) => r.groupId),
  };
  // The Region's nodes, counted once here: the first admissions use this count instead of all
  // reading the Region at the same instant (maxConcurrency of them start together).
  const nodesRead = input.dryRun
    ? undefined
    : { at: Date.now(), started: 0, count: await nodesInRegion(deps.elasticache) };
  const existing = await createBatch(deps.dynamodb, batch, nodesRead);
  // A redriven discovery keeps the rows of groups that already have an outcome.
  const fresh = rows.filter(
    (r) => existing.groups[r.groupId]?.s !== 'done' && existing.groups[r.groupId]?.s !== 'running',
  );
  await putRows(deps.dynamodb, batchId, fresh);
  const planKey = reportKey(input.reportPrefix, batchId, 'plan.json');
  await putJson(deps.s3, deps.bucket, planKey, { batchId, settings, groups: rows });
  const counts: Record<string, number> = {};
  for (const row of rows) counts[row.outcome] = (counts[row.outcome] ?? 0) + 1;
  return {
    batchId,
    dryRun: input.dryRun,
    maxConcurrency: input.maxConcurrency,
    items: existing.order.filter((id) => existing.groups[id]).map((groupId) => ({ groupId })),
    counts,
    planKey,
  };
}

async function listGroups(client: ElastiCacheClient): Promise<ReplicationGroup[]> {
  const groups: ReplicationGroup[] = [];
  for await (const page of paginateDescribeReplicationGroups({ client }, { MaxRecords: 100 }))
    groups.push(...(page.ReplicationGroups ?? []));
  return groups;
}

function refusedRow(
  groupId: string,
  nodes: number,
  name: string,
  message: string,
  engine?: string,
): GroupReport {
  return {
    groupId,
    ...(engine ? { engine } : {}),
    nodes,
    outcome: 'refused',
    steps: [],
    error: { name, message, runbook: runbookLink(name) },
  };
}

async function planGroup(
  g: ReplicationGroup,
  input: FleetInput,
  batchId: string,
  deps: DiscoverDeps,
  tags: Record<string, string>,
  migratedSources: Map<string, string>,
  now: number,
): Promise<GroupReport> {
  const groupId = g.ReplicationGroupId ?? '';
  const base = { groupId, engine: g.Engine ?? 'redis', nodes: nodesOf(g), steps: [] };
  if (g.AtRestEncryptionEnabled)
    return { ...base, outcome: 'already-encrypted', message: 'Encrypted at rest already.' };
  const target = migratedSources.get(groupId);
  if (target)
    return {
      ...base,
      outcome: 'already-migrated',
      targetReplicationGroupId: target,
      message: `Migrated to '${target}' already (the source was kept).`,
    };
  if (g.GlobalReplicationGroupInfo?.GlobalReplicationGroupId)
    return refusedRow(
      groupId,
      base.nodes,
      'GlobalDatastoreMemberError',
      `'${groupId}' is a member of Global Datastore '${g.GlobalReplicationGroupInfo.GlobalReplicationGroupId}'; members cannot be migrated by restore. Migrate it outside the batch (runbooks/failures.md).`,
      base.engine,
    );
  if (g.ARN) {
    const claim = await readClaim(deps.dynamodb, g.ARN);
    if (claim)
      return {
        ...base,
        outcome: 'in-flight',
        executionName: claim.owner,
        ...(claim.executionArn ? { executionArn: claim.executionArn } : {}),
        message: `Being migrated by execution '${claim.owner}'; the batch leaves it alone.`,
      };
  }
  let dnsRecords: unknown[] = input.dnsRecords[groupId] ?? [];
  if (!input.dnsRecords[groupId] && tags[TAG_DNS] !== undefined) {
    try {
      dnsRecords = parseDnsTag(tags[TAG_DNS]);
    } catch (error) {
      return refusedRow(
        groupId,
        base.nodes,
        'InvalidInputError',
        `Tag ${TAG_DNS} of '${groupId}': ${(error as Error).message}. Fix the tag or map the group's records in the input's dnsRecords.`,
        base.engine,
      );
    }
  }
  const childInput: Record<string, unknown> = {
    ...input.migration,
    sourceReplicationGroupId: groupId,
    dnsRecords,
  };
  const executionName = childExecutionName(batchId, groupId);
  try {
    const state = await preflight(
      { input: { ...childInput, dryRun: true }, migrationId: executionName },
      deps,
      now,
    );
    if (state.outcome === 'already-encrypted')
      return {
        ...base,
        outcome: 'already-encrypted',
        message: state.message ?? 'Encrypted at rest already.',
      };
    const plan = state.plan;
    return {
      ...base,
      outcome: 'planned',
      input: childInput,
      executionName,
      dnsRecords: dnsRecords.length,
      ...(plan?.target?.id ? { targetReplicationGroupId: plan.target.id } : {}),
      ...(plan?.changes
        ? { changes: plan.changes.map((c) => `${c.setting}: ${c.from} → ${c.to} — ${c.reason}`) }
        : {}),
    };
  } catch (error) {
    if (!(error instanceof MigrationError)) throw error;
    if (error.name === 'MigrationInProgressError')
      return { ...base, outcome: 'in-flight', message: error.message };
    return refusedRow(groupId, base.nodes, error.name, error.message, base.engine);
  }
}

/** Runs `work` over `items`, at most `limit` at a time. */
export async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(workers);
}
