/**
 * Timestamp parsing for feed files, straight from a slice of a larger string. A time without
 * an offset is taken as UTC (never the host's zone, which `Date.parse` would use for
 * date-times), so a backtest reads the same instants on every machine.
 */

export const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** Days in `month` (1-12) of `year`, leap years included. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** The value of `count` decimal digits at `at`, or -1 if any of them is not a digit. */
function digitsAt(text: string, at: number, count: number): number {
  let v = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) return -1; // also catches NaN past the end of the string
    v = v * 10 + d;
  }
  return v;
}

/** Epoch ms of `YYYY-MM-DD` at `text[start..]` (UTC midnight), or NaN; reads exactly 10 chars. */
function dateAt(text: string, start: number): number {
  const year = digitsAt(text, start, 4);
  const month = digitsAt(text, start + 5, 2);
  const day = digitsAt(text, start + 8, 2);
  if (
    year < 0 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    text.charCodeAt(start + 4) !== 45 ||
    text.charCodeAt(start + 7) !== 45
  )
    return NaN;
  if (day > daysInMonth(year, month)) return NaN;
  return daysFromCivil(year, month, day) * MS_PER_DAY;
}

/**
 * Parses `HH:MM[:SS[.fff...]]` at `text[start, stop)`; returns ms since midnight and the
 * index just after the time, via `out`. Digits past milliseconds are truncated.
 */
function clockAt(text: string, start: number, stop: number, out: { end: number }): number {
  if (stop - start < 5 || text.charCodeAt(start + 2) !== 58) return NaN;
  const hh = digitsAt(text, start, 2);
  const mm = digitsAt(text, start + 3, 2);
  if (hh < 0 || hh > 23 || mm < 0 || mm > 59) return NaN;
  let ms = (hh * 60 + mm) * 60_000;
  let i = start + 5;
  if (i < stop && text.charCodeAt(i) === 58 /* : */) {
    const ss = stop - i >= 3 ? digitsAt(text, i + 1, 2) : -1;
    if (ss < 0 || ss > 59) return NaN;
    ms += ss * 1000;
    i += 3;
    if (i < stop && text.charCodeAt(i) === 46 /* . */) {
      i++;
      const first = i;
      let scale = 100;
      for (; i < stop; i++) {
        const d = text.charCodeAt(i) - 48;
        if (!(d >= 0 && d <= 9)) break;
        ms += d * scale;
        scale = scale === 1 ? 0 : scale / 10;
      }
      if (i === first) return NaN;
    }
  }
  out.end = i;
  return ms;
}

const scratch = { end: 0 };

/** Epoch ms (UTC midnight) of exactly `YYYY-MM-DD` in `text[start, end)`, or NaN. */
export function parseIsoDate(text: string, start: number, end: number): number {
  return end - start === 10 ? dateAt(text, start) : NaN;
}

/** Milliseconds since midnight of exactly `HH:MM[:SS[.fff]]` in `text[start, end)`, or NaN. */
export function parseClockTime(text: string, start: number, end: number): number {
  const ms = clockAt(text, start, end, scratch);
  return scratch.end === end ? ms : NaN;
}

/**
 * Epoch ms of an ISO-8601 date or date-time in `text[start, end)`, or NaN:
 * `YYYY-MM-DD`, or `YYYY-MM-DD(T| )HH:MM[:SS[.fff]]` followed by nothing (UTC), `Z`, or an
 * offset `±HH:MM` / `±HHMM`.
 */
export function parseIsoDateTime(text: string, start: number, end: number): number {
  if (end - start < 10) return NaN;
  const day = dateAt(text, start);
  if (end - start === 10) return day;
  if (Number.isNaN(day)) return NaN;
  const sep = text.charCodeAt(start + 10);
  if (sep !== 84 /* T */ && sep !== 32 /* space */) return NaN;
  const clock = clockAt(text, start + 11, end, scratch);
  if (Number.isNaN(clock)) return NaN;
  const i = scratch.end;
  if (i === end) return day + clock;
  const c = text.charCodeAt(i);
  if (c === 90 /* Z */ && i + 1 === end) return day + clock;
  if (c !== 43 /* + */ && c !== 45 /* - */) return NaN;
  const rest = end - i - 1;
  const colon = rest === 5 && text.charCodeAt(i + 3) === 58;
  if (!colon && rest !== 4) return NaN;
  const oh = digitsAt(text, i + 1, 2);
  const om = digitsAt(text, colon ? i + 4 : i + 3, 2);
  if (oh < 0 || oh > 23 || om < 0 || om > 59) return NaN;
  const offset = (oh * 60 + om) * 60_000;
  return day + clock + (c === 43 ? -offset : offset);
}
