import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * A local fake of Binance's spot REST API (`/api/v3`), just enough for ccxt's `binance` class to
 * load markets, place, query and cancel orders and list an order's trades. It answers with the
 * field names, HTTP statuses and error codes Binance documents
 * (developers.binance.com/docs/binance-spot-api-docs/rest-api), including the one that matters
 * most for idempotency: `newClientOrderId` must be unique among OPEN orders only, so a duplicate
 * of an open order is rejected with -2010 "Duplicate order sent." while the id of a filled or
 * cancelled order may be used again (and makes a second order).
 *
 * Endpoints: GET /api/v3/ping, /time, /exchangeInfo (public); POST, GET, DELETE /api/v3/order and
 * GET /api/v3/myTrades (signed: X-MBX-APIKEY header and an HMAC-SHA256 `signature` over the query
 * string plus body, which this fake verifies).
 *
 * Matching is simple and deterministic: market orders fill at once at the symbol's last price;
 * limit orders fill at once when marketable, else rest (an IOC that cannot fill expires); stop
 * orders (STOP_LOSS) rest until `setPrice` crosses them. Tests add fills with `fill`. Commission
 * is 0.1%, charged in the asset received (base on buys, quote on sells), as Binance does without
 * BNB. Balances are checked when an order is placed and moved on fills; open orders do not lock
 * balance (a simplification).
 *
 * Market data: GET /api/v3/klines (REST candles, as arrays, the forming one included as Binance
 * does) and the websocket market streams (any path: ccxt connects to `<ws>/<n>`), where a client
 * sends `{"method":"SUBSCRIBE","params":["btcusdt@kline_1m"],"id":1}`, is answered
 * `{"result":null,"id":1}` and then gets `kline` events (`k.x` true on the last update of a
 * closed candle). Tests add candles with `kline` (stored for REST, pushed to subscribers) and drop
 * every socket with `dropSockets`.
 *
 * Faults are injected per request (`inject`): an HTTP error instead of an answer, an answer that
 * never comes, or either of those AFTER the request was processed (Binance: a 5xx means the
 * execution status is unknown and the order may exist).
 */

export interface FakeSymbol {
  /** Venue id, e.g. BTCUSDT. */
  readonly symbol: string;
  readonly baseAsset: string;
  readonly quoteAsset: string;
  readonly lastPrice: number;
  readonly tickSize?: string;
  readonly stepSize?: string;
  readonly minQty?: string;
  readonly minNotional?: string;
}

export interface FakeVenueOptions {
  readonly apiKey: string;
  readonly secret: string;
  readonly symbols?: readonly FakeSymbol[];
  /** Free balances by asset. */
  readonly balances?: Readonly<Record<string, number>>;
}

export type Fault =
  /** Answer with this HTTP status and body instead of processing the request. */
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly body?: unknown;
      readonly headers?: Readonly<Record<string, string>>;
    }
  /** Never answer, and do not process the request (it never reached the matching engine). */
  | { readonly kind: 'hang' }
  /** Process the request, then never answer (the order exists; the caller cannot know). */
  | { readonly kind: 'hang-after-processing' }
  /** Process the request, then answer with an HTTP error (Binance's "execution status unknown"). */
  | { readonly kind: 'status-after-processing'; readonly status: number; readonly body?: unknown }
  /** Process the request now, send the answer after `ms`. */
  | { readonly kind: 'delay'; readonly ms: number };

export interface FaultRule {
  readonly method?: string;
  /** Path as requested, e.g. /api/v3/order. */
  readonly path?: string;
  /** How many matching requests this rule affects. */
  readonly times: number;
  readonly fault: Fault;
}

/** A request the venue received (signature stripped; headers are not kept). */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
}

type OrderStatus = 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'EXPIRED' | 'REJECTED';

interface VenueTrade {
  readonly id: number;
  readonly price: number;
  readonly qty: number;
  readonly commission: number;
  readonly commissionAsset: string;
  readonly time: number;
}

/** An order as the venue holds it. */
export interface VenueOrder {
  readonly orderId: number;
  readonly symbol: string;
  readonly clientOrderId: string;
  readonly side: 'BUY' | 'SELL';
  readonly type: 'MARKET' | 'LIMIT' | 'STOP_LOSS';
  readonly timeInForce: 'GTC' | 'IOC' | 'FOK';
  readonly origQty: number;
  readonly price: number;
  readonly stopPrice: number;
  status: OrderStatus;
  executedQty: number;
  cummulativeQuoteQty: number;
  readonly time: number;
  updateTime: number;
  isWorking: boolean;
  readonly trades: VenueTrade[];
}

