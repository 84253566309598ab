import { z } from 'zod';
import {
  chatBodySchema,
  commandBodySchema,
  eventsQuerySchema,
  fillsQuerySchema,
  graphqlBodySchema,
  graphqlQuerySchema,
  limitsBodySchema,
  orderBodySchema,
  ordersQuerySchema,
  reasonBodySchema,
  streamQuerySchema,
} from './schemas.js';

/** The error shape every failing request answers with. */
const errorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});

type Role = 'open' | 'viewer' | 'operator' | 'admin';
interface Route {
  readonly method: 'get' | 'post' | 'put';
  readonly path: string;
  readonly summary: string;
  readonly role: Role;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  readonly params?: readonly string[];
  readonly ok?: number;
  /** A GraphQL route: its answers are GraphQL responses (`{ data, errors }`), refusals included. */
  readonly graphql?: true;
}

/** A GraphQL response; a refusal carries the REST API's code and status in each error's extensions. */
const graphqlResponseSchema = z.object({
  data: z.unknown().optional(),
  errors: z
    .array(
      z.object({
        message: z.string(),
        locations: z.array(z.object({ line: z.number(), column: z.number() })).optional(),
        path: z.array(z.union([z.string(), z.number()])).optional(),
        extensions: z
          .object({ code: z.string().optional(), status: z.number().optional(), details: z.unknown().optional() })
          .optional(),
      }),
    )
    .optional(),
});

/** The routes of interfaces/http/app.ts; the schemas are the ones the handlers validate with. */
const ROUTES: readonly Route[] = [
  {
    method: 'get',
    path: '/',
    summary: 'The live dashboard (HTML; it asks for a token and reads /api/v1 with it).',
    role: 'open',
  },
  { method: 'get', path: '/health', summary: 'The process is alive.', role: 'open' },
  {
    method: 'get',
    path: '/ready',
    summary: 'Bus, store and every agent heartbeat; 503 with the failing parts.',
    role: 'open',
  },
  {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics (a viewer token unless API_METRICS_OPEN).',
    role: 'open',
  },
  { method: 'get', path: '/api/v1/portfolio', summary: 'Cash, equity, PnL, drawdown, positions.', role: 'viewer' },
  { method: 'get', path: '/api/v1/positions', summary: 'Positions.', role: 'viewer' },
  {
    method: 'get',
    path: '/api/v1/strategies',
    summary: "Each strategy instance's (and person's) own book: positions and PnL; they add up to the account.",
    role: 'viewer',
  },
  { method: 'get', path: '/api/v1/orders', summary: 'Orders, newest first.', role: 'viewer', query: ordersQuerySchema },
  {
    method: 'get',
    path: '/api/v1/fills',
    summary: 'Fills, oldest first (needs a store).',
    role: 'viewer',
    query: fillsQuerySchema,
  },
  {
    method: 'get',
    path: '/api/v1/signals',
    summary: 'The strategy: its symbols and what it holds open.',
    role: 'viewer',
  },
  { method: 'get', path: '/api/v1/risk', summary: 'Trading state, limits, counts.', role: 'viewer' },
  {
    method: 'get',
    path: '/api/v1/whoami',
    summary: "The calling token's role and name (what a client may offer).",
    role: 'viewer',
  },
  {
    method: 'get',
    path: '/api/v1/agents',
    summary: 'Each agent: state, machine state, heartbeat age.',
    role: 'viewer',
  },
  {
    method: 'get',
    path: '/api/v1/trace/{correlationId}',
    summary:
      "A whole chain in causal order (needs a store); other people's conversations are not shown except to an admin.",
    role: 'viewer',
    params: ['correlationId'],
  },
  {
    method: 'get',
    path: '/api/v1/events',
    summary:
      "The event log by type, symbol and time (needs a store); other people's conversations (chat.exchange) are left out except for an admin.",
    role: 'viewer',
    query: eventsQuerySchema,
  },
  {
    method: 'get',
    path: '/api/v1/stream',
    summary:
      "Live bus events as server-sent events; type is a comma-separated list, order.* names every order type. Other people's conversations are not sent except to an admin.",
    role: 'viewer',
    query: streamQuerySchema,
  },
  {
    method: 'post',
    path: '/api/v1/orders',
    summary:
      "An order intent; risk decides, and its verdict (approved, or refused with a code: below_min_qty, lot_size, tick_size, a limit...) is on the order's trace. qty, limitPrice and stopPrice are numbers from 1e-12 to 1e12 (anything else is a 400 naming the field). Honours Idempotency-Key.",
    role: 'operator',
    body: orderBodySchema,
    ok: 202,
  },
  {
    method: 'post',
    path: '/api/v1/chat',
    summary:
      'Ask in plain language (the conversational agent; orders only become previews you confirm with "confirm <id>").',
    role: 'viewer',
    body: chatBodySchema,
  },
  {
    method: 'post',
    path: '/api/v1/commands/{name}',
    summary:
      'One command of the command router with its arguments ({"args": {...}}); a dangerous one (halt, resume, buy, close, limits) answers with a preview to confirm.',
    role: 'operator',
    params: ['name'],
    body: commandBodySchema,
  },
  {
    method: 'post',
    path: '/api/v1/commands/confirm/{previewId}',
    summary:
      'Executes a preview made for the same token, once, within its time limit (404 unknown or used, 409 expired or refused).',
    role: 'operator',
    params: ['previewId'],
  },
  {
    method: 'post',
    path: '/api/v1/commands/cancel/{previewId}',
    summary: 'Drops a preview; nothing is sent.',
    role: 'operator',
    params: ['previewId'],
  },
  {
    method: 'post',
    path: '/api/v1/risk/halt',
    summary: 'The kill switch: nothing passes risk.',
    role: 'operator',
    body: reasonBodySchema,
  },
  {
    method: 'post',
    path: '/api/v1/risk/resume',
    summary: 'Trading resumes (ACTIVE).',
    role: 'operator',
    body: reasonBodySchema,
  },
  {
    method: 'get',
    path: '/graphql',
    summary:
      'GraphQL: a query in the URL (?query=...); mutations need POST. The same reads as /api/v1; refusals are GraphQL errors with the REST code and status.',
    role: 'viewer',
    query: graphqlQuerySchema,
    graphql: true,
  },
  {
    method: 'post',
    path: '/graphql',
    summary:
      'GraphQL: queries (viewer), mutations through the command router (previewOrder, command, confirm, cancel: operator; limits: admin), subscriptions (events, fills, portfolio) as server-sent events with Accept: text/event-stream. The schema: introspection, or the README.',
    role: 'viewer',
    body: graphqlBodySchema,
    graphql: true,
  },
  {
    method: 'put',
    path: '/api/v1/risk/limits',
    summary:
      'New risk limits, validated whole or refused (409) with the reason; an unsafe number (a denormal, beyond 2^53) is a 400 naming the limit.',
    role: 'admin',
    body: limitsBodySchema,
  },
];

