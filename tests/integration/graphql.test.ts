import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { AgentTracker } from '../../interfaces/commands/agent-tracker.js';
import { createApi } from '../../interfaces/http/app.js';
import { startSystem, type RunningSystem } from '../../src/cli/start-system.js';
import type { OrderIntent } from '../../src/core/domain/messages.js';
import type { Envelope } from '../../src/core/messaging/envelope.js';
import { patterns } from '../../src/core/messaging/subjects.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { systemClock } from '../../src/core/ports/clock.js';
import { ulidSource } from '../../src/core/ports/ids.js';
import { Metrics } from '../../src/infra/observability/metrics.js';
import { randomWalkCsv } from '../helpers/csv.js';
import { eventually } from '../helpers/eventually.js';

const VIEWER = 'viewer-token-0123456789';
const OPERATOR = 'operator-token-0123456789';
const ADMIN = 'admin-token-0123456789abc';

interface GraphqlError {
  message: string;
  extensions?: { code?: string; status?: number; details?: { fields?: Record<string, string> } };
}
interface GraphqlAnswer<D = Record<string, unknown>> {
  data?: D | null;
  errors?: GraphqlError[];
}

/** Reads server-sent events (`event:` and `data:` lines, a blank line after each) off a response body. */
async function readEvents(res: Response, into: { event: string; data: unknown }[]): Promise<void> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
    if (done) return;
    buffered += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const event = /^event: ?(.*)$/m.exec(block)?.[1];
      const data = [...block.matchAll(/^data: ?(.*)$/gm)].map((m) => m[1]).join('\n');
      if (event !== undefined) into.push({ event, data: data ? (JSON.parse(data) as unknown) : undefined });
    }
  }
}

/**
 * GraphQL on the API's own app over a running embedded system (agents, store, a paced feed), through
 * `app.request()`: the same tokens and roles as REST, the same reads, orders through the router's
 * preview and confirm, and fills on a subscription.
 */
