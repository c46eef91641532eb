/**
 * Name patterns of the snapshots the workflow takes, as IAM resource-name wildcards. They follow
 * `lambdas/migration/naming.ts` (`<source>-mig-<shortid>` and `<source>-final-<shortid>`);
 * test/infra/lib/tags.test.ts checks the names it generates against these patterns. The tag names
 * the policies test are in the workflow manifest (statemachine/manifest.ts).
 */
export const INTERMEDIATE_SNAPSHOT_PATTERN = '*-mig-*';
export const FINAL_SNAPSHOT_PATTERN = '*-final-*';

/**
 * Names of the alarms a migration creates, as an IAM resource-name wildcard: they follow
 * `lambdas/migration/naming.ts` (`at-rest-migrator/<target id>/…`).
 */
export const ALARM_NAME_PATTERN = 'at-rest-migrator/*';
