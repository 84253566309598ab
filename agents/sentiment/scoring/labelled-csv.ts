import { FileLineError } from '../../../src/core/index.js';
import { readFileSync } from 'node:fs';
import { csvRecords } from '../news/csv-records.js';

/** The three sentiment classes, indexed as the labelled files number them. */
export const LABELS = ['bearish', 'bullish', 'neutral'] as const;
export type Label = (typeof LABELS)[number];

/** One labelled text and the 1-based line its record starts on (for error messages). */
export interface LabelledRow {
  readonly text: string;
  readonly label: Label;
  readonly line: number;
}

/** A labelled file cannot be used: missing, unreadable, or a record that breaks the format. */
export class SentimentDataError extends FileLineError {
  declare readonly code: 'sentiment_data';
  constructor(file: string, line: number, problem: string, options?: ErrorOptions) {
    super('sentiment_data', file, line, problem, options);
  }
}

/**
 * Labelled rows from RFC 4180 CSV text (quoted fields may hold commas, doubled quotes and line
 * breaks; the news reader's `csvRecords` splits them) with a `text,label` header (label 0
 * bearish, 1 bullish, 2 neutral). Throws {@link SentimentDataError} naming `file` and the line
 * of the first bad record: broken quoting, wrong field count, empty text, or an unknown label.
 */
export function parseLabelledCsv(text: string, file: string): LabelledRow[] {
  const bad = (line: number, problem: string) => new SentimentDataError(file, line, problem);
  const records: { fields: readonly string[]; line: number }[] = [];
  for (const record of csvRecords(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)) {
    if (record.error !== undefined) throw bad(record.line, record.error);
    if (record.cells.length === 1 && record.cells[0]!.trim() === '') continue; // a blank line
    records.push({ fields: record.cells, line: record.line });
  }
  const header = records[0];
  if (header === undefined) throw bad(0, 'the file is empty; expected a header row "text,label"');
  const names = header.fields.map((f) => f.trim().toLowerCase());
  const textAt = names.indexOf('text');
  const labelAt = names.indexOf('label');
  if (textAt === -1 || labelAt === -1)
    throw bad(
      header.line,
      `header ${JSON.stringify(header.fields.join(','))} lacks a text and a label column; expected "text,label"`,
    );
  const rows: LabelledRow[] = [];
  for (let i = 1; i < records.length; i++) {
    const { fields, line } = records[i]!;
    if (fields.length !== names.length)
      throw bad(line, `expected ${names.length} fields (${names.join(',')}), found ${fields.length}`);
    const raw = fields[labelAt]!.trim();
    const label = raw === '0' || raw === '1' || raw === '2' ? LABELS[Number(raw)]! : undefined;
    if (label === undefined)
      throw bad(line, `unknown label ${JSON.stringify(raw)}; expected 0 (bearish), 1 (bullish) or 2 (neutral)`);
    const body = fields[textAt]!;
    if (body.trim() === '') throw bad(line, 'the text is empty');
    rows.push({ text: body, label, line });
  }
  if (rows.length === 0) throw bad(0, 'the file has a header but no rows');
  return rows;
}

/** Reads and parses a labelled CSV file; see {@link parseLabelledCsv}. */
export function readLabelledCsv(file: string): LabelledRow[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    const why = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (cause as Error).message;
    throw new SentimentDataError(file, 0, `cannot read the file: ${why}`, { cause });
  }
  return parseLabelledCsv(text, file);
}
