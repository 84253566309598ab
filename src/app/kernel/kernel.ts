import {
  type Bus,
  type Subscription,
  patterns,
  type Bar,
  type Tick,
  type AgentName,
  type Logger,
  type AgentSpec,
  type Clock,
  type IdSource,
  MarketCache,
  type WithOutbox,
  type Envelope,
  type SubjectPattern,
  type MessageTracer,
} from '../../core/index.js';
import {
  type PartitionCoordinator,
  AgentHost,
  type ChainRef,
  type InletCut,
  type RestartPolicy,
} from '../../runtime/index.js';
import { dataAgent, type AnyFeed, type FeedCursor, type PumpOptions } from '../../../agents/data/index.js';
import {
  executionAgent,
  type PaperCosts,
  PaperBroker,
  type BrokerPort,
  type BreakerPolicy,
  type RetryPolicy,
} from '../../../agents/execution/index.js';
import { portfolioAgent } from '../../../agents/portfolio/index.js';
import { type RiskLimits, riskAgent } from '../../../agents/risk/index.js';
import {
  instanceOf,
  paramsFrom,
  strategyAgent,
  strategyStem,
  type StrategyParams,
} from '../../../agents/strategy/index.js';
import { sentimentAgent, type NewsSource, type AsyncScorer, type Scorer } from '../../../agents/sentiment/index.js';
import type { Config } from '../../../config/index.js';
import type { Snapshot } from 'xstate';
import type { Strategies } from './strategy-files.js';

/** What the trading agents need to know, independent of where it came from (config, CLI flags). */
export interface TradingSettings {
  /** The strategy agent's instances: one, or several (STRATEGIES_FILE). */
  readonly strategy: Strategies;
  readonly limits: RiskLimits;
  readonly costs: PaperCosts;
  readonly startCash: number;
  /** The broker port; the paper broker when unset. */
  readonly broker?: BrokerPort;
  readonly retry?: RetryPolicy;
  readonly breaker?: BreakerPolicy;
  /** Live venues: how often working orders are asked about (ms). */
  readonly pollMs?: number;
  /** How the sentiment agent keeps per-symbol sentiment and tags news (defaults: one day, 10 items, no names). */
  readonly sentiment?: SentimentSettings;
  /**
   * The strategies publish their indicator lines per bar (`strategy.plotted.<sym>`) for the
   * dashboard's chart or a backtest's HTML report (STRATEGY_PLOT). Recorded with a run, so a
   * replay plots alike.
   */
  readonly plot?: boolean;
}

/** The sentiment agent's settings (JSON: recorded with a run, so a replay aggregates alike). */
export interface SentimentSettings {
  readonly halfLifeMs: number;
  /** Items named with each published sentiment. */
  readonly recentItems: number;
  /** Company names and aliases to symbols. */
  readonly symbolMap: Readonly<Record<string, string>>;
}

export const defaultSentimentSettings: SentimentSettings = { halfLifeMs: 86_400_000, recentItems: 10, symbolMap: {} };

export function tradingSettingsFrom(config: Config): TradingSettings {
  const s = config.strategy;
  const extras = {
    ...(s.sentimentMin !== undefined ? { sentimentMin: s.sentimentMin } : {}),
    ...(s.sizeFraction !== undefined ? { sizeFraction: s.sizeFraction } : {}),
  };
  // the keys of the first two built-ins still set them; STRATEGY_PARAMS overrides
  const legacy =
    s.name === 'sma-cross'
      ? { fast: s.fast, slow: s.slow }
      : s.name === 'rsi-reversion'
        ? { period: s.rsi.period, oversold: s.rsi.oversold, overbought: s.rsi.overbought }
        : {};
  const params = { ...legacy, ...(s.sizeFraction === undefined ? { size: s.size } : {}), ...paramsFrom(s.params) };
  return {
    // a strategy file's id is its file name until it is loaded (loadStrategies names it after the strategy)
    strategy: { id: strategyStem(s.name), strategy: s.name, params, ...extras },
    sentiment: {
      halfLifeMs: config.sentiment.halfLifeMs,
      recentItems: config.sentiment.recentItems,
      symbolMap: config.sentiment.symbolMap,
    },
    limits: config.risk,
    costs: config.execution,
    startCash: config.portfolio.startCash,
    broker: paperBrokerFrom(config),
    retry: config.broker.retry,
    breaker: config.broker.breaker,
    plot: config.strategy.plot,
  };
}

