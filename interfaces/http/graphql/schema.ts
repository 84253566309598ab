import {
  GraphQLBoolean,
  type GraphQLEnumType,
  GraphQLFloat,
  GraphQLID,
  GraphQLInputObjectType,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  type GraphQLFieldConfig,
  type GraphQLFieldConfigMap,
  type GraphQLNullableType,
} from 'graphql';
import { z } from 'zod';
import {
  type Bus,
  type Envelope,
  type Logger,
  orderFilledSchema,
  originSchema,
  portfolioSnapshotSchema,
  positionSchema,
  signalSchema,
  tradingStates,
} from '../../../src/core/index.js';
import { fillDocSchema, orderStatusValues } from '../../../src/infra/store/index.js';
import type { AgentTracker, Caller, Reply } from '../../commands/index.js';
import { ApiError, parse, replyError, requireRank } from '../errors.js';
import { LiveEvents, type StreamFilter, type StreamSlots } from '../live-stream.js';
import { roundMoney } from '../money.js';
import { orderViewSchema, type Reads } from '../reads.js';
import {
  commandBodySchema,
  commandNameSchema,
  eventsQuerySchema,
  fillsQuerySchema,
  ordersQuerySchema,
  previewIdSchema,
  streamQuerySchema,
} from '../schemas.js';
import { asRefusal } from './errors.js';
import { JSONScalar, queryStrings, ZodGraphqlTypes } from './zod-types.js';

/** Who is asking: the token the API's middleware accepted, and the request id (each request's own chain). */
export interface GraphqlContext {
  readonly token: { readonly name: string; readonly role: Caller['role'] };
  readonly requestId: string;
}

export interface GraphqlSchemaDeps {
  readonly reads: Reads;
  readonly log: Logger;
  readonly agents: Pick<AgentTracker, 'report'>;
  readonly bus: Bus;
  readonly slots: StreamSlots;
  /** The command router (preview, confirm); mutations answer 503 without it, as the REST commands do. */
  readonly commands?: {
    invoke(name: string, args: unknown, caller: Caller): Promise<Reply>;
    confirm(id: string, caller: Caller): Promise<Reply>;
    cancel(id: string, caller: Caller): Reply;
  };
}

type Field = GraphQLFieldConfig<unknown, GraphqlContext, Record<string, unknown>>;
const nonNull = <T extends GraphQLNullableType>(t: T) => new GraphQLNonNull(t);
const listOf = <T extends GraphQLNullableType>(t: T) => nonNull(new GraphQLList(nonNull(t)));

/**
 * A root type's fields, each resolver's failure turned into its refusal with the request's id in
 * the log (only root fields ask agents or the router: below them everything is already in hand).
 */
function rootFields(f: Record<string, Field>, log: Logger): GraphQLFieldConfigMap<unknown, GraphqlContext> {
  type Fn = NonNullable<Field['resolve']>;
  const guard =
    (fn: Fn): Fn =>
    async (root, args, ctx, info) => {
      try {
        return (await fn(root, args, ctx, info)) as unknown;
      } catch (err) {
        throw asRefusal(err, log, ctx.requestId);
      }
    };
  return Object.fromEntries(
    Object.entries(f).map(([name, field]) => [
      name,
      {
        ...field,
        ...(field.subscribe
          ? { subscribe: guard(field.subscribe) }
          : field.resolve
            ? { resolve: guard(field.resolve) }
            : {}),
      },
    ]),
  ) as GraphQLFieldConfigMap<unknown, GraphqlContext>;
}

/** The caller the command router knows: the same id as the REST API's, so a preview made there confirms here. */
const callerOf = (ctx: GraphqlContext): Caller => ({ id: `api:${ctx.token.name}`, role: ctx.token.role });
/** Whose conversations a request may read: its own person's, or everyone's for an admin (undefined). */
const viewerOf = (ctx: GraphqlContext): string | undefined =>
  ctx.token.role === 'admin' ? undefined : `api:${ctx.token.name}`;

/**
 * The schema. Derived from zod (zod-types.ts): Position, Portfolio (and its pnl), StrategyBook,
 * Signal, Order, Fill, FillEvent, Origin and the enums, and the arguments of orders, fills and
 * events (the REST query schemas). Hand-written, because no zod schema of them exists (they are
 * TypeScript interfaces or an agent's answer object): Event and Trace (the envelope), Risk (the
 * risk agent's query answer), Agent (the tracker's report), Whoami, and the command layer's
 * CommandReply, Preview, RiskCheck and OrderInput.
 */
