import { randomUUID } from 'node:crypto';
import * as smModel from '@aws-sdk/client-secrets-manager';
import { AwsFault, missing } from '../protocol/errors.js';
import { jsonProtocol } from '../protocol/json.js';
import { collectSchemas } from '../protocol/schema.js';
import type { SandboxContext, ServiceDefinition } from './types.js';

export interface Secret {
  name: string;
  arn: string;
  value: string;
  versionId: string;
  created: Date;
}

export class SecretStore {
  readonly secrets = new Map<string, Secret>();

  constructor(private readonly ctx: SandboxContext) {}

  add(name: string, value: string): Secret {
    // Secrets Manager appends a hyphen and six random characters to the name in the ARN.
    const suffix = randomUUID().replace(/-/g, '').slice(0, 6);
    const secret: Secret = {
      name,
      arn: `arn:aws:secretsmanager:${this.ctx.region}:${this.ctx.accountId}:secret:${name}-${suffix}`,
      value,
      versionId: randomUUID(),
      created: new Date(this.ctx.clock.now()),
    };
    this.secrets.set(name, secret);
    return secret;
  }

  /** By name, full ARN, or ARN without the random suffix (partial ARN), as Secrets Manager does. */
  resolve(ref: string): Secret | undefined {
    for (const secret of this.secrets.values()) {
      if (secret.name === ref || secret.arn === ref) return secret;
      if (ref.startsWith('arn:') && secret.arn.startsWith(`${ref}-`) && secret.arn.length === ref.length + 7)
        return secret;
    }
    return undefined;
  }
}

export function secretsManagerService(ctx: SandboxContext, store: SecretStore): ServiceDefinition {
  return {
    signingName: 'secretsmanager',
    faults: ctx.faults,
    wire: jsonProtocol({ schemas: collectSchemas(smModel), targetPrefix: 'secretsmanager' }),
    operations: {
      GetSecretValue(input: { SecretId?: string }) {
        if (!input.SecretId) throw missing('SecretId');
        const secret = store.resolve(input.SecretId);
        if (!secret)
          throw new AwsFault('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
        return {
          ARN: secret.arn,
          Name: secret.name,
          VersionId: secret.versionId,
          SecretString: secret.value,
          VersionStages: ['AWSCURRENT'],
          CreatedDate: secret.created,
        };
      },
    },
  };
}
