import { createHash, timingSafeEqual } from 'node:crypto';
import {
  type Clock,
  type Bus,
  rootEnvelope,
  type Envelope,
  type EnvelopeDeps,
  subjects,
  versionOf,
  type OrderIntent,
  type RiskCommandResult,
  type Logger,
  type MessageTracer,
} from '../../src/core/index.js';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { streamSSE } from 'hono/streaming';
import type { z } from 'zod';
import type { Metrics } from '../../src/infra/observability/index.js';
import type { Store } from '../../src/infra/store/index.js';
import type { Caller, Reply, AgentTracker } from '../commands/index.js';
import { dashboardRoutes } from './dashboard/routes.js';
import { ApiError, parse, replyError, requireRank, toApiError } from './errors.js';
import type { GraphqlHandler } from './graphql/index.js';
import { LiveEvents, StreamSlots, StreamTooSlowError, typeList } from './live-stream.js';
import { docsPage, openApiDocument } from './openapi.js';
import { createReads } from './reads.js';
import {
  chatBodySchema,
  commandBodySchema,
  commandNameSchema,
  graphqlQuerySchema,
  limitsBodySchema,
  orderBodySchema,
  previewIdSchema,
  reasonBodySchema,
  streamQuerySchema,
} from './schemas.js';

export { ApiError } from './errors.js';

/** Where the GraphQL endpoint answers (interfaces/http/graphql/). */
export const GRAPHQL_PATH = '/graphql';

export type Role = 'viewer' | 'operator' | 'admin';

/** An API token from config (`SEXTANT_API_TOKENS`: `token:role` entries; the name is for logs and origins). */
export interface ApiToken {
  readonly token: string;
  readonly role: Role;
  readonly name: string;
}

export interface ApiDeps {
  readonly bus: Bus;
  readonly store: Store | undefined;
  /** Whether the store takes writes (checkpoints, the event log); /ready is 503 while it does not. */
  readonly writes?: () => { ok: boolean; detail?: string };
  readonly metrics: Metrics;
  readonly agents: AgentTracker;
  /** The conversational agent behind `POST /api/v1/chat` (the route is absent without it). */
  readonly chat?: { ask(conversationId: string, caller: { id: string; role: Role }, text: string): Promise<unknown> };
  /** The command router behind `POST /api/v1/commands/...` (preview, then confirm; 503 without it). */
  readonly commands?: {
    invoke(name: string, args: unknown, caller: Caller): Promise<Reply>;
    confirm(id: string, caller: Caller): Promise<Reply>;
    cancel(id: string, caller: Caller): Reply;
  };
  readonly envelope: EnvelopeDeps;
  /** The time people's orders are decided at (default: the envelope clock); see MarketClock. */
  readonly decisionClock?: Clock;
  /**
   * The symbols the market has data for (MarketClock.symbols); an order for another is refused at
   * once (422) rather than accepted and refused by risk later. Empty or unset: not known yet.
   */
  readonly knownSymbols?: () => ReadonlySet<string>;
  /** Resolves when the system takes new input (after a restart has caught up); orders wait for it. */
  readonly accepting?: () => Promise<void>;
  readonly log: Logger;
  readonly tokens: readonly ApiToken[];
  /** `/metrics` without a token. */
  readonly metricsOpen: boolean;
  /** Requests per token per minute; 0 = unlimited. */
  readonly rateLimitPerMinute: number;
  /** Allowed CORS origins; empty = CORS off. */
  readonly corsOrigins: readonly string[];
  readonly requestTimeoutMs: number;
  /**
   * POST routes for chat platforms' webhooks (path -> fetch handler); each checks its own secret, not a bearer token.
   */
  readonly webhooks?: ReadonlyMap<string, (req: Request) => Promise<Response>>;
  /**
   * Tracing (off when unset): a request that can cause something (not a GET) is a span, the root
   * of the trace of its request id, which is the correlation id of what it causes.
   */
  readonly tracer?: MessageTracer | undefined;
}

type Env = { Variables: { requestId: string; clientRequestId?: string; token: ApiToken | undefined } };

const hash = (s: string) => createHash('sha256').update(s).digest();

/** Who the token is, as a caller id: what its chat exchanges are recorded under (`chat.exchange` `user`). */
const personId = (c: Context<Env>): string => `api:${c.get('token')!.name}`;
/** Whose conversations a request may read: its own person's, or everyone's for an admin (undefined). */
const viewerOf = (c: Context<Env>): string | undefined => (c.get('token')!.role === 'admin' ? undefined : personId(c));

