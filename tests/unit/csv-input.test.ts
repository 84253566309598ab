import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { csvFeed, type CsvFeedOptions } from '../../agents/data/feeds/csv-feed.js';
import { resolveCsvLayout } from '../../agents/data/feeds/csv-header.js';
import { checkCsvMapping, mergeCsvMappings, parseCsvMapText } from '../../agents/data/feeds/csv-mapping.js';
import { FeedFormatError, FeedOptionsError, type FeedItem } from '../../agents/data/feeds/feed.js';
import { csvInputOf } from '../../src/cli/csv-flags.js';
import type { Bar } from '../../src/core/domain/messages.js';

const tmp = mkdtempSync(join(tmpdir(), 'sextant-csv-input-'));
let count = 0;
function tempFile(content: string, ext = 'csv'): string {
  const file = join(tmp, `case-${++count}.${ext}`);
  writeFileSync(file, content);
  return file;
}

const bars = (feed: Iterable<FeedItem>): Bar[] => [...feed].flatMap((item) => (item.kind === 'bar' ? [item.bar] : []));
const utc = (iso: string) => Date.parse(iso);
const read = (content: string, opts: Partial<CsvFeedOptions> = {}) =>
  bars(csvFeed({ file: tempFile(content), symbol: 'T', ...opts }));
/** The bars as [ISO time, open, high, low, close, volume]. */
const rows = (all: Bar[]) =>
  all.map((b) => [new Date(b.time).toISOString(), b.open, b.high, b.low, b.close, b.volume] as const);

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

const TWO_DAYS = [
  ['2020-01-02T00:00:00.000Z', 10, 11, 9, 10.5, 1000],
  ['2020-01-03T00:00:00.000Z', 10.5, 12, 10, 11, 2000],
] as const;

