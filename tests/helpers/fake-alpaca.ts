import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decode, encode } from '@msgpack/msgpack';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * A local fake of Alpaca: just enough of its market-data and trading APIs for the official SDK
 * (`@alpacahq/alpaca-trade-api` 4.x) to warm up, follow bars, read the calendar, place and follow
 * orders. It answers in the shapes Alpaca documents (docs.alpaca.markets: "Historical bars",
 * "Real-time stock data", "Calendar", "Orders", "Websocket streaming" of the trading API), numbers
 * of orders as strings, times as RFC 3339.
 *
 * REST (both APIs on one port; Alpaca has a data host and a trading host), every call checked for
 * the `APCA-API-KEY-ID` and `APCA-API-SECRET-KEY` headers (401 otherwise):
 * - GET /v2/stocks/{symbol}/bars: `timeframe=1Min`, `start`, `end` (inclusive), `limit`, `sort`,
 *   `feed`, `page_token` -> `{bars, symbol, next_page_token}`.
 * - GET /v2/calendar: `start`, `end` -> `[{date, open, close, session_open, session_close, settlement_date}]`.
 * - POST /v2/orders (a `client_order_id` used before is a 422 "client_order_id must be unique"),
 *   GET /v2/orders:by_client_order_id?client_order_id= (404 when there is none).
 *
 * Websockets:
 * - /v2/iex, /v2/sip (market data): `[{"T":"success","msg":"connected"}]` on connect; `auth`
 *   (`{"T":"success","msg":"authenticated"}` or error 402), `subscribe` (`{"T":"subscription",...}`),
 *   then `[{"T":"b","S":..,"o","h","l","c","v","t","n","vw"}]` bars. msgpack when the client asks
 *   for it (`Content-Type: application/msgpack`, as the SDK does; `t` is a msgpack timestamp),
 *   JSON otherwise.
 * - /stream (trading): `authenticate` -> `{"stream":"authorization","data":{"status":"authorized"}}`,
 *   `listen` -> `{"stream":"listening",...}`, then `trade_updates` events (`new`, `fill`,
 *   `partial_fill`, `canceled`, `rejected`) with the whole order, sent as binary frames as
 *   Alpaca's paper stream does.
 *
 * Matching is the test's: a market order fills at once at the symbol's price when the test set
 * one (`setPrice`), else stays `new` until `fill`. Faults: `inject` answers requests with an HTTP
 * error; `dropDataSockets` and `dropTradingSockets` close sockets as a network drop does.
 */

export interface FakeAlpacaOptions {
  readonly keyId: string;
  readonly secret: string;
  /** Market days: local New York dates and times, e.g. `{date: '2026-12-07', open: '09:30', close: '16:00'}`. */
  readonly calendar?: readonly { readonly date: string; readonly open: string; readonly close: string }[];
}

/** A minute bar as the fake keeps it. */
export interface FakeBar {
  readonly t: number;
  readonly o: number;
  readonly h: number;
  readonly l: number;
  readonly c: number;
  readonly v: number;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
}

export interface FakeOrder {
  readonly id: string;
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  readonly type: string;
  readonly timeInForce: string;
  readonly qty: number;
  readonly limitPrice: number | undefined;
  readonly stopPrice: number | undefined;
  status: 'new' | 'partially_filled' | 'filled' | 'canceled' | 'rejected';
  filledQty: number;
  filledAvgPrice: number | undefined;
  readonly createdAt: number;
  updatedAt: number;
}

interface Fault {
  readonly method?: string;
  readonly path?: string;
  readonly status: number;
  readonly body?: unknown;
  left: number;
}

const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');

export class FakeAlpaca {
  readonly requests: RecordedRequest[] = [];
  readonly #bars = new Map<string, Map<number, FakeBar>>();
  /** Market-data sockets: their codec, whether they authenticated, the symbols of their bar subscription. */
  readonly #data = new Map<WebSocket, { msgpack: boolean; authed: boolean; bars: Set<string> }>();
  /** Trading sockets and whether they listen to trade_updates. */
  readonly #trading = new Map<WebSocket, { authed: boolean; listening: boolean }>();
  readonly #orders: FakeOrder[] = [];
  readonly #prices = new Map<string, number>();
  readonly #faults: Fault[] = [];
  #position = new Map<string, number>();