class VenueReject extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: number,
    msg: string,
  ) {
    super(msg);
  }
}

const COMMISSION = 0.001;
/** Binance's documented pattern for newClientOrderId / origClientOrderId. */
const CLIENT_ID_PATTERN = /^[.A-Z:/a-z0-9_-]{1,36}$/;
const d8 = (n: number) => n.toFixed(8);
const OPEN: readonly OrderStatus[] = ['NEW', 'PARTIALLY_FILLED'];

const defaultSymbols: readonly FakeSymbol[] = [
  { symbol: 'BTCUSDT', baseAsset: 'BTC', quoteAsset: 'USDT', lastPrice: 60_000 },
  { symbol: 'ETHUSDT', baseAsset: 'ETH', quoteAsset: 'USDT', lastPrice: 3_000 },
];

/** A candle as the fake venue keeps it (open time, prices, volume). */
export interface FakeKline {
  readonly t: number;
  readonly o: number;
  readonly h: number;
  readonly l: number;
  readonly c: number;
  readonly v: number;
}

const INTERVAL_MS: Readonly<Record<string, number>> = {
  '1m': 60_000,
  '3m': 180_000,
  '5m': 300_000,
  '15m': 900_000,
  '1h': 3_600_000,
  '1d': 86_400_000,
};

export class FakeBinance {
  readonly requests: RecordedRequest[] = [];
  /** Candles by `SYMBOL@interval`, by open time. */
  readonly #klines = new Map<string, Map<number, FakeKline>>();
  readonly #ws: WebSocketServer;
  /** Open sockets and the streams each subscribed to. */
  readonly #sockets = new Map<WebSocket, Set<string>>();
  /** Every SUBSCRIBE a socket sent (stream names), in order. */
  readonly subscriptions: string[] = [];
  readonly #orders: VenueOrder[] = [];
  readonly #symbols = new Map<string, FakeSymbol & { last: number }>();
  readonly #balances = new Map<string, number>();
  readonly #rules: { rule: FaultRule; left: number }[] = [];
  readonly #pending = new Set<ServerResponse>();
  #nextOrderId = 1000;
  #nextTradeId = 5000;