/** The paper broker, with its fault mode when configured (drills; tests set it directly). */
function paperBrokerFrom(config: Config): PaperBroker {
  const f = config.broker.paperFaults;
  if (f.failRate === 0 && f.maxLatencyMs === 0) return new PaperBroker();
  return new PaperBroker({ failRate: f.failRate, minLatencyMs: 0, maxLatencyMs: f.maxLatencyMs, random: Math.random });
}

/**
 * Each strategy instance with the symbols' lot sizes risk enforces (RISK_SYMBOL_RULES, or the
 * venue's) where it has none of its own, so its sizes are rounded down to whole lots rather than
 * refused. Without per-symbol rules the instances are as given (sizes of whole units or 6 decimals).
 */
export function withLots(strategy: Strategies, limits: RiskLimits): Strategies {
  const lots: Record<string, number> = {};
  for (const [symbol, rule] of Object.entries(limits.symbolRules ?? {}))
    if (rule.lotSize !== undefined) lots[symbol] = rule.lotSize;
  if (Object.keys(lots).length === 0) return strategy;
  const add = (p: StrategyParams): StrategyParams => {
    const inst = instanceOf(p);
    return { ...inst, lotSizes: { ...lots, ...inst.lotSizes } };
  };
  return Array.isArray(strategy) ? (strategy as readonly StrategyParams[]).map(add) : add(strategy as StrategyParams);
}

/** The limits with each strategy instance's own `capital` as its budget (instances given one). */
export function withBudgets(settings: Pick<TradingSettings, 'limits' | 'strategy'>): RiskLimits {
  const list = (
    Array.isArray(settings.strategy) ? settings.strategy : [settings.strategy]
  ) as readonly StrategyParams[];
  const budgets = Object.fromEntries(
    list.flatMap((p) => (!('kind' in p) && p.capital !== undefined ? [[p.id, p.capital] as const] : [])),
  );
  if (Object.keys(budgets).length === 0) return settings.limits;
  return { ...settings.limits, strategyBudgets: { ...budgets, ...settings.limits.strategyBudgets } };
}

export interface KernelDeps {
  readonly bus: Bus;
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly logger: Logger;
  readonly instance: string;
  readonly heartbeatMs: number;
  readonly settings: TradingSettings;
  /** Agents to run in this process. */
  readonly agents: readonly AgentName[];
  /** Required when the data agent runs. */
  readonly feed?: { readonly feed: AnyFeed; readonly pump: PumpOptions };
  readonly restart?: RestartPolicy;
  /** The run id message ids are derived from (see AgentHostDeps.runId). */
  readonly runId?: string;
  /** Per-agent run ids (a replay of a distributed run, whose processes each had their own). */
  readonly runIds?: Partial<Record<AgentName, string>>;
  /** Machine snapshots to resume from (recovery); the data agent always starts afresh. */
  readonly restore?: Partial<Record<AgentName, Snapshot<unknown>>>;
  /** When resuming: agents read back their own outputs published since then (epoch ms). */
  readonly recoverSince?: number;
  /**
   * When resuming: each agent's cut, the last message each inlet had handled at the checkpoint. On a
   * bus that records every subject (NATS with RECORDING_JETSTREAM) the agents that can (AgentHost.replayable)
   * replay what came after it from `recoverSince` on, before live input (see `start`).
   */
  readonly restoreInputs?: Partial<Record<AgentName, Readonly<Record<string, InletCut>>>>;
  /** When resuming: each agent's open chains (an order's submission, which its fills chain to). */
  readonly restoreChains?: Partial<Record<AgentName, Readonly<Record<string, ChainRef>>>>;
  /**
   * The sentiment agent's ports: `live` (default) scores news with `scorer` (required; the
   * composition root makes the default or the LLM scorer) and publishes the `news` sources;
   * `replay` scores nothing and aggregates the recorded `sentiment.scored` events a replay feeds it.
   */
  readonly sentiment?: {
    readonly mode?: 'live' | 'replay';
    readonly scorer?: Scorer | AsyncScorer;
    readonly news?: readonly NewsSource[];
  };
  /** The level decisions and order outcomes are logged at (debug when a terminal narrates them). */
  readonly notableLevel?: 'info' | 'debug';
  /** Tracing (off when unset): every handled message is a span (see MessageTracer). */
  readonly tracer?: MessageTracer | undefined;
  /** Agents whose symbols this process shares with other instances (scale-out), with their coordinators. */
  readonly partitions?: Partial<Record<AgentName, PartitionCoordinator>>;
}

/** Start order: consumers before producers, so the first bar finds everyone listening. */
const START_ORDER: readonly AgentName[] = ['portfolio', 'execution', 'risk', 'strategy', 'sentiment', 'data'];

