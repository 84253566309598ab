import { z } from 'zod';
import {
  type Bus,
  rootEnvelope,
  type EnvelopeDeps,
  type OrderIntent,
  type QueryName,
  subjects,
  versionOf,
  traceIdOf,
} from '../../src/core/index.js';
import { orderDocSchema, type Store } from '../../src/infra/store/index.js';
import { ApiError, parse } from './errors.js';
import { roundMoney } from './money.js';
import { eventsQuerySchema, fillsQuerySchema, ordersQuerySchema } from './schemas.js';

/**
 * The read side of the API, one function per query service, shared by the REST routes and the
 * GraphQL resolvers: the same bus requests (`query.<what>`, the request id as correlation id), the
 * same validation (the zod schemas of schemas.ts, on the same strings a URL query carries), the
 * same money rounding and the same refusals (ApiError).
 */

/** An order as the API answers it: the store's document, or (without a store) what execution remembers. */
export const orderViewSchema = orderDocSchema.partial({ correlationId: true, createdAt: true, version: true });
export type OrderView = z.infer<typeof orderViewSchema>;

/** A URL query: every value a string (GraphQL arguments are turned into the same before validation). */
export type QueryStrings = Readonly<Record<string, string>>;

export const correlationIdSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\w.:-]+$/);

export interface ReadsDeps {
  readonly bus: Bus;
  readonly store: Store | undefined;
  readonly envelope: EnvelopeDeps;
  readonly requestTimeoutMs: number;
}

export interface Reads {
  portfolio(requestId: string): Promise<unknown>;
  positions(requestId: string): Promise<unknown>;
  /** Each strategy instance's (and person's) own book. */
  strategies(requestId: string): Promise<unknown>;
  signals(requestId: string, symbol?: string): Promise<unknown>;
  risk(requestId: string): Promise<unknown>;
  orders(requestId: string, query: QueryStrings): Promise<OrderView[]>;
  fills(requestId: string, query: QueryStrings): Promise<unknown>;
  /** `viewer`: a person who sees the account's events and their own conversations only (undefined: all). */
  events(requestId: string, query: QueryStrings, viewer?: string): Promise<unknown>;
  /** The chain of `correlationId` in causal order; 404 when nothing of it is recorded. */
  trace(
    requestId: string,
    correlationId: string,
    viewer?: string,
  ): Promise<{ correlationId: string; traceId: string; messages: unknown[] }>;
}

const OPEN = new Set(['new', 'submitted', 'partially_filled']);

export function createReads(deps: ReadsDeps): Reads {
  const ask = async (requestId: string, what: QueryName, params: Record<string, unknown> = {}) => {
    const req = rootEnvelope(
      deps.envelope,
      'query.request',
      { params },
      { v: versionOf('query.request'), correlationId: requestId },
    );
    const reply = await deps.bus.request(subjects.query(what), req, { timeoutMs: deps.requestTimeoutMs });
    return (reply.payload as { data: unknown }).data;
  };
  return {
    // money to the cent (money.ts); the books keep full precision
    portfolio: async (id) => roundMoney(await ask(id, 'portfolio')),
    positions: async (id) => roundMoney(await ask(id, 'positions')),
    strategies: async (id) => roundMoney(await ask(id, 'strategies')),
    signals: (id, symbol) => ask(id, 'signals', symbol === undefined ? {} : { symbol }),
    risk: (id) => ask(id, 'risk'),
    async orders(id, query) {
      const q = parse(ordersQuerySchema, query, 'query');
      if (deps.store) return deps.store.orders.list(q);
      // without a store: the execution agent's recent and working orders, filtered and shaped here
      const records = (await ask(id, 'orders', {})) as {
        order: OrderIntent;
        brokerOrderId: string;
        status: OrderView['status'];
        filledQty: number;
        avgPrice: number;
        updatedAt: number;
      }[];
      return records
        .filter(
          (r) =>
            (q.status === undefined ? true : q.status === 'open' ? OPEN.has(r.status) : r.status === q.status) &&
            (q.symbol === undefined || r.order.symbol === q.symbol) &&
            (q.from === undefined || r.updatedAt >= q.from) &&
            (q.to === undefined || r.updatedAt <= q.to),
        )
        .sort((a, b) => b.updatedAt - a.updatedAt)
        .slice(0, q.limit)
        .map((r) => ({
          clientOrderId: r.order.clientOrderId,
          symbol: r.order.symbol,
          side: r.order.side,
          qty: r.order.qty,
          type: r.order.type,
          status: r.status,
          filledQty: r.filledQty,
          avgPrice: r.avgPrice,
          brokerOrderId: r.brokerOrderId,
          updatedAt: r.updatedAt,
        }));
    },
    fills: async (id, query) => roundMoney(await ask(id, 'fills', parse(fillsQuerySchema, query, 'query'))),
    events: async (id, query, viewer) =>
      ask(id, 'events', { ...parse(eventsQuerySchema, query, 'query'), ...(viewer ? { visibleTo: viewer } : {}) }),
    async trace(id, raw, viewer) {
      const correlationId = parse(correlationIdSchema, raw, 'correlationId');
      const trace = (await ask(id, 'trace', { correlationId, ...(viewer ? { visibleTo: viewer } : {}) })) as {
        correlationId: string;
        messages?: unknown[];
      };
      // an id nothing was recorded under is not a chain: a person mistyped it, or the log lost it
      if ((trace.messages?.length ?? 0) === 0)
        throw new ApiError(404, 'not_found', `no message of chain ${correlationId} is recorded`);
      // the trace id a tracing UI knows the chain by (src/core/ports/tracing.ts)
      return { correlationId, traceId: traceIdOf(correlationId), messages: trace.messages! };
    },
  };
}
