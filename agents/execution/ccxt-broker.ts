/**
 * A live broker behind the broker port, through ccxt (https://github.com/ccxt/ccxt, 4.5.x).
 *
 * LIVE TRADING IS OPT-IN: nothing builds this broker unless configured to, and with
 * `sandbox: true` it talks only to the venue's testnet.
 *
 * What was exercised: ccxt's `binance` class against a local fake of Binance's SPOT REST API
 * (tests/helpers/fake-venue.ts: exchangeInfo, new/query/cancel order, myTrades, with Binance's
 * documented fields and error codes) — market, limit and stop-market orders, client order ids,
 * duplicate rejection, unknown outcomes (timeouts, 5xx after processing), error mapping, status
 * with partial fills and fees, cancel.
 * What was NOT exercised: any real venue, Binance's spot testnet (testnet.binance.vision), any
 * other ccxt exchange. Other ccxt ids construct and use the same unified calls, but their
 * client-order-id handling, duplicate signalling and stop params are untested guesses; run them
 * against a testnet before trusting them.
 * Unsupported: DAY time in force (refused with `unsupported_tif`; crypto venues have no trading
 * day), IOC on stop orders, stop-limit orders (a stop with a limit price is refused), derivatives
 * and margin (spot markets only), quote-quantity market orders, fills pushed by the venue (fills
 * are polled with `status`).
 *
 * Order mapping (binance spot, from ccxt's binance.createOrderRequest):
 * - market: createOrder(symbol, 'market', side, qty) — no price is ever passed: with a price,
 *   ccxt turns a binance spot market order into a quote-quantity order (`quoteOrderQty`).
 * - limit: createOrder(symbol, 'limit', side, qty, limitPrice, { timeInForce: 'GTC' | 'IOC' }).
 * - stop: createOrder(symbol, 'market', side, qty, undefined, { triggerPrice: stopPrice }); ccxt
 *   sends type STOP_LOSS with `stopPrice` (a stop-market: buys trigger at or above, sells at or
 *   below). Binance rejects a stop that would trigger at once (-2010, an `invalid_order` here).
 * - client order id: params `clientOrderId`, which ccxt sends as binance's `newClientOrderId`
 *   (and as `origClientOrderId` when querying or cancelling).
 * - Binance accepts client order ids matching ^[.A-Z:/a-z0-9_-]{1,36}$; a longer Sextant id is
 *   sent as a stable digest (`sx-` + 33 chars of base64url SHA-256), so the same order always
 *   has the same venue id.
 * - time in force is sent for limit orders only: Binance rejects `timeInForce` on MARKET and
 *   STOP_LOSS orders (-1106). A market order is immediate whatever its tif says.
 *
 * Secrets: the API key and secret live only inside the ccxt instance (a private field); ccxt's
 * verbose logging is forced off; error messages and causes are rebuilt from ccxt's text with the
 * key, the secret and request signatures removed.
 */
import { createHash } from 'node:crypto';
import ccxt, {
  AuthenticationError,
  BadRequest,
  BadSymbol,
  DDoSProtection,
  DuplicateOrderId,
  ExchangeError,
  ExchangeNotAvailable,
  InsufficientFunds,
  InvalidNonce,
  InvalidOrder,
  NetworkError,
  NotSupported,
  OperationFailed,
  OperationRejected,
  OrderNotFound,
  RateLimitExceeded,
  RequestTimeout,
  type Exchange,
  type Fee,
  type Order,
} from 'ccxt';
import type { OrderIntent } from '../../src/core/index.js';
import type { BrokerAck, BrokerPort, VenueReport, VenueSymbolRule } from './broker.js';
import { BrokerError } from './resilience.js';

