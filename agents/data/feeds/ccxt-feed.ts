import ccxt, { DDoSProtection, RateLimitExceeded, type Exchange, type OHLCV } from 'ccxt';
import type { Bar, Logger } from '../../../src/core/index.js';
import { LiveOutlet } from './live-outlet.js';
import { FeedOptionsError, type FeedItem, type LiveFeed, type LiveFeedStats, type LiveSymbolStats } from './feed.js';

export interface CcxtFeedOptions {
  /** A ccxt exchange id, e.g. binance. */
  readonly exchange: string;
  /** Sextant symbol -> venue symbol, e.g. BTCUSDT -> BTC/USDT. */
  readonly symbols: Readonly<Record<string, string>>;
  /** One timeframe for every symbol, as ccxt names it: 1m, 5m, 1h, 1d ... */
  readonly timeframe: string;
  /** Closed candles fetched by REST at start, per symbol, published as history (warm-up). */
  readonly warmupBars: number;
  /**
   * Where the venue is (a proxy, a gateway, a test double): `rest` replaces ccxt's
   * `urls.api.public` and `urls.api.private`, `ws` its `urls.api.ws.spot` (the binance layout;
   * other venues may name theirs differently).
   */
  readonly urls?: { readonly rest?: string | undefined; readonly ws?: string | undefined };
  /** The wall clock, ms (which candles have closed). */
  readonly now: () => number;
  /** After a candle's end, how long to wait for the next one before asking REST whether it closed. */
  readonly graceMs: number;
  /** Reconnect backoff: base doubling to max (rate limits start four steps up). */
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  /** One REST call's timeout. */
  readonly timeoutMs: number;
  readonly log: Logger;
  /**
   * Where a restart resumes: the feed that ran before (its name) and the last candle it published
   * per symbol. Nothing at or before those is published again; what closed since comes as
   * history. Ignored when the feed was another (another venue or timeframe).
   */
  readonly resume?: { readonly name: string; readonly lastBars?: Readonly<Record<string, number>> | undefined };
  /** Extra ccxt constructor options (tests). */
  readonly ccxtOptions?: Readonly<Record<string, unknown>>;
}

interface SymbolState {
  readonly symbol: string;
  readonly venue: string;
  /** Open time of the last candle published. */
  last: number | undefined;
  /** The candle forming now (the latest the socket sent). */
  forming: OHLCV | undefined;
  /** Work on this symbol, one step at a time (the socket loop and the grace timer share it). */
  chain: Promise<void>;
  stats: { gapsRepaired: number; duplicates: number; outOfOrder: number; invalid: number };
}

/** Spot-only settings per venue (else loadMarkets also asks for futures, margin and currencies). */
const venueOptions: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  binance: { defaultType: 'spot', fetchMarkets: { types: ['spot'] }, fetchCurrencies: false, fetchMargins: false },
};

/**
 * Live closed candles from a crypto venue through ccxt (4.x, whose `pro` classes speak the
 * venue's websocket). Public market data: no API key.
 *
 * - Warm-up: at start, the last `warmupBars` closed candles of each symbol by REST, published as
 *   history (`bar.history`): strategies warm their indicators on them and decide no order.
 * - Closed candles only, each once and in order per symbol: the socket streams the forming
 *   candle; it is published when the next one starts, or, in a quiet market, when its end has
 *   passed by `graceMs` and REST shows it closed.
 * - A dropped socket, a venue error: reconnect with backoff (longer after a rate limit: 429,
 *   418), then fetch the closed candles missed by REST before going on. A jump in candle times
 *   is filled the same way. Updates for a candle already published, or older than the forming
 *   one, are dropped and counted; so are invalid candles.
 * - A venue without websocket candles is polled by REST once per candle.
 *
 * Bars carry the candle's open time as `time` and the timeframe as `intervalMs`.
 */
export class CcxtFeed implements LiveFeed {
  readonly name: string;
  readonly endless = true as const;
  readonly #opts: CcxtFeedOptions;
  readonly #ex: Exchange;
  readonly #tf: number;
  readonly #states: SymbolState[];
  readonly #out: LiveOutlet;
  #tasks: Promise<void>[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #connected = false;
  #reconnects = 0;
  #errors = 0;
  #rateLimited = 0;
  #lastError: string | undefined;
  #skipped = 0;

