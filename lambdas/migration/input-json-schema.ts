import { toJSONSchema } from 'zod';
import { migrationInput } from './input.js';

/** The input contract as JSON Schema, for documentation and API clients (not bundled in Lambdas). */
export function migrationInputJsonSchema(): unknown {
  return toJSONSchema(migrationInput, { io: 'input' });
}
