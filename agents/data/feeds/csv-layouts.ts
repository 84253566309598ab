/**
 * The CSV header layouts the CSV feed understands, and detection from a header row.
 * Matching ignores case, surrounding spaces and double quotes around column names.
 */
import type { TimeFormat } from './csv-time-format.js';

/**
 * What a column holds. Prices and volume double as their slot in the row parser's output
 * array (slot 0 is the timestamp), so the hot loop needs no lookup. `date`, `time` and
 * `datetime` are ISO-8601 (the fixed layouts' columns, parsed inline); `stamp` and `clock` are
 * a date(-time) and a time of day in the layout's {@link TimeFormat}s.
 */
export const Column = {
  open: 1,
  high: 2,
  low: 3,
  close: 4,
  volume: 5,
  date: 6,
  time: 7,
  datetime: 8,
  ignored: 9,
  stamp: 10,
  clock: 11,
} as const;
export type Column = (typeof Column)[keyof typeof Column];

/** Which columns hold what, for one accepted header (or one mapping). */
export interface CsvLayout {
  /** A fixed layout, or `mapped`: detected by column names in any order, or mapped explicitly. */
  readonly id: 'yahoo-daily' | 'intraday' | 'datetime' | 'mapped';
  /** The header as documented (or as found, for `mapped`), for error messages. */
  readonly header: string;
  /** One entry per column of the file, in order. */
  readonly columns: readonly Column[];
  /** Display names of the columns, for error messages. */
  readonly names: readonly string[];
  /** Bar length when the layout implies one (daily); undefined when not certain. */
  readonly intervalMs: number | undefined;
  /** Character code of the field separator. */
  readonly separator: number;
  /** False when the file has no header row: data starts on the first line. */
  readonly headerRow: boolean;
  /** True when numbers are written with a decimal comma (`10,5`; the separator is then not `,`). */
  readonly decimalComma?: boolean;
  /** The format of the `stamp` column, when there is one. */
  readonly stamp?: TimeFormat | undefined;
  /** The format of the `clock` column, when there is one. */
  readonly clock?: TimeFormat | undefined;
}

interface LayoutSpec {
  readonly id: 'yahoo-daily' | 'intraday' | 'datetime';
  readonly names: readonly string[];
  readonly optionalLast?: string;
  readonly intervalMs?: number;
}

const SPECS: readonly LayoutSpec[] = [
  { id: 'yahoo-daily', names: ['Date', 'Open', 'High', 'Low', 'Close', 'Adj Close', 'Volume'], intervalMs: 86_400_000 },
  { id: 'intraday', names: ['Date', 'Time', 'Open', 'High', 'Low', 'Close', 'Volume'], optionalLast: 'OpenInterest' },
  { id: 'datetime', names: ['Datetime', 'Open', 'High', 'Low', 'Close', 'Volume'], optionalLast: 'OpenInterest' },
];

const ROLES: Readonly<Record<string, Column>> = {
  Date: Column.date,
  Time: Column.time,
  Datetime: Column.datetime,
  Open: Column.open,
  High: Column.high,
  Low: Column.low,
  Close: Column.close,
  Volume: Column.volume,
};

/** The accepted fixed headers, for the unknown-header error. */
export const ACCEPTED_HEADERS: readonly string[] = SPECS.map(
  (s) => s.names.join(',') + (s.optionalLast ? `[,${s.optionalLast}]` : ''),
);

/** A cell without surrounding spaces and double quotes. */
export const unquote = (cell: string) =>
  cell
    .trim()
    .replace(/^"(.*)"$/, '$1')
    .trim();

const normalise = (cell: string) => unquote(cell).toLowerCase();

/**
 * The separator of a line: a tab if it has one, else `;` if it has one, else `,`. Headers hold
 * no numbers, so a `;` file's decimal commas never mislead this on a header row.
 */
export function detectSeparator(line: string): string {
  return line.includes('\t') ? '\t' : line.includes(';') ? ';' : ',';
}

/** The fixed layout whose header equals `headerLine` (split at `separator`), or undefined. */
export function detectLayout(headerLine: string, separator = ','): CsvLayout | undefined {
  const cells = headerLine.split(separator).map(normalise);
  for (const [n, spec] of SPECS.entries()) {
    const names =
      spec.optionalLast !== undefined && cells.length === spec.names.length + 1
        ? [...spec.names, spec.optionalLast]
        : spec.names;
    if (cells.length !== names.length || !names.every((name, i) => cells[i] === name.toLowerCase())) continue;
    return {
      id: spec.id,
      header: ACCEPTED_HEADERS[n] as string,
      columns: names.map((name) => ROLES[name] ?? Column.ignored),
      names,
      intervalMs: spec.intervalMs,
      separator: separator.charCodeAt(0),
      headerRow: true,
    };
  }
  return undefined;
}
