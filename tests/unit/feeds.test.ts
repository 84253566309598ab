import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedData } from '../helpers/test-data.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csvFeed } from '../../agents/data/feeds/csv-feed.js';
import {
  FeedFormatError,
  FeedOptionsError,
  FeedUnavailableError,
  type FeedItem,
  type MarketFeed,
} from '../../agents/data/feeds/feed.js';
import { ndjsonFeed } from '../../agents/data/feeds/ndjson-feed.js';
import { openFeed } from '../../agents/data/feeds/open-feed.js';
import { decimalField, parseDecimalField } from '../../agents/data/feeds/parse-decimal.js';
import { parseIsoDateTime } from '../../agents/data/feeds/parse-utc-time.js';
import { seededPrng } from '../../agents/data/feeds/prng.js';
import { syntheticFeed, type SyntheticFeedOptions } from '../../agents/data/feeds/synthetic-feed.js';
import { barSchema, type Bar, type Tick } from '../../src/core/domain/messages.js';

const SHARED = sharedData;

/** A shared data file; fails loudly (here and in CI) when the shared folder is missing. */
function shared(relative: string): string {
  const file = join(SHARED, relative);
  if (!existsSync(file)) throw new Error(`shared data file missing: ${file} (see tests/fixtures/data/README.md)`);
  return file;
}

const ORCL = 'market/orcl-1995-2014.csv';
const INDEX_5MIN = 'market/index-2006-min-005.csv';
const TICKS = 'market/ticksample.csv';
const BTC = 'crypto/btc-usdt-2021-02-19-1m.csv';

const tmp = mkdtempSync(join(tmpdir(), 'sextant-feeds-'));
let tmpCount = 0;
function tempFile(content: string, ext = 'csv'): string {
  const file = join(tmp, `case-${++tmpCount}.${ext}`);
  writeFileSync(file, content);
  return file;
}

const bars = (feed: Iterable<FeedItem>): Bar[] => [...feed].flatMap((item) => (item.kind === 'bar' ? [item.bar] : []));
const ticks = (feed: Iterable<FeedItem>): Tick[] =>
  [...feed].flatMap((item) => (item.kind === 'tick' ? [item.tick] : []));
const utc = (iso: string) => Date.parse(iso);