describe('csv input: headers found by name', () => {
  it.each([
    [
      'lower case, commas',
      'date,open,high,low,close,volume\n2020-01-02,10,11,9,10.5,1000\n2020-01-03,10.5,12,10,11,2000\n',
    ],
    [
      'semicolons, any case',
      'DATE;Open;HIGH;low;Close;Volume\n2020-01-02;10;11;9;10.5;1000\n2020-01-03;10.5;12;10;11;2000\n',
    ],
    [
      'tabs, quoted names',
      '"Date"\t"Open"\t"High"\t"Low"\t"Close"\t"Volume"\n2020-01-02\t10\t11\t9\t10.5\t1000\n2020-01-03\t10.5\t12\t10\t11\t2000\n',
    ],
    ['another order', 'volume,close,low,high,open,date\n1000,10.5,9,11,10,2020-01-02\n2000,11,10,12,10.5,2020-01-03\n'],
    [
      'adj close and open interest ignored',
      'Date,Adj Close,Open,High,Low,Close,Volume,Open_Interest\n2020-01-02,1,10,11,9,10.5,1000,7\n2020-01-03,1,10.5,12,10,11,2000,7\n',
    ],
    [
      'timestamp in epoch seconds',
      'timestamp,open,high,low,close,vol\n1577923200,10,11,9,10.5,1000\n1578009600,10.5,12,10,11,2000\n',
    ],
    [
      'a lone time column in epoch ms',
      'time;open;high;low;close;volume\n1577923200000;10;11;9;10.5;1000\n1578009600000;10.5;12;10;11;2000\n',
    ],
    [
      'quoted fields',
      '"date","open","high","low","close","volume"\n"2020-01-02","10","11","9","10.5","1000"\n"2020-01-03","10.5","12","10","11","2000"\n',
    ],
  ])('%s', (_name, content) => {
    expect(rows(read(content))).toEqual(TWO_DAYS);
  });

  it('date and time columns add up, in any order; a datetime column takes offsets', () => {
    const split = read(
      'Time;Close;Open;Date;Low;High;Volume\n09:30;10.5;10;2020-01-02;9;11;5\n16:00:30;11;10.5;2020-01-02;10;12;6\n',
    );
    expect(split.map((b) => b.time)).toEqual([utc('2020-01-02T09:30:00Z'), utc('2020-01-02T16:00:30Z')]);
    const offset = read('Datetime,Open,High,Low,Close,Volume\n2020-01-02T09:30:00+01:00,10,11,9,10.5,5\n');
    expect(offset[0]!.time).toBe(utc('2020-01-02T08:30:00Z'));
  });

  it('the fixed layouts keep their meaning with ; and tab separators: a Yahoo file is still daily', () => {
    const yahoo = read('Date;Open;High;Low;Close;Adj Close;Volume\n2020-01-02;10;11;9;10.5;10.4;1000\n');
    expect(yahoo[0]!.intervalMs).toBe(86_400_000);
    const named = read('date,open,high,low,close,volume\n2020-01-02,10,11,9,10.5,1000\n');
    expect(named[0]!.intervalMs).toBeUndefined();
  });

  it.each([
    [
      'a column it does not know',
      'Symbol,Date,Open,High,Low,Close,Volume',
      /unknown column "Symbol" \(with --csv-columns, columns not mapped are ignored\)/,
    ],
    [
      'no volume',
      'date,open,high,low,close',
      /no column for volume \(volume=-1 when the file has none: bars get volume 0\)/,
    ],
    ['no time', 'open,high,low,close,volume', /no column for the time \(date, datetime, timestamp or time\)/],
    [
      'two close columns',
      'date,open,high,low,close,close,volume',
      /2 columns are called close; map one with close=<index>/,
    ],
    [
      'both a date and a timestamp',
      'date,timestamp,open,high,low,close,volume',
      /both "date" and "timestamp" could be the time; map one with datetime=<index\|name>/,
    ],
  ])('a header with %s is refused at line 1, saying so and how to map it', (_name, header, problem) => {
    const file = tempFile(`${header}\n2020-01-02,1,1,1,1,1,1\n`);
    const err = thrown(() => csvFeed({ file, symbol: 'T', lenient: true })) as FeedFormatError;
    expect(err).toBeInstanceOf(FeedFormatError);
    expect(err.message.startsWith(`${file}:1: unknown header ${JSON.stringify(header)}: `)).toBe(true);
    expect(err.message).toMatch(problem);
    expect(err.message).toContain('--csv-columns datetime=0,open=1,high=2,low=3,close=4,volume=5');
  });
});

