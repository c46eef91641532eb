/** Exit codes (docs/cli.md): automation can tell these apart. */
export const EXIT = {
  ok: 0,
  /** Something unexpected (an AWS error the CLI does not handle, a bug). */
  failure: 1,
  /** Bad arguments or input: nothing was sent. */
  usage: 2,
  /** Refused (a plan's preflight refusal) or the migration ended FAILED, ABORTED or TIMED_OUT. */
  refused: 3,
  /** No such migration or state machine. */
  notFound: 4,
  /** The migration is not in a state for this command (no gate waits, already ended). */
  conflict: 5,
} as const;

/** A failure the user can act on: a message, what to do, and the exit code. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number,
    readonly hint?: string,
    /** Extra fields for `--output json`. */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export { runbookLink } from '../lambdas/shared/errors.js';