/** Finds the token: compares digests in constant time, so neither content nor length leaks. */
function findToken(tokens: readonly ApiToken[], presented: string): ApiToken | undefined {
  const p = hash(presented);
  let found: ApiToken | undefined;
  for (const t of tokens) if (timingSafeEqual(hash(t.token), p)) found = t;
  return found;
}

/** What makes two orders under one Idempotency-Key the same order. */
function orderFingerprint(
  o: Pick<OrderIntent, 'symbol' | 'side' | 'qty' | 'type' | 'tif' | 'limitPrice' | 'stopPrice'>,
) {
  return JSON.stringify([o.symbol, o.side, o.qty, o.type, o.tif, o.limitPrice ?? null, o.stopPrice ?? null]);
}

/**
 * The HTTP API (Hono): health, readiness, Prometheus metrics, and `/api/v1` over the bus's query
 * services and commands. Everything a person does goes on the bus as any other message (an order
 * becomes an `order.intent`, which only risk reads); the request id becomes its correlation id.
 */
export function createApi(deps: ApiDeps): Hono<Env> {
  const app = new Hono<Env>();
  const windows = new Map<string, { start: number; count: number }>();
  // event streams and GraphQL subscriptions, capped together per token
  const slots = new StreamSlots();
  const reads = createReads(deps);
  /** The intents of the Idempotency-Keys this process took (by their key-derived id); bounded. */
  const idempotent = new Map<string, Envelope>();
  /** Whether risk decided an intent (approved or refused: the store has its order). */
  const decided = async (env: Envelope): Promise<boolean> => {
    const order = await deps.store?.orders.get((env.payload as OrderIntent).clientOrderId).catch((err: unknown) => {
      throw new ApiError(503, 'store_unavailable', `the orders cannot be read to check the key (${String(err)})`);
    });
    return order !== undefined;
  };
  /** An intent of a key taken before this process started (the event log keeps it). */
  const recordedIntent = async (id: string): Promise<Envelope | undefined> => {
    if (!deps.store) return undefined;
    const e = await deps.store.events.get(id).catch((err: unknown) => {
      throw new ApiError(503, 'store_unavailable', `the event log cannot be read to check the key (${String(err)})`);
    });
    return e?.env.type === 'order.intent' ? e.env : undefined;
  };

  app.onError((err, c) => {
    const e = toApiError(err);
    if (e.status >= 500)
      deps.log.error(
        { err, requestId: c.get('requestId'), clientRequestId: c.get('clientRequestId') },
        'API request failed',
      );
    // a GraphQL client reads GraphQL errors, with the same code and status (graphql/errors.ts)
    if (c.req.path === GRAPHQL_PATH)
      return c.json(
        {
          errors: [
            {
              message: e.message,
              extensions: {
                code: e.code,
                status: e.status,
                ...(e.details !== undefined ? { details: e.details } : {}),
              },
            },
          ],
        },
        e.status,
      );
    return c.json(
      { error: { code: e.code, message: e.message, ...(e.details !== undefined ? { details: e.details } : {}) } },
      e.status,
    );
  });
  app.notFound((c) => c.json({ error: { code: 'not_found', message: `no route ${c.req.method} ${c.req.path}` } }, 404));

  // Every request starts a chain of its own: the id is made here, never taken from the client (a
  // client's X-Request-Id naming another chain would write into that chain's trace). The client's
  // id is kept as a reference: echoed as X-Client-Request-Id and logged with ours.
  app.use('*', async (c, next) => {
    const given = c.req.header('x-request-id');
    const clientRequestId = given && /^[\w.:-]{1,100}$/.test(given) ? given : undefined;
    const requestId = deps.envelope.ids.next();
    c.set('requestId', requestId);
    if (clientRequestId) c.set('clientRequestId', clientRequestId);
    c.header('X-Request-Id', requestId);
    if (clientRequestId) c.header('X-Client-Request-Id', clientRequestId);
    const started = performance.now();
    const method = c.req.method;
    const span =
      deps.tracer && method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS'
        ? deps.tracer.request(`${method} ${c.req.path}`, requestId, { 'http.request.method': method })
        : undefined;
    try {
      await next();
    } finally {
      span?.end(c.res.status, `${method} ${c.req.routePath}`);
    }
    const seconds = (performance.now() - started) / 1000;
    deps.metrics.httpRequest(c.req.method, c.req.routePath, c.res.status, seconds);
    deps.log.debug(
      {
        requestId,
        ...(clientRequestId ? { clientRequestId } : {}),
        method: c.req.method,
        route: c.req.routePath,
        status: c.res.status,
        token: c.get('token')?.name,
        ms: Math.round(seconds * 1000),
      },
      'http request',
    );
  });
  if (deps.corsOrigins.length > 0) app.use('*', cors({ origin: [...deps.corsOrigins] }));
  app.use(
    '*',
    bodyLimit({
      maxSize: 64 * 1024,
      onError: () => {
        throw new ApiError(413, 'body_too_large', 'the body is larger than 64 KiB');
      },
    }),
  );

  /** Requires a token with at least `role`; counts the request (once) against the token's rate limit. */
  const requireRole = (role: Role) => async (c: Context<Env>, next: () => Promise<void>) => {
    const known = c.get('token');
    const header = c.req.header('authorization') ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(header);
    const token = known ?? (m ? findToken(deps.tokens, m[1]!.trim()) : undefined);
    if (!token) throw new ApiError(401, 'unauthorized', 'a valid bearer token is required (SEXTANT_API_TOKENS)');
    requireRank(token.role, role);
    if (!known && deps.rateLimitPerMinute > 0) {
      const now = Date.now();
      const w = windows.get(token.name);
      if (!w || now - w.start >= 60_000) windows.set(token.name, { start: now, count: 1 });
      else if (++w.count > deps.rateLimitPerMinute) {
        c.header('Retry-After', String(Math.ceil((w.start + 60_000 - now) / 1000)));
        throw new ApiError(
          429,
          'rate_limited',
          `more than ${deps.rateLimitPerMinute} requests a minute for this token`,
        );
      }
    }
    c.set('token', token);
    await next();
  };

  const body = async <S extends z.ZodType>(c: Context<Env>, schema: S): Promise<z.infer<S>> => {
    if (!isJson(c.req.header('content-type')))
      throw new ApiError(415, 'unsupported_media_type', 'send the body as application/json');
    let raw: unknown;
    try {
      raw = await c.req.json();
    } catch {
      throw new ApiError(400, 'bad_json', 'the body is not valid JSON');
    }
    return parse(schema, raw, 'body');
  };

  /** A body that may be left out: none (no content) is `{}`; one that is sent must be JSON. */
  const optionalBody = async <S extends z.ZodType>(c: Context<Env>, schema: S): Promise<z.infer<S>> => {
    const length = c.req.header('content-length');
    const chunked = c.req.header('transfer-encoding');
    if (!c.req.header('content-type') && (length === undefined || length === '0') && !chunked)
      return parse(schema, {}, 'body');
    return body(c, schema);
  };

  const command = async (
    c: Context<Env>,
    cmd: 'halt' | 'resume' | 'set-limits',
    reason: string,
    limits?: Record<string, unknown>,
  ) => {
    const token = c.get('token')!;
    const env = rootEnvelope(
      deps.envelope,
      'risk.command',
      { command: cmd, reason, by: `api:${token.name}`, ...(limits ? { limits } : {}) },
      { v: versionOf('risk.command'), correlationId: c.get('requestId') },
    );
    const reply = await deps.bus.request(subjects.riskCommand(cmd), env, { timeoutMs: deps.requestTimeoutMs });
    const result = reply.payload as RiskCommandResult;
    if (!result.accepted) throw new ApiError(409, 'refused', result.reason, { state: result.state });
    return c.json(result);
  };

  app.get('/health', (c) => c.json({ status: 'ok' }));
  for (const [path, handler] of deps.webhooks ?? []) app.post(path, (c) => handler(c.req.raw));
  app.get('/openapi.json', (c) => c.json(openApiDocument()));
  app.get('/docs', (c) => c.html(docsPage(openApiDocument())));
  app.get('/ready', async (c) => {
    const bus = await Promise.race([
      deps.bus.flush().then(() => ({ ok: true, detail: deps.bus.kind })),
      new Promise<{ ok: boolean; detail: string }>((r) =>
        setTimeout(() => r({ ok: false, detail: `${deps.bus.kind} bus did not answer in 1 s` }), 1000).unref(),
      ),
    ]).catch((err: unknown) => ({ ok: false, detail: (err as Error).message }));
    const reachable = deps.store
      ? await deps.store
          .health()
          .catch((err: unknown) => ({ ok: false, kind: deps.store!.kind, detail: (err as Error).message }))
      : { ok: true, kind: 'off', detail: 'no store (STORE=off)' };
    // answering a ping is not enough: a store that fails its writes stops trading
    const writes = deps.writes?.() ?? { ok: true };
    const store = writes.ok
      ? reachable
      : { ok: false, kind: reachable.kind, detail: writes.detail ?? 'writes failing' };
    const agents = deps.agents.report();
    const ready = bus.ok && store.ok && deps.agents.ready();
    return c.json({ ready, checks: { bus, store, agents } }, ready ? 200 : 503);
  });
  if (!deps.metricsOpen) app.use('/metrics', requireRole('viewer'));
  app.get('/metrics', async (c) => {
    c.header('Content-Type', deps.metrics.registry.contentType);
    return c.body(await deps.metrics.registry.metrics());
  });

  const api = new Hono<Env>();
  api.use('*', requireRole('viewer'));
  // the read side (reads.ts), shared with GraphQL; the request id is the query's correlation id
  api.get('/portfolio', async (c) => c.json(await reads.portfolio(c.get('requestId'))));
  api.get('/positions', async (c) => c.json(await reads.positions(c.get('requestId'))));
  // the account by who traded: each strategy instance's (and person's) own positions and PnL
  api.get('/strategies', async (c) => c.json(await reads.strategies(c.get('requestId'))));
  api.get('/signals', async (c) => c.json(await reads.signals(c.get('requestId'))));
  api.get('/risk', async (c) => c.json(await reads.risk(c.get('requestId'))));
  api.get('/agents', (c) => c.json(deps.agents.report()));
  // what the calling token may do: a client shows the controls of its role only
  api.get('/whoami', (c) => {
    const token = c.get('token')!;
    return c.json({ role: token.role, name: token.name });
  });
  api.get('/orders', async (c) => c.json(await reads.orders(c.get('requestId'), c.req.query())));
  api.get('/fills', async (c) => c.json(await reads.fills(c.get('requestId'), c.req.query())));
  // a person reads the account's events and their own conversations; an admin reads everyone's
  api.get('/events', async (c) => c.json(await reads.events(c.get('requestId'), c.req.query(), viewerOf(c))));
  api.get('/trace/:correlationId', async (c) =>
    c.json(await reads.trace(c.get('requestId'), c.req.param('correlationId'), viewerOf(c))),
  );

  // live bus events as server-sent events, filtered by type and symbol; a slow reader is cut off
  // rather than buffered without bound (live-stream.ts)
  api.get('/stream', (c) => {
    if (c.req.method !== 'GET') throw new ApiError(405, 'method_not_allowed', 'the event stream answers GET only');
    const q = parse(streamQuerySchema, c.req.query(), 'query');
    const release = slots.take(c.get('token')!.name);
    const live = new LiveEvents(
      deps.bus,
      {
        ...(q.type !== undefined ? { types: typeList(q.type) } : {}),
        ...(q.symbol !== undefined ? { symbol: q.symbol } : {}),
        ...(viewerOf(c) !== undefined ? { visibleTo: viewerOf(c)! } : {}),
      },
      { name: 'api-stream', onClose: release },
    );
    return streamSSE(c, async (stream) => {
      stream.onAbort(() => void live.return());
      try {
        for await (const env of live) await stream.writeSSE({ id: env.id, event: env.type, data: JSON.stringify(env) });
      } catch (err) {
        if (!(err instanceof StreamTooSlowError)) throw err;
        // a reader this far behind may not be reading at all: say why without waiting on it, and close
        void stream
          .writeSSE({ event: 'error', data: JSON.stringify({ code: err.code, message: err.message }) })
          .catch(() => undefined);
      } finally {
        await live.return();
        stream.abort();
      }
    });
  });

  api.post('/orders', requireRole('operator'), async (c) => {
    const b = await body(c, orderBodySchema);
    if (b.type === 'limit' && b.limitPrice === undefined)
      throw new ApiError(400, 'bad_request', 'a limit order needs limitPrice', {
        fields: { limitPrice: 'required for type limit' },
      });
    if (b.type === 'stop' && b.stopPrice === undefined)
      throw new ApiError(400, 'bad_request', 'a stop order needs stopPrice', {
        fields: { stopPrice: 'required for type stop' },
      });
    const known = deps.knownSymbols?.();
    if (known && known.size > 0 && !known.has(b.symbol)) {
      const like = [...known].find((k) => k.toLowerCase() === b.symbol.toLowerCase());
      throw new ApiError(
        422,
        'unknown_symbol',
        `no market data for ${b.symbol}${like ? `; did you mean ${like}? (symbols are case-sensitive)` : `; the market has ${[...known].slice(0, 10).join(', ')}`}`,
      );
    }
    const token = c.get('token')!;
    const key = c.req.header('idempotency-key');
    if (key !== undefined && !/^[\w.:-]{1,100}$/.test(key))
      throw new ApiError(400, 'bad_request', 'Idempotency-Key: 1-100 letters, digits, . _ : -');
    const order: Omit<OrderIntent, 'clientOrderId' | 'decidedAt' | 'origin'> = {
      symbol: b.symbol,
      side: b.side,
      qty: b.qty,
      type: b.type,
      tif: b.tif,
      ...(b.limitPrice !== undefined ? { limitPrice: b.limitPrice } : {}),
      ...(b.stopPrice !== undefined ? { stopPrice: b.stopPrice } : {}),
    };
    const clientRequestId = c.get('clientRequestId');
    const answerFor = (env: Envelope) => ({
      clientOrderId: (env.payload as OrderIntent).clientOrderId,
      correlationId: env.correlationId,
      status: 'submitted to risk',
      ...(clientRequestId ? { clientRequestId } : {}),
    });
    // the same key from the same token is the same order: the first answer is given again; the same
    // key with another order is a mistake. The key's record is the intent itself, written to the event
    // log before it is published and before the 202, so it outlives a crash of this process
    const keyHash = key ? createHash('sha256').update(`${token.name}\n${key}`).digest('hex').slice(0, 24) : undefined;
    const intentId = keyHash ? `api-intent-${keyHash}` : undefined;
    if (intentId) {
      const remembered = idempotent.get(intentId) ?? (await recordedIntent(intentId));
      if (remembered) {
        if (orderFingerprint(remembered.payload as OrderIntent) !== orderFingerprint(order))
          throw new ApiError(409, 'idempotency_key_reused', `Idempotency-Key ${key} was used for a different order`);
        // an intent risk never decided (this process died between the log and the bus) is published
        // again with its own id; one risk decided (its order is in the store) is not: risk's memory
        // of client order ids is a window, and a key retried days later must not place it again
        await deps.accepting?.();
        if (!idempotent.has(intentId) && !(await decided(remembered)))
          deps.bus.publish(subjects.orderIntent(), remembered);
        return c.json(answerFor(remembered), 202);
      }
    }
    // after a restart, a retried order is recognised only once the system has caught up
    await deps.accepting?.();
    const intent: OrderIntent = {
      clientOrderId: keyHash ? `api-${keyHash}` : `api-${deps.envelope.ids.next()}`,
      ...order,
      origin: { kind: 'person', id: `api:${token.name}` },
      decidedAt: (deps.decisionClock ?? deps.envelope.clock).now(),
    };
    const env: Envelope = rootEnvelope(deps.envelope, 'order.intent', intent, {
      v: versionOf('order.intent'),
      correlationId: c.get('requestId'),
      ...(intentId ? { id: intentId } : {}),
    });
    if (intentId && deps.store) {
      try {
        await deps.store.events.append([{ subject: subjects.orderIntent(), env }]);
      } catch (err) {
        throw new ApiError(
          503,
          'store_unavailable',
          `the order was not sent: the event log did not take it (${String(err)})`,
        );
      }
    }
    deps.bus.publish(subjects.orderIntent(), env);
    const answer = answerFor(env);
    deps.log.info(
      {
        requestId: env.correlationId,
        ...(clientRequestId ? { clientRequestId } : {}),
        clientOrderId: intent.clientOrderId,
        token: token.name,
      },
      'order submitted to risk',
    );
    if (intentId) {
      idempotent.set(intentId, env);
      if (idempotent.size > 100_000) idempotent.delete(idempotent.keys().next().value!);
    }
    return c.json(answer, 202);
  });
  // a person talking to Sextant: their token's role decides what the commands in it may do
  api.post('/chat', async (c) => {
    if (!deps.chat) throw new ApiError(503, 'no_chat', 'the conversational agent is not running in this process');
    const b = await body(c, chatBodySchema);
    const token = c.get('token')!;
    return c.json(
      await deps.chat.ask(
        `http:${token.name}:${b.conversationId ?? 'default'}`,
        { id: personId(c), role: token.role },
        b.message,
      ),
    );
  });
  // one command through the router, as the chat and the bots send it: a dangerous one (halt,
  // resume, orders) answers with a preview that only a second call confirms (the dashboard's Halt)
  const router = () => {
    if (!deps.commands) throw new ApiError(503, 'no_commands', 'the command router is not running in this process');
    return deps.commands;
  };
  const caller = (c: Context<Env>): Caller => ({ id: personId(c), role: c.get('token')!.role });
  // a person's mistake is a 4xx; 5xx only when a part of ours failed (an agent's error, none answering, too slow)
  const routerReply = (c: Context<Env>, reply: Reply) => {
    if (reply.ok) return c.json(reply);
    throw replyError(reply);
  };
  const previewId = (c: Context<Env>) => parse(previewIdSchema, c.req.param('previewId'), 'previewId');
  api.post('/commands/confirm/:previewId', requireRole('operator'), async (c) =>
    routerReply(c, await router().confirm(previewId(c), caller(c))),
  );
  api.post('/commands/cancel/:previewId', requireRole('operator'), (c) =>
    routerReply(c, router().cancel(previewId(c), caller(c))),
  );
  api.post('/commands/:name', requireRole('operator'), async (c) => {
    const name = parse(commandNameSchema, c.req.param('name'), 'name');
    return routerReply(c, await router().invoke(name, (await body(c, commandBodySchema)).args, caller(c)));
  });
  api.post('/risk/halt', requireRole('operator'), async (c) =>
    command(c, 'halt', (await optionalBody(c, reasonBodySchema)).reason ?? 'halted through the API'),
  );
  api.post('/risk/resume', requireRole('operator'), async (c) =>
    command(c, 'resume', (await optionalBody(c, reasonBodySchema)).reason ?? 'resumed through the API'),
  );
  api.put('/risk/limits', requireRole('admin'), async (c) => {
    const b = await body(c, limitsBodySchema);
    return command(c, 'set-limits', b.reason, b.limits);
  });
  app.route('/api/v1', api);

  // GraphQL (graphql/): the same tokens, reads, commands and live stream; graphql-yoga and graphql
  // load on the first request (about half a second), so a process that never serves one never pays
  let graphql: Promise<GraphqlHandler> | undefined;
  const loadGraphql = () =>
    import('./graphql/index.js').then(({ createGraphqlHandler }) =>
      createGraphqlHandler({
        reads,
        agents: deps.agents,
        bus: deps.bus,
        slots,
        log: deps.log,
        ...(deps.commands ? { commands: deps.commands } : {}),
      }),
    );
  app.use(GRAPHQL_PATH, requireRole('viewer'));
  app.on(['GET', 'POST'], GRAPHQL_PATH, async (c) => {
    // a body is JSON, as everywhere in the API (no forms, no multipart uploads)
    if (c.req.method === 'POST' && !isJson(c.req.header('content-type')))
      throw new ApiError(415, 'unsupported_media_type', 'send the body as application/json');
    if (c.req.method === 'GET') parse(graphqlQuerySchema, c.req.query(), 'query');
    graphql ??= loadGraphql().catch((err: unknown) => {
      graphql = undefined; // the next request tries again
      throw err;
    });
    const res = await (await graphql)(c.req.raw, { token: c.get('token')!, requestId: c.get('requestId') });
    // yoga refuses an Accept it cannot answer without a body: say it in the one error shape
    if (res.status === 406)
      throw new ApiError(
        406,
        'not_acceptable',
        'accept application/json or application/graphql-response+json (text/event-stream for a subscription)',
      );
    return res;
  });
  app.all(GRAPHQL_PATH, () => {
    throw new ApiError(405, 'method_not_allowed', 'GraphQL answers GET (queries) and POST');
  });
  app.route('/', dashboardRoutes());
  return app;
}

const isJson = (contentType: string | undefined) =>
  (contentType ?? '').split(';')[0]!.trim().toLowerCase() === 'application/json';
