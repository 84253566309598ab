import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { inboxPrefix, orderPath, NatsKeyValueStore, NatsBus, quiesce } from '../../../bus/index.js';
import { isLiveFeed, openFeed, type AnyFeed } from '../../../agents/data/index.js';
import type { RiskLimits, SymbolRule } from '../../../agents/risk/index.js';
import type { VenueSymbolRule } from '../../../agents/execution/index.js';
import { newsFileSource, rssNewsSource, type NewsSource } from '../../../agents/sentiment/index.js';
import type { Config } from '../../../config/index.js';
import {
  versionOf,
  type Bus,
  rootEnvelope,
  type EnvelopeDeps,
  subjects,
  type AgentName,
  type BusRole,
  systemClock,
  type Clock,
  ulidSource,
  type Logger,
  redactConfig,
} from '../../core/index.js';
import { Metrics } from '../../infra/observability/index.js';
import { RecordingTap } from '../../infra/recording/index.js';
import { readStrategiesFile } from '../../infra/strategies/index.js';
import { PersistedSpend, type Store, Recorder, serveStoreQueries, WriteWatch } from '../../infra/store/index.js';
import { PartitionCoordinator } from '../../runtime/index.js';
import {
  type BuiltParts,
  type Part,
  type SystemPlan,
  catchUpPlan,
  type CatchUpPlan,
  Checkpointer,
  processKey,
  type ProcessCheckpoint,
  tradingSettingsFrom,
  loadStrategies,
  type KernelDeps,
  type TradingSettings,
} from '../kernel/index.js';

/** A live system's plan and the handles its interfaces need. */
export interface LivePlan {
  /** The plan for buildSystem (no interfaces: the composition root adds them). */
  readonly plan: SystemPlan;
  readonly runId: string;
  /** True when this start resumed from a checkpoint. */
  readonly resumed: boolean;
  readonly metrics: Metrics;
  /** Whether the store takes writes (what /ready reports); undefined without a store. */
  readonly writeWatch: WriteWatch | undefined;
  /** Resolves when catching up after a crash is done: people's orders wait for it. */
  readonly accepting: Promise<void>;
  /** The recorder, once built (with a store that records). */
  recorder(): Recorder | undefined;
}

/** How far before a checkpoint's capture a restart reads back its own outputs (clock skew to the NATS server). */
const RECOVER_MARGIN_MS = 30_000;

/**
 * Plans a live process (`sextant start`, `sextant agent <name>`): wall clock, ULIDs, the bus the
 * configuration asks for (NATS when NATS_URL is set, in-memory otherwise), the recorder into the
 * store, and the agents this process runs, resumed from its last checkpoint when the store has
 * one (and, on the in-memory bus, caught up with the event log after it). The store is open and
 * this plan closes it at stop.
 */
