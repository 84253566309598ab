/**
 * Incremental indicators as plain data plus pure update functions, so they live in a machine's
 * context, persist in snapshots and replay identically. Updates return new state.
 */

/**
 * Exactly rounded sum (Shewchuk's algorithm, as CPython's math.fsum). Moving averages use it so
 * that equal windows give exactly equal averages: a plain running sum drifts in the last bits
 * and turns a tie (fast == slow) into a spurious sign change.
 */
export function fsum(values: readonly number[], from = 0, to = values.length): number {
  const partials: number[] = [];
  for (let k = from; k < to; k++) {
    let x = values[k]!;
    let i = 0;
    for (let j = 0; j < partials.length; j++) {
      let y = partials[j]!;
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) partials[i++] = lo;
      x = hi;
    }
    partials.length = i;
    partials.push(x);
  }
  let n = partials.length;
  if (n === 0) return 0;
  let hi = partials[--n]!;
  let lo = 0;
  while (n > 0) {
    const x = hi;
    const y = partials[--n]!;
    hi = x + y;
    const yr = hi - x;
    lo = y - yr;
    if (lo !== 0) break;
  }
  if (n > 0 && ((lo < 0 && partials[n - 1]! < 0) || (lo > 0 && partials[n - 1]! > 0))) {
    const y = lo * 2;
    const x = hi + y;
    if (y === x - hi) hi = x;
  }
  return hi;
}

/** The last `size` values of a series (oldest first). */
export interface Window {
  readonly size: number;
  readonly values: readonly number[];
}

export const window = (size: number): Window => ({ size, values: [] });

export function pushWindow(w: Window, x: number): Window {
  const values = w.values.length < w.size ? [...w.values, x] : [...w.values.slice(1), x];
  return { size: w.size, values };
}

/** Simple moving average of the last `period` values in the window, once it has that many. */
export function smaOf(w: Window, period: number): number | undefined {
  const n = w.values.length;
  if (n < period) return undefined;
  return fsum(w.values, n - period, n) / period;
}

/** Exponential moving average, seeded with the SMA of its first `period` values. */
export interface Ema {
  readonly period: number;
  readonly count: number;
  readonly seed: number;
  readonly value: number | undefined;
}

export const ema = (period: number): Ema => ({ period, count: 0, seed: 0, value: undefined });

export function pushEma(e: Ema, x: number): Ema {
  const count = e.count + 1;
  if (e.value !== undefined) {
    const k = 2 / (e.period + 1);
    return { ...e, count, value: e.value + k * (x - e.value) };
  }
  const seed = e.seed + x;
  return { ...e, count, seed, value: count === e.period ? seed / e.period : undefined };
}

/** Wilder's RSI. */
export interface Rsi {
  readonly period: number;
  readonly prev: number | undefined;
  readonly count: number;
  readonly avgGain: number;
  readonly avgLoss: number;
  readonly value: number | undefined;
}

export const rsi = (period: number): Rsi => ({ period, prev: undefined, count: 0, avgGain: 0, avgLoss: 0, value: undefined });

export function pushRsi(r: Rsi, x: number): Rsi {
  if (r.prev === undefined) return { ...r, prev: x };
  const change = x - r.prev;
  const gain = change > 0 ? change : 0;
  const loss = change < 0 ? -change : 0;
  const count = r.count + 1;
  let avgGain: number;
  let avgLoss: number;
  if (count <= r.period) {
    // accumulate the first `period` changes as a plain mean
    avgGain = r.avgGain + (gain - r.avgGain) / count;
    avgLoss = r.avgLoss + (loss - r.avgLoss) / count;
  } else {
    avgGain = (r.avgGain * (r.period - 1) + gain) / r.period;
    avgLoss = (r.avgLoss * (r.period - 1) + loss) / r.period;
  }
  const value = count < r.period ? undefined : avgLoss === 0 ? (avgGain === 0 ? 50 : 100) : 100 - 100 / (1 + avgGain / avgLoss);
  return { period: r.period, prev: x, count, avgGain, avgLoss, value };
}