export interface CcxtBrokerOptions {
  /** ccxt exchange id, e.g. 'binance'. */
  readonly exchange: string;
  readonly apiKey: string;
  readonly secret: string;
  /** Use the venue's testnet (ccxt `setSandboxMode(true)`); refused when the venue has none. */
  readonly sandbox: boolean;
  /** Sextant symbol -> venue (ccxt unified) symbol, e.g. { BTCUSDT: 'BTC/USDT' }; default identity. */
  readonly symbolMap?: Readonly<Record<string, string>>;
  /**
   * Timeout of one HTTP call, ms. A submit makes up to three calls (markets on first use, a
   * look-up, the placement): keep the resilience layer's per-call timeout above 3x this.
   */
  readonly timeoutMs: number;
  /** Merged into the ccxt constructor config (tests point `urls.api` at a fake; `enableRateLimit`). */
  readonly exchangeOverrides?: Readonly<Record<string, unknown>>;
  /** CCXT_REST_URL: the REST API (urls.api.public, .private) elsewhere (a gateway, a proxy); set after sandbox mode. */
  readonly restUrl?: string | undefined;
}

export type VenueOrderStatus = 'open' | 'closed' | 'canceled' | 'expired' | 'rejected';

/** An order as the venue reports it, for polling fills. */
export interface VenueOrderReport {
  readonly brokerOrderId: string;
  readonly status: VenueOrderStatus;
  /** Filled so far (base units). */
  readonly filled: number;
  /** Average fill price; undefined before any fill. */
  readonly average: number | undefined;
  /** Total fee, when every fill was charged in one currency (`feeCurrency`). */
  readonly fee?: number;
  readonly feeCurrency?: string;
  /** Fees by currency (Binance charges buys in the base asset, sells in the quote asset). */
  readonly fees: readonly { readonly currency: string; readonly cost: number }[];
}

/** What one venue needs beyond ccxt's unified API. */
interface VenueProfile {
  readonly ccxtOptions: Readonly<Record<string, unknown>>;
  /** Client order ids the venue accepts as they are. */
  readonly clientOrderIdPattern?: RegExp;
  /** The venue refused an order because its client order id is already in use. */
  readonly isDuplicate: (err: unknown) => boolean;
}

const profiles: Readonly<Record<string, VenueProfile>> = {
  binance: {
    // Spot only. Without these, loadMarkets also fetches futures markets (fapi, dapi), and with
    // credentials the margin pairs and currencies (sapi) — hosts that urls.api.public/private do
    // not cover.
    ccxtOptions: {
      defaultType: 'spot',
      fetchMarkets: { types: ['spot'] },
      fetchCurrencies: false,
      fetchMargins: false,
    },
    clientOrderIdPattern: /^[.A-Z:/a-z0-9_-]{1,36}$/,
    // Binance has no duplicate error of its own: -2010 NEW_ORDER_REJECTED "Duplicate order sent."
    // which ccxt raises as InvalidOrder.
    isDuplicate: (err) =>
      err instanceof DuplicateOrderId || (err instanceof InvalidOrder && err.message.includes('Duplicate order sent')),
  },
};
const genericProfile: VenueProfile = { ccxtOptions: {}, isDuplicate: (err) => err instanceof DuplicateOrderId };

/** Fees with both a cost and a currency. */
function known(fees: readonly Fee[]): { currency: string; cost: number }[] {
  return fees.flatMap((f) =>
    f?.cost !== undefined && f.currency !== undefined ? [{ currency: f.currency, cost: f.cost }] : [],
  );
}

