import type { CacheCluster, ReplicationGroup } from '@aws-sdk/client-elasticache';
import { BackupHeadroomError } from '../../shared/errors.js';
import type { MigrationInput } from '../input.js';

/** A rule's finding (rules.ts, Finding): the rules of this file are listed there. */
type Finding = { refusal: Error } | { warning: string };

/**
 * Backups the source can survive and a window they fit in (docs/aws-behaviour.md, Backups): a
 * backup (BGSAVE, the migration's own first step and every daily backup after it) copies memory
 * pages as writes arrive, so the node needs headroom (`reserved-memory-percent` 25, or
 * `reserved-memory` of at least a quarter of the node's memory); and the daily backup window
 * should last at least 60 minutes and not overlap the weekly maintenance window.
 */
export const MIN_RESERVED_PERCENT = 25;
export const MIN_BACKUP_WINDOW_MINUTES = 60;

/** The source's headroom parameters, from DescribeCacheParameters of its parameter group. */
export interface HeadroomParameters {
  group: string;
  reservedMemoryPercent?: number;
  /** Bytes (`reserved-memory`); 0 or absent when the percent form is used. */
  reservedMemory?: number;
}

/**
 * Memory (maxmemory, GiB) of the common node types, by family and size, from ElastiCache's table
 * of node-type-specific parameters; families of the same kind share their sizes' memory.
 */
const MEMORY_GIB: Record<string, Record<string, number>> = {
  t: { micro: 0.5, small: 1.37, medium: 3.09 },
  m: {
    large: 6.38,
    xlarge: 12.93,
    '2xlarge': 26.04,
    '4xlarge': 52.26,
    '12xlarge': 157.12,
    '24xlarge': 314.32,
  },
  r: {
    large: 13.07,
    xlarge: 26.32,
    '2xlarge': 52.82,
    '4xlarge': 105.81,
    '12xlarge': 317.77,
    '24xlarge': 635.61,
  },
};

/** The node's memory in bytes, or undefined for a node type outside the table. */
export function nodeMemoryBytes(nodeType: string): number | undefined {
  const [, family, size] = /^cache\.([a-z]+)\d+[a-z]*\.(\w+)$/.exec(nodeType) ?? [];
  const kind = family === 't' || family === 'm' || family === 'r' ? family : undefined;
  const gib = kind && size ? MEMORY_GIB[kind]?.[size] : undefined;
  return gib === undefined ? undefined : Math.round(gib * 1024 ** 3);
}

/** Low headroom, and what to change, or undefined when the source leaves enough. */
export function headroomProblem(nodeType: string, p: HeadroomParameters | undefined): string | undefined {
  if (!p) return undefined;
  const percent = p.reservedMemoryPercent ?? 0;
  if (percent >= MIN_RESERVED_PERCENT) return undefined;
  const memory = nodeMemoryBytes(nodeType);
  const bytes = p.reservedMemory ?? 0;
  if (bytes > 0) {
    if (memory === undefined) return undefined; // cannot judge bytes for an unknown node type
    if (bytes >= memory * (MIN_RESERVED_PERCENT / 100)) return undefined;
    return `reserved-memory is ${bytes} bytes in parameter group '${p.group}', under a quarter of the ${memory} bytes of a ${nodeType} node`;
  }
  return `reserved-memory-percent is ${percent} in parameter group '${p.group}' (under ${MIN_RESERVED_PERCENT})`;
}

/** Rule `backup-headroom` (rules.ts): a warning, or a refusal with backups.refuseLowHeadroom. */
export function headroomFindings({
  input,
  derived: { nodeType },
  details,
}: {
  input: Pick<MigrationInput, 'backups'>;
  derived: { nodeType: string };
  details: { parameters?: HeadroomParameters };
}): Finding[] {
  {
    const problem = headroomProblem(nodeType, details.parameters);
    if (!problem) return [];
    const what = `Low memory headroom for backups: ${problem}. A backup (the migration's first step, and every daily backup of the new group, which keeps this parameter group) copies memory pages as writes arrive and can run the node out of memory. Set reserved-memory-percent to ${MIN_RESERVED_PERCENT} (a custom parameter group: default groups cannot be changed) and let it apply before migrating.`;
    if (input.backups.refuseLowHeadroom)
      return [{ refusal: new BackupHeadroomError(`${what} Refused: backups.refuseLowHeadroom is on.`) }];
    return [{ warning: what }];
  }
}