describe('csv input: explicit mappings', () => {
  it('columns by name with a time-of-day column, a date pattern and no volume, ignoring the rest', () => {
    const content = 'Ticker;Day;Hour;O;H;L;C\nX;02/01/2020;09:30;10;11;9;10.5\nX;02/01/2020;09:35;10.5;12;10;11\n';
    const mapping = checkCsvMapping(
      {
        columns: { date: 'day', time: 'HOUR', open: 'O', high: 'H', low: 'L', close: 'C', volume: -1 },
        timeFormat: '%d/%m/%Y',
      },
      'test',
    );
    expect(rows(read(content, { mapping }))).toEqual([
      ['2020-01-02T09:30:00.000Z', 10, 11, 9, 10.5, 0],
      ['2020-01-02T09:35:00.000Z', 10.5, 12, 10, 11, 0],
    ]);
  });

  it('a file with no header row, mapped by index, with a time pattern and a 12-hour clock column', () => {
    const content = '20200102,0930AM,10,11,9,10.5,100\n20200102,0130PM,10.5,12,10,11,200\n';
    const mapping = checkCsvMapping(
      {
        header: false,
        columns: { datetime: 0, time: 1, open: 2, high: 3, low: 4, close: 5, volume: 6 },
        timeFormat: '%Y%m%d',
        clockFormat: '%I%M%p',
      },
      'test',
    );
    expect(read(content, { mapping }).map((b) => b.time)).toEqual([
      utc('2020-01-02T09:30:00Z'),
      utc('2020-01-02T13:30:00Z'),
    ]);
  });

  it('without a date column, time is the timestamp: --csv-columns time=0,open=1,... on a headerless epoch file', () => {
    const content = '1577923200000,10,11,9,10.5,1000\n1578009600000,10.5,12,10,11,2000\n';
    const mapping = checkCsvMapping(
      { header: false, columns: { time: 0, open: 1, high: 2, low: 3, close: 4, volume: 5 } },
      'test',
    );
    expect(rows(read(content, { mapping }))).toEqual(TWO_DAYS);
  });

  it('a partial mapping completes the header: only the odd column is named', () => {
    const content = 'ts,open,high,low,close,volume\n1577923200,10,11,9,10.5,1000\n1578009600,10.5,12,10,11,2000\n';
    expect(rows(read(content, { mapping: { columns: { datetime: 'ts' } } }))).toEqual(TWO_DAYS);
  });

  it('decimal commas are read when the mapping says so, and hinted at when it does not', () => {
    const content = 'date;open;high;low;close;volume\n2020-01-02;10;11;9;10,5;1000\n2020-01-03;10,5;12;10;11;2000\n';
    expect(rows(read(content, { mapping: { decimal: ',' } }))).toEqual(TWO_DAYS);
    const file = tempFile(content);
    expect(() => [...csvFeed({ file, symbol: 'T' })]).toThrow(
      `${file}:2: close "10,5" is not a positive number (a decimal comma? set the decimal separator: --csv-decimal , or decimal: "," in the mapping)`,
    );
  });

  it('a mapping file in YAML or JSON, with flags winning over it role by role', () => {
    const yaml = tempFile(
      'separator: ";"\ncolumns:\n  datetime: 0\n  close: 1\n  open: 2\n  high: 3\n  low: 4\n  volume: -1\ntimeFormat: epoch-ms\n',
      'yaml',
    );
    const json = tempFile(
      JSON.stringify({
        separator: ';',
        columns: { datetime: 0, close: 1, open: 2, high: 3, low: 4, volume: -1 },
        timeFormat: 'epoch-ms',
      }),
      'json',
    );
    const content = 'when;last;first;top;bottom\n1577923200000;10.5;10;11;9\n1578009600000;11;10.5;12;10\n';
    for (const mapFile of [yaml, json]) expect(rows(read(content, { mapFile })).map((r) => r[4])).toEqual([10.5, 11]);
    // --csv-columns close=2 over the file's close=1: the "first" column is read as the close
    expect(rows(read(content, { mapFile: yaml, mapping: { columns: { close: 2, open: 1 } } }))[0]).toEqual([
      '2020-01-02T00:00:00.000Z',
      10.5,
      11,
      9,
      10,
      0,
    ]);
  });

  it('mapping mistakes name the source and the key', () => {
    expect(() => checkCsvMapping({ columns: { close: 'C', colse: 4 } }, 'map.yaml')).toThrow(
      /^map\.yaml: columns: Unrecognized key: "colse"/,
    );
    expect(() => checkCsvMapping({ separator: ':' }, 'map.yaml')).toThrow(/separator: expected , ; tab or \|/);
    expect(() => checkCsvMapping({ columns: { open: -1 } }, 'flags')).toThrow(
      'flags: columns.open: cannot be absent (-1); bars need a time, open, high, low and close',
    );
    expect(() => checkCsvMapping({ columns: { date: 0, datetime: 1 } }, 'flags')).toThrow(/give datetime or date/);
    expect(() => checkCsvMapping({ header: false, columns: { close: 'C' } }, 'flags')).toThrow(
      /columns\.close: "C" is a column name, but the file has no header row/,
    );
    expect(() => checkCsvMapping({ timeFormat: '%d/%m' }, 'map.yaml')).toThrow(
      /^map\.yaml: timeFormat: "%d\/%m" needs a year/,
    );
    expect(() => checkCsvMapping({ decimal: ',', separator: ',' }, 'flags')).toThrow(
      /decimal "," needs another separator/,
    );
    expect(() => parseCsvMapText('columns: [1, 2', 'bad.yaml')).toThrow(
      /^CSV mapping file bad\.yaml is not valid YAML or JSON/,
    );
    const missing = tempFile('date,open,high,low,close,volume\n2020-01-02,10,11,9,10.5,1\n');
    expect(() => csvFeed({ file: missing, symbol: 'T', mapping: { columns: { close: 'Last' } } })).toThrow(
      /close="Last" names no column of the header/,
    );
    expect(() => csvFeed({ file: missing, symbol: 'T', mapping: { columns: { close: 9 } } })).toThrow(
      /close=9 is past the last column \(6 columns, numbered from 0\)/,
    );
    expect(() => csvFeed({ file: missing, symbol: 'T', mapping: { columns: { close: 1 } } })).toThrow(
      /column 1 is mapped to both open and close/,
    );
  });

  it('merging keeps the later datetime/date choice and every other role', () => {
    expect(mergeCsvMappings({ columns: { date: 0, open: 1 }, separator: ';' }, { columns: { datetime: 2 } })).toEqual({
      separator: ';',
      columns: { datetime: 2, open: 1 },
    });
  });
});

