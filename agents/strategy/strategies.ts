import type { Bar, Side } from '../../src/core/index.js';
import { pushRsi, pushWindow, rsi, smaDiffSign, smaOf, window, type Rsi, type Window } from './indicators.js';

/**
 * Parameters of the strategy an agent runs. `id` names it in orders and signals. With
 * `sentimentMin` the strategy only buys while the symbol's sentiment (decayed to the bar's time;
 * 0 without news) is above it; sells are never held back. Entries buy `size` units, or, with
 * `sizeFraction`, that fraction of the strategy's equity at the bar's close (see `entrySize`).
 */
export type StrategyParams = (
  | {
      readonly kind: 'sma-cross';
      readonly id: string;
      readonly fast: number;
      readonly slow: number;
      readonly size: number;
    }
  | {
      readonly kind: 'rsi-reversion';
      readonly id: string;
      readonly period: number;
      readonly oversold: number;
      readonly overbought: number;
      readonly size: number;
    }
) & { readonly sentimentMin?: number; readonly sizeFraction?: number };

/**
 * Units an entry buys with `amount` to spend at `price`: whole units when the amount buys at
 * least one, else a fraction to 6 decimals (a coin); 0 when nothing can be bought.
 */
export function unitsFor(amount: number, price: number): number {
  if (!(amount > 0 && price > 0)) return 0;
  const units = amount / price;
  return units >= 1 ? Math.floor(units) : Math.floor(units * 1e6) / 1e6;
}

/** Per-symbol strategy state: indicators plus the position the strategy believes it holds. */
export interface SymbolState {
  readonly closes: Window;
  /** sma-cross: sign of the last non-zero (fast - slow); 0 until there was one. */
  readonly lastSign: -1 | 0 | 1;
  readonly rsi: Rsi | undefined;
  /** Signed quantity: filled plus in flight, minus what risk or the broker turned down. */
  readonly position: number;
  /**
   * The position the last decision wanted. Equal to `position` unless an order failed after a
   * later one was sent; a flat target with a position left over is closed (reconciled).
   */
  readonly target?: number;
}

/** A decision with the values behind it. */
export interface Decision {
  readonly side: Side;
  readonly qty: number;
  readonly targetQty: number;
  readonly reasons: string[];
  readonly indicators: Record<string, number>;
}

export function initialSymbolState(params: StrategyParams): SymbolState {
  if (params.kind === 'sma-cross') return { closes: window(params.slow), lastSign: 0, rsi: undefined, position: 0 };
  return { closes: window(1), lastSign: 0, rsi: rsi(params.period), position: 0 };
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

/**
 * SMA crossover. Cross up at bar t: the last non-zero (fast - slow) before t was negative and
 * fast > slow at t (equal values keep the previous sign). Flat + cross up: buy `size`.
 * Long + cross down: sell the whole position. Never shorts.
 */
export function smaCrossStep(
  p: Extract<StrategyParams, { kind: 'sma-cross' }>,
  s: SymbolState,
  bar: Bar,
  entry: number = p.size,
): { state: SymbolState; decision: Decision | undefined } {
  const closes = pushWindow(s.closes, bar.close);
  const fast = smaOf(closes, p.fast);
  const slow = smaOf(closes, p.slow);
  if (fast === undefined || slow === undefined)
    return {
      state: { closes, lastSign: s.lastSign, rsi: s.rsi, position: s.position, target: s.target },
      decision: undefined,
    };
  const sign = smaDiffSign(fast, slow, closes, p.fast, p.slow);
  const crossUp = s.lastSign < 0 && sign > 0;
  const crossDown = s.lastSign > 0 && sign < 0;
  const state: SymbolState = {
    closes,
    lastSign: sign === 0 ? s.lastSign : sign,
    rsi: s.rsi,
    position: s.position,
    target: s.target,
  };
  if (!(crossUp && s.position === 0) && !(crossDown && s.position > 0)) return { state, decision: undefined };
  const indicators = { [`sma${p.fast}`]: round(fast), [`sma${p.slow}`]: round(slow), close: bar.close };
  if (crossUp) {
    if (entry <= 0) return { state, decision: undefined };
    return {
      state: { ...state, position: entry, target: entry },
      decision: {
        side: 'buy',
        qty: entry,
        targetQty: entry,
        indicators,
        reasons: [`SMA${p.fast} ${round(fast)} crossed above SMA${p.slow} ${round(slow)}`, 'no position held'],
      },
    };
  }
  return {
    state: { ...state, position: 0, target: 0 },
    decision: {
      side: 'sell',
      qty: s.position,
      targetQty: 0,
      indicators,
      reasons: [`SMA${p.fast} ${round(fast)} crossed below SMA${p.slow} ${round(slow)}`, `closing long ${s.position}`],
    },
  };
}

/** RSI mean reversion: flat and RSI below `oversold` buys; long and RSI above `overbought` sells all. */
export function rsiReversionStep(
  p: Extract<StrategyParams, { kind: 'rsi-reversion' }>,
  s: SymbolState,
  bar: Bar,
  entry: number = p.size,
): { state: SymbolState; decision: Decision | undefined } {
  const r = pushRsi(s.rsi ?? rsi(p.period), bar.close);
  const state: SymbolState = { ...s, rsi: r };
  if (r.value === undefined) return { state, decision: undefined };
  const indicators = { [`rsi${p.period}`]: round(r.value), close: bar.close };
  if (r.value < p.oversold && s.position === 0 && entry > 0) {
    return {
      state: { ...state, position: entry, target: entry },
      decision: {
        side: 'buy',
        qty: entry,
        targetQty: entry,
        indicators,
        reasons: [`RSI${p.period} ${round(r.value)} below ${p.oversold} (oversold)`, 'no position held'],
      },
    };
  }
  if (r.value > p.overbought && s.position > 0) {
    return {
      state: { ...state, position: 0, target: 0 },
      decision: {
        side: 'sell',
        qty: s.position,
        targetQty: 0,
        indicators,
        reasons: [`RSI${p.period} ${round(r.value)} above ${p.overbought} (overbought)`, `closing long ${s.position}`],
      },
    };
  }
  return { state, decision: undefined };
}

/**
 * A position the strategy did not mean to hold (its target is flat, yet an order failed after a
 * later one was sent) is closed once nothing of ours is in flight in the symbol.
 */
export function reconcileStep(
  s: SymbolState,
  bar: Bar,
  inFlight: boolean,
): { state: SymbolState; decision: Decision | undefined } {
  if ((s.target ?? s.position) !== 0 || s.position === 0 || inFlight) return { state: s, decision: undefined };
  const side: Side = s.position > 0 ? 'sell' : 'buy';
  return {
    state: { ...s, position: 0 },
    decision: {
      side,
      qty: Math.abs(s.position),
      targetQty: 0,
      indicators: { close: bar.close },
      reasons: [
        `reconcile: closing an unintended position of ${s.position} left by an order that failed after a later one was sent`,
      ],
    },
  };
}

/** One bar through the configured strategy; an entry buys `entry` units (default `size`). */
export function strategyStep(p: StrategyParams, s: SymbolState, bar: Bar, entry: number = p.size) {
  return p.kind === 'sma-cross' ? smaCrossStep(p, s, bar, entry) : rsiReversionStep(p, s, bar, entry);
}
