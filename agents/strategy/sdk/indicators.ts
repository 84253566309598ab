/**
 * Streaming indicators for strategies, as plain data: each indicator is a small record (its
 * settings, what it must remember, and its current `value`) with a pure `next` that returns the
 * record after one more input. Records live in a strategy's per-symbol state, so they are
 * snapshotted, restored and replayed like every machine context.
 *
 * Why not instances of a library: `trading-signals` (the maintained library we measure these
 * against, in tests/unit/sdk-indicators.test.ts) keeps its state in `#private` class fields,
 * which no snapshot can save or restore, and seeds its EMA with the first value. The numbers here
 * agree with it where the definitions agree; where they differ, the choice is stated below.
 *
 * Seeding, explicitly:
 * - SMA: undefined until `period` values, then the mean of the last `period`.
 * - EMA: seeded with the SMA of its first `period` values (as TA-Lib and backtrader), then
 *   `ema += (x - ema) * 2 / (period + 1)`.
 * - RSI: Wilder's. The first `period` changes averaged plainly, then Wilder's smoothing.
 * - MACD: EMA(fast) - EMA(slow) of the input, each seeded as above; the signal line is the EMA of
 *   MACD values, seeded with the SMA of its first `signal` MACD values.
 * - Bollinger bands: SMA(period) +/- k x the population standard deviation of the same window.
 * - Donchian channels: the highest high and lowest low of the last `period` bars (this one included).
 */
import { fsum, pushWindow, window, windowCount, type Window } from '../indicators.js';

export { fsum, type Window } from '../indicators.js';

/** Simple moving average. */
export interface SmaState {
  readonly period: number;
  readonly window: Window;
  readonly value: number | undefined;
}

/** Exponential moving average (SMA-seeded). */
export interface EmaState {
  readonly period: number;
  readonly count: number;
  readonly seedSum: number;
  readonly value: number | undefined;
}

/** Wilder's relative strength index, 0..100. */
export interface RsiState {
  readonly period: number;
  readonly prev: number | undefined;
  readonly count: number;
  readonly avgGain: number;
  readonly avgLoss: number;
  readonly value: number | undefined;
}

export interface MacdValue {
  readonly macd: number;
  readonly signal: number;
  readonly histogram: number;
}

export interface MacdState {
  readonly fast: EmaState;
  readonly slow: EmaState;
  readonly signal: EmaState;
  readonly value: MacdValue | undefined;
}

export interface Bands {
  readonly upper: number;
  readonly middle: number;
  readonly lower: number;
}

export interface BollingerState {
  readonly period: number;
  readonly stddev: number;
  readonly window: Window;
  readonly value: Bands | undefined;
}

export interface DonchianState {
  readonly period: number;
  readonly highs: Window;
  readonly lows: Window;
  readonly value: Bands | undefined;
}

