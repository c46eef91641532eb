/**
 * The tags the workflow puts on the resources it touches, and the values IAM conditions test.
 * The handlers in `lambdas/` write these tags; the policies in `permissions.ts` rely on them.
 */

/** Execution name of the migration that tagged the resource. */
export const TAG_MIGRATION_ID = 'at-rest-migrator:migration-id';

/** What the resource is to the migration. */
export const TAG_ROLE = 'at-rest-migrator:role';

/** The unencrypted group being migrated (added when its migration starts). */
export const ROLE_SOURCE = 'source';

/** The encrypted group created by the migration (set in the CreateReplicationGroup request). */
export const ROLE_TARGET = 'target';

/** The intermediate snapshot a migration takes (set in the CreateSnapshot request). */
export const ROLE_INTERMEDIATE_SNAPSHOT = 'intermediate-snapshot';

/** Operators put this tag on a secret (value `true`) to let the migrator read it. */
export const TAG_SECRET_ALLOWED = 'at-rest-migrator:allowed';

/**
 * Name patterns of the snapshots the workflow takes, as IAM resource-name wildcards. They follow
 * `lambdas/migration/naming.ts` (`<source>-mig-<shortid>` and `<source>-final-<shortid>`);
 * test/infra/permissions.test.ts checks the names it generates against these patterns.
 */
export const INTERMEDIATE_SNAPSHOT_PATTERN = '*-mig-*';
export const FINAL_SNAPSHOT_PATTERN = '*-final-*';

/** An alarm a migration created for the new group (set in the PutMetricAlarm request). */
export const ROLE_ALARM = 'alarm';

/** A source alarm marked for removal once the source is deleted. */
export const ROLE_SOURCE_ALARM = 'source-alarm';

/**
 * Names of the alarms a migration creates, as an IAM resource-name wildcard: they follow
 * `lambdas/migration/naming.ts` (`at-rest-migrator/<target id>/…`).
 */
export const ALARM_NAME_PATTERN = 'at-rest-migrator/*';
