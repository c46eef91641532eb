import { NormalizedSchema } from '@smithy/core/schema';
import type { StaticErrorSchema, StaticOperationSchema } from '@smithy/types';

/**
 * The AWS SDK v3 client packages export every shape of the service model as a static schema
 * named after the shape with a `$` suffix (see docs/aws-behaviour.md, "Where the wire formats
 * are written down"). The sandbox reads request and response formats from these, so it stays in
 * step with the SDK instead of hand-writing shapes.
 */
export interface ServiceSchemas {
  operations: Map<string, StaticOperationSchema>;
  errors: Map<string, StaticErrorSchema>;
}

export function collectSchemas(module: Record<string, unknown>): ServiceSchemas {
  const operations = new Map<string, StaticOperationSchema>();
  const errors = new Map<string, StaticErrorSchema>();
  for (const [exportName, value] of Object.entries(module)) {
    if (!exportName.endsWith('$') || !Array.isArray(value)) continue;
    const kind = value[0];
    if (kind === 9) operations.set(value[2] as string, value as unknown as StaticOperationSchema);
    if (kind === -3) errors.set(value[2] as string, value as unknown as StaticErrorSchema);
  }
  return { operations, errors };
}

export function inputSchema(op: StaticOperationSchema): NormalizedSchema {
  return NormalizedSchema.of(op[4]);
}

export function outputSchema(op: StaticOperationSchema): NormalizedSchema {
  return NormalizedSchema.of(op[5]);
}

export function operationTraits(op: StaticOperationSchema): Record<string, unknown> {
  const traits = op[3];
  return typeof traits === 'object' && traits !== null ? (traits as Record<string, unknown>) : {};
}

export function errorTraits(err: StaticErrorSchema): Record<string, unknown> {
  const traits = err[3];
  return typeof traits === 'object' && traits !== null ? (traits as Record<string, unknown>) : {};
}

/** Coerces a wire string into the scalar type that `schema` declares. */
export function coerceScalar(schema: NormalizedSchema, raw: string): unknown {
  if (schema.isBooleanSchema()) {
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    throw new TypeError(`expected true or false, got '${raw}'`);
  }
  if (schema.isNumericSchema()) {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new TypeError(`expected a number, got '${raw}'`);
    return n;
  }
  if (schema.isTimestampSchema()) {
    const asNumber = Number(raw);
    const date = Number.isFinite(asNumber) ? new Date(asNumber * 1000) : new Date(raw);
    if (Number.isNaN(date.getTime())) throw new TypeError(`expected a timestamp, got '${raw}'`);
    return date;
  }
  return raw;
}