/** ccxt error class -> broker error code and whether trying again can help. Most specific first. */
function classify(err: unknown): { code: string; retryable: boolean } {
  if (err instanceof RequestTimeout) return { code: 'timeout', retryable: true };
  if (err instanceof RateLimitExceeded || err instanceof DDoSProtection)
    return { code: 'rate_limited', retryable: true };
  if (err instanceof ExchangeNotAvailable) return { code: 'venue_unavailable', retryable: true };
  if (err instanceof InvalidNonce) return { code: 'clock_skew', retryable: true };
  if (err instanceof NetworkError) return { code: 'venue_unavailable', retryable: true };
  // BadResponse and venue-side failures (binance -1001 "Please try again", -1006 "status unknown").
  if (err instanceof OperationFailed) return { code: 'venue_error', retryable: true };
  if (err instanceof InsufficientFunds) return { code: 'insufficient_funds', retryable: false };
  if (err instanceof BadSymbol) return { code: 'unknown_symbol', retryable: false };
  if (err instanceof AuthenticationError) return { code: 'auth_failed', retryable: false }; // PermissionDenied, AccountSuspended too
  if (err instanceof OrderNotFound) return { code: 'order_not_found', retryable: false };
  if (err instanceof InvalidOrder || err instanceof BadRequest) return { code: 'invalid_order', retryable: false };
  if (err instanceof NotSupported) return { code: 'unsupported', retryable: false };
  if (err instanceof OperationRejected) return { code: 'venue_rejected', retryable: false };
  if (err instanceof ExchangeError) return { code: 'venue_rejected', retryable: false };
  return { code: 'broker_bug', retryable: false };
}

/**
 * A live venue through ccxt. Idempotent by client order id: see `submit`. Fills are polled with
 * `status`; `cancel` is idempotent.
 */
export class CcxtBroker implements BrokerPort {
  readonly fills = 'venue' as const;
  readonly name: string;
  readonly #ex: Exchange;
  readonly #profile: VenueProfile;
  readonly #symbolMap: Readonly<Record<string, string>>;
  readonly #redact: readonly string[];
  /** Submits in flight by client order id: a concurrent submit of the same order joins the first. */
  readonly #inFlight = new Map<string, Promise<BrokerAck>>();
  #marketsLoaded = false;
  #marketsFailed = false;

  constructor(opts: CcxtBrokerOptions) {
    const id = opts.exchange;
    this.name = `ccxt:${id}${opts.sandbox ? ':sandbox' : ''}`;
    const Ctor = (ccxt as unknown as Record<string, unknown>)[id];
    if (!ccxt.exchanges.includes(id) || typeof Ctor !== 'function')
      throw new BrokerError('unsupported_venue', `${this.name}: ccxt has no exchange '${id}'`, false);
    this.#profile = profiles[id] ?? genericProfile;
    this.#symbolMap = opts.symbolMap ?? {};
    this.#redact = [opts.apiKey, opts.secret].filter((s) => s.length >= 4);
    const overrides = opts.exchangeOverrides ?? {};
    const overrideOptions = (overrides.options ?? {}) as Record<string, unknown>;
    this.#ex = new (Ctor as new (config: Record<string, unknown>) => Exchange)({
      ...overrides,
      options: { ...this.#profile.ccxtOptions, ...overrideOptions },
      apiKey: opts.apiKey,
      secret: opts.secret,
      timeout: opts.timeoutMs,
      verbose: false, // verbose logs request headers, which carry the API key
    });
    if (opts.sandbox) {
      // ccxt's own check is `'test' in urls`, and many exchanges declare `test: undefined`:
      // setSandboxMode(true) then silently points the API at nothing (seen with kraken, 4.5.84).
      if (!this.#ex.urls?.test)
        throw new BrokerError(
          'no_sandbox',
          `${this.name}: ${id} has no sandbox (testnet) in ccxt; refusing to trade it in sandbox mode`,
          false,
        );
      this.#ex.setSandboxMode(true);
    }
    if (opts.restUrl) {
      const api = this.#ex.urls.api as Record<string, unknown>;
      api.public = opts.restUrl;
      api.private = opts.restUrl;
    }
  }

