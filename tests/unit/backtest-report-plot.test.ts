import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runBacktest } from '../../src/app/backtest/run-backtest.js';
import { backtestCommand } from '../../src/cli/backtest-command.js';
import { randomWalkCsv } from '../helpers/csv.js';

const dir = mkdtempSync(join(tmpdir(), 'sextant-report-plot-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `sextant backtest` with these arguments; returns what it printed. */
async function backtest(args: string[]): Promise<string> {
  const printed: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void printed.push(a.join(' ')));
  const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    expect(await backtestCommand(args)).toBe(0);
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
  return printed.join('\n');
}

type PriceData = { symbol: string; c: number[]; l: { n: string; o: boolean; v: (number | null)[] }[] };

const reportData = (html: string) =>
  JSON.parse(/<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)![1]!) as {
    p: PriceData[];
  };

/** The simple moving average of `n` closes ending at each index (null before n closes). */
const smaOf = (closes: readonly number[], n: number) =>
  closes.map((_, i) => (i + 1 < n ? null : closes.slice(i + 1 - n, i + 1).reduce((a, b) => a + b, 0) / n));

describe('backtest report: the strategy indicator lines', () => {
  const csv = randomWalkCsv(300, 5);

  it('a report of an SMA(5,20) backtest draws SMA5 and SMA20 over the price, equal to the SMAs of the closes', async () => {
    const file = join(dir, 'sma.html');
    await backtest(['--data', csv, '--symbol', 'WALK', '--fast', '5', '--slow', '20', '--report', file]);
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('WALK: price, indicators, entries and exits');
    const [price] = reportData(html).p;
    expect(price!.symbol).toBe('WALK');
    expect(price!.l.map((l) => [l.n, l.o])).toEqual([
      ['SMA5', false],
      ['SMA20', false],
    ]);
    const [fast, slow] = price!.l;
    for (const [line, n] of [
      [fast!, 5],
      [slow!, 20],
    ] as const) {
      const expected = smaOf(price!.c, n);
      expect(line.v).toHaveLength(price!.c.length);
      line.v.forEach((v, i) => (expected[i] === null ? expect(v).toBeNull() : expect(v).toBeCloseTo(expected[i]!, 9)));
    }
  });

  it('macd draws its lines in a pane of their own under the price chart', async () => {
    const file = join(dir, 'macd.html');
    await backtest(['--data', csv, '--symbol', 'WALK', '--strategy', 'macd', '--report', file]);
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('<div id="price-0-own" class="chart"></div>');
    expect(reportData(html).p[0]!.l.map((l) => [l.n, l.o])).toEqual([
      ['MACD', true],
      ['signal', true],
    ]);
  });

  it('without a report nothing is plotted: no strategy.plotted on the bus, and --json carries no lines', async () => {
    const types = new Set<string>();
    await runBacktest({
      data: csv,
      symbol: 'WALK',
      strategy: { id: 'sma-cross', strategy: 'sma-cross', params: { fast: 5, slow: 20, size: 10 } },
      cash: 100_000,
      transport: 'memory',
      onEnvelope: (env) => void types.add(env.type),
    });
    expect(types.has('market.bar')).toBe(true);
    expect(types.has('strategy.plotted')).toBe(false);
    const json = await backtest(['--data', csv, '--symbol', 'WALK', '--fast', '5', '--slow', '20', '--json']);
    expect(json).not.toMatch(/SMA5|plotted/);
  });
});
