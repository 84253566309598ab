/** One CSV record: its cells, or what is wrong with it, and the line it starts on (1-based). */
export interface CsvRecord {
  readonly line: number;
  readonly cells: readonly string[];
  readonly error?: string;
}

/**
 * RFC 4180 records: fields separated by commas, records by LF or CRLF; a field in double quotes
 * may hold commas, newlines and doubled quotes (`""`). A quote inside an unquoted field is taken
 * as text; a quoted field followed by anything but a comma or the end of the record, or a quote
 * left open at the end of the text, is an error for that record (the next record still reads).
 */
export function* csvRecords(text: string): Generator<CsvRecord, void, undefined> {
  let pos = 0;
  let line = 1;
  const n = text.length;
  while (pos < n) {
    const start = line;
    const cells: string[] = [];
    let error: string | undefined;
    for (;;) {
      let cell = '';
      if (text[pos] === '"') {
        pos++;
        let closed = false;
        while (pos < n) {
          const ch = text[pos]!;
          if (ch === '"') {
            if (text[pos + 1] === '"') {
              cell += '"';
              pos += 2;
              continue;
            }
            pos++;
            closed = true;
            break;
          }
          if (ch === '\n') line++;
          cell += ch;
          pos++;
        }
        if (!closed) {
          error = 'a quoted field is never closed';
          break;
        }
        if (pos < n && text[pos] !== ',' && text[pos] !== '\n' && text[pos] !== '\r') {
          error = 'text after the closing quote of a field (quotes inside a field are doubled: "")';
          // skip the rest of the physical line
          while (pos < n && text[pos] !== '\n') pos++;
          break;
        }
      } else {
        while (pos < n && text[pos] !== ',' && text[pos] !== '\n' && text[pos] !== '\r') cell += text[pos++];
      }
      cells.push(cell);
      if (pos < n && text[pos] === ',') {
        pos++;
        continue;
      }
      break;
    }
    if (text[pos] === '\r') pos++;
    if (text[pos] === '\n') {
      pos++;
      line++;
    }
    yield error ? { line: start, cells, error } : { line: start, cells };
  }
}