function take(feed: MarketFeed, n: number): FeedItem[] {
  const out: FeedItem[] = [];
  for (const item of feed) {
    out.push(item);
    if (out.length === n) break;
  }
  return out;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

const YAHOO_HEADER = 'Date,Open,High,Low,Close,Adj Close,Volume';
const GOOD_1 = '2020-01-02,10,11,9,10.5,10.4,1000';
const GOOD_2 = '2020-01-03,10.5,12,10,11,10.9,2000';
const GOOD_3 = '2020-01-06,11,11.5,10.5,11.25,11.1,1500';

describe('csv feed: shared files', () => {
  it('yahoo daily csv parses the ORCL file into 5,036 bars in time order', () => {
    const feed = csvFeed({ file: shared(ORCL), symbol: 'ORCL' });
    const all = bars(feed);
    expect(feed.name).toBe('csv:orcl-1995-2014.csv');
    expect(feed.endless).toBe(false);
    expect(all).toHaveLength(5036);
    expect(feed.skipped).toBe(0);
    expect(all[0]).toEqual({
      symbol: 'ORCL',
      time: utc('1995-01-03T00:00:00Z'),
      open: 2.179012,
      high: 2.191358,
      low: 2.117284,
      close: 2.117284,
      volume: 36_301_200,
      intervalMs: 86_400_000,
    });
    expect(all.at(-1)).toEqual({
      symbol: 'ORCL',
      time: utc('2014-12-31T00:00:00Z'),
      open: 45.450001,
      high: 45.560001,
      low: 44.970001,
      close: 44.970001,
      volume: 13_269_200,
      intervalMs: 86_400_000,
    });
    for (let i = 1; i < all.length; i++) expect(all[i]!.time).toBeGreaterThan(all[i - 1]!.time);
  });

  it('ORCL prices are the raw Open/High/Low/Close columns bit for bit, not Adj Close', () => {
    const rows = readFileSync(shared(ORCL), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(','));
    const all = bars(csvFeed({ file: shared(ORCL), symbol: 'ORCL' }));
    const mismatches = rows.filter((cols, i) => {
      const bar = all[i]!;
      return (
        bar.open !== Number(cols[1]) ||
        bar.high !== Number(cols[2]) ||
        bar.low !== Number(cols[3]) ||
        bar.close !== Number(cols[4]) ||
        bar.volume !== Number(cols[6])
      );
    });
    expect(mismatches).toEqual([]);
  });

  it('every fill of the reference backtest is at the Open of the ORCL bar of its date', () => {
    const reference = JSON.parse(readFileSync(shared('market/orcl-sma-10-30-reference.json'), 'utf8')) as {
      fills: { date: string; price: number }[];
    };
    const openByDay = new Map(
      bars(csvFeed({ file: shared(ORCL), symbol: 'ORCL' })).map((b) => [
        new Date(b.time).toISOString().slice(0, 10),
        b.open,
      ]),
    );
    expect(reference.fills).toHaveLength(195);
    for (const fill of reference.fills) expect(openByDay.get(fill.date), fill.date).toBeCloseTo(fill.price, 9);
  });

  it('intraday csv reads Date and Time as UTC into 2,142 five-minute bars without claiming an interval', () => {
    const all = bars(csvFeed({ file: shared(INDEX_5MIN), symbol: 'IDX' }));
    expect(all).toHaveLength(2142);
    expect(all[0]).toEqual({
      symbol: 'IDX',
      time: utc('2006-01-02T09:05:00Z'),
      open: 3578.73,
      high: 3587.88,
      low: 3578.73,
      close: 3582.99,
      volume: 0,
    });
    expect(all.every((b) => !('intervalMs' in b))).toBe(true);
    expect(all.at(-1)!.time).toBe(utc('2006-01-30T17:30:00Z'));
  });

  it('datetime csv parses 10,080 BTC/USDT one-minute bars a minute apart', () => {
    const all = bars(csvFeed({ file: shared(BTC), symbol: 'BTC/USDT' }));
    expect(all).toHaveLength(10_080);
    expect(all[0]).toEqual({
      symbol: 'BTC/USDT',
      time: utc('2021-02-19T00:00:00Z'),
      open: 51552.61,
      high: 51657.05,
      low: 51545,
      close: 51613.38,
      volume: 134.989218,
    });
    expect(all.every((b, i) => i === 0 || b.time - all[i - 1]!.time === 60_000)).toBe(true);
  });

  it('tick csv yields trades with price = Close and size = Volume, keeping two trades in the same millisecond', () => {
    const all = ticks(csvFeed({ file: shared(TICKS), symbol: 'ES', kind: 'ticks' }));
    expect(all).toHaveLength(135);
    // The file's Datetime has no offset: taken as UTC, not the host's zone.
    expect(all[0]).toEqual({ symbol: 'ES', time: utc('2015-09-23T20:57:42.146Z'), price: 3067, size: 180 });
    expect(all[21]!.time).toBe(all[22]!.time);
    expect([all[21]!.price, all[22]!.price]).toEqual([3068, 3069]);
  });

  it('every shared market file parses strictly without a skipped row', () => {
    for (const [file, kind] of [
      [ORCL, 'bars'],
      [INDEX_5MIN, 'bars'],
      [TICKS, 'bars'],
      [TICKS, 'ticks'],
      [BTC, 'bars'],
    ] as const) {
      const feed = csvFeed({ file: shared(file), symbol: 'X', kind });
      expect([...feed].length, file).toBeGreaterThan(0);
      expect(feed.skipped, file).toBe(0);
    }
  });

  it('BRK.B and BTC/USD symbols are carried unchanged', () => {
    expect(bars(csvFeed({ file: shared(ORCL), symbol: 'BRK.B' }))[0]!.symbol).toBe('BRK.B');
    expect(ticks(csvFeed({ file: shared(TICKS), symbol: 'BTC/USD', kind: 'ticks' }))[0]!.symbol).toBe('BTC/USD');
    const synthetic = take(syntheticFeed({ ...SYNTH, symbols: ['BRK.B', 'BTC/USD'] }), 2).map((i) =>
      i.kind === 'bar' ? i.bar.symbol : '',
    );
    expect(synthetic).toEqual(['BRK.B', 'BTC/USD']);
  });

  it('iterating again starts from the first bar', () => {
    const feed = csvFeed({ file: shared(ORCL), symbol: 'ORCL' });
    const first = bars(feed);
    expect(bars(feed)).toEqual(first);
  });
});

describe('csv feed: headers and line ends', () => {
  it('header matching ignores case and tolerates a BOM, CRLF line ends and blank lines', () => {
    const file = tempFile(
      `\uFEFF\r\ndate,OPEN,high,Low,close,adj close,VOLUME\r\n${GOOD_1}\r\n\r\n   \r\n${GOOD_2}\r\n`,
    );
    const all = bars(csvFeed({ file, symbol: 'T' }));
    expect(all.map((b) => [b.time, b.close])).toEqual([
      [utc('2020-01-02T00:00:00Z'), 10.5],
      [utc('2020-01-03T00:00:00Z'), 11],
    ]);
  });

  it('intraday files take an optional OpenInterest column and HH:MM or HH:MM:SS times', () => {
    const rows = '2006-01-02,09:05,10,11,9,10.5,3,0\n2006-01-02,09:10:30,10,11,9,10.5,3,0\n';
    const withOi = tempFile(`Date,Time,Open,High,Low,Close,Volume,OpenInterest\n${rows}`);
    const withoutOi = tempFile(`Date,Time,Open,High,Low,Close,Volume\n${rows.replaceAll(',3,0', ',3')}`);
    for (const file of [withOi, withoutOi]) {
      expect(bars(csvFeed({ file, symbol: 'T' })).map((b) => b.time)).toEqual([
        utc('2006-01-02T09:05:00Z'),
        utc('2006-01-02T09:10:30Z'),
      ]);
    }
  });

  it('an unknown header fails at line 1 naming what is missing, what is accepted and the mapping flags, even in lenient mode', () => {
    const file = tempFile('Timestamp,Price\n1,2\n');
    const err = thrown(() => csvFeed({ file, symbol: 'T', lenient: true }));
    expect(err).toBeInstanceOf(FeedFormatError);
    const e = err as FeedFormatError;
    expect(e.line).toBe(1);
    expect(
      e.message.startsWith(`${file}:1: unknown header "Timestamp,Price": no column for open, high, low, close, volume`),
    ).toBe(true);
    expect(e.message).toContain('unknown column "Price"');
    expect(e.message).toContain(
      'accepted: the columns date (or datetime, timestamp or time; or date and time), open, high, low, close and volume',
    );
    expect(e.message).toContain('--csv-columns datetime=0,open=1');
    expect(e.message).toContain('--csv-map');
  });

  it('an empty file fails at line 1', () => {
    const err = thrown(() => csvFeed({ file: tempFile(''), symbol: 'T' })) as FeedFormatError;
    expect(err).toBeInstanceOf(FeedFormatError);
    expect(err.line).toBe(1);
  });

  it('ticks are refused from a daily file, which holds no trades', () => {
    expect(() => csvFeed({ file: shared(ORCL), symbol: 'ORCL', kind: 'ticks' })).toThrow(
      /ticks need a Datetime,Open,High,Low,Close,Volume/,
    );
  });

  it('a missing file is a FeedUnavailableError carrying the I/O error as cause', () => {
    const err = thrown(() => csvFeed({ file: join(tmp, 'nope.csv'), symbol: 'T' })) as FeedUnavailableError;
    expect(err).toBeInstanceOf(FeedUnavailableError);
    expect(err.code).toBe('feed_unavailable');
    expect((err.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });
});

describe('csv feed: bad rows', () => {
  it('strict mode names file and line of a bad row', () => {
    const file = tempFile(`${YAHOO_HEADER}\n${GOOD_1}\n\n2020-01-03,abc,12,10,11,10.9,2000\n${GOOD_3}\n`);
    const feed = csvFeed({ file, symbol: 'T' });
    const err = thrown(() => [...feed]) as FeedFormatError;
    expect(err).toBeInstanceOf(FeedFormatError);
    expect(err.message).toBe(`${file}:4: Open "abc" is not a positive number`);
    expect({ code: err.code, retryable: err.retryable, file: err.file, line: err.line }).toEqual({
      code: 'feed_format',
      retryable: false,
      file,
      line: 4,
    });
  });

  const badRows: readonly (readonly [string, string, string])[] = [
    [
      'a row with too few columns',
      '2020-01-03,10.5,12,10,11,10.9',
      'expected 7 columns (Date,Open,High,Low,Close,Adj Close,Volume), found 6',
    ],
    [
      'a row with too many columns',
      '2020-01-03,10.5,12,10,11,10.9,2000,7',
      'expected 7 columns (Date,Open,High,Low,Close,Adj Close,Volume), found 8',
    ],
    [
      'a Yahoo null row',
      '2020-01-03,null,null,null,null,null,null',
      'Open "null" is not a positive number (the value is missing; feeds never fill one in)',
    ],
    [
      'an empty price',
      '2020-01-03,10.5,,10,11,10.9,2000',
      'High "" is not a positive number (the value is missing; feeds never fill one in)',
    ],
    ['a NaN price', '2020-01-03,10.5,12,NaN,11,10.9,2000', 'Low "NaN" is not a positive number'],
    ['a zero price', '2020-01-03,10.5,12,10,0,10.9,2000', 'Close "0" is not a positive number'],
    ['a negative price', '2020-01-03,-10.5,12,10,11,10.9,2000', 'Open "-10.5" is not a positive number'],
    ['a hex price', '2020-01-03,0x10,12,10,11,10.9,2000', 'Open "0x10" is not a positive number'],
    ['an infinite price', '2020-01-03,10.5,1e400,10,11,10.9,2000', 'High "1e400" is not a positive number'],
    ['a negative volume', '2020-01-03,10.5,12,10,11,10.9,-5', 'Volume "-5" is not a non-negative number'],
    [
      'a missing volume',
      '2020-01-03,10.5,12,10,11,10.9,',
      'Volume "" is not a non-negative number (the value is missing; feeds never fill one in)',
    ],
    [
      'an unparseable date',
      '01/03/2020,10.5,12,10,11,10.9,2000',
      'Date "01/03/2020" is not a date (expected YYYY-MM-DD)',
    ],
    [
      'a date that does not exist',
      '2020-02-30,10.5,12,10,11,10.9,2000',
      'Date "2020-02-30" is not a date (expected YYYY-MM-DD)',
    ],
    ['high below low', '2020-01-03,10.5,9,10,11,10.9,2000', 'High 9 is below Low 10'],
    [
      'time going backwards',
      '2020-01-01,10.5,12,10,11,10.9,2000',
      "time 2020-01-01T00:00:00.000Z goes back before the previous row's 2020-01-02T00:00:00.000Z",
    ],
    [
      'a repeated daily date',
      '2020-01-02,10.5,12,10,11,10.9,2000',
      "time 2020-01-02T00:00:00.000Z repeats the previous row's 2020-01-02T00:00:00.000Z",
    ],
  ];

  it.each(badRows)('strict mode rejects %s at its line', (_name, row, problem) => {
    const file = tempFile(`${YAHOO_HEADER}\n${GOOD_1}\n${row}\n${GOOD_3}\n`);
    const err = thrown(() => [...csvFeed({ file, symbol: 'T' })]) as FeedFormatError;
    expect(err).toBeInstanceOf(FeedFormatError);
    expect(err.message).toBe(`${file}:3: ${problem}`);
  });

  it('strict mode rejects a bad intraday time and a bad datetime', () => {
    const intraday = tempFile('Date,Time,Open,High,Low,Close,Volume\n2006-01-02,9h05,10,11,9,10.5,3\n');
    expect(() => [...csvFeed({ file: intraday, symbol: 'T' })]).toThrow(
      `${intraday}:2: Time "9h05" is not a time of day (expected HH:MM[:SS])`,
    );
    const datetime = tempFile('Datetime,Open,High,Low,Close,Volume\n2021-02-19 25:00:00,10,11,9,10.5,3\n');
    expect(() => [...csvFeed({ file: datetime, symbol: 'T' })]).toThrow(
      `${datetime}:2: Datetime "2021-02-19 25:00:00" is not an ISO-8601 date-time`,
    );
  });

  it('lenient mode skips and counts bad rows, tells onSkip, and never invents a price', () => {
    const file = tempFile(
      `${YAHOO_HEADER}\n${GOOD_1}\n2020-01-03,null,null,null,null,null,null\n${GOOD_2.replace('2020-01-03', '2020-01-04')}\n2020-01-01,1,1,1,1,1,1\n2020-01-05,10,9,11,10,10,1\n${GOOD_3}\n`,
    );
    const seen: FeedFormatError[] = [];
    const feed = csvFeed({ file, symbol: 'T', lenient: true, onSkip: (err) => seen.push(err) });
    const all = bars(feed);
    expect(all.map((b) => [new Date(b.time).toISOString().slice(0, 10), b.open, b.close])).toEqual([
      ['2020-01-02', 10, 10.5],
      ['2020-01-04', 10.5, 11],
      ['2020-01-06', 11, 11.25],
    ]);
    expect(feed.skipped).toBe(3);
    expect(seen.map((e) => e.line)).toEqual([3, 5, 6]);
  });

  it('skipped counts the current pass only', () => {
    const feed = csvFeed({
      file: tempFile(`${YAHOO_HEADER}\n${GOOD_1}\nbroken\n${GOOD_2}\n`),
      symbol: 'T',
      lenient: true,
    });
    expect(bars(feed)).toHaveLength(2);
    expect(bars(feed)).toHaveLength(2);
    expect(feed.skipped).toBe(1);
  });
});

describe('csv field parsing', () => {
  it('decimal fields parse bit-identically to Number()', () => {
    const decimal = fc
      .tuple(fc.nat({ max: 999_999_999 }), fc.nat({ max: 99_999_999 }), fc.integer({ min: 0, max: 10 }))
      .map(([i, f, zeros]) => `${i}.${'0'.repeat(zeros)}${f}`);
    fc.assert(
      fc.property(decimal, (s) => {
        const line = `${s},next`;
        return parseDecimalField(line, 0, line.length) === Number(s) && decimalField.end === s.length;
      }),
    );
    fc.assert(
      fc.property(
        fc.double({ min: 1e-9, max: 1e12, noNaN: true }),
        (x) => parseDecimalField(String(x), 0, String(x).length) === x,
      ),
    );
  });

  it('timestamps without an offset are UTC, and offsets are applied', () => {
    const at = (s: string) => parseIsoDateTime(s, 0, s.length);
    expect(at('2015-09-23T20:57:42.146')).toBe(utc('2015-09-23T20:57:42.146Z'));
    expect(at('2015-09-23 20:57')).toBe(utc('2015-09-23T20:57:00Z'));
    expect(at('2015-09-23')).toBe(utc('2015-09-23T00:00:00Z'));
    expect(at('2021-02-19T01:00:00.000+01:00')).toBe(utc('2021-02-19T00:00:00Z'));
    expect(at('2021-02-19T00:00:00-0530')).toBe(utc('2021-02-19T05:30:00Z'));
    expect(at('2015-09-23T20:57:42.1469999')).toBe(utc('2015-09-23T20:57:42.146Z'));
    expect(at('2024-02-29T00:00:00Z')).toBe(utc('2024-02-29T00:00:00Z'));
    for (const bad of ['2023-02-29', '2015-09-23T24:00', '2015-09-23X20:57', '2015-09-23T20:57Zz', '2015-9-23', ''])
      expect(at(bad), bad).toBeNaN();
  });
});

describe('ndjson feed', () => {
  it('reads kinded and bare bars and ticks, with epoch-ms and ISO-8601 times', () => {
    const file = tempFile(
      [
        '{"kind":"bar","symbol":"BRK.B","time":1700000000000,"open":1,"high":2,"low":0.5,"close":1.5,"volume":10,"intervalMs":60000}',
        '',
        '{"symbol":"BTC/USD","time":"2023-11-14T22:13:20.000Z","open":1,"high":2,"low":0.5,"close":1.5,"volume":10}',
        '{"kind":"tick","symbol":"ES","time":"2023-11-14T22:13:21","price":4400.25,"size":3}',
        '{"symbol":"ES","time":1700000002000,"price":4400.5,"size":0}\r',
      ].join('\n'),
      'ndjson',
    );
    const feed = ndjsonFeed({ file });
    expect(feed.name).toBe(`ndjson:case-${tmpCount}.ndjson`);
    expect([...feed]).toEqual([
      {
        kind: 'bar',
        bar: {
          symbol: 'BRK.B',
          time: 1_700_000_000_000,
          open: 1,
          high: 2,
          low: 0.5,
          close: 1.5,
          volume: 10,
          intervalMs: 60_000,
        },
      },
      {
        kind: 'bar',
        bar: { symbol: 'BTC/USD', time: 1_700_000_000_000, open: 1, high: 2, low: 0.5, close: 1.5, volume: 10 },
      },
      { kind: 'tick', tick: { symbol: 'ES', time: 1_700_000_001_000, price: 4400.25, size: 3 } },
      { kind: 'tick', tick: { symbol: 'ES', time: 1_700_000_002_000, price: 4400.5, size: 0 } },
    ]);
  });

  it('strict mode names file, line and the schema issue', () => {
    const file = tempFile(
      '{"kind":"bar","symbol":"X","time":1,"open":1,"high":2,"low":0.5,"close":1.5,"volume":1}\n{"kind":"bar","symbol":"X","time":2,"open":1,"high":2,"low":0.5,"close":-1,"volume":1}\n',
      'ndjson',
    );
    const err = thrown(() => [...ndjsonFeed({ file })]) as FeedFormatError;
    expect(err).toBeInstanceOf(FeedFormatError);
    expect(err.line).toBe(2);
    expect(err.message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: invalid bar: close: `));
  });

  it('strict mode names the line that is not JSON', () => {
    const file = tempFile('{"symbol":"X","time":1,"price":1,"size":1}\n{"symbol":\n', 'ndjson');
    expect(() => [...ndjsonFeed({ file })]).toThrow(`${file}:2: not JSON`);
  });

  it('lenient mode skips and counts bad lines: bad JSON, unknown kind, no symbol, bad time, time going backwards', () => {
    const file = tempFile(
      [
        '{"symbol":"X","time":10,"price":1,"size":1}',
        'not json',
        '{"kind":"quote","symbol":"X","time":11,"bid":1}',
        '{"time":12,"price":1,"size":1}',
        '{"symbol":"X","time":"yesterday","price":1,"size":1}',
        '{"symbol":"X","time":5,"price":1,"size":1}',
        '[1,2]',
        '{"symbol":"X","time":13,"price":2,"size":1}',
      ].join('\n'),
      'ndjson',
    );
    const seen: number[] = [];
    const feed = ndjsonFeed({ file, lenient: true, onSkip: (e) => seen.push(e.line) });
    expect(ticks(feed).map((t) => t.price)).toEqual([1, 2]);
    expect(feed.skipped).toBe(6);
    expect(seen).toEqual([2, 3, 4, 5, 6, 7]);
  });
});

const SYNTH: SyntheticFeedOptions = {
  symbols: ['AAA', 'BBB'],
  seed: 42,
  startPrice: 100,
  drift: 0.05,
  volatility: 0.2,
  barMs: 60_000,
  startTime: utc('2024-01-01T00:00:00Z'),
};

describe('synthetic feed', () => {
  it('synthetic feed is identical for the same seed and differs for another', () => {
    const a = take(syntheticFeed(SYNTH), 500);
    expect(take(syntheticFeed(SYNTH), 500)).toEqual(a);
    const other = take(syntheticFeed({ ...SYNTH, seed: 43 }), 500);
    expect(other).not.toEqual(a);
    expect(other[0]).toMatchObject({ bar: { open: 100 } });
  });

  it('each symbol has its own stream: adding a symbol leaves the others unchanged', () => {
    const only = bars(take(syntheticFeed({ ...SYNTH, symbols: ['AAA'] }), 100));
    const withOthers = bars(take(syntheticFeed({ ...SYNTH, symbols: ['ZZZ', 'AAA', 'BBB'] }), 300)).filter(
      (b) => b.symbol === 'AAA',
    );
    expect(withOthers).toEqual(only);
  });

  it('bars are well formed: one per symbol per step, OHLC consistent, open = previous close, 4 decimals, integer volume', () => {
    const all = bars(take(syntheticFeed(SYNTH), 2 * 2000));
    const previous = new Map<string, Bar>();
    const onTick = (p: number) => Math.abs(p * 10_000 - Math.round(p * 10_000)) < 1e-6;
    const problems = all.flatMap((bar, i) => {
      const before = previous.get(bar.symbol);
      previous.set(bar.symbol, bar);
      const broken = [
        !barSchema.safeParse(bar).success && 'schema',
        bar.symbol !== SYNTH.symbols[i % 2] && 'symbol order',
        bar.time !== SYNTH.startTime + Math.floor(i / 2) * SYNTH.barMs && 'time',
        bar.intervalMs !== SYNTH.barMs && 'intervalMs',
        bar.high < Math.max(bar.open, bar.close) && 'high',
        bar.low > Math.min(bar.open, bar.close) && 'low',
        ![bar.open, bar.high, bar.low, bar.close].every(onTick) && 'decimals',
        !(Number.isInteger(bar.volume) && bar.volume > 0) && 'volume',
        before !== undefined && bar.open !== before.close && 'open != previous close',
      ].filter((x): x is string => x !== false);
      return broken.length > 0 ? [`bar ${i}: ${broken.join(', ')}`] : [];
    });
    expect(problems).toEqual([]);
    expect(new Set(all.map((b) => b.close)).size).toBeGreaterThan(1000);
  });

  it('with zero volatility the price grows exactly at the drift', () => {
    const all = bars(
      take(syntheticFeed({ ...SYNTH, symbols: ['D'], drift: 0.1, volatility: 0, barMs: 86_400_000 }), 365),
    );
    expect(all.at(-1)!.close).toBeCloseTo(100 * Math.exp(0.1), 3);
  });

  it('log returns have the volatility asked for', () => {
    const daily = bars(take(syntheticFeed({ ...SYNTH, symbols: ['V'], barMs: 86_400_000, drift: 0 }), 5000));
    const r = daily.map((b) => Math.log(b.close / b.open));
    const mean = r.reduce((s, x) => s + x, 0) / r.length;
    const sd = Math.sqrt(r.reduce((s, x) => s + (x - mean) ** 2, 0) / (r.length - 1));
    expect(sd / (0.2 * Math.sqrt(1 / 365))).toBeGreaterThan(0.95);
    expect(sd / (0.2 * Math.sqrt(1 / 365))).toBeLessThan(1.05);
  });

  it('is endless and restarts from the start time on each pass', () => {
    const feed = syntheticFeed(SYNTH);
    expect({ name: feed.name, endless: feed.endless, skipped: feed.skipped }).toEqual({
      name: 'synthetic',
      endless: true,
      skipped: 0,
    });
    expect(take(feed, 100_000)).toHaveLength(100_000);
    expect(take(feed, 1)[0]).toMatchObject({ bar: { time: SYNTH.startTime } });
  });

  it('bad options are refused, naming each problem', () => {
    const err = thrown(() => syntheticFeed({ ...SYNTH, symbols: [], startPrice: 0, barMs: 1.5 }));
    expect(err).toBeInstanceOf(FeedOptionsError);
    expect((err as FeedOptionsError).message).toBe(
      'syntheticFeed: symbols is empty; startPrice 0 is not a positive number; barMs 1.5 is not a positive integer',
    );
  });

  it('the seeded generator repeats per seed and key and stays in [0, 1)', () => {
    const draw = (seed: number, key: string) => Array.from({ length: 1000 }, seededPrng(seed, key));
    const a = draw(7, 'AAA');
    expect(draw(7, 'AAA')).toEqual(a);
    expect(draw(7, 'AAB')).not.toEqual(a);
    expect(draw(8, 'AAA')).not.toEqual(a);
    expect(a.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe('openFeed', () => {
  it('opens the feed its options name', () => {
    expect(openFeed({ feed: 'csv', file: shared(ORCL), symbol: 'ORCL' }).name).toBe('csv:orcl-1995-2014.csv');
    expect(openFeed({ feed: 'ndjson', file: tempFile('', 'ndjson') }).name).toMatch(/^ndjson:/);
    expect(openFeed({ feed: 'synthetic', ...SYNTH }).endless).toBe(true);
  });

  it('an unknown feed from config is refused rather than returning nothing', () => {
    const fromConfig = JSON.parse('{"feed":"kafka"}') as Parameters<typeof openFeed>[0];
    expect(() => openFeed(fromConfig)).toThrow(FeedOptionsError);
  });
});
