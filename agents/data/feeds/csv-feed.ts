import { basename } from 'node:path';
import type { Bar, Tick } from '../../../src/core/index.js';
import { ACCEPTED_HEADERS, detectLayout, type CsvLayout } from './csv-layouts.js';
import { parseCsvRow, ROW } from './csv-row.js';
import { FeedFormatError, FeedOptionsError, fileFeed, type FeedItem, type MarketFeed } from './feed.js';
import { readFeedFile } from './read-feed-file.js';

/** Options of {@link csvFeed}. */
export interface CsvFeedOptions {
  /** Path of the CSV file. */
  readonly file: string;
  /** Symbol stamped on every item (the files carry none), carried unchanged: `BRK.B`, `BTC/USD`. */
  readonly symbol: string;
  /** Skip bad rows (counting them in `skipped`) instead of throwing. Default false. */
  readonly lenient?: boolean;
  /** `ticks` reads a `Datetime,...` file as trades: price = Close, size = Volume. Default `bars`. */
  readonly kind?: 'bars' | 'ticks';
  /** Told about every row skipped in lenient mode. */
  readonly onSkip?: (err: FeedFormatError) => void;
}

/**
 * A feed over a CSV file of bars (or ticks), format detected from the header row:
 * Yahoo daily `Date,Open,High,Low,Close,Adj Close,Volume` (raw OHLC, not Adj Close; UTC
 * midnight; `intervalMs` one day), intraday `Date,Time,Open,High,Low,Close,Volume[,OpenInterest]`
 * and `Datetime,Open,High,Low,Close,Volume[,OpenInterest]`. Times without an offset are UTC.
 *
 * The file is read and its header checked now (throwing {@link FeedFormatError} or
 * `FeedUnavailableError`); rows are parsed lazily while iterating. A bad row (see
 * `parseCsvRow` for the rules, plus time going backwards) throws in strict mode and is
 * skipped in lenient mode. Times must strictly increase in daily and intraday files, where
 * a repeated time is a duplicate bar; `Datetime` files may repeat a time, because trades
 * share milliseconds (ticksample.csv has two at 20:58:22.316).
 */
export function csvFeed(opts: CsvFeedOptions): MarketFeed {
  const { file, symbol, lenient = false, kind = 'bars', onSkip } = opts;
  if (symbol.length === 0) throw new FeedOptionsError(`csvFeed(${file}) needs a non-empty symbol`);
  const text = readFeedFile(file);
  const header = firstLine(text);
  if (header === undefined) {
    throw new FeedFormatError(file, 1, `the file has no header row; expected one of: ${ACCEPTED_HEADERS.join(' | ')}`);
  }
  const layout = detectLayout(text.slice(header.start, header.end));
  if (layout === undefined) {
    const seen = JSON.stringify(text.slice(header.start, Math.min(header.end, header.start + 200)));
    throw new FeedFormatError(
      file,
      header.line,
      `unknown header ${seen}; expected one of: ${ACCEPTED_HEADERS.join(' | ')}`,
    );
  }
  if (kind === 'ticks' && layout.id !== 'datetime') {
    throw new FeedFormatError(file, header.line, `ticks need a ${ACCEPTED_HEADERS[2]} file, not ${layout.header}`);
  }

  return fileFeed({ name: `csv:${basename(file)}`, file, lenient, onSkip }, (reject) =>
    readRows(text, header.next, header.line, layout, symbol, kind, reject),
  );
}

interface LineSpan {
  readonly line: number;
  readonly start: number;
  readonly end: number;
  /** Index where the following line starts. */
  readonly next: number;
}

/** The first non-blank line, without its line break. */
function firstLine(text: string): LineSpan | undefined {
  let pos = 0;
  for (let line = 1; pos < text.length; line++) {
    let nl = text.indexOf('\n', pos);
    if (nl === -1) nl = text.length;
    const start = pos;
    pos = nl + 1;
    if (text.slice(start, nl).trim() !== '')
      return { line, start, end: text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl, next: pos };
  }
  return undefined;
}

function* readRows(
  text: string,
  from: number,
  headerLine: number,
  layout: CsvLayout,
  symbol: string,
  kind: 'bars' | 'ticks',
  reject: (line: number, problem: string) => void,
): Generator<FeedItem, void, undefined> {
  const v = new Float64Array(6);
  const strictOrder = layout.id !== 'datetime';
  const intervalMs = layout.intervalMs;
  const length = text.length;
  let previous = -Infinity;
  let pos = from;
  let line = headerLine;
  while (pos < length) {
    let nl = text.indexOf('\n', pos);
    if (nl === -1) nl = length;
    line++;
    const start = pos;
    const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
    pos = nl + 1;
    if (end === start) continue;
    const problem = parseCsvRow(text, start, end, layout, v);
    if (problem !== undefined) {
      if (text.slice(start, end).trim() === '') continue;
      reject(line, problem);
      continue;
    }
    const time = v[ROW.time] as number;
    if (time < previous || (strictOrder && time === previous)) {
      const what = time === previous ? 'repeats' : 'goes back before';
      reject(line, `time ${iso(time)} ${what} the previous row's ${iso(previous)}`);
      continue;
    }
    previous = time;
    if (kind === 'ticks') {
      const tick: Tick = { symbol, time, price: v[ROW.close] as number, size: v[ROW.volume] as number };
      yield { kind: 'tick', tick };
    } else if (intervalMs !== undefined) {
      const bar: Bar = {
        symbol,
        time,
        open: v[ROW.open] as number,
        high: v[ROW.high] as number,
        low: v[ROW.low] as number,
        close: v[ROW.close] as number,
        volume: v[ROW.volume] as number,
        intervalMs,
      };
      yield { kind: 'bar', bar };
    } else {
      const bar: Bar = {
        symbol,
        time,
        open: v[ROW.open] as number,
        high: v[ROW.high] as number,
        low: v[ROW.low] as number,
        close: v[ROW.close] as number,
        volume: v[ROW.volume] as number,
      };
      yield { kind: 'bar', bar };
    }
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
