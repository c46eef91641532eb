import { afterEach, describe, expect, it } from 'vitest';
import { ChangeTracker, catchUp, GroupControl, openPair, verify } from '../../../lambdas/verifier/index.js';
import { type Pair, restoredPair, sleep } from './helpers.js';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.stop();
  pair = undefined;
});

async function seeded(): Promise<Pair> {
  return restoredPair(async (client) => {
    for (let i = 0; i < 3000; i++) await client.set(`k:${i}`, `v${i}`);
    for (let i = 0; i < 50; i++)
      await client.hset(
        `h:${i}`,
        Object.fromEntries(Array.from({ length: 40 }, (_, j) => [`f${j}`, `${j}`])),
      );
    await client.select(3);
    for (let i = 0; i < 100; i++) await client.set(Buffer.from([0xff, 0x00, i]), `bin${i}`);
    await client.select(0);
  });
}

async function exactCheck(p: Pair) {
  return verify({
    source: p.sourceSpec,
    target: p.targetSpec,
    timeBudgetMs: 60_000,
    policy: { writesFrozen: true },
    tuning: { recheckRounds: 0 },
  });
}

describe('the catch-up', () => {
  it('copies writes, deletions and expiries made on the source after the snapshot, in every database', async () => {
    pair = await seeded();
    const { src, tgt } = pair;
    await src.set('k:1', 'changed');
    await src.incrby('counter', 41);
    await src.del('k:2');
    await src.set('new-with-expiry', 'x', 'PX', 600_000);
    await src.select(3);
    await src.set(Buffer.from([0xfe, 0x01]), 'binary');
    await src.select(0);
    await tgt.set('only-on-target', 'stale');
    expect((await exactCheck(pair)).verdict).toBe('fail');

    const result = await catchUp({ source: pair.sourceSpec, target: pair.targetSpec, timeBudgetMs: 60_000 });
    expect(result.done).toBe(true);
    expect(result.keysCopied).toBe(6);
    expect(await tgt.get('k:1')).toBe('changed');
    expect(await tgt.get('counter')).toBe('41');
    expect(await tgt.exists('k:2', 'only-on-target')).toBe(0);
    expect(await src.pexpiretime('new-with-expiry')).toBe(await tgt.pexpiretime('new-with-expiry'));
    expect((await exactCheck(pair)).verdict).toBe('pass');

    const again = await catchUp({ source: pair.sourceSpec, target: pair.targetSpec, timeBudgetMs: 60_000 });
    expect(again.keysCopied).toBe(0);
  });

  it('copies a key that expires within seconds, with its expiry, so it does not vanish early', async () => {
    pair = await seeded();
    await pair.src.set('short-lived', 'x', 'PX', 1500);
    const result = await catchUp({ source: pair.sourceSpec, target: pair.targetSpec, timeBudgetMs: 60_000 });
    expect(result.keysCopied).toBe(1);
    expect(await pair.tgt.get('short-lived')).toBe('x');
    expect(await pair.tgt.pexpiretime('short-lived')).toBe(await pair.src.pexpiretime('short-lived'));
  });

  it('resumes across calls with a cursor and still copies everything', async () => {
    pair = await seeded();
    for (let i = 0; i < 500; i++) await pair.src.set(`k:${i * 5}`, `new${i}`);
    let cursor: Awaited<ReturnType<typeof catchUp>>['cursor'];
    let copied = 0;
    let calls = 0;
    for (;;) {
      calls++;
      const r = await catchUp({
        source: pair.sourceSpec,
        target: pair.targetSpec,
        timeBudgetMs: 1,
        ...(cursor ? { cursor } : {}),
        tuning: { batchSize: 200 },
      });
      copied += r.keysCopied;
      if (r.done) break;
      cursor = r.cursor;
    }
    expect(calls).toBeGreaterThan(1);
    expect(copied).toBe(500);
    expect((await exactCheck(pair)).verdict).toBe('pass');
  });

  it("never copies or compares ElastiCache's own key", async () => {
    pair = await seeded();
    await pair.src.set('ElastiCacheMasterReplicationTimestamp', 'source-clock');
    await pair.tgt.set('ElastiCacheMasterReplicationTimestamp', 'target-clock');
    const r = await catchUp({ source: pair.sourceSpec, target: pair.targetSpec, timeBudgetMs: 60_000 });
    expect(r.keysCopied).toBe(0);
    expect(await pair.tgt.get('ElastiCacheMasterReplicationTimestamp')).toBe('target-clock');
    expect((await exactCheck(pair)).verdict).toBe('pass');
  });

  it('copies a long list of keys (the keys change tracking noted) in batches', async () => {
    pair = await seeded();
    const keys: Buffer[] = [];
    const pipe = pair.src.pipeline();
    for (let i = 0; i < 150_000; i++) {
      pipe.set(`noted:${i}`, `v${i}`);
      keys.push(Buffer.from(`noted:${i}`));
    }
    await pipe.exec();
    const copy = await openPair(pair.sourceSpec, pair.targetSpec);
    try {
      expect(await copy.copy(0, keys, { checkCopies: true })).toEqual({
        copied: 150_000,
        stillDifferent: 0,
        differing: [],
        conflicts: 0,
      });
    } finally {
      copy.close();
    }
    expect(await pair.tgt.get('noted:149999')).toBe('v149999');
    // 150,000 keys as one call's arguments overflow the stack: the list must be this long. Its
    // 150 batches take a minute on a loaded 2-core runner, so the limit is a hang guard, not a target.
  }, 240_000);

  it('with compare-and-set, leaves alone a key the target changed under the copy', async () => {
    pair = await seeded();
    await pair.src.set('k:7', 'from-source');
    const copy = await openPair(pair.sourceSpec, pair.targetSpec);
    try {
      // The target's state is read, then someone writes it before the copy lands.
      const keys = [Buffer.from('k:7'), Buffer.from('k:8')];
      await pair.src.set('k:8', 'also-from-source');
      const before = await copy.target.readForCopy(keys);
      await pair.tgt.set('k:7', 'written-on-target-meanwhile');
      const conflicts = await copy.target.compareAndCopy(
        keys,
        await copy.source.readForCopy(keys),
        before.map((b) => b.state),
      );
      expect(conflicts).toEqual([0]);
      expect(await pair.tgt.get('k:7')).toBe('written-on-target-meanwhile');
      expect(await pair.tgt.get('k:8')).toBe('also-from-source');
    } finally {
      copy.close();
    }
  });
});