const json = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });

let cached: object | undefined;

/** The OpenAPI 3.1 document, made from the same zod schemas the handlers validate with. */
export function openApiDocument(): object {
  cached ??= {
    openapi: '3.1.0',
    info: {
      title: 'Sextant API',
      version: '1',
      description: 'Bearer tokens (SEXTANT_API_TOKENS) with roles viewer < operator < admin.',
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { Error: json(errorSchema), GraphqlResponse: json(graphqlResponseSchema) },
    },
    paths: Object.fromEntries(
      [...new Set(ROUTES.map((r) => r.path))].map((path) => [
        path,
        Object.fromEntries(
          ROUTES.filter((r) => r.path === path).map((r) => [
            r.method,
            {
              summary: r.summary,
              'x-role': r.role,
              ...(r.role === 'open' ? {} : { security: [{ bearer: [] }] }),
              parameters: [
                ...(r.params ?? []).map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
                ...queryParameters(r.query),
                { name: 'X-Request-Id', in: 'header', required: false, schema: { type: 'string' } },
                ...(r.method === 'post' && r.path === '/api/v1/orders'
                  ? [{ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string' } }]
                  : []),
              ],
              ...(r.body
                ? { requestBody: { required: true, content: { 'application/json': { schema: json(r.body) } } } }
                : {}),
              responses: r.graphql
                ? graphqlResponses
                : {
                    [String(r.ok ?? 200)]: { description: 'OK' },
                    ...(r.role === 'open'
                      ? {}
                      : {
                          401: errRef('no valid token'),
                          403: errRef('the token lacks the role'),
                          429: errRef('over the rate limit'),
                        }),
                    ...(r.body || r.query || r.params
                      ? { 400: errRef('invalid body, query or path; details.fields names them') }
                      : {}),
                    ...(r.body
                      ? {
                          413: errRef('the body is larger than the limit'),
                          415: errRef('the body is not application/json'),
                        }
                      : {}),
                    ...(r.params ? { 404: errRef('no such item (a trace, a preview, a command)') } : {}),
                    ...(r.method !== 'get'
                      ? {
                          409: errRef(
                            'refused in the current state (an expired or used preview, a key reused, nothing to change)',
                          ),
                          422: errRef(
                            'understood but refused: a person’s mistake (no such position, no market data for the symbol)',
                          ),
                        }
                      : {}),
                    ...(r.role === 'open'
                      ? {}
                      : {
                          502: errRef('an agent failed the request'),
                          503: errRef(
                            'the system is not accepting requests yet (starting, recovering), an agent is missing, or the store cannot be written',
                          ),
                          504: errRef('an agent did not answer in time'),
                        }),
                  },
            },
          ]),
        ),
      ]),
    ),
  };
  return cached;
}

/** A route's query parameters, from its zod schema (required where the schema requires them). */
function queryParameters(query: z.ZodObject | undefined) {
  if (!query) return [];
  const schema = json(query) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(schema.properties ?? {}).map(([name, s]) => ({
    name,
    in: 'query',
    required: schema.required?.includes(name) ?? false,
    schema: s,
  }));
}

const GRAPHQL_TYPES = ['application/json', 'application/graphql-response+json'];
const graphqlRef = (description: string) => ({
  description,
  content: Object.fromEntries(
    GRAPHQL_TYPES.map((t) => [t, { schema: { $ref: '#/components/schemas/GraphqlResponse' } }]),
  ),
});
/** What /graphql answers: a GraphQL response, with the status the REST API would give a refusal. */
const graphqlResponses = {
  200: {
    description: 'A GraphQL response (a subscription: server-sent events, `event: next` with each response)',
    content: {
      ...graphqlRef('').content,
      'text/event-stream': { schema: { type: 'string' } },
      'multipart/mixed': { schema: { type: 'string' } },
    },
  },
  400: graphqlRef('a broken document, an unknown field, invalid arguments (details.fields names them)'),
  401: graphqlRef('no valid token'),
  403: graphqlRef('the token lacks the role (a viewer mutating, an operator changing limits)'),
  404: graphqlRef('no such item (a trace, a preview, a command)'),
  405: graphqlRef('a method other than GET and POST, or a mutation over GET'),
  406: graphqlRef('an Accept header GraphQL cannot answer (a subscription needs text/event-stream)'),
  409: graphqlRef('refused in the current state (an expired or used preview, risk refused the order)'),
  413: graphqlRef('the body is larger than the limit'),
  415: graphqlRef('the body is not application/json'),
  422: graphqlRef('understood but refused: a person’s mistake (no such position)'),
  429: graphqlRef('over the rate limit, or too many open streams'),
  502: graphqlRef('an agent failed the request'),
  503: graphqlRef('an agent is missing, or the system is stopping'),
  504: graphqlRef('an agent did not answer in time'),
};

const errRef = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

const escape = (s: string) =>
  s.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]!);

/** A plain docs page from the OpenAPI document (no scripts, no outside assets). */
export function docsPage(doc: object): string {
  const rows = ROUTES.map(
    (r) =>
      `<tr><td><code>${r.method.toUpperCase()}</code></td><td><code>${escape(r.path)}</code></td><td>${r.role}</td><td>${escape(r.summary)}</td></tr>`,
  ).join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>Sextant API</title>
<style>body{font:14px/1.5 system-ui,sans-serif;margin:2rem;max-width:70rem}td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:left}pre{background:#f6f6f6;padding:1rem;overflow:auto}</style></head>
<body><h1>Sextant API</h1><p>Send <code>Authorization: Bearer &lt;token&gt;</code>. The full document: <a href="/openapi.json">/openapi.json</a>.</p>
<table><tr><th>method</th><th>path</th><th>role</th><th>what</th></tr>
${rows}</table>
<h2>OpenAPI</h2><pre>${escape(JSON.stringify(doc, null, 2))}</pre></body></html>`;
}
