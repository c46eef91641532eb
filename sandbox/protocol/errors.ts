/**
 * An AWS service fault raised by a sandbox service. `code` is the error shape's name in the
 * service's Smithy model (for example `ReplicationGroupNotFoundFault`); the protocol layer looks
 * up the wire code and HTTP status that the SDK expects in the client package's schema, so a
 * sandbox fault deserializes into exactly the exception class the real service would produce.
 */
export class AwsFault extends Error {
  override readonly name = 'AwsFault';
  constructor(
    readonly code: string,
    message: string,
    /** Overrides the HTTP status where the model does not carry one (e.g. Throttling). */
    readonly status?: number,
    /** Extra members of the error shape; written by the JSON protocol only (XML errors carry Code and Message). */
    readonly members: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Faults that are not modelled as error shapes but are common to every AWS protocol. */
export const COMMON_FAULTS: Record<string, { status: number; type: 'Sender' | 'Receiver' }> = {
  Throttling: { status: 400, type: 'Sender' },
  ThrottlingException: { status: 400, type: 'Sender' },
  InternalFailure: { status: 500, type: 'Receiver' },
  ServiceUnavailable: { status: 503, type: 'Receiver' },
  ValidationError: { status: 400, type: 'Sender' },
  MissingParameter: { status: 400, type: 'Sender' },
  InvalidAction: { status: 400, type: 'Sender' },
  UnrecognizedClientException: { status: 400, type: 'Sender' },
};

export function missing(member: string): AwsFault {
  return new AwsFault('MissingParameter', `The request must contain the parameter ${member}`);
}
