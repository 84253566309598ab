/**
 * Live minute bars of US equities from Alpaca, through the official SDK
 * (`@alpacahq/alpaca-trade-api` 4.0.2): its `StockDataStream` for the market-data websocket
 * (auth, subscribe, `b` bar messages, msgpack), `marketData.StockApi.stockBarSingle` for REST
 * bars and `trading.CalendarApi.legacyCalendar` for the market's sessions. Each is pointed
 * elsewhere (a proxy, a gateway, a test double) through the SDK's own options: `basePath` of
 * its REST `Configuration`, `url` of its stream.
 *
 * What was exercised: all of it against a local fake of Alpaca's APIs (tests/helpers/
 * fake-alpaca.ts, in Alpaca's documented message shapes). NOT against Alpaca itself: this
 * machine has no internet.
 */
import { marketData, streaming, trading, ApiError, RateLimitError } from '@alpacahq/alpaca-trade-api';
import type { Bar, Logger } from '../../../src/core/index.js';
import { LiveOutlet } from './live-outlet.js';
import { FeedOptionsError, type FeedItem, type LiveFeed, type LiveFeedStats, type LiveSymbolStats } from './feed.js';
import { sessionsOf, type MarketHours } from './market-sessions.js';

const MIN = 60_000;
const DAY = 86_400_000;
/** How far back the warm-up looks for the newest bars (covers a long weekend and a holiday). */
const WARMUP_LOOKBACK_MS = 14 * DAY;
/** The most bars published after a restart (the newest). */
const MAX_RESUME_BARS = 1000;

/** Alpaca's hosts (the SDK's defaults; named here because a feed with overrides builds its URLs). */
export const ALPACA_HOSTS = {
  data: marketData.MARKET_DATA_HOST,
  stream: streaming.MARKET_DATA_STREAM_HOST,
  paper: trading.TRADING_PAPER_HOST,
  live: trading.TRADING_LIVE_HOST,
} as const;

export interface AlpacaFeedOptions {
  readonly keyId: string;
  readonly secret: string;
  /** Sextant symbol -> Alpaca symbol. */
  readonly symbols: Readonly<Record<string, string>>;
  /** iex (free, one exchange) or sip (every exchange, paid). */
  readonly feed: 'iex' | 'sip';
  /** Closed bars fetched by REST at start, per symbol, published as history (warm-up). */
  readonly warmupBars: number;
  /**
   * Where Alpaca is: `data` the market-data REST host, `stream` the market-data websocket host
   * (`/v2/<feed>` is appended), `trading` the trading host (its calendar). Unset: Alpaca's.
   */
  readonly urls?: {
    readonly data?: string | undefined;
    readonly stream?: string | undefined;
    readonly trading?: string | undefined;
  };
  /** The wall clock, ms (which bars have closed, which sessions are open). */
  readonly now: () => number;
  /** Backoff of REST retries and stream reconnects: base doubling to max. */
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  /** One REST call's timeout. */
  readonly timeoutMs: number;
  /** How often the market calendar is read again (default 6 h). */
  readonly calendarRefreshMs?: number;
  readonly log: Logger;
  /** Where a restart resumes (as the ccxt feed): the last bar published per symbol. */
  readonly resume?: { readonly name: string; readonly lastBars?: Readonly<Record<string, number>> | undefined };
}

interface SymbolState {
  readonly symbol: string;
  readonly venue: string;
  /** Open time of the last bar published. */
  last: number | undefined;
  /** Work on this symbol, one step at a time (stream bars and REST repairs share it). */
  chain: Promise<void>;
  stats: { gapsRepaired: number; duplicates: number; outOfOrder: number; invalid: number };
}

/** A bar as the SDK gives it, REST (`StockBar`) and stream (`StreamBar`) alike. */
interface RawBar {
  readonly t: number;
  readonly o: number;
  readonly h: number;
  readonly l: number;
  readonly c: number;
  readonly v: number;
}

