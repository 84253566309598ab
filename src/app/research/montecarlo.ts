import type { Prng } from '../../../agents/data/index.js';
import type { EquityPoint, RoundTrip } from '../backtest/index.js';

/**
 * Monte Carlo on a backtest's trades. Each closed round trip becomes a return on the account:
 * its PnL over the equity just before it opened. A run draws a sequence of those returns and
 * compounds them on equity (1 -> 1 x (1 + r1) x (1 + r2) ...), so drawdowns stay within [0, 100%]
 * whatever the order (shuffling absolute PnL, as some tools do, can take equity below zero). A
 * loss beyond the whole account (r < -1) counts as -100%: ruin.
 */
export type MonteCarloMethod = 'bootstrap' | 'shuffle';

export interface MonteCarloOptions {
  readonly runs: number;
  /** bootstrap: draw with replacement (the default; final returns vary); shuffle: reorder (only the path varies). */
  readonly method: MonteCarloMethod;
  /** A run is ruined when its max drawdown reaches this share (0..1), e.g. 0.5. */
  readonly ruin: number;
}

export interface Percentiles {
  readonly p5: number;
  readonly p50: number;
  readonly p95: number;
}

export interface MonteCarloResult {
  readonly method: MonteCarloMethod;
  readonly runs: number;
  readonly trades: number;
  readonly ruin: number;
  /** Compounded return of a run's sequence, final equity / 1 - 1. */
  readonly finalReturn: Percentiles;
  /** Largest peak-to-trough fall of a run, 0..1. */
  readonly maxDrawdown: Percentiles;
  /** Share of runs whose max drawdown reached `ruin`. */
  readonly probabilityOfRuin: number;
  /** The trades in the order they happened, compounded the same way (for comparison). */
  readonly actual: { readonly finalReturn: number; readonly maxDrawdown: number };
  /** Every run's final return and max drawdown, sorted ascending (histograms). */
  readonly samples: { readonly finalReturn: readonly number[]; readonly maxDrawdown: readonly number[] };
}

/** Each closed trip's PnL over the account's equity at the last bar before it opened, in exit order. */
export function tradeReturns(
  trips: readonly RoundTrip[],
  curve: readonly EquityPoint[],
  startEquity: number,
): number[] {
  const closed = trips.filter((t) => !t.open).sort((a, b) => a.exitTime! - b.exitTime! || a.entryTime - b.entryTime);
  return closed.map((t) => {
    let lo = 0;
    let hi = curve.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (curve[mid]!.time < t.entryTime) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const equity = found >= 0 ? curve[found]!.equity : startEquity;
    return equity > 0 ? t.pnl / equity : -1;
  });
}

/** Compounds `returns` from 1; returns the final return and the max drawdown (0..1). */
export function compound(returns: readonly number[]): { finalReturn: number; maxDrawdown: number } {
  let equity = 1;
  let peak = 1;
  let worst = 0;
  for (const r of returns) {
    equity *= 1 + Math.max(r, -1);
    if (equity > peak) peak = equity;
    const dd = (peak - equity) / peak;
    if (dd > worst) worst = dd;
  }
  return { finalReturn: equity - 1, maxDrawdown: worst };
}

/** The q-quantile (0..1) of sorted values, interpolated linearly between ranks (numpy's default). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

const percentiles = (sorted: readonly number[]): Percentiles => ({
  p5: quantile(sorted, 0.05),
  p50: quantile(sorted, 0.5),
  p95: quantile(sorted, 0.95),
});

/** Runs the simulation with `next` (seeded: the same seed gives the same result). */
export function monteCarlo(returns: readonly number[], o: MonteCarloOptions, next: Prng): MonteCarloResult {
  if (!(o.runs >= 1)) throw new Error(`runs must be at least 1, got ${o.runs}`);
  if (!(o.ruin > 0 && o.ruin <= 1)) throw new Error(`the ruin threshold must be in (0, 100%], got ${o.ruin}`);
  const n = returns.length;
  const finals: number[] = [];
  const drawdowns: number[] = [];
  const seq = new Array<number>(n);
  let ruined = 0;
  for (let run = 0; run < o.runs; run++) {
    if (o.method === 'bootstrap') {
      for (let i = 0; i < n; i++) seq[i] = returns[Math.floor(next() * n)]!;
    } else {
      for (let i = 0; i < n; i++) seq[i] = returns[i]!;
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        const t = seq[i]!;
        seq[i] = seq[j]!;
        seq[j] = t;
      }
    }
    const r = compound(seq);
    finals.push(r.finalReturn);
    drawdowns.push(r.maxDrawdown);
    if (r.maxDrawdown >= o.ruin) ruined++;
  }
  finals.sort((a, b) => a - b);
  drawdowns.sort((a, b) => a - b);
  return {
    method: o.method,
    runs: o.runs,
    trades: n,
    ruin: o.ruin,
    finalReturn: percentiles(finals),
    maxDrawdown: percentiles(drawdowns),
    probabilityOfRuin: ruined / o.runs,
    actual: compound(returns),
    samples: { finalReturn: finals, maxDrawdown: drawdowns },
  };
}
