import type { EventObject } from 'xstate';
import type { AgentSpec, Envelope } from '../../core/index.js';

/** Where an effect's result goes: the machine, as an event caused by the message that asked for it. */
export type EffectResult = (event: EventObject, cause: Envelope | undefined) => void;

/**
 * Runs the effects a machine asks for (`effect.<name>`: a broker call) with the agent's handler
 * for each, and counts those whose result has not come back: an agent with effects in flight is
 * not at a consistent point for a checkpoint.
 */
export class EffectRunner {
  #inFlight = 0;

  constructor(
    private readonly agent: string,
    private readonly handlers: AgentSpec['effects'],
  ) {}

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Runs effect `type`; its result (at once or later) is handed to `result` with `cause`. */
  run(type: string, payload: unknown, cause: Envelope | undefined, result: EffectResult): void {
    const handler = this.handlers?.[type];
    if (!handler) throw new Error(`${this.agent} emitted ${type} but has no handler for it`);
    let answered = false;
    const answer = () => {
      if (!answered) {
        answered = true;
        this.#inFlight--;
      }
    };
    this.#inFlight++;
    try {
      handler(payload, (event) => {
        answer();
        result(event, cause);
      });
    } catch (err) {
      answer();
      throw err;
    }
  }
}
