import {
  type ElastiCacheClient,
  InvalidReplicationGroupStateFault,
  type ReplicationGroup,
} from '@aws-sdk/client-elasticache';
import { findGroup } from './aws.js';

/**
 * ElastiCache lets a replication group's tags be read and changed only while it is `available`,
 * and a tag change takes the group through `modifying` for a short while; the daily backup window
 * puts it in `snapshotting` (docs/aws-behaviour.md, Tagging and group state). These helpers wait
 * such states out inside one invocation, with backoff; past the budget they throw AWS's own
 * InvalidReplicationGroupStateFault, which the state machine retries for the steps that act on
 * the source (minutes apart), or which the caller turns into a clear refusal.
 */
export interface BusyWait {
  /** How long one invocation waits in all (the functions run 1–2 minutes at most). */
  budgetMs: number;
  /** The first pause; each next one doubles, up to `maxDelayMs`, with jitter. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
}

export const BUSY_WAIT: BusyWait = { budgetMs: 30_000, firstDelayMs: 200, maxDelayMs: 5_000 };

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function isBusy(error: unknown): boolean {
  return (error as Error | undefined)?.name === 'InvalidReplicationGroupStateFault';
}

/** Delays of the backoff: doubling from `firstDelayMs`, each between half and all of it (equal jitter). */
function* delays(wait: BusyWait): Generator<number> {
  const deadline = Date.now() + wait.budgetMs;
  for (let delay = wait.firstDelayMs; Date.now() < deadline; delay = Math.min(delay * 2, wait.maxDelayMs)) {
    yield Math.min(delay / 2 + (Math.random() * delay) / 2, Math.max(0, deadline - Date.now()));
  }
}

/** Runs `action`, again after a pause each time the group was not in a state to allow it. */
export async function retryWhileBusy<T>(action: () => Promise<T>, wait: BusyWait = BUSY_WAIT): Promise<T> {
  const sleep = wait.sleep ?? pause;
  for (const delay of delays(wait)) {
    try {
      return await action();
    } catch (error) {
      if (!isBusy(error)) throw error;
      await sleep(delay);
    }
  }
  return action();
}

/**
 * The group once it is `available` (waiting out `modifying`, `snapshotting`, `creating`), or as it
 * is when it is gone, being deleted or failed (nothing to wait for). Past the budget:
 * InvalidReplicationGroupStateFault naming the state it is in.
 */
export async function untilAvailable(
  elasticache: ElastiCacheClient,
  groupId: string,
  wait: BusyWait = BUSY_WAIT,
): Promise<ReplicationGroup | undefined> {
  const sleep = wait.sleep ?? pause;
  const settled = (g: ReplicationGroup | undefined) =>
    !g || ['available', 'deleting', 'create-failed'].includes(g.Status ?? '');
  let group = await findGroup(elasticache, groupId);
  for (const delay of delays(wait)) {
    if (settled(group)) return group;
    await sleep(delay);
    group = await findGroup(elasticache, groupId);
  }
  if (settled(group)) return group;
  throw new InvalidReplicationGroupStateFault({
    $metadata: {},
    message: `Replication group '${groupId}' is still '${group?.Status}' after ${Math.round(wait.budgetMs / 1000)} s (a backup window or a change in progress); its tags can be read and changed, and it can be acted on, once it is available.`,
  });
}
