import { readFileSync } from 'node:fs';

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
export class SentimentDataError extends Error {
  readonly code = 'sentiment_data';
  readonly retryable = false;
  constructor(
    /** The file as it was given. */
    readonly file: string,
    /** 1-based line of the bad record; 0 when the problem is the whole file. */
    readonly line: number,
    /** What is wrong, as a sentence fragment without the location. */
    readonly problem: string,
    options?: ErrorOptions,
  ) {
    super(line > 0 ? `${file}:${line}: ${problem}` : `${file}: ${problem}`, options);
    this.name = 'SentimentDataError';
  }
}

/** One CSV record: its fields and the line it starts on. */
export interface CsvRecord {
  readonly fields: string[];
  readonly line: number;
}

/**
 * Splits RFC 4180 text into records: fields separated by commas, records by CRLF or LF,
 * a quoted field may hold commas, line breaks and doubled quotes (`""`). Blank lines are
 * skipped. A malformed quote throws {@link SentimentDataError} naming `file` and the line.
 * The feeds' CSV reader (agents/data/feeds) does not fit here: bars never carry quotes, texts do.
 */
export function parseCsvRecords(text: string, file: string): CsvRecord[] {
  const bad = (line: number, problem: string) => new SentimentDataError(file, line, problem);
  const records: CsvRecord[] = [];
  const n = text.length;
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  while (pos < n) {
    const startLine = line;
    const fields: string[] = [];
    for (;;) {
      let value: string;
      if (text.charCodeAt(pos) === 34 /* " */) {
        const quoteLine = line;
        let out = '';
        let from = pos + 1;
        for (;;) {
          const q = text.indexOf('"', from);
          if (q === -1) throw bad(quoteLine, 'a quoted field is never closed (missing ")');
          line += countNewlines(text, from, q);
          if (text.charCodeAt(q + 1) === 34) {
            out += text.slice(from, q + 1);
            from = q + 2;
            continue;
          }
          out += text.slice(from, q);
          pos = q + 1;
          break;
        }
        const c = text.charCodeAt(pos);
        if (pos < n && c !== 44 && c !== 10 && c !== 13) throw bad(line, `unexpected text after a closing quote: ${JSON.stringify(text.slice(pos, pos + 20))}`);
        value = out;
      } else {
        let end = pos;
        while (end < n) {
          const c = text.charCodeAt(end);
          if (c === 44 || c === 10 || c === 13) break;
          if (c === 34) throw bad(line, 'a quote inside an unquoted field (quote the field and double the quote)');
          end++;
        }
        value = text.slice(pos, end);
        pos = end;
      }
      fields.push(value);
      if (text.charCodeAt(pos) === 44) {
        pos++;
        continue;
      }
      break;
    }
    if (text.charCodeAt(pos) === 13) pos++;
    if (text.charCodeAt(pos) === 10) pos++;
    line++;
    if (!(fields.length === 1 && fields[0] === '')) records.push({ fields, line: startLine });
  }
  return records;
}

function countNewlines(text: string, from: number, to: number): number {
  let count = 0;
  for (let i = text.indexOf('\n', from); i !== -1 && i < to; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

/**
 * Labelled rows from CSV text with a `text,label` header (label 0 bearish, 1 bullish,
 * 2 neutral). Throws {@link SentimentDataError} naming `file` and the line of the first bad
 * record: wrong field count, empty text, or an unknown label.
 */
export function parseLabelledCsv(text: string, file: string): LabelledRow[] {
  const bad = (line: number, problem: string) => new SentimentDataError(file, line, problem);
  const records = parseCsvRecords(text, file);
  const header = records[0];
  if (header === undefined) throw bad(0, 'the file is empty; expected a header row "text,label"');
  const names = header.fields.map((f) => f.trim().toLowerCase());
  const textAt = names.indexOf('text');
  const labelAt = names.indexOf('label');
  if (textAt === -1 || labelAt === -1) throw bad(header.line, `header ${JSON.stringify(header.fields.join(','))} lacks a text and a label column; expected "text,label"`);
  const rows: LabelledRow[] = [];
  for (let i = 1; i < records.length; i++) {
    const { fields, line } = records[i]!;
    if (fields.length !== names.length) throw bad(line, `expected ${names.length} fields (${names.join(',')}), found ${fields.length}`);
    const raw = fields[labelAt]!.trim();
    const label = raw === '0' || raw === '1' || raw === '2' ? LABELS[Number(raw)]! : undefined;
    if (label === undefined) throw bad(line, `unknown label ${JSON.stringify(raw)}; expected 0 (bearish), 1 (bullish) or 2 (neutral)`);
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