describe('csv input: bad rows and empty files', () => {
  it('a bad row names file, line and column (the header name, or the index and role without a header)', () => {
    const named = tempFile('when;open;high;low;close\n1577923200;10;11;9;10.5\n1578009600;10.5;abc;10;11\n');
    expect(() => [
      ...csvFeed({ file: named, symbol: 'T', mapping: { columns: { datetime: 'when', volume: -1 } } }),
    ]).toThrow(`${named}:3: high "abc" is not a positive number`);
    const bare = tempFile('1577923200,10,11,9,10.5\n2020-13-01,10.5,12,10,11\n');
    const mapping = checkCsvMapping(
      { header: false, columns: { datetime: 0, open: 1, high: 2, low: 3, close: 4, volume: -1 } },
      't',
    );
    const err = thrown(() => [...csvFeed({ file: bare, symbol: 'T', mapping })]) as FeedFormatError;
    expect(err.line).toBe(2);
    expect(err.problem).toMatch(/^column 0 \(time\) "2020-13-01" is not an ISO-8601 date or date-time/);
    const short = tempFile('date;open;high;low;close;volume\n2020-01-02;10;11;9;10.5\n');
    expect(() => [...csvFeed({ file: short, symbol: 'T' })]).toThrow(
      `${short}:2: expected 6 columns (date;open;high;low;close;volume), found 5`,
    );
  });

  it('an empty file or one with a header only is an error naming the file, lenient or not', () => {
    for (const lenient of [false, true]) {
      const empty = tempFile('\n\n');
      expect(() => csvFeed({ file: empty, symbol: 'T', lenient })).toThrow(`${empty}:1: the file is empty`);
      const header = tempFile('date;open;high;low;close;volume\n\n');
      expect(() => csvFeed({ file: header, symbol: 'T', lenient })).toThrow(
        `${header}:1: the file has a header row but no data rows`,
      );
    }
  });

  it('a lenient pass that could read no row at all fails at its end, saying how many were skipped', () => {
    const file = tempFile('date,open,high,low,close,volume\n2020-01-02,x,1,1,1,1\n2020-01-03,1,x,1,1,1\n');
    const skipped: number[] = [];
    const feed = csvFeed({ file, symbol: 'T', lenient: true, onSkip: (e) => skipped.push(e.line) });
    expect(() => [...feed]).toThrow(`${file}:1: none of the 2 data rows could be read (every one was skipped)`);
    expect(skipped).toEqual([2, 3]);
  });

  it('ticks come from any layout with one time column, and may share a time', () => {
    const file = tempFile(
      'timestamp;close;volume;open;high;low\n1577923200000;10;3;10;10;10\n1577923200000;10.5;1;10;11;10\n',
    );
    const ticks = [...csvFeed({ file, symbol: 'T', kind: 'ticks' })];
    expect(ticks.map((t) => (t.kind === 'tick' ? [t.tick.price, t.tick.size] : []))).toEqual([
      [10, 3],
      [10.5, 1],
    ]);
  });
});

