import {
  type Bus,
  rootEnvelope,
  type EnvelopeDeps,
  subjects,
  versionOf,
  type RiskStateChanged,
  type Logger,
} from '../../core/index.js';

/** Who the trading-state commands of the watch are from (and how its own halt is recognised). */
export const STORE_WATCH = 'system:store';

export interface WriteWatchDeps {
  readonly bus: Bus;
  readonly envelope: EnvelopeDeps;
  readonly log: Logger;
  /** Which store it watches, for sentences ('embedded', 'mongodb'). */
  readonly store: string;
  /** Where trading goes while writes fail: HALTED (nothing passes) or REDUCING (closing only). */
  readonly failState: 'HALTED' | 'REDUCING';
}

/** What /ready says about writes. */
export interface WriteHealth {
  readonly ok: boolean;
  readonly detail?: string;
}

/**
 * Watches whether the store takes writes (checkpoints, the event log). When one fails, trading
 * stops: risk is told to go HALTED (or REDUCING, STORE_FAILURE_STATE) with the cause, which every
 * notifier tells the person, and /ready answers 503 naming the store. When writes succeed again
 * (the recorder retries from its buffer, the checkpointer every interval: nothing in between is
 * lost), trading resumes by itself, unless someone changed the trading state meanwhile (their
 * decision stands: only the watch's own stop is lifted).
 */
export class WriteWatch {
  /** The kinds of write failing now ('checkpoint', 'event log'), with the first error and since when. */
  readonly #failing = new Map<string, { error: string; since: number }>();
  /** The cause of the trading state in force, as risk last published it. */
  #current: RiskStateChanged | undefined;

  constructor(private readonly deps: WriteWatchDeps) {
    deps.bus.subscribe(subjects.riskState(), (env) => void (this.#current = env.payload as RiskStateChanged), {
      name: 'store-watch',
    });
  }

  health(): WriteHealth {
    if (this.#failing.size === 0) return { ok: true };
    const parts = [...this.#failing].map(
      ([what, f]) => `${what} failing since ${new Date(f.since).toISOString()}: ${f.error}`,
    );
    return {
      ok: false,
      detail: `${this.deps.store} store not taking writes (${parts.join('; ')}); trading is stopped until it does`,
    };
  }

  /** A write (`what`: 'checkpoint', 'event log') failed. */
  failed(what: string, err: unknown): void {
    if (this.#failing.has(what)) return;
    const error = err instanceof Error ? err.message : String(err);
    const first = this.#failing.size === 0;
    this.#failing.set(what, { error, since: Date.now() });
    const reason = `the ${this.deps.store} store is not taking writes (${what}: ${error}); trading stops until it does`;
    this.deps.log.error({ what, err }, reason);
    if (first) this.#command(this.deps.failState === 'HALTED' ? 'halt' : 'reduce', reason);
  }

  /** A write of this kind succeeded: its failure, if any, is over; when none is left, trading resumes. */
  succeeded(what: string): void {
    const f = this.#failing.get(what);
    if (!f) return;
    this.#failing.delete(what);
    if (this.#failing.size > 0) return;
    const reason = `the ${this.deps.store} store takes writes again (${what} written; failing since ${new Date(f.since).toISOString()})`;
    this.deps.log.warn({ what }, reason);
    // only our own stop is lifted: a person's halt (or a loss-limit breach) since then stands
    if (this.#current?.cause.by === STORE_WATCH && this.#current.state !== 'ACTIVE') this.#command('resume', reason);
  }

  #command(command: 'halt' | 'reduce' | 'resume', reason: string): void {
    const env = rootEnvelope(
      this.deps.envelope,
      'risk.command',
      { command, reason, by: STORE_WATCH },
      { v: versionOf('risk.command') },
    );
    this.deps.bus.publish(subjects.systemRiskCommand(command), env);
  }
}
