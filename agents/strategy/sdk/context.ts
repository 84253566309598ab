import type { Bar, Side } from '../../../src/core/index.js';
import type { BarContext, FillContext, OrderOptions, SentimentContext, Sizing, StrategyContext } from './define.js';

/** An order a callback asked for, before the runtime turns it into an `order.intent`. */
export interface Request {
  readonly side: Side;
  readonly qty: number;
  readonly options: OrderOptions;
  /** target()/close(): the quantity was computed from the position (and is cut when it already moved). */
  readonly closes: boolean;
}

/** A cancel a callback asked for, before the runtime turns it into an `order.cancel`. */
export interface CancelRequest {
  readonly clientOrderId: string;
  readonly reason: string | undefined;
}

/** The id of the k-th cancel (from 0) a callback asks for. */
export const cancelIdFor = (prefix: string, k: number) => `${prefix}-x${k + 1}`;

/** Rounds a quantity down to the lot size, or whole units when it buys one or more, else 6 decimals. */
export function roundQty(qty: number, lotSize: number | undefined): number {
  if (!(qty > 0) || !Number.isFinite(qty)) return 0;
  if (lotSize !== undefined && lotSize > 0) {
    const lots = Math.floor(qty / lotSize + 1e-9);
    return Number((lots * lotSize).toPrecision(12));
  }
  return qty >= 1 ? Math.floor(qty) : Math.floor(qty * 1e6) / 1e6;
}

/** The client order id of the k-th order (from 0) a callback asks for. */
export const orderIdFor = (prefix: string, k: number) => (k === 0 ? prefix : `${prefix}-${k + 1}`);

/** What the runtime knows when a callback runs. */
export type CallInput<P> = Pick<
  StrategyContext<P>,
  'params' | 'instance' | 'symbol' | 'time' | 'price' | 'position' | 'cash' | 'equity' | 'sentiment' | 'lotSize'
> & {
  /** The instance id and the id of the message being handled: order ids derive from it. */
  /** Order ids are `<instanceId>-<eventId>-<n>`. */
  readonly instanceId: string;
  readonly eventId: string;
};

/**
 * The context handed to a callback: the facts of the moment and the order methods, which only
 * collect requests (`requests`); the runtime checks and sends them after the callback returns.
 */
export class CallContext<P> implements BarContext<P>, FillContext<P>, SentimentContext<P> {
  readonly params: P;
  readonly instance: string;
  readonly symbol: string;
  readonly time: number;
  readonly price: number;
  readonly cash: number;
  readonly equity: number;
  readonly sentiment: number | undefined;
  readonly lotSize: number | undefined;
  /** The position as the callback's own orders leave it. */
  position: number;
  requests: Request[] | undefined;
  cancels: CancelRequest[] | undefined;
  bar!: Bar;
  fill!: FillContext<P>['fill'];
  score!: number;

  constructor(input: CallInput<P>) {
    this.params = input.params;
    this.instance = input.instance;
    this.symbol = input.symbol;
    this.time = input.time;
    this.price = input.price;
    this.position = input.position;
    this.cash = input.cash;
    this.equity = input.equity;
    this.sentiment = input.sentiment;
    this.lotSize = input.lotSize;
    this.#instanceId = input.instanceId;
    this.#eventId = input.eventId;
  }

  get size(): Sizing {
    const { lotSize: lot, equity, price: now } = this;
    return {
      fixed: (qty) => roundQty(qty, lot),
      fractionOfEquity: (fraction, price = now) => roundQty((fraction * equity) / price, lot),
      riskPerTrade: (risk, stopDistance) => roundQty((risk * equity) / Math.abs(stopDistance), lot),
    };
  }

  readonly #instanceId: string;
  readonly #eventId: string;

  #push(side: Side, qty: number, options: OrderOptions, closes: boolean): string {
    const requests = (this.requests ??= []);
    requests.push({ side, qty, options, closes });
    // resting orders (limit, stop) count only as they fill
    if (Number.isFinite(qty) && qty > 0 && (options.type ?? 'market') === 'market')
      this.position += side === 'buy' ? qty : -qty;
    // (the prefix is made only when an order is: most bars send none)
    return orderIdFor(`${this.#instanceId}-${this.#eventId}`, requests.length - 1);
  }

  buy(qty: number, options: OrderOptions = {}): string {
    return this.#push('buy', qty, options, false);
  }

  sell(qty: number, options: OrderOptions = {}): string {
    return this.#push('sell', qty, options, false);
  }

  target(qty: number, options: OrderOptions = {}): string | undefined {
    const diff = qty - this.position;
    if (diff === 0) return undefined;
    return this.#push(diff > 0 ? 'buy' : 'sell', Math.abs(diff), options, true);
  }

  close(options: OrderOptions = {}): string | undefined {
    return this.target(0, options);
  }

  cancel(clientOrderId: string, reason?: string): string {
    const cancels = (this.cancels ??= []);
    cancels.push({ clientOrderId, reason });
    return cancelIdFor(`${this.#instanceId}-${this.#eventId}`, cancels.length - 1);
  }
}
