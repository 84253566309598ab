import type { NewsItem } from '../../../src/core/index.js';

/**
 * The news port of the sentiment agent: every source (a news file, an RSS/Atom feed) is read
 * through this one shape, so the agent's pump, backtests and tests never know where news comes
 * from. Publishing the items (`news.item`) is the pump's job, not the source's.
 */
export interface NewsSource {
  /** Where the news comes from, e.g. `ndjson:news.ndjson`, `rss:https://example.com/feed`. */
  readonly name: string;
  /**
   * The items available now, oldest first. A file answers with all of its items every time; a
   * feed with what it lists at the moment (the pump drops items it has published already).
   */
  read(): Promise<readonly NewsItem[]>;
  /** Wall-clock ms between reads (feeds); undefined: read once (files). */
  readonly pollMs?: number;
}

/** A source over items already in memory (a file read at start-up, tests). */
export function staticNewsSource(name: string, items: readonly NewsItem[]): NewsSource {
  return { name, read: () => Promise.resolve(items) };
}
