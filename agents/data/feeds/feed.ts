import { FileLineError, type Bar, type Tick } from '../../../src/core/index.js';
import type { MarketHours } from './market-sessions.js';

/**
 * The market-data port of the data agent: every source (CSV, NDJSON, synthetic) is read
 * through this one shape, so the agent, backtests and benchmarks never know where prices
 * come from. Publishing them (`market.bar`, `market.tick`) is the agent's job, not the feed's.
 */

/** One item a feed delivers, in time order. */
export type FeedItem = { readonly kind: 'bar'; readonly bar: Bar } | { readonly kind: 'tick'; readonly tick: Tick };

/**
 * A synchronous, re-iterable source of bars and ticks. Iteration is synchronous on purpose:
 * backtests push hundreds of thousands of bars a second through it and a promise per item
 * would dominate the cost. Each `[Symbol.iterator]()` call starts again from the beginning.
 */
export interface MarketFeed extends Iterable<FeedItem> {
  /** Where the data comes from, e.g. `csv:orcl-1995-2014.csv`, `ndjson:recorded.ndjson`, `synthetic`. */
  readonly name: string;
  /** True when iteration never ends (synthetic); a consumer must stop on its own. */
  readonly endless: boolean;
  /** Rows skipped in lenient mode during the current (or last) pass. */
  readonly skipped: number;
}

/** What a live feed reports about one symbol (the data agent's health, `/ready`, metrics). */
export interface LiveSymbolStats {
  /** Open time of the last closed candle published, undefined before the first. */
  readonly lastBarTime: number | undefined;
  /** Candles fetched by REST to fill a gap (after a dropped socket, a jump in time). */
  readonly gapsRepaired: number;
  /** Candle updates for a candle already published (re-sent, replayed after a reconnect). */
  readonly duplicates: number;
  /** Updates for a candle older than the one forming. */
  readonly outOfOrder: number;
  /** Invalid candles from the venue (a price not positive, an inconsistent high/low), skipped. */
  readonly invalid: number;
}

export interface LiveFeedStats {
  readonly connected: boolean;
  readonly reconnects: number;
  /** Venue errors seen (rate limits, maintenance, network), the last one's message. */
  readonly errors: number;
  readonly rateLimited: number;
  readonly lastError: string | undefined;
  /** The bar length in ms. */
  readonly timeframeMs: number;
  readonly symbols: Readonly<Record<string, LiveSymbolStats>>;
  /**
   * A market with trading hours (US equities): its sessions. Outside them no bar is expected, so
   * none is late; a 24/7 venue (crypto) leaves this out.
   */
  readonly market?: MarketHours;
}

/**
 * A live source: closed bars as they happen, asynchronously, without end. The data agent's pump
 * reads it like a file feed (one port), awaiting each item; `close` ends the iteration (the
 * agent stops) and releases the venue's connections.
 */
export interface LiveFeed extends AsyncIterable<FeedItem> {
  readonly name: string;
  readonly endless: true;
  /** Items dropped as invalid since the start. */
  readonly skipped: number;
  stats(): LiveFeedStats;
  close(): Promise<void>;
}

/** Any feed the data agent reads: a file or synthetic one (synchronous), or a live one. */
export type AnyFeed = MarketFeed | LiveFeed;

export const isLiveFeed = (feed: AnyFeed): feed is LiveFeed => Symbol.asyncIterator in feed;

/**
 * A row or header of a data file is malformed. The message reads `<file>:<line>: <problem>`
 * so it can be pasted into an editor. Not retryable: the same file fails the same way.
 */
export class FeedFormatError extends FileLineError {
  declare readonly code: 'feed_format';
  constructor(file: string, line: number, problem: string, options?: ErrorOptions) {
    super('feed_format', file, line, problem, options);
  }
}

/** A feed's data file could not be read at all (missing, unreadable); `cause` is the I/O error. */
export class FeedUnavailableError extends Error {
  readonly code = 'feed_unavailable';
  readonly retryable = false;
  constructor(
    readonly file: string,
    options?: ErrorOptions,
  ) {
    const why = options?.cause instanceof Error ? options.cause.message : String(options?.cause ?? 'unknown error');
    super(`cannot read feed file ${file}: ${why}`, options);
    this.name = 'FeedUnavailableError';
  }
}

/** A feed was asked for with options that cannot work (a programming or configuration mistake). */
export class FeedOptionsError extends Error {
  readonly code = 'feed_options';
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'FeedOptionsError';
  }
}

/** How a file feed's row reader reports a bad row. */
export type RejectRow = (line: number, problem: string, cause?: unknown) => void;

export interface FileFeedOptions {
  readonly name: string;
  readonly file: string;
  readonly lenient: boolean;
  readonly onSkip?: ((err: FeedFormatError) => void) | undefined;
}

/**
 * A finite feed over one file. Its rows come from `rows`, which reports each bad row to
 * `reject`: in strict mode that throws FeedFormatError naming file and line; in lenient mode
 * the row is skipped, counted (per pass) and reported to `onSkip`.
 */
export function fileFeed(opts: FileFeedOptions, rows: (reject: RejectRow) => Iterator<FeedItem>): MarketFeed {
  let skipped = 0;
  const reject: RejectRow = (line, problem, cause) => {
    const err = new FeedFormatError(opts.file, line, problem, cause === undefined ? undefined : { cause });
    if (!opts.lenient) throw err;
    skipped++;
    opts.onSkip?.(err);
  };
  return {
    name: opts.name,
    endless: false,
    get skipped() {
      return skipped;
    },
    [Symbol.iterator]() {
      skipped = 0;
      return rows(reject);
    },
  };
}
