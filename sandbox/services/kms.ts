import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import * as kmsModel from '@aws-sdk/client-kms';
import { AwsFault, missing } from '../protocol/errors.js';
import { jsonProtocol } from '../protocol/json.js';
import { collectSchemas } from '../protocol/schema.js';
import type { SandboxContext, ServiceDefinition } from './types.js';

export interface KmsKey {
  id: string;
  arn: string;
  state: 'Enabled' | 'Disabled' | 'PendingDeletion';
  spec: string;
  manager: 'CUSTOMER' | 'AWS';
  description: string;
  created: Date;
}

export interface KmsGrant {
  grantId: string;
  keyId: string;
  granteePrincipal: string;
  operations: string[];
}

/**
 * A KMS refusal to use a key, named after KMS's own exceptions (`DisabledException`,
 * `KMSInvalidStateException`, `NotFoundException`).
 */
export class KmsKeyUnusableError extends Error {
  constructor(
    readonly code:
      | 'DisabledException'
      | 'KMSInvalidStateException'
      | 'NotFoundException'
      | 'InvalidCiphertextException',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'KmsKeyUnusableError';
  }
}

/** Keys, aliases and grants. ElastiCache consults it to accept or fail encrypted resources. */
export class KmsStore {
  readonly keys = new Map<string, KmsKey>();
  readonly aliases = new Map<string, string>();
  readonly grants: KmsGrant[] = [];
  /** Each key's secret material (256 random bits), kept apart from what DescribeKey shows. */
  private readonly material = new Map<string, Buffer>();

  constructor(private readonly ctx: SandboxContext) {}

  addKey(options: {
    id?: string;
    aliases?: string[];
    state?: KmsKey['state'];
    spec?: string;
    manager?: KmsKey['manager'];
    description?: string;
  }): KmsKey {
    const id = options.id ?? randomUUID();
    const key: KmsKey = {
      id,
      arn: `arn:aws:kms:${this.ctx.region}:${this.ctx.accountId}:key/${id}`,
      state: options.state ?? 'Enabled',
      spec: options.spec ?? 'SYMMETRIC_DEFAULT',
      manager: options.manager ?? 'CUSTOMER',
      description: options.description ?? '',
      created: new Date(this.ctx.clock.now()),
    };
    this.keys.set(id, key);
    this.material.set(id, randomBytes(32));
    for (const alias of options.aliases ?? []) this.aliases.set(alias, id);
    return key;
  }

  /**
   * Resolves a key id, key ARN, alias name or alias ARN, as KMS does for DescribeKey.
   * https://docs.aws.amazon.com/kms/latest/APIReference/API_DescribeKey.html#API_DescribeKey_RequestSyntax
   */
  resolve(ref: string): KmsKey | undefined {
    const aliasArn = /^arn:aws[\w-]*:kms:[^:]+:\d{12}:(alias\/.+)$/.exec(ref);
    const keyArn = /^arn:aws[\w-]*:kms:[^:]+:\d{12}:key\/(.+)$/.exec(ref);
    let id = ref;
    if (aliasArn?.[1]) id = this.aliases.get(aliasArn[1]) ?? '';
    else if (keyArn?.[1]) id = keyArn[1];
    else if (ref.startsWith('alias/')) id = this.aliases.get(ref) ?? '';
    return this.keys.get(id);
  }

  /**
   * Encrypts a data key under the key's material (AES-256-GCM, the key ARN as associated data),
   * as the sandbox's data plane does for encrypted snapshots: envelope encryption, the way
   * services use GenerateDataKey. Refuses a key that is not Enabled.
   */
  encryptDataKey(keyRef: string, dataKey: Buffer): Buffer {
    const key = this.usableKey(keyRef);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.material.get(key.id)!, iv);
    cipher.setAAD(Buffer.from(key.arn));
    const body = Buffer.concat([cipher.update(dataKey), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]);
  }

  /** Decrypts what {@link encryptDataKey} returned; refuses a key that is not Enabled. */
  decryptDataKey(keyRef: string, encrypted: Buffer): Buffer {
    const key = this.usableKey(keyRef);
    const decipher = createDecipheriv('aes-256-gcm', this.material.get(key.id)!, encrypted.subarray(0, 12));
    decipher.setAAD(Buffer.from(key.arn));
    decipher.setAuthTag(encrypted.subarray(12, 28));
    try {
      return Buffer.concat([decipher.update(encrypted.subarray(28)), decipher.final()]);
    } catch (error) {
      throw new KmsKeyUnusableError(
        'InvalidCiphertextException',
        `The data key was not encrypted under ${key.arn}.`,
        { cause: error },
      );
    }
  }

  private usableKey(ref: string): KmsKey {
    const key = this.resolve(ref);
    if (!key) throw new KmsKeyUnusableError('NotFoundException', `KMS key ${ref} does not exist.`);
    if (key.state === 'Disabled')
      throw new KmsKeyUnusableError('DisabledException', `${key.arn} is disabled.`);
    if (key.state !== 'Enabled')
      throw new KmsKeyUnusableError('KMSInvalidStateException', `${key.arn} is ${key.state}.`);
    if (key.spec !== 'SYMMETRIC_DEFAULT')
      throw new KmsKeyUnusableError(
        'KMSInvalidStateException',
        `${key.arn} is a ${key.spec} key, not a symmetric encryption key.`,
      );
    return key;
  }

  /** Resolves or throws KMS's NotFoundException. */
  require(ref: string): KmsKey {
    const key = this.resolve(ref);
    if (!key) throw new AwsFault('NotFoundException', `Invalid keyId ${ref}`);
    return key;
  }
}

