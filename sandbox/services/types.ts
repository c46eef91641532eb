import type { Clock } from '../clock.js';
import type { FaultInjector } from '../faults.js';
import type { ProtocolRequest, WireHandler } from '../protocol/types.js';

export interface SandboxContext {
  region: string;
  accountId: string;
  clock: Clock;
  faults: FaultInjector;
  /**
   * The fixture's `pageSize`: when set, no page of an ElastiCache Describe*, Route 53 or Step
   * Functions list answer holds more items than this, whatever MaxRecords/MaxItems asks (sandbox/fixture.ts).
   */
  pageSize?: number;
}

// biome-ignore lint/suspicious/noExplicitAny: operation inputs are validated by each operation.
export type Operation = (input: any) => unknown | Promise<unknown>;

export interface ServiceDefinition {
  /** The SigV4 signing name, which is how the server tells services apart on one port. */
  signingName: string;
  wire: WireHandler;
  /**
   * For a service that speaks two protocols (CloudWatch: awsJson1_0 to the current SDK, awsQuery
   * to older clients such as the AWS CLI v2.9), the one a request came in on; `wire` otherwise.
   */
  wireFor?: (req: ProtocolRequest) => WireHandler;
  /** The account's fault injector, consulted before every operation. */
  faults: FaultInjector;
  operations: Record<string, Operation>;
}
