import type { RecordedMessage } from '../../core/index.js';

/**
 * Where a checkpoint cuts an agent's input, per inlet, and which recorded messages a replay after
 * a restart passes through the machine (AgentHost.prepareReplay).
 */

/** Ids an inlet's cut keeps (the last messages it handled). */
const CUT_IDS = 64;
/**
 * Messages of an inlet before the last one it handled (in stream order) that a replay checks for
 * one it had not handled: how far two publishers' messages can be reordered between the stream
 * and a subscriber.
 */
const CUT_LOOKBACK = 32;

/**
 * Of an inlet's recorded messages (stream order), the ids a replay passes through its machine:
 * those after the last one it handled, and those it had not handled among the CUT_LOOKBACK before
 * that one, never before the oldest one it handled (what came before its first message, or an
 * older checkpoint's single id, was not its own). With no message of its cut among them, all.
 */
export function replayIds(mine: readonly RecordedMessage[], cut: RecentInputs | undefined): Set<string> {
  const handled = new Set(cut?.list());
  const last = cut?.last;
  const at = last === undefined ? -1 : mine.findLastIndex((m) => m.env.id === last);
  const oldest = mine.findIndex((m) => handled.has(m.env.id));
  const from = at < 0 ? 0 : Math.max(at - CUT_LOOKBACK, oldest);
  const ids = new Set<string>();
  for (const m of mine.slice(from)) if (!handled.has(m.env.id)) ids.add(m.env.id);
  return ids;
}

/** An inlet's cut in a checkpoint: the ids of the last messages it handled, newest last (older ones: the last id). */
export type InletCut = string | readonly string[];

/** The ids of the last CUT_IDS messages an inlet handled (a ring: one store per message). */
export class RecentInputs {
  readonly #ids: string[] = [];
  #next = 0;

  static of(ids: readonly string[]): RecentInputs {
    const r = new RecentInputs();
    for (const id of ids.slice(-CUT_IDS)) r.add(id);
    return r;
  }

  add(id: string): void {
    if (this.#ids.length < CUT_IDS) this.#ids.push(id);
    else {
      this.#ids[this.#next] = id;
      this.#next = (this.#next + 1) % CUT_IDS;
    }
  }

  get last(): string | undefined {
    return this.#ids.length < CUT_IDS ? this.#ids.at(-1) : this.#ids[(this.#next + CUT_IDS - 1) % CUT_IDS];
  }

  /** Oldest first. */
  list(): string[] {
    return [...this.#ids.slice(this.#next), ...this.#ids.slice(0, this.#next)];
  }
}
