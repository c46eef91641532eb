/**
 * The re-check rounds, between the walk and the report: keys the walk found different are
 * observed again, `recheckRounds` times at least `recheckIntervalMs` apart, on connections of
 * their own while the passes go on. A key whose state moved between observations (or that
 * vanished from the side that listed it) changed during the check and is reported apart from real
 * differences; one equal on a later look is resolved (RedisFullCheck's multi-round idea).
 */
import { type ComparisonOptions, finalKind, observeSuspect, type Suspect } from './compare.js';
import type { Endpoint } from './connection.js';
import { observeKeys } from './contents.js';
import { recordDifference } from './report.js';
import type { VerifierReport, VerifierTuning } from './types.js';
import { type FoundBatch, sleep } from './walk.js';

/** A key still different after its content comparison, and when to look at it again. */
interface Pending {
  readonly suspect: Suspect;
  /** Re-check rounds done so far. */
  rounds: number;
  /** Not observed again before this time (ms since the epoch). */
  dueAt: number;
}

type Tuning = Required<
  Pick<VerifierTuning, 'recheckRounds' | 'recheckIntervalMs' | 'batchSize' | 'chunkSize'>
>;

/** Suspects kept in memory before the walk is stopped mid-call for the re-checks. */
const MAX_SUSPECTS = 10_000;

export class Rechecks {
  /** Keys awaiting their re-check rounds, by database and name. */
  private readonly suspects = new Map<string, Pending>();
  /** Wakes the loop when it waits for suspects (or for the passes to end). */
  private wake: (() => void) | undefined;
  private passesOver = false;
  private aborted = false;

  constructor(
    private readonly sides: { readonly source: Endpoint; readonly target: Endpoint },
    private readonly tuning: Tuning,
    private readonly report: VerifierReport,
    private readonly comparison: ComparisonOptions,
  ) {}

  /** Whether so many suspects wait that the walk must stop for this call. */
  get full(): boolean {
    return this.suspects.size >= MAX_SUSPECTS;
  }

  /** Takes the keys a batch found different: each is reported, or awaits its re-checks. */
  take({ db, listedBy, differences }: FoundBatch): void {
    for (const { key, source, target, comparison } of differences) {
      if (comparison === 'expiring') {
        this.report.info.expiredDuringCheck++;
        continue;
      }
      const id = `${db}:${key.toString('latin1')}`;
      if (this.suspects.has(id)) continue;
      const listedSide = listedBy === 'source' ? source : target;
      const suspect: Suspect = { key, db, source, target, changed: listedSide.type === 'none', comparison };
      if (this.tuning.recheckRounds === 0) {
        this.conclude(suspect);
        continue;
      }
      this.suspects.set(id, { suspect, rounds: 0, dueAt: Date.now() + this.tuning.recheckIntervalMs });
      this.wake?.();
    }
  }

  /** The passes are over: the loop ends once the suspects left are settled. */
  end(): void {
    this.passesOver = true;
    this.wake?.();
  }

  /** The passes failed: the loop ends at once. */
  abort(): void {
    this.passesOver = true;
    this.aborted = true;
    this.wake?.();
  }

  /**
   * The rounds, run alongside the passes: each suspect is observed again `recheckRounds` times,
   * at least `recheckIntervalMs` apart, then settled or reported. So only the suspects found last
   * are waited for once the passes are over.
   */
  async run(): Promise<void> {
    for (;;) {
      if (this.aborted) return;
      if (this.suspects.size === 0) {
        if (this.passesOver) return;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
        continue;
      }
      const now = Date.now();
      let nextDue = Number.POSITIVE_INFINITY;
      const due: [string, Pending][] = [];
      for (const entry of this.suspects) {
        if (entry[1].dueAt <= now) due.push(entry);
        else nextDue = Math.min(nextDue, entry[1].dueAt);
      }
      if (due.length === 0) await sleep(nextDue - now);
      else await this.observeAgain(due);
    }
  }

  /** One more observation of each given suspect; reports those whose rounds are over. */
  private async observeAgain(due: readonly [string, Pending][]): Promise<void> {
    const { source, target } = this.sides;
    const byDb = new Map<number, [string, Pending][]>();
    for (const entry of due) {
      const list = byDb.get(entry[1].suspect.db);
      if (list) list.push(entry);
      else byDb.set(entry[1].suspect.db, [entry]);
    }
    for (const [db, entries] of byDb) {
      await Promise.all([source.selectDb(db), target.selectDb(db)]);
      for (let i = 0; i < entries.length; i += this.tuning.batchSize) {
        const chunk = entries.slice(i, i + this.tuning.batchSize);
        const keys = chunk.map(([, pending]) => pending.suspect.key);
        const [sourceObs, targetObs] = await Promise.all([
          observeKeys(source, keys, this.tuning.chunkSize),
          observeKeys(target, keys, this.tuning.chunkSize),
        ]);
        const observedAt = Date.now();
        chunk.forEach(([id, pending], j) => {
          const update = observeSuspect(
            pending.suspect,
            sourceObs[j] as (typeof sourceObs)[number],
            targetObs[j] as (typeof targetObs)[number],
            this.comparison,
          );
          pending.rounds++;
          pending.dueAt = observedAt + this.tuning.recheckIntervalMs;
          if (update.settled !== undefined) {
            this.suspects.delete(id);
            if (update.settled === 'expiring') this.report.info.expiredDuringCheck++;
            else this.report.info.resolvedOnRecheck++;
          } else if (pending.rounds >= this.tuning.recheckRounds) {
            this.suspects.delete(id);
            this.conclude(pending.suspect);
          }
        });
      }
    }
  }

  /** Reports a suspect whose observations are over. */
  private conclude(suspect: Suspect): void {
    const kind = finalKind(suspect);
    if (kind === 'value' && !suspect.source.comparable) this.report.info.uncomparable++;
    recordDifference(this.report, kind, suspect.db, suspect.key);
  }
}
