import { Column, detectLayout, detectSeparator, unquote, type CsvLayout } from './csv-layouts.js';
import { describesColumns, type CsvMapping, type CsvRole } from './csv-mapping.js';
import { clockFormat, dateTimeFormat } from './csv-time-format.js';

/**
 * Finds the layout of a CSV file from its first line and an optional mapping: a fixed layout
 * when the header is one of `ACCEPTED_HEADERS` (and the mapping names no columns), else
 * the columns found by name in any order and case (`date`, `time`, `datetime`, `timestamp`,
 * `open`, `high`, `low`, `close`, `volume`/`vol`; `adj close` and `openinterest` ignored), with
 * the mapping's columns and formats taking precedence. Returns what is wrong instead when no
 * layout fits: a sentence fragment naming the header, what is missing and how to map it.
 */
export function resolveCsvLayout(firstLine: string, mapping?: CsvMapping): CsvLayout | { problem: string } {
  const separator = mapping?.separator ?? detectSeparator(firstLine);
  const decimalComma = mapping?.decimal === ',';
  if (decimalComma && separator === ',')
    return { problem: `the separator is "," and so is the decimal point; name the separator (--csv-separator ';')` };
  if (!describesColumns(mapping)) {
    const fixed = detectLayout(firstLine, separator);
    if (fixed) return decimalComma ? { ...fixed, decimalComma } : fixed;
  }
  const headerRow = mapping?.header !== false;
  const cells = firstLine.split(separator).map(unquote);
  const result = mapColumns(cells, headerRow, mapping);
  if ('problem' in result) {
    const shown = JSON.stringify(firstLine.length > 200 ? `${firstLine.slice(0, 200)}...` : firstLine);
    const what = headerRow ? `unknown header ${shown}` : `cannot map the columns of ${shown}`;
    return { problem: `${what}: ${result.problem}; ${ACCEPTED}; ${HINT}` };
  }
  const { roles } = result;
  const columns: Column[] = cells.map(() => Column.ignored);
  const stampFormat = mapping?.timeFormat;
  const stampKind = stampFormat === undefined && roles.clock !== undefined ? Column.date : Column.stamp;
  columns[roles.stamp] = stampKind;
  if (roles.clock !== undefined) columns[roles.clock] = mapping?.clockFormat === undefined ? Column.time : Column.clock;
  for (const role of ['open', 'high', 'low', 'close', 'volume'] as const) {
    const at = roles[role];
    if (at !== undefined) columns[at] = Column[role];
  }
  const label: Record<number, string> = { [roles.stamp]: roles.clock !== undefined ? 'date' : 'time' };
  if (roles.clock !== undefined) label[roles.clock] = 'time of day';
  for (const role of ['open', 'high', 'low', 'close', 'volume'] as const)
    if (roles[role] !== undefined) label[roles[role]] = role;
  const names = cells.map((cell, k) =>
    headerRow && cell !== '' ? cell : `column ${k}${label[k] ? ` (${label[k]})` : ''}`,
  );
  return {
    id: 'mapped',
    header: headerRow ? cells.join(separator) : `no header row, ${cells.length} columns`,
    columns,
    names,
    intervalMs: undefined,
    separator: separator.charCodeAt(0),
    headerRow,
    decimalComma,
    ...(stampKind === Column.stamp ? { stamp: dateTimeFormat(stampFormat ?? 'auto') } : {}),
    ...(columns.includes(Column.clock) ? { clock: clockFormat(mapping!.clockFormat!) } : {}),
  };
}

const ACCEPTED =
  'accepted: the columns date (or datetime, timestamp or time; or date and time), open, high, low, close and volume by name in any order and case (adj close and openinterest are ignored), separated by , ; or tab';
const HINT =
  'other files need a mapping: sextant backtest --csv-columns datetime=0,open=1,high=2,low=3,close=4,volume=5 (0-based indexes or header names; volume=-1 for none) --csv-time-format <auto|epoch-s|epoch-ms|%d/%m/%Y %H:%M> --csv-separator <,|;|tab>, or a mapping file (--csv-map; DATA_CSV_MAP for sextant start)';

type Field = 'stamp' | 'clock' | 'open' | 'high' | 'low' | 'close' | 'volume';
type Named = 'date' | 'time' | 'datetime' | 'open' | 'high' | 'low' | 'close' | 'volume' | 'ignored';

