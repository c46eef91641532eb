import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MigrationState, MigrationSummary } from '../../lambdas/migration/state.js';
import { runMigration } from '../../sandbox/workflow.js';
import type { Workload } from '../../sandbox/workload.js';
import {
  type LiveBed,
  type StepCall,
  sleep,
  startLiveBed,
  statesEntered,
  wrapFunction,
} from '../support/live.js';

/**
 * Change tracking (keyspace notifications on the source, through a copy of its default parameter
 * group) while the application writes: the freeze copies only the noted keys, the parameter group
 * goes back afterwards, and a cut in the notification stream falls back to a whole pass. Also:
 * ElastiCache's own ElastiCacheMasterReplicationTimestamp is never copied nor counted.
 */
let bed: LiveBed;

beforeAll(async () => {
  // The tracked pass before the freeze shares one invocation with the freeze: the invocation's
  // budget less the freeze budget must leave room for a whole pass.
  bed = await startLiveBed(['plain'], { VERIFY_TIME_BUDGET_MS: '10000' });
}, 120_000);
afterAll(() => bed?.stop());

const TIMESTAMP_KEY = 'ElastiCacheMasterReplicationTimestamp';

async function migrate(
  workload: Workload,
  input: Record<string, unknown>,
  functions = bed.handlers,
): Promise<{ result: Awaited<ReturnType<typeof runMigration>>; summary: MigrationSummary }> {
  workload.start();
  const result = await runMigration({
    functions,
    executionName: `live-tracking-${Date.now()}`,
    input: {
      sourceReplicationGroupId: 'plain',
      dnsRecords: [bed.dnsRecord('plain')],
      pollIntervalSeconds: 1,
      ...input,
    },
    waitMs: 10,
    retryMs: 10,
  });
  await sleep(1000);
  await workload.stop();
  expect(result.error, result.cause).toBeUndefined();
  return { result, summary: result.output as MigrationSummary };
}

async function expectNothingLost(workload: Workload, targetId: string) {
  expect(workload.stats.byGroup.plain).toBeGreaterThan(0);
  expect(workload.stats.byGroup[targetId]).toBeGreaterThan(0);
  expect(await bed.groupBehind(await bed.cname('plain'))).toBe(targetId);
  const verdict = await workload.verify();
  expect(verdict.lost).toEqual([]);
  expect(
    verdict.counters.every((c) => c.ok),
    JSON.stringify(verdict.counters),
  ).toBe(true);
  expect(verdict.checked).toBeGreaterThan(100);
}

/** The change-tracking function, recording the copy of the default parameter group it made. */
function recordingCopies(copies: Set<string>, functions = bed.handlers) {
  return wrapFunction(functions, 'change-tracking', async (event: StepCall, real) => {
    const out = await real(event);
    const copy = out.progress.changeTracking?.change?.createdCopy;
    if (copy) copies.add(copy);
    return out;
  });
}

