import { assign, setup } from 'xstate';
import {
  type NewsItem,
  type SentimentScored,
  type MessageEvent,
  emitOutbox,
  NO_OUTPUT,
  out,
  type OutboxEmitted,
  type Outbound,
  type WithOutbox,
} from '../../src/core/index.js';
import { addItem, type AggregateParams, type SymbolSentiment } from './aggregate.js';
import type { SentimentScore } from './scorer.js';

/** Item ids remembered to recognise a repeat (at-least-once delivery, a feed listing an item again). */
const REMEMBER = 2_000;

export type SentimentParams = AggregateParams;

export interface SentimentContext extends WithOutbox {
  readonly params: SentimentParams;
  /** Per symbol, what was last published on `sentiment.updated.<sym>`. */
  readonly symbols: Readonly<Record<string, SymbolSentiment>>;
  /** Items handed to the scorer and not yet back (an LLM call in flight). */
  readonly scoring: Readonly<Record<string, true>>;
  /** Latest item ids scored and aggregated, oldest first (bounded): repeats are ignored. */
  readonly scoredIds: readonly string[];
  readonly aggregatedIds: readonly string[];
  /** Items that named no symbol this agent knows (not scored). */
  readonly untagged: number;
}

/** A `news.item` with the symbols the binding's tagger found (explicit tickers, names, its own field). */
export type NewsEvent = MessageEvent<'news.item'> & { readonly symbols: readonly string[] };

/** The scorer's answer to an `effect.score`, sent back by the binding. */
export interface ScoreComputedEvent {
  readonly type: 'sentiment.computed';
  readonly item: NewsItem;
  readonly symbols: readonly string[];
  readonly result: SentimentScore;
}

/** The scorer failed even its fallback (a bug): the item is given up. */
export interface ScoreFailedEvent {
  readonly type: 'sentiment.failed';
  readonly itemId: string;
}

export type SentimentEvent = NewsEvent | ScoreComputedEvent | ScoreFailedEvent | MessageEvent<'sentiment.scored'>;

/** What the machine asks its binding to score. */
export interface ScoreRequest {
  readonly item: NewsItem;
  readonly symbols: readonly string[];
}

const remember = (ids: readonly string[], id: string) =>
  ids.length >= REMEMBER ? [...ids.slice(ids.length - REMEMBER + 1), id] : [...ids, id];

/** A news item: untagged items are counted; a new tagged one is handed to the scorer (`effect.score`). */
export function onNews(ctx: SentimentContext, ev: NewsEvent): Partial<SentimentContext> {
  if (ev.symbols.length === 0) return { untagged: ctx.untagged + 1, outbox: NO_OUTPUT };
  const id = ev.payload.id;
  // scored here, or aggregated from a recorded score (a replay passes over the item itself)
  if (ctx.scoring[id] || ctx.scoredIds.includes(id) || ctx.aggregatedIds.includes(id)) return { outbox: NO_OUTPUT };
  const request: ScoreRequest = { item: ev.payload, symbols: ev.symbols };
  return { scoring: { ...ctx.scoring, [id]: true }, outbox: [{ type: 'effect.score', payload: request }] };
}

/** A number kept within [lo, 1]; not a number counts as 0. */
const within = (x: number, lo: number) => (Number.isFinite(x) ? Math.min(1, Math.max(lo, x)) : 0);

/** The scorer answered: publish the scored item (`sentiment.scored`, caused by the news item). */
export function onComputed(ctx: SentimentContext, ev: ScoreComputedEvent): Partial<SentimentContext> {
  const { [ev.item.id]: _done, ...scoring } = ctx.scoring;
  const { item, result } = ev;
  const scored: SentimentScored = {
    itemId: item.id,
    headline: item.headline,
    source: item.source,
    time: item.time,
    symbols: [...ev.symbols],
    // the port promises these ranges; a scorer that breaks it must not break the message
    score: within(result.score, -1),
    confidence: within(result.confidence, 0),
    rationale: result.rationale.slice(0, 500),
    scorer: result.scorer.slice(0, 200),
  };
  return { scoring, scoredIds: remember(ctx.scoredIds, item.id), outbox: [out('sentiment.scored', scored)] };
}

/**
 * A scored item (this agent's own, or a recorded one fed by a replay): each of its symbols'
 * sentiment moves, and each is published on `sentiment.updated.<sym>` with the items behind it.
 */
export function onScored(ctx: SentimentContext, ev: MessageEvent<'sentiment.scored'>): Partial<SentimentContext> {
  const item = ev.payload;
  if (ctx.aggregatedIds.includes(item.itemId)) return { outbox: NO_OUTPUT };
  const symbols = { ...ctx.symbols };
  const outbox: Outbound[] = [];
  for (const symbol of item.symbols) {
    const next = addItem(symbols[symbol], symbol, item, ctx.params);
    symbols[symbol] = next;
    outbox.push(out('sentiment.updated', next));
  }
  return { symbols, aggregatedIds: remember(ctx.aggregatedIds, item.itemId), outbox };
}

/**
 * The sentiment agent's machine. `news.item` -> `effect.score` (the binding scores: the default
 * scorer at once, an LLM scorer later) -> `sentiment.computed` -> `sentiment.scored`; then, on
 * `sentiment.scored` (read back from the bus, so a replay's recorded scores take the same path),
 * per-symbol sentiment decayed over event time -> `sentiment.updated`. Pure: time comes from
 * the items, ids from the host.
 */
export const sentimentMachine = setup({
  types: {
    context: {} as SentimentContext,
    events: {} as SentimentEvent,
    input: {} as { params: SentimentParams },
    emitted: {} as OutboxEmitted,
  },
  actions: {
    news: assign(({ context, event }) => onNews(context, event as NewsEvent)),
    computed: assign(({ context, event }) => onComputed(context, event as ScoreComputedEvent)),
    failed: assign(({ context, event }) => {
      const { [(event as ScoreFailedEvent).itemId]: _gone, ...scoring } = context.scoring;
      return { scoring, outbox: NO_OUTPUT };
    }),
    scored: assign(({ context, event }) => onScored(context, event as MessageEvent<'sentiment.scored'>)),
    emitOutbox: emitOutbox<SentimentContext, SentimentEvent>(),
  },
}).createMachine({
  id: 'sentiment',
  context: ({ input }) => ({
    params: input.params,
    symbols: {},
    scoring: {},
    scoredIds: [],
    aggregatedIds: [],
    untagged: 0,
    outbox: NO_OUTPUT,
  }),
  initial: 'running',
  states: {
    running: {
      on: {
        'news.item': { actions: ['news', 'emitOutbox'] },
        'sentiment.computed': { actions: ['computed', 'emitOutbox'] },
        'sentiment.failed': { actions: 'failed' },
        'sentiment.scored': { actions: ['scored', 'emitOutbox'] },
      },
    },
  },
});
