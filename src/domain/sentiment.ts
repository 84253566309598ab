import type { SentimentUpdated } from './messages.js';

/**
 * How a published sentiment reads at another event time: it halves every `halfLifeMs` without
 * news. Shared by the sentiment agent (which aggregates with it) and its readers (the strategy's
 * filter), so both mean the same number. Time never runs backwards here: asked about a moment
 * before `asOf`, the value as of `asOf` is returned (a reader never sees news "from the future"
 * grow a score).
 */
export function decay(value: number, fromTime: number, toTime: number, halfLifeMs: number): number {
  if (toTime <= fromTime || value === 0) return value;
  return value * 2 ** (-(toTime - fromTime) / halfLifeMs);
}

/** A symbol's sentiment (a `sentiment.updated` payload) as it stands at event time `time`. */
export function decayedScore(s: Pick<SentimentUpdated, 'score' | 'asOf' | 'halfLifeMs'>, time: number): number {
  return decay(s.score, s.asOf, time, s.halfLifeMs);
}