/**
 * Builds and runs the agents of one process over a bus it is given. The system builder
 * (build-system.ts) creates clock, ids and bus; the kernel adds the market cache and the agents
 * in a fixed order and stops them in reverse.
 */
export class Kernel {
  readonly market = new MarketCache();
  readonly hosts: AgentHost[] = [];
  /** How far the data agent's feed has got (what a checkpoint records to resume from). */
  readonly feedCursor: FeedCursor = { published: 0 };
  readonly #cacheFeeds: Subscription[] = [];

  constructor(private readonly deps: KernelDeps) {
    for (const name of START_ORDER) {
      if (!deps.agents.includes(name)) continue;
      const spec = this.#spec(name);
      this.hosts.push(
        new AgentHost(spec as AgentSpec<WithOutbox>, {
          bus: deps.bus,
          ids: deps.ids,
          clock: deps.clock,
          logger: deps.logger,
          market: this.market,
          instance: deps.instance,
          heartbeatMs: deps.heartbeatMs,
          ...(deps.restart ? { restart: deps.restart } : {}),
          ...(deps.notableLevel ? { notableLevel: deps.notableLevel } : {}),
          ...(deps.tracer ? { tracer: deps.tracer } : {}),
          ...(deps.partitions?.[name] ? { partitions: deps.partitions[name] } : {}),
          ...((deps.runIds?.[name] ?? deps.runId) !== undefined ? { runId: deps.runIds?.[name] ?? deps.runId } : {}),
        }),
      );
    }
  }

