import { orderPath, quiesce, type NatsAuth } from '../../../bus/index.js';
import {
  type Bus,
  rootEnvelope,
  subjects,
  type OrderFilled,
  type OrderSubmitted,
  type OrderType,
  type OriginBook,
  type PortfolioSnapshot,
  silentLogger,
  type Logger,
  VirtualClock,
  sequentialIds,
  versionOf,
  type NewsItem,
  derivedId,
  zeroCosts,
  type MessageTracer,
} from '../../core/index.js';
import {
  csvFeed,
  memoryFeed,
  mergeByTime,
  readAll,
  type MarketFeed,
  type BarGuardOptions,
  type CsvMapping,
} from '../../../agents/data/index.js';
import { basename } from 'node:path';
import {
  type TradingSettings,
  buildSystem,
  type Part,
  defaultSentimentSettings,
  type SentimentSettings,
  loadStrategies,
  type Strategies,
} from '../kernel/index.js';
import { type Store, Recorder } from '../../infra/store/index.js';
import { RecordingTap } from '../../infra/recording/index.js';
import { readNewsFile, type Scorer } from '../../../agents/sentiment/index.js';
import { withNews } from './news-feed.js';
import { RiskLog, type RiskReport } from './risk-log.js';
import { SkippedRowLog, type SkippedRows } from './skipped-rows.js';
import { loadConfig } from '../../../config/index.js';
import { instanceOf, type StrategyParams } from '../../../agents/strategy/index.js';

export interface BacktestOptions {
  /**
   * A CSV of bars (Yahoo daily, intraday, Datetime, or mapped), several CSVs each of its own symbol
   * (read once and merged by time into one run: one account), or a ready feed.
   */
  readonly data: string | MarketFeed | readonly { readonly file: string; readonly symbol: string }[];
  readonly symbol: string;
  /** One strategy instance, or several. */
  readonly strategy: Strategies;
  readonly cash: number;
  readonly transport: 'memory' | 'nats';
  readonly natsUrl?: string;
  /** How to sign in to NATS (NATS_USER and NATS_PASSWORD, ...); none: anonymous. */
  readonly natsAuth?: NatsAuth;
  /** Skip bad rows of `data` (and news lines) instead of stopping; the result names the rows skipped. */
  readonly lenient?: boolean;
  /**
   * How to read `data` when it is a path: a mapping file (YAML or JSON) and a mapping whose keys
   * win over the file's (columns, separator, time formats: `CsvMapping`).
   */
  readonly csv?: { readonly mapFile?: string | undefined; readonly mapping?: CsvMapping | undefined };
  readonly costs?: TradingSettings['costs'];
  /**
   * Risk limits. Unset: the paper limits, the defaults of the RISK_* keys that `sextant start`
   * uses (a backtest predicts paper trading). Pass `unboundedLimits` with `riskMode: 'off'` for
   * an unconstrained run.
   */
  readonly limits?: TradingSettings['limits'];
  /** What a bar must pass to be published (default: the DATA_* defaults, as sextant start). */
  readonly guard?: BarGuardOptions;
  /** How the limits are described in the result: 'paper' (default) or 'off'. */
  readonly riskMode?: RiskReport['mode'];
  readonly logger?: Logger;
  /** Called every few thousand bars with the number published so far. */
  readonly onProgress?: (bars: number) => void;
  /** Messages on the bus are handed here as they happen (reports, tests). */
  readonly onEnvelope?: Parameters<Bus['subscribe']>[1];
  /**
   * Records every bus message (and the order/fill read models) into this store; flushed before the run counts as
   * done.
   */
  readonly record?: Store;
  /** Writes an NDJSON recording of every bus message to this file (a replay can verify it). */
  readonly recording?: string;
  /**
   * News (a news file, or items) fed alongside the bars, merged by event time; the sentiment agent
   * then runs too, scoring with `scorer` (the default scorer when unset). In-memory bus only.
   */
  readonly news?: string | readonly NewsItem[];
  /** The sentiment agent's settings (half-life, items named, company names); defaults when unset. */
  readonly sentiment?: SentimentSettings;
  readonly scorer?: Scorer;
  /**
   * The strategies publish their indicator lines per bar (`strategy.plotted.<sym>`), which the
   * HTML report draws over the price charts; off by default (one more message per bar).
   */
  readonly plot?: boolean;
  /**
   * NATS only: each bar's consequences handled before the next bar goes out (see `PumpOptions.lockstep`),
   * so resting orders match as in memory. Default: on over NATS when an instance's params ask for a
   * bracket (`stopLoss`, `takeProfit`, or their absolute prices); give it for a strategy that rests
   * limits or stops by itself. Costs a round trip or two per bar.
   */
  readonly lockstep?: boolean;
  /** Tracing (off when unset): a span per message and per handling, as in a live process (the tracing bench). */
  readonly tracer?: MessageTracer;
}

const BRACKET_PARAMS = ['stopLoss', 'takeProfit', 'stopLossPrice', 'takeProfitPrice'] as const;