export async function planLive(
  config: Config,
  logger: Logger,
  agents: readonly AgentName[],
  store: Store | undefined,
  options: {
    readonly notableLevel?: 'info' | 'debug';
    /**
     * The process's role on the bus (an agent, `recorder`, `api`, `bots`): its replies arrive on
     * `_INBOX.<role>`, which the role's NATS user may read (bus/nats-permissions.ts). None for
     * `sextant start` (every agent: the admin user, or a server without authorization).
     */
    readonly role?: BusRole;
  } = {},
): Promise<LivePlan> {
  const clock = systemClock;
  const ids = ulidSource();
  const source = `sextant/${config.instance}`;
  const key = processKey(config.instance, agents);
  const saved = store ? await store.snapshots.load(key) : undefined;
  const resume = saved?.state as ProcessCheckpoint | undefined;
  const runId = saved?.runId ?? ids.next();
  const metrics = new Metrics();
  // news files are read now: a bad line stops start-up naming file and line, before anything trades
  const sentiment = agents.includes('sentiment')
    ? await sentimentPorts(config, logger, clock, store, metrics)
    : undefined;
  const feedStart =
    resume?.feed?.startTime ?? Math.floor(clock.now() / config.data.synthetic.barMs) * config.data.synthetic.barMs;
  const feed = agents.includes('data') ? await openDataFeed(config, feedStart, clock, logger, resume?.feed) : undefined;
  const live = feed !== undefined && isLiveFeed(feed);
  let skip = 0;
  // a live feed is not replayable: a restart warms up again from the venue (no skip, no catch-up)
  if (feed && resume?.feed && !live) {
    if (resume.feed.name === feed.name) skip = resume.feed.published;
    else
      logger.warn(
        { was: resume.feed.name, now: feed.name },
        'the data feed changed since the checkpoint; it starts from its beginning',
      );
  }
  if (store && !saved) {
    // the run id goes to the store before anything trades: a crash before the first checkpoint
    // restarts the same run (same derived ids, the same client order ids at a venue)
    // an empty event log: whatever this run appends before its first checkpoint is caught up with after a crash
    const fromStart = (await store.events.count()) === 0 ? { log: { after: '' } } : {};
    const initial: ProcessCheckpoint = {
      agents: {},
      capturedAt: clock.now(),
      ...fromStart,
      ...(feed ? { feed: { name: feed.name, published: 0, startTime: feedStart } } : {}),
    };
    await store.snapshots.save({ key, seq: 0, runId, savedAt: Date.now(), state: initial });
  }
  const envelope: EnvelopeDeps = { ids, clock, source };
  let recorder: Recorder | undefined;
  let writeWatch: WriteWatch | undefined;
  let settings: TradingSettings | undefined;
  // Catching up after a crash (one process, in-memory bus): the event log after the checkpoint is
  // made again before anything new comes in (src/app/kernel/catch-up.ts); people's orders wait for it.
  let caughtUp: () => void = () => undefined;
  const accepting = new Promise<void>((resolve) => (caughtUp = resolve));

  const links = async ({ bus }: { bus: Bus }): Promise<Part[]> => {
    const parts: Part[] = [];
    if (store) parts.push({ name: 'close the store', stage: 'store', stop: () => store.close() });
    const record =
      store !== undefined &&
      (config.store.record === 'on' ||
        (config.store.record === 'auto' && (bus.kind === 'memory' || agents.length > 1)));
    // a store that cannot persist stops trading, and /ready says so (src/infra/store/write-watch.ts)
    writeWatch = store
      ? new WriteWatch({ bus, envelope, log: logger, store: store.kind, failState: config.store.failureState })
      : undefined;
    const r = (recorder = record
      ? new Recorder(bus, store, logger, {
          maxBuffered: config.store.bufferMax,
          overflow: config.store.overflow,
          ...(writeWatch ? { watch: writeWatch } : {}),
          onHalt: (reason) => haltTrading(bus, envelope, reason),
          // over NATS with the recording stream the event log reads it (durable: nothing lost across restarts)
          fromStream: bus.kind === 'nats' && config.recordingStream.on,
        })
      : undefined);
    settings = await tradingSettingsWithBroker(config, logger);
    const tap = config.recordingDir ? await openTap(config, runId, settings, logger) : undefined;
    if (tap) {
      tap.attach(bus);
      parts.push({ name: 'close the recording file', stage: 'persistence', stop: () => tap.close() });
    }
    if (r)
      parts.push({
        name: 'stop the recorder (writes what it holds)',
        stage: 'persistence',
        start: () => r.start(),
        stop: () => r.stop(),
      });
    // the event log's writer answers from it (trace, events, fills, order log): in a deployment the
    // recorder, the only role allowed to serve these (bus/nats-permissions.ts)
    if (store && r) {
      let queries: ReturnType<typeof serveStoreQueries> = [];
      parts.push({
        name: 'stop the store queries',
        stage: 'observers',
        start: () => void (queries = serveStoreQueries(bus, store, envelope)),
        stop: () => Promise.all(queries.map((q) => q.drain().catch(() => undefined))).then(() => undefined),
      });
    }
    parts.push({
      name: 'stop the metrics',
      stage: 'observers',
      start: () => metrics.attach(bus),
      stop: () => metrics.detach(),
    });
    return parts;
  };

  const agentsPlan = async ({ bus }: { bus: Bus }): Promise<Omit<KernelDeps, 'bus' | 'clock' | 'ids' | 'logger'>> => {
    const catchUp =
      resume?.log && store && recorder && feed && !live && resume.feed?.name === feed.name && bus.kind === 'memory'
        ? await catchUpFrom(store, resume.log.after, config.instance, agents, logger)
        : undefined;
    if (!catchUp) caughtUp();
    const partitions = await partitionCoordinators(config, bus, agents, logger);
    const r = recorder;
    logger.info(
      { config: redactConfig(config), agents, bus: bus.kind, store: store?.kind ?? 'off', runId },
      'sextant starting',
    );
    if (bus.kind === 'nats' && !config.recordingStream.on && store !== undefined)
      logger.warn(
        { key: 'RECORDING_JETSTREAM' },
        'RECORDING_JETSTREAM is off: over NATS the event log taps core NATS and a restarted agent resumes from its checkpoint without replaying what it handled after it (the compose file and the Helm chart turn it on; see "What survives a crash over NATS" in the README)',
      );
    if (feed && config.data.feed === 'synthetic' && config.data.paceMs > 0) {
      const speed = config.data.synthetic.barMs / config.data.paceMs;
      logger.info(
        { marketTimeFrom: new Date(feedStart).toISOString(), speed },
        `synthetic market: one ${config.data.synthetic.barMs / 1000} s bar every ${config.data.paceMs} ms, so market time (shown on bars, orders and PnL days) runs ${speed}x the wall clock`,
      );
    }
    if (saved)
      logger.info(
        { runId, checkpoint: saved.seq, savedAt: new Date(saved.savedAt).toISOString(), feedPosition: skip },
        'resuming from the last checkpoint',
      );
    return {
      instance: config.instance,
      runId,
      heartbeatMs: config.runtime.heartbeatMs,
      ...(options.notableLevel ? { notableLevel: options.notableLevel } : {}),
      agents,
      settings: settings!,
      // own outputs published after the capture are read back (a margin covers server clock
      // skew); after the first start's checkpoint, which holds no agent, nothing before it is theirs
      ...(resume
        ? {
            restore: resume.agents,
            ...(resume.chains ? { restoreChains: resume.chains } : {}),
            ...(resume.inputs ? { restoreInputs: resume.inputs } : {}),
            recoverSince:
              (resume.capturedAt ?? saved!.savedAt) - (Object.keys(resume.agents).length === 0 ? 0 : RECOVER_MARGIN_MS),
          }
        : {}),
      ...(feed
        ? {
            feed: {
              feed,
              pump: {
                // a live feed is paced by the market
                paceMs: live ? 0 : config.data.paceMs,
                guard: config.data.guard,
                skip,
                ...(catchUp
                  ? {
                      catchUp: {
                        items: catchUp.feedItems,
                        inject: (at: number) => catchUp.inject.get(at) ?? [],
                        done: caughtUp,
                      },
                    }
                  : {}),
                ...(r ? { gate: () => r.whenWritable() } : {}),
              },
            },
          }
        : {}),
      ...(partitions ? { partitions } : {}),
      ...(sentiment ? { sentiment } : {}),
    };
  };

  const started = ({ bus, kernel }: BuiltParts): Part[] => {
    bus.publish(
      subjects.runStarted(),
      rootEnvelope(
        envelope,
        'run.started',
        {
          runId,
          instance: config.instance,
          agents: [...agents],
          settings: settingsJson(settings!),
          resumed: Object.keys(resume?.agents ?? {}).length > 0,
        },
        { v: versionOf('run.started') },
      ),
    );
    if (!store || agents.length === 0) return [];
    const checkpointer = new Checkpointer({
      kernel,
      bus,
      snapshots: store.snapshots,
      log: logger,
      key,
      runId,
      seq: saved?.seq ?? 0,
      intervalMs: config.store.checkpointMs,
      ...(writeWatch ? { watch: writeWatch } : {}),
      ...(recorder ? { recorder } : {}),
      ...(feed ? { feed: { name: feed.name, startTime: feedStart } } : {}),
    });
    return [
      {
        name: 'take the last checkpoint',
        stage: 'checkpoint',
        start: () => checkpointer.start(),
        stop: () => checkpointer.stop(),
      },
    ];
  };

  return {
    plan: {
      mode: 'live',
      clock,
      ids,
      logger,
      source,
      ...(store ? { store } : {}),
      bus: {
        observer: metrics.observer,
        natsUrl: config.natsUrl,
        ...(config.natsAuth ? { natsAuth: config.natsAuth } : {}),
        ...(options.role ? { inboxPrefix: inboxPrefix(options.role) } : {}),
        name: `sextant-${agents.length === 1 ? agents[0] : 'all'}-${hostname()}-${config.instance}`,
        maxPayloadBytes: config.bus.maxPayloadBytes,
        requestTimeoutMs: config.bus.requestTimeoutMs,
        ...(config.bus.namespace ? { prefix: config.bus.namespace } : {}),
        // order messages are acknowledged once a checkpoint holds their effects (when one is kept)
        durable: orderPath(config.bus.namespace, store !== undefined, {
          throwaway: false,
          ackWaitMs: config.bus.ackWaitMs,
          ...(config.recordingStream.on
            ? { record: { maxAgeMs: config.recordingStream.maxAgeMs, maxBytes: config.recordingStream.maxBytes } }
            : {}),
        }),
      },
      links,
      agents: agentsPlan,
      started,
      busEnd: 'drain',
    },
    runId,
    resumed: saved !== undefined,
    metrics,
    get writeWatch() {
      return writeWatch;
    },
    accepting,
    recorder: () => recorder,
  };
}

