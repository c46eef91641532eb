/** Every kind of fault the sandbox can inject (declared as data), as an SDK user sees it. */
import {
  CreateReplicationGroupCommand,
  CreateSnapshotCommand,
  DeleteReplicationGroupCommand,
  DescribeReplicationGroupsCommand,
  DescribeSnapshotsCommand,
  ElastiCacheClient,
  ModifyReplicationGroupCommand,
} from '@aws-sdk/client-elasticache';
import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../sandbox/index.js';
import { failure, orGone, pollUntil, readsAfter, sdkConfig } from './sdk-support.js';

let sandbox: Sandbox;
/** No SDK retries, so every injected failure reaches the test. */
let ec: ElastiCacheClient;

beforeAll(async () => {
  sandbox = await startSandbox({
    fixture: {
      // Life cycles complete on the next read unless a fault holds them.
      timeScale: 0,
      kms: { keys: [{ id: '8b3e0a9d-4f5c-4b6a-8d7e-0f9a8b7c6d5e', aliases: ['alias/cache'] }] },
      elasticache: {
        replicationGroups: [
          { id: 'alpha', replicasPerShard: 1 },
          { id: 'beta', replicasPerShard: 1 },
          { id: 'gamma', replicasPerShard: 1 },
          { id: 'delta', replicasPerShard: 1 },
        ],
      },
    },
  });
  ec = new ElastiCacheClient(sdkConfig(sandbox, { maxAttempts: 1 }));
});
afterEach(() => sandbox.faults.clear());
afterAll(async () => {
  ec?.destroy();
  await sandbox?.stop();
});

const describeGroup = (id: string) =>
  ec.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: id }));
const groupStatus = (id: string) =>
  orGone(
    describeGroup(id).then((out) => out.ReplicationGroups?.[0]?.Status),
    'ReplicationGroupNotFoundFault',
  );
const snapshotStatus = (name: string) =>
  orGone(
    ec
      .send(new DescribeSnapshotsCommand({ SnapshotName: name }))
      .then((out) => out.Snapshots?.[0]?.SnapshotStatus),
    'SnapshotNotFoundFault',
  );
const createGroup = (id: string) =>
  ec.send(
    new CreateReplicationGroupCommand({
      ReplicationGroupId: id,
      ReplicationGroupDescription: 'fault test',
      CacheNodeType: 'cache.r6g.large',
      Engine: 'redis',
      EngineVersion: '7.1',
      AtRestEncryptionEnabled: false,
    }),
  );

describe('api-error faults', () => {
  it('fail an operation the given number of times with the given AWS error, then let it succeed', async () => {
    sandbox.injectFaults({
      type: 'api-error',
      service: 'elasticache',
      operation: 'CreateSnapshot',
      code: 'SnapshotQuotaExceededFault',
      times: 2,
    });
    const call = () =>
      ec.send(new CreateSnapshotCommand({ ReplicationGroupId: 'alpha', SnapshotName: 'alpha-1' }));
    expect(await failure(call())).toEqual({ name: 'SnapshotQuotaExceededFault', status: 400 });
    expect(await failure(call())).toEqual({ name: 'SnapshotQuotaExceededFault', status: 400 });
    expect((await call()).Snapshot?.SnapshotStatus).toBe('creating');
  });

  it('let the first calls through when told to skip them', async () => {
    sandbox.injectFaults({
      type: 'api-error',
      service: 'elasticache',
      operation: 'DescribeReplicationGroups',
      code: 'InvalidParameterValueException',
      skip: 1,
      times: 1,
    });
    expect((await describeGroup('alpha')).ReplicationGroups).toHaveLength(1);
    expect((await failure(describeGroup('alpha'))).name).toBe('InvalidParameterValueException');
    expect((await describeGroup('alpha')).ReplicationGroups).toHaveLength(1);
  });

  it('fail only calls whose input matches when, ignoring letter case', async () => {
    sandbox.injectFaults({
      type: 'api-error',
      service: 'elasticache',
      operation: 'DescribeReplicationGroups',
      code: 'ReplicationGroupNotFoundFault',
      when: { ReplicationGroupId: 'beta' },
      times: 'always',
    });
    expect((await describeGroup('alpha')).ReplicationGroups).toHaveLength(1);
    expect(await failure(describeGroup('BETA'))).toEqual({
      name: 'ReplicationGroupNotFoundFault',
      status: 404,
    });
    expect(await failure(describeGroup('beta'))).toEqual({
      name: 'ReplicationGroupNotFoundFault',
      status: 404,
    });
  });

  it('apply to the other services too', async () => {
    sandbox.injectFaults({
      type: 'api-error',
      service: 'kms',
      operation: 'DescribeKey',
      code: 'KMSInternalException',
    });
    const kms = new KMSClient(sdkConfig(sandbox, { maxAttempts: 1 }));
    try {
      expect((await failure(kms.send(new DescribeKeyCommand({ KeyId: 'alias/cache' })))).name).toBe(
        'KMSInternalException',
      );
      expect((await kms.send(new DescribeKeyCommand({ KeyId: 'alias/cache' }))).KeyMetadata?.KeyState).toBe(
        'Enabled',
      );
    } finally {
      kms.destroy();
    }
  });

  it('can be declared in the fixture', async () => {
    const declared = await startSandbox({
      fixture: {
        elasticache: { replicationGroups: [{ id: 'fixture-group' }] },
        faults: [
          {
            type: 'api-error',
            service: 'elasticache',
            operation: 'DescribeReplicationGroups',
            code: 'Throttling',
          },
        ],
      },
    });
    const client = new ElastiCacheClient(sdkConfig(declared, { maxAttempts: 1 }));
    try {
      const describe = () => client.send(new DescribeReplicationGroupsCommand({}));
      expect((await failure(describe())).name).toBe('Throttling');
      expect((await describe()).ReplicationGroups?.[0]?.ReplicationGroupId).toBe('fixture-group');
    } finally {
      client.destroy();
      await declared.stop();
    }
  });
});

