/**
 * Alpaca (US equities) behind the broker port, through the official SDK
 * (`@alpacahq/alpaca-trade-api` 4.0.2): its `OrdersApi` for REST (pointed at a host through its
 * `Configuration.basePath`) and its `TradingStream` for `trade_updates` (through its `url`).
 *
 * PAPER BY DEFAULT: `paper: true` talks to paper-api.alpaca.markets; the live host (real money)
 * only with `paper: false`, which the configuration allows only with LIVE_TRADING=true.
 *
 * - Submit: `POST /v2/orders` with the Sextant client order id as `client_order_id` (Alpaca keeps
 *   them unique for ever: a second order with the same id is refused with 422 "client_order_id
 *   must be unique", which is taken as "already placed" and answered with that order's id). The
 *   SDK never retries a POST; execution's resilience layer does, and the uniqueness makes that
 *   safe after an unknown outcome (a timeout, a 5xx).
 * - Fills, cancels, rejections come from the trade-updates stream: each update carries the whole
 *   order (cumulative filled quantity and average price), kept per client order id and handed to
 *   execution (`updates`), which books only what is new, so an update delivered twice, or again
 *   after a reconnect, is booked once.
 * - REST as the fallback (`report`, polled by execution every EXEC_POLL_MS): an order is asked
 *   about by `GET /v2/orders:by_client_order_id` unless the stream has told its state since it
 *   last (re)started listening and within `freshMs`. After a dropped stream every working order is
 *   therefore read once by REST (whatever happened meanwhile), then followed by the stream again.
 *
 * Mapping: market, limit, stop (a stop with a limit price is a stop_limit), a trailing stop
 * (`trail`) as Alpaca's trailing_stop with `trail_percent`; time in force DAY, GTC, IOC as day,
 * gtc, ioc. Alpaca charges no commission on US equities; regulatory fees are account activities,
 * not on the order, so fills carry no fee.
 *
 * Secrets: the key id and secret live in the SDK's configuration only; error texts are rebuilt
 * from Alpaca's message with both removed. What was exercised: all of the above against a local
 * fake of Alpaca (tests/helpers/fake-alpaca.ts). NOT against Alpaca itself (no internet here).
 */
import {
  ApiError,
  FetchError,
  OrdersApi,
  RateLimitError,
  streaming,
  trading,
  type orders as sdkOrders,
} from '@alpacahq/alpaca-trade-api';
import type { Logger, OrderIntent } from '../../src/core/index.js';
import type { BrokerAck, BrokerPort, VenueReport } from './broker.js';
import { BrokerError } from './resilience.js';

export interface AlpacaBrokerOptions {
  readonly keyId: string;
  readonly secret: string;
  /** Alpaca's paper account (true) or real money (false). */
  readonly paper: boolean;
  /** Sextant symbol -> Alpaca symbol; default identity. */
  readonly symbolMap?: Readonly<Record<string, string>>;
  /** The trading host elsewhere (REST; its stream is the same host at /stream). Unset: Alpaca's. */
  readonly tradingUrl?: string | undefined;
  /** One HTTP call's timeout, ms. */
  readonly timeoutMs: number;
  /** A pushed state older than this is asked again by REST (no lost update stays unnoticed); default 30 s. */
  readonly freshMs?: number;
  /** The stream's reconnect backoff (default 1 s doubling to 30 s). */
  readonly reconnect?: { readonly baseMs: number; readonly maxMs: number };
  readonly now?: () => number;
  readonly log: Logger;
}

interface Known {
  readonly report: VenueReport;
  /** When it was last told (ms). */
  readonly at: number;
  /** The stream session it was told in (0: by REST before any). */
  readonly session: number;
}

const DUPLICATE = /client_order_id must be unique/i;

/** Alpaca's order status as the broker port's. */
function statusOf(status: string | undefined): VenueReport['status'] {
  switch (status) {
    case 'filled':
      return 'closed';
    case 'canceled':
    case 'replaced': // Sextant never replaces: another client did, and this order is over
      return 'canceled';
    case 'expired':
      return 'expired';
    case 'rejected':
      return 'rejected';
    default:
      return 'open'; // new, accepted, pending_*, partially_filled, done_for_day, held, ...
  }
}

/** An order as Alpaca sends it (REST, or inside a trade update) -> the port's report. */
function reportOf(order: trading.Order): VenueReport {
  const filled = Number(order.filledQty ?? 0);
  const average = order.filledAvgPrice == null ? undefined : Number(order.filledAvgPrice);
  return { status: statusOf(order.status), filled, average: filled > 0 ? average : undefined };
}

/** The later of two states of one order: fills only grow, an end is final. */
function merge(prev: VenueReport | undefined, next: VenueReport): VenueReport {
  if (!prev) return next;
  const latest = next.filled >= prev.filled ? next : prev;
  const status = prev.status !== 'open' ? prev.status : next.status;
  return { ...latest, status };
}