  private constructor(
    private readonly server: Server,
    private readonly opts: FakeVenueOptions,
  ) {
    for (const s of opts.symbols ?? defaultSymbols) this.#symbols.set(s.symbol, { ...s, last: s.lastPrice });
    this.#ws = new WebSocketServer({ server });
    this.#ws.on('connection', (socket) => {
      this.#sockets.set(socket, new Set());
      socket.on('close', () => this.#sockets.delete(socket));
      socket.on('message', (data) => {
        let msg: { method?: string; params?: string[]; id?: number };
        try {
          msg = JSON.parse(String(data)) as typeof msg;
        } catch {
          return void socket.send(JSON.stringify({ error: { code: 3, msg: 'Invalid JSON' } }));
        }
        const streams = this.#sockets.get(socket);
        if (msg.method === 'SUBSCRIBE' && streams) {
          for (const p of msg.params ?? []) {
            streams.add(p);
            this.subscriptions.push(p);
          }
        } else if (msg.method === 'UNSUBSCRIBE' && streams) for (const p of msg.params ?? []) streams.delete(p);
        socket.send(JSON.stringify({ result: null, id: msg.id ?? null }));
      });
    });
    for (const [asset, qty] of Object.entries(opts.balances ?? { USDT: 1_000_000, BTC: 10, ETH: 100 }))
      this.#balances.set(asset, qty);
  }

  static async start(opts: FakeVenueOptions): Promise<FakeBinance> {
    const holder: { venue?: FakeBinance } = {};
    const server = createServer((req, res) => void holder.venue!.#handle(req, res));
    const venue = (holder.venue = new FakeBinance(server, opts));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return venue;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The websocket market-stream base (ccxt's `urls.api.ws.spot`). */
  get wsUrl(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/ws`;
  }

  /** Sockets subscribed to a stream (e.g. `btcusdt@kline_1m`) right now. */
  subscribers(stream: string): number {
    let n = 0;
    for (const streams of this.#sockets.values()) if (streams.has(stream)) n++;
    return n;
  }

  /**
   * A candle update: stored (REST answers with it) and, unless `push` is false, sent to the
   * sockets subscribed to `<symbol>@kline_<interval>`, as closed (`x`) when `closed`.
   */
  kline(symbol: string, interval: string, k: FakeKline, opts: { closed?: boolean; push?: boolean } = {}): void {
    const ms = INTERVAL_MS[interval];
    if (ms === undefined) throw new Error(`fake venue: unknown interval ${interval}`);
    const key = `${symbol}@${interval}`;
    const book = this.#klines.get(key) ?? new Map<number, FakeKline>();
    this.#klines.set(key, book);
    book.set(k.t, k);
    if (opts.push === false) return;
    const stream = `${symbol.toLowerCase()}@kline_${interval}`;
    const event = JSON.stringify({
      e: 'kline',
      E: k.t + ms - 1,
      s: symbol,
      k: {
        t: k.t,
        T: k.t + ms - 1,
        s: symbol,
        i: interval,
        f: 1,
        L: 2,
        o: d8(k.o),
        c: d8(k.c),
        h: d8(k.h),
        l: d8(k.l),
        v: d8(k.v),
        n: 2,
        x: opts.closed ?? false,
        q: d8(k.v * k.c),
        V: '0',
        Q: '0',
        B: '0',
      },
    });
    for (const [socket, streams] of this.#sockets) if (streams.has(stream)) socket.send(event);
  }

  /** Closes every market-data socket, as a venue restart or a network drop does. */
  dropSockets(): void {
    for (const socket of this.#sockets.keys()) socket.terminate();
    this.#sockets.clear();
  }

  /** The settings of `sextant start` on this fake's live candles of BTCUSDT (DATA_FEED=ccxt). */
  liveFeedEnv(): Record<string, string> {
    return {
      DATA_FEED: 'ccxt',
      CCXT_EXCHANGE: 'binance',
      CCXT_SYMBOLS: 'BTCUSDT=BTC/USDT',
      CCXT_REST_URL: `${this.url}/api/v3`,
      CCXT_WS_URL: this.wsUrl,
    };
  }

  /** ccxt `urls.api` entries for binance spot pointing at this fake. */
  get ccxtApiUrls(): { public: string; private: string } {
    return { public: `${this.url}/api/v3`, private: `${this.url}/api/v3` };
  }

  /** Every order the venue holds, in placement order. */
  get orders(): readonly VenueOrder[] {
    return this.#orders;
  }

  ordersWithClientId(clientOrderId: string): readonly VenueOrder[] {
    return this.#orders.filter((o) => o.clientOrderId === clientOrderId);
  }

  /** Requests to one path and method (e.g. how many order placements reached the venue). */
  requestsTo(method: string, path: string): readonly RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.path === path);
  }

  balance(asset: string): number {
    return this.#balances.get(asset) ?? 0;
  }

  inject(rule: FaultRule): void {
    this.#rules.push({ rule, left: rule.times });
  }

  /** Drops every fault rule not used up yet (the venue is back). */
  clearFaults(): void {
    this.#rules.length = 0;
  }

  /** The matching engine fills `qty` of an open order at `price` (a partial fill when less than what is left). */
  fill(clientOrderId: string, qty: number, price: number): void {
    const order = this.#orders.find((o) => o.clientOrderId === clientOrderId && OPEN.includes(o.status));
    if (!order) throw new Error(`fake venue: no open order ${clientOrderId}`);
    this.#execute(order, Math.min(qty, order.origQty - order.executedQty), price);
  }

  /** A trade prints at `price`: resting limits that it crosses fill there, stops it reaches trigger. */
  setPrice(symbol: string, price: number): void {
    const s = this.#symbols.get(symbol);
    if (!s) throw new Error(`fake venue: no symbol ${symbol}`);
    s.last = price;
    for (const o of this.#orders) {
      if (o.symbol !== symbol || !OPEN.includes(o.status)) continue;
      const buy = o.side === 'BUY';
      if (o.type === 'LIMIT' && (buy ? price <= o.price : price >= o.price))
        this.#execute(o, o.origQty - o.executedQty, price);
      if (o.type === 'STOP_LOSS' && (buy ? price >= o.stopPrice : price <= o.stopPrice)) {
        o.isWorking = true;
        this.#execute(o, o.origQty - o.executedQty, price);
      }
    }
  }

  async close(): Promise<void> {
    this.dropSockets();
    this.#ws.close();
    for (const res of this.#pending) res.destroy();
    this.#pending.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const query = url.search.slice(1);
    const params: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(query)) params[k] = v;
    // the query string wins, as on Binance
    for (const [k, v] of new URLSearchParams(body)) if (!(k in params)) params[k] = v;
    const { signature: _sig, ...recorded } = params;
    this.requests.push({ method, path, params: recorded });

    const fault = this.#takeFault(method, path);
    if (fault?.kind === 'hang') return void this.#pending.add(res);
    if (fault?.kind === 'status')
      return this.#send(
        res,
        fault.status,
        fault.body ?? { code: -1001, msg: 'Internal error; unable to process your request. Please try again.' },
        fault.headers,
      );

    let status = 200;
    let answer: unknown;
    try {
      answer = this.#route(method, path, params, req.headers['x-mbx-apikey'], query, body);
    } catch (err) {
      if (!(err instanceof VenueReject)) throw err;
      status = err.httpStatus;
      answer = { code: err.code, msg: err.message };
    }
    if (fault?.kind === 'hang-after-processing') return void this.#pending.add(res);
    if (fault?.kind === 'status-after-processing')
      return this.#send(
        res,
        fault.status,
        fault.body ?? {
          code: -1007,
          msg: 'Timeout waiting for response from backend server. Send status unknown; execution status unknown.',
        },
      );
    if (fault?.kind === 'delay') {
      this.#pending.add(res);
      setTimeout(() => {
        this.#pending.delete(res);
        this.#send(res, status, answer);
      }, fault.ms);
      return;
    }
    this.#send(res, status, answer);
  }

  #takeFault(method: string, path: string): Fault | undefined {
    const hit = this.#rules.find(
      (r) => r.left > 0 && (r.rule.method ?? method) === method && (r.rule.path ?? path) === path,
    );
    if (!hit) return undefined;
    hit.left--;
    return hit.rule.fault;
  }

  #send(res: ServerResponse, status: number, answer: unknown, headers: Readonly<Record<string, string>> = {}): void {
    if (res.destroyed) return;
    const text = typeof answer === 'string' ? answer : JSON.stringify(answer);
    res.writeHead(status, {
      'content-type': typeof answer === 'string' ? 'text/html' : 'application/json;charset=UTF-8',
      ...headers,
    });
    res.end(text);
  }

  /** Candles as Binance answers them: arrays, oldest first, from startTime, at most `limit` (500, max 1000). */
  #klinesView(p: Record<string, string>): unknown[] {
    const ms = INTERVAL_MS[p.interval ?? ''];
    if (!p.symbol || ms === undefined) throw new VenueReject(400, -1120, 'Invalid interval.');
    const limit = Math.min(1000, Number(p.limit ?? 500));
    const from = p.startTime === undefined ? -Infinity : Number(p.startTime);
    const to = p.endTime === undefined ? Infinity : Number(p.endTime);
    const all = [...(this.#klines.get(`${p.symbol}@${p.interval}`)?.values() ?? [])]
      .filter((k) => k.t >= from && k.t <= to)
      .sort((a, b) => a.t - b.t);
    // without startTime Binance answers the most recent `limit`
    const picked = p.startTime === undefined ? all.slice(-limit) : all.slice(0, limit);
    return picked.map((k) => [
      k.t,
      d8(k.o),
      d8(k.h),
      d8(k.l),
      d8(k.c),
      d8(k.v),
      k.t + ms - 1,
      d8(k.v * k.c),
      2,
      '0',
      '0',
      '0',
    ]);
  }

  #route(
    method: string,
    path: string,
    p: Record<string, string>,
    apiKey: string | string[] | undefined,
    query: string,
    body: string,
  ): unknown {
    const route = `${method} ${path}`;
    switch (route) {
      case 'GET /api/v3/ping':
        return {};
      case 'GET /api/v3/time':
        return { serverTime: Date.now() };
      case 'GET /api/v3/exchangeInfo':
        return this.#exchangeInfo();
      case 'GET /api/v3/klines':
        return this.#klinesView(p);
      case 'POST /api/v3/order':
        this.#authenticate(apiKey, p, query, body);
        return this.#newOrder(p);
      case 'GET /api/v3/order':
        this.#authenticate(apiKey, p, query, body);
        return this.#queryView(this.#findOrder(p, -2013, 'Order does not exist.'));
      case 'DELETE /api/v3/order':
        this.#authenticate(apiKey, p, query, body);
        return this.#cancel(p);
      case 'GET /api/v3/myTrades':
        this.#authenticate(apiKey, p, query, body);
        return this.#myTrades(p);
      default:
        throw new VenueReject(404, -1000, `fake venue does not implement ${route}`);
    }
  }

  /** SIGNED endpoint security: API key header, timestamp within recvWindow, HMAC-SHA256 of totalParams. */
  #authenticate(apiKey: string | string[] | undefined, p: Record<string, string>, query: string, body: string): void {
    if (apiKey !== this.opts.apiKey)
      throw new VenueReject(401, -2015, 'Invalid API-key, IP, or permissions for action.');
    const timestamp = Number(p.timestamp);
    if (!p.timestamp || !Number.isFinite(timestamp))
      throw new VenueReject(400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.");
    const recvWindow = Number(p.recvWindow ?? 5000);
    if (Math.abs(Date.now() - timestamp) > recvWindow)
      throw new VenueReject(400, -1021, 'Timestamp for this request is outside of the recvWindow.');
    const total = query + body;
    const at = total.lastIndexOf('signature=');
    const given = p.signature ?? '';
    const expected = createHmac('sha256', this.opts.secret)
      .update(total.slice(0, Math.max(0, at - 1)))
      .digest('hex');
    if (
      at < 0 ||
      given.length !== expected.length ||
      !timingSafeEqual(Buffer.from(given.toLowerCase()), Buffer.from(expected))
    ) {
      throw new VenueReject(400, -1022, 'Signature for this request is not valid.');
    }
  }

  #exchangeInfo(): unknown {
    return {
      timezone: 'UTC',
      serverTime: Date.now(),
      rateLimits: [
        { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000 },
        { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 100 },
        { rateLimitType: 'ORDERS', interval: 'DAY', intervalNum: 1, limit: 200000 },
      ],
      exchangeFilters: [],
      symbols: [...this.#symbols.values()].map((s) => ({
        symbol: s.symbol,
        status: 'TRADING',
        baseAsset: s.baseAsset,
        baseAssetPrecision: 8,
        quoteAsset: s.quoteAsset,
        quotePrecision: 8,
        quoteAssetPrecision: 8,
        baseCommissionPrecision: 8,
        quoteCommissionPrecision: 8,
        orderTypes: [
          'LIMIT',
          'LIMIT_MAKER',
          'MARKET',
          'STOP_LOSS',
          'STOP_LOSS_LIMIT',
          'TAKE_PROFIT',
          'TAKE_PROFIT_LIMIT',
        ],
        icebergAllowed: true,
        ocoAllowed: true,
        otoAllowed: true,
        quoteOrderQtyMarketAllowed: true,
        allowTrailingStop: true,
        cancelReplaceAllowed: true,
        isSpotTradingAllowed: true,
        isMarginTradingAllowed: false,
        filters: [
          {
            filterType: 'PRICE_FILTER',
            minPrice: '0.01000000',
            maxPrice: '1000000.00000000',
            tickSize: s.tickSize ?? '0.01000000',
          },
          {
            filterType: 'LOT_SIZE',
            minQty: s.minQty ?? '0.00001000',
            maxQty: '9000.00000000',
            stepSize: s.stepSize ?? '0.00001000',
          },
          {
            filterType: 'NOTIONAL',
            minNotional: s.minNotional ?? '5.00000000',
            applyMinToMarket: true,
            maxNotional: '9000000.00000000',
            applyMaxToMarket: false,
            avgPriceMins: 5,
          },
        ],
        permissions: [],
        permissionSets: [['SPOT']],
        defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
        allowedSelfTradePreventionModes: ['EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'],
      })),
    };
  }

  #symbol(p: Record<string, string>) {
    if (!p.symbol)
      throw new VenueReject(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
    const s = this.#symbols.get(p.symbol);
    if (!s) throw new VenueReject(400, -1121, 'Invalid symbol.');
    return s;
  }

  #newOrder(p: Record<string, string>): unknown {
    const s = this.#symbol(p);
    const mandatory = (name: string) => {
      const v = p[name];
      if (v === undefined || v === '')
        throw new VenueReject(400, -1102, `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`);
      return v;
    };
    const notRequired = (name: string) => {
      if (p[name] !== undefined) throw new VenueReject(400, -1106, `Parameter '${name}' sent when not required.`);
    };
    const side = mandatory('side');
    if (side !== 'BUY' && side !== 'SELL') throw new VenueReject(400, -1117, 'Invalid side.');
    const type = mandatory('type');
    if (type !== 'MARKET' && type !== 'LIMIT' && type !== 'STOP_LOSS')
      throw new VenueReject(400, -1116, 'Invalid orderType.'); // the fake implements these three
    let tif: 'GTC' | 'IOC' | 'FOK' = 'GTC';
    if (type === 'LIMIT') {
      const t = mandatory('timeInForce');
      if (t !== 'GTC' && t !== 'IOC' && t !== 'FOK') throw new VenueReject(400, -1115, 'Invalid timeInForce.');
      tif = t;
      mandatory('price');
    } else {
      notRequired('timeInForce');
      notRequired('price');
    }
    if (type === 'STOP_LOSS') mandatory('stopPrice');
    else notRequired('stopPrice');
    if (p.quoteOrderQty !== undefined)
      throw new VenueReject(400, -1013, 'Filter failure: the fake venue does not implement quoteOrderQty.');
    const qty = Number(mandatory('quantity'));
    const price = Number(p.price ?? 0);
    const stopPrice = Number(p.stopPrice ?? 0);
    const clientOrderId = p.newClientOrderId ?? `x-fake${this.#nextOrderId}`;
    if (!CLIENT_ID_PATTERN.test(clientOrderId)) {
      throw new VenueReject(
        400,
        -1100,
        "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.",
      );
    }
    if (!(qty >= Number(s.minQty ?? '0.00001'))) throw new VenueReject(400, -1013, 'Filter failure: LOT_SIZE');
    const refPrice = type === 'LIMIT' ? price : type === 'STOP_LOSS' ? stopPrice : s.last;
    if (qty * refPrice < Number(s.minNotional ?? '5')) throw new VenueReject(400, -1013, 'Filter failure: NOTIONAL');
    if (type === 'STOP_LOSS' && (side === 'BUY' ? stopPrice <= s.last : stopPrice >= s.last))
      throw new VenueReject(400, -2010, 'Stop price would trigger immediately.');
    // Unique among OPEN orders only: the id of a filled or cancelled order is accepted again.
    if (this.#orders.some((o) => o.clientOrderId === clientOrderId && OPEN.includes(o.status)))
      throw new VenueReject(400, -2010, 'Duplicate order sent.');
    const needed = side === 'BUY' ? qty * refPrice : qty;
    if (this.balance(side === 'BUY' ? s.quoteAsset : s.baseAsset) < needed)
      throw new VenueReject(400, -2010, 'Account has insufficient balance for requested action.');

    const now = Date.now();
    const order: VenueOrder = {
      orderId: this.#nextOrderId++,
      symbol: s.symbol,
      clientOrderId,
      side,
      type,
      timeInForce: tif,
      origQty: qty,
      price,
      stopPrice,
      status: 'NEW',
      executedQty: 0,
      cummulativeQuoteQty: 0,
      time: now,
      updateTime: now,
      isWorking: type !== 'STOP_LOSS',
      trades: [],
    };
    this.#orders.push(order);
    const marketable = type === 'MARKET' || (type === 'LIMIT' && (side === 'BUY' ? price >= s.last : price <= s.last));
    if (marketable) this.#execute(order, qty, s.last);
    else if (type === 'LIMIT' && tif !== 'GTC') order.status = 'EXPIRED';
    return this.#placementView(order, p.newOrderRespType ?? (type === 'MARKET' || type === 'LIMIT' ? 'FULL' : 'ACK'));
  }

  #execute(order: VenueOrder, qty: number, price: number): void {
    if (qty <= 0) return;
    const s = this.#symbols.get(order.symbol)!;
    const buy = order.side === 'BUY';
    const commissionAsset = buy ? s.baseAsset : s.quoteAsset;
    const commission = (buy ? qty : qty * price) * COMMISSION;
    const now = Date.now();
    order.trades.push({ id: this.#nextTradeId++, price, qty, commission, commissionAsset, time: now });
    order.executedQty += qty;
    order.cummulativeQuoteQty += qty * price;
    order.updateTime = now;
    order.status = order.executedQty >= order.origQty - 1e-12 ? 'FILLED' : 'PARTIALLY_FILLED';
    const add = (asset: string, delta: number) => this.#balances.set(asset, this.balance(asset) + delta);
    add(s.baseAsset, buy ? qty - commission : -qty);
    add(s.quoteAsset, buy ? -qty * price : qty * price - commission);
  }

  #findOrder(p: Record<string, string>, code: number, msg: string): VenueOrder {
    this.#symbol(p);
    let found: VenueOrder | undefined;
    if (p.orderId !== undefined)
      found = this.#orders.find((o) => o.symbol === p.symbol && String(o.orderId) === p.orderId);
    else if (p.origClientOrderId !== undefined) {
      // The same client id may have been used again after the first order closed: the newest wins.
      found = this.#orders.filter((o) => o.symbol === p.symbol && o.clientOrderId === p.origClientOrderId).at(-1);
    } else
      throw new VenueReject(
        400,
        -1102,
        "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
      );
    if (!found) throw new VenueReject(400, code, msg);
    return found;
  }

  #cancel(p: Record<string, string>): unknown {
    const order = this.#findOrder(p, -2011, 'Unknown order sent.');
    if (!OPEN.includes(order.status)) throw new VenueReject(400, -2011, 'Unknown order sent.');
    order.status = 'CANCELED';
    order.updateTime = Date.now();
    return {
      symbol: order.symbol,
      origClientOrderId: order.clientOrderId,
      orderId: order.orderId,
      orderListId: -1,
      clientOrderId: p.newClientOrderId ?? `cancel-${order.orderId}`,
      transactTime: order.updateTime,
      price: d8(order.price),
      origQty: d8(order.origQty),
      executedQty: d8(order.executedQty),
      cummulativeQuoteQty: d8(order.cummulativeQuoteQty),
      status: order.status,
      timeInForce: order.timeInForce,
      type: order.type,
      side: order.side,
      selfTradePreventionMode: 'EXPIRE_MAKER',
    };
  }

  #myTrades(p: Record<string, string>): unknown {
    this.#symbol(p);
    return this.#orders
      .filter((o) => o.symbol === p.symbol && (p.orderId === undefined || String(o.orderId) === p.orderId))
      .flatMap((o) =>
        o.trades.map((t) => ({
          symbol: o.symbol,
          id: t.id,
          orderId: o.orderId,
          orderListId: -1,
          price: d8(t.price),
          qty: d8(t.qty),
          quoteQty: d8(t.qty * t.price),
          commission: d8(t.commission),
          commissionAsset: t.commissionAsset,
          time: t.time,
          isBuyer: o.side === 'BUY',
          isMaker: false,
          isBestMatch: true,
        })),
      );
  }

  #common(o: VenueOrder) {
    return {
      symbol: o.symbol,
      orderId: o.orderId,
      orderListId: -1,
      clientOrderId: o.clientOrderId,
      price: d8(o.price),
      origQty: d8(o.origQty),
      executedQty: d8(o.executedQty),
      cummulativeQuoteQty: d8(o.cummulativeQuoteQty),
      status: o.status,
      timeInForce: o.timeInForce,
      type: o.type,
      side: o.side,
    };
  }

  #placementView(o: VenueOrder, respType: string): unknown {
    if (respType === 'ACK')
      return {
        symbol: o.symbol,
        orderId: o.orderId,
        orderListId: -1,
        clientOrderId: o.clientOrderId,
        transactTime: o.time,
      };
    const result = {
      ...this.#common(o),
      transactTime: o.time,
      ...(o.type === 'STOP_LOSS' ? { stopPrice: d8(o.stopPrice) } : {}),
      workingTime: o.isWorking ? o.time : -1,
      origQuoteOrderQty: d8(0),
      selfTradePreventionMode: 'EXPIRE_MAKER',
    };
    if (respType !== 'FULL') return result;
    return {
      ...result,
      fills: o.trades.map((t) => ({
        price: d8(t.price),
        qty: d8(t.qty),
        commission: d8(t.commission),
        commissionAsset: t.commissionAsset,
        tradeId: t.id,
      })),
    };
  }

  #queryView(o: VenueOrder): unknown {
    return {
      ...this.#common(o),
      stopPrice: d8(o.stopPrice),
      icebergQty: d8(0),
      time: o.time,
      updateTime: o.updateTime,
      isWorking: o.isWorking,
      workingTime: o.isWorking ? o.time : -1,
      origQuoteOrderQty: d8(0),
      selfTradePreventionMode: 'EXPIRE_MAKER',
    };
  }
}
