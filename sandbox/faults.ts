import { z } from 'zod';
import { AwsFault } from './protocol/errors.js';

/**
 * Fault injection, declared in data (fixture files, test setup or the demo's command line).
 * - `api-error`: an operation fails `times` times (after `skip` successful calls) with an AWS
 *   error code, e.g. `Throttling`, optionally only when input members equal `when`.
 * - `snapshot`: a matching snapshot ends `failed`, disappears while creating, or stays `creating`.
 * - `replication-group`: a matching group's create ends in `create-failed`, or its create,
 *   modify or delete never finishes (`stuck`).
 * - `dns-change`: a Route 53 change stays `PENDING`.
 */
export const faultSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('api-error'),
    service: z.enum(['elasticache', 'route53', 'kms', 'secretsmanager', 'monitoring']),
    operation: z.string().min(1),
    code: z.string().min(1),
    message: z.string().optional(),
    times: z.number().int().positive().or(z.literal('always')).default(1),
    skip: z.number().int().nonnegative().default(0),
    when: z.record(z.string(), z.string()).optional(),
  }),
  z.strictObject({
    type: z.literal('snapshot'),
    name: z.string().default('*'),
    outcome: z.enum(['failed', 'disappears', 'stuck']),
  }),
  z.strictObject({
    type: z.literal('replication-group'),
    id: z.string().default('*'),
    phase: z.enum(['create', 'modify', 'delete']),
    outcome: z.enum(['create-failed', 'stuck']),
  }),
  z.strictObject({
    type: z.literal('dns-change'),
    hostedZoneId: z.string().default('*'),
    outcome: z.literal('stuck-pending'),
  }),
]);

export type FaultSpec = z.input<typeof faultSchema>;
export type Fault = z.output<typeof faultSchema>;

function glob(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i');
  return re.test(value);
}

interface ArmedFault {
  fault: Fault;
  seen: number;
  fired: number;
}

export class FaultInjector {
  private armed: ArmedFault[] = [];

  add(...specs: FaultSpec[]): void {
    for (const spec of specs) this.armed.push({ fault: faultSchema.parse(spec), seen: 0, fired: 0 });
  }

  clear(): void {
    this.armed = [];
  }

  /** Throws the injected error for this call, if one is armed. */
  beforeCall(service: string, operation: string, input: Record<string, unknown>): void {
    for (const a of this.armed) {
      const f = a.fault;
      if (f.type !== 'api-error' || f.service !== service || f.operation !== operation) continue;
      if (
        f.when &&
        !Object.entries(f.when).every(([k, v]) => String(input[k] ?? '').toLowerCase() === v.toLowerCase())
      )
        continue;
      a.seen++;
      if (a.seen <= f.skip) continue;
      if (f.times !== 'always' && a.fired >= f.times) continue;
      a.fired++;
      const status = f.code === 'Throttling' || f.code === 'ThrottlingException' ? 400 : undefined;
      throw new AwsFault(f.code, f.message ?? defaultMessage(f.code), status);
    }
  }

  snapshotOutcome(name: string): 'failed' | 'disappears' | 'stuck' | undefined {
    for (const { fault } of this.armed)
      if (fault.type === 'snapshot' && glob(fault.name, name)) return fault.outcome;
    return undefined;
  }

  groupOutcome(id: string, phase: 'create' | 'modify' | 'delete'): 'create-failed' | 'stuck' | undefined {
    for (const { fault } of this.armed)
      if (fault.type === 'replication-group' && fault.phase === phase && glob(fault.id, id))
        return fault.outcome;
    return undefined;
  }

  changeStaysPending(hostedZoneId: string): boolean {
    return this.armed.some(
      ({ fault }) => fault.type === 'dns-change' && glob(fault.hostedZoneId, hostedZoneId),
    );
  }
}

function defaultMessage(code: string): string {
  if (code === 'Throttling' || code === 'ThrottlingException') return 'Rate exceeded';
  return `Injected fault: ${code}`;
}