describe.sequential('change tracking while the application writes', () => {
  it.each([
    ['deletes the source', true],
    ['keeps the source', false],
  ] as const)(
    'copies only the noted keys under the freeze, then puts the parameter group back (%s)',
    async (_, deleteSource) => {
      await bed.reset();
      await bed.seed('plain', 3000);
      const parameterGroupsBefore = await bed.parameterGroupsOf('plain');
      expect(parameterGroupsBefore.length).toBeGreaterThan(0);
      expect(parameterGroupsBefore.every((name) => name.startsWith('default.'))).toBe(true);
      const customBefore = await bed.parameterGroupNames();
      const copies = new Set<string>();
      const workload = bed.workloadFor('plain');
      try {
        const { result, summary } = await migrate(
          workload,
          { cutover: { changeTracking: true, freezeBudgetSeconds: 5 }, deleteSource },
          recordingCopies(copies),
        );
        expect(summary.cutover).toMatchObject({ method: 'pause', changeTracking: true });
        expect(summary.warnings.join('\n')).not.toContain('Change tracking was not used');
        const path = statesEntered(result);
        expect(path).toContain('EnableChangeTracking');
        expect(path).toContain('RestoreChangeTracking');

        // The copy of the default group was made for the migration, and is gone afterwards.
        expect([...copies]).toEqual([expect.stringMatching(/^plain-mig-[0-9a-f]{8}$/)]);
        expect(await bed.parameterGroupNames()).toEqual(customBefore);
        expect([...bed.sandbox.elasticache.parameterGroups.keys()]).not.toContain([...copies][0]);
        if (deleteSource) {
          expect(summary.source.deleted).toBe(true);
          expect(await bed.groupIds()).toEqual([summary.target.id]);
        } else {
          // The kept source is back on its default parameter group.
          expect(summary.outcome).toBe('migrated-source-kept');
          expect(await bed.groupIds()).toEqual(['plain', summary.target.id]);
          expect(await bed.parameterGroupsOf('plain')).toEqual(parameterGroupsBefore);
          expect(bed.sandbox.elasticache.groups.get('plain')?.parameterGroup).toBe(parameterGroupsBefore[0]);
        }
        await expectNothingLost(workload, summary.target.id);
      } finally {
        await workload.stop();
      }
    },
  );

  it('a cut in the notification stream during the freeze falls back to a whole pass and loses nothing', async () => {
    await bed.reset();
    await bed.seed('plain', 3000);
    const workload = bed.workloadFor('plain');
    let killed = 0;
    let freezes = 0;
    const returned: MigrationState[] = [];
    const functions = wrapFunction(bed.handlers, 'verify-data', async (event, real) => {
      if (event.action !== 'freeze-flip') return real(event);
      freezes++;
      // The tracker's subscribers are closed as soon as they are there, from a connection of
      // our own to the source's primary (as a network blip or an output buffer limit would).
      const direct = bed.primary('plain');
      direct.on('error', () => {});
      let running = true;
      const cutter = (async () => {
        while (running && killed === 0) {
          try {
            const list = String(await direct.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
            if (/psub=[1-9]/.test(list))
              killed += Number(await direct.call('CLIENT', 'KILL', 'TYPE', 'pubsub'));
          } catch {
            // the cutover closes this connection too after the flip
          }
          await sleep(5);
        }
      })();
      try {
        const out = await real(event);
        returned.push(out);
        return out;
      } finally {
        running = false;
        await cutter;
        direct.disconnect();
      }
    });
    try {
      const { summary } = await migrate(
        workload,
        { cutover: { changeTracking: true, freezeBudgetSeconds: 5 } },
        functions,
      );
      expect(killed).toBeGreaterThan(0);
      expect(freezes).toBe(1);
      expect(returned[0]?.progress.freeze).toMatchObject({ outcome: 'flipped', tracked: false });
      // Change tracking was asked for, and the summary says it was not used, and why.
      expect(summary.cutover?.changeTracking).toBe(false);
      expect(summary.warnings.join('\n')).toContain(
        'Change tracking was not used for the final copy: the change stream has a gap (the subscriber on',
      );
      expect(summary.warnings.join('\n')).toContain('a whole pass under the freeze instead');
      await expectNothingLost(workload, summary.target.id);
    } finally {
      await workload.stop();
    }
  });

  it('ElastiCacheMasterReplicationTimestamp stays each group’s own', async () => {
    await bed.reset();
    await bed.seed('plain', 3000);
    const workload = bed.workloadFor('plain');
    let source: Redis | undefined;
    let target: Redis | undefined;
    try {
      const { summary } = await migrate(workload, {
        cutover: { freezeBudgetSeconds: 5 },
        deleteSource: false,
      });
      // Migrated without a difference reported: the final check (zero tolerance) did not count
      // the key, whose value is each primary's own clock.
      expect(summary.outcome).toBe('migrated-source-kept');
      expect(summary.cutover?.keysCopied).toBeGreaterThan(0);
      expect(summary.warnings.join('\n')).toContain("The source 'plain' was kept: it holds every write");

      source = bed.primary('plain');
      target = bed.primary(summary.target.id);
      const onSource = await source.get(TIMESTAMP_KEY);
      const onTarget = await target.get(TIMESTAMP_KEY);
      expect(onSource).toEqual(expect.any(String));
      expect(onTarget).toEqual(expect.any(String));
      expect(onTarget).not.toBe(onSource);
      // The new group's clock goes on; the source's stopped at the flip (its writes are held).
      await sleep(500);
      expect(Date.parse((await target.get(TIMESTAMP_KEY))!)).toBeGreaterThan(Date.parse(onTarget!));
      expect(await source.get(TIMESTAMP_KEY)).toBe(onSource);
      expect(Date.parse(onTarget!)).toBeGreaterThan(Date.parse(onSource!));
      await expectNothingLost(workload, summary.target.id);
    } finally {
      source?.disconnect();
      target?.disconnect();
      await workload.stop();
    }
  });
});
