import { toJSONSchema } from 'zod';
import { migrationInput } from './input.js';

/** The input contract as JSON Schema, for documentation and API clients (not bundled in Lambdas). */
export function migrationInputJsonSchema(): unknown {
  return toJSONSchema(migrationInput, { io: 'input' });
}

/**
 * The input contract as JSON Schema draft 4, the only draft API Gateway models accept: the request
 * model of `POST /migrations` (infra/lib/constructs/migrations-api.ts) and the local API's
 * validator (sandbox/api-gateway.ts). Generated from the one definition (input.ts), so the API
 * cannot drift from what preflight accepts. What JSON Schema cannot say (no `--` in a group id,
 * no trailing hyphen) is left to the API function, which validates with input.ts itself.
 */
export function migrationInputModelSchema(): Record<string, unknown> {
  return {
    ...(toJSONSchema(migrationInput, { io: 'input', target: 'draft-4' }) as Record<string, unknown>),
    title: 'MigrationInput',
  };
}
