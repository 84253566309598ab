import type { SentimentUpdated } from './messages.js';

/**
 * How a published sentiment reads at another event time: it halves every `halfLifeMs` without
 * news. Shared by the sentiment agent (which aggregates with it) and its readers (the strategy's
 * filter), so both mean the same number. Asked about a moment before `asOf` (a bar older than
 * the newest news, as can happen live), the value as of `asOf` is returned undecayed: a reader
 * decides on the newest sentiment it knows. That is not look-ahead live (the decision is made
 * now); in a backtest news and bars are merged by event time, so a bar never sees later news.
 */
export function decay(value: number, fromTime: number, toTime: number, halfLifeMs: number): number {
  if (toTime <= fromTime || value === 0) return value;
  return value * 2 ** (-(toTime - fromTime) / halfLifeMs);
}

/** A symbol's sentiment (a `sentiment.updated` payload) as it stands at event time `time`. */
export function decayedScore(s: Pick<SentimentUpdated, 'score' | 'asOf' | 'halfLifeMs'>, time: number): number {
  return decay(s.score, s.asOf, time, s.halfLifeMs);
}
