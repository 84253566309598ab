import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { seededPrng } from '../../agents/data/index.js';
import {
  gridPoints,
  paramFields,
  parseDimension,
  randomPoints,
  rank,
  type TrialResult,
} from '../../src/app/research/index.js';
import {
  buyAndHold,
  calendarReturns,
  longestDrawdownMs,
  sharpeBasisOf,
  sortinoRatio,
} from '../../src/app/backtest/index.js';

const schema = z.object({
  fast: z.number().int().min(1).default(10),
  stop: z.number().positive().default(0.05),
  mode: z.enum(['a', 'b']).default('a'),
});
const fields = paramFields(schema);
const dim = (s: string) => parseDimension(s, fields, 'test');

describe('search space from a strategy schema', () => {
  it('reads ranges with steps, integer ranges, lists, and counts steps without drift', () => {
    expect(dim('fast=5..20:5')).toEqual({ name: 'fast', kind: 'values', values: [5, 10, 15, 20] });
    expect(dim('stop=0.1..0.3:0.1')).toEqual({ name: 'stop', kind: 'values', values: [0.1, 0.2, 0.3] });
    expect(dim('mode=a,b')).toEqual({ name: 'mode', kind: 'values', values: ['a', 'b'] });
    expect(gridPoints([dim('fast=1..3')])).toEqual([{ fast: 1 }, { fast: 2 }, { fast: 3 }]);
    expect(gridPoints([dim('fast=1,2'), dim('mode=a,b')])).toEqual([
      { fast: 1, mode: 'a' },
      { fast: 1, mode: 'b' },
      { fast: 2, mode: 'a' },
      { fast: 2, mode: 'b' },
    ]);
  });

  it('refuses what cannot be meant, naming the parameter', () => {
    expect(() => dim('slow=1..5')).toThrow(/test has no parameter "slow"; its parameters are fast, stop, mode/);
    expect(() => dim('fast=1.5..3')).toThrow(/fast is an integer, so the range needs integer ends/);
    expect(() => dim('fast=1..5:0.5')).toThrow(/the step must be too/);
    expect(() => dim('fast')).toThrow(/--grid takes name=lo..hi/);
    expect(() => gridPoints([dim('stop=0.01..0.1')])).toThrow(/has no step: a grid needs one/);
  });

  it('random search: the same seed draws the same distinct points, within the ranges, on the integer lattice', () => {
    const dims = [dim('fast=5..50'), dim('stop=0.01..0.1')];
    const a = randomPoints(dims, 20, seededPrng(7, 'optimize'));
    const b = randomPoints(dims, 20, seededPrng(7, 'optimize'));
    const c = randomPoints(dims, 20, seededPrng(8, 'optimize'));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(new Set(a.map((p) => JSON.stringify(p))).size).toBe(20);
    for (const p of a) {
      expect(Number.isInteger(p.fast)).toBe(true);
      expect(p.fast as number).toBeGreaterThanOrEqual(5);
      expect(p.fast as number).toBeLessThanOrEqual(50);
      expect(p.stop as number).toBeGreaterThanOrEqual(0.01);
      expect(p.stop as number).toBeLessThanOrEqual(0.1);
    }
    // a small finite space gives every point once, never more
    expect(randomPoints([dim('fast=1..3')], 10, seededPrng(1))).toHaveLength(3);
  });
});

describe('ranking', () => {
  const trial = (fast: number, totalReturn: number, closedTrades: number, sharpe?: number) =>
    ({ params: { fast }, metrics: { totalReturn, closedTrades, sharpe } }) as unknown as TrialResult;

  it('best first; too few trades and undefined objectives last, in the given order, with the reason', () => {
    const r = rank([trial(1, 0.1, 5), trial(2, 0.3, 1), trial(3, 0.2, 5), trial(4, 0.2, 5)], 'return', 2);
    expect(r.map((t) => [t.params.fast, t.rank])).toEqual([
      [3, 1],
      [4, 2],
      [1, 3],
      [2, 4],
    ]);
    expect(r[3]!.excluded).toBe('1 closed trades, fewer than --min-trades 2');
    const s = rank([trial(1, 0, 5, undefined), trial(2, 0, 5, 1.5)], 'sharpe');
    expect(s.map((t) => t.params.fast)).toEqual([2, 1]);
    expect(s[1]!.excluded).toMatch(/sharpe is undefined/);
  });
});

describe('report statistics', () => {
  const DAY = 86_400_000;
  const point = (day: number, equity: number) => ({ time: day * DAY, equity, drawdown: 0, exposed: true });

  it('Sortino divides the mean by the downside deviation over all periods', () => {
    // mean 0.0125, downside sqrt((0.01^2 + 0.02^2) / 4) = 0.01118
    expect(sortinoRatio([0.05, -0.01, 0.03, -0.02], 1)).toBeCloseTo(0.0125 / Math.sqrt(0.0005 / 4), 10);
    expect(sortinoRatio([0.01, 0.02], 252)).toBeUndefined(); // no downside
  });

  it('drawdown duration runs from the peak to the recovery, or to the end when it never recovers', () => {
    expect(longestDrawdownMs([point(0, 100), point(1, 90), point(5, 101), point(6, 100), point(8, 100.5)])).toBe(
      5 * DAY,
    );
    expect(longestDrawdownMs([point(0, 100), point(2, 120), point(3, 90), point(20, 95)])).toBe(18 * DAY);
    // measured from the curve's own start, not from the epoch
    expect(longestDrawdownMs([point(1000, 100), point(1001, 101), point(1002, 102)])).toBe(DAY);
  });

  it('calendar returns compound to the total return', () => {
    const curve = [point(0, 100), point(20, 110), point(40, 99), point(400, 120)];
    const months = calendarReturns(curve, 100, 'month');
    expect(months.map((m) => m.period)).toEqual(['1970-01', '1970-02', '1971-02']);
    expect(months.reduce((p, m) => p * (1 + m.return), 1)).toBeCloseTo(1.2, 12);
    expect(calendarReturns(curve, 100, 'year').map((y) => y.period)).toEqual(['1970', '1971']);
  });

  it('buy and hold splits the equity equally between symbols at their first close', () => {
    const bh = buyAndHold(
      [
        { symbol: 'A', time: 0, close: 10 },
        { symbol: 'B', time: 0, close: 50 },
        { symbol: 'A', time: 1, close: 20 },
        { symbol: 'B', time: 1, close: 25 },
      ],
      1000,
    );
    expect(bh).toEqual([
      { time: 0, equity: 1000 },
      { time: 1, equity: 1000 + 500 - 250 },
    ]);
  });

  it('24/7 data is annualised over 365 days, weekday data over 252, and the calendar is stated', () => {
    const daily = Array.from({ length: 30 }, (_, i) => Date.UTC(2021, 0, 1) + i * DAY);
    expect(sharpeBasisOf(daily)).toEqual({ returns: 'daily', periodsPerYear: 365, intraday: false, calendar: '24/7' });
    const weekdays = daily.filter((t) => ![0, 6].includes(new Date(t).getUTCDay()));
    expect(sharpeBasisOf(weekdays)).toMatchObject({ periodsPerYear: 252, calendar: 'weekdays' });
  });
});
