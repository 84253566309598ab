import { Column, type CsvLayout } from './csv-layouts.js';
import { decimalField, parseDecimalField } from './parse-decimal.js';
import { parseClockTime, parseIsoDate, parseIsoDateTime } from './parse-utc-time.js';

/** Slots of the values {@link parseCsvRow} writes into its output array. */
export const ROW = {
  time: 0,
  open: Column.open,
  high: Column.high,
  low: Column.low,
  close: Column.close,
  volume: Column.volume,
} as const;

/**
 * Parses and checks one data row, `text[start, end)` without its line break, into `out`
 * (indexed by {@link ROW}) in a single pass over its characters. Returns undefined when the
 * row is good, otherwise what is wrong with it, as a sentence fragment. A good row allocates
 * nothing.
 *
 * Rules: the header's column count; a parseable timestamp; Open/High/Low/Close positive
 * finite numbers; Volume a finite number >= 0; High >= Low. Open and Close are NOT required
 * to lie inside [Low, High]: the shared files never break that, but Yahoo exports of other
 * symbols do by a rounding hair after split adjustments, and rejecting those rows would lose
 * real bars (the reference backtest fills at Open). A missing value is never filled in.
 */
export function parseCsvRow(
  text: string,
  start: number,
  end: number,
  layout: CsvLayout,
  out: Float64Array,
): string | undefined {
  const columns = layout.columns;
  const sep = layout.separator;
  const last = columns.length - 1;
  let at = start;
  let time = 0;
  for (let k = 0; k <= last; k++) {
    const column = columns[k] as Column;
    let stop: number;
    if (column <= Column.close) {
      let value = parseDecimalField(text, at, end, sep);
      stop = decimalField.end;
      if (!(value > 0 && value < Infinity)) {
        value = layout.decimalComma ? parseCommaDecimal(text, at, stop) : NaN;
        if (!(value > 0 && value < Infinity)) return notNumber(text, at, stop, layout, k, 'a positive');
      }
      out[column] = value;
    } else if (column === Column.volume) {
      let value = parseDecimalField(text, at, end, sep);
      stop = decimalField.end;
      if (!(value >= 0 && value < Infinity)) {
        value = layout.decimalComma ? parseCommaDecimal(text, at, stop) : NaN;
        if (!(value >= 0 && value < Infinity)) return notNumber(text, at, stop, layout, k, 'a non-negative');
      }
      out[column] = value;
    } else {
      stop = nextSeparator(text, at, end, sep);
      if (column === Column.date) {
        const day = parseIsoDate(text, at, stop);
        if (Number.isNaN(day)) return `${layout.names[k]} ${quote(text, at, stop)} is not a date (expected YYYY-MM-DD)`;
        time += day;
      } else if (column === Column.time) {
        const clock = parseClockTime(text, at, stop);
        if (Number.isNaN(clock))
          return `${layout.names[k]} ${quote(text, at, stop)} is not a time of day (expected HH:MM[:SS])`;
        time += clock;
      } else if (column === Column.datetime) {
        time = parseIsoDateTime(text, at, stop);
        if (Number.isNaN(time))
          return `Datetime ${quote(text, at, stop)} is not an ISO-8601 date-time (expected YYYY-MM-DDTHH:MM:SS[.fff][Z])`;
      } else if (column !== Column.ignored) {
        const value = formattedTime(text, at, stop, layout, column);
        if (Number.isNaN(value)) return notTime(text, at, stop, layout, k, column);
        time += value;
      }
    }
    if (stop === end && k < last) return columnCount(text, start, end, layout);
    at = stop + 1;
  }
  if (at <= end) return columnCount(text, start, end, layout);
  out[ROW.time] = time;
  if ((out[ROW.high] as number) < (out[ROW.low] as number)) return `High ${out[ROW.high]} is below Low ${out[ROW.low]}`;
  return undefined;
}

function nextSeparator(text: string, from: number, end: number, sep: number): number {
  let i = from;
  while (i < end && text.charCodeAt(i) !== sep) i++;
  return i;
}

/**
 * A `stamp` or `clock` field in the layout's format, without surrounding spaces and a pair of
 * double quotes; NaN when it does not match. Kept out of parseCsvRow, whose size decides what
 * the JIT inlines into the fixed layouts' hot loop.
 */
function formattedTime(text: string, at: number, stop: number, layout: CsvLayout, column: Column): number {
  while (at < stop && text.charCodeAt(at) === 32) at++;
  while (stop > at && text.charCodeAt(stop - 1) === 32) stop--;
  if (stop - at >= 2 && text.charCodeAt(at) === 34 /* " */ && text.charCodeAt(stop - 1) === 34) {
    at++;
    stop--;
  }
  return (column === Column.stamp ? layout.stamp : layout.clock)!.parse(text, at, stop);
}

function notTime(text: string, at: number, stop: number, layout: CsvLayout, k: number, column: Column): string {
  const format = (column === Column.stamp ? layout.stamp : layout.clock)!;
  return `${layout.names[k]} ${quote(text, at, stop)} is not ${format.expected}${hint(text, at, stop, layout)}`;
}

function notNumber(text: string, at: number, stop: number, layout: CsvLayout, k: number, what: string): string {
  return `${layout.names[k]} ${quote(text, at, stop)} is not ${what} number${hint(text, at, stop, layout)}`;
}

function columnCount(text: string, start: number, end: number, layout: CsvLayout): string {
  let found = 1;
  for (let i = start; i < end; i++) if (text.charCodeAt(i) === layout.separator) found++;
  const sep = String.fromCharCode(layout.separator);
  return `expected ${layout.columns.length} columns (${layout.names.join(sep)}), found ${found}`;
}

const quote = (text: string, start: number, stop: number) => JSON.stringify(text.slice(start, stop));

/** Why a value may have failed, when a likely reason shows: a missing value, a decimal comma. */
function hint(text: string, start: number, stop: number, layout: CsvLayout): string {
  const raw = text.slice(start, stop).trim().toLowerCase();
  if (raw === 'null' || raw === '' || raw === '""') return ' (the value is missing; feeds never fill one in)';
  if (!layout.decimalComma && layout.separator !== 44 && /^"?[-+]?\d*,\d+"?$/.test(raw))
    return ' (a decimal comma? set the decimal separator: --csv-decimal , or decimal: "," in the mapping)';
  return '';
}

const COMMA_NUMBER = /^[+-]?(?:\d+,?\d*|,\d+)$/;

/** A decimal with a comma for its point (`10,5`), for files that say so; NaN for anything else. */
function parseCommaDecimal(text: string, start: number, stop: number): number {
  let s = text.slice(start, stop).trim();
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) s = s.slice(1, -1).trim();
  return COMMA_NUMBER.test(s) ? Number(s.replace(',', '.')) : NaN;
}
