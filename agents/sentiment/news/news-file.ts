import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import type { NewsItem } from '../../../src/core/index.js';
import { byTime, makeNewsItem, NewsFormatError, NewsUnavailableError, type RawNews } from './news-item.js';
import { csvRecords } from './csv-records.js';
import { staticNewsSource, type NewsSource } from './source.js';

export interface NewsFileOptions {
  /** Skip bad lines (counted in `skipped`, each told to `onSkip`) instead of stopping at the first. */
  readonly lenient?: boolean;
  readonly onSkip?: (err: NewsFormatError) => void;
}

export interface NewsFile {
  readonly name: string;
  /** In publication order (a file need not be sorted; equal times keep file order). */
  readonly items: readonly NewsItem[];
  /** Lines skipped in lenient mode. */
  readonly skipped: number;
}

const FIELDS = ['headline', 'body', 'time', 'source', 'url', 'symbols'] as const;

/**
 * Reads a news file whole: CSV when the name ends in `.csv` (a header row naming the columns
 * `headline`, `time` and optionally `body`, `source`, `url`, `symbols`, in any order; RFC 4180
 * quoting, so texts may hold commas, quotes and newlines), NDJSON otherwise (one JSON object per
 * line with the same fields). `time` is epoch ms, ISO-8601 (UTC without an offset) or RFC 822;
 * `source` defaults to the file's name; `symbols` is a list or a comma-separated string.
 *
 * A bad line throws {@link NewsFormatError} naming file and line, or is skipped and counted when
 * `lenient`. A file that cannot be read throws {@link NewsUnavailableError}.
 */
export function readNewsFile(file: string, options: NewsFileOptions = {}): NewsFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new NewsUnavailableError(file, { cause });
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const csv = extname(file).toLowerCase() === '.csv';
  const source = basename(file);
  let skipped = 0;
  const items: NewsItem[] = [];
  const reject = (line: number, problem: string, cause?: unknown) => {
    const err = new NewsFormatError(file, line, problem, cause === undefined ? undefined : { cause });
    if (!options.lenient) throw err;
    skipped++;
    options.onSkip?.(err);
  };
  const take = (line: number, raw: RawNews) => {
    const item = makeNewsItem(raw, source);
    if (typeof item === 'string') reject(line, item);
    else items.push(item);
  };
  if (csv) readCsv(text, take, reject, file);
  else readNdjson(text, take, reject);
  return { name: `${csv ? 'csv' : 'ndjson'}:${source}`, items: byTime(items), skipped };
}

/** A news file as a source (read once, at start-up, so a bad file stops start-up naming its line). */
export function newsFileSource(file: string, options: NewsFileOptions = {}): NewsSource {
  const read = readNewsFile(file, options);
  return staticNewsSource(read.name, read.items);
}

type Take = (line: number, raw: RawNews) => void;
type Reject = (line: number, problem: string, cause?: unknown) => void;

function readNdjson(text: string, take: Take, reject: Reject): void {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (cause) {
      reject(i + 1, `not JSON: ${cause instanceof Error ? cause.message : String(cause)}`, cause);
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      reject(i + 1, 'expected a JSON object with headline and time');
      continue;
    }
    take(i + 1, value as RawNews);
  }
}

function readCsv(text: string, take: Take, reject: Reject, file: string): void {
  let columns: Map<(typeof FIELDS)[number], number> | undefined;
  for (const record of csvRecords(text)) {
    if (record.error) {
      reject(record.line, record.error);
      continue;
    }
    const cells = record.cells;
    if (cells.length === 1 && cells[0]!.trim() === '') continue;
    if (!columns) {
      columns = new Map();
      const names = cells.map((c) => c.trim().toLowerCase());
      for (const f of FIELDS) {
        const at = names.indexOf(f);
        if (at >= 0) columns.set(f, at);
      }
      // a header that lacks a required column makes every row bad: stop whatever the mode
      const missing = (['headline', 'time'] as const).filter((f) => !columns!.has(f));
      if (missing.length > 0)
        throw new NewsFormatError(
          file,
          record.line,
          `the header names no ${missing.join(' or ')} column (found: ${names.join(', ')})`,
        );
      continue;
    }
    const raw: Record<string, string> = {};
    for (const [f, at] of columns) if (cells[at] !== undefined) raw[f] = cells[at]!;
    take(record.line, raw);
  }
}
