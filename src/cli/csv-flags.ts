import { checkCsvMapping, CSV_ROLES, mergeCsvMappings, type CsvMapping } from '../../agents/data/index.js';

/** The summary lines of skipped rows, re-exported so the backtest command needs one import for its CSV part. */
export { skippedLines } from '../app/backtest/index.js';

/**
 * The flags that say how to read a CSV of bars whose header sextant does not recognise by
 * itself (sextant backtest): column mapping, separator, time formats, or a mapping file.
 */
export const CSV_OPTIONS = {
  'csv-map': { type: 'string' },
  'csv-columns': { type: 'string' },
  'csv-separator': { type: 'string' },
  'csv-time-format': { type: 'string' },
  'csv-clock-format': { type: 'string' },
  'csv-decimal': { type: 'string' },
  'csv-no-header': { type: 'boolean', default: false },
} as const;

/** Help lines for {@link CSV_OPTIONS}, in the layout of `sextant backtest --help`. */
export const CSV_HELP = `  --csv-columns <map>    Where the values are, for other CSV headers: role=column pairs, a column
                         by 0-based index or header name, e.g. datetime=0,open=1,high=2,low=3,
                         close=4,volume=-1 (-1: no volume column, bars get volume 0) or
                         date=Day,time=Hour,close=Last; roles datetime (or date), time, open, high,
                         low, close, volume; columns not mapped are ignored
  --csv-time-format <f>  The date/time column: auto (ISO-8601, or epoch seconds/ms by their
                         digits), iso, epoch-s, epoch-ms, or a pattern such as "%d/%m/%Y %H:%M"
                         (%Y %y %m %d %b %H %I %p %M %S %f %z); UTC unless the value has an offset
  --csv-clock-format <f> A separate time-of-day column: auto (HH:MM[:SS]) or a pattern (%H%M%S)
  --csv-separator <s>    , ; tab or | (default: detected from the header line)
  --csv-decimal <,>      Prices written with a decimal comma (10,5), in a ; or tab file
  --csv-no-header        The file has no header row (map every column by index)
  --csv-map <file>       The same as a YAML or JSON file: separator, header, columns {...},
                         timeFormat, clockFormat, decimal (the flags above win over it)`;

export interface CsvFlagValues {
  readonly 'csv-map'?: string | undefined;
  readonly 'csv-columns'?: string | undefined;
  readonly 'csv-separator'?: string | undefined;
  readonly 'csv-time-format'?: string | undefined;
  readonly 'csv-clock-format'?: string | undefined;
  readonly 'csv-decimal'?: string | undefined;
  readonly 'csv-no-header'?: boolean | undefined;
}

/**
 * The `csv` option of runBacktest from the flags: `{ csv: { mapFile, mapping } }`, or `{}` when
 * no CSV flag is given. Throws an Error naming the flag for a value that cannot work.
 */
export function csvInputOf(values: CsvFlagValues): { csv?: { mapFile?: string; mapping?: CsvMapping } } {
  let mapping: CsvMapping | undefined;
  const add = (raw: unknown, flag: string) => (mapping = mergeCsvMappings(mapping, checkCsvMapping(raw, flag)));
  if (values['csv-columns'] !== undefined) add({ columns: parseColumns(values['csv-columns']) }, '--csv-columns');
  if (values['csv-separator'] !== undefined) add({ separator: values['csv-separator'] }, '--csv-separator');
  if (values['csv-time-format'] !== undefined) add({ timeFormat: values['csv-time-format'] }, '--csv-time-format');
  if (values['csv-clock-format'] !== undefined) add({ clockFormat: values['csv-clock-format'] }, '--csv-clock-format');
  if (values['csv-decimal'] !== undefined) add({ decimal: values['csv-decimal'] }, '--csv-decimal');
  if (values['csv-no-header']) add({ header: false }, '--csv-no-header');
  // names need a header: checked once all flags are in
  if (mapping?.header === false) checkCsvMapping({ header: false, columns: mapping.columns }, '--csv-columns');
  const mapFile = values['csv-map'];
  if (mapping === undefined && mapFile === undefined) return {};
  return { csv: { ...(mapFile !== undefined ? { mapFile } : {}), ...(mapping ? { mapping } : {}) } };
}

/** `datetime=0,open=Open,volume=-1` as a columns object; a role may appear once. */
function parseColumns(text: string): Record<string, number | string> {
  const columns: Record<string, number | string> = {};
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    const role = pair.slice(0, eq).trim().toLowerCase();
    const ref = pair.slice(eq + 1).trim();
    if (eq < 1 || ref === '')
      throw new Error(
        `--csv-columns takes role=column pairs separated by commas, e.g. datetime=0,open=1; got "${pair}"`,
      );
    if (!(CSV_ROLES as readonly string[]).includes(role))
      throw new Error(`--csv-columns: unknown role "${role}"; expected ${CSV_ROLES.join(', ')}`);
    if (role in columns) throw new Error(`--csv-columns: ${role} is given twice`);
    columns[role] = /^-?\d+$/.test(ref) ? Number(ref) : ref;
  }
  return columns;
}
