import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { AgentTracker } from '../../interfaces/commands/agent-tracker.js';
import { createApi } from '../../interfaces/http/app.js';
import { startSystem, type RunningSystem } from '../../src/cli/start-system.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { Metrics } from '../../src/infra/observability/metrics.js';
import { systemClock } from '../../src/core/ports/clock.js';
import { ulidSource } from '../../src/core/ports/ids.js';
import { subjects } from '../../src/core/messaging/subjects.js';
import { traceIdOf } from '../../src/core/ports/tracing.js';
import { randomWalkCsv } from '../helpers/csv.js';
import { freePort } from '../helpers/free-port.js';
import { eventually } from '../helpers/eventually.js';

const VIEWER = 'viewer-token-0123456789';
const OPERATOR = 'operator-token-0123456789';
const ADMIN = 'admin-token-0123456789abc';

/** The HTTP API over a running embedded system (agents, store, bus), through `app.request()`. */
describe('HTTP API', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-api-'));
  let system: RunningSystem;
  let app: ReturnType<typeof createApi>;
  let apiDeps: Parameters<typeof createApi>[0];
  let metrics: Metrics;

  beforeAll(async () => {
    const config = loadConfig({
      env: {
        DATA_FEED: 'csv',
        DATA_FILE: randomWalkCsv(200, 5),
        DATA_SYMBOLS: 'WALK',
        DATA_PACE_MS: '0',
        SEXTANT_DATA_DIR: join(dir, 'data'),
        HEARTBEAT_INTERVAL_MS: '60000',
      },
    });
    system = await startSystem(config, silentLogger, config.runtime.agents);
    await system.feedDone();
    metrics = new Metrics();
    metrics.attach(system.bus);
    const tracker = new AgentTracker(config.runtime.agents, 60_000);
    tracker.attach(system.bus);
    for (const h of system.kernel.hosts)
      system.bus.publish(subjects.agentHealth(h.name), {
        id: `h-${h.name}`,
        type: 'agent.health',
        v: 1,
        source: 'test',
        correlationId: `h-${h.name}`,
        time: 0,
        payload: h.health(),
      });
    apiDeps = {
      bus: system.bus,
      store: system.store,
      knownSymbols: () => new Set(['WALK']), // what a MarketClock saw (tests/unit/market-clock.test.ts)
      metrics,
      agents: tracker,
      envelope: { ids: ulidSource(), clock: systemClock, source: 'api/test' },
      log: silentLogger,
      tokens: [
        { token: VIEWER, role: 'viewer', name: 'viewer-1' },
        { token: OPERATOR, role: 'operator', name: 'operator-1' },
        { token: ADMIN, role: 'admin', name: 'admin-1' },
      ],
      metricsOpen: true,
      rateLimitPerMinute: 0,
      corsOrigins: [],
      requestTimeoutMs: 2000,
    };
    app = createApi(apiDeps);
  });
  afterAll(async () => {
    await metrics?.detach();
    await system?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (
    path: string,
    init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ) =>
    app.request(path, {
      method: init.method ?? 'GET',
      headers: {
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...init.headers,
      },
      ...(init.body !== undefined
        ? { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }
        : {}),
    });

  it('/health answers without a token; /ready reports bus, store and every agent', async () => {
    expect(await (await call('/health')).json()).toEqual({ status: 'ok' });
    const ready = await call('/ready');
    const body = (await ready.json()) as {
      ready: boolean;
      checks: { agents: Record<string, { ok: boolean; state: string }>; store: { kind: string } };
    };
    expect(ready.status).toBe(200);
    expect(body.ready).toBe(true);
    expect(Object.keys(body.checks.agents).sort()).toEqual(['data', 'execution', 'portfolio', 'risk', 'strategy']);
    expect(body.checks.store.kind).toBe('embedded');
  });

  it('refuses without a valid token (401) and without the role (403), in one error shape', async () => {
    const none = await call('/api/v1/portfolio');
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ error: { code: 'unauthorized' } });
    expect((await call('/api/v1/portfolio', { token: 'not-a-real-token-at-all' })).status).toBe(401);
    const viewerTrades = await call('/api/v1/orders', {
      method: 'POST',
      token: VIEWER,
      body: { symbol: 'WALK', side: 'buy', qty: 1 },
    });
    expect(viewerTrades.status).toBe(403);
    expect(await viewerTrades.json()).toMatchObject({
      error: { code: 'forbidden', message: 'this needs the operator role; the token has viewer' },
    });
  });

  it('reads portfolio, agents, orders and risk for a viewer', async () => {
    const portfolio = (await (await call('/api/v1/portfolio', { token: VIEWER })).json()) as { cash: number };
    expect(portfolio.cash).toEqual(expect.any(Number));
    expect(await (await call('/api/v1/risk', { token: VIEWER })).json()).toMatchObject({ state: 'ACTIVE', waiting: 0 });
    // each strategy's own book; with every book's PnL they add up to the account's
    const books = (await (await call('/api/v1/strategies', { token: VIEWER })).json()) as {
      origin: { kind: string; id: string };
      pnl: { all: number };
    }[];
    const account = (await (await call('/api/v1/portfolio', { token: VIEWER })).json()) as { pnl: { all: number } };
    expect(Math.abs(books.reduce((t, b) => t + b.pnl.all, 0) - account.pnl.all)).toBeLessThan(
      0.01 * (books.length + 1),
    );
    expect((await call('/api/v1/orders?status=open&limit=5', { token: VIEWER })).status).toBe(200);
    expect((await call('/api/v1/orders?limit=5000', { token: VIEWER })).status).toBe(400); // page sizes are bounded
  });

  it('bad bodies get a clear 4xx naming what is wrong, and reach no agent', async () => {
    const intents = () => system.recorder!.stats.recorded;
    await system.recorder!.flush();
    const before = intents();
    const unknownField = await call('/api/v1/orders', {
      method: 'POST',
      token: OPERATOR,
      body: { symbol: 'WALK', side: 'buy', qty: 1, price: 5 },
    });
    expect(unknownField.status).toBe(400);
    expect(await unknownField.json()).toMatchObject({
      error: { code: 'bad_request', details: { fields: expect.any(Object) as unknown } },
    });
    const bad = (await (
      await call('/api/v1/orders', {
        method: 'POST',
        token: OPERATOR,
        body: { symbol: "WALK'; DROP TABLE", side: 'hold', qty: -1 },
      })
    ).json()) as { error: { details: { fields: Record<string, string> } } };
    expect(Object.keys(bad.error.details.fields).sort()).toEqual(['qty', 'side', 'symbol']);
    expect(
      (
        await call('/api/v1/orders', {
          method: 'POST',
          token: OPERATOR,
          body: 'symbol=WALK',
          headers: { 'content-type': 'text/plain' },
        })
      ).status,
    ).toBe(415);
    expect(
      (
        await call('/api/v1/orders', {
          method: 'POST',
          token: OPERATOR,
          body: { symbol: 'WALK', side: 'buy', qty: 1, type: 'limit' },
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await call('/api/v1/orders', {
          method: 'POST',
          token: OPERATOR,
          body: { symbol: 'WALK', side: 'buy', qty: true },
        })
      ).status,
    ).toBe(400); // no coercion
    expect(
      (
        await call('/api/v1/orders', {
          method: 'POST',
          token: OPERATOR,
          body: { symbol: 'WALK', side: 'buy', qty: [5] },
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await call('/api/v1/orders', {
          method: 'POST',
          token: OPERATOR,
          body: JSON.stringify({ symbol: 'WALK', side: 'buy', qty: 1 }),
          headers: { 'content-type': 'application/jsonfoo' },
        })
      ).status,
    ).toBe(415);
    expect(
      (
        await call('/api/v1/orders', {
          method: 'POST',
          token: OPERATOR,
          body: JSON.stringify({ symbol: 'WALK', side: 'buy', qty: 1, pad: 'x'.repeat(70_000) }),
        })
      ).status,
    ).toBe(413);
    await system.recorder!.flush();
    expect(intents()).toBe(before);
  });

  it('unsafe numbers are refused with a 400 naming the field; an order too small for its symbol gets a verdict, never a fill', async () => {
    const order = (body: Record<string, unknown>) =>
      call('/api/v1/orders', { method: 'POST', token: OPERATOR, body: { symbol: 'WALK', side: 'buy', ...body } });
    const fieldsOf = async (r: Response) => {
      expect(r.status).toBe(400);
      return Object.keys(((await r.json()) as { error: { details: { fields: object } } }).error.details.fields);
    };
    expect(await fieldsOf(await order({ qty: 5e-324 }))).toEqual(['qty']); // a denormal
    expect(await fieldsOf(await order({ qty: 2 ** 53 + 2 }))).toEqual(['qty']); // beyond 2^53
    expect(await fieldsOf(await order({ qty: 1e13 }))).toEqual(['qty']); // beyond the documented 1e12
    expect(await fieldsOf(await order({ qty: 1, type: 'limit', limitPrice: 1e-320 }))).toEqual(['limitPrice']);
    expect(await fieldsOf(await order({ qty: 1, type: 'stop', stopPrice: 1e300 }))).toEqual(['stopPrice']);
    const limits = await call('/api/v1/risk/limits', {
      method: 'PUT',
      token: ADMIN,
      body: { limits: { maxOrderNotional: 5e-324, maxPositionQty: 2 ** 60 } },
    });
    expect((await fieldsOf(limits)).sort()).toEqual(['limits.maxOrderNotional', 'limits.maxPositionQty']);
    expect(await fieldsOf(await call('/api/v1/events?from=100000000000000000000', { token: VIEWER }))).toEqual([
      'from',
    ]);
    // 1e-7 is a number the API takes; risk refuses it for WALK (below the minimum), and says so in its chain
    const tiny = await order({ qty: 1e-7 });
    expect(tiny.status).toBe(202);
    const { correlationId, clientOrderId } = (await tiny.json()) as { correlationId: string; clientOrderId: string };
    const refusal = await eventually(async () => {
      await system.recorder!.flush();
      const t = (await (await call(`/api/v1/trace/${correlationId}`, { token: VIEWER })).json()) as {
        messages?: { type: string; payload: { code?: string; reason?: string } }[];
      };
      expect(t.messages?.map((m) => m.type)).toEqual(['order.intent', 'order.rejected']);
      return t.messages![1]!.payload;
    });
    expect(refusal).toMatchObject({ code: 'below_min_qty' });
    expect(refusal.reason).toContain('minimum order quantity');
    const fills = (await (await call(`/api/v1/fills?clientOrderId=${clientOrderId}`, { token: VIEWER })).json()) as [];
    expect(fills).toEqual([]);
  });

  it('an order placed by an operator goes through risk as a chain of its own (the request id), and can be traced; the same Idempotency-Key is the same order', async () => {
    const placed = await call('/api/v1/orders', {
      method: 'POST',
      token: OPERATOR,
      body: { symbol: 'WALK', side: 'buy', qty: 3 },
      headers: { 'x-request-id': 'req-order-1', 'idempotency-key': 'k-1' },
    });
    expect(placed.status).toBe(202);
    const requestId = placed.headers.get('x-request-id')!;
    expect(requestId).not.toBe('req-order-1'); // the client's id is a reference, not the chain
    expect(placed.headers.get('x-client-request-id')).toBe('req-order-1');
    const { clientOrderId, correlationId, clientRequestId } = (await placed.json()) as {
      clientOrderId: string;
      correlationId: string;
      clientRequestId: string;
    };
    expect(correlationId).toBe(requestId);
    expect(clientRequestId).toBe('req-order-1');
    const again = await call('/api/v1/orders', {
      method: 'POST',
      token: OPERATOR,
      body: { symbol: 'WALK', side: 'buy', qty: 3 },
      headers: { 'idempotency-key': 'k-1' },
    });
    expect(await again.json()).toMatchObject({ clientOrderId, correlationId }); // the first answer, again
    const reused = await call('/api/v1/orders', {
      method: 'POST',
      token: OPERATOR,
      body: { symbol: 'WALK', side: 'sell', qty: 50 },
      headers: { 'idempotency-key': 'k-1' },
    });
    expect(reused.status).toBe(409);
    // the key outlives the process: a new API over the same store (a restart) gives the first answer again
    const restarted = createApi(apiDeps);
    const orderAfterRestart = (qty: number) =>
      restarted.request('/api/v1/orders', {
        method: 'POST',
        headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json', 'idempotency-key': 'k-1' },
        body: JSON.stringify({ symbol: 'WALK', side: 'buy', qty }),
      });
    const retried = await orderAfterRestart(3);
    expect(retried.status).toBe(202);
    expect(await retried.json()).toMatchObject({ clientOrderId, correlationId });
    const reusedAfter = await orderAfterRestart(4);
    expect(reusedAfter.status).toBe(409);
    const trace = await eventually(async () => {
      await system.recorder!.flush();
      const t = (await (await call(`/api/v1/trace/${correlationId}`, { token: VIEWER })).json()) as {
        messages: { type: string; payload: { order?: { clientOrderId: string } } }[];
      };
      expect(t.messages.map((m) => m.type)).toEqual(['order.intent', 'order.approved', 'order.submitted']);
      return t;
    });
    expect(trace.messages[1]!.payload.order!.clientOrderId).toBe(clientOrderId);
    const orders = (await (await call('/api/v1/orders?status=open', { token: VIEWER })).json()) as {
      clientOrderId: string;
    }[];
    expect(orders.filter((o) => o.clientOrderId === clientOrderId)).toHaveLength(1); // the repeat made no second order
    const text = await (await call('/metrics')).text();
    expect(text).toMatch(/sextant_orders_total\{outcome="approved"\} 1/);
    expect(text).toMatch(/process_cpu_seconds_total/);
  });

  it('after a restart a retried Idempotency-Key sends a decided order never again, and an order the crash kept off the bus once', async () => {
    const intents: string[] = [];
    const sub = system.bus.subscribe(subjects.orderIntent(), (e) => void intents.push(e.id), { name: 'test.intents' });
    const post = (api: ReturnType<typeof createApi>, key: string) =>
      api.request('/api/v1/orders', {
        method: 'POST',
        headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ symbol: 'WALK', side: 'buy', qty: 2 }),
      });
    try {
      // decided: placed and approved before the "crash"
      const first = (await (await post(app, 'k-decided')).json()) as { clientOrderId: string };
      await eventually(async () => {
        await system.recorder!.flush();
        expect(await system.store!.orders.get(first.clientOrderId)).toBeDefined();
      });
      const sentBefore = intents.length;
      const retried = await post(createApi(apiDeps), 'k-decided');
      expect(await retried.json()).toMatchObject({ clientOrderId: first.clientOrderId });
      expect(intents.length).toBe(sentBefore); // risk decided it: not published again
      // logged but never published (the process died between the event log and the bus): the retry sends it
      // (an API whose bus drops what it publishes: POST /orders uses nothing else of the bus)
      const lost = await post(createApi({ ...apiDeps, bus: { ...system.bus, publish: () => undefined } }), 'k-lost');
      expect(lost.status).toBe(202);
      const { clientOrderId } = (await lost.json()) as { clientOrderId: string };
      expect(await system.store!.orders.get(clientOrderId)).toBeUndefined();
      const sentBeforeRetry = intents.length;
      expect((await post(createApi(apiDeps), 'k-lost')).status).toBe(202);
      expect(intents.length).toBe(sentBeforeRetry + 1);
      await eventually(async () => {
        await system.recorder!.flush();
        expect((await system.store!.orders.get(clientOrderId))?.status).toBeDefined();
      });
    } finally {
      sub.unsubscribe();
    }
  });

  it('the kill switch needs no reason: halt with no body or {} halts; resume likewise', async () => {
    const halted = await call('/api/v1/risk/halt', { method: 'POST', token: OPERATOR });
    expect(halted.status).toBe(200);
    expect(await halted.json()).toMatchObject({ accepted: true, state: 'HALTED' });
    const resumed = await call('/api/v1/risk/resume', { method: 'POST', token: OPERATOR, body: {} });
    expect(await resumed.json()).toMatchObject({ accepted: true, state: 'ACTIVE' });
    // the event log is written behind the bus: wait for it, not for time
    await eventually(async () => {
      const risk = (await (
        await call('/api/v1/events?type=risk.state&newest=true&limit=2', { token: VIEWER })
      ).json()) as { payload: { cause: { reason?: string } } }[];
      expect(risk.map((e) => e.payload.cause.reason)).toEqual(['resumed through the API', 'halted through the API']);
    });
  });

  it('times in queries are epoch ms or ISO-8601; anything else is a 400 naming the field', async () => {
    const iso = await call('/api/v1/events?type=market.bar&from=2000-01-01T00:00:00Z&limit=1', { token: VIEWER });
    expect(iso.status).toBe(200);
    const bad = await call('/api/v1/events?from=yesterday-ish', { token: VIEWER });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain('expected a time: epoch milliseconds or ISO-8601');
  });

  it('an order for a symbol the market has no data for is refused at once (422), with the one meant', async () => {
    const listed = 'WALK';
    const lower = await call('/api/v1/orders', {
      method: 'POST',
      token: OPERATOR,
      body: { symbol: listed.toLowerCase(), side: 'buy', qty: 1 },
    });
    expect(lower.status).toBe(422);
    expect(await lower.json()).toEqual({
      error: {
        code: 'unknown_symbol',
        message: `no market data for ${listed.toLowerCase()}; did you mean ${listed}? (symbols are case-sensitive)`,
      },
    });
    const other = await call('/api/v1/orders', {
      method: 'POST',
      token: OPERATOR,
      body: { symbol: 'NOPE', side: 'buy', qty: 1 },
    });
    expect(((await other.json()) as { error: { message: string } }).error.message).toContain(
      `the market has ${listed}`,
    );
  });

  it('whoami tells a client what its token may do', async () => {
    expect(await (await call('/api/v1/whoami', { token: VIEWER })).json()).toMatchObject({ role: 'viewer' });
    expect(await (await call('/api/v1/whoami', { token: OPERATOR })).json()).toMatchObject({ role: 'operator' });
    expect((await call('/api/v1/whoami')).status).toBe(401);
  });

  it('an unknown trace id is a 404, not an empty chain', async () => {
    const r = await call('/api/v1/trace/no-such-chain', { token: VIEWER });
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({
      error: { code: 'not_found', message: 'no message of chain no-such-chain is recorded' },
    });
  });

  it("a client's X-Request-Id naming another chain writes nothing into that chain: each request starts its own", async () => {
    await system.recorder!.flush();
    const [signal] = (await (await call('/api/v1/events?type=signal.generated&limit=1', { token: VIEWER })).json()) as {
      correlationId: string;
    }[];
    const chain = signal!.correlationId;
    const traceOf = async (id: string) =>
      ((await (await call(`/api/v1/trace/${id}`, { token: VIEWER })).json()) as { messages: { id: string }[] })
        .messages;
    const before = (await traceOf(chain)).map((m) => m.id);
    // an operator's order and a viewer's read, both naming the strategy's chain
    const placed = await call('/api/v1/orders', {
      method: 'POST',
      token: OPERATOR,
      body: { symbol: 'WALK', side: 'buy', qty: 1_000_000 },
      headers: { 'x-request-id': chain },
    });
    expect(placed.status).toBe(202);
    const own = ((await placed.json()) as { correlationId: string }).correlationId;
    expect(own).not.toBe(chain);
    expect(placed.headers.get('x-client-request-id')).toBe(chain);
    const read = await call('/api/v1/portfolio', { token: VIEWER, headers: { 'x-request-id': chain } });
    expect(read.status).toBe(200);
    expect(read.headers.get('x-request-id')).not.toBe(chain);
    // the order's verdict is in its own chain; the strategy's chain is as it was
    await eventually(async () => {
      await system.recorder!.flush();
      const types = (
        (await (await call(`/api/v1/trace/${own}`, { token: VIEWER })).json()) as { messages?: { type: string }[] }
      ).messages?.map((m) => m.type);
      expect(types).toEqual(['order.intent', 'order.rejected']);
    });
    expect((await traceOf(chain)).map((m) => m.id)).toEqual(before);
  });

  it('operators halt and resume; only admins change limits, and a bad change is refused with the reason', async () => {
    expect(
      await (
        await call('/api/v1/risk/halt', { method: 'POST', token: OPERATOR, body: { reason: 'checking the feed' } })
      ).json(),
    ).toMatchObject({ accepted: true, state: 'HALTED' });
    expect(
      await (
        await call('/api/v1/risk/resume', { method: 'POST', token: OPERATOR, body: { reason: 'feed ok' } })
      ).json(),
    ).toMatchObject({ accepted: true, state: 'ACTIVE' });
    expect(
      (await call('/api/v1/risk/limits', { method: 'PUT', token: OPERATOR, body: { limits: { maxOpenOrders: 3 } } }))
        .status,
    ).toBe(403);
    const invalid = await call('/api/v1/risk/limits', {
      method: 'PUT',
      token: ADMIN,
      body: { limits: { maxOpenOrders: -3, bogus: 1 } },
    });
    expect(invalid.status).toBe(400); // validated here, never sent to risk
    expect(await invalid.json()).toMatchObject({
      error: {
        code: 'bad_request',
        details: {
          fields: expect.objectContaining({ 'limits.maxOpenOrders': expect.any(String) as unknown }) as unknown,
        },
      },
    });
    expect(
      await (
        await call('/api/v1/risk/limits', { method: 'PUT', token: ADMIN, body: { limits: { maxOpenOrders: 7 } } })
      ).json(),
    ).toMatchObject({ accepted: true, limits: { maxOpenOrders: 7 } });
  });

  it('event streams are capped per token', async () => {
    const open = await Promise.all(Array.from({ length: 4 }, () => call('/api/v1/stream', { token: VIEWER })));
    expect(open.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const fifth = await call('/api/v1/stream', { token: VIEWER });
    expect(fifth.status).toBe(429);
    await Promise.all(open.map((r) => r.body?.cancel()));
  });

  it('/openapi.json is made from the schemas the handlers validate with; /docs shows it', async () => {
    const doc = (await (await call('/openapi.json')).json()) as {
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          {
            requestBody?: {
              content: Record<
                string,
                { schema: { properties: Record<string, unknown>; additionalProperties?: boolean } }
              >;
            };
            security?: unknown[];
          }
        >
      >;
    };
    expect(doc.openapi).toBe('3.1.0');
    const post = doc.paths['/api/v1/orders']!.post!;
    const schema = post.requestBody!.content['application/json']!.schema;
    expect(Object.keys(schema.properties).sort()).toEqual([
      'limitPrice',
      'qty',
      'side',
      'stopPrice',
      'symbol',
      'tif',
      'type',
    ]);
    expect(schema.additionalProperties).toBe(false);
    expect(post.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(doc.paths)).toContain('/api/v1/trace/{correlationId}');
    const docs = await call('/docs');
    expect(docs.headers.get('content-type')).toMatch(/text\/html/);
    expect(await docs.text()).toContain('/api/v1/risk/limits');
  });

  it('pages through the event log and filters orders by time', async () => {
    await system.recorder!.flush();
    const page = async (offset: number) =>
      (
        (await (await call(`/api/v1/events?type=market.bar&limit=50&offset=${offset}`, { token: VIEWER })).json()) as {
          id: string;
        }[]
      ).map((e) => e.id);
    const [first, second] = [await page(0), await page(50)];
    expect(first).toHaveLength(50);
    expect(second).toHaveLength(50);
    expect(first.some((id) => second.includes(id))).toBe(false);
    expect(await (await call('/api/v1/orders?from=0&to=1', { token: VIEWER })).json()).toEqual([]);
  });

  it('CORS is off by default and answers only configured origins', async () => {
    expect(
      (await call('/health', { headers: { origin: 'https://evil.example' } })).headers.get(
        'access-control-allow-origin',
      ),
    ).toBeNull();
    const withCors = createApi({
      bus: system.bus,
      store: system.store,
      metrics,
      agents: new AgentTracker([], 1000),
      envelope: { ids: ulidSource(), clock: systemClock, source: 'api/test' },
      log: silentLogger,
      tokens: [],
      metricsOpen: true,
      rateLimitPerMinute: 0,
      corsOrigins: ['https://desk.example'],
      requestTimeoutMs: 2000,
    });
    expect(
      (await withCors.request('/health', { headers: { origin: 'https://desk.example' } })).headers.get(
        'access-control-allow-origin',
      ),
    ).toBe('https://desk.example');
    expect(
      (await withCors.request('/health', { headers: { origin: 'https://evil.example' } })).headers.get(
        'access-control-allow-origin',
      ),
    ).toBeNull();
  });

  it('a token over its rate limit gets 429 with Retry-After', async () => {
    const limited = createApi({
      bus: system.bus,
      store: system.store,
      metrics,
      agents: new AgentTracker([], 1000),
      envelope: { ids: ulidSource(), clock: systemClock, source: 'api/test' },
      log: silentLogger,
      tokens: [{ token: VIEWER, role: 'viewer', name: 'v' }],
      metricsOpen: true,
      rateLimitPerMinute: 2,
      corsOrigins: [],
      requestTimeoutMs: 2000,
    });
    const get = () => limited.request('/api/v1/agents', { headers: { authorization: `Bearer ${VIEWER}` } });
    expect((await get()).status).toBe(200);
    expect((await get()).status).toBe(200);
    const third = await get();
    // a write behind two role checks still counts once
    const writer = createApi({
      bus: system.bus,
      store: system.store,
      metrics,
      agents: new AgentTracker([], 1000),
      envelope: { ids: ulidSource(), clock: systemClock, source: 'api/test' },
      log: silentLogger,
      tokens: [{ token: ADMIN, role: 'admin', name: 'a' }],
      metricsOpen: true,
      rateLimitPerMinute: 2,
      corsOrigins: [],
      requestTimeoutMs: 2000,
    });
    const put = () =>
      writer.request('/api/v1/risk/limits', {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ limits: { maxOpenOrders: 7 } }),
      });
    expect((await put()).status).toBe(200);
    expect((await put()).status).toBe(200);
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

/** `sextant start` serves the API on PORT: a real server, the agents running behind it. */
describe('HTTP API over a listening server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-api-live-'));
  let system: RunningSystem | undefined;
  afterAll(async () => {
    await system?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('places an order through the API, traces it back by its request id, and counts it in /metrics', async () => {
    const port = await freePort();
    const config = loadConfig({
      env: {
        PORT: String(port),
        SEXTANT_API_TOKENS: `${OPERATOR}:operator`,
        DATA_FEED: 'csv',
        DATA_FILE: randomWalkCsv(100, 8),
        DATA_SYMBOLS: 'WALK',
        DATA_PACE_MS: '0',
        SEXTANT_DATA_DIR: join(dir, 'data'),
      },
    });
    system = await startSystem(config, silentLogger, config.runtime.agents, { api: true });
    await system.feedDone();
    const base = `http://127.0.0.1:${port}`;
    const auth = { authorization: `Bearer ${OPERATOR}` };
    // a live stream of the order path, open before the order is placed
    const abort = new AbortController();
    const stream = await fetch(`${base}/api/v1/stream?type=order.intent,order.approved`, {
      headers: auth,
      signal: abort.signal,
    });
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
    const seen: string[] = [];
    const reading = (async () => {
      const reader = stream.body!.getReader();
      const dec = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        for (const m of dec.decode(value).matchAll(/^event: (.+)$/gm)) seen.push(m[1]!);
        if (seen.includes('order.approved')) return;
      }
    })();
    const placed = await fetch(`${base}/api/v1/orders`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'x-request-id': 'live-1' },
      body: JSON.stringify({ symbol: 'WALK', side: 'buy', qty: 2 }),
    });
    expect(placed.status).toBe(202);
    const requestId = placed.headers.get('x-request-id')!;
    expect(placed.headers.get('x-client-request-id')).toBe('live-1');
    await eventually(async () => {
      await system!.recorder!.flush();
      const trace = (await (await fetch(`${base}/api/v1/trace/${requestId}`, { headers: auth })).json()) as {
        traceId: string;
        messages: { type: string }[];
      };
      expect(trace.messages.map((m) => m.type)).toEqual(['order.intent', 'order.approved', 'order.submitted']);
      // the id a tracing UI shows the same chain under
      expect(trace.traceId).toBe(traceIdOf(requestId));
    });
    await reading;
    abort.abort();
    expect(seen).toEqual(['order.intent', 'order.approved']); // filtered by type: no submission, no bars
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/sextant_orders_total\{outcome="submitted"\} \d+/);
    expect(text).toMatch(/sextant_messages_published_total\{type="market\.bar"\} 100/);
    expect(text).toMatch(
      /sextant_http_request_seconds_count\{method="POST",route="\/api\/v1\/orders",status="202"\} 1/,
    );
    // plain language through the conversational agent (offline here: no OPENAI_API_KEY); an order stays a preview
    const ask = async (message: string) =>
      (await (
        await fetch(`${base}/api/v1/chat`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify({ message }),
        })
      ).json()) as { ok: boolean; text: string; via: string; preview?: { id: string } };
    expect(await ask("what's my pnl today")).toMatchObject({
      ok: true,
      via: 'offline',
      text: expect.stringMatching(/^\(I read that as `pnl today`\.\)\nToday: /) as unknown,
    });
    const preview = await ask('buy 1 share of WALK');
    expect(preview.preview?.id).toEqual(expect.any(String));
    expect((await ask(`confirm ${preview.preview!.id}`)).text).toMatch(/^Risk approved buy 1 WALK/);
  });
});