describe('GraphQL API', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-graphql-'));
  let system: RunningSystem;
  let app: ReturnType<typeof createApi>;
  let metrics: Metrics;
  let bars = 0;
  const personIntents: Envelope[] = [];

  beforeAll(async () => {
    const config = loadConfig({
      env: {
        DATA_FEED: 'csv',
        DATA_FILE: randomWalkCsv(3000, 7),
        DATA_SYMBOLS: 'WALK',
        // paced: the market is still moving when a person's order goes in, so it fills on the next bar
        DATA_PACE_MS: '3',
        SEXTANT_DATA_DIR: join(dir, 'data'),
        HEARTBEAT_INTERVAL_MS: '60000',
      },
    });
    system = await startSystem(config, silentLogger, config.runtime.agents);
    system.bus.subscribe(
      patterns.all,
      (env) => {
        if (env.type === 'market.bar') bars++;
        if (env.type === 'order.intent' && (env.payload as OrderIntent).origin.kind === 'person')
          personIntents.push(env);
      },
      { name: 'test' },
    );
    metrics = new Metrics();
    metrics.attach(system.bus);
    const tracker = new AgentTracker(config.runtime.agents, 60_000);
    tracker.attach(system.bus);
    app = createApi({
      bus: system.bus,
      store: system.store,
      commands: system.commands,
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
    });
    // a market with a price before anyone trades on it
    await eventually(() => expect(bars).toBeGreaterThan(50), 30_000, 10);
  }, 60_000);
  afterAll(async () => {
    await metrics?.detach();
    await system?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (body: unknown, token?: string, headers: Record<string, string> = {}) =>
    app.request('/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const gql = async <D = Record<string, unknown>>(
    query: string,
    token: string | undefined,
    variables?: Record<string, unknown>,
  ) => {
    const res = await post({ query, ...(variables ? { variables } : {}) }, token);
    return { status: res.status, body: (await res.json()) as GraphqlAnswer<D> };
  };
  const rest = async (path: string) =>
    (await app.request(path, { headers: { authorization: `Bearer ${VIEWER}` } })).json() as Promise<unknown>;
  const codeOf = (a: GraphqlAnswer) => a.errors?.map((e) => [e.extensions?.code, e.extensions?.status]);

  it('refuses without a valid token (401) and a viewer mutation (403), as GraphQL errors with the REST code and status', async () => {
    const none = await gql('{ portfolio { equity } }', undefined);
    expect(none.status).toBe(401);
    expect(none.body).toEqual({
      errors: [
        {
          message: 'a valid bearer token is required (SEXTANT_API_TOKENS)',
          extensions: { code: 'unauthorized', status: 401 },
        },
      ],
    });
    expect((await gql('{ portfolio { equity } }', 'not-a-real-token-at-all')).status).toBe(401);
    const viewerBuys = await gql(
      'mutation { previewOrder(order: { side: buy, symbol: "WALK", qty: 1 }) { preview { id } } }',
      VIEWER,
    );
    expect(viewerBuys.status).toBe(403);
    expect(viewerBuys.body.data).toBeNull();
    expect(viewerBuys.body.errors).toMatchObject([
      {
        message: 'this needs the operator role; the token has viewer',
        path: ['previewOrder'],
        extensions: { code: 'forbidden', status: 403 },
      },
    ]);
    // admin-only stays admin-only: the router refuses an operator's limit change
    const operatorLimits = await gql(
      'mutation { command(name: "limits", args: { key: "maxOpenOrders", value: 3 }) { ok } }',
      OPERATOR,
    );
    expect(operatorLimits.status).toBe(403);
    expect(codeOf(operatorLimits.body)).toEqual([['forbidden', 403]]);
    const adminLimits = await gql(
      'mutation { command(name: "limits", args: { key: "maxOpenOrders", value: 50 }) { preview { id command } } }',
      ADMIN,
    );
    expect(adminLimits.body.data).toMatchObject({ command: { preview: { command: 'limits' } } });
    // the API's CORS policy (off here) holds for GraphQL too
    const cors = await post({ query: '{ whoami { role } }' }, VIEWER, { origin: 'https://evil.example' });
    expect(cors.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('a viewer reads portfolio, positions, strategies, signals, risk, agents and whoami in one query', async () => {
    const { status, body } = await gql<{
      portfolio: { cash: number; equity: number; positions: { symbol: string }[]; pnl: { all: number } };
      positions: { symbol: string; qty: number }[];
      strategies: { origin: { kind: string; id: string }; pnl: { all: number } }[];
      signals: { symbol: string; side: string; reasons: string[] }[];
      risk: { state: string; openOrders: number; limits: Record<string, unknown> };
      agents: { name: string; ok: boolean }[];
      whoami: { role: string; name: string };
    }>(
      `{ portfolio { cash equity positions { symbol qty } pnl { all } }
         positions { symbol qty avgPrice }
         strategies { origin { kind id } pnl { all } }
         signals { symbol side reasons indicators time }
         risk { state openOrders limits counts }
         agents { name state ok }
         whoami { role name } }`,
      VIEWER,
    );
    expect(body.errors).toBeUndefined();
    expect(status).toBe(200);
    const d = body.data!;
    expect(d.portfolio.cash).toEqual(expect.any(Number));
    expect(d.risk).toMatchObject({ state: 'ACTIVE', limits: expect.any(Object) as unknown });
    expect(d.strategies.map((b) => b.origin)).toContainEqual({ kind: 'strategy', id: 'sma-cross' });
    expect(d.signals.every((s) => s.symbol === 'WALK' && s.reasons.length > 0)).toBe(true);
    expect(d.agents.map((a) => a.name).sort()).toEqual(['data', 'execution', 'portfolio', 'risk', 'strategy']);
    expect(d.whoami).toEqual({ role: 'viewer', name: 'viewer-1' });
  });

  it('a buy previewed then confirmed goes through risk to a fill, which a subscription receives as it happens', async () => {
    // the subscription is open before the order goes in
    const live = await post(
      {
        query:
          'subscription { fills(symbol: "WALK") { id clientOrderId symbol side qty price fee status origin { kind id } correlationId } }',
      },
      VIEWER,
      { accept: 'text/event-stream' },
    );
    expect(live.status).toBe(200);
    expect(live.headers.get('content-type')).toMatch(/text\/event-stream/);
    const received: { event: string; data: unknown }[] = [];
    const reading = readEvents(live, received);

    const preview = await gql<{ previewOrder: { ok: boolean; text: string; preview: { id: string; check: object } } }>(
      `mutation Buy($order: OrderInput!) {
         previewOrder(order: $order) { ok text preview { id command summary check { wouldPass code reason } expiresAt } }
       }`,
      OPERATOR,
      { order: { side: 'buy', symbol: 'WALK', qty: 3 } },
    );
    expect(preview.body.errors).toBeUndefined();
    const shown = preview.body.data!.previewOrder;
    expect(shown).toMatchObject({
      ok: true,
      preview: { command: 'buy', summary: 'buy 3 WALK at market', check: { wouldPass: true } },
    });
    expect(personIntents).toEqual([]); // nothing is sent before the confirmation
    const confirmed = await gql<{
      confirm: { ok: boolean; text: string; data: { clientOrderId: string; correlationId: string } };
    }>('mutation Confirm($id: ID!) { confirm(previewId: $id) { ok text data } }', OPERATOR, {
      id: shown.preview.id,
    });
    expect(confirmed.body.errors).toBeUndefined();
    expect(confirmed.body.data!.confirm).toMatchObject({
      ok: true,
      text: expect.stringMatching(/^Risk approved buy 3 WALK/) as unknown,
    });
    const { clientOrderId, correlationId } = confirmed.body.data!.confirm.data;

    // the fill, as the subscription saw it
    const fill = await eventually(
      () => {
        const next = received.find(
          (e) =>
            e.event === 'next' &&
            (e.data as { data?: { fills?: { clientOrderId: string } } }).data?.fills?.clientOrderId === clientOrderId,
        );
        expect(next).toBeDefined();
        return (next!.data as { data: { fills: Record<string, unknown> } }).data.fills;
      },
      30_000,
      10,
    );
    expect(fill).toMatchObject({
      symbol: 'WALK',
      side: 'buy',
      qty: 3,
      status: 'filled',
      origin: { kind: 'person', id: 'api:operator-1' },
      correlationId,
    });
    await live.body!.cancel();
    await reading;

    // a preview confirms once
    const again = await gql('mutation ($id: ID!) { confirm(previewId: $id) { ok } }', OPERATOR, {
      id: shown.preview.id,
    });
    expect(again.status).toBe(404);
    expect(codeOf(again.body)).toEqual([['no_preview', 404]]);

    // the same fill through the queries: fills, orders and the order's whole chain
    const read = await eventually(
      async () => {
        await system.recorder!.flush();
        const r = await gql<{
          fills: { id: string; price: number; qty: number }[];
          orders: { clientOrderId: string; status: string; filledQty: number; correlationId: string }[];
          trace: { messages: { type: string; correlationId: string; symbol: string | null }[] };
        }>(
          `query Mine($id: String!, $chain: ID!) {
             fills(clientOrderId: $id) { id price qty }
             orders(symbol: "WALK", status: filled, limit: 1000) { clientOrderId status filledQty correlationId }
             trace(correlationId: $chain) { messages { type correlationId symbol } }
           }`,
          VIEWER,
          { id: clientOrderId, chain: correlationId },
        );
        expect(r.body.errors).toBeUndefined();
        expect(r.body.data!.trace.messages.map((m) => m.type)).toEqual([
          'order.intent',
          'order.approved',
          'order.submitted',
          'order.filled',
          'portfolio.updated',
        ]);
        return r.body.data!;
      },
      10_000,
      20,
    );
    expect(read.fills).toEqual([{ id: fill.id, price: fill.price, qty: 3 }]);
    expect(read.orders.filter((o) => o.clientOrderId === clientOrderId)).toEqual([
      { clientOrderId, status: 'filled', filledQty: 3, correlationId },
    ]);
    expect(read.trace.messages.every((m) => m.correlationId === correlationId)).toBe(true);
    // the payload's own symbol (the key streams and the event log filter on): an approval carries its order's
    expect(read.trace.messages.map((m) => m.symbol)).toEqual(['WALK', null, null, 'WALK', null]);
  }, 60_000);

  it('bad arguments are a 400 naming the field, an unknown chain a 404, a broken document a 400', async () => {
    const page = await gql('{ orders(limit: 5000) { clientOrderId } }', VIEWER);
    expect(page.status).toBe(400);
    expect(page.body.errors).toMatchObject([
      {
        extensions: { code: 'bad_request', status: 400, details: { fields: { limit: expect.any(String) as unknown } } },
      },
    ]);
    const time = await gql('{ fills(from: "yesterday-ish") { id } }', VIEWER);
    expect(time.body.errors?.[0]?.extensions?.details?.fields?.from).toContain(
      'expected a time: epoch milliseconds or ISO-8601',
    );
    const unknownChain = await gql('{ trace(correlationId: "no-such-chain") { correlationId } }', VIEWER);
    expect(unknownChain.status).toBe(404);
    expect(unknownChain.body.errors).toMatchObject([
      { message: 'no message of chain no-such-chain is recorded', extensions: { code: 'not_found', status: 404 } },
    ]);
    const tooMuch = await gql(
      'mutation { previewOrder(order: { side: buy, symbol: "WALK", qty: 1e13 }) { ok } }',
      OPERATOR,
    );
    expect(tooMuch.status).toBe(400);
    expect(codeOf(tooMuch.body)).toEqual([['bad_arguments', 400]]);
    const broken = await gql('{ portfolio { equity ', VIEWER);
    expect(broken.status).toBe(400);
    expect(broken.body.errors?.[0]?.message).toMatch(/Syntax Error/);
    const unknownField = await gql('{ portfolio { wealth } }', VIEWER);
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.errors).toMatchObject([
      {
        message: expect.stringMatching(/^Cannot query field "wealth" on type "Portfolio"/) as unknown,
        extensions: { code: 'bad_request', status: 400 },
      },
    ]);
  });

  it('GET answers queries only; a body must be JSON; a subscription needs text/event-stream; 20 top-level fields at most', async () => {
    const get = (query: string) =>
      app.request(`/graphql?query=${encodeURIComponent(query)}`, { headers: { authorization: `Bearer ${VIEWER}` } });
    expect(await (await get('{ whoami { role } }')).json()).toEqual({ data: { whoami: { role: 'viewer' } } });
    const badVariables = await app.request('/graphql?query={whoami{role}}&variables=5', {
      headers: { authorization: `Bearer ${VIEWER}` },
    });
    expect(badVariables.status).toBe(400);
    expect(((await badVariables.json()) as GraphqlAnswer).errors?.[0]?.extensions).toMatchObject({
      code: 'bad_request',
      details: { fields: { variables: 'expected a JSON object' } },
    });
    const mutationOverGet = await get('mutation { cancel(previewId: "abc") { ok } }');
    expect(mutationOverGet.status).toBe(405);
    expect(mutationOverGet.headers.get('allow')).toBe('POST');
    const form = await post('query={whoami{role}}', VIEWER, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
    expect(codeOf((await form.json()) as GraphqlAnswer)).toEqual([['unsupported_media_type', 415]]);
    const put = await app.request('/graphql', { method: 'PUT', headers: { authorization: `Bearer ${VIEWER}` } });
    expect(put.status).toBe(405);
    const notStreaming = await post({ query: 'subscription { fills { id } }' }, VIEWER, { accept: 'application/json' });
    expect(notStreaming.status).toBe(406);
    expect(codeOf((await notStreaming.json()) as GraphqlAnswer)).toEqual([['not_acceptable', 406]]);
    // every top-level field asks an agent: a thousand aliases are not one request's worth
    const many = Array.from({ length: 21 }, (_, i) => `p${i}: portfolio { equity }`).join(' ');
    const greedy = await gql(`{ ${many} }`, VIEWER);
    expect(greedy.status).toBe(400);
    expect(greedy.body.errors?.[0]?.message).toBe(
      'at most 20 top-level fields in one request (this one asks for 21): each asks an agent',
    );
    expect((await gql(`{ ${many.split(' p20:')[0]} }`, VIEWER)).status).toBe(200);
  });

  it('subscriptions and event streams share the cap of open streams per token, and give their slots back', async () => {
    const subscribe = () =>
      post({ query: 'subscription { events(types: ["order.*"]) { type correlationId } }' }, ADMIN, {
        accept: 'text/event-stream',
      });
    const stream = () => app.request('/api/v1/stream', { headers: { authorization: `Bearer ${ADMIN}` } });
    // a subscription that is taken streams at once (a comment line first); a refused one says why
    const accepted = async () => {
      const r = await subscribe();
      const reader = r.body!.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toBe(':\n\n');
      return { status: r.status, close: () => reader.cancel() };
    };
    const open = [await accepted(), await accepted(), await stream(), await accepted()];
    expect(open.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const fifthStream = await stream();
    expect(fifthStream.status).toBe(429);
    expect(await fifthStream.json()).toMatchObject({ error: { code: 'too_many_streams' } });
    const events: { event: string; data: unknown }[] = [];
    await readEvents(await subscribe(), events); // refused at once: the stream ends after the error
    expect(events).toEqual([
      {
        event: 'next',
        data: {
          errors: [
            {
              message: 'at most 4 open event streams per token',
              locations: [{ line: 1, column: 16 }],
              path: ['events'],
              extensions: { code: 'too_many_streams', status: 429 },
            },
          ],
        },
      },
      { event: 'complete', data: undefined },
    ]);
    // a closed subscription gives its slot back
    await Promise.all(open.map((r) => ('close' in r ? r.close() : r.body!.cancel())));
    const again = await eventually(async () => {
      const r = await stream();
      expect(r.status).toBe(200);
      return r;
    });
    await again.body!.cancel();
  });

  it('once the market has closed, GraphQL answers what REST answers, to the cent', async () => {
    await system.feedDone();
    await system.recorder!.flush();
    const { body } = await gql<{
      portfolio: unknown;
      positions: unknown;
      strategies: unknown;
      risk: unknown;
      orders: unknown;
    }>(
      `{ portfolio { cash equity positions { symbol qty avgPrice lastPrice marketValue unrealizedPnl realizedPnl }
                     realizedPnl unrealizedPnl fees dayPnl dayStartEquity pnl { day week month all yesterday lastWeek lastMonth }
                     peakEquity drawdown maxDrawdown asOf }
         positions { symbol qty avgPrice lastPrice marketValue unrealizedPnl realizedPnl }
         strategies { origin { kind id } cash equity realizedPnl unrealizedPnl fees pnl { all } }
         risk { state limits positions cash held openOrders waiting counts }
         orders(limit: 20) { clientOrderId symbol side qty type status filledQty avgPrice brokerOrderId
                             correlationId reason createdAt updatedAt version } }`,
      VIEWER,
    );
    expect(body.errors).toBeUndefined();
    const d = body.data!;
    expect(d.portfolio).toEqual(await rest('/api/v1/portfolio'));
    expect(d.positions).toEqual(await rest('/api/v1/positions'));
    expect(d.risk).toEqual(await rest('/api/v1/risk'));
    const books = (await rest('/api/v1/strategies')) as Record<string, unknown>[];
    expect(d.strategies).toEqual(
      books.map((b) => ({
        origin: b.origin,
        cash: b.cash,
        equity: b.equity,
        realizedPnl: b.realizedPnl,
        unrealizedPnl: b.unrealizedPnl,
        fees: b.fees,
        pnl: { all: (b.pnl as { all: number }).all },
      })),
    );
    const orders = (await rest('/api/v1/orders?limit=20')) as Record<string, unknown>[];
    expect(orders.length).toBeGreaterThan(1);
    expect(d.orders).toEqual(
      orders.map((o) => ({ brokerOrderId: null, reason: null, ...o })), // GraphQL names a field it has not
    );
  }, 60_000);
});
