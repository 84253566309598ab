import { z } from 'zod';
import { SchemaRegistry } from '../messaging/schema-registry.js';
import { registerBusSchemas } from '../messaging/dead-letter.js';
import { AGENT_NAMES, patterns, subjects, type Subject, type SubjectPattern } from '../messaging/subjects.js';
import { PEOPLE_ROLES, type BusRole } from '../messaging/bus-roles.js';

/**
 * The message catalog: every envelope type Sextant publishes, its payload schema and current
 * version. Types are past-tense events (`order.approved`) or imperative commands
 * (`risk.command`); machine event types equal these envelope types.
 *
 * Prices and quantities are JavaScript numbers (IEEE doubles): exact enough for fills to 1e-6
 * and cash to the cent over long backtests, and fast. Display code rounds; nothing else does.
 */

const symbol = z.string().min(1).max(64);
const finite = z.number().finite();
const positive = finite.positive();
const nonNegative = finite.nonnegative();
/** Epoch ms; negative before 1970 (historical data). */
const time = z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);

export const Side = { buy: 'buy', sell: 'sell' } as const;
export type Side = (typeof Side)[keyof typeof Side];
const side = z.enum(['buy', 'sell']);

/** A price bar; `time` is the bar's timestamp (its open for daily and intraday bars). */
export const barSchema = z
  .object({
    symbol,
    time,
    open: positive,
    high: positive,
    low: positive,
    close: positive,
    volume: nonNegative,
    /** Bar length in ms when known (86_400_000 for daily). */
    intervalMs: z.number().int().positive().optional(),
    /**
     * A past bar a live feed publishes at start so indicators warm up: strategies read it but
     * decide no order on it. Absent on every other bar.
     */
    history: z.literal(true).optional(),
  })
  .refine((b) => b.low <= Math.min(b.open, b.close) && b.high >= Math.max(b.open, b.close), {
    // refused wherever a bar is read (feeds, every subscriber): no price of such a bar is used
    message: 'inconsistent OHLC: the low must be at or below the open and close, the high at or above them',
  });
export type Bar = z.infer<typeof barSchema>;

export const tickSchema = z.object({ symbol, time, price: positive, size: nonNegative });
export type Tick = z.infer<typeof tickSchema>;

/** The data feed has delivered everything it has (files and backtests). */
export const feedCompletedSchema = z.object({
  feed: z.string(),
  bars: z.number().int().nonnegative(),
  ticks: z.number().int().nonnegative(),
  skipped: z.number().int().nonnegative(),
});
export type FeedCompleted = z.infer<typeof feedCompletedSchema>;

/** A strategy's decision, with the values that produced it (explainable). */
export const signalSchema = z.object({
  symbol,
  strategy: z.string(),
  side,
  /** Target position after the signal is acted on. */
  targetQty: finite,
  /** Human-readable reasons, e.g. "SMA10 crossed above SMA30". */
  reasons: z.array(z.string()),
  /** Indicator values at decision time. */
  indicators: z.record(z.string(), finite),
  /** Price the decision was made at (the bar close). */
  price: positive,
});
export type Signal = z.infer<typeof signalSchema>;

/**
 * One bar's values of the lines a strategy instance draws (its indicators, declared by the
 * strategy's `plot`), on `strategy.plotted.<sym>`, time = the bar's. Published only when
 * something reads them (the dashboard's price chart, a backtest's HTML report); a line still
 * warming up is null. Not a decision: each is the root of a chain of its own (a trace of the
 * bar shows decisions only) and replays do not compare it.
 */
export const strategyPlottedSchema = z.object({
  symbol,
  /** The strategy instance's id. */
  strategy: z.string().min(1),
  lines: z
    .array(
      z.object({
        key: z.string().min(1).max(64),
        label: z.string().min(1).max(80),
        /** price: over the price chart; own: in a pane of its own (an oscillator). */
        pane: z.enum(['price', 'own']),
        value: finite.nullable(),
      }),
    )
    .min(1)
    .max(16),
});
export type StrategyPlotted = z.infer<typeof strategyPlottedSchema>;

