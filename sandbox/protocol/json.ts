import { AwsFault, COMMON_FAULTS } from './errors.js';
import { wireError } from './query.js';
import type { ServiceSchemas } from './schema.js';
import type { ProtocolRequest, ProtocolResponse, WireHandler } from './types.js';

/**
 * The awsJson1_1 protocol (KMS, Secrets Manager) and awsJson1_0 (CloudWatch, Step Functions):
 * `X-Amz-Target: {TargetPrefix}.{Operation}`, JSON bodies with member names as keys and
 * timestamps as epoch seconds; errors carry the shape name in `__type` and in the
 * `x-amzn-errortype` header. A service with the `awsQueryCompatible` trait (CloudWatch) also
 * sends its query-protocol error code as `x-amzn-query-error: {Code};{Sender|Receiver}`, which
 * the SDK prefers over `__type` (docs/aws-behaviour.md, CloudWatch).
 */
export function jsonProtocol(options: {
  schemas: ServiceSchemas;
  targetPrefix: string;
  /** `1.1` (the default) or `1.0`: only the content type differs. */
  version?: '1.0' | '1.1';
  /** The Smithy namespace of a query-compatible service (`com.amazonaws.cloudwatch`). */
  queryCompatibleNamespace?: string;
}): WireHandler {
  const contentType = `application/x-amz-json-${options.version ?? '1.1'}`;
  return {
    parse(req: ProtocolRequest) {
      const target = req.headers['x-amz-target'] ?? '';
      const [prefix, operation] = target.split('.');
      if (prefix !== options.targetPrefix || !operation || !options.schemas.operations.has(operation)) {
        throw new AwsFault('UnknownOperationException', `Unknown operation ${target}`);
      }
      let input: Record<string, unknown> = {};
      if (req.body.length > 0) {
        try {
          input = JSON.parse(req.body.toString('utf8')) as Record<string, unknown>;
        } catch {
          throw new AwsFault('SerializationException', 'Request body is not valid JSON');
        }
      }
      return { operation, input };
    },
    respond(_operation, output): ProtocolResponse {
      // Dates go out as epoch seconds; the replacer sees the raw value through `this`.
      const body = JSON.stringify(
        output ?? {},
        function (this: Record<string, unknown>, key, value: unknown) {
          const raw = this[key];
          return raw instanceof Date ? raw.getTime() / 1000 : value;
        },
      );
      return { status: 200, headers: { 'content-type': contentType }, body };
    },
    error(fault, requestId): ProtocolResponse {
      const modelled = options.schemas.errors.get(fault.code);
      const traits = (modelled?.[3] ?? {}) as Record<string, unknown>;
      const status =
        fault.status ??
        (typeof traits.httpError === 'number' ? traits.httpError : undefined) ??
        COMMON_FAULTS[fault.code]?.status ??
        400;
      const namespace = options.queryCompatibleNamespace;
      if (namespace) {
        const wire = wireError(options.schemas, fault);
        return {
          status: wire.status,
          headers: {
            'content-type': contentType,
            'x-amzn-query-error': `${wire.code};${wire.type}`,
            'x-amzn-requestid': requestId,
          },
          body: JSON.stringify({
            __type: `${namespace}#${fault.code}`,
            message: fault.message,
            ...fault.members,
          }),
        };
      }
      return {
        status,
        headers: {
          'content-type': contentType,
          'x-amzn-errortype': fault.code,
          'x-amzn-requestid': requestId,
        },
        body: JSON.stringify({ __type: fault.code, message: fault.message, ...fault.members }),
      };
    },
  };
}
