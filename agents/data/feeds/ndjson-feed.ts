import { basename } from 'node:path';
import type { z } from 'zod';
import { barSchema, tickSchema } from '../../../src/core/index.js';
import { type FeedFormatError, fileFeed, type FeedItem, type MarketFeed } from './feed.js';
import { parseIsoDateTime } from './parse-utc-time.js';
import { readFeedFile } from './read-feed-file.js';

/** Options of {@link ndjsonFeed}. */
export interface NdjsonFeedOptions {
  /** Path of the NDJSON file: one JSON object per line. */
  readonly file: string;
  /** Skip bad lines (counting them in `skipped`) instead of throwing. Default false. */
  readonly lenient?: boolean;
  /** Told about every line skipped in lenient mode. */
  readonly onSkip?: (err: FeedFormatError) => void;
}

/**
 * A feed over an NDJSON file, e.g. a recorded stream. Each non-blank line is one object:
 * `{"kind":"bar", ...Bar}`, `{"kind":"tick", ...Tick}`, a bare Bar (has open/high/low/close)
 * or a bare Tick (has price). `time` is epoch ms or an ISO-8601 string (UTC when it has no
 * offset). Items are checked against `barSchema` / `tickSchema`; unknown keys are dropped.
 *
 * Time must not go backwards from one line to the next (items of several symbols may share
 * a time). A bad line throws {@link FeedFormatError} naming file, line and the schema issue,
 * or is skipped and counted in lenient mode. The file is read now, parsed lazily.
 */
export function ndjsonFeed(opts: NdjsonFeedOptions): MarketFeed {
  const { file, lenient = false, onSkip } = opts;
  const text = readFeedFile(file);
  return fileFeed({ name: `ndjson:${basename(file)}`, file, lenient, onSkip }, (reject) => readLines(text, reject));
}

function* readLines(
  text: string,
  reject: (line: number, problem: string, cause?: unknown) => void,
): Generator<FeedItem, void, undefined> {
  let previous = -Infinity;
  let pos = 0;
  let line = 0;
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl === -1) nl = text.length;
    line++;
    const raw = text.slice(pos, nl);
    pos = nl + 1;
    if (raw.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (cause) {
      reject(line, `not JSON: ${cause instanceof Error ? cause.message : String(cause)}`, cause);
      continue;
    }
    const item = toItem(value);
    if (typeof item === 'string') {
      reject(line, item);
      continue;
    }
    const time = item.kind === 'bar' ? item.bar.time : item.tick.time;
    if (time < previous) {
      reject(
        line,
        `time ${new Date(time).toISOString()} goes back before the previous line's ${new Date(previous).toISOString()}`,
      );
      continue;
    }
    previous = time;
    yield item;
  }
}

/** The feed item a parsed line describes, or what is wrong with it. */
function toItem(value: unknown): FeedItem | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'expected a JSON object (a bar or a tick)';
  const record = value as Record<string, unknown>;
  const kind = record.kind ?? ('open' in record || 'close' in record ? 'bar' : 'price' in record ? 'tick' : undefined);
  if (kind !== 'bar' && kind !== 'tick') {
    return record.kind === undefined
      ? 'neither a bar (open/high/low/close) nor a tick (price); add "kind"'
      : `kind ${JSON.stringify(record.kind)} is neither "bar" nor "tick"`;
  }
  let input = record;
  if (typeof record.time === 'string') {
    const ms = parseIsoDateTime(record.time, 0, record.time.length);
    if (Number.isNaN(ms)) return `time ${JSON.stringify(record.time)} is neither epoch ms nor an ISO-8601 date-time`;
    input = { ...record, time: ms };
  }
  if (kind === 'bar') {
    const parsed = barSchema.safeParse(input);
    return parsed.success ? { kind, bar: parsed.data } : `invalid bar: ${describe(parsed.error)}`;
  }
  const parsed = tickSchema.safeParse(input);
  return parsed.success ? { kind, tick: parsed.data } : `invalid tick: ${describe(parsed.error)}`;
}

function describe(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(object)'}: ${issue.message}`)
    .join('; ');
}