export const orderTypeSchema = z.enum(['market', 'limit', 'stop']);
export type OrderType = z.infer<typeof orderTypeSchema>;
export const timeInForceSchema = z.enum(['GTC', 'DAY', 'IOC']);
export type TimeInForce = z.infer<typeof timeInForceSchema>;

/** Who asked for an order: a strategy, a person (chat/API), or the risk agent itself. */
export const originSchema = z.object({ kind: z.enum(['strategy', 'person', 'system']), id: z.string().min(1) });
export type Origin = z.infer<typeof originSchema>;

/** A request to trade. Only the risk agent consumes it. */
export const orderIntentSchema = z.object({
  /** Idempotency key for the whole order life; the same id twice is one order. */
  clientOrderId: z.string().min(1).max(128),
  symbol,
  side,
  qty: positive,
  type: orderTypeSchema,
  limitPrice: positive.optional(),
  stopPrice: positive.optional(),
  tif: timeInForceSchema,
  origin: originSchema,
  /** The price the requester saw when deciding (strategy: the bar close). */
  refPrice: positive.optional(),
  /** Event time of the decision; a market order fills on the first bar after it. */
  decidedAt: time,
  /**
   * Protective orders attached to an entry (a bracket). When the entry has filled, execution
   * places a stop-loss and/or a take-profit for the filled quantity, from the following bar; the
   * two are one-cancels-other. Distances are fractions of the entry's fill price (0.05: 5 %
   * below a long entry), or absolute prices; `trailing` makes the stop follow the best price since.
   */
  bracket: z
    .object({
      stopLoss: positive.lt(1).optional(),
      stopLossPrice: positive.optional(),
      takeProfit: positive.optional(),
      takeProfitPrice: positive.optional(),
      trailing: z.boolean().optional(),
    })
    .refine(
      (b) =>
        b.stopLoss !== undefined ||
        b.stopLossPrice !== undefined ||
        b.takeProfit !== undefined ||
        b.takeProfitPrice !== undefined,
      { message: 'a bracket needs a stop-loss or a take-profit' },
    )
    .optional(),
  /** A trailing stop: the stop price follows the best price since the order was placed at this fraction. */
  trail: positive.lt(1).optional(),
  /**
   * Working orders of the same requester and symbol this order replaces: execution cancels them
   * before it takes this order; when one of them has already filled (a stop hit first), this
   * order is cancelled instead, so an exit never sells twice.
   */
  cancels: z.array(z.string().min(1).max(160)).max(16).optional(),
  /** For the orders of a bracket: the entry they protect and which leg they are. */
  parent: z.string().min(1).max(128).optional(),
  leg: z.enum(['stop-loss', 'take-profit']).optional(),
});
export type OrderIntent = z.infer<typeof orderIntentSchema>;

export const orderApprovedSchema = z.object({ order: orderIntentSchema, checks: z.array(z.string()) });
export type OrderApproved = z.infer<typeof orderApprovedSchema>;

/** A risk denial: stable code plus a sentence with the numbers. */
export const orderRejectedSchema = z.object({
  clientOrderId: z.string(),
  symbol,
  side,
  qty: finite,
  origin: originSchema,
  code: z.string(),
  reason: z.string(),
});
export type OrderRejected = z.infer<typeof orderRejectedSchema>;

export const orderSubmittedSchema = z.object({
  order: orderIntentSchema,
  brokerOrderId: z.string(),
  broker: z.string(),
});
export type OrderSubmitted = z.infer<typeof orderSubmittedSchema>;

export const orderFilledSchema = z.object({
  clientOrderId: z.string(),
  brokerOrderId: z.string(),
  symbol,
  side,
  /** Quantity of this fill. */
  qty: positive,
  price: positive,
  fee: nonNegative,
  /** Filled so far, including this fill. */
  cumQty: positive,
  leavesQty: nonNegative,
  status: z.enum(['partially_filled', 'filled']),
  origin: originSchema,
});
export type OrderFilled = z.infer<typeof orderFilledSchema>;

