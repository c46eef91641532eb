import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../sandbox/index.js';
import { awsCli } from './aws-cli-support.js';

/**
 * ElastiCache and KMS fidelity through the AWS CLI v2 (Debian's awscli, botocore): the tagging
 * state rules, the subnet and user group existence checks and CreateGrant's key forms, each as a
 * compliant / non-compliant pair (docs/aws-behaviour.md).
 */
const KEY_ID = '1b2c3d4e-0000-4000-8000-00000000c11a';
const GROUP_ARN = 'arn:aws:elasticache:us-east-1:123456789012:replicationgroup:orders';
let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({
    fixture: {
      timeScale: 0.002,
      kms: { keys: [{ id: KEY_ID, aliases: ['alias/cli'] }] },
      elasticache: {
        replicationGroups: [
          { id: 'orders', replicasPerShard: 1, subnetGroup: 'private-a', userGroupIds: ['orders-users'] },
        ],
      },
    },
  });
});
afterAll(() => sandbox?.stop());

const status = async () =>
  (
    (
      await awsCli(sandbox, [
        'elasticache',
        'describe-replication-groups',
        '--replication-group-id',
        'orders',
      ])
    ).json as { ReplicationGroups: { Status: string }[] }
  ).ReplicationGroups[0]!.Status;

describe('ElastiCache tagging and group state through the AWS CLI', () => {
  it('lists and changes tags of an available group; refuses both while it is modifying or snapshotting', async () => {
    const listed = await awsCli(sandbox, [
      'elasticache',
      'list-tags-for-resource',
      '--resource-name',
      GROUP_ARN,
    ]);
    expect(listed.code, listed.stderr).toBe(0);
    sandbox.clock.pause();
    try {
      const added = await awsCli(sandbox, [
        'elasticache',
        'add-tags-to-resource',
        '--resource-name',
        GROUP_ARN,
        '--tags',
        'Key=cli,Value=yes',
      ]);
      expect(added.code, added.stderr).toBe(0);
      expect(await status()).toBe('modifying');
      const refused = await awsCli(sandbox, [
        'elasticache',
        'list-tags-for-resource',
        '--resource-name',
        GROUP_ARN,
      ]);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/InvalidReplicationGroupState/);
    } finally {
      sandbox.clock.resume();
    }
    for (let i = 0; i < 200 && (await status()) !== 'available'; i++)
      await new Promise((r) => setTimeout(r, 20));
    sandbox.clock.pause();
    try {
      sandbox.elasticache.beginAutomaticBackup('orders');
      const removing = await awsCli(sandbox, [
        'elasticache',
        'remove-tags-from-resource',
        '--resource-name',
        GROUP_ARN,
        '--tag-keys',
        'cli',
      ]);
      expect(removing.code).not.toBe(0);
      expect(removing.stderr).toMatch(/InvalidReplicationGroupState/);
    } finally {
      sandbox.clock.resume();
    }
  });

  it('describes an existing subnet group and user group; a missing one is CacheSubnetGroupNotFoundFault / UserGroupNotFound', async () => {
    const subnet = await awsCli(sandbox, [
      'elasticache',
      'describe-cache-subnet-groups',
      '--cache-subnet-group-name',
      'private-a',
    ]);
    expect(subnet.code, subnet.stderr).toBe(0);
    const missingSubnet = await awsCli(sandbox, [
      'elasticache',
      'describe-cache-subnet-groups',
      '--cache-subnet-group-name',
      'gone',
    ]);
    expect(missingSubnet.stderr).toMatch(/CacheSubnetGroupNotFoundFault/);
    const users = await awsCli(sandbox, [
      'elasticache',
      'describe-user-groups',
      '--user-group-id',
      'orders-users',
    ]);
    expect(users.code, users.stderr).toBe(0);
    const missingUsers = await awsCli(sandbox, [
      'elasticache',
      'describe-user-groups',
      '--user-group-id',
      'gone',
    ]);
    expect(missingUsers.stderr).toMatch(/UserGroupNotFound/);
  });
});

describe('KMS CreateGrant through the AWS CLI', () => {
  it('grants on a key ARN; refuses an alias and an operation outside the enum', async () => {
    const grant = (keyId: string, operations: string[]) =>
      awsCli(sandbox, [
        'kms',
        'create-grant',
        '--key-id',
        keyId,
        '--grantee-principal',
        'someone',
        '--operations',
        ...operations,
      ]);
    const ok = await grant(`arn:aws:kms:us-east-1:123456789012:key/${KEY_ID}`, ['Decrypt']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.json?.GrantId).toEqual(expect.any(String));
    expect((await grant('alias/cli', ['Decrypt'])).stderr).toMatch(/NotFoundException/);
    // botocore does not validate enums on the client side (botocore/validate.py): the service refuses it.
    expect((await grant(KEY_ID, ['UseItAnyway'])).stderr).toMatch(/ValidationException/);
  });
});
