import type { FeedItem, MarketFeed } from '../../../agents/data/index.js';
import type { NewsItem } from '../../core/index.js';

const timeOf = (item: FeedItem) => (item.kind === 'bar' ? item.bar.time : item.tick.time);

/**
 * A backtest's bars with its news woven in by event time: before the data agent publishes a bar
 * (or tick), every news item published at or before the bar's time is handed to `publish`; items
 * after the last bar follow it. On the in-memory bus a publish runs its whole chain before it
 * returns (news -> scored item -> symbol sentiment -> the strategy's view of it), so each bar is
 * decided on exactly the news stamped up to its time, and a run is reproducible. `news` must be
 * in time order (readNewsFile sorts it).
 */
export function withNews(feed: MarketFeed, news: readonly NewsItem[], publish: (item: NewsItem) => void): MarketFeed {
  return {
    name: `${feed.name}+news`,
    endless: feed.endless,
    get skipped() {
      return feed.skipped;
    },
    *[Symbol.iterator]() {
      let next = 0;
      for (const item of feed) {
        const t = timeOf(item);
        while (next < news.length && news[next]!.time <= t) publish(news[next++]!);
        yield item;
      }
      while (next < news.length) publish(news[next++]!);
    },
  };
}
