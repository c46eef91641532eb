import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AuthTokenError } from '../shared/errors.js';

/**
 * Reads an AUTH token from Secrets Manager. SecretString is the token itself, or JSON with an
 * `authToken` / `auth_token` / `token` key (the original manual procedure stores `{"auth_token": ...}`).
 * The token is validated against ElastiCache's rules (16–128 printable ASCII characters; specials
 * only ! & # $ ^ < > -, docs/aws-behaviour.md) so a bad secret is caught at preflight. Errors never contain it.
 */
export async function readAuthToken(client: SecretsManagerClient, secretArn: string): Promise<string> {
  let secretString: string | undefined;
  try {
    secretString = (await client.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString;
  } catch (error) {
    const name = (error as Error).name;
    if (
      name === 'ResourceNotFoundException' ||
      name === 'AccessDeniedException' ||
      name === 'DecryptionFailure'
    ) {
      throw new AuthTokenError(`The AUTH token secret ${secretArn} cannot be read (${name}).`);
    }
    throw error;
  }
  if (!secretString) throw new AuthTokenError(`The AUTH token secret ${secretArn} has no SecretString.`);
  let token = secretString;
  if (secretString.trimStart().startsWith('{')) {
    try {
      const parsed = JSON.parse(secretString) as Record<string, unknown>;
      const candidate = parsed.authToken ?? parsed.auth_token ?? parsed.token;
      if (typeof candidate !== 'string') {
        throw new AuthTokenError(
          `The AUTH token secret ${secretArn} is JSON without an authToken, auth_token or token key.`,
        );
      }
      token = candidate;
    } catch (error) {
      if (error instanceof AuthTokenError) throw error;
      throw new AuthTokenError(`The AUTH token secret ${secretArn} looks like JSON but does not parse.`);
    }
  }
  if (token.length < 16 || token.length > 128 || !/^[A-Za-z0-9!&#$^<>-]+$/.test(token)) {
    throw new AuthTokenError(
      `The AUTH token in ${secretArn} does not meet ElastiCache's rules: 16–128 characters, letters, digits and only ! & # $ ^ < > - as special characters.`,
    );
  }
  return token;
}
