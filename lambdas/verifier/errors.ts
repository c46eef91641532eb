/**
 * Every error the verifier raises. The state machine's Retry/Catch match on `error.name`, so each
 * class sets it explicitly; the list {@link VERIFIER_ERROR_NAMES} is what the ASL is checked against.
 *
 * No message or cause ever carries the AUTH token: errors from the Redis client are rebuilt by
 * {@link sanitizeCause} (ioredis attaches the failed command, arguments included, to its errors).
 */

/** Connecting, TLS handshake or AUTH failed, or a connection broke during the check. */
export class VerifierConnectionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VerifierConnectionError';
  }
}

/** The input event (endpoints, mode, policy, budget) is invalid. */
export class VerifierInputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VerifierInputError';
  }
}

/** The cursor carried in the workflow state is malformed or from an incompatible version. */
export class VerifierCursorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VerifierCursorError';
  }
}

/** Cluster topology could not be read, or changed (slots moved) while the check ran. */
export class VerifierTopologyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VerifierTopologyError';
  }
}

/** A server rejected a command the verifier needs (e.g. EVAL disabled) or replied unexpectedly. */
export class VerifierCommandError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VerifierCommandError';
  }
}

export const VERIFIER_ERROR_NAMES = [
  'VerifierConnectionError',
  'VerifierInputError',
  'VerifierCursorError',
  'VerifierTopologyError',
  'VerifierCommandError',
] as const;

export type VerifierErrorName = (typeof VERIFIER_ERROR_NAMES)[number];

/**
 * A plain copy of an error safe to keep as `cause`: name and message only, with every secret
 * replaced by `***` (no attached command, arguments or socket objects).
 */
export function sanitizeCause(error: unknown, secrets: readonly (string | undefined)[]): Error {
  const source = error instanceof Error ? error : new Error(String(error));
  const copy = new Error(redact(source.message, secrets));
  copy.name = source.name;
  if (source.stack !== undefined) copy.stack = redact(source.stack, secrets);
  return copy;
}

export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret !== undefined && secret.length > 0) result = result.split(secret).join('***');
  }
  return result;
}