describe('csv input: layouts and the backtest flags', () => {
  it('the separator is a tab, else ; when present, else ,', () => {
    const sep = (line: string) => {
      const layout = resolveCsvLayout(line);
      return 'problem' in layout ? layout.problem : String.fromCharCode(layout.separator);
    };
    expect(sep('date\topen\thigh\tlow\tclose\tvolume')).toBe('\t');
    expect(sep('date;open;high;low;close;volume')).toBe(';');
    expect(sep('date,open,high,low,close,volume')).toBe(',');
    const forced = resolveCsvLayout('a|b|c|d|e|f', {
      separator: '|',
      columns: { datetime: 0, open: 1, high: 2, low: 3, close: 4, volume: 5 },
    });
    expect('problem' in forced ? forced.problem : forced.columns.length).toBe(6);
  });

  it('the --csv-* flags become one mapping; no flag gives no csv option', () => {
    expect(csvInputOf({})).toEqual({});
    expect(
      csvInputOf({
        'csv-columns': 'datetime=0, Open=1,high=2,low=3,close=Last,volume=-1',
        'csv-separator': 'semicolon',
        'csv-time-format': '%d/%m/%Y %H:%M',
        'csv-clock-format': '%H%M',
        'csv-decimal': ',',
        'csv-no-header': false,
        'csv-map': 'map.yaml',
      }),
    ).toEqual({
      csv: {
        mapFile: 'map.yaml',
        mapping: {
          columns: { datetime: 0, open: 1, high: 2, low: 3, close: 'Last', volume: -1 },
          separator: ';',
          timeFormat: '%d/%m/%Y %H:%M',
          clockFormat: '%H%M',
          decimal: ',',
        },
      },
    });
    expect(csvInputOf({ 'csv-separator': 'tab' }).csv?.mapping?.separator).toBe('\t');
  });

  it.each([
    ['--csv-columns', { 'csv-columns': 'open' }, /--csv-columns takes role=column pairs separated by commas/],
    [
      '--csv-columns',
      { 'csv-columns': 'price=1' },
      /--csv-columns: unknown role "price"; expected datetime, date, time/,
    ],
    ['--csv-columns', { 'csv-columns': 'open=1,open=2' }, /--csv-columns: open is given twice/],
    ['--csv-separator', { 'csv-separator': ':' }, /^--csv-separator: separator: expected , ; tab or \|/],
    [
      '--csv-time-format',
      { 'csv-time-format': '%q' },
      /^--csv-time-format: timeFormat: "%q" has an unknown directive %q/,
    ],
    ['--csv-decimal', { 'csv-decimal': ';' }, /^--csv-decimal: decimal: /],
    [
      '--csv-no-header with names',
      { 'csv-no-header': true, 'csv-columns': 'close=Last' },
      /is a column name, but the file has no header row/,
    ],
  ])('a bad %s value is refused naming the flag', (_flag, values, message) => {
    expect(() => csvInputOf(values)).toThrow(message);
  });

  it('a mapping file that does not exist is named', () => {
    const file = tempFile('date,open,high,low,close,volume\n2020-01-02,10,11,9,10.5,1\n');
    expect(() => csvFeed({ file, symbol: 'T', mapFile: join(tmp, 'nope.yaml') })).toThrow(
      /^CSV mapping file .*nope\.yaml cannot be read: ENOENT/,
    );
    expect(() => csvFeed({ file, symbol: 'T', mapFile: tempFile('colums: {}', 'yaml') })).toThrow(FeedOptionsError);
  });
});