  /**
   * Places the order, or finds it when it is already at the venue.
   *
   * Why a look-up first, every time: Binance enforces unique client order ids among OPEN orders
   * only, so after a market order filled (or a limit was cancelled) the same id is accepted
   * again and makes a second order. A retry after an unknown outcome (a timeout, a 5xx, which
   * Binance documents as "execution status unknown") must therefore ask before placing, and so
   * must a restarted process. The venue's duplicate rejection still covers the race where the
   * order lands between the look-up and the placement while it is open: the existing order is
   * fetched and its id returned. Concurrent submits in this process share one call.
   * Left open: a first attempt still travelling to the venue when the retry's look-up runs, that
   * then lands AND fills at once (a market or marketable order) before the retry's placement —
   * the venue would accept both. Binance's recvWindow (10 s as ccxt sends it) narrows this: a
   * request older than that is refused on arrival. Retry backoff makes it narrower still.
   */
  submit(order: OrderIntent): Promise<BrokerAck> {
    let pending = this.#inFlight.get(order.clientOrderId);
    if (!pending) {
      pending = this.#submit(order).finally(() => this.#inFlight.delete(order.clientOrderId));
      this.#inFlight.set(order.clientOrderId, pending);
    }
    return pending;
  }

  /**
   * Each symbol's quantity step, smallest order quantity and price step, from the venue's
   * markets (ccxt's `precision` and `limits`; a precision in decimal places becomes a step).
   */
  async symbolRules(symbols: readonly string[]): Promise<Record<string, VenueSymbolRule>> {
    const rules: Record<string, VenueSymbolRule> = {};
    // ccxt's precision modes: 2 decimal places, 3 significant digits (no fixed step), 4 the step itself
    const mode = this.#ex.precisionMode;
    const stepOf = (p: number | undefined) =>
      p === undefined || !Number.isFinite(p) ? undefined : mode === 4 ? p : mode === 2 ? 10 ** -p : undefined;
    for (const symbol of symbols) {
      const venueSymbol = await this.#market(symbol, 'markets', `the market rules of ${symbol}`);
      const m = this.#ex.market(venueSymbol);
      const lotSize = stepOf(m.precision?.amount);
      const tickSize = stepOf(m.precision?.price);
      const minQty = m.limits?.amount?.min;
      rules[symbol] = {
        ...(lotSize !== undefined && lotSize > 0 ? { lotSize } : {}),
        ...(minQty !== undefined && Number.isFinite(minQty) && minQty >= 0 ? { minQty } : {}),
        ...(tickSize !== undefined && tickSize > 0 ? { tickSize } : {}),
      };
    }
    return rules;
  }

  /** The order's state at the venue (fills, average price, fees). */
  async status(clientOrderId: string, symbol: string): Promise<VenueOrderReport> {
    const what = `order ${clientOrderId} on ${symbol}`;
    const venueSymbol = await this.#market(symbol, 'status', what);
    const found = await this.#call('status', what, () => this.#find(venueSymbol, clientOrderId));
    if (!found)
      throw new BrokerError('order_not_found', `status of ${what} on ${this.name}: the venue has no such order`, false);
    return this.#report(found, venueSymbol, what);
  }

  /** The broker port's cancel: `cancel`, reported as `report` does. */
  async cancelOrder(order: OrderIntent): Promise<VenueReport> {
    return this.#portReport(order, await this.cancel(order.clientOrderId, order.symbol));
  }

  /** The broker port's fill polling: the venue's view of the order (fee only when in one currency). */
  async report(order: OrderIntent): Promise<VenueReport> {
    return this.#portReport(order, await this.status(order.clientOrderId, order.symbol));
  }

  #portReport(order: OrderIntent, r: VenueOrderReport): VenueReport {
    // the portfolio books fees in the quote currency: a fee charged in the base asset (Binance
    // does on buys) or in BNB is not passed as one (it would be booked at the wrong scale)
    const quote = (this.#symbolMap[order.symbol] ?? order.symbol).split('/')[1]?.split(':')[0];
    const fee = r.fee !== undefined && quote !== undefined && r.feeCurrency === quote ? r.fee : undefined;
    return { status: r.status, filled: r.filled, average: r.average, ...(fee !== undefined ? { fee } : {}) };
  }

