import { createHash } from 'node:crypto';

/**
 * Deterministic names, so a step that runs twice finds what its first run created.
 * ElastiCache ids: 1–40 letters, digits, hyphens; start with a letter; no `--`; no trailing
 * hyphen; stored lowercase (docs/aws-behaviour.md: Restore).
 */
export const MAX_ID_LENGTH = 40;

export function shortIdOf(migrationId: string): string {
  return createHash('sha256').update(migrationId).digest('hex').slice(0, 8);
}

function join(base: string, suffix: string): string {
  const room = MAX_ID_LENGTH - suffix.length - 1;
  const trimmed = base.toLowerCase().slice(0, room).replace(/-+$/, '');
  return `${trimmed}-${suffix}`;
}

export function derivedTargetId(sourceId: string): string {
  return derivedTarget(sourceId).id;
}

/** How a target id was derived from the source id (the plan records it: `target.idDerivation`). */
export type TargetIdDerivation = 'source-atrest' | 'source-trimmed-atrest' | 'source-trimmed-atrest2';

/**
 * The target id when the operator gave none: `<source>-atrest`, the source trimmed to fit 40
 * characters. A 40-character source that already ends in `-atrest` would get its own id back,
 * so it gets `-atrest2` instead: always a valid id, always different from the source.
 */
export function derivedTarget(sourceId: string): {
  id: string;
  how: TargetIdDerivation;
  alternate: boolean;
} {
  const source = sourceId.toLowerCase();
  const id = join(source, 'atrest');
  if (id !== source) {
    return {
      id,
      how: id === `${source}-atrest` ? 'source-atrest' : 'source-trimmed-atrest',
      alternate: false,
    };
  }
  return { id: join(source, 'atrest2'), how: 'source-trimmed-atrest2', alternate: true };
}

export function intermediateSnapshotName(sourceId: string, shortId: string): string {
  return join(sourceId, `mig-${shortId}`);
}

export function finalSnapshotName(sourceId: string, shortId: string): string {
  return join(sourceId, `final-${shortId}`);
}

/** Tags this tool puts on what it touches; IAM policies in infra/ key on them. */
export {
  ROLE_ALARM,
  ROLE_INTERMEDIATE_SNAPSHOT,
  ROLE_SOURCE,
  ROLE_SOURCE_ALARM,
  ROLE_TARGET,
  TAG_MIGRATION_ID,
  TAG_ROLE,
  TAG_SOURCE,
} from '../../statemachine/manifest.js';

/**
 * Alarms a migration creates are named `at-rest-migrator/<target id>/…`: the IAM policy lets the
 * tool write only alarms under this prefix (infra/lib/tags.ts, ALARM_NAME_PATTERN).
 */
export const ALARM_NAME_PREFIX = 'at-rest-migrator/';
