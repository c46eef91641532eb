import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LocalMigrationsApi } from './api-gateway.js';
import { AwsFault } from './protocol/errors.js';
import type { ProtocolResponse } from './protocol/types.js';
import type { ServiceDefinition } from './services/types.js';

export interface CallRecord {
  service: string;
  operation: string;
  /** The error code returned, or undefined for a success. */
  error?: string;
  at: number;
}

/**
 * One HTTP server on loopback for every service. The SDK signs each request with SigV4; the
 * credential scope (`Credential=AKID/date/region/<service>/aws4_request`) names the service, so
 * clients need nothing but the standard `AWS_ENDPOINT_URL` setting. Signatures are not checked.
 */
export class SandboxServer {
  private server?: Server;
  readonly calls: CallRecord[] = [];
  /** The migrations API under `/prod` (sandbox/api-gateway.ts), once served. */
  private api?: LocalMigrationsApi;

  constructor(private services: ServiceDefinition[]) {}

  /** Swaps in a freshly seeded account (see Sandbox.reset); the port stays the same. */
  setServices(services: ServiceDefinition[]): void {
    this.services = services;
  }

  /** Serves the migrations API under `/prod` (requests signed for execute-api or under the stage). */
  serveApi(api: LocalMigrationsApi): void {
    this.api = api;
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`sandbox internal error: ${(error as Error).message}`);
      });
    });
    this.server.keepAliveTimeout = 1_000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    return `http://${host}:${address.port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const requestId = randomUUID();
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(',') : v;

    if (url.pathname === '/_sandbox/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true }));
      return;
    }

    const signingName = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\/aws4_request/.exec(
      headers.authorization ?? '',
    )?.[1];
    if (this.api && LocalMigrationsApi.claims(url, signingName)) {
      const response = await this.api.handle({ method: req.method ?? 'GET', url, headers, body });
      res.writeHead(response.status, response.headers);
      res.end(response.body);
      return;
    }
    const service = this.services.find((s) => s.signingName === signingName);
    if (!service) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(
        `The sandbox serves ${this.services.map((s) => s.signingName).join(', ')}; request was signed for '${signingName ?? 'nothing'}'.`,
      );
      return;
    }

    let operation = '(unparsed)';
    let response: ProtocolResponse;
    const request = { method: req.method ?? 'GET', url, headers, body };
    const wire = service.wireFor?.(request) ?? service.wire;
    try {
      const parsed = wire.parse(request);
      operation = parsed.operation;
      const implementation = service.operations[operation];
      if (!implementation) {
        throw new AwsFault(
          'InvalidAction',
          `The sandbox does not implement ${service.signingName}:${operation}.`,
        );
      }
      service.faults.beforeCall(service.signingName, operation, parsed.input);
      const output = await implementation(parsed.input);
      response = wire.respond(operation, output, requestId);
      this.calls.push({ service: service.signingName, operation, at: Date.now() });
    } catch (error) {
      const fault =
        error instanceof AwsFault
          ? error
          : new AwsFault('InternalFailure', `sandbox: ${(error as Error).message ?? String(error)}`, 500);
      this.calls.push({ service: service.signingName, operation, error: fault.code, at: Date.now() });
      response = wire.error(fault, requestId);
    }
    res.writeHead(response.status, { ...response.headers, 'x-amzn-requestid': requestId });
    res.end(response.body);
  }
}
