/**
 * Incremental indicators as plain data plus pure update functions, so they live in a machine's
 * context, persist in snapshots and replay identically. Updates return new state.
 */

/**
 * Exactly rounded sum (Shewchuk's algorithm, as CPython's math.fsum). Moving averages use it so
 * that equal windows give exactly equal averages: a plain running sum drifts in the last bits
 * and turns a tie (fast == slow) into a spurious sign change.
 */
const partials: number[] = []; // scratch, reused: fsum is synchronous and never re-entered

export function fsum(values: readonly number[], from = 0, to = values.length): number {
  partials.length = 0;
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

/**
 * The last `size` values of a series: `buf[end - count .. end)`. Persistent without copying:
 * a push appends to the shared buffer when this window owns its end (`buf.length === end`),
 * so older states still see exactly their own prefix; a push onto an older state (after a
 * restore) copies. The buffer is compacted once it holds four windows' worth.
 */
export interface Window {
  readonly size: number;
  readonly buf: number[];
  readonly end: number;
}

export const window = (size: number): Window => ({ size, buf: [], end: 0 });

export const windowCount = (w: Window) => Math.min(w.size, w.end);

export function pushWindow(w: Window, x: number): Window {
  const count = windowCount(w);
  if (w.buf.length === w.end && w.end < w.size * 4) {
    w.buf.push(x);
    return { size: w.size, buf: w.buf, end: w.end + 1 };
  }
  const buf = w.buf.slice(w.end - count, w.end);
  buf.push(x);
  return { size: w.size, buf, end: buf.length };
}

/** The window's values, oldest first (a copy). */
export const windowValues = (w: Window): number[] => w.buf.slice(w.end - windowCount(w), w.end);

/**
 * Simple moving average of the last `period` values, once the window has that many. A plain
 * sum, whose relative error is below `period * 2^-53`; use {@link exactSmaOf} where a tie must
 * be recognised exactly.
 */
export function smaOf(w: Window, period: number): number | undefined {
  if (windowCount(w) < period) return undefined;
  let sum = 0;
  for (let i = w.end - period; i < w.end; i++) sum += w.buf[i]!;
  return sum / period;
}

/** Correctly rounded SMA (via {@link fsum}): equal windows give exactly equal averages. */
export function exactSmaOf(w: Window, period: number): number | undefined {
  if (windowCount(w) < period) return undefined;
  return fsum(w.buf, w.end - period, w.end) / period;
}

/**
 * Sign of (SMA(fast) - SMA(slow)) exactly as correctly rounded averages give it. The plain sums
 * decide unless the two are within 1e-9 of each other (far above their rounding error), where
 * the exact sums decide: near-ties are rare, so this costs a plain sum almost always.
 */
export function smaDiffSign(fast: number, slow: number, w: Window, fastPeriod: number, slowPeriod: number): -1 | 0 | 1 {
  const diff = fast - slow;
  if (Math.abs(diff) > 1e-9 * Math.max(Math.abs(fast), Math.abs(slow))) return diff > 0 ? 1 : -1;
  const exact = exactSmaOf(w, fastPeriod)! - exactSmaOf(w, slowPeriod)!;
  return exact > 0 ? 1 : exact < 0 ? -1 : 0;
}