describe('Throttling', () => {
  const throttleTwice = () =>
    sandbox.injectFaults({
      type: 'api-error',
      service: 'elasticache',
      operation: 'DescribeReplicationGroups',
      code: 'Throttling',
      times: 2,
    });

  it('is retried by an SDK client with default retries, which succeeds on its third attempt', async () => {
    throttleTwice();
    const client = new ElastiCacheClient(sdkConfig(sandbox));
    try {
      const out = await client.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: 'alpha' }));
      expect(out.ReplicationGroups?.[0]?.ReplicationGroupId).toBe('alpha');
      expect(out.$metadata.attempts).toBe(3);
    } finally {
      client.destroy();
    }
  });

  it('reaches a client with maxAttempts 1 as Throttling (HTTP 400, Rate exceeded)', async () => {
    throttleTwice();
    const client = new ElastiCacheClient(sdkConfig(sandbox, { maxAttempts: 1 }));
    try {
      const error = await failure(client.send(new DescribeReplicationGroupsCommand({})));
      expect(error).toEqual({ name: 'Throttling', status: 400 });
    } finally {
      client.destroy();
    }
  });
});

describe('snapshot faults', () => {
  it('end a matching snapshot in status failed, leaving other snapshots alone', async () => {
    sandbox.injectFaults({ type: 'snapshot', name: 'doomed-*', outcome: 'failed' });
    await ec.send(new CreateSnapshotCommand({ ReplicationGroupId: 'beta', SnapshotName: 'doomed-1' }));
    expect(
      await pollUntil(
        () => snapshotStatus('doomed-1'),
        (s) => s !== 'creating',
      ),
    ).toBe('failed');
    // The group is healthy again once the failed snapshot ends.
    expect(await groupStatus('beta')).toBe('available');
    await ec.send(new CreateSnapshotCommand({ ReplicationGroupId: 'beta', SnapshotName: 'fine-1' }));
    expect(
      await pollUntil(
        () => snapshotStatus('fine-1'),
        (s) => s !== 'creating',
      ),
    ).toBe('available');
  });

  it('make a snapshot disappear while it is being created', async () => {
    sandbox.injectFaults({ type: 'snapshot', name: 'vanishing', outcome: 'disappears' });
    const out = await ec.send(
      new CreateSnapshotCommand({ ReplicationGroupId: 'gamma', SnapshotName: 'vanishing' }),
    );
    expect(out.Snapshot?.SnapshotStatus).toBe('creating');
    expect(
      await pollUntil(
        () => snapshotStatus('vanishing'),
        (s) => s !== 'creating',
      ),
    ).toBe('gone');
  });

  it('keep a snapshot creating', async () => {
    sandbox.injectFaults({ type: 'snapshot', name: 'forever', outcome: 'stuck' });
    await ec.send(new CreateSnapshotCommand({ ReplicationGroupId: 'delta', SnapshotName: 'forever' }));
    expect(await readsAfter(30, () => snapshotStatus('forever'))).toBe('creating');
    expect(await groupStatus('delta')).toBe('snapshotting');
  });
});

describe('replication-group faults', () => {
  it('end a create in create-failed', async () => {
    sandbox.injectFaults({
      type: 'replication-group',
      id: 'broken-*',
      phase: 'create',
      outcome: 'create-failed',
    });
    expect((await createGroup('broken-1')).ReplicationGroup?.Status).toBe('creating');
    expect(
      await pollUntil(
        () => groupStatus('broken-1'),
        (s) => s !== 'creating',
      ),
    ).toBe('create-failed');
    await createGroup('healthy-1');
    expect(
      await pollUntil(
        () => groupStatus('healthy-1'),
        (s) => s !== 'creating',
      ),
    ).toBe('available');
  });

  it('keep a create creating', async () => {
    sandbox.injectFaults({ type: 'replication-group', id: 'slow-create', phase: 'create', outcome: 'stuck' });
    await createGroup('slow-create');
    expect(await readsAfter(30, () => groupStatus('slow-create'))).toBe('creating');
  });

  it('keep a modification modifying', async () => {
    sandbox.injectFaults({ type: 'replication-group', id: 'alpha', phase: 'modify', outcome: 'stuck' });
    await pollUntil(
      () => groupStatus('alpha'),
      (s) => s === 'available',
    );
    const out = await ec.send(
      new ModifyReplicationGroupCommand({ ReplicationGroupId: 'alpha', SnapshotRetentionLimit: 3 }),
    );
    expect(out.ReplicationGroup?.Status).toBe('modifying');
    expect(await readsAfter(30, () => groupStatus('alpha'))).toBe('modifying');
    expect((await describeGroup('alpha')).ReplicationGroups?.[0]?.SnapshotRetentionLimit).toBe(0);
  });

  it('keep a delete deleting', async () => {
    sandbox.injectFaults({ type: 'replication-group', id: 'gamma', phase: 'delete', outcome: 'stuck' });
    await pollUntil(
      () => groupStatus('gamma'),
      (s) => s === 'available',
    );
    await ec.send(new DeleteReplicationGroupCommand({ ReplicationGroupId: 'gamma' }));
    expect(await readsAfter(30, () => groupStatus('gamma'))).toBe('deleting');
    // Without the fault, a delete completes.
    await ec.send(new DeleteReplicationGroupCommand({ ReplicationGroupId: 'beta' }));
    expect(
      await pollUntil(
        () => groupStatus('beta'),
        (s) => s === 'gone',
      ),
    ).toBe('gone');
  });
});
