import { csvFeed, type CsvFeedOptions } from './csv-feed.js';
import { FeedOptionsError, type MarketFeed } from './feed.js';
import { ndjsonFeed, type NdjsonFeedOptions } from './ndjson-feed.js';
import { syntheticFeed, type SyntheticFeedOptions } from './synthetic-feed.js';

/** Options of {@link openFeed}: `feed` picks the source, the rest are that source's options. */
export type OpenFeedOptions =
  | ({ readonly feed: 'csv' } & CsvFeedOptions)
  | ({ readonly feed: 'ndjson' } & NdjsonFeedOptions)
  | ({ readonly feed: 'synthetic' } & SyntheticFeedOptions);

/** The one entry point for callers (data agent, backtests, CLI): opens the feed `opts.feed` names. */
export function openFeed(opts: OpenFeedOptions): MarketFeed {
  switch (opts.feed) {
    case 'csv':
      return csvFeed(opts);
    case 'ndjson':
      return ndjsonFeed(opts);
    case 'synthetic':
      return syntheticFeed(opts);
    default: {
      // Options often come from config files, so say what is wrong instead of returning undefined.
      const unknown: never = opts;
      throw new FeedOptionsError(
        `unknown feed ${JSON.stringify((unknown as { feed?: unknown }).feed)}; expected csv, ndjson or synthetic`,
      );
    }
  }
}