describe('holding writes and tracking changes', () => {
  it('holds writes but not the checks during CLIENT PAUSE WRITE, and a release lets them through', async () => {
    pair = await seeded();
    const control = await GroupControl.open(pair.sourceSpec);
    try {
      await control.holdWrites(5_000);
      expect(await control.writesHeld()).toBe(true);
      const writer = pair.source.client();
      let acknowledged = false;
      const write = writer.set('during-freeze', '1').then(() => {
        acknowledged = true;
      });
      // The catch-up's read-only scripts run while writes wait.
      const r = await catchUp({ source: pair.sourceSpec, target: pair.targetSpec, timeBudgetMs: 60_000 });
      expect(r.done).toBe(true);
      expect(acknowledged).toBe(false);
      await control.releaseWrites();
      await write;
      expect(await pair.src.get('during-freeze')).toBe('1');
      writer.disconnect();
    } finally {
      control.close();
    }
  });

  it('notes every key written, expired or deleted, and reports a cut stream as a gap', async () => {
    pair = await seeded();
    const admin = pair.source.client();
    await admin.call('CONFIG', 'SET', 'notify-keyspace-events', 'KEA').catch(async () => {
      // The sandbox renames CONFIG for clients; its own operator name is used by the sandbox.
      const { adminCall } = (await import('../../../sandbox/redis/server.js')) as unknown as {
        adminCall: (c: unknown, ...a: string[]) => Promise<unknown>;
      };
      await adminCall(admin, 'CONFIG', 'SET', 'notify-keyspace-events', 'KEA');
    });
    const control = await GroupControl.open(pair.sourceSpec);
    const tracker = await ChangeTracker.start(control);
    try {
      await pair.src.set('a', '1');
      await pair.src.del('k:3');
      await pair.src.set('short', '1', 'PX', 20);
      await pair.src.select(5);
      await pair.src.set(Buffer.from([0x80, 0x81]), 'b');
      await pair.src.select(0);
      await pair.src.set('ElastiCacheMasterReplicationTimestamp', 'clock');
      await sleep(200);
      await pair.src.get('short'); // expired: deleted on access, notified
      await tracker.barrier();
      const noted = tracker.drain();
      expect((noted.get(0) ?? []).map((k) => k.toString()).sort()).toEqual(['a', 'k:3', 'short']);
      expect(noted.get(5)).toEqual([Buffer.from([0x80, 0x81])]);
      expect(tracker.gap).toBeUndefined();
      await control.killClients();
      await sleep(100);
      expect(tracker.gap).toMatch(/disconnected/);
    } finally {
      tracker.close();
      control.close();
      admin.disconnect();
    }
  });
});
