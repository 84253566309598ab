import { z } from 'zod';
import { clockFormat, dateTimeFormat } from './csv-time-format.js';
import { FeedOptionsError } from './feed.js';
import { parseYamlText } from './yaml-text.js';

/**
 * An explicit description of a CSV file of bars, for files whose header the feed does not
 * recognise by itself (backtrader's GenericCSVData in spirit: `dtformat`, `tmformat` and
 * column indexes, -1 for an absent volume). Every field is optional: what is not given is
 * detected from the header.
 */
export interface CsvMapping {
  /** The field separator: `,` `;` `\t` `|` (or comma, semicolon, tab, pipe). Default: detected from the first line. */
  readonly separator?: string;
  /** False when the file has no header row (then every column must be mapped by index). Default true. */
  readonly header?: boolean;
  /**
   * Where each value is: a 0-based column index, a header name (any case), or -1 for `time` and
   * `volume` when the file has none (bars then have volume 0). `datetime` (or its alias `date`)
   * is the date or date-time column; `time` is a separate time-of-day column when a date column
   * is named too, and otherwise the timestamp itself. Columns not mapped are ignored.
   */
  readonly columns?: Readonly<Partial<Record<CsvRole, number | string>>>;
  /** Format of the date/date-time column: auto (default), iso, epoch, epoch-s, epoch-ms or a %-pattern. */
  readonly timeFormat?: string;
  /** Format of the time-of-day column: auto (default, HH:MM[:SS[.fff]]) or a %-pattern. */
  readonly clockFormat?: string;
  /** The decimal point of prices and volume: `.` (default) or `,` (then the separator cannot be `,`). */
  readonly decimal?: '.' | ',';
}

export const CSV_ROLES = ['datetime', 'date', 'time', 'open', 'high', 'low', 'close', 'volume'] as const;
export type CsvRole = (typeof CSV_ROLES)[number];

const SEPARATORS: Readonly<Record<string, string>> = {
  ',': ',',
  ';': ';',
  '\t': '\t',
  '|': '|',
  comma: ',',
  semicolon: ';',
  tab: '\t',
  '\\t': '\t', // a backslash and a t, as typed in a shell
  pipe: '|',
};

const columnRef = z.union([
  z.number().int('a column index is a whole number').min(-1, 'a column index is 0 or more (-1: absent)'),
  z.string().trim().min(1, 'a column name is not empty'),
]);

const mappingSchema = z
  .object({
    separator: z
      .string()
      .refine((s) => Object.hasOwn(SEPARATORS, s), 'expected , ; tab or | (or comma, semicolon, pipe)')
      .optional(),
    header: z.boolean().optional(),
    columns: z
      .object(
        Object.fromEntries(CSV_ROLES.map((r) => [r, columnRef.optional()])) as Record<
          CsvRole,
          z.ZodOptional<typeof columnRef>
        >,
      )
      .strict()
      .optional(),
    timeFormat: z.string().min(1).optional(),
    clockFormat: z.string().min(1).optional(),
    decimal: z.enum(['.', ',']).optional(),
  })
  .strict();

/**
 * Checks a mapping (from a file or flags) and returns it with the separator normalised; throws
 * FeedOptionsError naming `source` and each wrong key. Formats are compiled here, so a bad one
 * fails before any row is read.
 */
export function checkCsvMapping(raw: unknown, source: string): CsvMapping {
  const parsed = mappingSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'mapping'}: ${i.message}`);
    throw new FeedOptionsError(
      `${source}: ${problems.join('; ')} (expected separator, header, columns {datetime|date, time, open, high, low, close, volume}, timeFormat, clockFormat, decimal)`,
    );
  }
  const m = parsed.data;
  const columns = m.columns as CsvMapping['columns'];
  if (columns) {
    if (columns.datetime !== undefined && columns.date !== undefined)
      throw new FeedOptionsError(`${source}: columns: give datetime or date (the same column), not both`);
    for (const role of ['datetime', 'date', 'open', 'high', 'low', 'close'] as const)
      if (columns[role] === -1)
        throw new FeedOptionsError(
          `${source}: columns.${role}: cannot be absent (-1); bars need a time, open, high, low and close`,
        );
    if (m.header === false)
      for (const [role, ref] of Object.entries(columns))
        if (typeof ref === 'string')
          throw new FeedOptionsError(
            `${source}: columns.${role}: ${JSON.stringify(ref)} is a column name, but the file has no header row (header: false); give a 0-based index`,
          );
  }
  if (m.decimal === ',' && m.separator !== undefined && SEPARATORS[m.separator] === ',')
    throw new FeedOptionsError(`${source}: decimal "," needs another separator than ","`);
  if (m.timeFormat !== undefined) dateTimeFormat(m.timeFormat, `${source}: timeFormat`);
  if (m.clockFormat !== undefined) clockFormat(m.clockFormat, `${source}: clockFormat`);
  return {
    ...(m.separator !== undefined ? { separator: SEPARATORS[m.separator] } : {}),
    ...(m.header !== undefined ? { header: m.header } : {}),
    ...(columns ? { columns } : {}),
    ...(m.timeFormat !== undefined ? { timeFormat: m.timeFormat } : {}),
    ...(m.clockFormat !== undefined ? { clockFormat: m.clockFormat } : {}),
    ...(m.decimal !== undefined ? { decimal: m.decimal } : {}),
  };
}

/** A mapping file's text (YAML or JSON, which YAML reads too), checked; `file` names it in errors. */
export function parseCsvMapText(text: string, file: string): CsvMapping {
  let raw: unknown;
  try {
    raw = parseYamlText(text);
  } catch (err) {
    throw new FeedOptionsError(`CSV mapping file ${file} is not valid YAML or JSON: ${(err as Error).message}`);
  }
  return checkCsvMapping(raw ?? {}, `CSV mapping file ${file}`);
}

/** `over`'s keys win over `base`'s; columns are merged role by role. */
export function mergeCsvMappings(base: CsvMapping | undefined, over: CsvMapping | undefined): CsvMapping | undefined {
  if (!base) return over;
  if (!over) return base;
  const columns = base.columns || over.columns ? { ...base.columns, ...over.columns } : undefined;
  const merged = { ...base, ...over, ...(columns ? { columns } : {}) };
  if (columns?.datetime !== undefined && columns.date !== undefined) {
    // one source named it datetime, the other date: the later one wins
    const { datetime, date, ...rest } = columns;
    const keep = over.columns?.date !== undefined ? { date } : { datetime };
    return { ...merged, columns: { ...rest, ...keep } };
  }
  return merged;
}

/** True when the mapping says anything about columns or formats (the fixed layouts then do not apply). */
export const describesColumns = (m: CsvMapping | undefined): boolean =>
  m !== undefined &&
  (m.columns !== undefined || m.timeFormat !== undefined || m.clockFormat !== undefined || m.header === false);
