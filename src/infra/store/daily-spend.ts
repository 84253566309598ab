import type { Logger, DailySpend, SpendLedger } from '../../core/index.js';
import type { SnapshotStore } from './ports.js';

/**
 * Keeps a daily budget's spend in the store, so a restart (or a crash loop) does not start the
 * day afresh: loaded once before the first model call, saved after each (in order; a failed
 * save is logged and the next one carries the total).
 */
export class PersistedSpend implements SpendLedger {
  #seq = 0;
  #saving: Promise<void> = Promise.resolve();
  #loaded: Promise<DailySpend | undefined> | undefined;

  constructor(
    private readonly snapshots: SnapshotStore,
    private readonly key: string,
    private readonly log: Logger,
  ) {}

  /** The spend saved for `day`, if any (read once). */
  async load(day: number): Promise<DailySpend | undefined> {
    this.#loaded ??= this.snapshots.load(this.key).then(
      (doc) => {
        this.#seq = doc?.seq ?? 0;
        return doc?.state as DailySpend | undefined;
      },
      (err: unknown) => {
        this.log.warn({ err, key: this.key }, 'could not read the saved daily spend; counting from zero');
        return undefined;
      },
    );
    const saved = await this.#loaded;
    return saved && saved.day === day ? saved : undefined;
  }

  /** Saves the day's spend (after the ones before it). */
  save(spend: DailySpend): void {
    const seq = ++this.#seq;
    this.#saving = this.#saving
      .then(() => this.snapshots.save({ key: this.key, seq, runId: 'budget', savedAt: Date.now(), state: spend }))
      .catch((err: unknown) => this.log.warn({ err, key: this.key }, 'could not save the daily spend'));
  }

  /** Resolves when the saves so far are done. */
  flushed(): Promise<void> {
    return this.#saving;
  }
}