/** Column names read without a mapping, compared lower-case without spaces, `_`, `-`, `.` or `<>`. */
const NAMES: Readonly<Record<string, Named>> = {
  date: 'date',
  time: 'time',
  datetime: 'datetime',
  timestamp: 'datetime',
  open: 'open',
  high: 'high',
  low: 'low',
  close: 'close',
  volume: 'volume',
  vol: 'volume',
  adjclose: 'ignored',
  adjustedclose: 'ignored',
  openinterest: 'ignored',
};

const key = (cell: string) => cell.toLowerCase().replace(/[\s_.<>-]/g, '');

interface Mapped {
  readonly roles: { stamp: number; clock?: number } & Partial<Record<Exclude<Field, 'stamp' | 'clock'>, number>>;
}

function mapColumns(
  cells: readonly string[],
  headerRow: boolean,
  mapping: CsvMapping | undefined,
): Mapped | { problem: string } {
  const given = mapping?.columns ?? {};
  const explicit = Object.keys(given).length > 0;
  const byName = new Map<Named, number[]>();
  const unknown: string[] = [];
  if (headerRow)
    cells.forEach((cell, k) => {
      const named = NAMES[key(cell)];
      if (named === undefined) unknown.push(JSON.stringify(cell));
      else byName.set(named, [...(byName.get(named) ?? []), k]);
    });
  const problems: string[] = [];
  const missing: string[] = [];
  /** A given column reference as an index (-1: absent), or undefined after recording a problem. */
  const resolve = (role: CsvRole, ref: number | string): number | undefined => {
    if (typeof ref === 'number') {
      if (ref < cells.length) return ref;
      problems.push(`${role}=${ref} is past the last column (${cells.length} columns, numbered from 0)`);
      return undefined;
    }
    const k = cells.findIndex((c) => key(c) === key(ref));
    if (k >= 0) return k;
    problems.push(`${role}=${JSON.stringify(ref)} names no column of the header`);
    return undefined;
  };
  const header = (named: Named): number | undefined => {
    const at = byName.get(named);
    if (at && at.length > 1) problems.push(`${at.length} columns are called ${named}; map one with ${named}=<index>`);
    return at?.[0];
  };

  const roles: Partial<Record<Field, number>> = {};
  for (const role of ['open', 'high', 'low', 'close', 'volume'] as const) {
    const ref = given[role];
    const at = ref !== undefined ? resolve(role, ref) : header(role);
    if (at !== undefined && at >= 0) roles[role] = at;
    else if (at === undefined && ref === undefined) missing.push(role);
  }

  const stampRef = given.datetime ?? given.date;
  const stampRole: CsvRole = given.datetime !== undefined ? 'datetime' : 'date';
  const timeRef = given.time;
  if (stampRef !== undefined) {
    const at = resolve(stampRole, stampRef);
    if (at !== undefined) roles.stamp = at;
    const clock = timeRef !== undefined ? resolve('time', timeRef) : header('time');
    if (clock !== undefined && clock >= 0 && clock !== at) roles.clock = clock;
  } else {
    const datetime = header('datetime');
    const date = header('date');
    if (datetime !== undefined && date !== undefined)
      problems.push(
        `both ${JSON.stringify(cells[date])} and ${JSON.stringify(cells[datetime])} could be the time; map one with datetime=<index|name>`,
      );
    const day = datetime ?? date;
    const clock = timeRef !== undefined ? resolve('time', timeRef) : header('time');
    const hasClock = clock !== undefined && clock >= 0;
    if (day !== undefined) {
      roles.stamp = day;
      // a time column is the time of day next to a date column (or when mapped explicitly)
      if (hasClock && (datetime === undefined || timeRef !== undefined)) roles.clock = clock;
    } else if (hasClock) {
      roles.stamp = clock; // a lone time column is the timestamp itself (epoch or date-time)
    } else {
      missing.unshift('the time (date, datetime, timestamp or time)');
    }
  }
  if (missing.length > 0)
    problems.unshift(
      `no column for ${missing.join(', ')}${missing.includes('volume') ? ' (volume=-1 when the file has none: bars get volume 0)' : ''}`,
    );
  if (!explicit && unknown.length > 0)
    problems.push(
      `unknown column${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (with --csv-columns, columns not mapped are ignored)`,
    );
  const used = new Map<number, string>();
  for (const [field, at] of Object.entries(roles)) {
    const other = used.get(at);
    if (other !== undefined) problems.push(`column ${at} is mapped to both ${other} and ${field}`);
    used.set(at, field);
  }
  if (problems.length > 0) return { problem: problems.join('; ') };
  return { roles: roles as Mapped['roles'] };
}
