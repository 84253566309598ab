import type { Emitted, WithOutbox } from '../../core/index.js';

/**
 * The pairing of a machine's outbox with its emission. A publishing machine puts a step's
 * outputs in `context.outbox` and ends the transition with its `emitOutbox` action; the host
 * provides that action, which hands the outbox here to be published once the step's snapshot is
 * in place. A transition that changed the outbox but never emitted it would lose its outputs
 * silently: `settle` finds such an outbox after the step and returns it, so the host publishes
 * it anyway and says which transition forgot.
 */
export class OutboxCollector {
  #pending: (readonly Emitted[])[] = [];
  /** The last outbox emitted, and the outbox the context held after the last step. */
  #emitted: readonly Emitted[] | undefined;
  #seen: readonly Emitted[] | undefined;

  /** The host's `emitOutbox`: keeps the step's outbox for publishing. */
  keep(outbox: readonly Emitted[]): void {
    this.#pending.push(outbox);
    this.#emitted = outbox;
  }

  /**
   * A fresh or restored actor: its context's outbox was dealt with before (published, or replayed from a checkpoint).
   */
  reset(context: Partial<WithOutbox> | undefined): void {
    this.#pending = [];
    this.#seen = context?.outbox;
    this.#emitted = undefined;
  }

  /** What the failed step kept is not published. */
  discard(): void {
    this.#pending = [];
  }

  /** The outbox the last `settle` found changed but never emitted (a transition that forgot emitOutbox). */
  forgotten: readonly Emitted[] | undefined;

  /**
   * After a step (its snapshot in place): the outboxes to publish, in order, including one the
   * step changed without emitting (then also in `forgotten`). Allocates nothing for a step that
   * published nothing: this runs once per message.
   */
  settle(context: Partial<WithOutbox> | undefined): readonly (readonly Emitted[])[] {
    const now = context?.outbox;
    const seen = this.#seen;
    this.#seen = now;
    this.forgotten = undefined;
    if (now && now !== seen && now !== this.#emitted && now.length > 0) {
      this.forgotten = now;
      this.#pending.push(now);
    }
    if (this.#pending.length === 0) return NONE;
    const out = this.#pending;
    this.#pending = [];
    return out;
  }
}

const NONE: readonly (readonly Emitted[])[] = Object.freeze([]);
