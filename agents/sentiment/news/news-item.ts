import { FileLineError, type NewsItem, derivedId } from '../../../src/core/index.js';

/**
 * A news item as a source found it, before it is checked: every field a string (or a number for
 * time) or missing. `makeNewsItem` turns it into a `NewsItem` or says what is wrong.
 */
export interface RawNews {
  readonly headline?: unknown;
  readonly body?: unknown;
  readonly time?: unknown;
  readonly source?: unknown;
  readonly url?: unknown;
  readonly symbols?: unknown;
}

/**
 * A news line or record is malformed. The message reads `<file>:<line>: <problem>` so it can be
 * pasted into an editor. Not retryable: the same file fails the same way.
 */
export class NewsFormatError extends FileLineError {
  declare readonly code: 'news_format';
  constructor(file: string, line: number, problem: string, options?: ErrorOptions) {
    super('news_format', file, line, problem, options);
  }
}

/** A news file or feed could not be read at all; `cause` is the I/O or HTTP error. */
export class NewsUnavailableError extends Error {
  readonly code = 'news_unavailable';
  readonly retryable: boolean;
  constructor(
    readonly where: string,
    options?: ErrorOptions & { retryable?: boolean },
  ) {
    const why = options?.cause instanceof Error ? options.cause.message : String(options?.cause ?? 'unknown error');
    super(`cannot read news from ${where}: ${why}`, options);
    this.name = 'NewsUnavailableError';
    this.retryable = options?.retryable ?? false;
  }
}

/**
 * The id of a news item: a hash of source, url, time and headline (ULID form, sorting by time),
 * so reading the same item again (a restart, the next poll of a feed, a replay) gives the same
 * id. An item without a time of its own hashes without one.
 */
export function newsItemId(
  source: string,
  url: string | undefined,
  time: number | undefined,
  headline: string,
): string {
  return derivedId(time ?? 0, ['news', source, url ?? '', time === undefined ? '' : String(time), headline]);
}

const ISO_NO_OFFSET = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/**
 * Epoch ms from a number (epoch ms), a string of digits (epoch ms), an ISO-8601 date or date-time
 * (UTC when it has no offset, so a file reads the same in every time zone) or an RFC 822 date
 * (RSS `pubDate`). NaN when it is none of these.
 */
export function parseNewsTime(value: unknown): number {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : NaN;
  if (typeof value !== 'string') return NaN;
  const text = value.trim();
  if (/^-?\d{1,16}$/.test(text)) return Number(text);
  if (ISO_NO_OFFSET.test(text)) return Date.parse(`${text.replace(' ', 'T')}Z`);
  if (!/[A-Za-z]{3}|\d{4}-\d{2}-\d{2}/.test(text)) return NaN; // Date.parse accepts too much ("1 2 3")
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? NaN : ms;
}

const MAX_HEADLINE = 1_000;
const MAX_BODY = 20_000;
const SYMBOL = /^[A-Za-z0-9][A-Za-z0-9.\-/:_]{0,63}$/;

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();
const text = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);

/**
 * Checks and normalises one raw item: headline required (whitespace collapsed), time required
 * unless `fallbackTime` is given (an RSS item without a date is stamped when first seen, and its
 * id is then made without a time), source defaulting to `defaultSource`, symbols from an array or
 * a string separated by commas, semicolons or spaces. Returns the item or what is wrong with it.
 */
export function makeNewsItem(raw: RawNews, defaultSource: string, fallbackTime?: number): NewsItem | string {
  const headline = oneLine(text(raw.headline) ?? '');
  if (headline.length === 0) return 'headline is missing or empty';
  if (headline.length > MAX_HEADLINE) return `headline is ${headline.length} characters; at most ${MAX_HEADLINE}`;
  const body = text(raw.body)?.trim();
  const source = oneLine(text(raw.source) ?? '') || defaultSource;
  const url = text(raw.url)?.trim() || undefined;
  let time: number | undefined;
  if (raw.time !== undefined && raw.time !== null && raw.time !== '') {
    time = parseNewsTime(raw.time);
    if (Number.isNaN(time))
      return `time ${JSON.stringify(raw.time)} is neither epoch ms, an ISO-8601 date(-time) nor an RFC 822 date`;
  } else if (fallbackTime === undefined) return 'time is missing';
  const symbols = symbolList(raw.symbols);
  if (typeof symbols === 'string') return symbols;
  const item: NewsItem = {
    id: newsItemId(source.slice(0, 200), url, time, headline),
    headline,
    time: time ?? fallbackTime!,
    source: source.slice(0, 200),
    ...(body ? { body: body.slice(0, MAX_BODY) } : {}),
    ...(url ? { url: url.slice(0, 2_000) } : {}),
    ...(symbols.length > 0 ? { symbols } : {}),
  };
  return item;
}

function symbolList(value: unknown): string[] | string {
  if (value === undefined || value === null || value === '') return [];
  const parts = Array.isArray(value)
    ? value.map((v) => text(v) ?? '')
    : typeof value === 'string'
      ? value.split(/[,;\s]+/)
      : undefined;
  if (!parts) return 'symbols must be a list or a comma-separated string';
  const out = [...new Set(parts.map((s) => s.trim().replace(/^\$/, '')).filter((s) => s.length > 0))];
  const bad = out.find((s) => !SYMBOL.test(s));
  if (bad !== undefined) return `symbol ${JSON.stringify(bad)} is not a symbol`;
  if (out.length > 50) return `${out.length} symbols; at most 50`;
  return out;
}

/** Items in publication order; items of the same time keep the order they were read in. */
export function byTime(items: readonly NewsItem[]): NewsItem[] {
  return items
    .map((item, i) => ({ item, i }))
    .sort((a, b) => a.item.time - b.item.time || a.i - b.i)
    .map((x) => x.item);
}