export function buildSchema(deps: GraphqlSchemaDeps): GraphQLSchema {
  const types = new ZodGraphqlTypes({
    objects: new Map<z.ZodType, string>([
      [positionSchema, 'Position'],
      [originSchema, 'Origin'],
    ]),
    enums: {
      'buy,sell': 'Side',
      'strategy,person,system': 'OriginKind',
      'partially_filled,filled': 'FillStatus',
      [orderStatusValues.join(',')]: 'OrderStatus',
      [['open', ...orderStatusValues].join(',')]: 'OrderStatusFilter',
      [tradingStates.join(',')]: 'TradingState',
    },
  });

  const Portfolio = types.object('Portfolio', portfolioSnapshotSchema, {
    description: 'Cash, equity, PnL (money to the cent), drawdown and positions: GET /api/v1/portfolio.',
  });
  const Position = types.object('Position', positionSchema);
  const StrategyBook = types.object('StrategyBook', portfolioSnapshotSchema.extend({ origin: originSchema }), {
    description: "One strategy instance's (or person's) own book; the books add up to the account.",
  });
  const Signal = types.object('Signal', signalSchema.extend({ time: z.number() }), {
    description: "A strategy's latest decision on a symbol, with its reasons and indicator values.",
  });
  const Order = types.object('Order', orderViewSchema, {
    description: 'An order, latest state (correlationId, createdAt and version need a store).',
  });
  const Fill = types.object('Fill', fillDocSchema, { description: 'A fill as the store keeps it.' });
  const FillEvent = types.object(
    'FillEvent',
    orderFilledSchema.extend({ id: z.string(), time: z.number(), correlationId: z.string() }),
    { description: 'An `order.filled` message as it happens: the fill, with its envelope id, time and chain.' },
  );
  const TradingState = types.output(z.enum(tradingStates), 'TradingState');

  const Event = new GraphQLObjectType<Envelope & { subject?: string }, GraphqlContext>({
    name: 'Event',
    description: 'One bus message (an envelope): what happened, when, in which chain, caused by what.',
    fields: {
      id: { type: nonNull(GraphQLID) },
      type: { type: nonNull(GraphQLString) },
      v: { type: nonNull(GraphQLInt) },
      time: { type: nonNull(GraphQLFloat), description: 'Event time, epoch ms.' },
      source: { type: nonNull(GraphQLString) },
      correlationId: { type: nonNull(GraphQLID) },
      causationId: { type: GraphQLID },
      subject: { type: GraphQLString, description: 'The subject it was recorded on (the event log only).' },
      symbol: {
        type: GraphQLString,
        description: "The payload's own symbol, the key streams and the event log filter on (null when it has none).",
        resolve: (e) => {
          const s = (e.payload as { symbol?: unknown } | null)?.symbol;
          return typeof s === 'string' ? s : null;
        },
      },
      payload: { type: nonNull(JSONScalar) },
    },
  });
  const Trace = new GraphQLObjectType({
    name: 'Trace',
    fields: {
      correlationId: { type: nonNull(GraphQLID) },
      traceId: {
        type: nonNull(GraphQLString),
        description: "The chain's OpenTelemetry trace id (derived from the correlation id).",
      },
      messages: { type: listOf(Event) },
    },
  });
  const Risk = new GraphQLObjectType({
    name: 'Risk',
    description: "The risk agent's state: GET /api/v1/risk.",
    fields: {
      state: { type: TradingState },
      limits: { type: nonNull(JSONScalar) },
      positions: { type: nonNull(JSONScalar), description: 'Units held, by symbol.' },
      cash: { type: GraphQLFloat },
      held: { type: JSONScalar },
      openOrders: { type: nonNull(GraphQLInt) },
      waiting: { type: GraphQLInt, description: 'Intents waiting for an opposite market order to end.' },
      counts: { type: nonNull(JSONScalar), description: 'approved, rejected, duplicates, byCode.' },
    },
  });
  const Agent = new GraphQLObjectType({
    name: 'Agent',
    fields: {
      name: { type: nonNull(GraphQLString) },
      state: { type: nonNull(GraphQLString) },
      ok: { type: nonNull(GraphQLBoolean) },
      machineState: { type: JSONScalar },
      since: { type: GraphQLFloat },
      handled: { type: nonNull(GraphQLFloat) },
      restarts: { type: nonNull(GraphQLInt) },
      lastError: { type: GraphQLString },
      degraded: { type: GraphQLString },
      detail: { type: JSONScalar },
      heartbeatAgeMs: { type: GraphQLFloat },
    },
  });
  const Whoami = new GraphQLObjectType({
    name: 'Whoami',
    fields: { role: { type: nonNull(GraphQLString) }, name: { type: nonNull(GraphQLString) } },
  });
  const RiskCheck = new GraphQLObjectType({
    name: 'RiskCheck',
    fields: {
      wouldPass: { type: nonNull(GraphQLBoolean) },
      code: { type: GraphQLString },
      reason: { type: GraphQLString },
    },
  });
  const Preview = new GraphQLObjectType({
    name: 'Preview',
    description: 'What a dangerous command would do; only `confirm(previewId)` by the same token sends it.',
    fields: {
      id: { type: nonNull(GraphQLID) },
      command: { type: nonNull(GraphQLString) },
      summary: { type: nonNull(GraphQLString) },
      check: { type: RiskCheck, description: "Risk's pre-check of an order." },
      expiresAt: { type: nonNull(GraphQLFloat), description: 'Epoch ms; confirm before then.' },
    },
  });
  const CommandReply = new GraphQLObjectType({
    name: 'CommandReply',
    description: "The command router's answer (a refusal is an error with its code instead).",
    fields: {
      ok: { type: nonNull(GraphQLBoolean) },
      text: { type: nonNull(GraphQLString) },
      data: { type: JSONScalar },
      preview: { type: Preview },
    },
  });
  const OrderInput = new GraphQLInputObjectType({
    name: 'OrderInput',
    description: 'A buy or sell as the router takes it (its own schema validates it: a 400 names the field).',
    fields: {
      side: { type: types.output(z.enum(['buy', 'sell']), 'Side') as GraphQLNonNull<GraphQLEnumType> },
      symbol: { type: nonNull(GraphQLString) },
      qty: { type: nonNull(GraphQLFloat) },
      limitPrice: { type: GraphQLFloat, description: 'A limit order at this price; at market without it.' },
    },
  });

  const router = () => {
    if (!deps.commands) throw new ApiError(503, 'no_commands', 'the command router is not running in this process');
    return deps.commands;
  };
  /** A mutation: an operator's, through the router; a reply that is not ok is the refusal it carries. */
  const mutation = (
    description: string,
    args: Field['args'],
    run: (args: Record<string, unknown>, caller: Caller) => Promise<Reply> | Reply,
  ): Field => ({
    type: nonNull(CommandReply),
    description,
    args,
    resolve: async (_root, a, ctx) => {
      requireRank(ctx.token.role, 'operator');
      const reply = await run(a, callerOf(ctx));
      if (!reply.ok) throw replyError(reply);
      return reply;
    },
  });

  /** A subscription over the live stream (live-stream.ts): one stream slot of the token while it is open. */
  const live = (
    type: Field['type'],
    description: string,
    args: Field['args'],
    filter: (a: Record<string, unknown>) => StreamFilter,
    view: (env: Envelope) => unknown,
  ): Field => ({
    type,
    description,
    args,
    subscribe: (_root, a, ctx) => {
      const viewer = viewerOf(ctx);
      const f = { ...filter(a), ...(viewer !== undefined ? { visibleTo: viewer } : {}) };
      const release = deps.slots.take(ctx.token.name);
      try {
        return new LiveEvents(deps.bus, f, { name: 'api-graphql', onClose: release });
      } catch (err) {
        release();
        throw err;
      }
    },
    resolve: (env) => view(env as Envelope),
  });

  const query = new GraphQLObjectType<unknown, GraphqlContext>({
    name: 'Query',
    fields: rootFields(
      {
        portfolio: { type: nonNull(Portfolio), resolve: (_r, _a, ctx) => deps.reads.portfolio(ctx.requestId) },
        positions: { type: listOf(Position), resolve: (_r, _a, ctx) => deps.reads.positions(ctx.requestId) },
        strategies: { type: listOf(StrategyBook), resolve: (_r, _a, ctx) => deps.reads.strategies(ctx.requestId) },
        signals: {
          type: listOf(Signal),
          args: { symbol: { type: GraphQLString } },
          resolve: (_r, a, ctx) =>
            deps.reads.signals(ctx.requestId, typeof a.symbol === 'string' ? a.symbol : undefined),
        },
        risk: { type: nonNull(Risk), resolve: (_r, _a, ctx) => deps.reads.risk(ctx.requestId) },
        orders: {
          type: listOf(Order),
          description: 'Orders, newest first: GET /api/v1/orders.',
          args: types.args(ordersQuerySchema, 'Orders'),
          resolve: (_r, a, ctx) => deps.reads.orders(ctx.requestId, queryStrings(a)),
        },
        fills: {
          type: listOf(Fill),
          description: 'Fills, oldest first (needs a store): GET /api/v1/fills.',
          args: types.args(fillsQuerySchema, 'Fills'),
          resolve: (_r, a, ctx) => deps.reads.fills(ctx.requestId, queryStrings(a)),
        },
        events: {
          type: listOf(Event),
          description: 'The event log by type, symbol and time (needs a store): GET /api/v1/events.',
          args: types.args(eventsQuerySchema, 'Events'),
          resolve: (_r, a, ctx) => deps.reads.events(ctx.requestId, queryStrings(a), viewerOf(ctx)),
        },
        trace: {
          type: nonNull(Trace),
          description: 'A whole chain in causal order (needs a store); not_found (404) when nothing of it is recorded.',
          args: { correlationId: { type: nonNull(GraphQLID) } },
          resolve: (_r, a, ctx) => deps.reads.trace(ctx.requestId, String(a.correlationId), viewerOf(ctx)),
        },
        agents: {
          type: listOf(Agent),
          resolve: () => Object.entries(deps.agents.report()).map(([name, report]) => ({ name, ...report })),
        },
        whoami: {
          type: nonNull(Whoami),
          description: "The calling token's role and name (what a client may offer).",
          resolve: (_r, _a, ctx) => ({ role: ctx.token.role, name: ctx.token.name }),
        },
      },
      deps.log,
    ),
  });

  const mutations = new GraphQLObjectType<unknown, GraphqlContext>({
    name: 'Mutation',
    description: 'Everything goes through the command router, as POST /api/v1/commands does (operator and up).',
    fields: rootFields(
      {
        previewOrder: mutation(
          'Previews a buy or sell (risk pre-checks it); nothing is sent until confirm.',
          { order: { type: nonNull(OrderInput) } },
          (a, caller) => {
            const { side, ...args } = a.order as { side: string } & Record<string, unknown>;
            return router().invoke(side, Object.fromEntries(Object.entries(args).filter(([, v]) => v != null)), caller);
          },
        ),
        command: mutation(
          'One command of the router by name with its arguments; a dangerous one (halt, resume, buy, close, limits) answers with a preview.',
          { name: { type: nonNull(GraphQLString) }, args: { type: JSONScalar } },
          (a, caller) =>
            router().invoke(
              parse(commandNameSchema, a.name, 'name'),
              parse(commandBodySchema.shape.args, a.args ?? {}, 'args'),
              caller,
            ),
        ),
        confirm: mutation(
          'Executes a preview made for the same token, once, within its time limit.',
          { previewId: { type: nonNull(GraphQLID) } },
          (a, caller) => router().confirm(parse(previewIdSchema, a.previewId, 'previewId'), caller),
        ),
        cancel: mutation(
          'Drops a preview; nothing is sent.',
          { previewId: { type: nonNull(GraphQLID) } },
          (a, caller) => router().cancel(parse(previewIdSchema, a.previewId, 'previewId'), caller),
        ),
      },
      deps.log,
    ),
  });

  const streamArgs = (a: Record<string, unknown>): StreamFilter => {
    const q = parse(
      streamQuerySchema,
      queryStrings({ type: Array.isArray(a.types) ? a.types.join(',') : undefined, symbol: a.symbol }),
      'arguments',
    );
    return {
      ...(q.type !== undefined ? { types: q.type.split(',').map((t) => t.trim()) } : {}),
      ...(q.symbol !== undefined ? { symbol: q.symbol } : {}),
    };
  };
  const subscription = new GraphQLObjectType<unknown, GraphqlContext>({
    name: 'Subscription',
    description: 'The live bus, as GET /api/v1/stream (server-sent events; at most 4 open streams per token).',
    fields: rootFields(
      {
        events: live(
          nonNull(Event),
          'Live messages by type (`order.*` names every order type) and symbol.',
          { types: { type: new GraphQLList(nonNull(GraphQLString)) }, symbol: { type: GraphQLString } },
          streamArgs,
          (env) => env,
        ),
        fills: live(
          nonNull(FillEvent),
          'Each fill as it happens.',
          { symbol: { type: GraphQLString } },
          (a) => streamArgs({ types: ['order.filled'], symbol: a.symbol }),
          (env) =>
            roundMoney({ ...(env.payload as object), id: env.id, time: env.time, correlationId: env.correlationId }),
        ),
        portfolio: live(
          nonNull(Portfolio),
          'The account after each change.',
          {},
          () => ({ types: ['portfolio.updated'] }),
          (env) => roundMoney(env.payload),
        ),
      },
      deps.log,
    ),
  });

  return new GraphQLSchema({ query, mutation: mutations, subscription });
}
