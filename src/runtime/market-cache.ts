import type { Bar, Tick } from '../domain/messages.js';

interface Quote {
  readonly time: number;
  readonly price: number;
}

const KEEP = 512;

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

  /** Records a bar; a bar already seen (several agents of one process observe the same bar) is ignored. */
  onBar(bar: Bar): void {
    if (!append(this.#bars, bar.symbol, bar, false)) return;
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

  /** Bars of `symbol` strictly after `time`, oldest first (what a late order must still see). */
  barsAfter(symbol: string, time: number): Bar[] {
    const bars = this.#bars.get(symbol);
    if (!bars || bars.length === 0 || bars[bars.length - 1]!.time <= time) return [];
    let i = bars.length - 1;
    while (i > 0 && bars[i - 1]!.time > time) i--;
    return bars.slice(i);
  }
}

/**
 * Appends in time order. Older than the last entry: ignored (returns false). Same time: a
 * duplicate, ignored, unless `replaceSameTime` (several trades in one millisecond: the last wins).
 */
function append<T extends { time: number }>(map: Map<string, T[]>, key: string, value: T, replaceSameTime: boolean): boolean {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  const last = list[list.length - 1];
  if (last && last.time >= value.time) {
    if (last.time === value.time && replaceSameTime) list[list.length - 1] = value;
    return false;
  }
  list.push(value);
  if (list.length > KEEP * 2) list.splice(0, list.length - KEEP);
  return true;
}
