import type { EventObject } from 'xstate';
import {
  type Envelope,
  patterns,
  subjects,
  type NewsItem,
  decayedScore,
  type Logger,
  messageEvent,
  type AgentSpec,
} from '../../src/core/index.js';
import {
  sentimentMachine,
  type NewsEvent,
  type ScoreComputedEvent,
  type ScoreFailedEvent,
  type ScoreRequest,
  type SentimentContext,
  type SentimentParams,
} from './machine.js';
import { pumpNews } from './news/pump.js';
import type { NewsSource } from './news/source.js';
import { symbolTagger } from './news/tagger.js';
import type { AsyncScorer, Scorer, SentimentScore } from './scorer.js';

export interface SentimentAgentOptions {
  readonly params: SentimentParams;
  /**
   * `live` scores every `news.item`; `replay` scores nothing and takes the recorded
   * `sentiment.scored` events as its input instead (a recorded LLM score is never asked for again).
   */
  readonly mode: 'live' | 'replay';
  /** Company names and aliases to symbols (`{ Oracle: 'ORCL' }`); explicit `$TICKERS` always count. */
  readonly symbolMap?: Readonly<Record<string, string>>;
  /** Live: the default (synchronous) scorer, or an LLM scorer that falls back to it on its own. */
  readonly scorer?: Scorer | AsyncScorer;
  /** Live: news the agent reads itself and publishes on `news.item` (files, RSS/Atom feeds). */
  readonly news?: readonly NewsSource[];
  /** Told about a scorer that failed outright (the item is then not scored). */
  readonly log?: Logger;
}

/** Characters of an item's body scored after its headline (a long article would drown the headline). */
const BODY_CHARS = 500;

/** What is scored: the headline, then the start of the body. Quoting it as data is the scorer's job. */
export function scoringText(item: Pick<NewsItem, 'headline' | 'body'>): string {
  return item.body ? `${item.headline}\n${item.body.slice(0, BODY_CHARS)}` : item.headline;
}

/**
 * The sentiment agent. Reads `news.item` (live) and `sentiment.scored`; writes `news.item` (the
 * news sources it was given), `sentiment.scored` (one per scored item, with symbols, score,
 * confidence, rationale and scorer) and `sentiment.updated.<sym>` (`sentiment.updated`: the symbol's
 * sentiment decayed over event time, with the items that moved it). Answers `query.sentiment`.
 *
 * Scoring is an effect of the machine: the default scorer answers within the step, an LLM scorer
 * later (the result is caused by the news item either way). Aggregation reads `sentiment.scored`
 * back from the bus, so a replay, which feeds the recorded scored items, takes the same path.
 */
export function sentimentAgent(options: SentimentAgentOptions): AgentSpec<SentimentContext> {
  const tag = symbolTagger(options.symbolMap ?? {});
  const { scorer } = options;
  if (options.mode === 'live' && !scorer) throw new Error('the live sentiment agent needs a scorer');
  return {
    name: 'sentiment',
    machine: sentimentMachine,
    input: { params: options.params },
    inlets: [
      ...(options.mode === 'live'
        ? [
            {
              pattern: patterns.exact(subjects.newsItem()),
              toEvent: (env: Envelope): NewsEvent => ({
                ...(messageEvent(env) as NewsEvent),
                symbols: tag(env.payload as NewsItem),
              }),
            },
          ]
        : []),
      { pattern: patterns.exact(subjects.sentimentScored()) },
    ],
    ...(options.mode === 'live' && options.news && options.news.length > 0
      ? { onStart: (api) => pumpNews(api, options.news!) }
      : {}),
    // scores in flight at the checkpoint died with the process: forgotten, so the item is scored
    // when it comes again (the news pump publishes its sources again after a restart)
    upgrade: (context) => {
      const c = context as SentimentContext;
      return Object.keys(c.scoring ?? {}).length > 0 ? { ...c, scoring: {} } : c;
    },
    // a replay after a crash feeds the recorded score of each item scored before it, never
    // asking the scorer again (an LLM would answer differently); an item whose score was not
    // published is scored as it would have been
    replaySettled: (messages) => {
      const settled = new Set<string>();
      for (const m of messages)
        if (m.env.type === 'sentiment.scored' && m.env.causationId !== undefined) settled.add(m.env.causationId);
      return settled;
    },
    effects: {
      'effect.score': (payload, complete: (event: EventObject) => void) => {
        const { item, symbols } = payload as ScoreRequest;
        const done = (result: SentimentScore) => {
          const event: ScoreComputedEvent = { type: 'sentiment.computed', item, symbols, result };
          complete(event);
        };
        const failed = (err: unknown) => {
          options.log?.error(
            { err, itemId: item.id, scorer: scorer!.name },
            'the scorer failed; the news item is not scored',
          );
          const event: ScoreFailedEvent = { type: 'sentiment.failed', itemId: item.id };
          complete(event);
        };
        let result: SentimentScore | Promise<SentimentScore>;
        try {
          result = scorer!.score(scoringText(item));
        } catch (err) {
          failed(err);
          return;
        }
        if (result instanceof Promise) result.then(done, failed);
        else done(result);
      },
    },
    queries: [
      {
        what: 'sentiment',
        answer: (ctx, params) => {
          const all = Object.values(ctx.symbols);
          const at = typeof params.at === 'number' ? params.at : undefined;
          const picked = typeof params.symbol === 'string' ? all.filter((s) => s.symbol === params.symbol) : all;
          return picked.map((s) => (at === undefined ? s : { ...s, scoreAt: decayedScore(s, at), at }));
        },
      },
    ],
  };
}