/** Resolves when the data agent's feed has ended and the bus is quiet (never for an endless feed). */
export async function feedDone(system: BuiltParts): Promise<void> {
  await system.kernel.host('data')?.whenStarted();
  await quiesce(system.bus);
}

/**
 * The trading settings, with the live broker when configured (BROKER=ccxt or alpaca; the config
 * loader has already refused real money without LIVE_TRADING=true). ccxt or the Alpaca SDK is
 * loaded only then.
 */
async function tradingSettingsWithBroker(config: Config, logger: Logger): Promise<TradingSettings> {
  const configured = tradingSettingsFrom(config);
  const file = config.strategy.file;
  const instances = file ? readStrategiesFile(file) : configured.strategy;
  const settings = {
    ...configured,
    strategy: await loadStrategies(instances, { warn: (m) => logger.warn(m) }),
  };
  if (config.broker.kind === 'alpaca') {
    // the SDK is loaded only for an Alpaca broker
    const { AlpacaBroker } = await import('../../../agents/execution/alpaca-broker.js');
    const a = config.broker.alpaca;
    const broker = new AlpacaBroker({
      keyId: a.apiKeyId!,
      secret: a.secretKey!,
      paper: a.paper,
      symbolMap: a.symbols,
      tradingUrl: a.urls.trading,
      timeoutMs: a.timeoutMs,
      log: logger.child({ component: 'alpaca-broker' }),
    });
    if (a.paper) logger.warn({ broker: broker.name }, "orders go to Alpaca's paper account (BROKER=alpaca)");
    else logger.warn({ broker: broker.name }, 'LIVE TRADING: orders go to Alpaca with real money (LIVE_TRADING=true)');
    return { ...settings, broker, pollMs: config.broker.pollMs };
  }
  if (config.broker.kind !== 'ccxt') return settings;
  const { CcxtBroker } = await import('../../../agents/execution/ccxt-broker.js');
  const c = config.broker.ccxt;
  const broker = new CcxtBroker({
    exchange: c.exchange!,
    apiKey: c.apiKey!,
    secret: c.secret!,
    sandbox: c.sandbox,
    symbolMap: c.symbols,
    timeoutMs: c.timeoutMs,
    restUrl: c.urls.rest,
  });
  if (c.sandbox)
    logger.warn({ broker: broker.name }, 'orders go to the venue testnet (BROKER=ccxt, CCXT_SANDBOX=true)');
  else logger.warn({ broker: broker.name }, 'LIVE TRADING: orders go to the venue with real money (LIVE_TRADING=true)');
  // risk checks lots, minimums and ticks by the venue's own market rules where it gives them
  const symbols = Object.keys(c.symbols);
  const venue = await broker.symbolRules(symbols).catch((err: unknown) => {
    logger.warn(
      { err, broker: broker.name },
      "the venue's market rules could not be read; risk checks lots and ticks by RISK_SYMBOL_RULES and its defaults",
    );
    return {};
  });
  const limits = { ...settings.limits, symbolRules: venueRules(settings.limits.symbolRules, venue) };
  return { ...settings, limits, broker, pollMs: config.broker.pollMs };
}

