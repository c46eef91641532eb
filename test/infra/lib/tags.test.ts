import { describe, expect, it } from 'vitest';
import { FINAL_SNAPSHOT_PATTERN, INTERMEDIATE_SNAPSHOT_PATTERN } from '../../../infra/lib/tags.js';
import * as naming from '../../../lambdas/migration/naming.js';

/** How IAM matches a resource-name wildcard. */
function matches(pattern: string, name: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return regex.test(name);
}

describe('the names and tags IAM relies on', () => {
  const shortId = naming.shortIdOf('migration-2026-11-22');
  const sources = ['orders-cache', 'a', 'x'.repeat(40), 'final-orders', 'mig-sessions'];

  it('keep the tag keys that existing claims and deployed policies carry', () => {
    // The handlers and the policies share one definition (statemachine/manifest.ts); what must
    // not drift is its value: a renamed key would orphan the claims of running migrations.
    expect(naming.TAG_MIGRATION_ID).toBe('at-rest-migrator:migration-id');
    expect(naming.TAG_ROLE).toBe('at-rest-migrator:role');
  });

  it.each(sources)('let the policies address the intermediate snapshot of %s, and only it', (source) => {
    const intermediate = naming.intermediateSnapshotName(source, shortId);
    expect(matches(INTERMEDIATE_SNAPSHOT_PATTERN, intermediate)).toBe(true);
    expect(matches(FINAL_SNAPSHOT_PATTERN, intermediate) && !source.includes('final')).toBe(false);
  });

  it.each(sources)('let the policies address the final snapshot of %s', (source) => {
    const final = naming.finalSnapshotName(source, shortId);
    expect(matches(FINAL_SNAPSHOT_PATTERN, final)).toBe(true);
  });

  it('do not let a derived target name pass for a snapshot', () => {
    const target = naming.derivedTargetId('orders-cache');
    expect(matches(INTERMEDIATE_SNAPSHOT_PATTERN, target)).toBe(false);
    expect(matches(FINAL_SNAPSHOT_PATTERN, target)).toBe(false);
  });
});