  #spec(name: AgentName): AgentSpec<never> {
    const { settings } = this.deps;
    switch (name) {
      case 'portfolio':
        return portfolioAgent(settings.startCash, this.market) as AgentSpec<never>;
      case 'execution':
        return executionAgent({
          costs: settings.costs,
          broker: settings.broker ?? new PaperBroker(),
          market: this.market,
          ...(settings.retry ? { retry: settings.retry } : {}),
          ...(settings.breaker ? { breaker: settings.breaker } : {}),
          ...(settings.pollMs ? { pollMs: settings.pollMs } : {}),
        }) as AgentSpec<never>;
      case 'risk':
        return riskAgent(
          { limits: withBudgets(settings), startCash: settings.startCash, costs: settings.costs },
          this.market,
        ) as AgentSpec<never>;
      case 'strategy':
        return strategyAgent(withLots(settings.strategy, settings.limits), settings.startCash, {
          plot: settings.plot === true,
        }) as AgentSpec<never>;
      case 'data':
        if (!this.deps.feed) throw new Error('the data agent needs a feed');
        return dataAgent(this.deps.feed.feed, { ...this.deps.feed.pump, cursor: this.feedCursor }) as AgentSpec<never>;
      case 'sentiment': {
        const s = settings.sentiment ?? defaultSentimentSettings;
        const ports = this.deps.sentiment ?? {};
        const mode = ports.mode ?? 'live';
        if (mode === 'live' && !ports.scorer)
          throw new Error('the sentiment agent needs a scorer (KernelDeps.sentiment.scorer)');
        return sentimentAgent({
          params: { halfLifeMs: s.halfLifeMs, keep: s.recentItems },
          mode,
          symbolMap: s.symbolMap,
          ...(ports.scorer ? { scorer: ports.scorer } : {}),
          ...(ports.news ? { news: ports.news } : {}),
          log: this.deps.logger.child({ agent: 'sentiment' }),
        }) as AgentSpec<never>;
      }
    }
  }

  host(name: AgentName): AgentHost | undefined {
    return this.hosts.find((h) => h.name === name);
  }

  /**
   * Feeds the market cache (one subscription per process, made before any agent subscribes, so
   * a bar is in the cache before an agent handles it), then starts the agents in order.
   */
  async start(): Promise<void> {
    const { bus } = this.deps;
    const since = this.deps.recoverSince;
    const snapshotOf = (host: AgentHost) =>
      host.name === 'data' ? undefined : this.deps.restore?.[host.name as AgentName];
    // agents that come back by replaying their input after the checkpoint (a bus that records
    // everything); the process's first checkpoint, taken at its first start, holds no agent yet:
    // then they replay everything since that start (killed before their first own checkpoint)
    const fromStart = this.deps.restore !== undefined && Object.keys(this.deps.restore).length === 0;
    const replaying = new Set(
      bus.readRecorded && since !== undefined
        ? this.hosts.filter((h) => h.name !== 'data' && (fromStart || snapshotOf(h)) && h.replayable)
        : [],
    );
    // while they replay, the market cache waits too: the replay fills it in stream order first
    let hold: Promise<void> | undefined;
    let release = () => undefined as void;
    if (replaying.size > 0) hold = new Promise<void>((r) => (release = r));
    const onBar = (env: Envelope): void | Promise<void> =>
      hold ? hold.then(() => onBar(env)) : this.market.onBar(env.payload as Bar);
    const onTick = (env: Envelope): void | Promise<void> =>
      hold ? hold.then(() => onTick(env)) : this.market.onTick(env.payload as Tick);
    this.#cacheFeeds.push(
      bus.subscribe(patterns.marketBars, onBar, { name: 'market-cache' }),
      bus.subscribe(patterns.marketTicks, onTick, { name: 'market-cache' }),
    );
    let replayed = replaying.size === 0;
    const replay = async () => {
      if (replayed) return;
      replayed = true;
      try {
        await this.#replay([...replaying], since!);
      } finally {
        hold = undefined;
        release();
        for (const h of replaying) h.release();
      }
    };
    for (const host of this.hosts) {
      // the feed starts once the others have caught up
      if (host.name === 'data') await replay();
      const snapshot = snapshotOf(host);
      await host.start(
        snapshot,
        snapshot ? since : undefined,
        snapshot ? this.deps.restoreChains?.[host.name as AgentName] : undefined,
        {
          ...(this.deps.restoreInputs?.[host.name as AgentName]
            ? { inputs: this.deps.restoreInputs[host.name as AgentName] }
            : {}),
          replay: replaying.has(host),
        },
      );
    }
    await replay();
  }

  /**
   * Replays the recording stream from `since` through the agents that resume by replay (each past
   * its own cut), in stream order, bars and ticks into the market cache first; their live input
   * waits meanwhile (subscribed before the read, so nothing falls between the two).
   */
  async #replay(hosts: readonly AgentHost[], since: number): Promise<void> {
    const { bus, logger } = this.deps;
    const wanted = new Set<string>([patterns.marketBars, patterns.marketTicks]);
    for (const h of hosts) for (const p of h.replayPatterns) wanted.add(p);
    await bus.flush();
    const messages = await bus.readRecorded!([...wanted] as SubjectPattern[], since);
    for (const h of hosts) h.prepareReplay(messages);
    const took: Record<string, number> = Object.fromEntries(hosts.map((h) => [h.name, 0]));
    for (const m of messages) {
      if (m.env.type === 'market.bar') this.market.onBar(m.env.payload as Bar);
      else if (m.env.type === 'market.tick') this.market.onTick(m.env.payload as Tick);
      for (const h of hosts) took[h.name]! += await h.replayOne(m);
    }
    logger.info(
      { read: messages.length, replayed: took, since: new Date(since).toISOString() },
      'replayed the recording stream after the checkpoint before taking new input',
    );
  }

  /** True when no agent is inside a step or waiting for an effect: a consistent cut. */
  get idle(): boolean {
    return this.hosts.every((h) => h.idle);
  }

  /** Every agent's persisted machine snapshot, taken now (call when `idle`). */
  persisted(): Partial<Record<AgentName, Snapshot<unknown>>> {
    const out: Partial<Record<AgentName, Snapshot<unknown>>> = {};
    for (const h of this.hosts) out[h.name as AgentName] = h.persistedSnapshot();
    return out;
  }

  /** Every agent's cut: the last messages each inlet handled (see AgentHost.persistedInputs). */
  persistedInputs(): Partial<Record<AgentName, Record<string, InletCut>>> {
    const out: Partial<Record<AgentName, Record<string, InletCut>>> = {};
    for (const h of this.hosts) out[h.name as AgentName] = h.persistedInputs();
    return out;
  }

  /** Every agent's open chains (see AgentHost.persistedChains). */
  persistedChains(): Partial<Record<AgentName, Record<string, ChainRef>>> {
    const out: Partial<Record<AgentName, Record<string, ChainRef>>> = {};
    for (const h of this.hosts) {
      const chains = h.persistedChains();
      if (Object.keys(chains).length > 0) out[h.name as AgentName] = chains;
    }
    return out;
  }

  /** Stops the data agent only (no new market data), leaving the others running. */
  async stopFeed(): Promise<void> {
    await this.host('data')?.stop();
  }

  async stop(): Promise<void> {
    for (const host of [...this.hosts].reverse()) await host.stop();
    await Promise.all(this.#cacheFeeds.splice(0).map((s) => s.drain().catch(() => undefined)));
  }
}
