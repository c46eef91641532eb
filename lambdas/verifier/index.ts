/** The data verifier's public API (the Lambda handler and the sandbox import from here). */
export { createIoredisClient, type RedisClientFactory } from './connection.js';
export * from './errors.js';
export { EXAMPLES_PER_KIND, keyLabel } from './report.js';
export * from './types.js';
export { type VerifierDependencies, verify } from './verify.js';