/** The venue's rules over the configured ones: a field the venue gives wins; the rest stays as configured. */
export function venueRules(
  configured: RiskLimits['symbolRules'],
  venue: Readonly<Record<string, VenueSymbolRule>>,
): NonNullable<RiskLimits['symbolRules']> {
  const rules: Record<string, SymbolRule> = { ...configured };
  for (const [symbol, rule] of Object.entries(venue)) rules[symbol] = { ...rules[symbol], ...rule };
  return rules;
}

/**
 * Scale-out (PARTITIONED_AGENTS, NATS only): a coordinator per shared agent over the JetStream
 * KV bucket `sextant_partitions[_<namespace>]`. On the in-memory bus one process runs everything.
 */
async function partitionCoordinators(
  config: Config,
  bus: Bus,
  agents: readonly AgentName[],
  logger: Logger,
): Promise<Partial<Record<AgentName, PartitionCoordinator>> | undefined> {
  const shared = agents.filter((a) => config.runtime.partitioned.includes(a));
  if (shared.length === 0) return undefined;
  if (!(bus instanceof NatsBus)) {
    logger.warn(
      { agents: shared },
      'PARTITIONED_AGENTS needs NATS_URL; on the in-memory bus this one process handles every symbol',
    );
    return undefined;
  }
  const kv = await NatsKeyValueStore.open(
    bus.connection,
    `sextant_partitions${config.bus.namespace ? `_${config.bus.namespace}` : ''}`,
  );
  return Object.fromEntries(
    shared.map((agent) => [
      agent,
      new PartitionCoordinator({
        agent,
        instance: config.instance,
        store: kv,
        log: logger,
        ttlMs: config.runtime.partitionTtlMs,
      }),
    ]),
  );
}

