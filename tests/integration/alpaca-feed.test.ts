import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { liveStatus } from '../../agents/data/agent.js';
import { AlpacaFeed } from '../../agents/data/feeds/alpaca-feed.js';
import type { FeedItem } from '../../agents/data/feeds/feed.js';
import { marketAt, sessionsOf } from '../../agents/data/feeds/market-sessions.js';
import type { Bar } from '../../src/core/domain/messages.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { eventually } from '../helpers/eventually.js';
import { FakeAlpaca, type FakeBar } from '../helpers/fake-alpaca.js';

/**
 * The Alpaca live feed, with the official SDK (its REST clients and its msgpack market-data
 * stream) against a local fake of Alpaca. Time is a test clock (which bars have closed, whether
 * the market is open); the feed is read as the data agent reads it.
 */
const MIN = 60_000;
const KEY = 'PKTESTKEYID0001';
const SECRET = 'test-secret-key-0001';
// Friday 4 and Monday 7 December 2026; New York is UTC-5: the session is 14:30-21:00 UTC
const CALENDAR = [
  { date: '2026-12-03', open: '09:30', close: '16:00' },
  { date: '2026-12-04', open: '09:30', close: '16:00' },
  { date: '2026-12-07', open: '09:30', close: '16:00' },
  { date: '2026-12-08', open: '09:30', close: '16:00' },
];
const MON_OPEN = Date.UTC(2026, 11, 7, 14, 30);
const FRI_CLOSE = Date.UTC(2026, 11, 4, 21, 0);
const at = (n: number) => MON_OPEN + n * MIN;
const bar = (t: number, close = 200 + ((t / MIN) % 50)): FakeBar => ({
  t,
  o: close - 0.2,
  h: close + 0.5,
  l: close - 0.5,
  c: close,
  v: 100,
});

let alpaca: FakeAlpaca;
let feed: AlpacaFeed;
let now: number;
let bars: Bar[];
let reading: Promise<void>;
const mins = (list: readonly Bar[]) => list.map((b) => (b.time - MON_OPEN) / MIN);

type Options = ConstructorParameters<typeof AlpacaFeed>[0];
const options = (more: Partial<Options> = {}): Options => ({
  keyId: KEY,
  secret: SECRET,
  symbols: { AAPL: 'AAPL' },
  feed: 'iex',
  warmupBars: 5,
  urls: { data: alpaca.url, stream: alpaca.wsUrl, trading: alpaca.url },
  now: () => now,
  backoff: { baseMs: 20, maxMs: 200 },
  timeoutMs: 1_000,
  log: silentLogger,
  ...more,
});

function open(more: Partial<Options> = {}): void {
  feed = new AlpacaFeed(options(more));
  bars = [];
  reading = (async () => {
    for await (const item of feed as AsyncIterable<FeedItem>) if (item.kind === 'bar') bars.push(item.bar);
  })();
}

beforeEach(async () => {
  alpaca = await FakeAlpaca.start({ keyId: KEY, secret: SECRET, calendar: CALENDAR });
  now = at(10) + 30_000;
  for (let n = 0; n < 10; n++) alpaca.bar('AAPL', bar(at(n)), { push: false });
});

afterEach(async () => {
  await feed?.close();
  await reading?.catch(() => undefined);
  await alpaca.close();
});

