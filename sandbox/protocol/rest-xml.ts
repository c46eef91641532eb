import { XmlShapeDeserializer, XmlShapeSerializer } from '@aws-sdk/core/protocols';
import type { StaticOperationSchema } from '@smithy/types';
import { AwsFault } from './errors.js';
import { xmlErrorResponse } from './query.js';
import { coerceScalar, inputSchema, operationTraits, outputSchema, type ServiceSchemas } from './schema.js';
import type { ProtocolRequest, ProtocolResponse, WireHandler } from './types.js';

interface Route {
  operation: string;
  method: string;
  pattern: RegExp;
  labels: string[];
  literalQuery: string[];
  status: number;
}

/**
 * The restXml protocol (Route 53): operations are routed by the `http` trait's method and URI
 * template, members bound with `httpLabel` / `httpQuery` / `httpHeader` are read from the URL
 * and headers, and the rest from the XML body with the SDK's own XmlShapeDeserializer. Responses
 * are written with the SDK's XmlShapeSerializer; errors as `<ErrorResponse><Error>…`.
 */
export function restXmlProtocol(options: {
  schemas: ServiceSchemas;
  namespace: string;
  xmlNamespace: string;
}): WireHandler {
  const routes: Route[] = [];
  for (const [operation, op] of options.schemas.operations) routes.push(toRoute(operation, op));
  // Longer, more literal templates first so `/hostedzone/{Id}/rrset` wins over `/hostedzone/{Id}`.
  routes.sort((a, b) => b.pattern.source.length - a.pattern.source.length);
  const settings = {
    timestampFormat: { useTrait: true, default: 5 as const },
    httpBindings: true,
    xmlNamespace: options.xmlNamespace,
    serviceNamespace: options.namespace,
  };

  return {
    parse(req: ProtocolRequest) {
      const path = safeDecode(req.url.pathname);
      const route = routes.find(
        (r) =>
          r.method === req.method &&
          r.pattern.test(req.url.pathname) &&
          r.literalQuery.every((q) => req.url.searchParams.has(q)),
      );
      if (!route)
        throw new AwsFault('UnknownOperationException', `No operation matches ${req.method} ${path}`, 404);
      const op = options.schemas.operations.get(route.operation)!;
      const ns = inputSchema(op);
      const input: Record<string, unknown> = {};
      if (req.body.length > 0) {
        const parsed = new XmlShapeDeserializer(settings).read(ns, req.body.toString('utf8'));
        Object.assign(input, parsed);
      }
      const match = route.pattern.exec(req.url.pathname)!;
      for (const [memberName, member] of ns.structIterator()) {
        const traits = member.getMergedTraits();
        let raw: string | undefined | null;
        if (traits.httpLabel) {
          const index = route.labels.indexOf(memberName);
          raw = index >= 0 ? safeDecode(match[index + 1] ?? '') : undefined;
        } else if (typeof traits.httpQuery === 'string') {
          raw = req.url.searchParams.get(traits.httpQuery);
        } else if (typeof traits.httpHeader === 'string') {
          raw = req.headers[traits.httpHeader.toLowerCase()];
        } else continue;
        if (raw === undefined || raw === null) continue;
        try {
          input[memberName] = coerceScalar(member, raw);
        } catch (error) {
          throw new AwsFault('InvalidInput', `Invalid value for ${memberName}: ${(error as Error).message}`);
        }
      }
      return { operation: route.operation, input };
    },
    respond(operation, output): ProtocolResponse {
      const op = options.schemas.operations.get(operation)!;
      const ns = outputSchema(op);
      const route = routes.find((r) => r.operation === operation)!;
      const headers: Record<string, string> = { 'content-type': 'text/xml' };
      const bodyValue: Record<string, unknown> = {};
      const value = (output ?? {}) as Record<string, unknown>;
      for (const [memberName, member] of ns.structIterator()) {
        const traits = member.getMergedTraits();
        if (value[memberName] === undefined) continue;
        if (typeof traits.httpHeader === 'string') headers[traits.httpHeader] = String(value[memberName]);
        else bodyValue[memberName] = value[memberName];
      }
      const serializer = new XmlShapeSerializer(settings);
      serializer.write(ns, bodyValue);
      return { status: route.status, headers, body: String(serializer.flush()) };
    },
    error: (fault, requestId) => xmlErrorResponse(options.schemas, options.xmlNamespace, fault, requestId),
  };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new AwsFault('InvalidInput', `'${text}' is not validly percent-encoded.`);
  }
}

function toRoute(operation: string, op: StaticOperationSchema): Route {
  const http = operationTraits(op).http as [string, string, number] | undefined;
  if (!http) throw new Error(`operation ${operation} has no http trait`);
  const [method, uri, status] = http;
  const [pathTemplate = '', queryTemplate = ''] = uri.split('?');
  const labels: string[] = [];
  const pattern = pathTemplate.replace(/\{([^}]+)\}|[^{]+/g, (segment, label: string | undefined) => {
    if (!label) return segment.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
    const greedy = label.endsWith('+');
    labels.push(greedy ? label.slice(0, -1) : label);
    return greedy ? '(.+)' : '([^/]+)';
  });
  const literalQuery = queryTemplate
    .split('&')
    .filter(Boolean)
    .map((q) => q.split('=')[0] ?? q);
  // A trailing slash is accepted as Route 53 accepts it: the AWS CLI and boto3 post
  // ChangeResourceRecordSets to `…/rrset/` (docs/aws-behaviour.md, "Route 53 on the wire").
  return { operation, method, pattern: new RegExp(`^${pattern}/?$`), labels, literalQuery, status };
}
