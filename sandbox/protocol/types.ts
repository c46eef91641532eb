import type { AwsFault } from './errors.js';

export interface ProtocolRequest {
  method: string;
  url: URL;
  headers: Record<string, string | undefined>;
  body: Buffer;
}

export interface ProtocolResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Reads one wire protocol's requests and writes its responses and errors. */
export interface WireHandler {
  parse(req: ProtocolRequest): { operation: string; input: Record<string, unknown> };
  respond(operation: string, output: unknown, requestId: string): ProtocolResponse;
  error(fault: AwsFault, requestId: string): ProtocolResponse;
}
