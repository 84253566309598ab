import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMA, RSI } from '../../agents/strategy/sdk/index.js';
import {
  exactSmaOf,
  fsum,
  pushWindow,
  smaDiffSign,
  smaOf,
  window,
  windowCount,
  windowValues,
  type Window,
} from '../../agents/strategy/indicators.js';

const naiveSum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

const windowOf = (size: number, values: readonly number[]): Window => values.reduce(pushWindow, window(size));

const constant = (x: number, n: number) => Array.from({ length: n }, () => x);

const pushEma = EMA.next;
const pushRsi = RSI.next;
const feedEma = (period: number, xs: readonly number[]) => xs.reduce(pushEma, EMA.init(period));
const feedRsi = (period: number, xs: readonly number[]) => xs.reduce(pushRsi, RSI.init(period));

describe('fsum', () => {
  it('ten 0.1s sum to exactly 1 where a running sum gives 0.9999999999999999', () => {
    const tenths = constant(0.1, 10);
    expect(naiveSum(tenths)).not.toBe(1);
    expect(fsum(tenths)).toBe(1);
  });

  it('a huge value and its negation cancel without losing the small one between them', () => {
    expect(naiveSum([1e100, 1, -1e100])).toBe(0);
    expect(fsum([1e100, 1, -1e100])).toBe(1);
  });

  it('small terms that each vanish against 1 still add up when summed exactly', () => {
    expect(naiveSum([1, 1e-16, 1e-16])).toBe(1);
    expect(fsum([1, 1e-16, 1e-16])).toBe(1.0000000000000002);
  });

  it('sums only the requested range [from, to)', () => {
    expect(fsum([100, 0.1, 0.2, 0.3, 100], 1, 4)).toBe(0.6);
    expect(naiveSum([0.1, 0.2, 0.3])).not.toBe(0.6);
  });

  it('an empty range sums to 0', () => {
    expect(fsum([])).toBe(0);
    expect(fsum([1, 2, 3], 2, 2)).toBe(0);
  });

  it('consecutive calls do not leak partials into each other', () => {
    expect(fsum([1e100, 1])).toBe(1e100);
    expect(fsum([0.5, 0.25])).toBe(0.75);
  });
});

describe('moving averages', () => {
  it('smaOf and exactSmaOf are undefined until the window holds the period', () => {
    const w = windowOf(4, [1, 2, 3]);
    expect(smaOf(w, 4)).toBeUndefined();
    expect(exactSmaOf(w, 4)).toBeUndefined();
    expect(smaOf(w, 3)).toBe(2);
    expect(exactSmaOf(w, 2)).toBe(2.5);
  });

  it('averages only the last `period` values', () => {
    const w = windowOf(4, [10, 20, 30, 40, 50, 60]);
    expect(smaOf(w, 4)).toBe(45);
    expect(smaOf(w, 2)).toBe(55);
    expect(exactSmaOf(w, 4)).toBe(45);
    expect(exactSmaOf(w, 2)).toBe(55);
  });

  it('exactSmaOf is the correctly rounded mean where the running sum drifts', () => {
    const w = windowOf(10, constant(0.1, 10));
    expect(smaOf(w, 10)).not.toBe(0.1);
    expect(exactSmaOf(w, 10)).toBe(0.1);
  });

  // The reference backtester computes fsum(window) / period: one correctly rounded sum, then one
  // division. That is what exactSmaOf reproduces (not the correctly rounded mean): fills on
  // other symbols are checked against that tool, so its arithmetic wins over a tidier one.
  it.each([
    [0.1, 3, 0.30000000000000004 / 3],
    [40.06, 30, 1201.8000000000002 / 30],
  ])('exactSmaOf of %d over %d bars is the reference arithmetic fsum/period', (price, period, expected) => {
    expect(exactSmaOf(windowOf(period, constant(price, period)), period)).toBe(expected);
  });
});

describe('smaDiffSign', () => {
  const signFor = (w: Window, fast: number, slow: number) =>
    smaDiffSign(smaOf(w, fast)!, smaOf(w, slow)!, w, fast, slow);
  const exactSign = (w: Window, fast: number, slow: number) => Math.sign(exactSmaOf(w, fast)! - exactSmaOf(w, slow)!);

  it('constant 1.1 with SMA2 vs SMA6 is a tie (0) although the plain averages differ', () => {
    const w = windowOf(6, constant(1.1, 6));
    expect(smaOf(w, 2)).not.toBe(smaOf(w, 6));
    expect(signFor(w, 2, 6)).toBe(0);
  });

  it('constant 0.1 with SMA2 vs SMA10 is a tie (0) although the plain averages differ', () => {
    const w = windowOf(10, constant(0.1, 10));
    expect(smaOf(w, 2)).not.toBe(smaOf(w, 10));
    expect(signFor(w, 2, 10)).toBe(0);
  });

  it('always agrees with the sign of the reference arithmetic, near ties included', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20000 }).map((c) => c / 100),
        fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 30, maxLength: 30 }),
        fc.constantFrom<[number, number]>([2, 3], [2, 6], [5, 20], [10, 30]),
        (base, jitter, [fast, slow]) => {
          const w = windowOf(
            30,
            jitter.map((j) => Math.max(0.01, base + j / 100)),
          );
          expect(signFor(w, fast, slow)).toBe(exactSign(w, fast, slow));
        },
      ),
      { numRuns: 3000 },
    );
    for (const [price, fast, slow] of [
      [0.1, 2, 3],
      [0.7, 2, 3],
      [40.06, 10, 30],
      [40.19, 10, 30],
    ] as const) {
      const w = windowOf(slow, constant(price, slow));
      expect(signFor(w, fast, slow)).toBe(exactSign(w, fast, slow));
    }
  });

  it('a clear difference decides from the plain averages', () => {
    expect(signFor(windowOf(4, [1, 2, 3, 4]), 2, 4)).toBe(1);
    expect(signFor(windowOf(4, [4, 3, 2, 1]), 2, 4)).toBe(-1);
  });
});

