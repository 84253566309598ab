import type { Side } from '../../src/core/index.js';
import { builtinStrategies } from './builtins/index.js';
import { roundQty, type AnyStrategy } from './sdk/index.js';

/**
 * One strategy instance the agent runs: which strategy (a built-in's name, or the path of a
 * strategy file the loader registered), its id (on every order, fill and position it makes) and
 * its parameters (validated against the strategy's schema by {@link resolveInstance}).
 * `symbols` limits it to those symbols (all by default). With `sentimentMin` its buys only go
 * while the symbol's sentiment (decayed to the bar's time; 0 without news) is above it; sells are
 * never held back. With `sizeFraction` its entries (buys from flat) are sized to that fraction of
 * its equity at the bar's close, whatever size the strategy asked for. `capital` is what its
 * equity starts from (default: the account's start cash). `lotSizes` round sizes per symbol.
 */
export interface StrategyInstance {
  readonly id: string;
  readonly strategy: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly symbols?: readonly string[];
  readonly sentimentMin?: number;
  readonly sizeFraction?: number;
  readonly capital?: number;
  readonly lotSizes?: Readonly<Record<string, number>>;
  /**
   * Publish the strategy's indicator lines (its `plot`) per bar on `strategy.plotted.<sym>`: set
   * where someone reads them (the dashboard, a backtest's HTML report). Not a parameter: turning
   * it on or off keeps the strategy's state.
   */
  readonly plot?: boolean;
}

type Extras = { readonly sentimentMin?: number; readonly sizeFraction?: number };

/** True when a strategy reference names a file (a path) rather than a built-in. */
export const isStrategyPath = (ref: string) => /[\\/]/.test(ref) || /\.[cm]?[tj]s$/.test(ref);

/** The default id of an instance: the built-in's name, or the file's name without its extension. */
export const strategyStem = (ref: string) => ref.replace(/^.*[\\/]/, '').replace(/\.[cm]?[tj]s$/, '');

/** The one-strategy form of earlier versions (STRATEGY=sma-cross|rsi-reversion and its keys); still accepted. */
export type LegacyStrategyParams = (
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
) &
  Extras;

/** What the strategy agent accepts: an instance, or the legacy one-strategy form. */
export type StrategyParams = StrategyInstance | LegacyStrategyParams;

/** The instance form of either. */
export function instanceOf(p: StrategyParams): StrategyInstance {
  if (!('kind' in p)) return p;
  const { kind, id, sentimentMin, sizeFraction, ...rest } = p;
  // a size of 0 meant "sized by the fraction" (the strategy's own default stands in)
  const params: Record<string, unknown> = { ...rest };
  if (params.size === 0 && sizeFraction !== undefined) delete params.size;
  return {
    id,
    strategy: kind,
    params,
    ...(sentimentMin !== undefined ? { sentimentMin } : {}),
    ...(sizeFraction !== undefined ? { sizeFraction } : {}),
  };
}

/** A parameter value as written on a command line or in an env var: a number, true/false, else the text. */
export function parseParamValue(raw: string): unknown {
  const v = raw.trim();
  if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(v)) return Number(v);
  if (v === 'true' || v === 'false') return v === 'true';
  return v;
}

/** `name=value` texts as parameters. */
export const paramsFrom = (raw: Readonly<Record<string, string>>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, parseParamValue(v)]));

/** Strategies loaded from files, by the key they were registered under (their resolved path). */
const loaded = new Map<string, AnyStrategy>();

/** Makes a loaded strategy file available to instances under `key` (the loader does this). */
export function registerStrategy(key: string, definition: AnyStrategy): void {
  loaded.set(key, definition);
}

/** The definition of a built-in name or a registered file; an error naming what exists otherwise. */
export function strategyDefinition(key: string): AnyStrategy {
  const d = builtinStrategies[key] ?? loaded.get(key);
  if (d) return d;
  throw new Error(
    `unknown strategy "${key}": the built-ins are ${Object.keys(builtinStrategies).join(', ')}; a strategy file is given by its path (./strategies/my-strategy.ts)`,
  );
}

/** A strategy's parameters did not validate. */
export class StrategyParamsError extends Error {
  readonly code = 'invalid_strategy_params';
  constructor(message: string) {
    super(message);
    this.name = 'StrategyParamsError';
  }
}

/** The instance with its parameters validated and defaulted by its strategy's schema. */
export function resolveInstance(p: StrategyParams): StrategyInstance {
  const inst = instanceOf(p);
  const def = strategyDefinition(inst.strategy);
  const parsed = def.params.safeParse(inst.params);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.length ? i.path.join('.') : 'params'}: ${i.message}`)
      .join('; ');
    throw new StrategyParamsError(`strategy ${inst.id} (${def.name}): invalid parameters: ${problems}`);
  }
  return { ...inst, params: parsed.data as Record<string, unknown> };
}

/**
 * Units an entry buys with `amount` to spend at `price`: whole units when the amount buys at
 * least one, else a fraction to 6 decimals (a coin); 0 when nothing can be bought.
 */
export function unitsFor(amount: number, price: number): number {
  return amount > 0 && price > 0 ? roundQty(amount / price, undefined) : 0;
}

/** Per-symbol state of an instance: the strategy's own state plus what the runtime keeps. */
export interface SymbolState {
  /** The strategy's state (plain data, what its `init` and callbacks return); undefined: starts again from `init`. */
  readonly user: unknown;
  /**
   * Signed quantity: filled plus market orders in flight, minus what risk or the broker turned
   * down (resting orders and bracket legs only once they fill).
   */
  readonly position: number;
  /**
   * The position the last decision wanted. Equal to `position` unless an order failed after a
   * later one was sent; a flat target with a position left over is closed (reconciled).
   */
  readonly target?: number;
  /** The last price seen (a bar's close): values what the instance holds. */
  readonly last?: number;
  /**
   * The time of the last bar read: a bar at or before it is not read again (a live feed warming
   * up again after a restart, a bar delivered twice). Optional: older snapshots lack it.
   */
  readonly at?: number;
}

/** A decision with the values behind it. */
export interface Decision {
  readonly side: Side;
  readonly qty: number;
  readonly targetQty: number;
  readonly reasons: string[];
  readonly indicators: Record<string, number>;
}

/**
 * A position the strategy did not mean to hold (its target is flat, yet an order failed after a
 * later one was sent) is closed once nothing of ours is in flight in the symbol: the close, or
 * undefined.
 */
export function reconcileDecision(s: SymbolState, price: number, inFlight: boolean): Decision | undefined {
  if ((s.target ?? s.position) !== 0 || s.position === 0 || inFlight) return undefined;
  return {
    side: s.position > 0 ? 'sell' : 'buy',
    qty: Math.abs(s.position),
    targetQty: 0,
    indicators: { close: price },
    reasons: [
      `reconcile: closing an unintended position of ${s.position} left by an order that failed after a later one was sent`,
    ],
  };
}