export function kmsService(ctx: SandboxContext, store: KmsStore): ServiceDefinition {
  const metadata = (key: KmsKey) => ({
    AWSAccountId: ctx.accountId,
    KeyId: key.id,
    Arn: key.arn,
    CreationDate: key.created,
    Enabled: key.state === 'Enabled',
    Description: key.description,
    KeyUsage: key.spec.startsWith('HMAC')
      ? 'GENERATE_VERIFY_MAC'
      : key.spec === 'SYMMETRIC_DEFAULT'
        ? 'ENCRYPT_DECRYPT'
        : 'SIGN_VERIFY',
    KeyState: key.state,
    Origin: 'AWS_KMS',
    KeyManager: key.manager,
    CustomerMasterKeySpec: key.spec,
    KeySpec: key.spec,
    EncryptionAlgorithms: key.spec === 'SYMMETRIC_DEFAULT' ? ['SYMMETRIC_DEFAULT'] : undefined,
    MultiRegion: false,
  });

  /** Enable/DisableKey: a key pending deletion can be neither. */
  const setState = (key: KmsKey, state: 'Enabled' | 'Disabled') => {
    if (key.state === 'PendingDeletion')
      throw new AwsFault('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    key.state = state;
  };

  return {
    signingName: 'kms',
    faults: ctx.faults,
    wire: jsonProtocol({ schemas: collectSchemas(kmsModel), targetPrefix: 'TrentService' }),
    operations: {
      DescribeKey(input: { KeyId?: string }) {
        if (!input.KeyId) throw missing('KeyId');
        return { KeyMetadata: metadata(store.require(input.KeyId)) };
      },
      ListAliases(input: { KeyId?: string; Limit?: number; Marker?: string }) {
        const keyId = input.KeyId ? store.require(input.KeyId).id : undefined;
        const aliases = [...store.aliases.entries()]
          .filter(([, target]) => keyId === undefined || target === keyId)
          .map(([name, target]) => ({
            AliasName: name,
            AliasArn: `arn:aws:kms:${ctx.region}:${ctx.accountId}:${name}`,
            TargetKeyId: target,
          }));
        return { Aliases: aliases, Truncated: false };
      },
      DisableKey(input: { KeyId?: string }) {
        if (!input.KeyId) throw missing('KeyId');
        setState(store.require(input.KeyId), 'Disabled');
        return {};
      },
      EnableKey(input: { KeyId?: string }) {
        if (!input.KeyId) throw missing('KeyId');
        setState(store.require(input.KeyId), 'Enabled');
        return {};
      },
      CreateGrant(input: { KeyId?: string; GranteePrincipal?: string; Operations?: string[] }) {
        if (!input.KeyId) throw missing('KeyId');
        if (!input.GranteePrincipal) throw missing('GranteePrincipal');
        if (!input.Operations?.length) throw missing('Operations');
        // CreateGrant takes a key ID or key ARN, not an alias ("Specify the key ID or key ARN of the
        // KMS key", API_CreateGrant.html). The error AWS gives an alias is undocumented: NotFound here.
        if (/^alias\/|^arn:aws[\w-]*:kms:[^:]+:\d{12}:alias\//.test(input.KeyId)) {
          throw new AwsFault(
            'NotFoundException',
            `CreateGrant takes a key ID or key ARN, not an alias: ${input.KeyId}. Resolve it with DescribeKey first.`,
          );
        }
        // Operations: the GrantOperation enum of the model.
        const allowed = Object.values(kmsModel.GrantOperation) as string[];
        const unknown = input.Operations.filter((op) => !allowed.includes(op));
        if (unknown.length > 0) {
          throw new AwsFault(
            'ValidationException',
            `1 validation error detected: Value '[${unknown.join(', ')}]' at 'operations' failed to satisfy constraint: Member must satisfy enum value set: [${allowed.join(', ')}]`,
          );
        }
        const key = store.require(input.KeyId);
        if (key.state === 'Disabled') throw new AwsFault('DisabledException', `${key.arn} is disabled.`);
        if (key.state === 'PendingDeletion')
          throw new AwsFault('KMSInvalidStateException', `${key.arn} is pending deletion.`);
        const grant: KmsGrant = {
          grantId: randomUUID().replace(/-/g, ''),
          keyId: key.id,
          granteePrincipal: input.GranteePrincipal,
          operations: input.Operations,
        };
        store.grants.push(grant);
        return { GrantId: grant.grantId, GrantToken: `sandbox-grant-token-${grant.grantId}` };
      },
    },
  };
}
