import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import {
  type Bus,
  type BusObserver,
  type Subscription,
  type Envelope,
  patterns,
  subjects,
  type AgentHealth,
  type OrderFilled,
  type OrderRejected,
  type PortfolioSnapshot,
  type RiskStateChanged,
} from '../../core/index.js';

const TRADING_STATES = ['ACTIVE', 'REDUCING', 'HALTED'] as const;
const LIFECYCLES = ['starting', 'running', 'degraded', 'stopping', 'stopped', 'faulted'] as const;

/**
 * Sextant's Prometheus metrics (prom-client), in a registry of their own with the default Node
 * process metrics. Bus counters come through the bus observer (cheap, synchronous); trading
 * figures from the messages themselves (orders, risk, portfolio, agent health).
 */
/** What the data agent's health says of a live feed (the parts metrics read). */
interface FeedDetail {
  readonly connected?: boolean;
  readonly reconnects?: number;
  readonly errors?: number;
  readonly rateLimited?: number;
  readonly symbols?: Readonly<
    Record<
      string,
      {
        readonly lastBarAgeMs?: number | null;
        readonly gapsRepaired?: number;
        readonly duplicates?: number;
        readonly outOfOrder?: number;
        readonly invalid?: number;
      }
    >
  >;
}

export class Metrics {
  readonly registry = new Registry();
  readonly #published: Counter<'type'>;
  readonly #handled: Counter<'handler' | 'type'>;
  readonly #handlerSeconds: Histogram<'handler'>;
  readonly #deadLetters: Counter<'reason'>;
  readonly #orders: Counter<'outcome'>;
  readonly #rejections: Counter<'code'>;
  readonly #tradingState: Gauge<'state'>;
  readonly #agentState: Gauge<'agent' | 'state'>;
  readonly #agentHeartbeat: Gauge<'agent'>;
  readonly #feedSymbol: Gauge<'symbol' | 'figure'>;
  readonly #feed: Gauge<'figure'>;
  readonly #equity: Gauge;
  readonly #drawdown: Gauge;
  readonly #pnl: Gauge<'kind'>;
  readonly #http: Histogram<'method' | 'route' | 'status'>;
  readonly #llmTokens: Counter;
  readonly #llmCost: Counter;
  #subs: Subscription[] = [];

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.#published = new Counter({
      name: 'sextant_messages_published_total',
      help: 'Bus messages published, by type.',
      labelNames: ['type'],
      registers,
    });
    this.#handled = new Counter({
      name: 'sextant_messages_handled_total',
      help: 'Bus messages handled, by handler and type.',
      labelNames: ['handler', 'type'],
      registers,
    });
    this.#handlerSeconds = new Histogram({
      name: 'sextant_handler_seconds',
      help: 'Time a handler took per message.',
      labelNames: ['handler'],
      buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
      registers,
    });
    this.#deadLetters = new Counter({
      name: 'sextant_dead_letters_total',
      help: 'Messages dead-lettered, by reason code.',
      labelNames: ['reason'],
      registers,
    });
    this.#orders = new Counter({
      name: 'sextant_orders_total',
      help: 'Orders by outcome (approved, rejected, submitted, filled, cancelled, failed).',
      labelNames: ['outcome'],
      registers,
    });
    this.#rejections = new Counter({
      name: 'sextant_risk_rejections_total',
      help: 'Intents refused by risk, by reason code.',
      labelNames: ['code'],
      registers,
    });
    this.#tradingState = new Gauge({
      name: 'sextant_trading_state',
      help: 'The trading state (1 for the current one).',
      labelNames: ['state'],
      registers,
    });
    this.#agentState = new Gauge({
      name: 'sextant_agent_state',
      help: 'Each agent lifecycle state (1 for the current one).',
      labelNames: ['agent', 'state'],
      registers,
    });
    this.#agentHeartbeat = new Gauge({
      name: 'sextant_agent_last_heartbeat_seconds',
      help: 'Unix time of the last health message of each agent.',
      labelNames: ['agent'],
      registers,
    });
    this.#feedSymbol = new Gauge({
      name: 'sextant_feed_symbol',
      help: 'A live feed per symbol: last_bar_age_seconds (since its last closed candle closed), gaps_repaired, duplicates, out_of_order, invalid (counts since the start).',
      labelNames: ['symbol', 'figure'],
      registers,
    });
    this.#feed = new Gauge({
      name: 'sextant_feed',
      help: 'A live feed: connected (1/0), reconnects, errors, rate_limited (counts since the start).',
      labelNames: ['figure'],
      registers,
    });
    this.#equity = new Gauge({ name: 'sextant_equity', help: 'Portfolio equity.', registers });
    this.#drawdown = new Gauge({
      name: 'sextant_drawdown',
      help: 'Portfolio drawdown from its peak equity, 0..1: (peak - equity) / peak.',
      registers,
    });
    this.#pnl = new Gauge({
      name: 'sextant_pnl',
      help: 'Portfolio PnL by kind (realized, unrealized, day).',
      labelNames: ['kind'],
      registers,
    });
    this.#llmTokens = new Counter({
      name: 'sextant_llm_tokens_total',
      help: 'Tokens language models used (prompt and completion), by use: chat (the conversational agent) or sentiment (the LLM scorer).',
      labelNames: ['use'],
      registers,
    });
    this.#llmCost = new Counter({
      name: 'sextant_llm_cost_usd_total',
      help: 'What the conversational agent cost, in US dollars (by use).',
      labelNames: ['use'],
      registers,
    });
    this.#http = new Histogram({
      name: 'sextant_http_request_seconds',
      help: 'HTTP API requests by method, route and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    });
  }

  /** The bus observer (pass it to createBus). */
  readonly observer: BusObserver = {
    published: (_subject, type) => this.#published.inc({ type }),
    handled: (handler, type, seconds) => {
      this.#handled.inc({ handler, type });
      this.#handlerSeconds.observe({ handler }, seconds);
    },
    deadLettered: (_subject, code) => this.#deadLetters.inc({ reason: code }),
  };

  /** Follows the trading figures on the bus (orders, risk, portfolio, agent health). */
  attach(bus: Bus): void {
    const on = (pattern: Parameters<Bus['subscribe']>[0], fn: (env: Envelope) => void) =>
      this.#subs.push(bus.subscribe(pattern, fn, { name: 'metrics' }));
    on(patterns.orders, (env) => this.#order(env));
    on(subjects.riskState(), (env) => {
      const s = (env.payload as RiskStateChanged).state;
      for (const t of TRADING_STATES) this.#tradingState.set({ state: t }, t === s ? 1 : 0);
    });
    on(subjects.portfolioUpdated(), (env) => {
      const p = env.payload as PortfolioSnapshot;
      this.#equity.set(p.equity);
      this.#drawdown.set(p.drawdown);
      this.#pnl.set({ kind: 'realized' }, p.realizedPnl);
      this.#pnl.set({ kind: 'unrealized' }, p.unrealizedPnl);
      this.#pnl.set({ kind: 'day' }, p.dayPnl);
    });
    on(patterns.agentHealth, (env) => {
      const h = env.payload as AgentHealth;
      for (const s of LIFECYCLES) this.#agentState.set({ agent: h.agent, state: s }, s === h.state ? 1 : 0);
      this.#agentHeartbeat.set({ agent: h.agent }, Date.now() / 1000);
      if (h.detail?.feed) this.#feedFigures(h.detail.feed as FeedDetail);
    });
  }

  /** The data agent's live feed, from its health (agents/data/agent.ts liveStatus). */
  #feedFigures(f: FeedDetail): void {
    this.#feed.set({ figure: 'connected' }, f.connected ? 1 : 0);
    for (const k of ['reconnects', 'errors', 'rateLimited'] as const)
      if (typeof f[k] === 'number') this.#feed.set({ figure: k === 'rateLimited' ? 'rate_limited' : k }, f[k]);
    for (const [symbol, s] of Object.entries(f.symbols ?? {})) {
      if (typeof s.lastBarAgeMs === 'number')
        this.#feedSymbol.set({ symbol, figure: 'last_bar_age_seconds' }, s.lastBarAgeMs / 1000);
      for (const [k, name] of [
        ['gapsRepaired', 'gaps_repaired'],
        ['duplicates', 'duplicates'],
        ['outOfOrder', 'out_of_order'],
        ['invalid', 'invalid'],
      ] as const)
        if (typeof s[k] === 'number') this.#feedSymbol.set({ symbol, figure: name }, s[k]);
    }
  }

  #order(env: Envelope): void {
    switch (env.type) {
      case 'order.approved':
        this.#orders.inc({ outcome: 'approved' });
        break;
      case 'order.rejected':
        this.#orders.inc({ outcome: 'rejected' });
        this.#rejections.inc({ code: (env.payload as OrderRejected).code });
        break;
      case 'order.submitted':
        this.#orders.inc({ outcome: 'submitted' });
        break;
      case 'order.filled':
        if ((env.payload as OrderFilled).status === 'filled') this.#orders.inc({ outcome: 'filled' });
        break;
      case 'order.cancelled':
        this.#orders.inc({ outcome: 'cancelled' });
        break;
      case 'order.failed':
        this.#orders.inc({ outcome: 'failed' });
        break;
    }
  }

  /** One HTTP request (route is the matched pattern, not the URL: bounded label values). */
  httpRequest(method: string, route: string, status: number, seconds: number): void {
    this.#http.observe({ method, route, status: String(status) }, seconds);
  }

  /** One model call: of the conversational agent (chat) or the LLM scorer (sentiment). */
  llmUsage(tokens: number, costUsd: number, use: 'chat' | 'sentiment' = 'chat'): void {
    this.#llmTokens.inc({ use }, tokens);
    this.#llmCost.inc({ use }, costUsd);
  }

  async detach(): Promise<void> {
    await Promise.all(this.#subs.splice(0).map((s) => s.drain().catch(() => undefined)));
  }
}