/** True when an instance's params ask for a bracket (its legs rest at execution). */
export function wantsBrackets(strategies: Strategies): boolean {
  const list = Array.isArray(strategies) ? (strategies as readonly StrategyParams[]) : [strategies as StrategyParams];
  return list.some((p) => {
    const params = instanceOf(p).params;
    return BRACKET_PARAMS.some((k) => params[k] !== undefined && params[k] !== 0);
  });
}

/** One strategy instance's part of the account (a book opened with no cash: its equity is its PnL). */
/** A strategy instance's own book at the end of the run. */
export type StrategyResult = OriginBook;

/** One fill as the backtest reports it. */
export interface BacktestFill {
  readonly date: string;
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  readonly size: number;
  readonly price: number;
  /** The order's type: market, limit, or stop (a stop-loss that triggered is a stop). */
  readonly kind: OrderType;
  readonly fee: number;
}

export interface BacktestResult {
  readonly finalValue: number;
  readonly fills: BacktestFill[];
  readonly bars: number;
  readonly elapsedMs: number;
  readonly barsPerSecond: number;
  readonly portfolio: PortfolioSnapshot;
  /** The account by strategy instance: each one's positions and PnL (`pnl.all`); they add up to the account's. */
  readonly strategies: StrategyResult[];
  /** Largest peak-to-trough fall of equity seen during the run, 0..1. */
  readonly maxDrawdown: number;
  readonly transport: 'memory' | 'nats';
  /** The limits used, the orders risk refused (by reason) and every trading-state change. */
  readonly risk: RiskReport;
  /** Rows of the data file skipped in lenient mode (always 0 otherwise: a bad row stops the run). */
  readonly skipped: SkippedRows;
}

/** The limits `sextant start` runs with when no RISK_* key is set. */
export const paperLimits = () => loadConfig({ env: {} }).risk;

const isoDate = (time: number) => new Date(time).toISOString().slice(0, 10);

/**
 * Runs a file of bars through the same agents and machines as live trading, over the bus
 * (in-memory by default, NATS on request), as fast as the agents go. Ids are sequential and
 * time is the data's, so a run is reproducible. On NATS the run lives in its own subject
 * namespace (`bt<id>.`), so it never meets live traffic.
 */
