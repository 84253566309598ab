import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runBacktest, type BacktestResult } from '../../src/app/backtest/run-backtest.js';
import { backtestCommand } from '../../src/cli/backtest-command.js';
import { sharedFile } from '../helpers/test-data.js';

const dir = mkdtempSync(join(tmpdir(), 'sextant-csv-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ORCL = sharedFile('market/orcl-1995-2014.csv');
const strategy = { id: 'sma-cross', strategy: 'sma-cross', params: { fast: 10, slow: 30, size: 100 } };

/** The ORCL Yahoo rows as {date, open, high, low, close, volume} strings, exactly as written. */
function orclRows() {
  const [, ...lines] = readFileSync(ORCL, 'utf8').trim().split('\n');
  return lines.map((line) => {
    const [date, open, high, low, close, , volume] = line.trim().split(',') as string[];
    return { date: date!, open: open!, high: high!, low: low!, close: close!, volume: volume! };
  });
}

function write(name: string, lines: string[]): string {
  const file = join(dir, name);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

async function backtest(data: string, extra: Partial<Parameters<typeof runBacktest>[0]> = {}) {
  return runBacktest({ data, symbol: 'ORCL', strategy, cash: 100_000, transport: 'memory', ...extra });
}

const summaryOf = (r: BacktestResult) => ({ bars: r.bars, fills: r.fills, finalValue: r.finalValue });

describe('backtest CSV input', () => {
  it('ORCL as semicolons, epoch milliseconds and shuffled columns fills exactly as the Yahoo file does', async () => {
    const file = write('orcl-epoch-ms.csv', [
      'Volume;Close;Timestamp;High;Low;Open',
      ...orclRows().map((r) => [r.volume, r.close, Date.parse(`${r.date}T00:00:00Z`), r.high, r.low, r.open].join(';')),
    ]);
    const yahoo = await backtest(ORCL);
    const mapped = await backtest(file);
    expect(yahoo.fills).toHaveLength(195);
    expect(yahoo.finalValue).toBe(102_646.07);
    expect(summaryOf(mapped)).toEqual(summaryOf(yahoo));
  });

  it('sextant backtest with a mapping file and --lenient on a headerless dd/mm/yyyy file: the same run, and the skipped rows in --json', async () => {
    const rows = orclRows().map((r) => {
      const [y, m, d] = r.date.split('-');
      return [`${d}/${m}/${y}`, r.open, r.high, r.low, r.close, r.volume].join('\t');
    });
    rows.splice(100, 0, '31/02/1995\t1\t1\t1\t1\t1'); // a day February does not have
    rows.splice(2000, 0, `${rows[1999]!.split('\t')[0]}\t2\t1\t3\t2\t5`); // high below low
    const file = write('orcl-no-header.tsv', rows);
    const map = join(dir, 'orcl.map.yaml');
    writeFileSync(
      map,
      [
        'header: false',
        'columns: { datetime: 0, open: 1, high: 2, low: 3, close: 4, volume: 5 }',
        'timeFormat: "%d/%m/%Y"',
      ].join('\n'),
    );
    const out: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    try {
      const args = ['--data', file, '--symbol', 'ORCL', '--fast', '10', '--slow', '30', '--size', '100'];
      expect(await backtestCommand([...args, '--csv-map', map, '--lenient', '--json'])).toBe(0);
    } finally {
      log.mockRestore();
    }
    const json = JSON.parse(out.join('\n')) as {
      bars: number;
      finalValue: number;
      fills: BacktestResult['fills'];
      skipped: BacktestResult['skipped'];
    };
    const yahoo = await backtest(ORCL);
    expect({ bars: json.bars, fills: json.fills, finalValue: json.finalValue }).toEqual(summaryOf(yahoo));
    expect(json.skipped).toEqual({
      count: 2,
      first: [
        {
          line: 101,
          problem: 'column 0 (time) "31/02/1995" is not a date in the form %d/%m/%Y',
        },
        { line: 2001, problem: 'High 1 is below Low 3' },
      ],
    });
  });

  it('the text summary of a lenient run counts the skipped rows and names the first ones', async () => {
    const lines = ['date,open,high,low,close,volume'];
    for (const [n, r] of orclRows().slice(0, 60).entries()) {
      lines.push([r.date, r.open, r.high, r.low, r.close, r.volume].join(','));
      if (n % 10 === 5) lines.push(`${r.date},null,null,null,null,null`); // a Yahoo row without prices
    }
    const file = write('orcl-nulls.csv', lines);
    const out: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    try {
      expect(await backtestCommand(['--data', file, '--symbol', 'ORCL', '--lenient'])).toBe(0);
    } finally {
      log.mockRestore();
    }
    const text = out.join('\n');
    expect(text).toContain('Backtest ORCL: 60 bars');
    expect(text).toContain('  skipped       6 rows of the data file (--lenient), the first:');
    expect(text).toContain(
      '                line 8: open "null" is not a positive number (the value is missing; feeds never fill one in)',
    );
    expect(text.match(/^ {16}line \d+: /gm)).toHaveLength(5);
  });

  it('an empty data file stops the backtest naming the file, with --lenient too', async () => {
    const file = write('empty.csv', ['date;open;high;low;close;volume']);
    await expect(backtest(file, { lenient: true })).rejects.toThrow(
      `${file}:1: the file has a header row but no data rows`,
    );
  });

  it('sextant start reads a CSV through the mapping file DATA_CSV_MAP names', async () => {
    const rows = orclRows()
      .slice(0, 300)
      .map((r) => {
        const [y, m, d] = r.date.split('-');
        return [`${d}/${m}/${y}`, r.open, r.high, r.low, r.close].join('|');
      });
    const file = write('orcl-pipes.txt', rows);
    const map = join(dir, 'orcl-pipes.json');
    writeFileSync(
      map,
      JSON.stringify({
        separator: '|',
        header: false,
        columns: { date: 0, open: 1, high: 2, low: 3, close: 4, volume: -1 },
        timeFormat: '%d/%m/%Y',
      }),
    );
    const root = resolve(import.meta.dirname, '../..');
    const run = (env: Record<string, string>) => {
      const child = spawn(process.execPath, [join(root, 'src/cli/sextant.mjs'), 'start', '--until-feed-end'], {
        cwd: root,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          DATA_FEED: 'csv',
          DATA_FILE: file,
          DATA_SYMBOLS: 'ORCL',
          DATA_PACE_MS: '0',
          STORE: 'off',
          PORT: '0',
          LOG_LEVEL: 'warn',
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      return new Promise<{ code: number | null; out: string }>((r) => child.once('exit', (code) => r({ code, out })));
    };
    const mapped = await run({ DATA_CSV_MAP: map });
    expect(mapped.out).toContain('The feed has ended.');
    expect(mapped.code).toBe(0);
    // without the mapping the same file is refused at start, naming it
    const unmapped = await run({});
    expect(unmapped.code).not.toBe(0);
    expect(unmapped.out).toContain(`${file}:1: unknown header`);
  }, 60_000);
});
