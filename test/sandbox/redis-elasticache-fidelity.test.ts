/**
 * What a client of a sandbox node meets that it would meet on ElastiCache: the restricted
 * commands are refused, and ElastiCache's own key ElastiCacheMasterReplicationTimestamp is kept
 * on the primary (docs/aws-behaviour.md: ElastiCache's own data and restricted commands).
 */
import { Cluster, type Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../sandbox/index.js';
import {
  REPLICATION_TIMESTAMP_CLIENT_NAME,
  REPLICATION_TIMESTAMP_KEY,
} from '../../sandbox/redis/dataplane.js';
import { adminCall } from '../../sandbox/redis/server.js';
import { connect } from './redis-dataplane-support.js';

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let sandbox: Sandbox;
const clients: Redis[] = [];

beforeAll(async () => {
  sandbox = await startSandbox({
    dataPlane: 'redis',
    fixture: {
      timeScale: 0.001,
      elasticache: {
        replicationGroups: [
          { id: 'orders', replicasPerShard: 1 },
          { id: 'catalog', clusterMode: 'enabled', shards: 3, replicasPerShard: 0 },
        ],
      },
    },
  });
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await sandbox?.stop();
});

function members(groupId: string) {
  return sandbox.elasticache.groups.get(groupId)!.shards.flatMap((s) => s.members);
}

async function clientOf(groupId: string, role: 'primary' | 'replica', index = 0): Promise<Redis> {
  const member = members(groupId).filter((m) => m.role === role)[index]!;
  const client = await connect(member.address!.host, member.address!.port);
  clients.push(client);
  return client;
}

describe('restricted commands on sandbox nodes', () => {
  it('refuses CONFIG, DEBUG, SAVE, BGSAVE, BGREWRITEAOF, REPLICAOF, SLAVEOF, SHUTDOWN and MIGRATE as unknown commands', async () => {
    const primary = await clientOf('orders', 'primary');
    const refused: [string, ...string[]][] = [
      ['CONFIG', 'GET', 'maxmemory'],
      ['DEBUG', 'SLEEP', '0'],
      ['SAVE'],
      ['BGSAVE'],
      ['BGREWRITEAOF'],
      ['REPLICAOF', 'NO', 'ONE'],
      ['SLAVEOF', 'NO', 'ONE'],
      ['SHUTDOWN', 'NOSAVE'],
      ['MIGRATE', '127.0.0.1', '1', 'k', '0', '1000'],
    ];
    for (const [command, ...args] of refused) {
      await expect(primary.call(command, ...args), command).rejects.toThrow(
        new RegExp(`^ERR unknown command '${command}'`, 'i'),
      );
    }
    // Still serving: SHUTDOWN did nothing.
    expect(await primary.ping()).toBe('PONG');
  });

  it('denies SYNC, PSYNC and ACL SETUSER/DELUSER/LOAD/SAVE to clients, while ACL WHOAMI and LIST still answer', async () => {
    const primary = await clientOf('orders', 'primary');
    for (const args of [
      ['SYNC'],
      ['PSYNC', '?', '-1'],
      ['ACL', 'SETUSER', 'intruder', 'on'],
      ['ACL', 'DELUSER', 'x'],
      ['ACL', 'LOAD'],
      ['ACL', 'SAVE'],
    ] as [string, ...string[]][]) {
      await expect(primary.call(...args), args.join(' ')).rejects.toThrow(/NOPERM/);
    }
    expect(await primary.call('ACL', 'WHOAMI')).toBe('default');
    expect(((await primary.call('ACL', 'LIST')) as string[]).some((u) => u.startsWith('user intruder'))).toBe(
      false,
    );
  });

  it('keeps what a migration needs: CLIENT PAUSE/UNPAUSE/LIST, SCAN, DUMP/RESTORE, EVAL, PEXPIRETIME, WAIT, INFO, PSUBSCRIBE', async () => {
    const primary = await clientOf('orders', 'primary');
    await primary.set('allowed:k', 'v', 'PX', 600_000);
    expect(await primary.call('CLIENT', 'PAUSE', '10', 'WRITE')).toBe('OK');
    expect(await primary.call('CLIENT', 'UNPAUSE')).toBe('OK');
    expect(String(await primary.call('CLIENT', 'LIST'))).toContain('cmd=');
    const [, keys] = await primary.scan('0', 'MATCH', 'allowed:*', 'COUNT', 1000);
    expect(keys).toEqual(['allowed:k']);
    const dumped = await primary.dumpBuffer('allowed:k');
    expect(await primary.restore('allowed:copy', 0, dumped)).toBe('OK');
    expect(await primary.eval("return redis.call('GET', KEYS[1])", 1, 'allowed:copy')).toBe('v');
    expect(Number(await primary.call('PEXPIRETIME', 'allowed:k'))).toBeGreaterThan(Date.now());
    expect(await primary.call('WAIT', 1, 2000)).toBe(1);
    expect(await primary.info('replication')).toContain('connected_slaves:1');
    const subscriber = await clientOf('orders', 'primary');
    expect(await subscriber.psubscribe('__keyspace@0__:*')).toBe(1);
  });

  it('replicates (the replica replicates as the internal user) and lets the operator through adminCall', async () => {
    const primary = await clientOf('orders', 'primary');
    const replica = await clientOf('orders', 'replica');
    await primary.set('replicated', 'yes');
    expect(await primary.call('WAIT', 1, 2000)).toBe(1);
    expect(await replica.get('replicated')).toBe('yes');
    expect(await adminCall(primary, 'CONFIG', 'GET', 'repl-diskless-sync')).toEqual([
      'repl-diskless-sync',
      'no',
    ]);
    await expect(primary.call('CONFIG', 'GET', 'repl-diskless-sync')).rejects.toThrow(/unknown command/);
  });

  it('forms a working Redis Cluster with the restrictions on', async () => {
    const member = members('catalog')[0]!;
    const cluster = new Cluster([{ host: member.address!.host, port: member.address!.port }], {
      clusterRetryStrategy: () => null,
    });
    cluster.on('error', () => {});
    try {
      for (let i = 0; i < 30; i++) await cluster.set(`product:${i}`, String(i));
      expect(await cluster.get('product:29')).toBe('29');
      await expect(cluster.call('CONFIG', 'GET', 'maxmemory')).rejects.toThrow(/unknown command/);
    } finally {
      cluster.disconnect();
    }
  });
});

describe('ElastiCacheMasterReplicationTimestamp', () => {
  it('is rewritten on the primary every ~100 ms with the current UTC time and reaches the replica', async () => {
    const primary = await clientOf('orders', 'primary');
    const first = await primary.get(REPLICATION_TIMESTAMP_KEY);
    expect(first).toMatch(ISO_TIME);
    expect(Math.abs(Date.parse(first!) - Date.now())).toBeLessThan(2_000);
    await sleep(350);
    const second = await primary.get(REPLICATION_TIMESTAMP_KEY);
    expect(Date.parse(second!)).toBeGreaterThan(Date.parse(first!));
    const replica = await clientOf('orders', 'replica');
    expect(await replica.get(REPLICATION_TIMESTAMP_KEY)).toMatch(ISO_TIME);
    const list = String(await primary.call('CLIENT', 'LIST'));
    expect(list).toContain(`name=${REPLICATION_TIMESTAMP_CLIENT_NAME}`);
  });

  it('survives CLIENT KILL TYPE normal: its writer reconnects and goes on', async () => {
    const primary = await clientOf('orders', 'primary');
    const killer = await connect(primary.options.host!, primary.options.port!);
    const killed = Number(await killer.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
    killer.disconnect();
    expect(killed).toBeGreaterThanOrEqual(1);
    const after = await connect(primary.options.host!, primary.options.port!);
    clients.push(after);
    const t0 = Date.parse((await after.get(REPLICATION_TIMESTAMP_KEY))!);
    await sleep(500);
    expect(Date.parse((await after.get(REPLICATION_TIMESTAMP_KEY))!)).toBeGreaterThan(t0);
    expect(String(await after.call('CLIENT', 'LIST'))).toContain(`name=${REPLICATION_TIMESTAMP_CLIENT_NAME}`);
  });

  it('waits while writes are paused (CLIENT PAUSE WRITE) and writes again afterwards', async () => {
    const primary = await clientOf('orders', 'primary');
    await primary.call('CLIENT', 'PAUSE', '600', 'WRITE');
    const during = await primary.get(REPLICATION_TIMESTAMP_KEY);
    await sleep(350);
    expect(await primary.get(REPLICATION_TIMESTAMP_KEY)).toBe(during);
    await primary.call('CLIENT', 'UNPAUSE');
    await sleep(300);
    expect(Date.parse((await primary.get(REPLICATION_TIMESTAMP_KEY))!)).toBeGreaterThan(Date.parse(during!));
  });

  it('lives in cluster mode on the one primary that owns its slot only', async () => {
    const primaries = await Promise.all([0, 1, 2].map((i) => clientOf('catalog', 'primary', i)));
    const slot = Number(await primaries[0]!.call('CLUSTER', 'KEYSLOT', REPLICATION_TIMESTAMP_KEY));
    await sleep(200);
    const holders: number[] = [];
    for (const [i, client] of primaries.entries()) {
      const [first, last] = (sandbox.elasticache.groups.get('catalog')!.shards[i]!.slots ?? '')
        .split('-')
        .map(Number) as [number, number];
      const owns = slot >= first && slot <= last;
      if (owns) {
        expect(await client.get(REPLICATION_TIMESTAMP_KEY)).toMatch(ISO_TIME);
        holders.push(i);
      } else {
        // Not here: the node redirects (MOVED) and its keys are application keys only.
        await expect(client.get(REPLICATION_TIMESTAMP_KEY)).rejects.toThrow(/^MOVED /);
        const [, keys] = await client.scan('0', 'MATCH', 'Elasti*', 'COUNT', 1000);
        expect(keys).toEqual([]);
      }
    }
    expect(holders).toHaveLength(1);
  });

  it('can be turned off for an empty keyspace', async () => {
    const quiet = await startSandbox({
      dataPlane: 'redis',
      redis: { replicationTimestamp: false },
      fixture: { elasticache: { replicationGroups: [{ id: 'empty', replicasPerShard: 0 }] } },
    });
    try {
      const member = quiet.elasticache.groups.get('empty')!.shards[0]!.members[0]!;
      const client = await connect(member.address!.host, member.address!.port);
      await sleep(300);
      expect(await client.dbsize()).toBe(0);
      client.disconnect();
    } finally {
      await quiet.stop();
    }
  });
});