export const orderCancelledSchema = z.object({
  clientOrderId: z.string(),
  symbol,
  side,
  filledQty: nonNegative,
  reason: z.string(),
  status: z.enum(['cancelled', 'expired']),
  origin: originSchema,
});
export type OrderCancelled = z.infer<typeof orderCancelledSchema>;

/**
 * A request to cancel one working order (a resting limit or stop, a bracket leg) by its client
 * order id: a strategy's or a person's. Like every order action it goes to risk first, which passes
 * it on unconditionally (`order.cancel-approved`: a cancel only ever takes risk away, so it passes
 * in every trading state, HALTED included). Execution then ends the order (`order.cancelled`) or
 * says why it cannot (`order.cancel-rejected`). `cancelId` is the request's idempotency key: the
 * same id twice is one request.
 */
export const orderCancelSchema = z.object({
  cancelId: z.string().min(1).max(160),
  clientOrderId: z.string().min(1).max(160),
  origin: originSchema,
  reason: z.string().min(1).max(500),
  /** Event time of the decision to cancel (a strategy: the bar's time). */
  requestedAt: time,
});
export type OrderCancel = z.infer<typeof orderCancelSchema>;

/** A cancel risk has passed on, with the trading state it passed in (for the audit trail). */
export const orderCancelApprovedSchema = z.object({
  cancel: orderCancelSchema,
  state: z.enum(['ACTIVE', 'REDUCING', 'HALTED']),
});
export type OrderCancelApproved = z.infer<typeof orderCancelApprovedSchema>;

/**
 * A cancel execution could not carry out, with a stable code and a sentence: `unknown_order` (no
 * order of that id), `already_final` (it filled, was cancelled, expired or failed first),
 * `not_owner` (a strategy asked to cancel an order that is not its own), `not_working_yet` (the
 * broker has not acknowledged it yet: ask again), `unsupported` (the broker cannot cancel),
 * `broker_error` (the venue refused or could not be reached).
 */
export const orderCancelRejectedSchema = z.object({
  cancelId: z.string(),
  clientOrderId: z.string(),
  origin: originSchema,
  code: z.string(),
  reason: z.string(),
});
export type OrderCancelRejected = z.infer<typeof orderCancelRejectedSchema>;

export const orderFailedSchema = z.object({
  clientOrderId: z.string(),
  symbol,
  side,
  code: z.string(),
  reason: z.string(),
  origin: originSchema,
});
export type OrderFailed = z.infer<typeof orderFailedSchema>;

export const positionSchema = z.object({
  symbol,
  qty: finite,
  avgPrice: nonNegative,
  lastPrice: nonNegative,
  marketValue: finite,
  unrealizedPnl: finite,
  realizedPnl: finite,
});
export type Position = z.infer<typeof positionSchema>;

export const portfolioSnapshotSchema = z.object({
  cash: finite,
  equity: finite,
  positions: z.array(positionSchema),
  realizedPnl: finite,
  unrealizedPnl: finite,
  fees: nonNegative,
  /** PnL since the first event of the current UTC day. */
  dayPnl: finite,
  dayStartEquity: finite,
  /**
   * Equity now less equity when the UTC day, week (from Monday) and month began, and at the
   * start (the last equity before the period, or the opening cash when the account began inside it).
   * Absent from messages recorded before it existed.
   */
  pnl: z
    .object({
      day: finite,
      week: finite,
      month: finite,
      all: finite,
      /** The UTC day, week and month before the current ones (absent from older messages). */
      yesterday: finite.optional(),
      lastWeek: finite.optional(),
      lastMonth: finite.optional(),
    })
    .optional(),
  peakEquity: finite,
  /** (peak - equity) / peak, 0..1. */
  drawdown: nonNegative,
  /** The largest drawdown seen so far, 0..1. */
  maxDrawdown: nonNegative,
  /** Event time of the last change; null before any. */
  asOf: time.nullable(),
});
export type PortfolioSnapshot = z.infer<typeof portfolioSnapshotSchema>;