/**
 * The sentiment agent's news sources (SENTIMENT_NEWS_FILE, SENTIMENT_RSS_URLS) and its scorer:
 * the default one, or with SENTIMENT_SCORER=llm the LLM scorer over OPENAI_* (LangChain is
 * loaded only then), which falls back to the default one.
 */
async function sentimentPorts(
  config: Config,
  logger: Logger,
  clock: Clock,
  store: Store | undefined,
  metrics: Metrics,
): Promise<NonNullable<KernelDeps['sentiment']>> {
  const s = config.sentiment;
  const news: NewsSource[] = [];
  if (s.newsFile) {
    const file = newsFileSource(s.newsFile, {
      lenient: config.data.lenient,
      onSkip: (err) => logger.warn({ err: err.message }, 'news line skipped (DATA_LENIENT)'),
    });
    logger.info({ source: file.name }, 'news file read');
    news.push(file);
  }
  for (const url of s.rssUrls) news.push(rssNewsSource({ url, pollMs: s.rssPollMs, now: () => clock.now() }));
  // the scorers load only in a process that runs the sentiment agent
  const { createDefaultScorer } = await import('../../../agents/sentiment/scoring/index.js');
  if (s.scorer !== 'llm') return { mode: 'live', news, scorer: createDefaultScorer() };
  const { LlmScorer } = await import('../../../agents/sentiment/llm-scorer.js');
  const scorer = new LlmScorer({
    model: config.chat.model!,
    fallback: createDefaultScorer(),
    tokensPerDay: s.llmTokensPerDay,
    now: () => clock.now(),
    log: logger.child({ component: 'sentiment-llm' }),
    onUsage: (tokens) => metrics.llmUsage(tokens, 0, 'sentiment'),
    ...(store ? { spend: new PersistedSpend(store.snapshots, `budget:sentiment-llm:${config.instance}`, logger) } : {}),
  });
  logger.info(
    { scorer: scorer.name, tokensPerDay: s.llmTokensPerDay },
    'news is scored by the LLM scorer (the default scorer when over budget or failing)',
  );
  return { mode: 'live', news, scorer };
}

/** The settings as JSON (the broker by name): what a recording says the run traded with. */
function settingsJson(settings: TradingSettings): Record<string, unknown> {
  const { broker, ...json } = settings;
  return { ...json, broker: broker?.name ?? 'paper' };
}

/** A recording of this start (a new file each time: a replay starts from a fresh start's state). */
async function openTap(
  config: Config,
  runId: string,
  settings: TradingSettings,
  logger: Logger,
): Promise<RecordingTap> {
  await mkdir(config.recordingDir!, { recursive: true });
  const file = join(config.recordingDir!, `${runId}-${new Date().toISOString().replace(/[:.]/g, '-')}.ndjson.gz`);
  const tap = await RecordingTap.open(
    file,
    { runId, source: 'tap', instance: config.instance, settings: settingsJson(settings) },
    (err, lines) =>
      logger.error(
        { err, lines, file },
        'could not write to the recording; these lines are missing from it (trading goes on)',
      ),
  );
  logger.info({ file }, 'recording every bus message');
  return tap;
}

