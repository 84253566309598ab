import { basename } from 'node:path';
import type { Bar, Tick } from '../../../src/core/index.js';
import { resolveCsvLayout } from './csv-header.js';
import { ACCEPTED_HEADERS, type CsvLayout } from './csv-layouts.js';
import { mergeCsvMappings, parseCsvMapText, type CsvMapping } from './csv-mapping.js';
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
  /** A mapping file (YAML or JSON, see {@link CsvMapping}) describing the file's columns and formats. */
  readonly mapFile?: string;
  /** A mapping (from flags); its keys win over the mapping file's, columns role by role. */
  readonly mapping?: CsvMapping;
}

/**
 * A feed over a CSV file of bars (or ticks), format detected from the header row:
 * Yahoo daily `Date,Open,High,Low,Close,Adj Close,Volume` (raw OHLC, not Adj Close; UTC
 * midnight; `intervalMs` one day), intraday `Date,Time,Open,High,Low,Close,Volume[,OpenInterest]`
 * and `Datetime,Open,High,Low,Close,Volume[,OpenInterest]`; otherwise the columns date (or
 * datetime, timestamp, time; or date and time), open, high, low, close and volume by name in any
 * order and case, with `,` `;` or tab separators, times ISO-8601 or epoch seconds/ms. A mapping
 * (`mapFile`, `mapping`: see `resolveCsvLayout`) names columns and time formats for anything
 * else. Times without an offset are UTC.
 *
 * The file is read and its header checked now (throwing {@link FeedFormatError} or
 * `FeedUnavailableError`; an empty file, or one with a header and no rows, is an error in
 * lenient mode too); rows are parsed lazily while iterating. A bad row (see `parseCsvRow` for
 * the rules, plus time going backwards) throws in strict mode and is skipped in lenient mode;
 * a pass in which every row was skipped throws at its end. Times must strictly increase in bar
 * files, where a repeated time is a duplicate bar; `Datetime` files and ticks may repeat a
 * time, because trades share milliseconds (ticksample.csv has two at 20:58:22.316).
 */
export function csvFeed(opts: CsvFeedOptions): MarketFeed {
  const { file, symbol, lenient = false, kind = 'bars', onSkip } = opts;
  if (symbol.length === 0) throw new FeedOptionsError(`csvFeed(${file}) needs a non-empty symbol`);
  const fromFile = opts.mapFile === undefined ? undefined : readMapFile(opts.mapFile);
  const mapping = mergeCsvMappings(fromFile, opts.mapping);
  const text = readFeedFile(file);
  const header = firstLine(text, 0, 1);
  if (header === undefined) {
    throw new FeedFormatError(
      file,
      1,
      `the file is empty; expected a header row (${ACCEPTED_HEADERS.join(' | ')}) and bars`,
    );
  }
  const layout = resolveCsvLayout(text.slice(header.start, header.end), mapping);
  if ('problem' in layout) throw new FeedFormatError(file, header.line, layout.problem);
  if (kind === 'ticks' && (layout.id === 'yahoo-daily' || layout.id === 'intraday')) {
    throw new FeedFormatError(file, header.line, `ticks need a ${ACCEPTED_HEADERS[2]} file, not ${layout.header}`);
  }
  const from = layout.headerRow ? header.next : header.start;
  const fromLine = layout.headerRow ? header.line : header.line - 1;
  if (firstLine(text, from, fromLine + 1) === undefined) {
    throw new FeedFormatError(file, header.line, 'the file has a header row but no data rows');
  }

  return fileFeed({ name: `csv:${basename(file)}`, file, lenient, onSkip }, (reject) =>
    readRows(text, from, fromLine, layout, symbol, kind, reject, file),
  );
}
function readMapFile(mapFile: string): CsvMapping {
  let text: string;
  try {
    text = readFeedFile(mapFile);
  } catch (err) {
    const why = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
    throw new FeedOptionsError(`CSV mapping file ${mapFile} cannot be read: ${why}`);
  }
  return parseCsvMapText(text, mapFile);
}

interface LineSpan {
  readonly line: number;
  readonly start: number;
  readonly end: number;
  /** Index where the following line starts. */
  readonly next: number;
}

/** The first non-blank line from `pos` (numbered `line`), without its line break. */
function firstLine(text: string, pos: number, line: number): LineSpan | undefined {
  for (; pos < text.length; line++) {
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
  file: string,
): Generator<FeedItem, void, undefined> {
  const v = new Float64Array(6); // volume stays 0 when the layout has no volume column
  const strictOrder = kind === 'bars' && layout.id !== 'datetime';
  const intervalMs = layout.intervalMs;
  const length = text.length;
  let previous = -Infinity;
  let pos = from;
  let line = headerLine;
  let rows = 0;
  let rejected = 0;
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
      rejected++;
      reject(line, problem);
      continue;
    }
    const time = v[ROW.time] as number;
    if (time < previous || (strictOrder && time === previous)) {
      const what = time === previous ? 'repeats' : 'goes back before';
      rejected++;
      reject(line, `time ${iso(time)} ${what} the previous row's ${iso(previous)}`);
      continue;
    }
    previous = time;
    rows++;
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
  if (rows === 0 && rejected > 0)
    throw new FeedFormatError(
      file,
      headerLine,
      `none of the ${rejected} data rows could be read (every one was skipped)`,
    );
}

const iso = (ms: number) => new Date(ms).toISOString();