/**
 * The part of the account one requester traded (`query.strategies`): a strategy instance's or a
 * person's own book, opened with no cash, so its `pnl` is what it made. The books add up to the
 * account; two strategies on one symbol net there but keep their own positions here.
 */
export type OriginBook = PortfolioSnapshot & { readonly origin: Origin };

export const lifecycleStates = ['starting', 'running', 'degraded', 'stopping', 'stopped', 'faulted'] as const;
export type LifecycleState = (typeof lifecycleStates)[number];

/** Heartbeat and lifecycle of one agent instance. */
export const agentHealthSchema = z.object({
  agent: z.string(),
  instance: z.string(),
  state: z.enum(lifecycleStates),
  /** The machine's current state value (JSON). */
  machineState: z.unknown(),
  since: time,
  handled: z.number().int().nonnegative(),
  restarts: z.number().int().nonnegative(),
  lastError: z.string().optional(),
  /** Why a running agent reports itself degraded (its feed is down, say). */
  degraded: z.string().optional(),
  /** What the agent reports of itself (the data agent: its live feed, per symbol). */
  detail: z.record(z.string(), z.unknown()).optional(),
});
export type AgentHealth = z.infer<typeof agentHealthSchema>;

export const tradingStates = ['ACTIVE', 'REDUCING', 'HALTED'] as const;
const tradingState = z.enum(tradingStates);

/**
 * A command to the risk agent (`risk.command`, request/reply): the kill switch (`halt`),
 * close-only (`reduce`), `resume`, and run-time limit changes (`set-limits`). `limits` is checked
 * by the risk agent itself, so an invalid change is answered with the reason, not dead-lettered.
 */
export const riskCommandSchema = z.object({
  command: z.enum(['halt', 'reduce', 'resume', 'set-limits']),
  reason: z.string().min(1).max(500),
  /** Who asked (user id, API token name, "system"). */
  by: z.string().min(1).max(200),
  limits: z.record(z.string(), z.unknown()).optional(),
});
export type RiskCommand = z.infer<typeof riskCommandSchema>;

/** The answer to a risk command (also published on `risk.command-result` for the audit trail). */
export const riskCommandResultSchema = z.object({
  command: riskCommandSchema.shape.command,
  accepted: z.boolean(),
  reason: z.string(),
  state: tradingState,
  limits: z.record(z.string(), z.unknown()),
});
export type RiskCommandResult = z.infer<typeof riskCommandResultSchema>;

/**
 * An operator accepting a price jump: the data agent publishes the next bar of the symbol that moves
 * beyond the price band instead of holding it back for confirming bars (agents/data/bar-guard.ts).
 */
export const dataAcceptPriceSchema = z.object({
  symbol,
  reason: z.string().min(1).max(500),
  /** Who asked (API token name, user id). */
  by: z.string().min(1).max(200),
});
export type DataAcceptPrice = z.infer<typeof dataAcceptPriceSchema>;
export const dataAcceptPriceResultSchema = z.object({ symbol, accepted: z.boolean(), reason: z.string() });
export type DataAcceptPriceResult = z.infer<typeof dataAcceptPriceResultSchema>;

/** A trading-state change on `risk.state`, with its cause. */
export const riskStateSchema = z.object({
  state: tradingState,
  previous: tradingState,
  cause: z.object({
    kind: z.enum(['start', 'command', 'breach']),
    code: z.string(),
    reason: z.string(),
    by: z.string().optional(),
  }),
});
export type RiskStateChanged = z.infer<typeof riskStateSchema>;

/** A request on `query.<what>` and its reply. */
export const queryRequestSchema = z.object({ params: z.record(z.string(), z.unknown()).default({}) });
export type QueryRequest = z.infer<typeof queryRequestSchema>;
export const queryResultSchema = z.object({ data: z.unknown() });
export type QueryResult = z.infer<typeof queryResultSchema>;

/**
 * A process started its agents: which run their derived ids belong to and with which settings.
 * A JetStream recording carries these, so a replay of it can make the same ids again.
 */
