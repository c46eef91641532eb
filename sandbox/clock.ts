/**
 * Simulated durations. A realistic duration (what AWS takes) is multiplied by `timeScale`, so the
 * same life cycles run in milliseconds in tests and at realistic pace in a rehearsal. Life cycles
 * are evaluated when a resource is read (no timers), which keeps the sandbox deterministic.
 */
export class Clock {
  constructor(readonly timeScale: number) {
    if (!(timeScale >= 0)) throw new Error(`timeScale must be a number >= 0, got ${timeScale}`);
  }

  private pausedAt?: number;
  private offset = 0;

  now(): number {
    return this.pausedAt ?? Date.now() - this.offset;
  }

  /** Stops simulated time (life cycles do not advance) until `resume`; for tests. */
  pause(): void {
    this.pausedAt ??= this.now();
  }

  resume(): void {
    if (this.pausedAt === undefined) return;
    this.offset = Date.now() - this.pausedAt;
    this.pausedAt = undefined;
  }

  /** The wall-clock instant at which something that takes `realisticMs` in AWS completes. */
  deadline(realisticMs: number): number {
    return this.now() + Math.round(realisticMs * this.timeScale);
  }
}

/** Realistic durations, from AWS documentation and experience: group creation takes 5–15 min. */
export const DURATIONS = {
  groupCreateBaseMs: 6 * 60_000,
  groupDeleteBaseMs: 3 * 60_000,
  groupModifyBaseMs: 2 * 60_000,
  snapshotBaseMs: 60_000,
  /** Per GiB of data, for snapshot and restore. */
  perGiBMs: 90_000,
  dnsChangeMs: 30_000,
  /**
   * A tag change takes a group through `modifying` "briefly" (terraform-provider-aws #23219,
   * #30444); AWS documents no duration: 20 s is a guess (docs/aws-behaviour.md, Tagging).
   */
  tagChangeMs: 20_000,
} as const;

export function sizeDuration(baseMs: number, dataSizeMb: number): number {
  return baseMs + (DURATIONS.perGiBMs * dataSizeMb) / 1024;
}
