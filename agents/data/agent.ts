import type { AgentSpec } from '../../src/core/index.js';
import { isLiveFeed, type AnyFeed } from './feeds/feed.js';
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
    inlets: [],
    onStart: (api) => pumpFeed(api, feed, pump),
    // a live feed waits for the market: closing it ends the pump's wait
    ...(isLiveFeed(feed) ? { onStop: () => feed.close() } : {}),
  };
}
