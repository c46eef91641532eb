/**
 * Helpers for driving the sandbox through the real AWS SDK clients, as the project's Lambda code
 * does: client settings, faults as the SDK surfaces them, and polling life cycles.
 */
import type { Sandbox } from '../../sandbox/index.js';

export const credentials = { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' };

/** Client settings that point an SDK client at `sandbox`. */
export function sdkConfig<T extends object>(sandbox: Sandbox, extra?: T) {
  return { endpoint: sandbox.endpoint, region: sandbox.region, credentials, ...extra };
}

/** What a caller sees of an SDK service error. */
export interface ServiceError extends Error {
  $metadata: { httpStatusCode?: number; attempts?: number };
  $fault?: 'client' | 'server';
}

/** The error `promise` rejects with; fails the test if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** The error name and HTTP status a call fails with, for compact assertions. */
export async function failure(promise: Promise<unknown>): Promise<{ name: string; status?: number }> {
  const error = await rejection(promise);
  return { name: error.name, status: error.$metadata?.httpStatusCode };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads until `done` holds, every few milliseconds; fails after `timeoutMs`. */
export async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting; last value: ${JSON.stringify(value)}`);
    await sleep(3);
  }
}

/**
 * Polls a status until `final` and returns the distinct statuses seen in order (consecutive
 * repeats collapsed), starting with `initial` (typically the status in the call's response).
 */
export async function statusTrail(
  initial: string | undefined,
  read: () => Promise<string>,
  final: (status: string) => boolean,
  timeoutMs = 15_000,
): Promise<string[]> {
  const trail = initial === undefined ? [] : [initial];
  await pollUntil(
    async () => {
      const status = await read();
      if (trail.at(-1) !== status) trail.push(status);
      return status;
    },
    final,
    timeoutMs,
  );
  return trail;
}

/** Maps a not-found error to `gone`, so disappearing resources show in a status trail. */
export async function orGone(read: Promise<string | undefined>, notFound: string): Promise<string> {
  try {
    return (await read) ?? 'undefined';
  } catch (error) {
    if ((error as Error).name === notFound) return 'gone';
    throw error;
  }
}

/** Waits a few real milliseconds while reading, to show something does NOT progress. */
export async function readsAfter<T>(ms: number, read: () => Promise<T>): Promise<T> {
  await read();
  await sleep(ms);
  await read();
  return read();
}