export async function runBacktest(options: BacktestOptions): Promise<BacktestResult> {
  const logger = options.logger ?? silentLogger;
  const runId = `bt${process.pid.toString(36)}${Date.now().toString(36)}`;
  const clock = new VirtualClock(0);
  const ids = sequentialIds(runId);
  if (options.transport === 'nats' && !options.natsUrl)
    throw new Error('--transport nats needs NATS_URL (e.g. NATS_URL=nats://127.0.0.1:4222)');
  // over NATS bars and news travel on different subjects, whose relative order is not kept
  if (options.news !== undefined && options.transport !== 'memory')
    throw new Error(
      '--news needs the in-memory bus (--transport memory): over NATS news and bars travel on different subjects and their order is not kept, so the run would not be reproducible',
    );
  const news =
    typeof options.news === 'string'
      ? readNewsFile(options.news, { lenient: options.lenient ?? false }).items
      : options.news;
  const skippedRows = new SkippedRowLog();
  const open = (file: string, symbol: string) =>
    csvFeed({
      file,
      symbol,
      lenient: options.lenient ?? false,
      onSkip: skippedRows.onSkip,
      ...(options.csv?.mapFile !== undefined ? { mapFile: options.csv.mapFile } : {}),
      ...(options.csv?.mapping !== undefined ? { mapping: options.csv.mapping } : {}),
    });
  const barFeed: MarketFeed =
    typeof options.data === 'string'
      ? open(options.data, options.symbol)
      : Array.isArray(options.data)
        ? memoryFeed(mergeByTime(options.data.map((d) => readAll(open(d.file, d.symbol)))), {
            name: options.data.map((d) => `csv:${basename(d.file)}`).join('+'),
          })
        : (options.data as MarketFeed);
  const fills: BacktestFill[] = [];
  let bars = 0;
  const riskLog = new RiskLog(options.riskMode ?? 'paper');
  const settings: TradingSettings = {
    strategy: await loadStrategies(options.strategy),
    limits: options.limits ?? paperLimits(),
    costs: options.costs ?? zeroCosts,
    startCash: options.cash,
    ...(options.plot ? { plot: true } : {}),
    ...(news ? { sentiment: options.sentiment ?? defaultSentimentSettings } : {}),
  };
  let recorder: Recorder | undefined;
  const lockstep = options.transport === 'nats' && (options.lockstep ?? wantsBrackets(settings.strategy));
  const system = await buildSystem({
    mode: 'backtest',
    clock,
    ids,
    logger,
    source: `backtest/${runId}`,
    bus: {
      natsUrl: options.transport === 'nats' ? options.natsUrl : undefined,
      ...(options.transport === 'nats' && options.natsAuth ? { natsAuth: options.natsAuth } : {}),
      name: `sextant-backtest-${runId}`,
      maxPayloadBytes: 1024 * 1024,
      requestTimeoutMs: 30_000,
      prefix: options.transport === 'nats' ? runId : '',
      trustLocal: true,
      ...(options.transport === 'nats' ? { durable: orderPath(runId, false) } : {}),
    },
    ...(options.record ? { store: options.record } : {}),
    ...(options.tracer ? { tracer: options.tracer } : {}),
    links: async ({ bus }) => {
      const types = new Map<string, OrderType>();
      bus.subscribe(subjects.orderSubmitted(), (env) => {
        const { order } = env.payload as OrderSubmitted;
        types.set(order.clientOrderId, order.type);
      });
      bus.subscribe(subjects.orderFilled(), (env) => {
        const f = env.payload as OrderFilled;
        const kind = types.get(f.clientOrderId) ?? 'market';
        if (f.status === 'filled') types.delete(f.clientOrderId);
        fills.push({
          date: isoDate(env.time),
          symbol: f.symbol,
          side: f.side,
          size: f.qty,
          price: f.price,
          kind,
          fee: f.fee,
        });
      });
      if (options.onEnvelope) bus.subscribe('>' as never, options.onEnvelope);
      bus.subscribe(subjects.orderRejected(), riskLog.onEnvelope);
      bus.subscribe(subjects.riskState(), riskLog.onEnvelope);
      const parts: Part[] = [];
      if (options.recording) {
        const tap = await RecordingTap.open(options.recording, { runId, source: 'tap', instance: runId, settings });
        tap.attach(bus);
        parts.push({ name: 'close the recording', stage: 'persistence', stop: () => tap.close() });
      }
      if (options.record) {
        const r = (recorder = new Recorder(bus, options.record, logger, {
          maxBuffered: 50_000,
          overflow: 'backpressure',
        }));
        parts.push({ name: 'stop the recorder', stage: 'persistence', start: () => r.start(), stop: () => r.stop() });
      }
      return parts;
    },
    agents: async ({ bus }) => {
      const newsDeps = { ids, clock, source: `news/${runId}` };
      const publishNews = (item: NewsItem) => {
        clock.observe(item.time);
        bus.publish(
          subjects.newsItem(),
          rootEnvelope(newsDeps, 'news.item', item, {
            v: versionOf('news.item'),
            time: item.time,
            id: derivedId(item.time, [runId, 'news.item', item.id]),
          }),
        );
      };
      const feed = news ? withNews(barFeed, news, publishNews) : barFeed;
      return {
        instance: runId,
        runId,
        heartbeatMs: 0,
        agents: news
          ? ['data', 'sentiment', 'strategy', 'risk', 'execution', 'portfolio']
          : ['data', 'strategy', 'risk', 'execution', 'portfolio'],
        settings,
        ...(news
          ? {
              sentiment: {
                mode: 'live' as const,
                scorer:
                  options.scorer ?? (await import('../../../agents/sentiment/scoring/index.js')).createDefaultScorer(),
              },
            }
          : {}),
        feed: {
          feed,
          pump: {
            paceMs: 0,
            batch: options.transport === 'nats' ? 250 : 2000,
            ...(lockstep ? { lockstep: true } : {}),
            ...(options.guard ? { guard: options.guard } : {}),
            ...(recorder ? { gate: () => recorder!.whenWritable() } : {}),
            onProgress: (n) => {
              bars = n;
              options.onProgress?.(n);
            },
          },
        },
      };
    },
  });
  const { bus, kernel } = system;
  const started = performance.now();
  try {
    await system.start();
    const data = kernel.host('data')!;
    await data.whenStarted();
    if (data.lifecycle === 'faulted')
      throw new Error(`the data feed failed: ${data.health().lastError ?? 'unknown error'}`);
    await quiesce(bus);
    await recorder?.flush();
    const elapsedMs = performance.now() - started;
    const reply = await bus.request(
      subjects.query('portfolio'),
      rootEnvelope({ ids, clock, source: `backtest/${runId}` }, 'query.request', { params: {} }),
    );
    const portfolio = (reply.payload as { data: PortfolioSnapshot }).data;
    const split = await bus.request(
      subjects.query('strategies'),
      rootEnvelope({ ids, clock, source: `backtest/${runId}` }, 'query.request', { params: {} }),
    );
    const strategies = (split.payload as { data: StrategyResult[] }).data.filter((b) => b.origin.kind === 'strategy');
    return {
      finalValue: Math.round(portfolio.equity * 100) / 100,
      fills,
      bars,
      elapsedMs: Math.round(elapsedMs),
      barsPerSecond: Math.round(bars / (elapsedMs / 1000)),
      portfolio,
      strategies,
      maxDrawdown: portfolio.maxDrawdown,
      transport: options.transport,
      risk: riskLog.report(),
      skipped: skippedRows.report(barFeed.skipped),
    };
  } finally {
    await system.stop();
  }
}
