import { describe, expect, it } from 'vitest';
import { makeBus, testPrefix } from '../helpers/buses.js';
import { dataAgent, liveStatus } from '../../agents/data/agent.js';
import type { FeedItem, LiveFeed, LiveFeedStats } from '../../agents/data/feeds/feed.js';
import { MarketCache } from '../../src/core/agent/market-cache.js';
import { createRegistry } from '../../src/core/domain/messages.js';
import { VirtualClock } from '../../src/core/ports/clock.js';
import { sequentialIds } from '../../src/core/ports/ids.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { AgentHost } from '../../src/runtime/agent-host.js';

const MIN = 60_000;
const T = Date.UTC(2026, 11, 7, 12, 0);

/** A live feed that reports the given figures and never delivers a bar (a stub: it only answers). */
function stubFeed(stats: LiveFeedStats): LiveFeed & { stats: () => LiveFeedStats; closed: boolean } {
  const feed = {
    name: 'ccxt:binance:1m',
    endless: true as const,
    skipped: 0,
    closed: false,
    stats: () => stats,
    close: async () => {
      feed.closed = true;
      wake?.();
    },
    [Symbol.asyncIterator]: (): AsyncIterator<FeedItem> => ({
      // no bar ever: the iteration ends when the feed is closed
      next: async () => {
        if (!feed.closed) await new Promise<void>((r) => (wake = r));
        return { done: true, value: undefined };
      },
    }),
  };
  let wake: (() => void) | undefined;
  return feed;
}

const figures = (lastBarTime: number | undefined, connected = true): LiveFeedStats => ({
  connected,
  reconnects: 2,
  errors: 3,
  rateLimited: 1,
  lastError: 'watching BTC/USDT: connection closed',
  timeframeMs: MIN,
  symbols: { BTCUSDT: { lastBarTime, gapsRepaired: 5, duplicates: 1, outOfOrder: 0, invalid: 0 } },
});

describe("the data agent's health with a live feed", () => {
  it('shows per symbol the last candle, its age, gaps repaired and duplicates; degraded past 3 candle lengths, with why', () => {
    const status = liveStatus(stubFeed(figures(T)), 3);
    const fine = status(T + MIN + 2 * MIN); // the candle at T closed at T + 1m: 2 minutes ago
    expect(fine.degraded).toBeUndefined();
    expect(fine.detail.feed).toMatchObject({
      connected: true,
      reconnects: 2,
      symbols: { BTCUSDT: { lastBarTime: T, lastBarAgeMs: 2 * MIN, gapsRepaired: 5, duplicates: 1 } },
    });
    const late = liveStatus(stubFeed(figures(T, false)), 3)(T + MIN + 4 * MIN + 5_000);
    expect(late.degraded).toBe(
      'no closed candle: BTCUSDT for 4m 5s (at most 3 x 1m 0s); disconnected; last error: watching BTC/USDT: connection closed',
    );
  });

  it('a feed that never delivered is degraded once the limit has passed since the start', () => {
    const status = liveStatus(stubFeed(figures(undefined, false)), 3);
    expect(status(T).degraded).toBeUndefined(); // the start
    expect(status(T + 3 * MIN - 1).degraded).toBeUndefined();
    expect(status(T + 3 * MIN + 1_000).degraded).toMatch(/^no closed candle: BTCUSDT none yet/);
  });

  it('the host reports a running data agent as degraded, with the reason and the feed in its health; stopping closes the feed', async () => {
    const clock = new VirtualClock(T);
    const bus = await makeBus('memory', { registry: createRegistry(), prefix: testPrefix() });
    const feed = stubFeed(figures(T));
    const host = new AgentHost(dataAgent(feed, { paceMs: 0 }), {
      bus,
      ids: sequentialIds('data'),
      clock,
      logger: silentLogger,
      market: new MarketCache(),
      instance: 'i1',
      heartbeatMs: 0,
    });
    await host.start();
    clock.advanceTo(T + 2 * MIN);
    expect(host.health()).toMatchObject({ state: 'running', detail: { feed: { name: 'ccxt:binance:1m' } } });
    clock.advanceTo(T + 10 * MIN);
    expect(host.health()).toMatchObject({ state: 'degraded', degraded: expect.stringMatching(/BTCUSDT for 9m 0s/) });
    await host.stop();
    expect(feed.closed).toBe(true);
    await bus.close();
  });
});