export const runStartedSchema = z.object({
  runId: z.string().min(1),
  instance: z.string(),
  agents: z.array(z.string()),
  /** The trading settings (strategy, limits, costs, start cash, broker name), JSON. */
  settings: z.unknown(),
  /** True when the process resumed from a checkpoint (its agents did not start fresh). */
  resumed: z.boolean(),
});
export type RunStarted = z.infer<typeof runStartedSchema>;

/**
 * One exchange with the conversational agent (recorded for audit and replay): what was asked,
 * which tools the model called with which arguments, what it answered, and what it cost.
 */
export const chatExchangeSchema = z.object({
  conversationId: z.string().min(1).max(200),
  user: z.string().max(200),
  question: z.string().max(20_000),
  answer: z.string().max(50_000),
  model: z.string().max(200),
  /** `llm`, or `offline` when the offline parser answered (no key, over budget, model down). */
  via: z.enum(['llm', 'offline']),
  toolCalls: z.array(z.object({ name: z.string(), args: z.unknown(), ok: z.boolean() })),
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
  costUsd: z.number().nonnegative(),
});
export type ChatExchange = z.infer<typeof chatExchangeSchema>;

/**
 * A news item from outside (a news file, an RSS/Atom feed, another publisher) on `news.item`: a
 * chain root, its event time the item's publication time. `id` is derived from source, url, time
 * and headline (agents/sentiment/news/news-item.ts), so the same item read again after a restart
 * or in a replay has the same id. Headline and body are DATA: nothing reads them as instructions.
 */
export const newsItemSchema = z.object({
  id: z.string().min(1).max(64),
  headline: z.string().min(1).max(1_000),
  body: z.string().max(20_000).optional(),
  /** Publication time, epoch ms (also the envelope's event time). */
  time,
  /** Who published it (a feed name, a wire, a site). */
  source: z.string().max(200),
  url: z.string().max(2_000).optional(),
  /** Symbols the item names itself (a feed's own tagging); the sentiment agent adds its own. */
  symbols: z.array(symbol).max(50).optional(),
});
export type NewsItem = z.infer<typeof newsItemSchema>;

const unitScore = finite.min(-1).max(1);

/**
 * One news item scored by the sentiment agent (`sentiment.scored`), caused by its `news.item`:
 * the symbols it was tagged with, the score and who made it. A replay feeds these back in place of
 * scoring again, so a recorded LLM score is reused, never asked for twice.
 */
export const sentimentScoredSchema = z.object({
  itemId: z.string().min(1).max(64),
  headline: z.string().max(1_000),
  source: z.string().max(200),
  /** The item's publication time (epoch ms). */
  time,
  symbols: z.array(symbol).min(1).max(50),
  /** In [-1, 1]: > 0 bullish, < 0 bearish. */
  score: unitScore,
  /** In [0, 1]. */
  confidence: finite.min(0).max(1),
  /** One line a person can read; data, never an instruction. */
  rationale: z.string().max(500),
  /** name@version of the scorer that produced it. */
  scorer: z.string().min(1).max(200),
});
export type SentimentScored = z.infer<typeof sentimentScoredSchema>;

/** An item behind a symbol's sentiment (newest first in `sentiment.updated`). */
export const sentimentItemRefSchema = z.object({
  itemId: z.string().min(1).max(64),
  time,
  score: unitScore,
  confidence: finite.min(0).max(1),
  scorer: z.string().max(200),
  headline: z.string().max(200),
});
export type SentimentItemRef = z.infer<typeof sentimentItemRefSchema>;

/**
 * A symbol's sentiment after an item moved it, on `sentiment.updated.<sym>`: the sum of its items'
 * confidence-weighted scores, each halved per `halfLifeMs` of event time since it was published,
 * bounded to [-1, 1], as of `asOf`. Read it at a later time t with `decayedScore` (it halves every
 * half-life without news). `recent` names the items that moved it, newest first (bounded).
 */
export const sentimentUpdatedSchema = z.object({
  symbol,
  score: unitScore,
  asOf: time,
  halfLifeMs: z.number().int().positive(),
  /** Items that have moved it since the agent started. */
  items: z.number().int().nonnegative(),
  recent: z.array(sentimentItemRefSchema).max(50),
});
export type SentimentUpdated = z.infer<typeof sentimentUpdatedSchema>;