const positiveInt = (what: string, n: number) => {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${what} must be a positive whole number of bars, got ${n}`);
  return n;
};

/** The last `n` values of a window, oldest first, as [buf, from, to). */
const tail = (w: Window, n: number): [number[], number, number] => [w.buf, w.end - n, w.end];

export const SMA = {
  init: (period: number): SmaState => ({
    period: positiveInt('SMA period', period),
    window: window(period),
    value: undefined,
  }),
  next(s: SmaState, x: number): SmaState {
    const w = pushWindow(s.window, x);
    if (windowCount(w) < s.period) return { period: s.period, window: w, value: undefined };
    let sum = 0;
    for (let i = w.end - s.period; i < w.end; i++) sum += w.buf[i]!;
    return { period: s.period, window: w, value: sum / s.period };
  },
  /** The correctly rounded mean (exact sum): equal windows give exactly equal averages. */
  exact(s: SmaState): number | undefined {
    if (s.value === undefined) return undefined;
    return fsum(...tail(s.window, s.period)) / s.period;
  },
};

/**
 * Sign of a - b for two SMAs of the same series, with ties recognised exactly: a plain running
 * sum drifts in the last bits, so values within 1e-9 of each other are compared by their exact
 * sums. 0 when either is not ready.
 */
export function compareSma(a: SmaState, b: SmaState): -1 | 0 | 1 {
  if (a.value === undefined || b.value === undefined) return 0;
  const diff = a.value - b.value;
  if (Math.abs(diff) > 1e-9 * Math.max(Math.abs(a.value), Math.abs(b.value))) return diff > 0 ? 1 : -1;
  const exact = SMA.exact(a)! - SMA.exact(b)!;
  return exact > 0 ? 1 : exact < 0 ? -1 : 0;
}

export const EMA = {
  init: (period: number): EmaState => ({
    period: positiveInt('EMA period', period),
    count: 0,
    seedSum: 0,
    value: undefined,
  }),
  next(e: EmaState, x: number): EmaState {
    const count = e.count + 1;
    if (e.value !== undefined)
      return { period: e.period, count, seedSum: e.seedSum, value: e.value + (x - e.value) * (2 / (e.period + 1)) };
    const seedSum = e.seedSum + x;
    return { period: e.period, count, seedSum, value: count === e.period ? seedSum / e.period : undefined };
  },
};

export const RSI = {
  init: (period = 14): RsiState => ({
    period: positiveInt('RSI period', period),
    prev: undefined,
    count: 0,
    avgGain: 0,
    avgLoss: 0,
    value: undefined,
  }),
  next(r: RsiState, x: number): RsiState {
    if (r.prev === undefined) return { ...r, prev: x };
    const change = x - r.prev;
    const gain = change > 0 ? change : 0;
    const loss = change < 0 ? -change : 0;
    const count = r.count + 1;
    const first = count <= r.period;
    const avgGain = first ? r.avgGain + (gain - r.avgGain) / count : (r.avgGain * (r.period - 1) + gain) / r.period;
    const avgLoss = first ? r.avgLoss + (loss - r.avgLoss) / count : (r.avgLoss * (r.period - 1) + loss) / r.period;
    const value =
      count < r.period ? undefined : avgLoss === 0 ? (avgGain === 0 ? 50 : 100) : 100 - 100 / (1 + avgGain / avgLoss);
    return { period: r.period, prev: x, count, avgGain, avgLoss, value };
  },
};

export const MACD = {
  init: (fast = 12, slow = 26, signal = 9): MacdState => {
    if (fast >= slow) throw new RangeError(`MACD fast (${fast}) must be shorter than slow (${slow})`);
    return { fast: EMA.init(fast), slow: EMA.init(slow), signal: EMA.init(signal), value: undefined };
  },
  next(m: MacdState, x: number): MacdState {
    const fast = EMA.next(m.fast, x);
    const slow = EMA.next(m.slow, x);
    if (fast.value === undefined || slow.value === undefined) return { fast, slow, signal: m.signal, value: undefined };
    const macd = fast.value - slow.value;
    const signal = EMA.next(m.signal, macd);
    const value =
      signal.value === undefined ? undefined : { macd, signal: signal.value, histogram: macd - signal.value };
    return { fast, slow, signal, value };
  },
};

export const BollingerBands = {
  init: (period = 20, stddev = 2): BollingerState => ({
    period: positiveInt('Bollinger period', period),
    stddev,
    window: window(period),
    value: undefined,
  }),
  next(b: BollingerState, x: number): BollingerState {
    const w = pushWindow(b.window, x);
    if (windowCount(w) < b.period) return { ...b, window: w, value: undefined };
    const n = b.period;
    let sum = 0;
    for (let i = w.end - n; i < w.end; i++) sum += w.buf[i]!;
    const middle = sum / n;
    let sq = 0;
    for (let i = w.end - n; i < w.end; i++) sq += (w.buf[i]! - middle) ** 2;
    const d = Math.sqrt(sq / n) * b.stddev;
    return { ...b, window: w, value: { upper: middle + d, middle, lower: middle - d } };
  },
};

export const DonchianChannels = {
  init: (period = 20): DonchianState => ({
    period: positiveInt('Donchian period', period),
    highs: window(period),
    lows: window(period),
    value: undefined,
  }),
  next(c: DonchianState, bar: { readonly high: number; readonly low: number }): DonchianState {
    const highs = pushWindow(c.highs, bar.high);
    const lows = pushWindow(c.lows, bar.low);
    if (windowCount(highs) < c.period) return { ...c, highs, lows, value: undefined };
    let upper = -Infinity;
    let lower = Infinity;
    for (let i = highs.end - c.period; i < highs.end; i++) upper = Math.max(upper, highs.buf[i]!);
    for (let i = lows.end - c.period; i < lows.end; i++) lower = Math.min(lower, lows.buf[i]!);
    return { ...c, highs, lows, value: { upper, middle: (upper + lower) / 2, lower } };
  },
};

/** 1 when `a` crossed above `b` between two bars (it was at or below, it is above), -1 below, else 0. */
export function crossed(
  prevA: number | undefined,
  prevB: number | undefined,
  a: number | undefined,
  b: number | undefined,
): -1 | 0 | 1 {
  if (prevA === undefined || prevB === undefined || a === undefined || b === undefined) return 0;
  if (prevA <= prevB && a > b) return 1;
  if (prevA >= prevB && a < b) return -1;
  return 0;
}