  constructor(opts: CcxtFeedOptions) {
    this.#opts = opts;
    const pro = (ccxt as unknown as { pro: Record<string, unknown> }).pro;
    const Ctor = (pro[opts.exchange] ?? (ccxt as unknown as Record<string, unknown>)[opts.exchange]) as
      (new (config: Record<string, unknown>) => Exchange) | undefined;
    if (!ccxt.exchanges.includes(opts.exchange) || typeof Ctor !== 'function')
      throw new FeedOptionsError(`DATA_FEED=ccxt: ccxt has no exchange '${opts.exchange}'`);
    const entries = Object.entries(opts.symbols);
    if (entries.length === 0)
      throw new FeedOptionsError('DATA_FEED=ccxt: no symbols; expected CCXT_SYMBOLS pairs like BTCUSDT=BTC/USDT');
    const extra = opts.ccxtOptions ?? {};
    this.#ex = new Ctor({
      ...extra,
      options: { ...venueOptions[opts.exchange], ...(extra.options as Record<string, unknown> | undefined) },
      timeout: opts.timeoutMs,
      enableRateLimit: true,
    });
    const api = this.#ex.urls.api as Record<string, unknown>;
    if (opts.urls?.rest) {
      api.public = opts.urls.rest;
      api.private = opts.urls.rest;
    }
    if (opts.urls?.ws) api.ws = { ...(api.ws as Record<string, unknown> | undefined), spot: opts.urls.ws };
    const seconds = this.#ex.parseTimeframe(opts.timeframe);
    if (!(seconds > 0)) throw new FeedOptionsError(`DATA_TIMEFRAME: '${opts.timeframe}' is not a timeframe`);
    this.#tf = seconds * 1000;
    this.name = `ccxt:${opts.exchange}:${opts.timeframe}`;
    this.#out = new LiveOutlet(this.name);
    this.#states = entries.map(([symbol, venue]) => ({
      symbol,
      venue,
      last: opts.resume?.name === this.name ? opts.resume.lastBars?.[symbol] : undefined,
      forming: undefined,
      chain: Promise.resolve(),
      stats: { gapsRepaired: 0, duplicates: 0, outOfOrder: 0, invalid: 0 },
    }));
  }

  get skipped(): number {
    return this.#skipped;
  }

  stats(): LiveFeedStats {
    const symbols: Record<string, LiveSymbolStats> = {};
    for (const s of this.#states) symbols[s.symbol] = { lastBarTime: s.last, ...s.stats };
    return {
      connected: this.#connected,
      reconnects: this.#reconnects,
      errors: this.#errors,
      rateLimited: this.#rateLimited,
      lastError: this.#lastError,
      timeframeMs: this.#tf,
      symbols,
    };
  }

  [Symbol.asyncIterator](): AsyncIterator<FeedItem> {
    return this.#out.read(() => this.#start());
  }

  async close(): Promise<void> {
    if (!this.#out.close()) return;
    if (this.#timer) clearInterval(this.#timer);
    await (this.#ex as unknown as { close?: () => Promise<void> }).close?.().catch(() => undefined);
    await Promise.allSettled(this.#tasks);
  }

  async #start(): Promise<void> {
    // ccxt needs a plain http agent before it opens a ws:// (not wss://) socket (a gateway, a test double)
    if (this.#opts.urls?.ws?.startsWith('ws://')) await this.#ex.loadHttpProxyAgent();
    // the venue's markets (symbols checked here, by name); retried while the venue is unreachable
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#ex.loadMarkets();
        break;
      } catch (err) {
        if (this.#out.closed) return;
        if (!this.#retryable(err)) throw err;
        await this.#pause(err, attempt, 'loading the markets');
      }
    }
    const markets = this.#ex.markets ?? {};
    const unknown = this.#states.filter((s) => !markets[s.venue]).map((s) => s.venue);
    if (unknown.length > 0)
      throw new FeedOptionsError(
        `CCXT_SYMBOLS: ${this.#opts.exchange} has no market ${unknown.join(', ')} (e.g. ${Object.keys(markets).slice(0, 3).join(', ')})`,
      );
    const streaming = this.#ex.has.watchOHLCV === true;
    this.#tasks = this.#states.map((s) =>
      (streaming ? this.#follow(s) : this.#poll(s)).catch((err) => this.#fail(err)),
    );
    if (streaming) {
      this.#timer = setInterval(() => this.#checkQuiet(), Math.max(250, Math.min(this.#opts.graceMs, this.#tf) / 2));
      this.#timer.unref();
    }
  }

  #fail(err: unknown): void {
    this.#out.fail(err);
  }

  /** Runs `step` after whatever this symbol is doing. */
  #serial(s: SymbolState, step: () => Promise<void>): Promise<void> {
    const next = s.chain.then(step);
    s.chain = next.catch(() => undefined);
    return next;
  }

  async #follow(s: SymbolState): Promise<void> {
    await this.#warmUp(s);
    for (let attempt = 0; !this.#out.closed;) {
      try {
        const candles = await this.#ex.watchOHLCV(s.venue, this.#opts.timeframe);
        this.#connected = true;
        attempt = 0;
        await this.#serial(s, async () => {
          for (const c of candles) await this.#onCandle(s, c);
        });
      } catch (err) {
        if (this.#out.closed) return;
        this.#connected = false;
        this.#reconnects++;
        await this.#pause(err, attempt++, `watching ${s.venue}`);
        // what closed while the socket was down, by REST, before going on
        await this.#serial(s, () => this.#repair(s, this.#opts.now())).catch((e: unknown) =>
          this.#noteError(e, `repairing ${s.venue}`),
        );
      }
    }
  }

  /** A venue without websocket candles: REST once per candle, just after it closes. */
  async #poll(s: SymbolState): Promise<void> {
    await this.#warmUp(s);
    this.#connected = true;
    for (let attempt = 0; !this.#out.closed;) {
      const now = this.#opts.now();
      const nextClose = (Math.floor(now / this.#tf) + 1) * this.#tf;
      await this.#out.sleep(nextClose + this.#opts.graceMs - now);
      if (this.#out.closed) return;
      try {
        await this.#serial(s, () => this.#repair(s, this.#opts.now()));
        attempt = 0;
      } catch (err) {
        await this.#pause(err, attempt++, `polling ${s.venue}`);
      }
    }
  }

  /**
   * The last `warmupBars` closed candles as history; after a restart, the candles closed since
   * the last one published (at most 1000 back), as history too.
   */
  async #warmUp(s: SymbolState): Promise<void> {
    const n = this.#opts.warmupBars;
    if (n <= 0 && s.last === undefined) return;
    for (let attempt = 0; !this.#out.closed; attempt++) {
      try {
        const now = this.#opts.now();
        const current = Math.floor(now / this.#tf) * this.#tf;
        const from =
          s.last === undefined ? current - n * this.#tf : Math.max(s.last + this.#tf, current - 1000 * this.#tf);
        await this.#fetchClosed(s, from, current, true);
        return;
      } catch (err) {
        if (this.#out.closed) return;
        await this.#pause(err, attempt, `warming up ${s.venue}`);
      }
    }
  }

  async #onCandle(s: SymbolState, update: OHLCV): Promise<void> {
    const c: OHLCV = [...update]; // ours: the venue client may reuse its arrays
    const t = c[0]!;
    if (s.last !== undefined && t <= s.last) {
      s.stats.duplicates++;
      return;
    }
    const forming = s.forming;
    if (!forming || t === forming[0]) {
      s.forming = c;
      return;
    }
    if (t < forming[0]!) {
      s.stats.outOfOrder++;
      return;
    }
    // a newer candle started: the forming one has closed (its last update is its final state)
    s.forming = c;
    if (s.last !== undefined && forming[0]! > s.last + this.#tf) await this.#repair(s, forming[0]!);
    this.#emit(s, forming, false);
    if (t > forming[0]! + this.#tf) await this.#repair(s, t);
  }

  /** The closed candles after the last published and before `before`, by REST, in order. */
  async #repair(s: SymbolState, before: number, from = s.last === undefined ? undefined : s.last + this.#tf) {
    if (from === undefined) return; // nothing published yet: nothing can be missing
    await this.#fetchClosed(s, from, before, false);
    if (s.forming && s.last !== undefined && s.forming[0]! <= s.last) s.forming = undefined;
  }

  /** Publishes, in order, the closed candles from `from` and before `before` that REST has (as history, or repairs). */
  async #fetchClosed(s: SymbolState, from: number, before: number, history: boolean): Promise<void> {
    for (let since = from; since < before;) {
      const now = this.#opts.now();
      const got = await this.#ex.fetchOHLCV(s.venue, this.#opts.timeframe, since, 1000);
      const closed = got.filter((c) => c[0]! >= since && c[0]! < before && c[0]! + this.#tf <= now);
      if (closed.length === 0) return;
      for (const c of closed) if (this.#emit(s, c, history) && !history) s.stats.gapsRepaired++;
      since = closed[closed.length - 1]![0]! + this.#tf;
    }
  }

  /** A quiet market: a candle whose end passed by the grace period is asked of REST. */
  #checkQuiet(): void {
    const now = this.#opts.now();
    for (const s of this.#states) {
      const f = s.forming;
      if (!f || f[0]! + this.#tf + this.#opts.graceMs > now) continue;
      void this.#serial(s, async () => {
        if (s.forming !== f) return; // the next candle came meanwhile
        // the first candle seen: nothing before it is missing
        await this.#repair(s, this.#opts.now(), s.last === undefined ? f[0]! : undefined);
      }).catch((err: unknown) => this.#noteError(err, `confirming ${s.venue}'s closed candle`));
    }
  }

  /** Publishes one closed candle unless it was already; false when dropped. */
  #emit(s: SymbolState, c: OHLCV, history: boolean): boolean {
    const [t, o, h, l, cl, v] = c;
    if (s.last !== undefined && t! <= s.last) {
      s.stats.duplicates++;
      return false;
    }
    const ok =
      [o, h, l, cl].every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0) &&
      l! <= Math.min(o!, cl!) &&
      h! >= Math.max(o!, cl!) &&
      (v === undefined || (Number.isFinite(v) && v >= 0));
    if (!ok) {
      s.stats.invalid++;
      this.#skipped++;
      this.#opts.log.warn({ symbol: s.symbol, candle: c }, 'invalid candle from the venue, skipped');
      return false;
    }
    s.last = t!;
    const bar: Bar = {
      symbol: s.symbol,
      time: t!,
      open: o!,
      high: h!,
      low: l!,
      close: cl!,
      volume: v ?? 0,
      intervalMs: this.#tf,
      ...(history ? { history: true as const } : {}),
    };
    this.#out.push({ kind: 'bar', bar });
    return true;
  }

  #retryable(err: unknown): boolean {
    return err instanceof ccxt.NetworkError || err instanceof ccxt.ExchangeNotAvailable;
  }

  #noteError(err: unknown, doing: string): void {
    this.#errors++;
    this.#lastError = `${doing}: ${(err as Error).message ?? String(err)}`.slice(0, 300);
    if (err instanceof RateLimitExceeded || err instanceof DDoSProtection) this.#rateLimited++;
  }

  /** Counts and logs a venue error, then waits the backoff (longer after a rate limit). */
  async #pause(err: unknown, attempt: number, doing: string): Promise<void> {
    this.#noteError(err, doing);
    const limited = err instanceof RateLimitExceeded || err instanceof DDoSProtection;
    const { baseMs, maxMs } = this.#opts.backoff;
    const delay = Math.min(maxMs, baseMs * 2 ** (attempt + (limited ? 4 : 0)));
    this.#opts.log.warn({ err: (err as Error).message, attempt, delayMs: delay }, `${this.name}: ${doing} failed`);
    await this.#out.sleep(delay);
  }
}
