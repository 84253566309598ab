import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ReportCollector } from '../../src/app/backtest/report.js';
import { runBacktest } from '../../src/app/backtest/run-backtest.js';
import { backtestCommand } from '../../src/cli/backtest-command.js';
import { artifactDir, chromiumOrSkip, launchChromium } from '../helpers/browser.js';
import { randomWalkCsv } from '../helpers/csv.js';
import { sharedFile } from '../helpers/test-data.js';

const chromiumPath = chromiumOrSkip('the backtest report browser test');
const dir = mkdtempSync(join(tmpdir(), 'sextant-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `sextant backtest ... --report file` (its console output kept quiet). */
async function backtestWithReport(args: string[]): Promise<void> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    expect(await backtestCommand(args)).toBe(0);
  } finally {
    log.mockRestore();
  }
}

const statOf = (html: string, key: string) =>
  new RegExp(`<div data-stat="${key}"><dt>[^<]*</dt><dd>([^<]*)</dd>`).exec(html)?.[1];

describe('backtest report', () => {
  it('ORCL 1995-2014 SMA(10,30): the statistics agree with the run, and the round trips add up to its PnL', async () => {
    const collector = new ReportCollector();
    const result = await runBacktest({
      data: sharedFile('market/orcl-1995-2014.csv'),
      symbol: 'ORCL',
      strategy: { kind: 'sma-cross', id: 'sma-cross', fast: 10, slow: 30, size: 100 },
      cash: 100_000,
      transport: 'memory',
      onEnvelope: collector.onEnvelope,
    });
    const { stats, trips, curve } = collector.data(100_000, {
      symbol: 'ORCL',
      strategy: 'sma-cross',
      data: 'orcl.csv',
      costs: 'none',
      generatedAt: new Date(),
    });
    expect(stats.finalEquity).toBeCloseTo(102_646.07, 2);
    expect(stats.finalEquity).toBeCloseTo(result.portfolio.equity, 6);
    expect(stats.maxDrawdown).toBeCloseTo(result.maxDrawdown, 12);
    expect({ fills: stats.fills, closed: stats.closedTrades, open: stats.openTrades, bars: stats.bars }).toEqual({
      fills: 195,
      closed: 97,
      open: 1,
      bars: 5036,
    });
    expect(trips.reduce((s, t) => s + t.pnl, 0)).toBeCloseTo(result.portfolio.equity - 100_000, 6);
    expect(stats.sharpeBasis).toEqual({ returns: 'daily', periodsPerYear: 252, intraday: false, calendar: 'weekdays' });
    expect(stats.exposure).toBeGreaterThan(0.3);
    expect(stats.exposure).toBeLessThan(0.8);
    expect(curve.filter((p) => p.exposed).length).toBe(Math.round(stats.exposure * stats.bars));
  });

  describe.skipIf(!chromiumPath)('in a real browser', () => {
    let browser: Browser | undefined;
    beforeAll(async () => {
      browser = await launchChromium(chromiumPath!);
    });
    afterAll(async () => {
      await browser?.close();
    });

    for (const { name, args, trades, lines } of [
      {
        name: 'orcl',
        args: [
          '--data',
          sharedFile('market/orcl-1995-2014.csv'),
          '--symbol',
          'ORCL',
          '--fast',
          '10',
          '--slow',
          '30',
          '--size',
          '100',
          '--cash',
          '100000',
        ],
        trades: 98,
        lines: ['SMA10', 'SMA30'],
      },
      {
        name: 'random-walk',
        args: ['--data', randomWalkCsv(400, 11), '--symbol', 'WALK', '--fast', '3', '--slow', '12', '--fee-bps', '5'],
        trades: undefined,
        lines: ['SMA3', 'SMA12'],
      },
    ]) {
      it(`opens on its own (no network) with the equity and drawdown charts, price with indicator lines, statistics and trades table [${name}]`, async () => {
        const file = join(dir, `${name}.html`);
        await backtestWithReport([...args, '--report', file]);
        const html = readFileSync(file, 'utf8');
        const closed = Number(/^(\d+)/.exec(statOf(html, 'trades') ?? '')?.[1]);
        const context = await browser!.newContext({ viewport: { width: 1200, height: 900 }, offline: true });
        const requests: string[] = [];
        context.on('request', (r) => requests.push(r.url()));
        const page = await context.newPage();
        const errors: string[] = [];
        page.on('pageerror', (err) => errors.push(err.message));
        await page.goto(pathToFileURL(file).href);
        await page.locator('body[data-charts=ready]').waitFor();
        expect(requests).toEqual([pathToFileURL(file).href]); // everything is inline
        expect(errors).toEqual([]);
        for (const chart of ['#equity', '#drawdown', '#price-0']) {
          const pixels = await page.evaluate<number>(
            `(() => { const c = document.querySelector('${chart} canvas'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++; return n; })()`,
          );
          expect(pixels).toBeGreaterThan(100);
        }
        const rows = await page.locator('#trades tbody tr').count();
        expect(rows).toBeGreaterThan(0);
        expect(rows - (await page.locator('#trades tbody tr.open').count())).toBe(closed);
        if (trades !== undefined) expect(rows).toBe(trades);
        for (const label of [
          'Total return',
          'CAGR',
          'Max drawdown',
          'Sharpe',
          'Sortino',
          'Calmar',
          'Volatility',
          'Longest drawdown',
          'Profit factor',
          'Expectancy',
          'Average win',
          'Average loss',
          'Longest losing streak',
          'Win rate',
          'Trades',
          'Exposure',
        ])
          await page.locator('#summary dt', { hasText: label }).first().waitFor();
        // the equity chart carries the buy-and-hold benchmark; the price chart, buy and sell markers
        await page.locator('#equity .u-legend', { hasText: 'Buy and hold' }).waitFor();
        await page.locator('#price-0 .u-legend', { hasText: 'Sell' }).waitFor();
        // and the strategy's indicator lines over the price, named in its legend
        for (const line of lines) await page.locator('#price-0 .u-legend', { hasText: line }).waitFor();
        expect(await page.locator('#price-0').getAttribute('data-lines')).toBe(String(lines.length));
        expect(await page.locator('#periods tbody tr').count()).toBeGreaterThan(0);
        expect(await page.locator('#summary [data-stat=total-return] dd').textContent()).toMatch(/^-?\d+\.\d\d%$/);
        await page.screenshot({
          path: join(artifactDir('e2e'), `backtest-report-${name}.png`),
          fullPage: true,
          scale: 'css',
        });
        await context.close();
      });
    }
  });
});
