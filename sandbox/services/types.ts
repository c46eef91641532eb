import type { Clock } from '../clock.js';
import type { FaultInjector } from '../faults.js';
import type { WireHandler } from '../protocol/types.js';

export interface SandboxContext {
  region: string;
  accountId: string;
  clock: Clock;
  faults: FaultInjector;
}

// biome-ignore lint/suspicious/noExplicitAny: operation inputs are validated by each operation.
export type Operation = (input: any) => unknown | Promise<unknown>;

export interface ServiceDefinition {
  /** The SigV4 signing name, which is how the server tells services apart on one port. */
  signingName: string;
  wire: WireHandler;
  /** The account's fault injector, consulted before every operation. */
  faults: FaultInjector;
  operations: Record<string, Operation>;
}
