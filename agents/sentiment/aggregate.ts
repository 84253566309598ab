import { type SentimentItemRef, type SentimentScored, type SentimentUpdated, decay } from '../../src/core/index.js';

/** How a symbol's sentiment is kept. */
export interface AggregateParams {
  /** Event time after which an item's weight has halved. */
  readonly halfLifeMs: number;
  /** Items named in `recent` (newest first). */
  readonly keep: number;
}

/** A symbol's sentiment: what `sentiment.updated` publishes. */
export type SymbolSentiment = SentimentUpdated;

const clamp = (x: number) => (x > 1 ? 1 : x < -1 ? -1 : x);

/**
 * Adds one scored item to a symbol's sentiment. Its contribution is `score x confidence`; the
 * sentiment is the sum of contributions, each halved per half-life of EVENT time since its item
 * was published, bounded to [-1, 1]. An item published after `asOf` decays the sum to its time
 * and adds to it; an item older than `asOf` (a feed delivering late) adds its contribution
 * decayed to `asOf`, so the order items arrive in does not bend time. Pure.
 */
export function addItem(
  prev: SymbolSentiment | undefined,
  symbol: string,
  item: SentimentScored,
  p: AggregateParams,
): SymbolSentiment {
  const contribution = item.score * item.confidence;
  let score: number;
  let asOf: number;
  if (!prev) {
    score = clamp(contribution);
    asOf = item.time;
  } else if (item.time >= prev.asOf) {
    score = clamp(decay(prev.score, prev.asOf, item.time, p.halfLifeMs) + contribution);
    asOf = item.time;
  } else {
    score = clamp(prev.score + decay(contribution, item.time, prev.asOf, p.halfLifeMs));
    asOf = prev.asOf;
  }
  const ref: SentimentItemRef = {
    itemId: item.itemId,
    time: item.time,
    score: item.score,
    confidence: item.confidence,
    scorer: item.scorer,
    headline: item.headline.slice(0, 200),
  };
  return {
    symbol,
    score,
    asOf,
    halfLifeMs: p.halfLifeMs,
    items: (prev?.items ?? 0) + 1,
    recent: newestFirst(prev?.recent ?? [], ref, p.keep),
  };
}

/** Inserts `ref` by time (newest first; among equal times, the later arrival first) and keeps `keep`. */
function newestFirst(recent: readonly SentimentItemRef[], ref: SentimentItemRef, keep: number): SentimentItemRef[] {
  const at = recent.findIndex((r) => r.time <= ref.time);
  const out = at < 0 ? [...recent, ref] : [...recent.slice(0, at), ref, ...recent.slice(at)];
  return out.slice(0, keep);
}
