import { FeedOptionsError } from './feed.js';
import { daysFromCivil, daysInMonth, MS_PER_DAY, parseClockTime, parseIsoDateTime } from './parse-utc-time.js';

/**
 * How the time columns of a CSV file are written, for files the fixed layouts do not cover:
 * epoch seconds or milliseconds, or a small strftime-like pattern (`%d/%m/%Y %H:%M`). Every
 * time is UTC unless the value carries an offset (ISO-8601 `Z`/`±HH:MM`, or `%z`).
 */
export interface TimeFormat {
  /** As given: `auto`, `iso`, `epoch`, `epoch-s`, `epoch-ms` or a pattern with `%` directives. */
  readonly spec: string;
  /** What a value must look like, for the error naming a bad row. */
  readonly expected: string;
  /**
   * Epoch ms of `text[start, end)` (for a time-of-day format: ms since midnight, less any
   * offset it carries), or NaN when the value does not match.
   */
  readonly parse: (text: string, start: number, end: number) => number;
}

/** The directives a pattern may use, for the error naming an unknown one. */
export const TIME_DIRECTIVES = '%Y %y %m %d %b %B %H %I %p %M %S %f %z %F (%Y-%m-%d) %T (%H:%M:%S) %%';

const ISO_EXPECTED = 'an ISO-8601 date or date-time (YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|±HH:MM])';
const EPOCH_EXPECTED =
  'epoch seconds (9-10 digits) or milliseconds (12-13 digits); other magnitudes need --csv-time-format epoch-s or epoch-ms';

/** Largest epoch ms a JavaScript Date holds. */
const MAX_MS = 8.64e15;

/**
 * The format of a date or date-time column (`timeFormat` of a mapping):
 * - `auto` (default): ISO-8601 date or date-time, or epoch seconds/ms told apart by the number
 *   of integer digits (9-10: seconds, 12-13: milliseconds; `20200102` is neither, so it is
 *   never taken for an epoch);
 * - `iso`: ISO-8601 only; `epoch`: epoch by magnitude only;
 * - `epoch-s`, `epoch-ms`: epoch in that unit, any magnitude (fractions allowed, truncated to ms);
 * - a pattern such as `%d/%m/%Y %H:%M` (directives in {@link TIME_DIRECTIVES}); without an
 *   hour it reads a date at UTC midnight.
 * Throws FeedOptionsError naming `key` for a format that cannot work.
 */
export function dateTimeFormat(spec: string, key = 'timeFormat'): TimeFormat {
  switch (spec) {
    case 'auto':
      return { spec, expected: `${ISO_EXPECTED}, or ${EPOCH_EXPECTED}`, parse: isoOrEpoch };
    case 'iso':
      return { spec, expected: ISO_EXPECTED, parse: parseIsoDateTime };
    case 'epoch':
      return { spec, expected: EPOCH_EXPECTED, parse: (t, s, e) => epochAt(t, s, e, 0) };
    case 'epoch-s':
      return { spec, expected: 'epoch seconds (a number)', parse: (t, s, e) => epochAt(t, s, e, 1000) };
    case 'epoch-ms':
      return { spec, expected: 'epoch milliseconds (a number)', parse: (t, s, e) => epochAt(t, s, e, 1) };
    default:
      return pattern(spec, key, 'date');
  }
}

/**
 * The format of a separate time-of-day column (`clockFormat` of a mapping): `auto` (default,
 * `HH:MM[:SS[.fff]]`) or a pattern of time directives only (`%H%M%S`, `%I:%M %p`).
 */
export function clockFormat(spec: string, key = 'clockFormat'): TimeFormat {
  if (spec === 'auto') return { spec, expected: 'a time of day HH:MM[:SS[.fff]]', parse: parseClockTime };
  return pattern(spec, key, 'clock');
}

function isoOrEpoch(text: string, start: number, end: number): number {
  const iso = parseIsoDateTime(text, start, end);
  return iso === iso ? iso : epochAt(text, start, end, 0);
}

/**
 * An epoch number at `text[start, end)` in ms: `unit` 1000 for seconds, 1 for ms, 0 to tell
 * them apart by the count of integer digits. Fractions past the millisecond are truncated.
 */
