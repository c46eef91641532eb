import { XmlShapeSerializer } from '@aws-sdk/core/protocols';
import { XmlNode } from '@aws-sdk/xml-builder';
import type { NormalizedSchema } from '@smithy/core/schema';
import type { StaticStructureSchema } from '@smithy/types';
import { AwsFault, COMMON_FAULTS } from './errors.js';
import { coerceScalar, errorTraits, inputSchema, outputSchema, type ServiceSchemas } from './schema.js';
import type { ProtocolRequest, ProtocolResponse, WireHandler } from './types.js';

/**
 * The awsQuery protocol (ElastiCache): form-encoded `Action=...&Version=...` requests, XML
 * responses wrapped in `<{Action}Response><{Action}Result>`, errors as
 * `<ErrorResponse><Error><Type/><Code/><Message/></Error></ErrorResponse>`.
 * Request members are read with the same key rules the SDK's QueryShapeSerializer writes
 * (`Tags.Tag.1.Key`, `SecurityGroupIds.SecurityGroupId.1`, ...); responses are written by the
 * SDK's own XmlShapeSerializer so they parse exactly as the real service's do.
 */
export function queryProtocol(options: {
  schemas: ServiceSchemas;
  namespace: string;
  xmlNamespace: string;
  version: string;
}): WireHandler {
  const { schemas } = options;
  return {
    parse(req: ProtocolRequest) {
      const params = new URLSearchParams(req.body.toString('utf8'));
      for (const [k, v] of req.url.searchParams) if (!params.has(k)) params.set(k, v);
      const action = params.get('Action');
      if (!action) throw new AwsFault('MissingAction', 'Missing Action');
      const op = schemas.operations.get(action);
      if (!op) throw new AwsFault('InvalidAction', `The action ${action} is not valid for this web service.`);
      const version = params.get('Version');
      if (version !== options.version) {
        throw new AwsFault('InvalidParameterValue', `Unsupported API version ${version ?? '(none)'}`);
      }
      const input = (readQuery(inputSchema(op), params, '') ?? {}) as Record<string, unknown>;
      return { operation: action, input };
    },
    respond(operation, output, requestId): ProtocolResponse {
      const op = schemas.operations.get(operation)!;
      const out = outputSchema(op);
      const envelope: StaticStructureSchema = out.isUnitSchema()
        ? [3, options.namespace, `${operation}Response`, 0, ['ResponseMetadata'], [responseMetadata]]
        : [
            3,
            options.namespace,
            `${operation}Response`,
            0,
            [`${operation}Result`, 'ResponseMetadata'],
            [out.getSchema() as StaticStructureSchema, responseMetadata],
          ];
      const serializer = new XmlShapeSerializer({
        timestampFormat: { useTrait: true, default: 5 },
        httpBindings: false,
        xmlNamespace: options.xmlNamespace,
        serviceNamespace: options.namespace,
      });
      serializer.write(envelope, {
        [`${operation}Result`]: output ?? {},
        ResponseMetadata: { RequestId: requestId },
      });
      return { status: 200, headers: { 'content-type': 'text/xml' }, body: String(serializer.flush()) };
    },
    error: (fault, requestId) => xmlErrorResponse(schemas, options.xmlNamespace, fault, requestId),
  };
}

/**
 * The XML error both awsQuery and restXml services return:
 * `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`.
 */
export function xmlErrorResponse(
  schemas: ServiceSchemas,
  xmlNamespace: string,
  fault: AwsFault,
  requestId: string,
): ProtocolResponse {
  const wire = wireError(schemas, fault);
  const error = new XmlNode('Error')
    .c(XmlNode.of('Type', wire.type))
    .c(XmlNode.of('Code', wire.code))
    .c(XmlNode.of('Message', fault.message));
  const body = new XmlNode('ErrorResponse')
    .a('xmlns', xmlNamespace)
    .c(error)
    .c(XmlNode.of('RequestId', requestId));
  return { status: wire.status, headers: { 'content-type': 'text/xml' }, body: body.toString() };
}

const responseMetadata: StaticStructureSchema = [3, 'sandbox', 'ResponseMetadata', 0, ['RequestId'], [0]];

/** The query-protocol wire code and HTTP status of a modelled fault (`awsQueryError` trait). */
export function wireError(
  schemas: ServiceSchemas,
  fault: AwsFault,
): { code: string; status: number; type: 'Sender' | 'Receiver' } {
  const schema = schemas.errors.get(fault.code);
  if (schema) {
    const traits = errorTraits(schema);
    const [code, status] = (traits.awsQueryError as [string, number] | undefined) ?? [fault.code, undefined];
    const httpError = typeof traits.httpError === 'number' ? traits.httpError : undefined;
    const type = traits.error === 'server' ? 'Receiver' : 'Sender';
    return { code, status: fault.status ?? status ?? httpError ?? 400, type };
  }
  const common = COMMON_FAULTS[fault.code];
  return { code: fault.code, status: fault.status ?? common?.status ?? 400, type: common?.type ?? 'Sender' };
}

function hasPrefix(params: URLSearchParams, prefix: string): boolean {
  for (const key of params.keys()) if (key === prefix || key.startsWith(`${prefix}.`)) return true;
  return false;
}

function readQuery(ns: NormalizedSchema, params: URLSearchParams, key: string): unknown {
  if (ns.isStructSchema()) {
    const result: Record<string, unknown> = {};
    for (const [memberName, member] of ns.structIterator()) {
      const name = (member.getMergedTraits().xmlName as string | undefined) ?? memberName;
      const value = readQuery(member, params, key ? `${key}.${name}` : name);
      if (value !== undefined) result[memberName] = value;
    }
    return key && Object.keys(result).length === 0 && !params.has(key) ? undefined : result;
  }
  if (ns.isListSchema()) {
    if (params.get(key) === '') return [];
    const member = ns.getValueSchema();
    const flat = Boolean(ns.getMergedTraits().xmlFlattened);
    const suffix = (member.getMergedTraits().xmlName as string | undefined) ?? 'member';
    const items: unknown[] = [];
    for (let i = 1; ; i++) {
      const itemKey = flat ? `${key}.${i}` : `${key}.${suffix}.${i}`;
      if (!hasPrefix(params, itemKey)) break;
      items.push(readQuery(member, params, itemKey));
    }
    return items.length > 0 ? items : undefined;
  }
  if (ns.isMapSchema()) {
    // Same key rules as the SDK's QueryShapeSerializer: `entry.N.key` / `entry.N.value`, with the
    // key and value members' xmlName where the model sets one (SNS: `entry.N.Name`, `.Value`).
    const result: Record<string, unknown> = {};
    const flat = Boolean(ns.getMergedTraits().xmlFlattened);
    const keyName = (ns.getKeySchema().getMergedTraits().xmlName as string | undefined) ?? 'key';
    const valueName = (ns.getValueSchema().getMergedTraits().xmlName as string | undefined) ?? 'value';
    for (let i = 1; ; i++) {
      const entry = flat ? `${key}.${i}` : `${key}.entry.${i}`;
      if (!hasPrefix(params, entry)) break;
      const k = params.get(`${entry}.${keyName}`);
      if (k !== null) result[k] = readQuery(ns.getValueSchema(), params, `${entry}.${valueName}`);
    }
    return Object.keys(result).length > 0 ? result : undefined;
  }
  const raw = params.get(key);
  if (raw === null) return undefined;
  try {
    return coerceScalar(ns, raw);
  } catch (error) {
    throw new AwsFault(
      'InvalidParameterValue',
      `Invalid value for parameter ${key}: ${(error as Error).message}`,
    );
  }
}