/**
 * Alpaca's closed minute bars for US equities.
 *
 * - Warm-up: at start, the newest `warmupBars` closed bars of each symbol by REST (looking back
 *   two weeks, over nights, weekends and holidays), published as history.
 * - Live: the stream's `b` messages. Alpaca sends a minute bar after its minute has ended, so each
 *   is a closed bar; it is published once, in order per symbol. Later corrections of a bar
 *   (`updatedBars`) are not subscribed to: a published bar is not changed.
 * - A minute without a trade has no bar (common on IEX, and every minute the market is closed),
 *   so a jump in bar times is no gap. A gap can only open while the stream is down: after every
 *   (re)authentication the bars since the last one published come by REST before the stream's.
 * - The market's regular sessions come from Alpaca's calendar (`GET /v2/calendar`, read at start
 *   and every `calendarRefreshMs`) and are reported in `stats().market`: the data agent waits for
 *   bars only while the market is open, so a night or a weekend is not a stale feed.
 * - Re-sent and older bars are dropped and counted, invalid ones skipped and counted.
 */
export class AlpacaFeed implements LiveFeed {
  readonly name: string;
  readonly endless = true as const;
  readonly #opts: AlpacaFeedOptions;
  readonly #bars: marketData.StockApi;
  readonly #calendar: trading.CalendarApi;
  readonly #streamUrl: string;
  readonly #states: SymbolState[];
  readonly #out: LiveOutlet;
  readonly #byVenue = new Map<string, SymbolState>();
  #stream: streaming.StockDataStream | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #market: MarketHours | undefined;
  #connected = false;
  #reconnects = 0;
  #errors = 0;
  #rateLimited = 0;
  #lastError: string | undefined;
  #skipped = 0;

