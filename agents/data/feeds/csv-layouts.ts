/**
 * The CSV header layouts the CSV feed understands, and detection from a header row.
 * Matching ignores case, surrounding spaces and double quotes around column names.
 */

/**
 * What a column holds. Prices and volume double as their slot in the row parser's output
 * array (slot 0 is the timestamp), so the hot loop needs no lookup.
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
} as const;
export type Column = (typeof Column)[keyof typeof Column];

/** Which columns hold what, for one accepted header. */
export interface CsvLayout {
  readonly id: 'yahoo-daily' | 'intraday' | 'datetime';
  /** The header as documented, for error messages. */
  readonly header: string;
  /** One entry per column of the file's header, in order. */
  readonly columns: readonly Column[];
  /** Display names of the columns, for error messages. */
  readonly names: readonly string[];
  /** Bar length when the layout implies one (daily); undefined when not certain. */
  readonly intervalMs: number | undefined;
}

interface LayoutSpec {
  readonly id: CsvLayout['id'];
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

/** The accepted headers, for the unknown-header error. */
export const ACCEPTED_HEADERS: readonly string[] = SPECS.map(
  (s) => s.names.join(',') + (s.optionalLast ? `[,${s.optionalLast}]` : ''),
);

const normalise = (cell: string) =>
  cell
    .trim()
    .replace(/^"(.*)"$/, '$1')
    .trim()
    .toLowerCase();

/** The layout whose header equals `headerLine`, or undefined when none does. */
export function detectLayout(headerLine: string): CsvLayout | undefined {
  const cells = headerLine.split(',').map(normalise);
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
    };
  }
  return undefined;
}
