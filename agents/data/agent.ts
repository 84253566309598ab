import { duration, patterns, type AgentSpec, type DataAcceptPrice } from '../../src/core/index.js';
import { isLiveFeed, type AnyFeed, type LiveFeed } from './feeds/feed.js';
import { marketAt } from './feeds/market-sessions.js';
import { dataMachine, type DataContext } from './machine.js';
import { pumpFeed, type PumpOptions } from './pump.js';

/**
 * The data agent: market data in from a feed (file, synthetic, live) behind one port; writes
 * `market.bar.<sym>`, `market.tick.<sym>` and, when a finite feed ends, `market.feed-completed`.
 * It never invents a price: feeds reject or (lenient) skip bad rows, nothing is filled in.
 */
export function dataAgent(feed: AnyFeed, pump: PumpOptions): AgentSpec<DataContext> {
  return {
    name: 'data',
    machine: dataMachine,
    inlets: [
      {
        // an operator accepting a held-back price jump (the command layer's accept-price)
        pattern: patterns.dataAcceptPrice,
        reply: 'data.accept-price-result',
        toEvent: (env) => ({ type: 'price.accept', ...(env.payload as DataAcceptPrice) }),
      },
    ],
    onStart: (api) => pumpFeed(api, feed, pump),
    // a live feed waits for the market: closing it ends the pump's wait
    ...(isLiveFeed(feed)
      ? { onStop: () => feed.close(), status: liveStatus(feed, pump.staleAfterBars ?? DEFAULT_STALE_BARS) }
      : {}),
  };
}

/** Closed candles a live symbol may miss before the data agent reports itself degraded. */
export const DEFAULT_STALE_BARS = 3;

/**
 * A live feed's part of the data agent's health: per symbol the last closed candle, its age (how
 * long since it closed), reconnects, gaps repaired, duplicates dropped; degraded when a symbol
 * has had no closed candle for more than `staleBars` candle lengths (or none since the start).
 * A market with trading hours (the feed's `market`) is waited for only while it is open, counted
 * from the session's open: a closed market (a night, a weekend, a holiday) is not a stale feed.
 */
export function liveStatus(feed: LiveFeed, staleBars: number) {
  let since: number | undefined;
  return (now: number) => {
    since ??= now;
    const st = feed.stats();
    const limit = staleBars * st.timeframeMs;
    const market = st.market ? marketAt(st.market, now) : undefined;
    const symbols: Record<string, unknown> = {};
    const late: string[] = [];
    for (const [symbol, s] of Object.entries(st.symbols)) {
      const closedAt = s.lastBarTime === undefined ? undefined : s.lastBarTime + st.timeframeMs;
      const age = Math.max(0, now - (closedAt ?? since));
      symbols[symbol] = { ...s, lastBarAgeMs: closedAt === undefined ? null : age };
      // in a session, the wait starts at the later of the last bar and the session's open
      const waited = market?.open ? Math.max(0, now - Math.max(closedAt ?? since, market.since)) : age;
      if (market?.open === false || waited <= limit) continue;
      late.push(`${symbol} ${closedAt === undefined ? 'none yet' : `for ${duration(waited)}`}`);
    }
    const degraded =
      late.length === 0
        ? undefined
        : `no closed candle: ${late.join(', ')} (at most ${staleBars} x ${duration(st.timeframeMs)})` +
          `${st.connected ? '' : '; disconnected'}${st.lastError ? `; last error: ${st.lastError}` : ''}`;
    return {
      detail: {
        feed: {
          name: feed.name,
          connected: st.connected,
          reconnects: st.reconnects,
          errors: st.errors,
          rateLimited: st.rateLimited,
          ...(st.lastError ? { lastError: st.lastError } : {}),
          timeframeMs: st.timeframeMs,
          symbols,
          ...(st.market
            ? {
                market: market
                  ? market.open
                    ? { open: true, since: market.since }
                    : { open: false, ...(market.next !== undefined ? { nextOpen: market.next } : {}) }
                  : { open: null, calendarUntil: st.market.knownUntil },
              }
            : {}),
        },
      },
      ...(degraded ? { degraded } : {}),
    };
  };
}
