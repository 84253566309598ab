import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { liveStatus } from '../../agents/data/agent.js';
import { CcxtFeed } from '../../agents/data/feeds/ccxt-feed.js';
import type { FeedItem } from '../../agents/data/feeds/feed.js';
import type { Bar } from '../../src/core/domain/messages.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { eventually } from '../helpers/eventually.js';
import { FakeBinance, type FakeKline } from '../helpers/fake-venue.js';

/**
 * The ccxt live feed, with the real ccxt client (REST and its websocket layer) against a local
 * fake of Binance's spot API and kline streams. Time is a test clock (which candles have closed);
 * the feed is read as the data agent reads it.
 */
const MIN = 60_000;
const T0 = Date.UTC(2026, 11, 7, 9, 0);
const at = (n: number) => T0 + n * MIN;
const candle = (n: number, close = 100 + n, high = close + 1): FakeKline => ({
  t: at(n),
  o: close - 0.5,
  h: high,
  l: close - 1,
  c: close,
  v: 10 + n,
});

let venue: FakeBinance;
let feed: CcxtFeed;
let now = at(10) + 30_000;
let bars: Bar[];
let reading: Promise<void>;

const STREAM = 'btcusdt@kline_1m';
const times = (list: readonly Bar[]) => list.map((b) => (b.time - T0) / MIN);

type FeedOptions = ConstructorParameters<typeof CcxtFeed>[0];

/** The feed's options against the fake, on the test clock. */
const options = (more: Partial<FeedOptions> = {}): FeedOptions => ({
  exchange: 'binance',
  symbols: { BTCUSDT: 'BTC/USDT' },
  timeframe: '1m',
  warmupBars: 5,
  urls: { rest: `${venue.url}/api/v3`, ws: venue.wsUrl },
  now: () => now,
  graceMs: 2_000,
  backoff: { baseMs: 20, maxMs: 200 },
  timeoutMs: 1_000,
  log: silentLogger,
  ...more,
});

function open(
  warmupBars = 5,
  resume?: { name: string; lastBars: Record<string, number> },
  more: Partial<FeedOptions> = {},
): void {
  feed = new CcxtFeed(options({ warmupBars, ...(resume ? { resume } : {}), ...more }));
  bars = [];
  reading = (async () => {
    for await (const item of feed as AsyncIterable<FeedItem>) if (item.kind === 'bar') bars.push(item.bar);
  })();
}

beforeEach(async () => {
  venue = await FakeBinance.start({ apiKey: 'k'.repeat(16), secret: 's'.repeat(16) });
  now = at(10) + 30_000;
  for (let n = 0; n <= 9; n++) venue.kline('BTCUSDT', '1m', candle(n), { push: false });
  venue.kline('BTCUSDT', '1m', candle(10), { push: false }); // forming
});

afterEach(async () => {
  await feed?.close();
  await reading;
  await venue.close();
});

