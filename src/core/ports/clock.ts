/**
 * The Clock port: the only way code outside a machine learns the time. Machines never read a
 * clock; they take time from event envelopes.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Event time seen by a source (a feed, a replay); a virtual clock follows it, wall clocks ignore it. */
  observe(eventTime: number): void;
}

/** Wall-clock time for live runs. */
export const systemClock: Clock = { now: () => Date.now(), observe: () => undefined };

/**
 * A clock driven by event time, for backtest and replay: it only moves when told to, and
 * never backwards (an older event leaves it where it is).
 */
export class VirtualClock implements Clock {
  #now: number;
  constructor(start = 0) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  /** Moves the clock to `time` if that is later than now. */
  advanceTo(time: number): void {
    if (time > this.#now) this.#now = time;
  }
  observe(eventTime: number): void {
    this.advanceTo(eventTime);
  }
  /** Moves the clock forward by `ms`. */
  advanceBy(ms: number): void {
    this.#now += ms;
  }
}