  /**
   * Cancels the order and reports its final state. Idempotent: an order already cancelled,
   * filled or expired is not an error, its state is returned.
   */
  async cancel(clientOrderId: string, symbol: string): Promise<VenueOrderReport> {
    const what = `order ${clientOrderId} on ${symbol}`;
    const venueSymbol = await this.#market(symbol, 'cancel', what);
    const venueId = this.#venueClientId(clientOrderId);
    try {
      await this.#ex.cancelOrder('', venueSymbol, { clientOrderId: venueId });
    } catch (err) {
      // Binance: -2011 "Unknown order sent." for an order no longer open, or never placed.
      if (!(err instanceof OrderNotFound)) throw this.#error('cancel', what, err);
    }
    const found = await this.#call('cancel', what, () => this.#find(venueSymbol, clientOrderId));
    if (!found)
      throw new BrokerError('order_not_found', `cancel of ${what} on ${this.name}: the venue has no such order`, false);
    return this.#report(found, venueSymbol, what);
  }

  async #submit(order: OrderIntent): Promise<BrokerAck> {
    const what = `order ${order.clientOrderId} (${order.side} ${order.qty} ${order.symbol} ${order.type})`;
    const request = this.#request(order, what);
    const venueSymbol = await this.#market(order.symbol, 'submit', what);
    const existing = await this.#call('submit', what, () => this.#find(venueSymbol, order.clientOrderId));
    if (existing) return { brokerOrderId: this.#idOf(existing, 'submit', what) };
    try {
      const placed = await this.#ex.createOrder(
        venueSymbol,
        request.type,
        order.side,
        order.qty,
        request.price,
        request.params,
      );
      return { brokerOrderId: this.#idOf(placed, 'submit', what) };
    } catch (err) {
      if (!this.#profile.isDuplicate(err)) throw this.#error('submit', what, err);
    }
    const again = await this.#call('submit', what, () => this.#find(venueSymbol, order.clientOrderId));
    if (!again)
      throw new BrokerError(
        'duplicate_unresolved',
        `submit of ${what} on ${this.name}: the venue calls the client order id a duplicate but has no order with it`,
        true,
      );
    return { brokerOrderId: this.#idOf(again, 'submit', what) };
  }

  /** Maps the intent to ccxt arguments, refusing what cannot be mapped faithfully (before any I/O). */
  #request(
    order: OrderIntent,
    what: string,
  ): { type: 'market' | 'limit'; price: number | undefined; params: Record<string, unknown> } {
    const refuse = (code: string, why: string) =>
      new BrokerError(code, `submit of ${what} on ${this.name} refused: ${why}`, false);
    if (order.tif === 'DAY')
      throw refuse('unsupported_tif', 'DAY time in force has no meaning on a 24/7 crypto venue; use GTC or IOC');
    const params: Record<string, unknown> = { clientOrderId: this.#venueClientId(order.clientOrderId) };
    switch (order.type) {
      case 'market':
        return { type: 'market', price: undefined, params };
      case 'limit':
        if (order.limitPrice === undefined) throw refuse('invalid_order', 'a limit order needs a limit price');
        return { type: 'limit', price: order.limitPrice, params: { ...params, timeInForce: order.tif } };
      case 'stop':
        if (order.stopPrice === undefined) throw refuse('invalid_order', 'a stop order needs a stop price');
        if (order.limitPrice !== undefined)
          throw refuse('unsupported_order', 'stop-limit orders are not supported (a stop is a stop-market order)');
        if (order.tif !== 'GTC')
          throw refuse(
            'unsupported_tif',
            `${order.tif} time in force on a stop order is not supported; stops rest until triggered (GTC)`,
          );
        return { type: 'market', price: undefined, params: { ...params, triggerPrice: order.stopPrice } };
    }
  }

  /** Loads markets once and resolves the venue symbol, which must be a spot market. */
  async #market(symbol: string, op: string, what: string): Promise<string> {
    const venueSymbol = this.#symbolMap[symbol] ?? symbol;
    if (!this.#marketsLoaded) {
      // A failed loadMarkets leaves ccxt holding the rejected promise and returning it to every
      // later call; after a failure, ask for a reload.
      await this.#call(op, what, () => this.#ex.loadMarkets(this.#marketsFailed)).catch((err: unknown) => {
        this.#marketsFailed = true;
        throw err;
      });
      this.#marketsLoaded = true;
    }
    const market = await this.#call(op, what, async () => this.#ex.market(venueSymbol));
    if (market.spot !== true)
      throw new BrokerError(
        'unsupported_market',
        `${op} of ${what} on ${this.name}: ${venueSymbol} is not a spot market; only spot is supported`,
        false,
      );
    return venueSymbol;
  }

  /** The order with this client order id, or undefined when the venue has none. */
  async #find(venueSymbol: string, clientOrderId: string): Promise<Order | undefined> {
    try {
      return await this.#ex.fetchOrder('', venueSymbol, { clientOrderId: this.#venueClientId(clientOrderId) });
    } catch (err) {
      if (err instanceof OrderNotFound) return undefined;
      throw err;
    }
  }

  async #report(order: Order, venueSymbol: string, what: string): Promise<VenueOrderReport> {
    const status = order.status === 'canceling' ? 'open' : order.status; // binance PENDING_CANCEL
    if (
      status !== 'open' &&
      status !== 'closed' &&
      status !== 'canceled' &&
      status !== 'expired' &&
      status !== 'rejected'
    ) {
      throw new BrokerError(
        'bad_response',
        `status of ${what} on ${this.name}: the venue reported an unknown status '${String(order.status)}'`,
        true,
      );
    }
    const brokerOrderId = this.#idOf(order, 'status', what);
    const filled = order.filled ?? 0;
    // ccxt's safeOrder adds `fees` (one per currency) beside `fee`; its Order type omits it.
    let fees = known((order as Order & { fees?: Fee[] }).fees ?? []);
    if (fees.length === 0 && filled > 0 && this.#ex.has.fetchOrderTrades) {
      // Binance's order query carries no fees; they are on the order's trades.
      const trades = await this.#call('status', what, () => this.#ex.fetchOrderTrades(brokerOrderId, venueSymbol));
      fees = known(trades.map((t) => t.fee));
    }
    const byCurrency = new Map<string, number>();
    for (const f of fees) byCurrency.set(f.currency, (byCurrency.get(f.currency) ?? 0) + f.cost);
    const list = [...byCurrency].map(([currency, cost]) => ({ currency, cost }));
    const one = list.length === 1 ? list[0] : undefined;
    return {
      brokerOrderId,
      status,
      filled,
      average: filled > 0 ? order.average : undefined,
      ...(one ? { fee: one.cost, feeCurrency: one.currency } : {}),
      fees: list,
    };
  }

  #idOf(order: Order, op: string, what: string): string {
    if (order.id === undefined || order.id === '')
      throw new BrokerError(
        'bad_response',
        `${op} of ${what} on ${this.name}: the venue answered without an order id`,
        true,
      );
    return order.id;
  }

  #venueClientId(clientOrderId: string): string {
    const pattern = this.#profile.clientOrderIdPattern;
    if (!pattern || pattern.test(clientOrderId)) return clientOrderId;
    return `sx-${createHash('sha256').update(clientOrderId).digest('base64url').slice(0, 33)}`;
  }

  async #call<T>(op: string, what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.#error(op, what, err);
    }
  }

  /** A BrokerError naming the order; ccxt's text is kept minus credentials and signatures. */
  #error(op: string, what: string, err: unknown): BrokerError {
    if (err instanceof BrokerError) return err;
    const { code, retryable } = classify(err);
    const detail = this.#sanitize(err instanceof Error ? err.message : String(err));
    const cause = new Error(detail);
    cause.name = err instanceof Error ? err.constructor.name : 'Error';
    return new BrokerError(code, `${op} of ${what} on ${this.name} failed (${code}): ${detail}`, retryable, { cause });
  }

  #sanitize(text: string): string {
    let out = text.replace(/(signature=)[^&\s"]+/gi, '$1<redacted>');
    for (const s of this.#redact) out = out.split(s).join('<redacted>');
    return out.length > 500 ? `${out.slice(0, 500)}…` : out;
  }
}
