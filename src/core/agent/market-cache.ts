import type { Bar, Tick } from '../domain/messages.js';

/** Bars and quotes kept per symbol. */
const CAPACITY = 4096;

/** The bars after a time were asked for, but some of them have already been overwritten. */
export class MarketDataGoneError extends Error {
  readonly code = 'market_data_gone';
  readonly retryable = false;
  constructor(symbol: string, time: number, oldest: number) {
    super(
      `bars of ${symbol} after ${new Date(time).toISOString()} are no longer cached (oldest kept: ${new Date(oldest).toISOString()}); the message arrived too late to be handled exactly`,
    );
    this.name = 'MarketDataGoneError';
  }
}

/**
 * A fixed-size ring of rows of numbers (struct of arrays). Keeping market data in typed arrays
 * instead of one object per bar matters for speed: objects that live for thousands of bars are
 * promoted to the old generation and then die there, which made old-space GC a hot spot.
 */
class Ring {
  readonly time = new Float64Array(CAPACITY);
  readonly cols: Float64Array[];
  /** Rows written so far (the newest is at (count - 1) % CAPACITY). */
  count = 0;
  constructor(columns: number) {
    this.cols = Array.from({ length: columns }, () => new Float64Array(CAPACITY));
  }
  get size(): number {
    return Math.min(this.count, CAPACITY);
  }
  /** Physical index of the i-th oldest row kept. */
  at(i: number): number {
    return (this.count - this.size + i) % CAPACITY;
  }
  get lastTime(): number {
    return this.time[(this.count - 1) % CAPACITY]!;
  }
  push(time: number, values: readonly number[]): void {
    const j = this.count % CAPACITY;
    this.time[j] = time;
    for (let c = 0; c < values.length; c++) this.cols[c]![j] = values[c]!;
    this.count++;
  }
  /** Overwrites the newest row's values (same time). */
  replaceLast(values: readonly number[]): void {
    const j = (this.count - 1) % CAPACITY;
    for (let c = 0; c < values.length; c++) this.cols[c]![j] = values[c]!;
  }
  /** Index (0 = oldest kept) of the first row with time > t, or size when none. */
  firstAfter(t: number): number {
    let i = this.size;
    while (i > 0 && this.time[this.at(i - 1)]! > t) i--;
    return i;
  }
}

const O = 0;
const H = 1;
const L = 2;
const C = 3;
const V = 4;

interface SymbolData {
  readonly bars: Ring;
  readonly quotes: Ring;
  /** intervalMs of the bars, when the feed gives it. */
  intervalMs: number | undefined;
}

/**
 * A per-process read model of recent market data, fed once per process by the kernel from
 * `market.bar.*` and `market.tick.*` (the same role as NautilusTrader's cache). Machines never read it; a
 * binding looks prices up here and puts them into the machine event, so decisions stay a pure
 * function of the event. Lookups are by event time, so a decision made at time t sees the
 * price as of t even when later bars have already arrived (NATS delivers subjects
 * independently).
 */
export class MarketCache {
  readonly #symbols = new Map<string, SymbolData>();

  #data(symbol: string): SymbolData {
    let d = this.#symbols.get(symbol);
    if (!d) this.#symbols.set(symbol, (d = { bars: new Ring(5), quotes: new Ring(1), intervalMs: undefined }));
    return d;
  }

  /** Records a bar; a bar already seen (a redelivery) or older than the last is ignored. */
  onBar(bar: Bar): void {
    const d = this.#data(bar.symbol);
    if (d.bars.count > 0 && d.bars.lastTime >= bar.time) return;
    d.bars.push(bar.time, [bar.open, bar.high, bar.low, bar.close, bar.volume]);
    d.intervalMs = bar.intervalMs;
    this.#quote(d, bar.time, bar.close);
  }

  onTick(tick: Tick): void {
    this.#quote(this.#data(tick.symbol), tick.time, tick.price);
  }

  /** Appends a quote in time order; same time: the last wins; older: ignored. */
  #quote(d: SymbolData, time: number, price: number): void {
    const q = d.quotes;
    if (q.count > 0 && q.lastTime >= time) {
      if (q.lastTime === time) q.replaceLast([price]);
      return;
    }
    q.push(time, [price]);
  }

  /** The time and length of the symbol's last bar (its length when the feed says it). */
  lastBar(symbol: string): { readonly time: number; readonly intervalMs: number | undefined } | undefined {
    const d = this.#symbols.get(symbol);
    return d && d.bars.count > 0 ? { time: d.bars.lastTime, intervalMs: d.intervalMs } : undefined;
  }

  /** The latest known price. */
  lastPrice(symbol: string): number | undefined {
    const q = this.#symbols.get(symbol)?.quotes;
    return q && q.count > 0 ? q.cols[0]![(q.count - 1) % CAPACITY] : undefined;
  }

  /** The last price at or before `time`. */
  priceAt(symbol: string, time: number): number | undefined {
    const q = this.#symbols.get(symbol)?.quotes;
    if (!q) return undefined;
    const i = q.firstAfter(time);
    return i === 0 ? undefined : q.cols[0]![q.at(i - 1)];
  }

  /**
   * Bars of `symbol` strictly after `time`, oldest first (what a late order must still see).
   * Throws MarketDataGoneError when some of them were already overwritten: a silently
   * shortened list would fill an order on the wrong bar. With `kept`, returns those still
   * cached instead (for marking to market, where only the latest prices matter).
   */
  barsAfter(symbol: string, time: number, options: { readonly kept?: boolean } = {}): Bar[] {
    const d = this.#symbols.get(symbol);
    if (!d || d.bars.count === 0 || d.bars.lastTime <= time) return [];
    const r = d.bars;
    const first = r.firstAfter(time);
    if (first === 0 && r.count > CAPACITY && !options.kept)
      throw new MarketDataGoneError(symbol, time, r.time[r.at(0)]!);
    const out: Bar[] = [];
    for (let i = first; i < r.size; i++) {
      const j = r.at(i);
      const bar: Bar = {
        symbol,
        time: r.time[j]!,
        open: r.cols[O]![j]!,
        high: r.cols[H]![j]!,
        low: r.cols[L]![j]!,
        close: r.cols[C]![j]!,
        volume: r.cols[V]![j]!,
      };
      if (d.intervalMs !== undefined) bar.intervalMs = d.intervalMs;
      out.push(bar);
    }
    return out;
  }
}