export class AlpacaBroker implements BrokerPort {
  readonly fills = 'venue' as const;
  readonly name: string;
  readonly #orders: OrdersApi;
  readonly #opts: AlpacaBrokerOptions;
  readonly #streamUrl: string;
  readonly #redact: readonly string[];
  readonly #now: () => number;
  readonly #known = new Map<string, Known>();
  readonly #listeners = new Set<(clientOrderId: string, report: VenueReport) => void>();
  readonly #inFlight = new Map<string, Promise<BrokerAck>>();
  #stream: streaming.TradingStream | undefined;
  /** Incremented each time the stream (re)starts listening; 0 while it never has. */
  #session = 0;
  #listening = false;

  constructor(opts: AlpacaBrokerOptions) {
    if (!opts.keyId || !opts.secret)
      throw new BrokerError('auth_failed', 'BROKER=alpaca: ALPACA_KEY_ID and ALPACA_SECRET_KEY are required', false);
    this.#opts = opts;
    this.name = `alpaca:${opts.paper ? 'paper' : 'live'}`;
    this.#now = opts.now ?? Date.now;
    this.#redact = [opts.keyId, opts.secret].filter((s) => s.length >= 4);
    const host = opts.tradingUrl ?? (opts.paper ? trading.TRADING_PAPER_HOST : trading.TRADING_LIVE_HOST);
    this.#orders = new OrdersApi(
      new trading.Configuration({
        keyId: opts.keyId,
        secret: opts.secret,
        paper: opts.paper,
        timeoutMs: opts.timeoutMs,
        ...(opts.tradingUrl ? { basePath: opts.tradingUrl } : {}),
      }),
    );
    this.#streamUrl = `${host.replace(/^http/, 'ws').replace(/\/+$/, '')}/stream`;
  }

  /** Places the order once by client order id; concurrent submits of one order share the call. */
  submit(order: OrderIntent): Promise<BrokerAck> {
    let pending = this.#inFlight.get(order.clientOrderId);
    if (!pending) {
      pending = this.#submit(order).finally(() => this.#inFlight.delete(order.clientOrderId));
      this.#inFlight.set(order.clientOrderId, pending);
    }
    return pending;
  }

  /** The order's state: the stream's when it has told it recently, else Alpaca's by REST. */
  async report(order: OrderIntent): Promise<VenueReport> {
    const id = order.clientOrderId;
    const k = this.#known.get(id);
    if (k && this.#listening && k.session === this.#session && this.#now() - k.at < (this.#opts.freshMs ?? 30_000))
      return k.report;
    const found = await this.#find(id, `status of order ${id}`);
    if (!found)
      throw new BrokerError(
        'order_not_found',
        `status of order ${id} on ${this.name}: Alpaca has no such order`,
        false,
      );
    return this.#learn(id, reportOf(found), false);
  }

  updates(listener: (clientOrderId: string, report: VenueReport) => void): () => void {
    this.#listeners.add(listener);
    if (!this.#stream) this.#open();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.close();
    };
  }

  lastReport(clientOrderId: string): VenueReport | undefined {
    return this.#known.get(clientOrderId)?.report;
  }

  /** Whether the trade-updates stream is listening now. */
  get listening(): boolean {
    return this.#listening;
  }

  /** Closes the trade-updates stream (REST keeps working). */
  close(): void {
    this.#stream?.disconnect();
    this.#stream = undefined;
    this.#listening = false;
  }

  #open(): void {
    const back = this.#opts.reconnect ?? { baseMs: 1000, maxMs: 30_000 };
    const stream = new streaming.TradingStream({
      credentials: { keyId: this.#opts.keyId, secret: this.#opts.secret },
      paper: this.#opts.paper,
      url: this.#streamUrl,
      maxReconnectAttempts: streaming.UNLIMITED_RECONNECT_ATTEMPTS,
      initialReconnectMs: back.baseMs,
      maxReconnectMs: back.maxMs,
    });
    this.#stream = stream;
    // Alpaca confirmed the subscription: from now on the stream speaks for the orders it updates
    stream.on(streaming.EVENT.SUBSCRIPTION, () => {
      this.#session++;
      this.#listening = true;
    });
    stream.onDisconnect(() => (this.#listening = false));
    stream.onTradeUpdate((u) => {
      const id = u.order.clientOrderId;
      if (typeof id === 'string' && id.length > 0) this.#learn(id, reportOf(u.order), true);
    });
    stream.onError((message) =>
      this.#opts.log.warn({ broker: this.name, err: this.#sanitize(message) }, 'Alpaca trade-updates stream error'),
    );
    void stream.whenAuthenticated().then((r) => {
      if (!r.authenticated && r.status === streaming.STREAM_AUTH_STATUS.SERVER_REJECTED)
        this.#opts.log.error(
          { broker: this.name },
          'Alpaca refused ALPACA_KEY_ID/ALPACA_SECRET_KEY on the trade-updates stream; fills are read by REST polling only',
        );
    });
    stream.subscribeTradeUpdates();
    stream.connect();
  }

  /** Keeps the later state of an order and, when pushed, tells the listeners. */
  #learn(id: string, report: VenueReport, pushed: boolean): VenueReport {
    const merged = merge(this.#known.get(id)?.report, report);
    this.#known.set(id, { report: merged, at: this.#now(), session: this.#listening ? this.#session : 0 });
    if (pushed) for (const l of this.#listeners) l(id, merged);
    return merged;
  }

  async #submit(order: OrderIntent): Promise<BrokerAck> {
    const what = `order ${order.clientOrderId} (${order.side} ${order.qty} ${order.symbol} ${order.type})`;
    const input = this.#request(order, what);
    try {
      const placed = await this.#orders.submit(input);
      return { brokerOrderId: this.#idOf(placed, what) };
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 422 && DUPLICATE.test(err.message)))
        throw this.#error('submit', what, err);
    }
    // placed before (a retry after an unknown outcome, a restart): that order is this one
    const existing = await this.#find(order.clientOrderId, `submit of ${what}`);
    if (!existing)
      throw new BrokerError(
        'duplicate_unresolved',
        `submit of ${what} on ${this.name}: Alpaca calls the client order id used but has no order with it`,
        true,
      );
    return { brokerOrderId: this.#idOf(existing, what) };
  }

  /** The intent as Alpaca's order request, refusing what cannot be mapped faithfully (before any I/O). */
  #request(order: OrderIntent, what: string): sdkOrders.OrderInput {
    const refuse = (code: string, why: string) =>
      new BrokerError(code, `submit of ${what} on ${this.name} refused: ${why}`, false);
    const base = {
      symbol: this.#opts.symbolMap?.[order.symbol] ?? order.symbol,
      qty: order.qty,
      side: order.side,
      timeInForce: ({ DAY: 'day', GTC: 'gtc', IOC: 'ioc' } as const)[order.tif],
      clientOrderId: order.clientOrderId,
    };
    if (order.trail !== undefined) {
      if (order.type !== 'stop') throw refuse('unsupported_order', 'a trailing amount is only for stop orders');
      return { ...base, type: 'trailing_stop', trailPercent: Number((order.trail * 100).toPrecision(12)) };
    }
    switch (order.type) {
      case 'market':
        return { ...base, type: 'market' };
      case 'limit':
        if (order.limitPrice === undefined) throw refuse('invalid_order', 'a limit order needs a limit price');
        return { ...base, type: 'limit', limitPrice: order.limitPrice };
      case 'stop':
        if (order.stopPrice === undefined) throw refuse('invalid_order', 'a stop order needs a stop price');
        return order.limitPrice === undefined
          ? { ...base, type: 'stop', stopPrice: order.stopPrice }
          : { ...base, type: 'stop_limit', stopPrice: order.stopPrice, limitPrice: order.limitPrice };
    }
  }

  /** The order with this client order id, or undefined when Alpaca has none. */
  async #find(clientOrderId: string, doing: string): Promise<trading.Order | undefined> {
    try {
      return await this.#orders.getOrderByClientOrderId({ clientOrderId });
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw this.#error(doing, '', err);
    }
  }

  #idOf(order: trading.Order, what: string): string {
    if (!order.id)
      throw new BrokerError(
        'bad_response',
        `submit of ${what} on ${this.name}: Alpaca answered without an order id`,
        true,
      );
    return order.id;
  }

  /** A BrokerError naming the call; Alpaca's text is kept minus the credentials. */
  #error(op: string, what: string, err: unknown): BrokerError {
    if (err instanceof BrokerError) return err;
    const { code, retryable } = classify(err);
    const status = err instanceof ApiError ? ` ${err.status}` : '';
    const detail = this.#sanitize(err instanceof Error ? err.message : String(err));
    const cause = new Error(detail);
    cause.name = err instanceof Error ? err.constructor.name : 'Error';
    const subject = what ? `${op} of ${what}` : op;
    return new BrokerError(code, `${subject} on ${this.name} failed (${code}${status}): ${detail}`, retryable, {
      cause,
    });
  }

  #sanitize(text: string): string {
    let out = text;
    for (const s of this.#redact) out = out.split(s).join('<redacted>');
    return out.length > 500 ? `${out.slice(0, 500)}…` : out;
  }
}

/** An SDK error as a broker error code and whether trying again can help. */
function classify(err: unknown): { code: string; retryable: boolean } {
  if (err instanceof RateLimitError) return { code: 'rate_limited', retryable: true };
  if (err instanceof ApiError) {
    const s = err.status;
    if (s === 401) return { code: 'auth_failed', retryable: false };
    if (s === 403)
      return /buying power|insufficient|not enough/i.test(err.message)
        ? { code: 'insufficient_funds', retryable: false }
        : { code: 'venue_rejected', retryable: false };
    if (s === 404) return { code: 'order_not_found', retryable: false };
    if (s === 400 || s === 422) return { code: 'invalid_order', retryable: false };
    if (s === 408 || s >= 500) return { code: 'venue_error', retryable: true };
    return { code: 'venue_rejected', retryable: false };
  }
  if (err instanceof FetchError)
    return err.cause?.name === 'TimeoutError'
      ? { code: 'timeout', retryable: true }
      : { code: 'venue_unavailable', retryable: true };
  return { code: 'broker_bug', retryable: false };
}