/** Control messages on `agent.control.<name>`. */
export const agentControlSchema = z.object({ command: z.enum(['sync', 'snapshot']) });
export const agentSyncedSchema = z.object({
  agent: z.string(),
  instance: z.string(),
  handled: z.number().int(),
  published: z.number().int(),
});

/**
 * Who may publish a message type: the roles whose processes send it. `every role` for what every
 * process sends about itself (`run.started`). Replies go to the asker's inbox and are published by
 * no one (a responder may answer only a request it received).
 */
export type Publishers = readonly BusRole[] | 'every role';

/** One message type: its payload schema's version, the schema, where it is published and by whom. */
export interface CatalogEntry<S extends z.ZodType = z.ZodType> {
  readonly v: number;
  readonly schema: S;
  /**
   * The subject a message of this type is published on, from its payload: the type, plus the
   * key when it has one. Absent for requests and replies, which go to the service asked.
   */
  readonly subject?: (payload: z.infer<S>) => Subject;
  /** Every subject `subject` can give (a keyed type: `market.bar.*`). */
  readonly pattern?: SubjectPattern;
  /**
   * The roles that may publish it; on NATS the server refuses it from any other user
   * (bus/nats-permissions.ts derives each role's permissions from this). Requests: who may ask.
   */
  readonly by: Publishers;
}

const entry = <S extends z.ZodType>(
  v: number,
  schema: S,
  by: Publishers,
  subject?: (payload: z.infer<S>) => Subject,
  pattern?: SubjectPattern,
): CatalogEntry<S> => ({ v, schema, by, ...(subject ? { subject, pattern: pattern ?? subject({} as never) } : {}) });

const REPLY: Publishers = [];
const PEOPLE = PEOPLE_ROLES;

/**
 * Every message type, declared once: version, payload schema, who publishes it, subject. The schema
 * registry (validation on receipt), the TypeScript payload types, the subject an agent's output goes
 * to (`subjectFor`) and the NATS permissions of each role all derive from it.
 */
