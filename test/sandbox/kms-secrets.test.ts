import {
  CreateGrantCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  KMSClient,
  ListAliasesCommand,
} from '@aws-sdk/client-kms';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../sandbox/index.js';
import { failure, sdkConfig } from './sdk-support.js';

const KEY = '5e0d7a6b-1c2f-4e3d-9a8b-7c6d5e4f3a2b';
const OTHER = '6f1e8b7c-2d3a-4f4e-8b9c-8d7e6f5a4b3c';
const DISABLED = '7a2f9c8d-3e4b-4a5f-9cad-9e8f7a6b5c4d';
const KEY_ARN = `arn:aws:kms:eu-west-1:210987654321:key/${KEY}`;

let sandbox: Sandbox;
let kms: KMSClient;
let sm: SecretsManagerClient;

beforeAll(async () => {
  sandbox = await startSandbox({
    fixture: {
      region: 'eu-west-1',
      accountId: '210987654321',
      kms: {
        keys: [
          { id: KEY, aliases: ['alias/cache', 'alias/cache-too'], description: 'cache key' },
          { id: OTHER, aliases: ['alias/other'] },
          { id: DISABLED, aliases: ['alias/retired'], state: 'Disabled' },
        ],
      },
      secretsManager: { secrets: [{ name: 'elasticache/orders/auth', value: 'token-0123456789abcdef' }] },
    },
  });
  kms = new KMSClient(sdkConfig(sandbox));
  sm = new SecretsManagerClient(sdkConfig(sandbox));
});
afterAll(async () => {
  kms?.destroy();
  sm?.destroy();
  await sandbox?.stop();
});

describe('KMS DescribeKey', () => {
  it.each([
    ['key id', KEY],
    ['key ARN', KEY_ARN],
    ['alias name', 'alias/cache'],
    ['alias ARN', 'arn:aws:kms:eu-west-1:210987654321:alias/cache-too'],
  ])('finds a key by its %s', async (_, keyId) => {
    const out = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    expect(out.KeyMetadata).toMatchObject({
      KeyId: KEY,
      Arn: KEY_ARN,
      AWSAccountId: '210987654321',
      KeyState: 'Enabled',
      Enabled: true,
      KeyManager: 'CUSTOMER',
      KeySpec: 'SYMMETRIC_DEFAULT',
      KeyUsage: 'ENCRYPT_DECRYPT',
      Description: 'cache key',
    });
    expect(out.KeyMetadata?.CreationDate).toBeInstanceOf(Date);
  });

  it('reports a disabled key as Disabled', async () => {
    const out = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/retired' }));
    expect(out.KeyMetadata).toMatchObject({ KeyState: 'Disabled', Enabled: false });
  });

  it('fails with NotFoundException for an unknown key or alias', async () => {
    // Only the name is asserted: the SDK model gives HTTP 404, real KMS may answer 400.
    const notFound = expect.objectContaining({ name: 'NotFoundException' });
    expect(await failure(kms.send(new DescribeKeyCommand({ KeyId: 'alias/nope' })))).toEqual(notFound);
    expect(
      await failure(kms.send(new DescribeKeyCommand({ KeyId: '00000000-0000-4000-8000-000000000000' }))),
    ).toEqual(notFound);
  });
});

describe('KMS ListAliases', () => {
  it('lists every alias with its ARN and target key', async () => {
    const out = await kms.send(new ListAliasesCommand({}));
    expect(out.Aliases).toEqual(
      expect.arrayContaining([
        {
          AliasName: 'alias/cache',
          AliasArn: 'arn:aws:kms:eu-west-1:210987654321:alias/cache',
          TargetKeyId: KEY,
        },
        expect.objectContaining({ AliasName: 'alias/other', TargetKeyId: OTHER }),
      ]),
    );
    expect(out.Aliases).toHaveLength(4);
  });

  it('lists only the aliases of the key named by KeyId', async () => {
    const out = await kms.send(new ListAliasesCommand({ KeyId: KEY_ARN }));
    expect(out.Aliases?.map((a) => a.AliasName).sort()).toEqual(['alias/cache', 'alias/cache-too']);
  });
});