function epochAt(text: string, start: number, end: number, unit: number): number {
  let i = start;
  const negative = text.charCodeAt(i) === 45; /* - */
  if (negative) i++;
  let int = 0;
  let digits = 0;
  for (; i < end; i++) {
    const d = text.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) break;
    int = int * 10 + d;
    digits++;
  }
  let frac = 0; // the fraction in thousandths of the unit, truncated
  if (i < end && text.charCodeAt(i) === 46 /* . */) {
    i++;
    const first = i;
    for (let scale = 100; i < end; i++) {
      const d = text.charCodeAt(i) - 48;
      if (!(d >= 0 && d <= 9)) break;
      frac += d * scale;
      scale = scale === 1 ? 0 : scale / 10;
    }
    if (i === first) return NaN;
  }
  if (i !== end || digits === 0 || digits > 16) return NaN;
  let scale = unit;
  if (scale === 0) {
    if (digits === 9 || digits === 10) scale = 1000;
    else if (digits === 12 || digits === 13) scale = 1;
    else return NaN;
  }
  const ms = scale === 1000 ? int * 1000 + frac : int + Math.trunc(frac / 1000);
  if (ms > MAX_MS) return NaN;
  return negative ? -ms : ms;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const FULL_MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];

/** One step of a compiled pattern: a literal character code, or a directive letter. */
type Step = { readonly literal: number } | { readonly directive: string };

const DATE_DIRECTIVES = 'YymdbB';
const KNOWN = 'YymdbBHIpMSfz';

function compile(spec: string, key: string): Step[] {
  const expanded = spec.replaceAll('%F', '%Y-%m-%d').replaceAll('%T', '%H:%M:%S');
  const steps: Step[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < expanded.length; i++) {
    const c = expanded[i] as string;
    if (c !== '%') {
      steps.push({ literal: expanded.charCodeAt(i) });
      continue;
    }
    const d = expanded[++i];
    if (d === '%') {
      steps.push({ literal: 37 });
      continue;
    }
    if (d === undefined || !KNOWN.includes(d))
      throw new FeedOptionsError(
        `${key}: ${JSON.stringify(spec)} has an unknown directive ${d === undefined ? 'at its end' : `%${d}`}; expected auto, iso, epoch, epoch-s, epoch-ms or a pattern of ${TIME_DIRECTIVES}`,
      );
    const family = d === 'y' ? 'Y' : d === 'B' ? 'b' : d === 'b' ? 'm' : d;
    if (seen.has(family) || (family === 'b' && seen.has('m')) || (family === 'm' && seen.has('b')))
      throw new FeedOptionsError(`${key}: ${JSON.stringify(spec)} gives the same field twice (%${d})`);
    seen.add(family === 'b' ? 'm' : family);
    steps.push({ directive: d });
  }
  return steps;
}

/**
 * Compiles a strftime-like pattern. Numbers may drop their leading zero (`%m` reads `1` or
 * `01`); `%y` is 1969-2068 as in POSIX; `%I` needs `%p`; literal characters match themselves.
 */
function pattern(spec: string, key: string, role: 'date' | 'clock'): TimeFormat {
  if (!spec.includes('%'))
    throw new FeedOptionsError(
      `${key}: ${JSON.stringify(spec)} is no format; expected ${role === 'date' ? 'auto, iso, epoch, epoch-s, epoch-ms or ' : 'auto or '}a pattern of ${TIME_DIRECTIVES}`,
    );
  const steps = compile(spec, key);
  const has = (d: string) => steps.some((s) => 'directive' in s && d.includes(s.directive));
  if (role === 'date' && !(has('Yy') && has('mbB') && has('d')))
    throw new FeedOptionsError(
      `${key}: ${JSON.stringify(spec)} needs a year (%Y or %y), a month (%m or %b) and a day (%d)`,
    );
  if (role === 'clock' && (has(DATE_DIRECTIVES) || !has('HI')))
    throw new FeedOptionsError(
      `${key}: ${JSON.stringify(spec)} is for the time-of-day column: an hour (%H or %I) and no date fields`,
    );
  if (has('I') !== has('p')) throw new FeedOptionsError(`${key}: ${JSON.stringify(spec)}: %I and %p go together`);
  if (has('H') && has('I')) throw new FeedOptionsError(`${key}: ${JSON.stringify(spec)} has both %H and %I`);
  const expected = `a ${role === 'date' ? 'date' : 'time of day'} in the form ${spec}`;
  return { spec, expected, parse: (text, start, end) => parsePattern(steps, role, text, start, end) };
}