  private constructor(
    private readonly server: Server,
    private readonly opts: FakeAlpacaOptions,
  ) {
    const wss = new WebSocketServer({ server });
    wss.on('connection', (socket, req) => {
      const path = new URL(req.url ?? '/', 'http://fake').pathname;
      if (path === '/stream') return this.#tradingSocket(socket);
      if (path === '/v2/iex' || path === '/v2/sip')
        return this.#dataSocket(socket, req.headers['content-type'] === 'application/msgpack');
      socket.close(1008, 'unknown stream');
    });
  }

  static async start(opts: FakeAlpacaOptions): Promise<FakeAlpaca> {
    const holder: { fake?: FakeAlpaca } = {};
    const server = createServer((req, res) => void holder.fake!.#handle(req, res));
    const fake = (holder.fake = new FakeAlpaca(server, opts));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  /** The REST base (data and trading). */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The websocket base: market data at /v2/<feed>, trading at /stream. */
  get wsUrl(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** `sextant start` settings for this fake (DATA_FEED=alpaca on `symbols`). */
  env(symbols = 'AAPL'): Record<string, string> {
    return {
      DATA_FEED: 'alpaca',
      ALPACA_KEY_ID: this.opts.keyId,
      ALPACA_SECRET_KEY: this.opts.secret,
      ALPACA_SYMBOLS: symbols,
      ALPACA_DATA_URL: this.url,
      ALPACA_STREAM_URL: this.wsUrl,
      ALPACA_TRADING_URL: this.url,
    };
  }

  /** A minute bar: kept for REST and, unless `push` is false, sent to the sockets subscribed to its bars. */
  bar(symbol: string, b: FakeBar, opts: { push?: boolean } = {}): void {
    const book = this.#bars.get(symbol) ?? new Map<number, FakeBar>();
    this.#bars.set(symbol, book);
    book.set(b.t, b);
    if (opts.push === false) return;
    const frame = { T: 'b', S: symbol, o: b.o, h: b.h, l: b.l, c: b.c, v: b.v, n: 1, vw: b.c };
    for (const [socket, s] of this.#data)
      if (s.authed && s.bars.has(symbol))
        socket.send(s.msgpack ? encode([{ ...frame, t: new Date(b.t) }]) : JSON.stringify([{ ...frame, t: iso(b.t) }]));
  }

  /** Authenticated market-data sockets subscribed to `symbol`'s bars. */
  barSubscribers(symbol: string): number {
    return [...this.#data.values()].filter((s) => s.authed && s.bars.has(symbol)).length;
  }

  /** Trading sockets listening to trade_updates. */
  tradeListeners(): number {
    return [...this.#trading.values()].filter((s) => s.listening).length;
  }

  dropDataSockets(): void {
    for (const socket of this.#data.keys()) socket.terminate();
    this.#data.clear();
  }

  dropTradingSockets(): void {
    for (const socket of this.#trading.keys()) socket.terminate();
    this.#trading.clear();
  }

  /** The last trade of a symbol: market orders fill at it from now on. */
  setPrice(symbol: string, price: number): void {
    this.#prices.set(symbol, price);
  }

  get orders(): readonly FakeOrder[] {
    return this.#orders;
  }

  ordersWithClientId(clientOrderId: string): readonly FakeOrder[] {
    return this.#orders.filter((o) => o.clientOrderId === clientOrderId);
  }

  requestsTo(method: string, path: string): readonly RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.path === path);
  }

  /** The next `times` requests matching answer `status` (and `body`) instead. */
  inject(fault: { method?: string; path?: string; times: number; status: number; body?: unknown }): void {
    this.#faults.push({ ...fault, left: fault.times });
  }

  /**
   * Fills `qty` of an open order at `price` and tells the trading stream, `deliveries` times (a
   * stream that delivers an update twice).
   */
  fill(clientOrderId: string, qty: number, price: number, deliveries = 1): void {
    const o = this.#orders.find((x) => x.clientOrderId === clientOrderId);
    if (!o || (o.status !== 'new' && o.status !== 'partially_filled'))
      throw new Error(`fake alpaca: no open order ${clientOrderId}`);
    const q = Math.min(qty, o.qty - o.filledQty);
    o.filledAvgPrice = ((o.filledAvgPrice ?? 0) * o.filledQty + price * q) / (o.filledQty + q);
    o.filledQty += q;
    o.status = o.filledQty >= o.qty ? 'filled' : 'partially_filled';
    o.updatedAt = Date.now();
    const pos = (this.#position.get(o.symbol) ?? 0) + (o.side === 'buy' ? q : -q);
    this.#position.set(o.symbol, pos);
    const update = {
      event: o.status === 'filled' ? 'fill' : 'partial_fill',
      execution_id: randomUUID(),
      order: this.#json(o),
      timestamp: iso(o.updatedAt),
      position_qty: String(pos),
      price: String(price),
      qty: String(q),
    };
    for (let i = 0; i < deliveries; i++) this.#push(update);
  }

  /** Sends an order's last fill update again, `deliveries` times (a re-sent message). */
  resend(clientOrderId: string, deliveries = 1): void {
    const o = this.#orders.find((x) => x.clientOrderId === clientOrderId);
    if (!o) throw new Error(`fake alpaca: no order ${clientOrderId}`);
    const event = o.status === 'filled' ? 'fill' : o.status === 'partially_filled' ? 'partial_fill' : o.status;
    for (let i = 0; i < deliveries; i++)
      this.#push({ event, execution_id: randomUUID(), order: this.#json(o), timestamp: iso(o.updatedAt) });
  }

  /** The venue cancels (or rejects) an open order on its own, and says so on the stream. */
  end(clientOrderId: string, status: 'canceled' | 'rejected'): void {
    const o = this.#orders.find((x) => x.clientOrderId === clientOrderId);
    if (!o) throw new Error(`fake alpaca: no order ${clientOrderId}`);
    o.status = status;
    o.updatedAt = Date.now();
    this.#push({ event: status, order: this.#json(o), timestamp: iso(o.updatedAt) });
  }

  async close(): Promise<void> {
    this.dropDataSockets();
    this.dropTradingSockets();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  #dataSocket(socket: WebSocket, msgpack: boolean): void {
    const state = { msgpack, authed: false, bars: new Set<string>() };
    this.#data.set(socket, state);
    const send = (frames: unknown[]) => socket.send(msgpack ? encode(frames) : JSON.stringify(frames));
    socket.on('close', () => this.#data.delete(socket));
    socket.on('message', (data: Buffer) => {
      let msg: { action?: string; key?: string; secret?: string; bars?: string[] };
      try {
        msg = (msgpack ? decode(data) : JSON.parse(String(data))) as typeof msg;
      } catch {
        return send([{ T: 'error', code: 400, msg: 'invalid syntax' }]);
      }
      if (msg.action === 'auth') {
        if (msg.key !== this.opts.keyId || msg.secret !== this.opts.secret)
          return send([{ T: 'error', code: 402, msg: 'auth failed' }]);
        state.authed = true;
        return send([{ T: 'success', msg: 'authenticated' }]);
      }
      if (!state.authed) return send([{ T: 'error', code: 401, msg: 'not authenticated' }]);
      if (msg.action === 'subscribe' || msg.action === 'unsubscribe') {
        for (const s of msg.bars ?? [])
          if (msg.action === 'subscribe') state.bars.add(s);
          else state.bars.delete(s);
        const none: string[] = [];
        return send([
          {
            T: 'subscription',
            trades: none,
            quotes: none,
            bars: [...state.bars],
            updatedBars: none,
            dailyBars: none,
            statuses: none,
            lulds: none,
            corrections: none,
            cancelErrors: none,
          },
        ]);
      }
      send([{ T: 'error', code: 400, msg: 'invalid syntax' }]);
    });
    send([{ T: 'success', msg: 'connected' }]);
  }

  #tradingSocket(socket: WebSocket): void {
    const state = { authed: false, listening: false };
    this.#trading.set(socket, state);
    const send = (frame: unknown) => socket.send(Buffer.from(JSON.stringify(frame)));
    socket.on('close', () => this.#trading.delete(socket));
    socket.on('message', (data: Buffer) => {
      let msg: { action?: string; data?: { key_id?: string; secret_key?: string; streams?: string[] } };
      try {
        msg = JSON.parse(String(data)) as typeof msg;
      } catch {
        return send({ stream: 'authorization', data: { action: 'authenticate', status: 'unauthorized' } });
      }
      if (msg.action === 'authenticate') {
        const ok = msg.data?.key_id === this.opts.keyId && msg.data?.secret_key === this.opts.secret;
        state.authed = ok;
        send({
          stream: 'authorization',
          data: ok
            ? { action: 'authenticate', status: 'authorized' }
            : { action: 'authenticate', status: 'unauthorized', message: 'access key verification failed' },
        });
        if (!ok) socket.close();
        return;
      }
      if (msg.action === 'listen' && state.authed) {
        state.listening = (msg.data?.streams ?? []).includes('trade_updates');
        send({ stream: 'listening', data: { streams: state.listening ? ['trade_updates'] : [] } });
      }
    });
  }

  #push(data: unknown): void {
    const frame = Buffer.from(JSON.stringify({ stream: 'trade_updates', data }));
    for (const [socket, s] of this.#trading) if (s.listening) socket.send(frame);
  }

  #json(o: FakeOrder): Record<string, unknown> {
    const num = (x: number | undefined) => (x === undefined ? null : String(x));
    return {
      id: o.id,
      client_order_id: o.clientOrderId,
      created_at: iso(o.createdAt),
      updated_at: iso(o.updatedAt),
      submitted_at: iso(o.createdAt),
      filled_at: o.status === 'filled' ? iso(o.updatedAt) : null,
      expired_at: null,
      canceled_at: o.status === 'canceled' ? iso(o.updatedAt) : null,
      failed_at: o.status === 'rejected' ? iso(o.updatedAt) : null,
      replaced_at: null,
      replaced_by: null,
      replaces: null,
      asset_id: '904837e3-3b76-47ec-b432-046db621571b',
      symbol: o.symbol,
      asset_class: 'us_equity',
      notional: null,
      qty: String(o.qty),
      filled_qty: String(o.filledQty),
      filled_avg_price: num(o.filledAvgPrice),
      order_class: '',
      order_type: o.type,
      type: o.type,
      side: o.side,
      position_intent: o.side === 'buy' ? 'buy_to_open' : 'sell_to_close',
      time_in_force: o.timeInForce,
      limit_price: num(o.limitPrice),
      stop_price: num(o.stopPrice),
      status: o.status,
      extended_hours: false,
      legs: null,
      trail_percent: null,
      trail_price: null,
      hwm: null,
    };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const path = decodeURIComponent(url.pathname);
    this.requests.push({ method, path, query: Object.fromEntries(url.searchParams) });
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': randomUUID() });
      res.end(JSON.stringify(body));
    };
    const fault = this.#faults.find(
      (f) => f.left > 0 && (!f.method || f.method === method) && (!f.path || f.path === path),
    );
    if (fault) {
      fault.left--;
      return answer(fault.status, fault.body ?? { code: fault.status * 100_000, message: 'fake alpaca fault' });
    }
    if (req.headers['apca-api-key-id'] !== this.opts.keyId || req.headers['apca-api-secret-key'] !== this.opts.secret)
      return answer(401, { code: 40110000, message: 'request is not authorized' });
    const bars = /^\/v2\/stocks\/([^/]+)\/bars$/.exec(path);
    if (method === 'GET' && bars) return answer(...this.#barsPage(bars[1]!, url.searchParams));
    if (method === 'GET' && path === '/v2/calendar') {
      const from = (url.searchParams.get('start') ?? '0000').slice(0, 10);
      const to = (url.searchParams.get('end') ?? '9999').slice(0, 10);
      const days = (this.opts.calendar ?? []).filter((d) => d.date >= from && d.date <= to);
      return answer(
        200,
        days.map((d) => ({ ...d, session_open: '0400', session_close: '2000', settlement_date: d.date })),
      );
    }
    if (method === 'POST' && path === '/v2/orders') return answer(...this.#place(Buffer.concat(chunks).toString()));
    if (method === 'GET' && path === '/v2/orders:by_client_order_id') {
      const id = url.searchParams.get('client_order_id') ?? '';
      const o = this.#orders.find((x) => x.clientOrderId === id);
      return o ? answer(200, this.#json(o)) : answer(404, { code: 40410000, message: `order not found for ${id}` });
    }
    answer(404, { code: 40410000, message: 'endpoint not found' });
  }

  #barsPage(symbol: string, q: URLSearchParams): [number, unknown] {
    if (q.get('timeframe') !== '1Min') return [422, { code: 42210000, message: 'invalid timeframe' }];
    const feed = q.get('feed') ?? 'sip';
    if (feed !== 'iex' && feed !== 'sip') return [422, { code: 42210000, message: `invalid feed ${feed}` }];
    const start = q.get('start') ? Date.parse(q.get('start')!) : 0;
    const end = q.get('end') ? Date.parse(q.get('end')!) : Number.MAX_SAFE_INTEGER;
    const limit = Math.min(10_000, Number(q.get('limit') ?? 1000));
    const desc = q.get('sort') === 'desc';
    const all = [...(this.#bars.get(symbol)?.values() ?? [])]
      .filter((b) => b.t >= start && b.t <= end)
      .sort((a, b) => (desc ? b.t - a.t : a.t - b.t));
    const offset = q.get('page_token') ? Number(Buffer.from(q.get('page_token')!, 'base64').toString()) : 0;
    const page = all.slice(offset, offset + limit);
    const next = offset + limit < all.length ? Buffer.from(String(offset + limit)).toString('base64') : null;
    return [
      200,
      {
        bars: page.map((b) => ({ t: iso(b.t), o: b.o, h: b.h, l: b.l, c: b.c, v: b.v, n: 1, vw: b.c })),
        symbol,
        next_page_token: next,
      },
    ];
  }

  #place(text: string): [number, unknown] {
    let b: Record<string, unknown>;
    try {
      b = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return [400, { code: 40010000, message: 'request body format is invalid' }];
    }
    const qty = Number(b.qty);
    const type = String(b.type ?? '');
    const invalid = (message: string): [number, unknown] => [422, { code: 40010000, message }];
    if (typeof b.symbol !== 'string' || b.symbol === '') return invalid('symbol is required');
    if (!(qty > 0)) return invalid('qty must be > 0');
    if (b.side !== 'buy' && b.side !== 'sell') return invalid('invalid side');
    if (!['market', 'limit', 'stop', 'stop_limit', 'trailing_stop'].includes(type)) return invalid('invalid type');
    if (!['day', 'gtc', 'ioc', 'fok', 'opg', 'cls'].includes(String(b.time_in_force)))
      return invalid('invalid time_in_force');
    if ((type === 'limit' || type === 'stop_limit') && !(Number(b.limit_price) > 0))
      return invalid('limit_price is required');
    if ((type === 'stop' || type === 'stop_limit') && !(Number(b.stop_price) > 0))
      return invalid('stop_price is required');
    const clientOrderId = typeof b.client_order_id === 'string' ? b.client_order_id : randomUUID();
    if (clientOrderId.length > 128) return invalid('client_order_id must be no more than 128 characters');
    if (this.#orders.some((o) => o.clientOrderId === clientOrderId))
      return [422, { code: 40010001, message: 'client_order_id must be unique' }];
    const now = Date.now();
    const o: FakeOrder = {
      id: randomUUID(),
      clientOrderId,
      symbol: b.symbol,
      side: b.side,
      type,
      timeInForce: String(b.time_in_force),
      qty,
      limitPrice: b.limit_price === undefined ? undefined : Number(b.limit_price),
      stopPrice: b.stop_price === undefined ? undefined : Number(b.stop_price),
      status: 'new',
      filledQty: 0,
      filledAvgPrice: undefined,
      createdAt: now,
      updatedAt: now,
    };
    this.#orders.push(o);
    const body = this.#json(o);
    this.#push({ event: 'new', order: body, timestamp: iso(now) });
    const price = this.#prices.get(o.symbol);
    if (type === 'market' && price !== undefined) setImmediate(() => this.fill(clientOrderId, qty, price));
    return [200, body];
  }
}
