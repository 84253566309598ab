import type { Bar } from '../../../src/core/index.js';
import type { FeedItem, MarketFeed } from './feed.js';

/**
 * Reads every item of a finite feed into memory, in order (research runs load a file once and
 * run it many times). Throws on an endless feed.
 */
export function readAll(feed: MarketFeed): FeedItem[] {
  if (feed.endless) throw new Error(`${feed.name} never ends; it cannot be read into memory`);
  return [...feed];
}

export interface MemoryFeedOptions {
  /** Shown as the feed's name, e.g. `csv:orcl.csv[1995-2004]`. */
  readonly name: string;
  /**
   * Bars before this time are published as history (`bar.history`): strategies warm their
   * indicators on them but decide no order (walk-forward windows warm up on the bars before them).
   */
  readonly historyBefore?: number;
}

/**
 * A finite, re-iterable feed over items already in memory. The items are not copied (a trial
 * of a sweep reads the same arrays as every other); history bars are made once, here.
 */
export function memoryFeed(items: readonly FeedItem[], opts: MemoryFeedOptions): MarketFeed {
  const cut = opts.historyBefore;
  const list: readonly FeedItem[] =
    cut === undefined
      ? items
      : items.map((it) =>
          it.kind === 'bar' && it.bar.time < cut ? { kind: 'bar', bar: { ...it.bar, history: true as const } } : it,
        );
  return { name: opts.name, endless: false, skipped: 0, [Symbol.iterator]: () => list[Symbol.iterator]() };
}

/** The items with times in [from, to) (either end open when undefined), in order. */
export function itemsBetween(items: readonly FeedItem[], from?: number, to?: number): FeedItem[] {
  const timeOf = (it: FeedItem) => (it.kind === 'bar' ? it.bar.time : it.tick.time);
  return items.filter((it) => (from === undefined || timeOf(it) >= from) && (to === undefined || timeOf(it) < to));
}

/**
 * Several symbols' items merged into one stream by time; at equal times the order of `streams`
 * decides (the first file's bar first), so a run is reproducible. Each stream must be in time order.
 */
export function mergeByTime(streams: readonly (readonly FeedItem[])[]): FeedItem[] {
  const timeOf = (it: FeedItem) => (it.kind === 'bar' ? it.bar.time : it.tick.time);
  if (streams.length === 1) return [...streams[0]!];
  const at = streams.map(() => 0);
  const out: FeedItem[] = [];
  for (;;) {
    let best = -1;
    let bestTime = Infinity;
    for (let s = 0; s < streams.length; s++) {
      const it = streams[s]![at[s]!];
      if (it !== undefined && timeOf(it) < bestTime) {
        best = s;
        bestTime = timeOf(it);
      }
    }
    if (best < 0) return out;
    out.push(streams[best]![at[best]!++]!);
  }
}

/** The bars of `items`, in order. */
export const barsOf = (items: readonly FeedItem[]): Bar[] => items.flatMap((it) => (it.kind === 'bar' ? [it.bar] : []));