describe('Window', () => {
  it('keeps the last `size` values, oldest first', () => {
    const w = windowOf(3, [1, 2, 3, 4, 5]);
    expect(windowValues(w)).toEqual([3, 4, 5]);
    expect(windowCount(w)).toBe(3);
    expect(windowCount(windowOf(3, [1]))).toBe(1);
  });

  it('pushing onto an old state after a newer one was derived from it leaves the newer state intact', () => {
    const old = windowOf(3, [1, 2, 3]);
    const newer = pushWindow(old, 4);
    const branch = pushWindow(old, 99);
    expect(windowValues(newer)).toEqual([2, 3, 4]);
    expect(windowValues(branch)).toEqual([2, 3, 99]);
    expect(windowValues(old)).toEqual([1, 2, 3]);
    expect(smaOf(newer, 3)).toBe(3);
  });

  it('growing the newer state further never changes what the old state or a sibling sees', () => {
    const old = windowOf(4, [1, 2]);
    const a = pushWindow(old, 3);
    const b = pushWindow(old, 30);
    const a2 = pushWindow(pushWindow(a, 4), 5);
    const b2 = pushWindow(b, 40);
    expect(windowValues(old)).toEqual([1, 2]);
    expect(windowValues(a)).toEqual([1, 2, 3]);
    expect(windowValues(a2)).toEqual([2, 3, 4, 5]);
    expect(windowValues(b)).toEqual([1, 2, 30]);
    expect(windowValues(b2)).toEqual([1, 2, 30, 40]);
  });

  it('compaction keeps the last `size` values and bounds the buffer', () => {
    const values = Array.from({ length: 1000 }, (_, i) => i);
    let w = window(3);
    for (const x of values) {
      w = pushWindow(w, x);
      expect(w.buf.length).toBeLessThanOrEqual(12);
    }
    expect(windowValues(w)).toEqual([997, 998, 999]);
    expect(smaOf(w, 3)).toBe(998);
  });

  it('a state from before a compaction still sees its own values after later pushes', () => {
    const before = windowOf(2, [1, 2, 3, 4, 5, 6, 7, 8]);
    const after = pushWindow(pushWindow(before, 9), 10);
    expect(windowValues(before)).toEqual([7, 8]);
    expect(windowValues(after)).toEqual([9, 10]);
    expect(windowValues(pushWindow(before, 100))).toEqual([8, 100]);
    expect(windowValues(after)).toEqual([9, 10]);
  });
});

describe('EMA', () => {
  it('is undefined until `period` values, then seeded with their SMA', () => {
    const e = feedEma(3, [2, 4]);
    expect(e.value).toBeUndefined();
    expect(pushEma(e, 6).value).toBe(4);
  });

  it('smooths later values with k = 2 / (period + 1)', () => {
    // seed (2+4+6)/3 = 4; k = 0.5: 4 + 0.5*(8-4) = 6; 6 + 0.5*(3-6) = 4.5
    expect(feedEma(3, [2, 4, 6, 8]).value).toBe(6);
    expect(feedEma(3, [2, 4, 6, 8, 3]).value).toBe(4.5);
  });

  it('a period-4 EMA matches the hand-computed value', () => {
    // seed (10+11+12+13)/4 = 11.5; k = 0.4: 11.5 + 0.4*(16-11.5) = 13.3; 13.3 + 0.4*(11-13.3) = 12.38
    expect(feedEma(4, [10, 11, 12, 13, 16, 11]).value).toBeCloseTo(12.38, 12);
  });
});

describe("RSI (Wilder's)", () => {
  it('is undefined until `period` changes have been seen', () => {
    expect(feedRsi(3, [10, 11, 10]).value).toBeUndefined();
  });

  it('averages the first period changes plainly, then smooths with Wilder', () => {
    // changes +1, -1, +2: avgGain 1, avgLoss 1/3, RS 3 -> 75
    const first = feedRsi(3, [10, 11, 10, 12]);
    expect(first.value).toBeCloseTo(75, 10);
    // +1: avgGain (1*2 + 1)/3 = 1, avgLoss (1/3*2 + 0)/3 = 2/9, RS 4.5 -> 100 - 100/5.5
    const next = pushRsi(first, 13);
    expect(next.avgGain).toBeCloseTo(1, 12);
    expect(next.avgLoss).toBeCloseTo(2 / 9, 12);
    expect(next.value).toBeCloseTo(100 - 100 / 5.5, 10);
  });

  it('only gains give 100', () => {
    expect(feedRsi(3, [1, 2, 3, 4, 5]).value).toBe(100);
  });

  it('only losses give 0', () => {
    expect(feedRsi(3, [5, 4, 3, 2]).value).toBe(0);
  });

  it('a flat series gives 50', () => {
    expect(feedRsi(3, [7, 7, 7, 7, 7]).value).toBe(50);
  });

  it('updates return new state and leave the old one unchanged', () => {
    const r = feedRsi(2, [10, 11, 12]);
    const copy = { ...r };
    pushRsi(r, 5);
    expect(r).toEqual(copy);
  });
});