describe('ccxt live feed against a fake Binance (REST klines and kline websocket)', () => {
  it('warms up on closed REST candles as history, never publishes a forming candle, publishes each closed one once when the next starts', async () => {
    open(5);
    await eventually(() => expect(venue.subscribers(STREAM)).toBe(1));
    expect(times(bars)).toEqual([5, 6, 7, 8, 9]);
    expect(bars.every((b) => b.history === true && b.intervalMs === MIN)).toBe(true);
    // updates of the forming candle (the last one flagged closed) publish nothing
    venue.kline('BTCUSDT', '1m', candle(10, 110.2));
    venue.kline('BTCUSDT', '1m', candle(10, 110.7), { closed: true });
    now = at(11) + 1_000;
    venue.kline('BTCUSDT', '1m', candle(11, 111.1));
    await eventually(() => expect(times(bars)).toEqual([5, 6, 7, 8, 9, 10]));
    // the last update of candle 10 is what went out, live (not history)
    expect(bars[5]).toEqual({
      symbol: 'BTCUSDT',
      time: at(10),
      open: 110.2,
      high: 111.7,
      low: 109.7,
      close: 110.7,
      volume: 20,
      intervalMs: MIN,
    });
    venue.kline('BTCUSDT', '1m', candle(11, 111.3));
    now = at(12) + 1_000;
    venue.kline('BTCUSDT', '1m', candle(12));
    await eventually(() => expect(times(bars)).toEqual([5, 6, 7, 8, 9, 10, 11]));
    expect(bars[6]!.close).toBe(111.3);
  });

  it('a socket dropped mid-candle: it reconnects and the candles closed meanwhile come by REST, in order, once', async () => {
    open(3);
    await eventually(() => expect(venue.subscribers(STREAM)).toBe(1));
    venue.kline('BTCUSDT', '1m', candle(10));
    venue.dropSockets();
    // five candles close while the socket is down (the venue has them; nobody is told)
    for (let n = 10; n <= 15; n++) venue.kline('BTCUSDT', '1m', candle(n), { push: false });
    venue.kline('BTCUSDT', '1m', candle(16), { push: false });
    now = at(16) + 5_000;
    await eventually(() => expect(venue.subscribers(STREAM)).toBe(1));
    await eventually(() => expect(times(bars)).toEqual([7, 8, 9, 10, 11, 12, 13, 14, 15]));
    expect(bars.slice(3).every((b) => b.history === undefined)).toBe(true);
    const stats = feed.stats();
    expect(stats.reconnects).toBeGreaterThanOrEqual(1);
    expect(stats.symbols.BTCUSDT).toMatchObject({ gapsRepaired: 6, lastBarTime: at(15) });
    // the stream goes on from there; re-sent and older updates are dropped and counted
    venue.kline('BTCUSDT', '1m', candle(16));
    venue.kline('BTCUSDT', '1m', candle(14)); // already published
    now = at(17) + 1_000;
    venue.kline('BTCUSDT', '1m', candle(17));
    await eventually(() => expect(times(bars).at(-1)).toBe(16));
    expect(times(bars)).toEqual([7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    expect(feed.stats().symbols.BTCUSDT!.duplicates).toBeGreaterThanOrEqual(1);
  });

  it('a jump in candle times on the socket is filled by REST before the newer candle', async () => {
    open(0);
    await eventually(() => expect(venue.subscribers(STREAM)).toBe(1));
    venue.kline('BTCUSDT', '1m', candle(10));
    now = at(11) + 1_000;
    venue.kline('BTCUSDT', '1m', candle(11));
    await eventually(() => expect(times(bars)).toEqual([10]));
    // 12..14 never reach the socket; 15 does
    for (let n = 11; n <= 14; n++) venue.kline('BTCUSDT', '1m', candle(n), { push: false });
    now = at(15) + 1_000;
    venue.kline('BTCUSDT', '1m', candle(15));
    await eventually(() => expect(times(bars)).toEqual([10, 11, 12, 13, 14]));
  });

  it('in a quiet market a candle whose end passed by the grace period is confirmed by REST and published', async () => {
    open(0);
    await eventually(() => expect(venue.subscribers(STREAM)).toBe(1));
    venue.kline('BTCUSDT', '1m', candle(10));
    now = at(11) + 1_000; // within the grace period: nothing yet
    await new Promise((r) => setTimeout(r, 600));
    expect(bars).toEqual([]);
    now = at(11) + 3_000;
    await eventually(() => expect(times(bars)).toEqual([10]));
  });

  it('rate limited (429) while repairing: it backs off, counts it, and the gap is filled on the next candle', async () => {
    open(0);
    await eventually(() => expect(venue.subscribers(STREAM)).toBe(1));
    venue.kline('BTCUSDT', '1m', candle(10));
    now = at(11) + 1_000;
    venue.kline('BTCUSDT', '1m', candle(11));
    await eventually(() => expect(times(bars)).toEqual([10]));
    venue.inject({
      method: 'GET',
      path: '/api/v3/klines',
      times: 1,
      fault: { kind: 'status', status: 429, body: { code: -1003, msg: 'Too many requests.' } },
    });
    venue.dropSockets();
    for (let n = 11; n <= 13; n++) venue.kline('BTCUSDT', '1m', candle(n), { push: false });
    now = at(14) + 1_000;
    await eventually(() => expect(venue.subscribers(STREAM)).toBe(1));
    await eventually(() => expect(feed.stats().rateLimited).toBe(1));
    venue.kline('BTCUSDT', '1m', candle(14));
    now = at(15) + 1_000;
    venue.kline('BTCUSDT', '1m', candle(15));
    await eventually(() => expect(times(bars)).toEqual([10, 11, 12, 13, 14]));
    expect(feed.stats().lastError).toMatch(/429|Too many requests/);
  });

  it('a restart resumes after the last candle published: what closed while it was down comes as history, nothing again', async () => {
    open(3);
    await eventually(() => expect(venue.subscribers(STREAM)).toBe(1));
    venue.kline('BTCUSDT', '1m', candle(10));
    now = at(11) + 1_000;
    venue.kline('BTCUSDT', '1m', candle(11));
    await eventually(() => expect(times(bars)).toEqual([7, 8, 9, 10]));
    const last = feed.stats().symbols.BTCUSDT!.lastBarTime!;
    await feed.close();
    await reading;
    // down for a while: 11..14 close, 15 forms
    for (let n = 11; n <= 15; n++) venue.kline('BTCUSDT', '1m', candle(n), { push: false });
    now = at(15) + 10_000;
    open(3, { name: 'ccxt:binance:1m', lastBars: { BTCUSDT: last } });
    await eventually(() => expect(venue.subscribers(STREAM)).toBe(1));
    await eventually(() => expect(times(bars)).toEqual([11, 12, 13, 14]));
    expect(bars.every((b) => b.history === true)).toBe(true);
    expect(feed.stats().symbols.BTCUSDT!.duplicates).toBe(0);
    venue.kline('BTCUSDT', '1m', candle(15));
    now = at(16) + 1_000;
    venue.kline('BTCUSDT', '1m', candle(16));
    await eventually(() => expect(times(bars)).toEqual([11, 12, 13, 14, 15]));
    expect(bars[4]!.history).toBeUndefined();
  });

  it('a checkpoint of another feed (another venue or timeframe) is not resumed from: a plain warm-up', async () => {
    now = at(15) + 10_000;
    for (let n = 11; n <= 15; n++) venue.kline('BTCUSDT', '1m', candle(n), { push: false });
    open(3, { name: 'ccxt:binance:5m', lastBars: { BTCUSDT: at(10) } });
    await eventually(() => expect(times(bars)).toEqual([12, 13, 14]));
  });

  it('a venue without websocket candles is polled by REST once per candle, just after it closes', async () => {
    now = at(11) - 200;
    open(3, undefined, { graceMs: 50, ccxtOptions: { has: { watchOHLCV: false } } });
    await eventually(() => expect(times(bars)).toEqual([7, 8, 9]));
    expect(venue.subscribers(STREAM)).toBe(0); // no socket
    venue.kline('BTCUSDT', '1m', candle(11), { push: false });
    now = at(12) + 100; // candles 10 and 11 have closed
    await eventually(() => expect(times(bars)).toEqual([7, 8, 9, 10, 11]));
  });

  it('a venue down longer than the staleness limit: the data agent is degraded, saying why, and recovers when candles come back', async () => {
    open(3);
    const status = liveStatus(feed, 3);
    await eventually(() => expect(venue.subscribers(STREAM)).toBe(1));
    await eventually(() => expect(times(bars)).toEqual([7, 8, 9]));
    expect(status(now).degraded).toBeUndefined();
    // the venue goes away: sockets dropped, REST answering 503 for a while
    venue.inject({ method: 'GET', path: '/api/v3/klines', times: 1_000, fault: { kind: 'status', status: 503 } });
    venue.dropSockets();
    now = at(14) + 5_000; // candle 9 closed at 10:00; 4 minutes without one
    await eventually(() => expect(feed.stats().errors).toBeGreaterThan(0));
    expect(status(now).degraded).toMatch(/^no closed candle: BTCUSDT for 4m 5s \(at most 3 x 1m 0s\).*last error/);
    // back: REST answers again, the socket is re-subscribed, the missed candles are repaired
    venue.clearFaults();
    for (let n = 10; n <= 14; n++) venue.kline('BTCUSDT', '1m', candle(n), { push: false });
    await eventually(() => expect(venue.subscribers(STREAM)).toBe(1));
    await eventually(() => expect(times(bars)).toEqual([7, 8, 9, 10, 11, 12, 13]));
    expect(status(now).degraded).toBeUndefined();
  });

  it('a symbol the venue does not list stops the feed with a clear error', async () => {
    feed = new CcxtFeed(options({ symbols: { DOGE: 'DOGE/USDT' }, warmupBars: 0 }));
    reading = Promise.resolve();
    const it = feed[Symbol.asyncIterator]();
    await expect(it.next()).rejects.toThrow(/CCXT_SYMBOLS: binance has no market DOGE\/USDT/);
  });
});
