import type { Bar } from '../../src/core/index.js';

/**
 * What the data agent checks before a bar reaches anyone who trades on it. Inconsistent OHLC
 * (a low above the open or close, a high below them) is refused by the bar's schema wherever it
 * is read; the checks here need the symbol's history, which only the publisher has in order.
 */
export interface BarGuardOptions {
  /** Largest step in time from the symbol's previous bar; later is "far in the future". */
  readonly maxGapMs: number;
  /**
   * Largest move of any price of the bar from the last accepted close, as a fraction (0.5 = 50%):
   * a venue-style price band. A bar beyond it is held back as unconfirmed.
   */
  readonly priceBand: number;
  /**
   * Bars in a row beyond the band, each within the band of the one before, that make a genuine
   * jump: the last of them is published and the new level is the reference from then on.
   */
  readonly confirmBars: number;
}

/**
 * The checks `sextant start` and backtests run unless DATA_MAX_GAP_MS, DATA_PRICE_BAND, DATA_CONFIRM_BARS say
 * otherwise.
 */
export const defaultBarGuard: BarGuardOptions = { maxGapMs: 30 * 86_400_000, priceBand: 0.5, confirmBars: 2 };

/** Per symbol: the last bar published, and a jump waiting for confirmation. */
export interface SymbolGuard {
  readonly lastTime: number;
  readonly lastClose: number;
  /** Bars beyond the band so far, and the close of the latest of them. */
  readonly jump?: { readonly bars: number; readonly close: number };
}

export type GuardVerdict =
  | { readonly ok: true; readonly next: SymbolGuard; readonly note?: string; readonly operator?: true }
  | {
      readonly ok: false;
      readonly next: SymbolGuard;
      readonly code: 'out_of_order' | 'far_future' | 'price_band';
      readonly reason: string;
    };

const iso = (t: number) => new Date(t).toISOString();
const pct = (x: number) => `${(x * 100).toLocaleString('en-US', { maximumFractionDigits: 2 })}%`;

/** The bar's largest move from `ref`, over its open, high, low and close. */
function moveFrom(ref: number, bar: Bar): number {
  return (
    Math.max(Math.abs(bar.open - ref), Math.abs(bar.high - ref), Math.abs(bar.low - ref), Math.abs(bar.close - ref)) /
    ref
  );
}

/**
 * Decides one bar given its symbol's guard (undefined before its first bar): published, or
 * refused with a code and a sentence; either way with the symbol's guard after it. Pure.
 */
export function guardBar(
  prev: SymbolGuard | undefined,
  bar: Bar,
  o: BarGuardOptions,
  /** An operator accepted a jump of this symbol: a bar beyond the band is published (who and why). */
  accepted?: { readonly by: string; readonly reason: string },
): GuardVerdict {
  const accept = (note?: string): GuardVerdict => ({
    ok: true,
    next: { lastTime: bar.time, lastClose: bar.close },
    ...(note ? { note } : {}),
  });
  if (!prev) return accept();
  if (bar.time <= prev.lastTime) {
    return {
      ok: false,
      next: prev,
      code: 'out_of_order',
      reason: `${bar.symbol} bar at ${iso(bar.time)} is not after the last one published (${iso(prev.lastTime)})`,
    };
  }
  if (bar.time - prev.lastTime > o.maxGapMs) {
    return {
      ok: false,
      next: prev,
      code: 'far_future',
      reason: `${bar.symbol} bar at ${iso(bar.time)} is more than ${o.maxGapMs / 86_400_000} days after the last one (${iso(prev.lastTime)}; DATA_MAX_GAP_MS)`,
    };
  }
  const move = moveFrom(prev.lastClose, bar);
  if (move <= o.priceBand) return accept();
  if (accepted)
    return {
      ok: true,
      next: { lastTime: bar.time, lastClose: bar.close },
      note: `${bar.symbol} moved ${pct(move)} from ${prev.lastClose}; accepted by ${accepted.by} (${accepted.reason}), the new level is the reference`,
      operator: true,
    };
  // beyond the band: a jump confirmed by bars in a row that agree with each other
  const follows = prev.jump !== undefined && moveFrom(prev.jump.close, bar) <= o.priceBand;
  const bars = follows ? prev.jump!.bars + 1 : 1;
  if (bars >= o.confirmBars)
    return accept(
      `${bar.symbol} moved ${pct(move)} from ${prev.lastClose}; accepted after ${bars} bars at the new level`,
    );
  return {
    ok: false,
    next: { ...prev, jump: { bars, close: bar.close } },
    code: 'price_band',
    reason: `${bar.symbol} bar at ${iso(bar.time)} moves ${pct(move)} from the last close ${prev.lastClose}, beyond the band of ${pct(o.priceBand)} (DATA_PRICE_BAND); held back until ${o.confirmBars} bars in a row confirm the level (${bars} so far)`,
  };
}
