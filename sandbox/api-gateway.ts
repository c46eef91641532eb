import { randomUUID } from 'node:crypto';
import type { ErrorObject, ValidateFunction } from 'ajv';

/**
 * The migrations API of the deployment (infra/lib/constructs/migrations-api.ts), served by the
 * sandbox at `<endpoint>/prod` so that curl, the AWS CLI or any SigV4 client can rehearse it
 * (runbooks/start-via-api.md). The same handler runs (lambdas/handlers/api.ts), behind what API
 * Gateway does before it: the stage and routes, AWS_IAM authorization, the request model and the
 * Lambda proxy event.
 *
 * What differs from API Gateway (docs/aws-behaviour.md, "The migrations API in the sandbox"):
 * - A request must carry a SigV4 `Authorization` header (else 403 Missing Authentication Token, as
 *   API Gateway answers), but the signature is not verified and no IAM policy is evaluated: any
 *   signed caller may call any route. The caller's ARN is made up from the access key id.
 * - The body is validated against the same draft-4 model with Ajv, not API Gateway's validator:
 *   the same bodies are refused, but `validationErrors` is worded differently.
 * - No throttling, no access log, no X-Ray, no 29 s integration timeout; one stage, `prod`.
 */

export const LOCAL_API_STAGE = 'prod';

export interface RawRequest {
  method: string;
  url: URL;
  headers: Record<string, string | undefined>;
  body: Buffer;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The Lambda proxy handler (lambdas/handlers/api.ts `handler`). */
export type ProxyHandler = (event: {
  httpMethod: string;
  resource: string;
  path: string;
  pathParameters: Record<string, string> | null;
  queryStringParameters: Record<string, string> | null;
  headers: Record<string, string>;
  body: string | null;
  isBase64Encoded: boolean;
  requestContext: Record<string, unknown>;
}) => Promise<{ statusCode: number; headers?: Record<string, string>; body: string }>;

/** The resources and methods of the deployed API, as path patterns. */
const ROUTES: ReadonlyArray<{ method: string; resource: string; pattern: RegExp; model?: true }> = [
  { method: 'POST', resource: '/migrations', pattern: /^\/migrations$/, model: true },
  { method: 'GET', resource: '/migrations', pattern: /^\/migrations$/ },
  { method: 'GET', resource: '/migrations/{id}', pattern: /^\/migrations\/([^/]+)$/ },
  ...['approve', 'reject', 'cancel'].map((action) => ({
    method: 'POST',
    resource: `/migrations/{id}/${action}`,
    pattern: new RegExp(`^/migrations/([^/]+)/${action}$`),
  })),
];

const json = (status: number, body: unknown, requestId: string): RawResponse => ({
  status,
  headers: { 'content-type': 'application/json', 'x-amzn-requestid': requestId },
  body: JSON.stringify(body),
});

/** Ajv's errors in the spirit of API Gateway's validationErrorString: `[path: problem, ...]`. */
function describeErrors(errors: ErrorObject[] | null | undefined): string {
  const lines = (errors ?? []).map((e) => {
    const where = e.instancePath === '' ? 'body' : e.instancePath;
    const extra =
      e.keyword === 'additionalProperties'
        ? ` (${(e.params as { additionalProperty: string }).additionalProperty})`
        : e.keyword === 'enum'
          ? ` (${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')})`
          : '';
    return `${where}: ${e.message}${extra}`;
  });
  return `[${lines.join(', ')}]`;
}

export class LocalMigrationsApi {
  private validator?: Promise<ValidateFunction>;

  /** The request model, compiled at the first start request (the sandbox starts without it). */
  private model(): Promise<ValidateFunction> {
    this.validator ??= (async () => {
      const [{ default: ajvDraft04 }, { migrationInputModelSchema }] = await Promise.all([
        import('ajv-draft-04'),
        import('../lambdas/migration/input-json-schema.js'),
      ]);
      return new ajvDraft04.default({ allErrors: true }).compile(migrationInputModelSchema());
    })();
    return this.validator;
  }

