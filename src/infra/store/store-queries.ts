import { z } from 'zod';
import {
  type Bus,
  type Subscription,
  deriveEnvelope,
  type Envelope,
  type EnvelopeDeps,
  subjects,
} from '../../core/index.js';
import type { RecordedEvent, Store } from './ports.js';

/** A query's parameters were not understood: the requester gets this message, not a timeout. */
export class QueryParamsError extends Error {
  readonly code = 'bad_query';
  readonly retryable = false;
  constructor(what: string, problem: string) {
    super(`query.${what}: ${problem}`);
    this.name = 'QueryParamsError';
  }
}

const time = z.coerce.number().finite();
const limit = z.coerce.number().int().min(1).max(10_000);
/** A person's caller id: the answer leaves out what is not theirs to read (EventQuery.visibleTo). */
const viewer = z.string().min(1).max(200);
const traceParams = z.object({ correlationId: z.string().min(1).max(200), visibleTo: viewer.optional() });
const eventParams = z.object({
  type: z.string().max(100).optional(),
  symbol: z.string().max(64).optional(),
  correlationId: z.string().max(200).optional(),
  from: time.optional(),
  to: time.optional(),
  limit: limit.optional(),
  offset: z.coerce.number().int().min(0).optional(),
  newest: z.boolean().optional(),
  visibleTo: viewer.optional(),
});
const orderLogParams = z.object({ symbol: z.string().max(64).optional(), limit: limit.optional() });
const fillParams = z.object({
  symbol: z.string().max(64).optional(),
  clientOrderId: z.string().max(200).optional(),
  from: time.optional(),
  to: time.optional(),
  limit: limit.optional(),
});

function parse<S extends z.ZodType>(what: string, schema: S, req: Envelope): z.infer<S> {
  const parsed = schema.safeParse((req.payload as { params?: unknown }).params ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new QueryParamsError(what, `${issue.path.join('.') || 'params'}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * Puts a chain in causal order: every message after the one that caused it, siblings in event
 * time (then append) order. Messages whose cause is not in the chain start it.
 */
export function causalOrder(events: readonly RecordedEvent[]): RecordedEvent[] {
  const ids = new Set(events.map((e) => e.env.id));
  const children = new Map<string, RecordedEvent[]>();
  const roots: RecordedEvent[] = [];
  for (const e of events) {
    const parent = e.env.causationId;
    if (parent === undefined || !ids.has(parent)) roots.push(e);
    else {
      const list = children.get(parent);
      if (list) list.push(e);
      else children.set(parent, [e]);
    }
  }
  const out: RecordedEvent[] = [];
  const stack = [...roots].reverse();
  while (stack.length > 0) {
    const e = stack.pop()!;
    out.push(e);
    const next = children.get(e.env.id);
    if (next) for (let i = next.length - 1; i >= 0; i--) stack.push(next[i]!);
  }
  return out;
}

/**
 * Serves the store's read side on the bus, so every interface asks the same way (`query.<what>`
 * request/reply, one answering instance per queue group):
 * - `query.trace` `{ correlationId, visibleTo? }`: the whole chain, in causal order (why did we sell ORCL?);
 * - `query.events` `{ type?, symbol?, correlationId?, from?, to?, limit?, visibleTo? }`: the audit log;
 * with `visibleTo` (a person's caller id) other people's messages (their conversations) are left out.
 * - `query.fills` `{ symbol?, clientOrderId?, from?, to?, limit? }`: fills, oldest first;
 * - `query.order-log` `{ symbol?, limit? }`: every order's latest state, newest first, refused
 *   ones included with risk's reason (execution's `query.orders` knows only what risk approved).
 * Bad parameters are answered with `request.failed` naming the parameter.
 */
export function serveStoreQueries(bus: Bus, store: Store, deps: EnvelopeDeps): Subscription[] {
  const answer = (req: Envelope, data: unknown) => deriveEnvelope(deps, req, 'query.result', { data });
  const view = (e: RecordedEvent) => ({ subject: e.subject, ...e.env });
  return [
    bus.serve(
      subjects.query('trace'),
      async (req) => {
        const { correlationId, visibleTo } = parse('trace', traceParams, req);
        const chain = causalOrder(
          await store.events.query({ correlationId, limit: 10_000, ...(visibleTo !== undefined ? { visibleTo } : {}) }),
        );
        return answer(req, { correlationId, messages: chain.map(view) });
      },
      { name: 'store.query.trace', queue: 'query.trace' },
    ),
    bus.serve(
      subjects.query('events'),
      async (req) => {
        const q = parse('events', eventParams, req);
        return answer(req, (await store.events.query(q)).map(view));
      },
      { name: 'store.query.events', queue: 'query.events' },
    ),
    bus.serve(
      subjects.query('order-log'),
      async (req) => {
        const q = parse('order-log', orderLogParams, req);
        return answer(
          req,
          await store.orders.list({ limit: q.limit ?? 20, ...(q.symbol ? { symbol: q.symbol } : {}) }),
        );
      },
      { name: 'store.query.order-log', queue: 'query.order-log' },
    ),
    bus.serve(
      subjects.query('fills'),
      async (req) => {
        const q = parse('fills', fillParams, req);
        return answer(req, await store.fills.list(q));
      },
      { name: 'store.query.fills', queue: 'query.fills' },
    ),
  ];
}
