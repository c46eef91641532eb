import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { admitGroup, NODE_COUNT_MAX_AGE_MS } from '../../../lambdas/fleet/admit.js';
import { createBatch, putRows, readBatch, updateBatch } from '../../../lambdas/fleet/ledger.js';
import type { GroupReport } from '../../../lambdas/fleet/report-model.js';
import { type Sandbox, startSandbox } from '../../../sandbox/index.js';
import { configureLocalEnvironment } from '../../../sandbox/workflow.js';
import { fleetFixture } from '../../support/fleet.js';

// Five one-node groups: 5 nodes in the Region.
const fixture = () => fleetFixture({ succeed: 5, replicas: 0 });
const ids = ['ok-01', 'ok-02', 'ok-03', 'ok-04', 'ok-05'];
const NOW = Date.parse('2026-11-30T02:00:00Z');

let sandbox: Sandbox;
let deps: { dynamodb: DynamoDBClient; elasticache: ElastiCacheClient };

beforeAll(async () => {
  sandbox = await startSandbox({ fixture: fixture() });
  configureLocalEnvironment(sandbox);
  deps = { dynamodb: new DynamoDBClient({}), elasticache: new ElastiCacheClient({}) };
});
afterAll(() => sandbox.stop());
beforeEach(() => sandbox.reset(fixture()));

/** A planned batch of every group, each adding one node while its old one lives. */
async function plan(batchId: string, nodesPerRegion: number, counted?: { count: number; at: number }) {
  await createBatch(
    deps.dynamodb,
    {
      settings: {
        batchId,
        startedAt: new Date(NOW).toISOString(),
        threshold: { count: 0 },
        nodesPerRegion,
        headroomWaitSeconds: 300,
        reportPrefix: 'fleet-reports/',
        dryRun: false,
        maxConcurrency: 5,
      },
      total: ids.length,
      groups: Object.fromEntries(ids.map((id) => [id, { s: 'planned', n: 1 }])),
      order: ids,
    },
    counted && { ...counted, started: 0 },
  );
  const rows: GroupReport[] = ids.map((groupId) => ({
    groupId,
    nodes: 1,
    outcome: 'planned',
    steps: [],
    executionName: `${batchId}-${groupId}`,
    input: { sourceReplicationGroupId: groupId },
  }));
  await putRows(deps.dynamodb, batchId, rows);
}

const regionReads = () =>
  sandbox.server.calls.filter((c) => c.operation === 'DescribeCacheClusters' && !c.error).length;

describe('admission to the node quota', () => {
  it('counts the Region once for the admissions of a minute, and again once the count is older', async () => {
    await plan('roomy', 100);
    const before = regionReads();
    for (const groupId of ids.slice(0, 4)) {
      const admitted = await admitGroup({ batchId: 'roomy', groupId }, deps, NOW + 1000);
      expect(admitted.decision).toBe('start');
    }
    expect(regionReads() - before).toBe(1);
    await admitGroup({ batchId: 'roomy', groupId: 'ok-05' }, deps, NOW + 1000 + NODE_COUNT_MAX_AGE_MS);
    expect(regionReads() - before).toBe(2);
    expect((await readBatch(deps.dynamodb, 'roomy'))?.nodes).toMatchObject({
      started: 5,
      read: { count: 5, started: 4 },
    });
  });

  it('counts every start since the last count, and makes a group wait only on a fresh count', async () => {
    // 5 nodes exist; quota 8. ok-01: 5 + 0 reserved + 1 = 6, starts.
    await plan('tight', 8);
    const before = regionReads();
    expect((await admitGroup({ batchId: 'tight', groupId: 'ok-01' }, deps, NOW)).decision).toBe('start');
    // ok-02 by the count: 5 + 1 started since + 1 reserved + 1 = 8, starts without a read.
    expect((await admitGroup({ batchId: 'tight', groupId: 'ok-02' }, deps, NOW)).decision).toBe('start');
    expect(regionReads() - before).toBe(1);
    // ok-03 by the count: 5 + 2 + 2 + 1 = 10 > 8. A fresh count finds the 5 nodes (the new
    // groups do not exist yet): 5 + 2 reserved + 1 = 8, it starts.
    expect((await admitGroup({ batchId: 'tight', groupId: 'ok-03' }, deps, NOW)).decision).toBe('start');
    expect(regionReads() - before).toBe(2);
    // ok-04: by the count 5 + 1 + 3 + 1 = 10; afresh 5 + 3 + 1 = 9 > 8: it waits.
    const waiting = await admitGroup({ batchId: 'tight', groupId: 'ok-04' }, deps, NOW);
    expect(waiting).toMatchObject({ decision: 'wait', reason: 'node-quota' });
    expect(regionReads() - before).toBe(3);
    const batch = await readBatch(deps.dynamodb, 'tight');
    expect(batch?.groups['ok-04']).toEqual({ s: 'planned', n: 1 });
    expect(batch?.nodes).toMatchObject({ started: 3, read: { count: 5, started: 3 } });
  });

  it('starts the first groups on the count discovery made, without reading the Region', async () => {
    await plan('counted', 100, { count: 5, at: NOW });
    const before = regionReads();
    for (const groupId of ids)
      expect((await admitGroup({ batchId: 'counted', groupId }, deps, NOW + 1000)).decision).toBe('start');
    expect(regionReads() - before).toBe(0);
  });

  it('skips past the threshold without reading the Region', async () => {
    await plan('failing', 100);
    const before = regionReads();
    await updateBatch(deps.dynamodb, 'failing', (batch) => ({
      groups: { ...batch.groups, 'ok-01': { s: 'done', n: 1, failed: true } },
      result: undefined,
    }));
    const skipped = await admitGroup({ batchId: 'failing', groupId: 'ok-02' }, deps, NOW);
    expect(skipped).toMatchObject({ decision: 'skip', reason: 'threshold-reached' });
    expect(regionReads() - before).toBe(0);
  });

  it('gives a ledger that stays contended back to the state machine as LedgerBusyError, having written nothing', async () => {
    await plan('busy', 100);
    const before = await readBatch(deps.dynamodb, 'busy');
    let tries = 0;
    // Every conditional update loses to another writer.
    const contended = {
      send: (command: unknown) => {
        if (command instanceof UpdateItemCommand) {
          tries++;
          return Promise.reject(
            Object.assign(new Error('The conditional request failed'), {
              name: 'ConditionalCheckFailedException',
            }),
          );
        }
        return deps.dynamodb.send(command as never);
      },
    } as unknown as DynamoDBClient;
    const update = updateBatch(
      contended,
      'busy',
      (batch) => ({ groups: { ...batch.groups, 'ok-01': { s: 'running', n: 1 } }, result: undefined }),
      300,
    );
    await expect(update).rejects.toMatchObject({ name: 'LedgerBusyError' });
    expect(tries).toBeGreaterThan(1);
    expect(await readBatch(deps.dynamodb, 'busy')).toEqual(before);
  });
});
