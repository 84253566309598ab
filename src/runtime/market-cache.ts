import type { Bar, Tick } from '../domain/messages.js';

interface Quote {
  readonly time: number;
  readonly price: number;
}

/** Bars and quotes kept per symbol (at least; up to twice as many between trims). */
const KEEP = 2048;

/** The bars after a time were asked for, but some of them have already been trimmed away. */
export class MarketDataGoneError extends Error {
  readonly code = 'market_data_gone';
  readonly retryable = false;
  constructor(symbol: string, time: number, oldest: number) {
    super(`bars of ${symbol} after ${new Date(time).toISOString()} are no longer cached (oldest kept: ${new Date(oldest).toISOString()}); the message arrived too late to be handled exactly`);
    this.name = 'MarketDataGoneError';
  }
}

/**
 * A per-process read model of recent market data, fed by agent bindings from `market.bar.*`
 * and `market.tick.*` (the same role as NautilusTrader's cache). Machines never read it; a
 * binding looks prices up here and puts them into the machine event, so decisions stay a pure
 * function of the event. Lookups are by event time, so a decision made at time t sees the
 * price as of t even when later bars have already arrived (NATS delivers subjects
 * independently).
 */
export class MarketCache {
  readonly #bars = new Map<string, Bar[]>();
  readonly #quotes = new Map<string, Quote[]>();
  /** Per symbol, the time of the newest bar trimmed away. */
  readonly #trimmed = new Map<string, number>();

  /** Records a bar; a bar already seen (several agents of one process observe the same bar) is ignored. */
  onBar(bar: Bar): void {
    const dropped = append(this.#bars, bar.symbol, bar, false);
    if (dropped === false) return;
    if (dropped !== undefined) this.#trimmed.set(bar.symbol, dropped.time);
    append(this.#quotes, bar.symbol, { time: bar.time, price: bar.close }, true);
  }

  onTick(tick: Tick): void {
    append(this.#quotes, tick.symbol, { time: tick.time, price: tick.price }, true);
  }

  /** The latest known price. */
  lastPrice(symbol: string): number | undefined {
    const q = this.#quotes.get(symbol);
    return q && q.length > 0 ? q[q.length - 1]!.price : undefined;
  }

  /** The last price at or before `time`. */
  priceAt(symbol: string, time: number): number | undefined {
    const q = this.#quotes.get(symbol);
    if (!q) return undefined;
    for (let i = q.length - 1; i >= 0; i--) if (q[i]!.time <= time) return q[i]!.price;
    return undefined;
  }

  /**
   * Bars of `symbol` strictly after `time`, oldest first (what a late order must still see).
   * Throws MarketDataGoneError when some of them were already trimmed: a silently shortened
   * list would fill an order on the wrong bar.
   */
  barsAfter(symbol: string, time: number): Bar[] {
    const bars = this.#bars.get(symbol);
    if (!bars || bars.length === 0 || bars[bars.length - 1]!.time <= time) return [];
    const trimmed = this.#trimmed.get(symbol);
    if (trimmed !== undefined && trimmed > time) throw new MarketDataGoneError(symbol, time, bars[0]!.time);
    let i = bars.length - 1;
    while (i > 0 && bars[i - 1]!.time > time) i--;
    return bars.slice(i);
  }
}

/**
 * Appends in time order. Older than the last entry: ignored (returns false). Same time: a
 * duplicate, ignored, unless `replaceSameTime` (several trades in one millisecond: the last
 * wins). Returns the newest entry trimmed away, if the append trimmed.
 */
function append<T extends { time: number }>(map: Map<string, T[]>, key: string, value: T, replaceSameTime: boolean): T | undefined | false {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  const last = list[list.length - 1];
  if (last && last.time >= value.time) {
    if (last.time === value.time && replaceSameTime) list[list.length - 1] = value;
    return false;
  }
  list.push(value);
  if (list.length <= KEEP * 2) return undefined;
  const removed = list.splice(0, list.length - KEEP);
  return removed[removed.length - 1];
}
