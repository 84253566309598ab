import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededPrng } from '../../agents/data/index.js';
import { compound, monteCarlo, quantile, tradeReturns } from '../../src/app/research/index.js';
import type { EquityPoint, RoundTrip } from '../../src/app/backtest/index.js';

const RETURNS = [0.05, -0.03, 0.02, -0.1, 0.08, 0.01, -0.02, 0.04, -0.06, 0.03];

describe('Monte Carlo on trade returns', () => {
  it('a seeded bootstrap run gives pinned percentiles, and the same seed gives the same result', () => {
    const run = () => monteCarlo(RETURNS, { runs: 1000, method: 'bootstrap', ruin: 0.2 }, seededPrng(42, 'montecarlo'));
    const m = run();
    expect(m.finalReturn.p5).toBeCloseTo(-0.2424252259984292, 12);
    expect(m.finalReturn.p50).toBeCloseTo(0.019156049848957468, 12);
    expect(m.finalReturn.p95).toBeCloseTo(0.32619680240313653, 12);
    expect(m.maxDrawdown.p5).toBeCloseTo(0.03, 12);
    expect(m.maxDrawdown.p50).toBeCloseTo(0.12498670674999995, 12);
    expect(m.maxDrawdown.p95).toBeCloseTo(0.2854987684494031, 12);
    expect(m.probabilityOfRuin).toBe(0.205);
    expect(run()).toEqual(m);
    // the trades as they happened: the product of (1 + r), and the deepest fall of that path
    expect(m.actual.finalReturn).toBeCloseTo(RETURNS.reduce((p, r) => p * (1 + r), 1) - 1, 12);
    // peak 1.05 after the first trade, trough after -3%, +2%, -10%: 1 - 0.97 x 1.02 x 0.9
    expect(m.actual.maxDrawdown).toBeCloseTo(1 - 0.97 * 1.02 * 0.9, 12);
  });

  it('shuffling only reorders: every run ends at the same compounded return, only the path differs', () => {
    const m = monteCarlo(RETURNS, { runs: 200, method: 'shuffle', ruin: 0.5 }, seededPrng(1));
    const product = RETURNS.reduce((p, r) => p * (1 + r), 1) - 1;
    for (const f of m.samples.finalReturn) expect(f).toBeCloseTo(product, 12);
    expect(m.maxDrawdown.p95).toBeGreaterThan(m.maxDrawdown.p5);
  });

  it('drawdowns stay within [0, 100%] for any trade returns, losses beyond the account included', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 1, maxLength: 40 }),
        fc.integer(),
        fc.constantFrom('bootstrap' as const, 'shuffle' as const),
        (returns, seed, method) => {
          const m = monteCarlo(returns, { runs: 50, method, ruin: 0.5 }, seededPrng(seed));
          for (const dd of m.samples.maxDrawdown) {
            expect(dd).toBeGreaterThanOrEqual(0);
            expect(dd).toBeLessThanOrEqual(1);
          }
          for (const f of m.samples.finalReturn) expect(f).toBeGreaterThanOrEqual(-1);
          expect(m.probabilityOfRuin).toBeGreaterThanOrEqual(0);
          expect(m.probabilityOfRuin).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 300 },
    );
    // a loss of the whole account is ruin, not a negative equity
    expect(compound([0.5, -2, 0.5])).toEqual({ finalReturn: -1, maxDrawdown: 1 });
  });

  it('quantiles interpolate between ranks (numpy linear)', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4, 5], 0.05)).toBeCloseTo(1.2, 12);
    expect(quantile([7], 0.95)).toBe(7);
  });

  it('a trade return is its PnL over the equity at the last bar before it opened', () => {
    const curve: EquityPoint[] = [
      { time: 1, equity: 100_000, drawdown: 0, exposed: false },
      { time: 2, equity: 100_000, drawdown: 0, exposed: true },
      { time: 3, equity: 110_000, drawdown: 0, exposed: false },
      { time: 4, equity: 110_000, drawdown: 0, exposed: true },
      { time: 5, equity: 99_000, drawdown: 0.1, exposed: false },
    ];
    const trip = (entryTime: number, exitTime: number, pnl: number, open = false) =>
      ({ entryTime, exitTime: open ? undefined : exitTime, pnl, open }) as unknown as RoundTrip;
    expect(tradeReturns([trip(4, 5, -11_000), trip(2, 3, 10_000), trip(5, 5, 50, true)], curve, 100_000)).toEqual([
      0.1, -0.1,
    ]);
  });
});
