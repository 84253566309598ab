import type { z } from 'zod';
import type { Bar, TimeInForce } from '../../../src/core/index.js';

/**
 * Plain data: what a strategy's per-symbol state may hold (numbers, strings, booleans, null,
 * arrays and plain objects of these). It is saved with the agent's snapshots and compared in
 * replays, so class instances, functions, Maps and Dates do not belong in it.
 */
export type PlainData =
  number | string | boolean | null | undefined | readonly PlainData[] | { readonly [k: string]: PlainData };

/** Options of an order. Prices are absolute; `stopLoss`/`takeProfit` are fractions of the entry's fill price. */
export interface OrderOptions {
  /** market (default), limit (needs `limit`) or stop (needs `stop`). */
  readonly type?: 'market' | 'limit' | 'stop';
  readonly limit?: number;
  readonly stop?: number;
  /** A trailing stop: the stop follows the best price since at this fraction (stop orders). */
  readonly trail?: number;
  /** GTC (default), DAY or IOC. */
  readonly tif?: TimeInForce;
  /**
   * A bracket on an entry: once it has filled, a stop-loss this fraction below a long entry's
   * fill price (above a short's) and/or a take-profit this fraction above it; one-cancels-other.
   */
  readonly stopLoss?: number;
  readonly takeProfit?: number;
  /** Absolute bracket prices instead of fractions. */
  readonly stopLossPrice?: number;
  readonly takeProfitPrice?: number;
  /** The bracket's stop trails the best price since the entry filled. */
  readonly trailing?: boolean;
  /**
   * Working orders of this strategy in the symbol that this order replaces (their client order
   * ids, as buy/sell returned them): execution cancels them first; when one has already filled,
   * this order is cancelled instead. An order against the position cancels the position's
   * bracket legs by itself.
   */
  readonly cancels?: readonly string[];
  /** Why: shown by `why` and in signals. */
  readonly reasons?: readonly string[];
  /** The values behind the decision (shown with the reasons). */
  readonly indicators?: Readonly<Record<string, number>>;
}

/** What a callback sees and how it asks for orders. Collected intents go out after it returns. */
export interface StrategyContext<P> {
  readonly params: P;
  /** The strategy instance's id (on every order it sends). */
  readonly instance: string;
  readonly symbol: string;
  /** Event time (ms) of what is being handled: the only clock a strategy has. */
  readonly time: number;
  /** The latest price the strategy knows for the symbol (a bar's close, a fill's price). */
  readonly price: number;
  /**
   * The strategy's position in the symbol: filled, plus market orders in flight (and the ones
   * this callback asked for). Resting orders (limit, stop) and bracket legs count once they fill.
   */
  readonly position: number;
  /** The strategy's own cash and equity (its capital, plus what its fills made). */
  readonly cash: number;
  readonly equity: number;
  /** The symbol's sentiment decayed to `time` (0 without news); undefined when not subscribed. */
  readonly sentiment: number | undefined;
  /** Lot size of the symbol at the venue, when known (sizes are rounded down to it). */
  readonly lotSize: number | undefined;

  /** Asks for a buy; returns its client order id (fills and `cancels` name it). */
  buy(qty: number, options?: OrderOptions): string;
  sell(qty: number, options?: OrderOptions): string;
  /** Orders what takes the position to `qty` (signed; 0 closes); undefined when already there. */
  target(qty: number, options?: OrderOptions): string | undefined;
  /** Closes the position (and cancels its bracket orders). */
  close(options?: OrderOptions): string | undefined;
  /**
   * Asks to cancel one of this strategy's working orders (a resting limit or stop, or a bracket
   * leg: `<entry id>.sl` / `.tp`) by the client order id buy/sell returned. It goes to risk, then
   * execution, which ends the order (`onFill` is not called; the order just stops counting) or
   * refuses with the reason (`order.cancel-rejected`: already filled, unknown, not this
   * strategy's). Returns the cancel request's id.
   */
  cancel(clientOrderId: string, reason?: string): string;

  /** Sizing: a quantity rounded down to the lot size (whole units when it buys one or more, else 6 decimals). */
  readonly size: Sizing;
}

