/** The data verifier's public API (the Lambda handler and the sandbox import from here). */

export {
  type CatchUpInput,
  type CatchUpResult,
  catchUp,
  copyKeys,
  type EndpointPair,
  openPair,
} from './catch-up.js';
export { createIoredisClient, type RedisClientFactory } from './connection.js';
export { ChangeTracker, GroupControl } from './control.js';
export * from './errors.js';
export { EXAMPLES_PER_KIND, keyLabel } from './report.js';
export * from './types.js';
export { type VerifierDependencies, verify } from './verify.js';