/** Reads 1..max digits at `text[i..end)`; the value, and where it stopped in `at.end`. */
function digits(text: string, i: number, end: number, min: number, max: number, at: { end: number }): number {
  let v = 0;
  let n = 0;
  for (; n < max && i + n < end; n++) {
    const d = text.charCodeAt(i + n) - 48;
    if (!(d >= 0 && d <= 9)) break;
    v = v * 10 + d;
  }
  at.end = i + n;
  return n < min ? -1 : v;
}

const scratch = { end: 0 };

function parsePattern(steps: readonly Step[], role: 'date' | 'clock', text: string, start: number, end: number) {
  let year = 1970;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let ms = 0;
  let offsetMin = 0;
  let pm = -1;
  let i = start;
  for (const step of steps) {
    if ('literal' in step) {
      if (i >= end || text.charCodeAt(i) !== step.literal) return NaN;
      i++;
      continue;
    }
    let v: number;
    switch (step.directive) {
      case 'Y':
        year = v = digits(text, i, end, 4, 4, scratch);
        break;
      case 'y':
        v = digits(text, i, end, 2, 2, scratch);
        year = v < 69 ? 2000 + v : 1900 + v;
        break;
      case 'm':
        month = v = digits(text, i, end, 1, 2, scratch);
        break;
      case 'd':
        day = v = digits(text, i, end, 1, 2, scratch);
        break;
      case 'H':
      case 'I':
        hour = v = digits(text, i, end, 1, 2, scratch);
        break;
      case 'M':
        minute = v = digits(text, i, end, 1, 2, scratch);
        break;
      case 'S':
        second = v = digits(text, i, end, 1, 2, scratch);
        break;
      case 'f': {
        v = digits(text, i, end, 1, 9, scratch);
        const n = scratch.end - i;
        ms = n <= 3 ? v * 10 ** (3 - n) : Math.trunc(v / 10 ** (n - 3));
        break;
      }
      case 'b':
      case 'B':
        month = v = monthName(text, i, end, scratch);
        break;
      case 'p':
        pm = v = ampm(text, i, end, scratch);
        break;
      default: // 'z'
        offsetMin = offset(text, i, end, scratch);
        v = Number.isNaN(offsetMin) ? -1 : 0;
    }
    if (v < 0) return NaN;
    i = scratch.end;
  }
  if (i !== end) return NaN;
  if (pm >= 0) {
    if (hour < 1 || hour > 12) return NaN;
    hour = (hour % 12) + (pm === 1 ? 12 : 0);
  }
  if (hour > 23 || minute > 59 || second > 59) return NaN;
  const clock = ((hour * 60 + minute) * 60 + second) * 1000 + ms - offsetMin * 60_000;
  if (role === 'clock') return clock;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return NaN;
  return daysFromCivil(year, month, day) * MS_PER_DAY + clock;
}

function monthName(text: string, i: number, end: number, at: { end: number }): number {
  let j = i;
  while (j < end && ((text.charCodeAt(j) | 32) - 97) >>> 0 < 26) j++;
  at.end = j;
  const word = text.slice(i, j).toLowerCase();
  const n = word.length === 3 ? MONTHS.indexOf(word) : FULL_MONTHS.indexOf(word);
  return n < 0 ? -1 : n + 1;
}

function ampm(text: string, i: number, end: number, at: { end: number }): number {
  if (end - i < 2 || (text.charCodeAt(i + 1) | 32) !== 109 /* m */) return -1;
  at.end = i + 2;
  const c = text.charCodeAt(i) | 32;
  return c === 97 /* a */ ? 0 : c === 112 /* p */ ? 1 : -1;
}

/** `Z`, `±HH`, `±HHMM` or `±HH:MM` in minutes east of UTC, or NaN. */
function offset(text: string, i: number, end: number, at: { end: number }): number {
  const c = text.charCodeAt(i);
  if (c === 90 /* Z */) {
    at.end = i + 1;
    return 0;
  }
  if (c !== 43 && c !== 45) return NaN;
  const hh = digits(text, i + 1, end, 2, 2, at);
  if (hh < 0 || hh > 23) return NaN;
  let j = at.end;
  if (text.charCodeAt(j) === 58 /* : */) j++;
  const mm = j < end ? digits(text, j, end, 2, 2, at) : 0;
  if (mm < 0 || mm > 59) return NaN;
  if (j >= end) at.end = j;
  if (text.charCodeAt(at.end - 1) === 58) return NaN; // a colon with no minutes
  const minutes = hh * 60 + mm;
  return c === 45 ? -minutes : minutes;
}