/** Trips the risk kill switch (the store cannot keep up): the only way anything reaches risk. */
function haltTrading(bus: Bus, deps: EnvelopeDeps, reason: string): void {
  const env = rootEnvelope(
    deps,
    'risk.command',
    { command: 'halt', reason, by: 'system:store-overflow' },
    { v: versionOf('risk.command') },
  );
  bus.publish(subjects.systemRiskCommand('halt'), env);
}

async function openDataFeed(
  config: Config,
  startTime: number,
  clock: Clock,
  logger: Logger,
  /** The feed of the checkpoint (a live feed resumes after its last bars). */
  resume?: { readonly name: string; readonly lastBars?: Readonly<Record<string, number>> },
): Promise<AnyFeed> {
  const d = config.data;
  switch (d.feed) {
    case 'ccxt': {
      // ccxt is loaded only for a live feed
      const { CcxtFeed } = await import('../../../agents/data/feeds/ccxt-feed.js');
      const c = config.broker.ccxt;
      return new CcxtFeed({
        exchange: c.exchange!,
        symbols: Object.fromEntries(d.symbols.map((sym) => [sym, c.symbols[sym]!])),
        timeframe: d.live.timeframe,
        warmupBars: d.live.warmupBars,
        urls: c.urls,
        now: () => clock.now(),
        graceMs: d.live.graceMs,
        backoff: { baseMs: config.broker.retry.baseDelayMs * 10, maxMs: config.broker.retry.maxDelayMs },
        timeoutMs: c.timeoutMs,
        log: logger.child({ component: 'ccxt-feed' }),
        ...(resume ? { resume } : {}),
      });
    }
    case 'alpaca': {
      // the Alpaca SDK is loaded only for its live feed
      const { AlpacaFeed } = await import('../../../agents/data/feeds/alpaca-feed.js');
      const a = config.broker.alpaca;
      return new AlpacaFeed({
        keyId: a.apiKeyId!,
        secret: a.secretKey!,
        symbols: Object.fromEntries(d.symbols.map((sym) => [sym, a.symbols[sym]!])),
        feed: a.dataFeed,
        warmupBars: d.live.warmupBars,
        urls: a.urls,
        now: () => clock.now(),
        backoff: { baseMs: config.broker.retry.baseDelayMs * 10, maxMs: config.broker.retry.maxDelayMs },
        timeoutMs: a.timeoutMs,
        log: logger.child({ component: 'alpaca-feed' }),
        ...(resume ? { resume } : {}),
      });
    }
    case 'synthetic':
      return openFeed({
        feed: 'synthetic',
        symbols: d.symbols,
        seed: d.synthetic.seed,
        startPrice: d.synthetic.startPrice,
        drift: d.synthetic.drift,
        volatility: d.synthetic.volatility,
        barMs: d.synthetic.barMs,
        // Live synthetic bars are stamped from the first start on, one bar length apart.
        startTime,
      });
    case 'csv':
      return openFeed({
        feed: 'csv',
        file: d.file!,
        symbol: d.symbols[0]!,
        lenient: d.lenient,
        ...(d.csvMap !== undefined ? { mapFile: d.csvMap } : {}),
      });
    case 'ndjson':
      return openFeed({ feed: 'ndjson', file: d.file!, lenient: d.lenient });
    default:
      throw new Error(`DATA_FEED: ${String(d.feed)} is not a feed`);
  }
}

/**
 * The catch-up plan from the event log after the checkpoint's mark, or undefined (nothing to catch up, or the mark is
 * not in the log).
 */
async function catchUpFrom(
  store: Store,
  after: string,
  instance: string,
  agents: readonly AgentName[],
  logger: Logger,
): Promise<CatchUpPlan | undefined> {
  const tail = await store.events.after(after);
  if (!tail) {
    logger.warn(
      { after },
      'the event log does not hold the message the checkpoint was taken after; resuming from the checkpoint alone',
    );
    return undefined;
  }
  const plan = catchUpPlan(tail, {
    dataSource: `data/${instance}`,
    own: new Set(agents.map((a) => `${a}/${instance}`)),
  });
  logger.info(
    { feedItems: plan.feedItems, outside: plan.outside },
    'catching up with the event log after the checkpoint before taking new input',
  );
  return plan.feedItems > 0 || plan.outside > 0 ? plan : undefined;
}
