import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { unboundedLimits } from '../../agents/risk/index.js';
import { runBacktest } from '../../src/app/backtest/index.js';
import { backtestCommand } from '../../src/cli/backtest-command.js';
import { sharedFile } from '../helpers/test-data.js';

const dir = mkdtempSync(join(tmpdir(), 'sextant-multi-'));
const ORCL = sharedFile('market/orcl-1995-2014.csv');

/** ORCL with every price doubled and the second half of its days only: another symbol's series. */
function secondSeries(): string {
  const [head, ...rows] = readFileSync(ORCL, 'utf8').trim().split('\n');
  const out = rows.slice(rows.length >> 1).map((r) => {
    const [date, ...v] = r.split(',');
    return [date, ...v.map((x, i) => (i === 5 ? x : (Number(x) * 2).toFixed(4)))].join(',');
  });
  const file = join(dir, 'x2.csv');
  writeFileSync(file, [head, ...out].join('\n') + '\n');
  return file;
}

const sma = { id: 'sma-cross', strategy: 'sma-cross', params: { fast: 10, slow: 30, size: 100 } };

describe('multi-symbol backtests', () => {
  it('two files in one account: without limits each symbol trades as it would alone, and the account adds up', async () => {
    const x2 = secondSeries();
    const run = (data: Parameters<typeof runBacktest>[0]['data'], symbol = '') =>
      runBacktest({
        data,
        symbol,
        strategy: sma,
        cash: 1e9,
        transport: 'memory',
        limits: unboundedLimits,
        riskMode: 'off',
      });
    const both = await run([
      { file: ORCL, symbol: 'ORCL' },
      { file: x2, symbol: 'X2' },
    ]);
    const orcl = await run(ORCL, 'ORCL');
    const second = await run(x2, 'X2');
    expect(both.bars).toBe(orcl.bars + second.bars);
    expect(both.fills.filter((f) => f.symbol === 'ORCL')).toEqual(orcl.fills);
    expect(both.fills.filter((f) => f.symbol === 'X2')).toEqual(second.fills);
    // fills come in time order across the two files
    const dates = both.fills.map((f) => f.date);
    expect([...dates].sort()).toEqual(dates);
    const pnl = (r: typeof both) => r.finalValue - 1e9;
    expect(pnl(both)).toBeCloseTo(pnl(orcl) + pnl(second), 2);
  });

  it('the command takes --data SYM=file twice and reports each symbol', async () => {
    const out: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    try {
      const code = await backtestCommand(['--data', `ORCL=${ORCL}`, '--data', `X2=${secondSeries()}`, '--risk', 'off']);
      expect(code).toBe(0);
    } finally {
      log.mockRestore();
    }
    const text = out.join('\n');
    expect(text).toMatch(/^Backtest ORCL, X2: 7,554 bars/);
    expect(text).toMatch(/by symbol\n {4}ORCL {17}PnL [\d,.-]+ \(fees 0\.00\), \d+ fills, holding \d+\n {4}X2 {19}PnL/);
    out.length = 0;
    const json = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    try {
      expect(await backtestCommand(['--data', `ORCL=${ORCL}`, '--data', `X2=${secondSeries()}`, '--json'])).toBe(0);
    } finally {
      json.mockRestore();
    }
    const doc = JSON.parse(out.join('')) as {
      symbols: { symbol: string; fills: number }[];
      metrics: { sharpe: number };
    };
    expect(doc.symbols.map((x) => x.symbol)).toEqual(['ORCL', 'X2']);
    expect(doc.symbols.every((x) => x.fills > 0)).toBe(true);
    expect(typeof doc.metrics.sharpe).toBe('number');
  });

  it('a file without a symbol is refused, naming it', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(await backtestCommand(['--data', ORCL, '--data', 'X=other.csv'])).toBe(2);
      expect(err.mock.calls.flat().join(' ')).toMatch(/--data .*orcl-1995-2014\.csv has no symbol: add --symbol SYM/);
    } finally {
      err.mockRestore();
    }
  });
});
