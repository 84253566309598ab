import { type Bar, type Bus, type Subscription, patterns, type Clock } from '../../src/core/index.js';

/**
 * The time people's orders are decided at: the market's own event time, the time of the latest
 * bar or trade seen on the bus (`market.bar.*`, `market.tick.*`), so a preview, the risk
 * pre-check and the fill all use the current price whatever pace the feed runs at. A synthetic
 * feed runs far ahead of the wall clock and a file feed far behind it; with either, a wall-clock
 * decision time would value the order at an old bar, or at none. Before the first bar it is the
 * wall clock. On a live feed (`live`) it is the wall clock itself: the market runs in real time,
 * and a feed that went quiet must show in the age of its last bar, so risk's staleness guard
 * (`stale_market_data`) holds people's orders as it holds strategies'.
 */
export class MarketClock implements Clock {
  #latest: number | undefined;
  readonly #symbols = new Set<string>();
  readonly #bars = new Map<string, Bar>();
  readonly #subs: Subscription[];

  constructor(
    bus: Bus,
    private readonly wall: Clock,
    private readonly live = false,
  ) {
    const seen = (time: number, symbol: unknown) => {
      if (this.#latest === undefined || time > this.#latest) this.#latest = time;
      if (typeof symbol === 'string') this.#symbols.add(symbol);
    };
    this.#subs = [
      bus.subscribe(
        patterns.marketBars,
        (e) => {
          const bar = e.payload as Bar;
          seen(e.time, bar.symbol);
          const last = this.#bars.get(bar.symbol);
          if (!last || bar.time >= last.time) this.#bars.set(bar.symbol, bar);
        },
        { name: 'market-clock' },
      ),
      bus.subscribe(patterns.marketTicks, (e) => seen(e.time, (e.payload as { symbol?: unknown }).symbol), {
        name: 'market-clock',
      }),
    ];
  }

  /** The symbols market data has been seen for (empty before the first bar: nothing is known yet). */
  symbols(): ReadonlySet<string> {
    return this.#symbols;
  }

  /** The latest bar of `symbol` seen on the bus (history bars included: they are the last known prices). */
  lastBar(symbol: string): Bar | undefined {
    return this.#bars.get(symbol);
  }

  now(): number {
    return this.live ? this.wall.now() : (this.#latest ?? this.wall.now());
  }

  observe(): void {}

  stop(): void {
    for (const s of this.#subs) s.unsubscribe();
  }
}