describe('Alpaca live feed against a fake Alpaca (REST bars, calendar, msgpack bar stream)', () => {
  it('warms up on the newest closed REST bars as history (IEX by default), then publishes each streamed bar once, live', async () => {
    open();
    await eventually(() => expect(alpaca.barSubscribers('AAPL')).toBe(1));
    expect(mins(bars)).toEqual([5, 6, 7, 8, 9]);
    expect(bars.every((b) => b.history === true && b.intervalMs === MIN && b.symbol === 'AAPL')).toBe(true);
    const asked = alpaca.requestsTo('GET', '/v2/stocks/AAPL/bars');
    expect(asked[0]!.query).toMatchObject({ feed: 'iex', timeframe: '1Min', sort: 'desc' });
    now = at(11) + 2_000;
    alpaca.bar('AAPL', bar(at(10), 210.25));
    await eventually(() => expect(mins(bars)).toEqual([5, 6, 7, 8, 9, 10]));
    expect(bars[5]).toEqual({
      symbol: 'AAPL',
      time: at(10),
      open: 210.05,
      high: 210.75,
      low: 209.75,
      close: 210.25,
      volume: 100,
      intervalMs: MIN,
    });
    // a bar sent again, and an older one, are dropped and counted
    alpaca.bar('AAPL', bar(at(10)));
    alpaca.bar('AAPL', bar(at(8)));
    now = at(12) + 2_000;
    alpaca.bar('AAPL', bar(at(11)));
    await eventually(() => expect(mins(bars)).toEqual([5, 6, 7, 8, 9, 10, 11]));
    expect(feed.stats().symbols.AAPL).toMatchObject({ duplicates: 1, outOfOrder: 1, gapsRepaired: 0 });
    expect(feed.name).toBe('alpaca:iex:1m');
  });

  it('a dropped socket: the SDK reconnects and the bars closed meanwhile come by REST first, in order, once', async () => {
    open({ warmupBars: 3, feed: 'sip' });
    await eventually(() => expect(alpaca.barSubscribers('AAPL')).toBe(1));
    alpaca.dropDataSockets();
    // five bars close while the socket is down (Alpaca has them; nobody is told)
    for (let n = 10; n < 15; n++) alpaca.bar('AAPL', bar(at(n)), { push: false });
    now = at(15) + 5_000;
    await eventually(() => expect(mins(bars)).toEqual([7, 8, 9, 10, 11, 12, 13, 14]));
    expect(bars.slice(3).every((b) => b.history === undefined)).toBe(true);
    expect(feed.stats()).toMatchObject({
      connected: true,
      symbols: { AAPL: { gapsRepaired: 5, lastBarTime: at(14) } },
    });
    expect(feed.stats().reconnects).toBeGreaterThanOrEqual(1);
    expect(alpaca.requestsTo('GET', '/v2/stocks/AAPL/bars').every((r) => r.query.feed === 'sip')).toBe(true);
    // the stream goes on from there
    await eventually(() => expect(alpaca.barSubscribers('AAPL')).toBe(1));
    now = at(16) + 2_000;
    alpaca.bar('AAPL', bar(at(15)));
    await eventually(() => expect(mins(bars).at(-1)).toBe(15));
  });

  it('across a market close no gap is reported and the agent is not degraded; in the next session it is when bars stop', async () => {
    // Friday's last minutes, the feed starting after the close
    for (let n = 5; n >= 1; n--) alpaca.bar('AAPL', bar(FRI_CLOSE - n * MIN), { push: false });
    now = FRI_CLOSE + 30_000;
    open({ warmupBars: 3 });
    const status = liveStatus(feed, 3);
    await eventually(() => expect(alpaca.barSubscribers('AAPL')).toBe(1));
    expect(bars.map((b) => b.time)).toEqual([FRI_CLOSE - 3 * MIN, FRI_CLOSE - 2 * MIN, FRI_CLOSE - MIN]);
    // the night and the weekend: no bars, nothing stale
    for (const t of [FRI_CLOSE + 3_600_000, Date.UTC(2026, 11, 5, 17, 0), MON_OPEN - 1]) {
      now = t;
      const s = status(now);
      expect(s.degraded).toBeUndefined();
      expect(s.detail.feed).toMatchObject({ market: { open: false, nextOpen: MON_OPEN } });
    }
    // a socket dropped over the weekend is repaired by REST, which has nothing: no gap
    alpaca.dropDataSockets();
    await eventually(() => expect(alpaca.barSubscribers('AAPL')).toBe(1));
    // Monday: the first minute's bar comes on the stream, after a jump of a weekend in bar times
    now = at(1) + 2_000;
    expect(status(now).degraded).toBeUndefined(); // one minute into the session
    alpaca.bar('AAPL', bar(at(0)));
    await eventually(() => expect(bars).toHaveLength(4));
    expect(bars[3]).toMatchObject({ time: at(0) });
    expect(bars[3]!.history).toBeUndefined();
    expect(feed.stats().symbols.AAPL).toMatchObject({ gapsRepaired: 0, duplicates: 0, outOfOrder: 0 });
    now = at(4);
    expect(status(now).degraded).toBeUndefined();
    expect(status(now).detail.feed).toMatchObject({ market: { open: true, since: MON_OPEN } });
    // the market is open and bars stop: after 3 minutes without one the agent is degraded
    now = at(5) + 1_000;
    expect(status(now).degraded).toMatch(/^no closed candle: AAPL for 4m 1s \(at most 3 x 1m 0s\)/);
  });

  it('a session with no bar at all since its open turns degraded only after the staleness limit from the open', async () => {
    for (let n = 5; n >= 1; n--) alpaca.bar('AAPL', bar(FRI_CLOSE - n * MIN), { push: false });
    now = MON_OPEN - 10 * MIN;
    open({ warmupBars: 2 });
    const status = liveStatus(feed, 3);
    await eventually(() => expect(bars).toHaveLength(2));
    expect(status(now).degraded).toBeUndefined();
    now = at(3);
    expect(status(now).degraded).toBeUndefined();
    now = at(3) + 1_000;
    expect(status(now).degraded).toMatch(/AAPL for 3m 1s/);
  });

  it('keys Alpaca refuses stop the feed with an error naming ALPACA_KEY_ID and ALPACA_SECRET_KEY, never their values', async () => {
    feed = new AlpacaFeed(options({ secret: 'wrong-secret-value' }));
    reading = Promise.resolve();
    const it = feed[Symbol.asyncIterator]();
    const err = (await it.next().catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/ALPACA_KEY_ID\/ALPACA_SECRET_KEY .*401/);
    expect(err.message).not.toContain('wrong-secret-value');
    expect(err.message).not.toContain(KEY);
  });
});

describe('market sessions from an exchange calendar', () => {
  it('New York local times become UTC instants across the change of daylight saving time', () => {
    const [winter, summer] = sessionsOf([
      { date: '2026-12-07', open: '09:30', close: '16:00' },
      { date: '2026-07-06', open: '09:30', close: '13:00' },
    ]).sort((a, b) => b.open - a.open);
    expect(winter).toEqual({ open: Date.UTC(2026, 11, 7, 14, 30), close: Date.UTC(2026, 11, 7, 21, 0) });
    expect(summer).toEqual({ open: Date.UTC(2026, 6, 6, 13, 30), close: Date.UTC(2026, 6, 6, 17, 0) });
  });

  it('past the end of what the calendar covers the market is unknown, not closed', () => {
    const hours = { sessions: sessionsOf(CALENDAR), knownUntil: Date.UTC(2026, 11, 9) };
    expect(marketAt(hours, MON_OPEN + 1)).toEqual({ open: true, since: MON_OPEN });
    expect(marketAt(hours, Date.UTC(2026, 11, 8, 22))).toEqual({ open: false });
    expect(marketAt(hours, Date.UTC(2026, 11, 9, 15))).toBeUndefined();
  });
});