export const catalog = {
  'market.bar': entry(1, barSchema, ['data'], (p) => subjects.marketBar(p.symbol), patterns.marketBars),
  'market.tick': entry(1, tickSchema, ['data'], (p) => subjects.marketTick(p.symbol), patterns.marketTicks),
  'market.feed-completed': entry(1, feedCompletedSchema, ['data'], () => subjects.feedCompleted()),
  'signal.generated': entry(1, signalSchema, ['strategy'], (p) => subjects.signal(p.symbol), patterns.signals),
  'strategy.plotted': entry(
    1,
    strategyPlottedSchema,
    ['strategy'],
    (p) => subjects.strategyPlotted(p.symbol),
    patterns.strategyPlots,
  ),
  // strategies decide orders; people's orders come through the interfaces; all of them go to risk first
  'order.intent': entry(1, orderIntentSchema, ['strategy', ...PEOPLE], () => subjects.orderIntent()),
  'order.approved': entry(1, orderApprovedSchema, ['risk'], () => subjects.orderApproved()),
  'order.rejected': entry(1, orderRejectedSchema, ['risk'], () => subjects.orderRejected()),
  'order.submitted': entry(1, orderSubmittedSchema, ['execution'], () => subjects.orderSubmitted()),
  'order.filled': entry(1, orderFilledSchema, ['execution'], () => subjects.orderFilled()),
  'order.cancelled': entry(1, orderCancelledSchema, ['execution'], () => subjects.orderCancelled()),
  'order.failed': entry(1, orderFailedSchema, ['execution'], () => subjects.orderFailed()),
  // Cancels take the orders' way (requested by strategies and people, passed on by risk, done by
  // execution) on the SAME subjects as intents and approvals: NATS (and a JetStream consumer) keeps
  // order only within a subject, and a cancel must never overtake the order it names.
  'order.cancel': entry(1, orderCancelSchema, ['strategy', ...PEOPLE], () => subjects.orderIntent()),
  'order.cancel-approved': entry(1, orderCancelApprovedSchema, ['risk'], () => subjects.orderApproved()),
  'order.cancel-rejected': entry(1, orderCancelRejectedSchema, ['execution'], () => subjects.orderCancelRejected()),
  'portfolio.updated': entry(1, portfolioSnapshotSchema, ['portfolio'], () => subjects.portfolioUpdated()),
  // people's commands on risk.command.<command>; a Sextant process's (`by: system:...`, the store watch
  // halting trading when its store takes no writes) on risk.command.system.<command>, which every role may
  // publish (bus/nats-permissions.ts) and the risk agent obeys only so far (agents/risk/machine.ts systemRefusal)
  'risk.command': entry(
    1,
    riskCommandSchema,
    PEOPLE,
    (p) =>
      typeof p.by === 'string' && p.by.startsWith('system:')
        ? subjects.systemRiskCommand(p.command)
        : subjects.riskCommand(p.command),
    patterns.riskCommands,
  ),
  'risk.command-result': entry(1, riskCommandResultSchema, ['risk'], () => subjects.riskCommandResult()),
  // an operator's acceptance of a held-back price jump, answered by the data agent on the asker's inbox
  'data.accept-price': entry(
    1,
    dataAcceptPriceSchema,
    PEOPLE,
    (p) => subjects.dataAcceptPrice(p.symbol),
    patterns.dataAcceptPrice,
  ),
  'data.accept-price-result': entry(1, dataAcceptPriceResultSchema, ['data'], () => subjects.dataAcceptPriceResult()),
  'risk.state': entry(1, riskStateSchema, ['risk'], () => subjects.riskState()),
  // each agent reports its own health only: the subject's last token is the role (bus/nats-permissions.ts)
  'agent.health': entry(1, agentHealthSchema, AGENT_NAMES, (p) => subjects.agentHealth(p.agent), patterns.agentHealth),
  'run.started': entry(1, runStartedSchema, 'every role', () => subjects.runStarted()),
  'chat.exchange': entry(1, chatExchangeSchema, PEOPLE, () => subjects.chatExchange()),
  'news.item': entry(1, newsItemSchema, ['sentiment'], () => subjects.newsItem()),
  'sentiment.scored': entry(1, sentimentScoredSchema, ['sentiment'], () => subjects.sentimentScored()),
  'sentiment.updated': entry(
    1,
    sentimentUpdatedSchema,
    ['sentiment'],
    (p) => subjects.sentimentUpdated(p.symbol),
    patterns.sentimentUpdates,
  ),
  // requests and replies: to `agent.control.<name>` and `query.<what>`, answered on the asker's inbox;
  // agent.control is for operators' tools (the admin user)
  'agent.control': entry(1, agentControlSchema, []),
  'agent.synced': entry(1, agentSyncedSchema, REPLY),
  'query.request': entry(1, queryRequestSchema, PEOPLE),
  'query.result': entry(1, queryResultSchema, REPLY),
} as const;

export type MessageType = keyof typeof catalog;
export type PayloadOf<T extends MessageType> = z.infer<(typeof catalog)[T]['schema']>;
export const versionOf = <T extends MessageType>(type: T): number => catalog[type].v;

/** The subject a message of `type` with this payload is published on (types with a subject of their own). */
export function subjectFor<T extends MessageType>(type: T, payload: PayloadOf<T>): Subject {
  const subject = (catalog[type] as CatalogEntry).subject;
  if (!subject)
    throw new Error(
      `${type} has no subject of its own (a request or a reply goes to the service asked); see the catalog in src/core/domain/messages.ts`,
    );
  return subject(payload);
}

/** A registry holding every catalog schema and the bus's own types. */
export function createRegistry(): SchemaRegistry {
  const registry = registerBusSchemas(new SchemaRegistry());
  for (const [type, { v, schema }] of Object.entries(catalog) as [string, CatalogEntry][])
    registry.register(type, v, schema);
  return registry;
}