// ---- Windows: `hh:mm-hh:mm` (daily backups), `ddd:hh:mm-ddd:hh:mm` (weekly maintenance).

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const DAY = 1440;

const minutes = (hhmm: string) => {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
};
const clock = (minute: number) => {
  const m = ((minute % DAY) + DAY) % DAY;
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
};

/** A daily window as [start, length) in minutes of the day. */
export function parseDailyWindow(window: string | undefined): { start: number; length: number } | undefined {
  const match = /^(\d{2}:\d{2})-(\d{2}:\d{2})$/.exec(window ?? '');
  if (!match) return undefined;
  const start = minutes(match[1]!);
  const length = (minutes(match[2]!) - start + DAY) % DAY || DAY;
  return { start, length };
}

/** A weekly window as [start, length) in minutes of the week (Sunday 00:00 is 0). */
export function parseWeeklyWindow(window: string | undefined): { start: number; length: number } | undefined {
  const match = /^([a-z]{3}):(\d{2}:\d{2})-([a-z]{3}):(\d{2}:\d{2})$/.exec((window ?? '').toLowerCase());
  if (!match) return undefined;
  const week = 7 * DAY;
  const at = (day: string, hhmm: string) => DAYS.indexOf(day) * DAY + minutes(hhmm);
  if (!DAYS.includes(match[1]!) || !DAYS.includes(match[3]!)) return undefined;
  const start = at(match[1]!, match[2]!);
  return { start, length: (at(match[3]!, match[4]!) - start + week) % week || week };
}

/** Does a daily window meet the weekly one on any day of the week? */
export function overlaps(
  daily: { start: number; length: number },
  weekly: { start: number; length: number },
) {
  const week = 7 * DAY;
  for (let day = 0; day < 7; day++) {
    const a = day * DAY + daily.start;
    // Compare [a, a+len) with the weekly window and its copy one week later (wrap-around).
    for (const shift of [0, week, -week]) {
      const b = weekly.start + shift;
      if (a < b + weekly.length && b < a + daily.length) return true;
    }
  }
  return false;
}

/**
 * What is wrong with the backup window, and the window the new group gets instead (at least 60
 * minutes, starting an hour after the maintenance window ends when it overlapped it).
 */
export function backupWindowFix(
  snapshotWindow: string | undefined,
  maintenanceWindow: string | undefined,
): { problems: string[]; window?: string } {
  const daily = parseDailyWindow(snapshotWindow);
  if (!daily) return { problems: [] };
  const weekly = parseWeeklyWindow(maintenanceWindow);
  const problems: string[] = [];
  let { start, length } = daily;
  if (length < MIN_BACKUP_WINDOW_MINUTES) {
    problems.push(
      `the backup window ${snapshotWindow} lasts ${length} minutes (under ${MIN_BACKUP_WINDOW_MINUTES})`,
    );
    length = MIN_BACKUP_WINDOW_MINUTES;
  }
  if (weekly && overlaps(daily, weekly)) {
    problems.push(`the backup window ${snapshotWindow} overlaps the maintenance window ${maintenanceWindow}`);
  }
  if (weekly && overlaps({ start, length }, weekly)) {
    start = (weekly.start + weekly.length + 60) % DAY;
    if (overlaps({ start, length }, weekly)) return { problems }; // no room left to move it
  }
  if (problems.length === 0) return { problems };
  return { problems, window: `${clock(start)}-${clock(start + length)}` };
}

/** Rule `backup-window` (rules.ts): a warning that says the window the new group gets. */
export function windowFindings({
  source,
  details,
}: {
  source: ReplicationGroup;
  details: { member?: CacheCluster };
}): Finding[] {
  {
    const { problems, window } = backupWindowFix(
      source.SnapshotWindow,
      details.member?.PreferredMaintenanceWindow,
    );
    if (problems.length === 0) return [];
    return [
      {
        warning: `Backup window: ${problems.join('; ')}. A backup that is cut short or competes with maintenance can fail or slow the node. ${window ? `The new group gets ${window} instead (the plan's changes list it); change the source's too if it stays.` : 'No window fits beside the maintenance window: shorten the maintenance window.'}`,
      },
    ];
  }
}