  constructor(
    private readonly accountId: () => string,
    private readonly handler: () => Promise<ProxyHandler>,
  ) {}

  /** Whether a request is for this API: under the stage, or signed for `execute-api`. */
  static claims(url: URL, signingName: string | undefined): boolean {
    return signingName === 'execute-api' || url.pathname.startsWith(`/${LOCAL_API_STAGE}/`);
  }

  async handle(request: RawRequest): Promise<RawResponse> {
    const requestId = randomUUID();
    const prefix = `/${LOCAL_API_STAGE}`;
    const path = request.url.pathname.startsWith(`${prefix}/`)
      ? request.url.pathname.slice(prefix.length)
      : undefined;
    const route =
      path === undefined
        ? undefined
        : ROUTES.find((r) => r.method === request.method && r.pattern.test(path));
    const credential = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/[^/]+\/[^/]+\/execute-api\/aws4_request/.exec(
      request.headers.authorization ?? '',
    );
    // API Gateway answers an unknown route and an unsigned request alike.
    if (!route || path === undefined || !credential) {
      return json(403, { message: 'Missing Authentication Token' }, requestId);
    }
    const text = request.body.length > 0 ? request.body.toString('utf8') : null;
    if (route.model) {
      let body: unknown;
      let problem: string | undefined;
      try {
        body = JSON.parse(text ?? '');
      } catch (error) {
        problem = `[body: not JSON (${(error as Error).message})]`;
      }
      const validate = await this.model();
      if (problem === undefined && !validate(body)) problem = describeErrors(validate.errors);
      if (problem !== undefined) {
        return json(
          400,
          { error: 'InvalidInputError', message: 'Invalid request body', validationErrors: problem },
          requestId,
        );
      }
    }
    const id = route.pattern.exec(path)?.[1];
    const query = Object.fromEntries(request.url.searchParams);
    const headers = Object.fromEntries(
      Object.entries(request.headers).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
    const accessKey = credential[1] ?? 'unknown';
    const handler = await this.handler();
    const response = await handler({
      httpMethod: request.method,
      resource: route.resource,
      path: request.url.pathname,
      pathParameters: id === undefined ? null : { id },
      queryStringParameters: Object.keys(query).length ? query : null,
      // Passed as API Gateway passes them (the Authorization header among them): the handler must
      // not read them, and the API test checks nothing of them reaches Step Functions.
      headers,
      body: text,
      isBase64Encoded: false,
      requestContext: {
        requestId,
        stage: LOCAL_API_STAGE,
        resourcePath: route.resource,
        httpMethod: request.method,
        identity: {
          accessKey,
          accountId: this.accountId(),
          userArn: `arn:aws:iam::${this.accountId()}:user/${accessKey}`,
        },
      },
    });
    return {
      status: response.statusCode,
      headers: { ...response.headers, 'x-amzn-requestid': requestId },
      body: response.body,
    };
  }
}

/**
 * Imports the API handler for a sandbox, as the deployment configures it: the sandbox as AWS,
 * the migrations table, and STATE_MACHINE_ARN naming the sandbox's MigrateReplicationGroup (in
 * `sandbox.env`, so that it is set whichever handler is imported first: env.ts reads it once).
 */
export async function loadApiHandler(sandbox: {
  endpoint: string;
  env: Record<string, string>;
  dnsServer?: string;
}): Promise<ProxyHandler> {
  const { configureLocalEnvironment } = await import('./workflow.js');
  if (process.env.AWS_ENDPOINT_URL !== sandbox.endpoint)
    configureLocalEnvironment(sandbox as never, sandbox.dnsServer ? { DNS_SERVERS: sandbox.dnsServer } : {});
  const module = (await import('../lambdas/handlers/api.js')) as unknown as { handler: ProxyHandler };
  return module.handler;
}