export interface Sizing {
  /** `qty`, rounded to the lot size. */
  fixed(qty: number): number;
  /** Units worth `fraction` of the strategy's equity at `price` (default: the current price). */
  fractionOfEquity(fraction: number, price?: number): number;
  /**
   * Units such that being stopped out loses `risk` (a fraction of equity): risk x equity /
   * stop distance (in price). The stop distance is |entry - stop|.
   */
  riskPerTrade(risk: number, stopDistance: number): number;
}

export interface BarContext<P> extends StrategyContext<P> {
  readonly bar: Bar;
}

export interface FillContext<P> extends StrategyContext<P> {
  readonly fill: {
    readonly clientOrderId: string;
    readonly side: 'buy' | 'sell';
    readonly qty: number;
    readonly price: number;
    /** entry for orders the strategy sent; stop-loss / take-profit for bracket legs. */
    readonly leg: 'entry' | 'stop-loss' | 'take-profit';
    /** True once the order has filled completely. */
    readonly done: boolean;
  };
}

export interface SentimentContext<P> extends StrategyContext<P> {
  /** The new score (-1..1) as published, not decayed. */
  readonly score: number;
}

/**
 * One line a strategy draws: `key` names its value in what `plot.values` returns, `label` is what
 * a legend shows (e.g. `SMA10`). `pane`: `price` (default) draws it over the price chart; `own`
 * in a pane of its own under it (an oscillator such as RSI or MACD, whose scale is not a price).
 */
export interface PlotLine {
  readonly key: string;
  readonly label: string;
  readonly pane?: 'price' | 'own';
}

/**
 * The lines a strategy draws (its indicators), per bar: `lines` declares them (from the
 * parameters), `values` reads each line's value from the state `onBar` just returned (undefined
 * while an indicator warms up). Both pure, like the callbacks. The runtime calls `values` after
 * every `onBar`, only when someone reads the lines (the dashboard, a backtest's HTML report), and
 * publishes them on `strategy.plotted.<sym>`; otherwise it costs nothing.
 */
export interface StrategyPlot<P, S> {
  lines(params: P): readonly PlotLine[];
  values(state: S, params: P): Readonly<Record<string, number | undefined>>;
}

/**
 * A strategy: its parameters (a zod object: validated, defaulted, listed by `strategy list`, the
 * search space of parameter research), a fresh per-symbol state, and callbacks that take the
 * state and return the next one. Callbacks are pure: no clock (use `ctx.time`), no randomness,
 * no I/O; they run under a guard that refuses `Date.now()`, `new Date()`, `Math.random()` and
 * `performance.now()`.
 */
export interface StrategyDefinition<P = Record<string, unknown>, S = PlainData> {
  /** Short name, e.g. ema-cross (letters, digits and dashes). */
  readonly name: string;
  readonly description: string;
  readonly params: z.ZodType<P>;
  /** The state of one symbol before its first bar. */
  init(params: P, symbol: string): S;
  /** A closed bar of the symbol. */
  onBar(ctx: BarContext<P>, state: S): S;
  /** A fill of one of the strategy's own orders (bracket legs included). */
  onFill?(ctx: FillContext<P>, state: S): S;
  /** A sentiment update of the symbol; defining it subscribes the strategy to sentiment. */
  onSentiment?(ctx: SentimentContext<P>, state: S): S;
  /** The indicator lines it draws on charts (the dashboard, the backtest report); optional. */
  readonly plot?: StrategyPlot<P, S>;
}

/**
 * Declares a strategy. Returns it unchanged, typed: the params type is the zod schema's output,
 * the state type what `init` returns.
 */
export function defineStrategy<Schema extends z.ZodType, S>(
  def: Omit<StrategyDefinition<z.output<Schema>, S>, 'params'> & { readonly params: Schema },
): StrategyDefinition<z.output<Schema>, S> {
  return def as unknown as StrategyDefinition<z.output<Schema>, S>;
}

/** Any strategy, whatever its params and state. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyStrategy = StrategyDefinition<any, any>;
