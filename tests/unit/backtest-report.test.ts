import { describe, expect, it } from 'vitest';
import { renderReport } from '../../src/app/backtest/report-html.js';
import { ReportCollector } from '../../src/app/backtest/report.js';
import {
  equityCurve,
  periodReturns,
  reportStats,
  roundTrips,
  sharpeBasisOf,
  sharpeRatio,
  type ReportFill,
} from '../../src/app/backtest/report-stats.js';

const DAY = 86_400_000;
const t0 = Date.UTC(2020, 0, 1);
const day = (i: number) => t0 + i * DAY;
const fill = (i: number, side: 'buy' | 'sell', qty: number, price: number, fee = 0, symbol = 'ACME'): ReportFill => ({
  time: day(i),
  symbol,
  side,
  qty,
  price,
  fee,
});
const times = (n: number) => Array.from({ length: n }, (_, i) => day(i));

describe('backtest report statistics', () => {
  it('a long trip closed at a profit and a short trip closed at a loss are two round trips, net of fees split by quantity', () => {
    const trips = roundTrips(
      [
        fill(1, 'buy', 10, 100, 1),
        fill(3, 'sell', 10, 110, 1),
        fill(4, 'sell', 5, 50, 0.5),
        fill(6, 'buy', 5, 52, 0.5),
      ],
      times(8),
      new Map([['ACME', 52]]),
    );
    expect(
      trips.map((t) => ({
        dir: t.direction,
        qty: t.qty,
        entry: t.entryPrice,
        exit: t.exitPrice,
        pnl: t.pnl,
        bars: t.bars,
        open: t.open,
      })),
    ).toEqual([
      { dir: 'long', qty: 10, entry: 100, exit: 110, pnl: 98, bars: 2, open: false },
      { dir: 'short', qty: 5, entry: 50, exit: 52, pnl: -11, bars: 2, open: false },
    ]);
    expect(trips[0]!.returnPct).toBeCloseTo(98 / 1000, 12);
  });

  it('a fill through zero closes one trip and opens the next with the rest; one still open at the end is marked at the last close', () => {
    const trips = roundTrips(
      [fill(0, 'buy', 10, 100, 3), fill(2, 'buy', 10, 110), fill(3, 'sell', 30, 120, 3)],
      times(6),
      new Map([['ACME', 100]]),
    );
    expect(trips).toHaveLength(2);
    // long 20 at an average of 105 closed at 120: 300, less the first fill's fee (3) and two thirds of the reversal's
    // (2)
    expect(trips[0]).toMatchObject({
      direction: 'long',
      qty: 20,
      entryPrice: 105,
      exitPrice: 120,
      pnl: 295,
      open: false,
    });
    // short 10 from 120, marked at 100: +200, less its third of the reversal's fee
    expect(trips[1]).toMatchObject({
      direction: 'short',
      qty: 10,
      entryPrice: 120,
      exitPrice: undefined,
      exitTime: undefined,
      pnl: 199,
      open: true,
      bars: 2,
    });
  });

  it('partial exits realise at average cost and keep the trip open until flat', () => {
    const trips = roundTrips(
      [fill(0, 'buy', 10, 100), fill(1, 'sell', 4, 90), fill(2, 'sell', 6, 130)],
      times(3),
      new Map(),
    );
    expect(trips).toEqual([
      expect.objectContaining({ qty: 10, pnl: -40 + 180, exitPrice: (4 * 90 + 6 * 130) / 10, open: false }),
    ]);
  });

  it('the equity curve holds the last snapshot at or before each bar; drawdown counts a fall at a fill that the close recovers', () => {
    const bars = [0, 1, 2, 3].map((i) => ({ symbol: 'ACME', time: day(i), close: 1 }));
    const snaps = [
      { time: day(1), equity: 1100, exposed: true },
      { time: day(2), equity: 880, exposed: true }, // at the fill (the open)
      { time: day(2), equity: 1045, exposed: false }, // at the close
    ];
    const curve = equityCurve(bars, snaps, 1000);
    expect(curve.map((p) => [p.equity, p.exposed])).toEqual([
      [1000, false],
      [1100, true],
      [1045, false],
      [1045, false],
    ]);
    expect(curve.map((p) => Math.round(p.drawdown * 1e12) / 1e12)).toEqual([0, 0, 0.2, 0.05]);
    const stats = reportStats(curve, [], [], 1000);
    expect(stats.maxDrawdown).toBe(0.2);
    expect(stats.exposure).toBe(0.25);
    expect(stats.totalReturn).toBeCloseTo(0.045, 12);
  });

  it('Sharpe is the mean over the sample deviation of daily returns times sqrt(252); intraday bars are taken per UTC day', () => {
    expect(sharpeRatio([0.01, -0.01, 0.02, 0], 252)).toBeCloseTo((0.005 / Math.sqrt(0.00016667)) * Math.sqrt(252), 3);
    expect(sharpeRatio([0.01], 252)).toBeUndefined();
    expect(sharpeRatio([0.01, 0.01], 252)).toBeUndefined(); // no variation
    expect(sharpeBasisOf(times(10))).toMatchObject({ returns: 'daily', intraday: false });
    expect(sharpeBasisOf(times(10).map((t) => t * 7))).toMatchObject({ returns: 'weekly', periodsPerYear: 52 });
    const hourly = Array.from({ length: 48 }, (_, i) => t0 + i * 3_600_000);
    expect(sharpeBasisOf(hourly)).toMatchObject({ returns: 'daily', intraday: true });
    const curve = hourly.map((time, i) => ({ time, equity: i < 24 ? 1000 + i : 2000, drawdown: 0, exposed: true }));
    expect(periodReturns(curve, sharpeBasisOf(hourly), 1000)).toEqual([1023 / 1000 - 1, 2000 / 1023 - 1]);
  });

  it('CAGR over a doubling in one year is 100%; win rate counts closed round trips only', () => {
    const curve = [
      { time: t0, equity: 1000, drawdown: 0, exposed: false },
      { time: t0 + 365.25 * DAY, equity: 2000, drawdown: 0, exposed: false },
    ];
    const trips = roundTrips(
      [
        fill(0, 'buy', 1, 10),
        fill(1, 'sell', 1, 11),
        fill(2, 'buy', 1, 10),
        fill(3, 'sell', 1, 9),
        fill(4, 'buy', 1, 10),
      ],
      times(6),
      new Map([['ACME', 12]]),
    );
    const stats = reportStats(curve, trips, [], 1000);
    expect(stats.cagr).toBeCloseTo(1, 12);
    expect({ winRate: stats.winRate, closed: stats.closedTrades, open: stats.openTrades }).toEqual({
      winRate: 0.5,
      closed: 2,
      open: 1,
    });
  });

  it('the HTML escapes every string it shows and cannot close its own script elements', () => {
    const collector = new ReportCollector();
    const env = (type: string, time: number, payload: unknown) => ({
      id: `${type}-${time}`,
      type,
      v: 1,
      source: 't',
      correlationId: 'c',
      time,
      payload,
    });
    const sym = '</script><img src=x onerror=alert(1)>';
    collector.onEnvelope(
      env('market.bar', day(0), { symbol: sym, time: day(0), open: 1, high: 1, low: 1, close: 1, volume: 1 }),
    );
    collector.onEnvelope(env('order.filled', day(0), { symbol: sym, side: 'buy', qty: 1, price: 1, fee: 0 }));
    const html = renderReport(
      collector.data(1000, {
        symbol: sym,
        strategy: 'x & y',
        data: '<b>f</b>.csv',
        costs: 'none',
        generatedAt: new Date(t0),
      }),
    );
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>f</b>');
    expect(html).toContain('&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(html.match(/<\/script>/g)).toHaveLength(3); // the data, uPlot and the chart script
  });
});
