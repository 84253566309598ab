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
  const last = columns.length - 1;
  let at = start;
  let time = 0;
  for (let k = 0; k <= last; k++) {
    const column = columns[k] as Column;
    let stop: number;
    if (column <= Column.close) {
      const value = parseDecimalField(text, at, end);
      stop = decimalField.end;
      if (!(value > 0 && value < Infinity))
        return `${layout.names[k]} ${quote(text, at, stop)} is not a positive number${missing(text, at, stop)}`;
      out[column] = value;
    } else if (column === Column.volume) {
      const value = parseDecimalField(text, at, end);
      stop = decimalField.end;
      if (!(value >= 0 && value < Infinity))
        return `${layout.names[k]} ${quote(text, at, stop)} is not a non-negative number${missing(text, at, stop)}`;
      out[column] = value;
    } else {
      stop = nextComma(text, at, end);
      if (column === Column.date) {
        const day = parseIsoDate(text, at, stop);
        if (Number.isNaN(day)) return `Date ${quote(text, at, stop)} is not a date (expected YYYY-MM-DD)`;
        time += day;
      } else if (column === Column.time) {
        const clock = parseClockTime(text, at, stop);
        if (Number.isNaN(clock)) return `Time ${quote(text, at, stop)} is not a time of day (expected HH:MM[:SS])`;
        time += clock;
      } else if (column === Column.datetime) {
        time = parseIsoDateTime(text, at, stop);
        if (Number.isNaN(time))
          return `Datetime ${quote(text, at, stop)} is not an ISO-8601 date-time (expected YYYY-MM-DDTHH:MM:SS[.fff][Z])`;
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

function nextComma(text: string, from: number, end: number): number {
  let i = from;
  while (i < end && text.charCodeAt(i) !== 44 /* , */) i++;
  return i;
}

function columnCount(text: string, start: number, end: number, layout: CsvLayout): string {
  let found = 1;
  for (let i = start; i < end; i++) if (text.charCodeAt(i) === 44) found++;
  return `expected ${layout.columns.length} columns (${layout.names.join(',')}), found ${found}`;
}

const quote = (text: string, start: number, stop: number) => JSON.stringify(text.slice(start, stop));

function missing(text: string, start: number, stop: number): string {
  const raw = text.slice(start, stop).trim().toLowerCase();
  return raw === 'null' || raw === '' ? ' (the value is missing; feeds never fill one in)' : '';
}