  constructor(opts: AlpacaFeedOptions) {
    this.#opts = opts;
    if (!opts.keyId || !opts.secret)
      throw new FeedOptionsError('DATA_FEED=alpaca: ALPACA_KEY_ID and ALPACA_SECRET_KEY are required');
    const entries = Object.entries(opts.symbols);
    if (entries.length === 0)
      throw new FeedOptionsError('DATA_FEED=alpaca: no symbols; expected ALPACA_SYMBOLS like AAPL,MSFT');
    const rest = { keyId: opts.keyId, secret: opts.secret, timeoutMs: opts.timeoutMs };
    this.#bars = new marketData.StockApi(
      new marketData.Configuration({ ...rest, ...(opts.urls?.data ? { basePath: opts.urls.data } : {}) }),
    );
    // the calendar is on the trading host; paper and live serve the same one
    this.#calendar = new trading.CalendarApi(
      new trading.Configuration({
        ...rest,
        paper: true,
        ...(opts.urls?.trading ? { basePath: opts.urls.trading } : {}),
      }),
    );
    this.#streamUrl = `${(opts.urls?.stream ?? ALPACA_HOSTS.stream).replace(/\/+$/, '')}/v2/${opts.feed}`;
    this.name = `alpaca:${opts.feed}:1m`;
    this.#out = new LiveOutlet(this.name);
    this.#states = entries.map(([symbol, venue]) => ({
      symbol,
      venue,
      last: opts.resume?.name === this.name ? opts.resume.lastBars?.[symbol] : undefined,
      chain: Promise.resolve(),
      stats: { gapsRepaired: 0, duplicates: 0, outOfOrder: 0, invalid: 0 },
    }));
    for (const s of this.#states) this.#byVenue.set(s.venue, s);
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
      timeframeMs: MIN,
      symbols,
      ...(this.#market ? { market: this.#market } : {}),
    };
  }

  [Symbol.asyncIterator](): AsyncIterator<FeedItem> {
    return this.#out.read(() => this.#start());
  }

  async close(): Promise<void> {
    if (!this.#out.close()) return;
    if (this.#timer) clearInterval(this.#timer);
    this.#stream?.disconnect();
    this.#connected = false;
    await Promise.allSettled(this.#states.map((s) => s.chain));
  }

  async #start(): Promise<void> {
    await this.#retrying('reading the market calendar', () => this.#readCalendar());
    for (const s of this.#states) {
      if (this.#out.closed) return;
      await this.#retrying(`warming up ${s.venue}`, () => this.#warmUp(s));
    }
    if (this.#out.closed) return;
    const refresh = this.#opts.calendarRefreshMs ?? 6 * 3_600_000;
    this.#timer = setInterval(
      () => void this.#readCalendar().catch((err: unknown) => this.#noteError(err, 'reading the market calendar')),
      refresh,
    );
    this.#timer.unref();
    this.#follow();
  }

  /** The regular sessions from a week back to two weeks ahead. */
  async #readCalendar(): Promise<void> {
    const now = this.#opts.now();
    const start = new Date(now - 7 * DAY);
    const end = new Date(now + 14 * DAY);
    const days = await this.#calendar.legacyCalendar({ start, end });
    const sessions = sessionsOf(
      days.map((d) => ({ date: d.date.toISOString().slice(0, 10), open: d.open, close: d.close })),
    );
    if (sessions.length === 0) {
      // three weeks without a market day is no calendar: wait for bars as a 24/7 feed does
      this.#opts.log.warn({ feed: this.name }, "Alpaca's calendar has no market day around now; market hours unknown");
      this.#market = undefined;
      return;
    }
    // complete up to the end of the last day asked for
    this.#market = { sessions, knownUntil: Date.UTC(end.getUTCFullYear(), end.getUTCMonth(), end.getUTCDate()) };
  }

  /** Subscribes to the bars; every (re)authentication first repairs what the stream missed. */
  #follow(): void {
    const stream = new streaming.StockDataStream({
      credentials: { keyId: this.#opts.keyId, secret: this.#opts.secret },
      feed: this.#opts.feed,
      url: this.#streamUrl,
      maxReconnectAttempts: streaming.UNLIMITED_RECONNECT_ATTEMPTS,
      initialReconnectMs: this.#opts.backoff.baseMs,
      maxReconnectMs: this.#opts.backoff.maxMs,
    });
    this.#stream = stream;
    stream.onConnect(() => {
      this.#connected = true;
      // each symbol: the bars closed while the stream was not listening, then the stream's
      for (const s of this.#states)
        void this.#serial(s, () => this.#retrying(`repairing ${s.venue}`, () => this.#repair(s))).catch(
          (err: unknown) => this.#noteError(err, `repairing ${s.venue}`),
        );
    });
    stream.onDisconnect(() => {
      if (this.#out.closed) return;
      this.#connected = false;
      this.#reconnects++;
    });
    stream.onBar((b) => {
      const s = this.#byVenue.get(b.symbol);
      if (!s) return;
      const bar: RawBar = { t: b.timestamp.getTime(), o: b.open, h: b.high, l: b.low, c: b.close, v: b.volume };
      void this.#serial(s, async () => this.#onBar(s, bar));
    });
    stream.onError((message) => this.#noteError(new Error(message), 'the market-data stream'));
    // a rejected key is final (the SDK stops reconnecting): the feed fails, naming the keys
    void stream.whenAuthenticated().then((r) => {
      if (!r.authenticated && r.status === streaming.STREAM_AUTH_STATUS.SERVER_REJECTED)
        this.#fail(
          new FeedOptionsError(
            `DATA_FEED=alpaca: Alpaca's market-data stream refused ALPACA_KEY_ID/ALPACA_SECRET_KEY (${r.code ?? ''} ${r.message})`,
          ),
        );
    });
    stream.subscribeForBars(this.#states.map((s) => s.venue));
    stream.connect();
  }

  #onBar(s: SymbolState, b: RawBar): void {
    if (s.last !== undefined && b.t <= s.last) {
      if (b.t === s.last) s.stats.duplicates++;
      else s.stats.outOfOrder++;
      return;
    }
    this.#emit(s, b, false);
  }

  /** The newest `warmupBars` closed bars (or, after a restart, those since the last published) as history. */
  async #warmUp(s: SymbolState): Promise<void> {
    const now = this.#opts.now();
    const n = s.last === undefined ? this.#opts.warmupBars : MAX_RESUME_BARS;
    if (n <= 0) return;
    const from = Math.max(s.last === undefined ? 0 : s.last + MIN, now - WARMUP_LOOKBACK_MS);
    const got = await this.#bars.stockBarSingle({
      symbol: s.venue,
      timeframe: '1Min',
      start: new Date(from),
      end: new Date(now),
      feed: this.#opts.feed,
      sort: 'desc',
      limit: n + 1, // the minute forming now may be among them
    });
    const closed = got.bars
      .map(raw)
      .filter((b) => b.t + MIN <= now)
      .slice(0, n)
      .reverse();
    for (const b of closed) this.#emit(s, b, true);
  }

  /** The closed bars after the last published, by REST, in order (every page). */
  async #repair(s: SymbolState): Promise<void> {
    if (s.last === undefined || this.#out.closed) return; // nothing published yet: nothing can be missing
    const now = this.#opts.now();
    let pageToken: string | undefined;
    do {
      const got = await this.#bars.stockBarSingle({
        symbol: s.venue,
        timeframe: '1Min',
        start: new Date(s.last + MIN),
        end: new Date(now),
        feed: this.#opts.feed,
        sort: 'asc',
        limit: 10_000,
        ...(pageToken ? { pageToken } : {}),
      });
      for (const b of got.bars.map(raw)) if (b.t + MIN <= now && this.#emit(s, b, false)) s.stats.gapsRepaired++;
      pageToken = got.nextPageToken ?? undefined;
    } while (pageToken && !this.#out.closed);
  }

  /** Publishes one closed bar unless it was already; false when dropped. */
  #emit(s: SymbolState, b: RawBar, history: boolean): boolean {
    if (s.last !== undefined && b.t <= s.last) {
      s.stats.duplicates++;
      return false;
    }
    const ok =
      Number.isFinite(b.t) &&
      [b.o, b.h, b.l, b.c].every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0) &&
      b.l <= Math.min(b.o, b.c) &&
      b.h >= Math.max(b.o, b.c) &&
      Number.isFinite(b.v) &&
      b.v >= 0;
    if (!ok) {
      s.stats.invalid++;
      this.#skipped++;
      this.#opts.log.warn({ symbol: s.symbol, bar: b }, 'invalid bar from Alpaca, skipped');
      return false;
    }
    s.last = b.t;
    const bar: Bar = {
      symbol: s.symbol,
      time: b.t,
      open: b.o,
      high: b.h,
      low: b.l,
      close: b.c,
      volume: b.v,
      intervalMs: MIN,
      ...(history ? { history: true as const } : {}),
    };
    this.#out.push({ kind: 'bar', bar });
    return true;
  }

  #serial(s: SymbolState, step: () => Promise<void>): Promise<void> {
    const next = s.chain.then(step);
    s.chain = next.catch(() => undefined);
    return next;
  }

  #fail(err: Error): void {
    this.#out.fail(err);
  }

  /** Runs a start-up step until it succeeds; a refused key or request stops the feed naming it. */
  async #retrying(doing: string, step: () => Promise<void>): Promise<void> {
    for (let attempt = 0; !this.#out.closed; attempt++) {
      try {
        await step();
        return;
      } catch (err) {
        if (err instanceof ApiError && (err.status === 401 || err.status === 403))
          throw new FeedOptionsError(
            `DATA_FEED=alpaca: Alpaca refused ALPACA_KEY_ID/ALPACA_SECRET_KEY while ${doing} (${err.status} ${err.message})`,
          );
        if (err instanceof ApiError && (err.status === 400 || err.status === 404 || err.status === 422))
          throw new FeedOptionsError(`DATA_FEED=alpaca: Alpaca refused ${doing} (${err.status} ${err.message})`);
        this.#noteError(err, doing);
        const { baseMs, maxMs } = this.#opts.backoff;
        const delay = Math.min(maxMs, baseMs * 2 ** (attempt + (err instanceof RateLimitError ? 4 : 0)));
        this.#opts.log.warn({ err: this.#lastError, attempt, delayMs: delay }, `${this.name}: ${doing} failed`);
        await this.#out.sleep(delay);
      }
    }
  }

  #noteError(err: unknown, doing: string): void {
    this.#errors++;
    if (err instanceof RateLimitError) this.#rateLimited++;
    const status = err instanceof ApiError ? ` ${err.status}` : '';
    this.#lastError = `${doing}:${status} ${(err as Error).message ?? String(err)}`.slice(0, 300);
  }
}

/** A REST bar (`StockBar`: t a Date) in the feed's terms. */
function raw(b: marketData.StockBar): RawBar {
  return { t: b.t.getTime(), o: b.o, h: b.h, l: b.l, c: b.c, v: b.v };
}