describe('KMS CreateGrant', () => {
  it('grants on an enabled key named by its key ARN or key id, and returns a grant id and token', async () => {
    const byId = await kms.send(
      new CreateGrantCommand({
        KeyId: KEY_ARN.split('/').pop(),
        GranteePrincipal: 'someone',
        Operations: ['Decrypt'],
      }),
    );
    expect(byId.GrantId).toMatch(/^[0-9a-f]{32}$/);
    const out = await kms.send(
      new CreateGrantCommand({
        KeyId: KEY_ARN,
        GranteePrincipal: 'elasticache.eu-west-1.amazonaws.com',
        Operations: ['Encrypt', 'Decrypt', 'GenerateDataKey'],
      }),
    );
    expect(out.GrantId).toMatch(/^[0-9a-f]{32}$/);
    expect(out.GrantToken).toEqual(expect.any(String));
  });

  it('refuses an alias (CreateGrant takes a key id or key ARN) and an operation outside the enum', async () => {
    const grant = (KeyId: string, Operations: string[]) =>
      kms.send(
        new CreateGrantCommand({ KeyId, GranteePrincipal: 'someone', Operations: Operations as never }),
      );
    expect((await failure(grant('alias/cache', ['Decrypt']))).name).toBe('NotFoundException');
    expect((await failure(grant(KEY_ARN.replace(/key\/.*/, 'alias/cache'), ['Decrypt']))).name).toBe(
      'NotFoundException',
    );
    expect((await failure(grant(KEY_ARN, ['Decrypt', 'UseItAnyway']))).name).toBe('ValidationException');
    expect((await grant(KEY_ARN, ['Decrypt', 'RetireGrant'])).GrantId).toBeDefined();
  });

  it('fails with DisabledException on a disabled key', async () => {
    expect(
      await failure(
        kms.send(
          new CreateGrantCommand({
            KeyId: DISABLED,
            GranteePrincipal: 'elasticache.eu-west-1.amazonaws.com',
            Operations: ['Decrypt'],
          }),
        ),
      ),
    ).toEqual(expect.objectContaining({ name: 'DisabledException' }));
  });

  it('follows DisableKey and EnableKey', async () => {
    const grant = () =>
      kms.send(
        new CreateGrantCommand({ KeyId: OTHER, GranteePrincipal: 'someone', Operations: ['Decrypt'] }),
      );
    await kms.send(new DisableKeyCommand({ KeyId: OTHER }));
    expect((await failure(grant())).name).toBe('DisabledException');
    await kms.send(new EnableKeyCommand({ KeyId: OTHER }));
    expect((await grant()).GrantId).toBeDefined();
  });
});

describe('Secrets Manager GetSecretValue', () => {
  it('reads a secret by name, by ARN and by partial ARN (without the random suffix)', async () => {
    const byName = await sm.send(new GetSecretValueCommand({ SecretId: 'elasticache/orders/auth' }));
    expect(byName).toMatchObject({
      Name: 'elasticache/orders/auth',
      SecretString: 'token-0123456789abcdef',
      VersionStages: ['AWSCURRENT'],
    });
    expect(byName.ARN).toMatch(
      /^arn:aws:secretsmanager:eu-west-1:210987654321:secret:elasticache\/orders\/auth-[0-9a-zA-Z]{6}$/,
    );
    const byArn = await sm.send(new GetSecretValueCommand({ SecretId: byName.ARN }));
    expect(byArn.SecretString).toBe('token-0123456789abcdef');
    const partial = byName.ARN!.slice(0, -7);
    const byPartialArn = await sm.send(new GetSecretValueCommand({ SecretId: partial }));
    expect(byPartialArn.ARN).toBe(byName.ARN);
  });

  it('fails with ResourceNotFoundException for an unknown secret', async () => {
    expect(await failure(sm.send(new GetSecretValueCommand({ SecretId: 'elasticache/nope' })))).toEqual({
      name: 'ResourceNotFoundException',
      status: 400,
    });
  });
});
