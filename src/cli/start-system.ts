import { Hono } from 'hono';
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { serve, type ServerType } from '@hono/node-server';
import { AgentTracker } from '../../interfaces/commands/agent-tracker.js';
import { createApi, type ApiDeps } from '../../interfaces/http/app.js';
import type { CommandRouter } from '../../interfaces/commands/registry.js';
import { createCommandRouter } from '../../interfaces/commands/router.js';
import { busServices, type CommandServices } from '../../interfaces/commands/services.js';
import { MarketClock } from '../../interfaces/commands/market-clock.js';
import { WriteWatch } from '../infra/store/write-watch.js';
import { catchUpPlan, type CatchUpPlan } from '../app/kernel/catch-up.js';
import type { ChatAgent } from '../../interfaces/chat/chat-agent.js';
import { Metrics } from '../infra/observability/metrics.js';
import { Notifier } from '../../interfaces/notify/notifier.js';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { RecordingTap } from '../infra/recording/recording.js';
import { NatsKeyValueStore } from '../../bus/key-value.js';
import { NatsBus } from '../../bus/nats-bus.js';
import { PartitionCoordinator } from '../runtime/partitions.js';
import { createBus, orderPath } from '../../bus/create-bus.js';
import type { Bus } from '../core/messaging/bus.js';
import type { AgentName } from '../core/messaging/subjects.js';
import { openFeed } from '../../agents/data/feeds/open-feed.js';
import type { Config } from '../../config/config.js';
import { redactConfig } from '../core/util/redact.js';
import { createRegistry, versionOf } from '../core/domain/messages.js';
import { Kernel, tradingSettingsFrom, type KernelDeps, type TradingSettings } from '../app/kernel/kernel.js';
import { newsFileSource } from '../../agents/sentiment/news/news-file.js';
import { rssNewsSource } from '../../agents/sentiment/news/rss-feed.js';
import type { NewsSource } from '../../agents/sentiment/news/source.js';
import type { Logger } from '../core/ports/logger.js';
import { systemClock } from '../core/ports/clock.js';
import { ulidSource, type IdSource } from '../core/ports/ids.js';
import { quiesce } from '../../bus/quiesce.js';
import { Checkpointer, processKey, type ProcessCheckpoint } from '../app/kernel/checkpointer.js';
import { openStore } from '../app/kernel/open-store.js';
import type { Store } from '../infra/store/ports.js';
import { Recorder } from '../infra/store/recorder.js';
import { PersistedSpend } from '../infra/store/daily-spend.js';
import { serveStoreQueries } from '../infra/store/store-queries.js';
import { rootEnvelope, type EnvelopeDeps } from '../core/messaging/envelope.js';
import { subjects } from '../core/messaging/subjects.js';

export interface RunningSystem {
  readonly bus: Bus;
  readonly kernel: Kernel;
  /** The store, unless STORE=off. */
  readonly store: Store | undefined;
  readonly recorder: Recorder | undefined;
  readonly runId: string;
  /** True when this start resumed from a checkpoint. */
  readonly resumed: boolean;
  /** The one command router (REPL, bots, chat) over this process's bus. */
  readonly commands: CommandRouter<CommandServices>;
  /** The conversational agent over the router (the offline parser without OPENAI_API_KEY); with `api` or `chat`. */
  readonly chat: ChatAgent | undefined;
  /** Whether the store takes writes (what /ready reports; trading is stopped while it does not). */
  writes(): { ok: boolean; detail?: string };
  /** Resolves when the data agent's feed has ended (never for an endless feed). */
  feedDone(): Promise<void>;
  /** Stops the feed, checkpoints, drains subscriptions, stops agents, closes store and bus. Idempotent. */
  stop(): Promise<void>;
}

/**
 * The composition root: the only place that knows every concrete class. Builds, in order,
 * clock, ids, registry, store (MongoDB, embedded or none), bus (NATS when NATS_URL is set,
 * in-memory otherwise), the recorder, then the agents this process runs (all of them for
 * `sextant start`, one for `sextant agent <name>`), resumed from the process's last checkpoint
 * when the store has one.
 */
export async function startSystem(config: Config, logger: Logger, agents: readonly AgentName[], options: { readonly api?: boolean; readonly chat?: boolean; readonly bots?: boolean; /** An open store to use instead of the configured one (tests: one that fails on demand). */ readonly store?: Store } = {}): Promise<RunningSystem> {
  const clock = systemClock;
  const ids = ulidSource();
  const registry = createRegistry();
  const source = `sextant/${config.instance}`;
  const store = options.store ?? (await openStore(config, logger, agents));
  try {
    return await startOn(store, { config, logger, agents, clock, ids, registry, source, api: options.api ?? false, chat: options.chat ?? false, bots: options.bots ?? options.api ?? false });
  } catch (err) {
    await store?.close().catch(() => undefined);
    throw err;
  }
}

interface Parts {
  /** Serve the HTTP API on PORT (`sextant start`; tests and single-agent processes do not). */
  readonly api: boolean;
  /** A terminal chat will talk to this process. */
  readonly chat: boolean;
  /** Run the Telegram and Discord bots the configuration enables (`sextant start`, `sextant bots`). */
  readonly bots: boolean;
  readonly config: Config;
  readonly logger: Logger;
  readonly agents: readonly AgentName[];
  readonly clock: typeof systemClock;
  readonly ids: IdSource;
  readonly registry: ReturnType<typeof createRegistry>;
  readonly source: string;
}

async function startOn(store: Store | undefined, p: Parts): Promise<RunningSystem> {
  const { config, logger, agents, clock, ids } = p;
  const key = processKey(config.instance, agents);
  const saved = store ? await store.snapshots.load(key) : undefined;
  const resume = saved?.state as ProcessCheckpoint | undefined;
  const runId = saved?.runId ?? ids.next();
  const metrics = new Metrics();
  // news files are read now: a bad line stops start-up naming file and line, before anything trades
  const sentiment = agents.includes('sentiment') ? await sentimentPorts(config, logger, clock, store, metrics) : undefined;
  const bus = await createBus({
    observer: metrics.observer,
    natsUrl: config.natsUrl,
    name: `sextant-${agents.length === 1 ? agents[0] : 'all'}-${hostname()}-${config.instance}`,
    registry: p.registry,
    envelopeDeps: { ids, clock, source: p.source },
    logger,
    maxPayloadBytes: config.bus.maxPayloadBytes,
    requestTimeoutMs: config.bus.requestTimeoutMs,
    ...(config.bus.namespace ? { prefix: config.bus.namespace } : {}),
    // order messages are acknowledged once a checkpoint holds their effects (when one is kept)
    durable: orderPath(config.bus.namespace, store !== undefined, {
      throwaway: false,
      ackWaitMs: config.bus.ackWaitMs,
      ...(config.recordingStream.on ? { record: { maxAgeMs: config.recordingStream.maxAgeMs, maxBytes: config.recordingStream.maxBytes } } : {}),
    }),
  });
  const feedStart = resume?.feed?.startTime ?? Math.floor(clock.now() / config.data.synthetic.barMs) * config.data.synthetic.barMs;
  const feed = agents.includes('data') ? openDataFeed(config, feedStart) : undefined;
  let skip = 0;
  if (feed && resume?.feed) {
    if (resume.feed.name === feed.name) skip = resume.feed.published;
    else logger.warn({ was: resume.feed.name, now: feed.name }, 'the data feed changed since the checkpoint; it starts from its beginning');
  }
  if (store && !saved) {
    // the run id goes to the store before anything trades: a crash before the first checkpoint
    // restarts the same run (same derived ids, the same client order ids at a venue)
    // an empty event log: whatever this run appends before its first checkpoint is caught up with after a crash
    const fromStart = (await store.events.count()) === 0 ? { log: { after: '' } } : {};
    const initial: ProcessCheckpoint = { agents: {}, capturedAt: clock.now(), ...fromStart, ...(feed ? { feed: { name: feed.name, published: 0, startTime: feedStart } } : {}) };
    await store.snapshots.save({ key, seq: 0, runId, savedAt: Date.now(), state: initial });
  }
  const record = store !== undefined && (config.store.record === 'on' || (config.store.record === 'auto' && (bus.kind === 'memory' || agents.length > 1)));
  // a store that cannot persist stops trading, and /ready says so (src/store/write-watch.ts)
  const writeWatch = store ? new WriteWatch({ bus, envelope: { ids, clock, source: p.source }, log: logger, store: store.kind, failState: config.store.failureState }) : undefined;
  const recorder = record
    ? new Recorder(bus, store, logger, {
        maxBuffered: config.store.bufferMax,
        overflow: config.store.overflow,
        ...(writeWatch ? { watch: writeWatch } : {}),
        onHalt: (reason) => haltTrading(bus, { ids, clock, source: p.source }, reason),
      })
    : undefined;
  // Catching up after a crash (one process, in-memory bus): the event log after the checkpoint is
  // made again before anything new comes in (src/store/catch-up.ts); people's orders wait for it.
  let caughtUp: () => void = () => undefined;
  const accepting = new Promise<void>((resolve) => (caughtUp = resolve));
  const plan = resume?.log && store && recorder && feed && resume.feed?.name === feed.name && bus.kind === 'memory' ? await catchUpFrom(store, resume.log.after, config.instance, agents, logger) : undefined;
  if (!plan) caughtUp();
  const settings = await tradingSettingsWithBroker(config, logger);
  const partitions = await partitionCoordinators(config, bus, agents, logger);
  const tap = config.recordingDir ? await openTap(config, runId, settings, logger) : undefined;
  tap?.attach(bus);
  const kernel = new Kernel({
    bus,
    clock,
    ids,
    logger,
    instance: config.instance,
    runId,
    heartbeatMs: config.runtime.heartbeatMs,
    agents,
    settings,
    // own outputs published after the capture are read back (a margin covers server clock skew)
    ...(resume ? { restore: resume.agents, ...(resume.chains ? { restoreChains: resume.chains } : {}), recoverSince: (resume.capturedAt ?? saved!.savedAt) - RECOVER_MARGIN_MS } : {}),
    ...(feed ? { feed: { feed, pump: { paceMs: config.data.paceMs, guard: config.data.guard, skip, ...(plan ? { catchUp: { items: plan.feedItems, inject: (at: number) => plan.inject.get(at) ?? [], done: caughtUp } } : {}), ...(recorder ? { gate: () => recorder.whenWritable() } : {}) } } } : {}),
    ...(partitions ? { partitions } : {}),
    ...(sentiment ? { sentiment } : {}),
  });
  logger.info({ config: redactConfig(config), agents, bus: bus.kind, store: store?.kind ?? 'off', runId }, 'sextant starting');
  if (feed && config.data.feed === 'synthetic' && config.data.paceMs > 0) {
    const speed = config.data.synthetic.barMs / config.data.paceMs;
    logger.info({ marketTimeFrom: new Date(feedStart).toISOString(), speed }, `synthetic market: one ${config.data.synthetic.barMs / 1000} s bar every ${config.data.paceMs} ms, so market time (shown on bars, orders and PnL days) runs ${speed}x the wall clock`);
  }
  if (saved) logger.info({ runId, checkpoint: saved.seq, savedAt: new Date(saved.savedAt).toISOString(), feedPosition: skip }, 'resuming from the last checkpoint');
  await recorder?.start();
  const storeQueries = store ? serveStoreQueries(bus, store, { ids, clock, source: p.source }) : [];
  metrics.attach(bus);
  // an API process runs no agents: readiness expects the deployment's (AGENTS)
  const tracker = new AgentTracker(agents.length > 0 ? agents : config.runtime.agents, config.runtime.heartbeatMs);
  tracker.attach(bus);
  // people's orders are decided at the market's event time, whatever pace the feed runs at
  const marketClock = new MarketClock(bus, clock);
  const commands = createCommandRouter(busServices({ bus, envelope: { ids, clock, source: `commands/${config.instance}` }, decisionClock: marketClock, accepting: () => accepting, agents: () => tracker.report(), timeoutMs: config.bus.requestTimeoutMs }));
  // LangChain loads only where someone can talk (the API, a terminal chat), not in agent processes
  const { ChatAgent } = p.api || p.chat || p.bots ? await import('../../interfaces/chat/chat-agent.js') : { ChatAgent: undefined };
  const chat = ChatAgent && new ChatAgent({
    router: commands as CommandRouter<unknown>,
    ...(config.chat.model ? { model: config.chat.model } : {}),
    ...(store ? { conversations: store.conversations } : {}),
    bus,
    envelope: { ids, clock, source: `chat/${config.instance}` },
    budget: config.chat.budget,
    memoryMessages: config.chat.memoryMessages,
    now: () => clock.now(),
    log: logger.child({ component: 'chat' }),
    onUsage: (tokens, cost) => metrics.llmUsage(tokens, cost),
    // the day's spend survives a restart (a crash loop must not spend the budget again)
    ...(store ? { spend: new PersistedSpend(store.snapshots, `budget:chat:${config.instance}`, logger) } : {}),
  });
  // Telegram in webhook mode posts to the API; the route exists from the start and answers 503 until the bot is up
  const telegramHook: { handler?: (req: Request) => Promise<Response> } = {};
  const webhooks = p.bots && config.telegram.token && config.telegram.webhook
    ? new Map([[new URL(config.telegram.webhook.url).pathname, (req: Request) => (telegramHook.handler ? telegramHook.handler(req) : Promise.resolve(new Response(null, { status: 503 })))]])
    : undefined;
  // the API listens before anything trades: a port in use stops start-up here, not half-way
  // a bots-only process serves /health and the webhook, never the API (its port faces Telegram)
  const server = !p.api && p.bots && config.port > 0 ? await serveBotsHttp(config.port, webhooks, logger) : p.api && config.port > 0 ? await serveApi(config, { bus, store, metrics, agents: tracker, commands, ...(chat ? { chat } : {}), ...(webhooks ? { webhooks } : {}), envelope: { ids, clock, source: `api/${config.instance}` }, decisionClock: marketClock, accepting: () => accepting, ...(writeWatch ? { writes: () => writeWatch.health() } : {}), log: logger.child({ component: 'api' }) }).catch(async (err: unknown) => {
    await bus.close().catch(() => undefined);
    throw new Error(`cannot serve the HTTP API on port ${config.port} (PORT): ${(err as Error).message}`, { cause: err });
  }) : undefined;
  try {
    await kernel.start();
  } catch (err) {
    await server?.close();
    await kernel.stop().catch(() => undefined);
    await bus.close().catch(() => undefined);
    throw err;
  }
  bus.publish(subjects.runStarted(), rootEnvelope({ ids, clock, source: p.source }, 'run.started', { runId, instance: config.instance, agents: [...agents], settings: settingsJson(settings), resumed: Object.keys(resume?.agents ?? {}).length > 0 }, { v: versionOf('run.started') }));
  const checkpointer = store && agents.length > 0
    ? new Checkpointer({ kernel, bus, snapshots: store.snapshots, log: logger, key, runId, seq: saved?.seq ?? 0, intervalMs: config.store.checkpointMs, ...(writeWatch ? { watch: writeWatch } : {}), ...(recorder ? { recorder } : {}), ...(feed ? { feed: { name: feed.name, startTime: feedStart } } : {}) })
    : undefined;
  checkpointer?.start();
  // the bots start in the background: a slow or unreachable chat service never holds up trading or checkpoints
  const bots = p.bots ? startBots(config, { bus, commands, chat, log: logger, telegramHook }) : Promise.resolve([]);
  let stopping: Promise<void> | undefined;
  return {
    bus,
    kernel,
    store,
    recorder,
    runId,
    resumed: saved !== undefined,
    commands,
    chat,
    writes: () => writeWatch?.health() ?? { ok: true },
    feedDone: async () => {
      await kernel.host('data')?.whenStarted();
      await quiesce(bus);
    },
    stop: () =>
      (stopping ??= (async () => {
        await server?.close(); // first: no order may come in after the last checkpoint
        await kernel.stopFeed();
        await quiesce(bus).catch(() => undefined);
        await checkpointer?.stop();
        for (const b of await bots) await b.stop().catch((err: unknown) => logger.warn({ err }, 'a bot did not stop cleanly'));
        await kernel.stop();
        await metrics.detach();
        await tracker.detach();
        await Promise.all(storeQueries.map((q) => q.drain().catch(() => undefined)));
        await recorder?.stop();
        await tap?.close();
        await store?.close();
        await bus.drain().catch((err: unknown) => logger.warn({ err }, 'bus drain failed'));
        logger.info('sextant stopped');
      })()),
  };
}

/**
 * The trading settings, with the live broker when configured (BROKER=ccxt; the config loader has
 * already refused real money without LIVE_TRADING=true). ccxt is loaded only then.
 */
async function tradingSettingsWithBroker(config: Config, logger: Logger): Promise<TradingSettings> {
  const settings = tradingSettingsFrom(config);
  if (config.broker.kind !== 'ccxt') return settings;
  const { CcxtBroker } = await import('../../agents/execution/ccxt-broker.js');
  const c = config.broker.ccxt;
  const broker = new CcxtBroker({ exchange: c.exchange!, apiKey: c.apiKey!, secret: c.secret!, sandbox: c.sandbox, symbolMap: c.symbols, timeoutMs: c.timeoutMs });
  if (c.sandbox) logger.warn({ broker: broker.name }, 'orders go to the venue testnet (BROKER=ccxt, CCXT_SANDBOX=true)');
  else logger.warn({ broker: broker.name }, 'LIVE TRADING: orders go to the venue with real money (LIVE_TRADING=true)');
  return { ...settings, broker, pollMs: config.broker.pollMs };
}

/**
 * The chat bots the configuration enables (TELEGRAM_BOT_TOKEN, DISCORD_TOKEN), with a notifier
 * for both; each is loaded only when enabled. Returned in the order to stop them.
 */
async function startBots(config: Config, deps: { bus: Bus; commands: CommandRouter<CommandServices>; chat: ChatAgent | undefined; log: Logger; telegramHook: { handler?: (req: Request) => Promise<Response> } }): Promise<{ stop(): Promise<void> }[]> {
  if (!config.telegram.token && !config.discord.token) return [];
  const notifier = new Notifier(deps.bus);
  notifier.start();
  const started: { stop(): Promise<void> }[] = [];
  if (config.telegram.token) {
    const { createTelegramBot } = await import('../../interfaces/telegram/bot.js');
    const telegram = createTelegramBot({
      token: config.telegram.token,
      ...(config.telegram.apiRoot ? { apiRoot: config.telegram.apiRoot } : {}),
      router: deps.commands,
      ...(deps.chat ? { chat: deps.chat } : {}),
      notifier,
      users: config.telegram.users,
      groups: config.telegram.groups,
      rateLimitPerMinute: config.telegram.rateLimitPerMinute,
      log: deps.log.child({ component: 'telegram' }),
      polling: config.telegram.webhook === undefined,
      ...(config.telegram.webhook ? { webhook: { url: config.telegram.webhook.url, secretToken: config.telegram.webhook.secret } } : {}),
    });
    // a bot that cannot start (a bad token, no network) is said loudly; trading goes on without it
    try {
      await telegram.start();
      if (config.telegram.webhook) deps.telegramHook.handler = telegram.webhook({ secretToken: config.telegram.webhook.secret });
      deps.log.info({ users: config.telegram.users.length, groups: config.telegram.groups.length, mode: config.telegram.webhook ? 'webhook' : 'polling' }, 'Telegram bot started');
      started.push(telegram);
    } catch (err) {
      deps.log.error({ err: (err as Error).message }, 'the Telegram bot could not start; running without it');
    }
  }
  if (config.discord.token) {
    const { createDiscordBot } = await import('../../interfaces/discord/bot.js');
    const discord = createDiscordBot({
      token: config.discord.token,
      applicationId: config.discord.applicationId!, // the config requires it with DISCORD_TOKEN
      ...(config.discord.guildId ? { guildId: config.discord.guildId } : {}),
      router: deps.commands,
      ...(deps.chat ? { chat: deps.chat } : {}),
      notifier,
      ...(config.discord.notifyChannelId ? { notifyChannelId: config.discord.notifyChannelId } : {}),
      users: config.discord.users,
      roles: config.discord.roles,
      log: deps.log.child({ component: 'discord' }),
    });
    try {
      await discord.start();
      deps.log.info({ users: config.discord.users.length, roles: config.discord.roles.length, scope: config.discord.guildId ? 'guild' : 'global' }, 'Discord bot connected');
      started.push(discord);
    } catch (err) {
      deps.log.error({ err: (err as Error).message }, 'the Discord bot could not start; running without it');
    }
  }
  started.push({ stop: () => notifier.stop() });
  return started;
}

/**
 * Scale-out (PARTITIONED_AGENTS, NATS only): a coordinator per shared agent over the JetStream
 * KV bucket `sextant_partitions[_<namespace>]`. On the in-memory bus one process runs everything.
 */
async function partitionCoordinators(config: Config, bus: Bus, agents: readonly AgentName[], logger: Logger): Promise<Partial<Record<AgentName, PartitionCoordinator>> | undefined> {
  const shared = agents.filter((a) => config.runtime.partitioned.includes(a));
  if (shared.length === 0) return undefined;
  if (!(bus instanceof NatsBus)) {
    logger.warn({ agents: shared }, 'PARTITIONED_AGENTS needs NATS_URL; on the in-memory bus this one process handles every symbol');
    return undefined;
  }
  const store = await NatsKeyValueStore.open(bus.connection, `sextant_partitions${config.bus.namespace ? `_${config.bus.namespace}` : ''}`);
  return Object.fromEntries(shared.map((agent) => [agent, new PartitionCoordinator({ agent, instance: config.instance, store, log: logger })]));
}

/**
 * The sentiment agent's news sources (SENTIMENT_NEWS_FILE, SENTIMENT_RSS_URLS) and its scorer:
 * the default one, or with SENTIMENT_SCORER=llm the LLM scorer over OPENAI_* (LangChain is
 * loaded only then), which falls back to the default one.
 */
async function sentimentPorts(config: Config, logger: Logger, clock: typeof systemClock, store: Store | undefined, metrics: Metrics): Promise<NonNullable<KernelDeps['sentiment']>> {
  const s = config.sentiment;
  const news: NewsSource[] = [];
  if (s.newsFile) {
    const file = newsFileSource(s.newsFile, { lenient: config.data.lenient, onSkip: (err) => logger.warn({ err: err.message }, 'news line skipped (DATA_LENIENT)') });
    logger.info({ source: file.name }, 'news file read');
    news.push(file);
  }
  for (const url of s.rssUrls) news.push(rssNewsSource({ url, pollMs: s.rssPollMs, now: () => clock.now() }));
  // the scorers load only in a process that runs the sentiment agent
  const { createDefaultScorer } = await import('../../agents/sentiment/scoring/index.js');
  if (s.scorer !== 'llm') return { mode: 'live', news, scorer: createDefaultScorer() };
  const { LlmScorer } = await import('../../agents/sentiment/llm-scorer.js');
  const scorer = new LlmScorer({
    model: config.chat.model!,
    fallback: createDefaultScorer(),
    tokensPerDay: s.llmTokensPerDay,
    now: () => clock.now(),
    log: logger.child({ component: 'sentiment-llm' }),
    onUsage: (tokens) => metrics.llmUsage(tokens, 0, 'sentiment'),
    ...(store ? { spend: new PersistedSpend(store.snapshots, `budget:sentiment-llm:${config.instance}`, logger) } : {}),
  });
  logger.info({ scorer: scorer.name, tokensPerDay: s.llmTokensPerDay }, 'news is scored by the LLM scorer (the default scorer when over budget or failing)');
  return { mode: 'live', news, scorer };
}

/** Listens on `port` with a fetch handler; `close` also drops open connections. */
async function listen(fetch: (req: Request) => Response | Promise<Response>, port: number): Promise<{ close(): Promise<void> }> {
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch, port }, () => resolve(s));
    s.once('error', reject);
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // idle keep-alive connections and open event streams would hold the close for seconds
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

/** What `sextant bots` serves: `/health` (the container's health check) and the Telegram webhook, nothing else. */
async function serveBotsHttp(port: number, webhooks: ReadonlyMap<string, (req: Request) => Promise<Response>> | undefined, logger: Logger): Promise<{ close(): Promise<void> }> {
  const app = new Hono();
  app.get('/health', (c) => c.json({ status: 'ok' }));
  for (const [path, handler] of webhooks ?? []) app.post(path, (c) => handler(c.req.raw));
  const server = await listen(app.fetch, port);
  logger.info({ port, webhooks: [...(webhooks?.keys() ?? [])] }, 'bots HTTP (health, webhooks) listening');
  return server;
}

/** Serves the HTTP API on PORT until stopped. */
async function serveApi(config: Config, deps: Pick<ApiDeps, 'bus' | 'store' | 'metrics' | 'agents' | 'chat' | 'commands' | 'envelope' | 'decisionClock' | 'accepting' | 'writes' | 'log' | 'webhooks'>): Promise<{ close(): Promise<void> }> {
  const app = createApi({
    ...deps,
    // a token's name (logs, origins, idempotency keys) comes from its hash: stable when the list is reordered
    tokens: config.api.tokens.map((t) => ({ ...t, name: `${t.role}-${createHash('sha256').update(t.token).digest('hex').slice(0, 8)}` })),
    metricsOpen: config.api.metricsOpen,
    rateLimitPerMinute: config.api.rateLimitPerMinute,
    corsOrigins: config.api.corsOrigins,
    requestTimeoutMs: config.bus.requestTimeoutMs,
  });
  const server = await listen(app.fetch, config.port);
  deps.log.info({ port: config.port, tokens: config.api.tokens.length }, 'HTTP API listening');
  return server;
}

/** The settings as JSON (the broker by name): what a recording says the run traded with. */
function settingsJson(settings: TradingSettings): Record<string, unknown> {
  const { broker, ...json } = settings;
  return { ...json, broker: broker?.name ?? 'paper' };
}

/** A recording of this start (a new file each time: a replay starts from a fresh start's state). */
async function openTap(config: Config, runId: string, settings: TradingSettings, logger: Logger): Promise<RecordingTap> {
  await mkdir(config.recordingDir!, { recursive: true });
  const file = join(config.recordingDir!, `${runId}-${new Date().toISOString().replace(/[:.]/g, '-')}.ndjson.gz`);
  const tap = await RecordingTap.open(file, { runId, source: 'tap', instance: config.instance, settings: settingsJson(settings) }, (err, lines) =>
    logger.error({ err, lines, file }, 'could not write to the recording; these lines are missing from it (trading goes on)'),
  );
  logger.info({ file }, 'recording every bus message');
  return tap;
}

/** How far before a checkpoint's capture a restart reads back its own outputs (clock skew to the NATS server). */
const RECOVER_MARGIN_MS = 30_000;

/** Trips the risk kill switch (the store cannot keep up): the only way anything reaches risk. */
function haltTrading(bus: Bus, deps: EnvelopeDeps, reason: string): void {
  const env = rootEnvelope(deps, 'risk.command', { command: 'halt', reason, by: 'store' }, { v: versionOf('risk.command') });
  bus.publish(subjects.riskCommand(), env);
}

function openDataFeed(config: Config, startTime: number) {
  const d = config.data;
  switch (d.feed) {
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
      return openFeed({ feed: 'csv', file: d.file!, symbol: d.symbols[0]!, lenient: d.lenient });
    case 'ndjson':
      return openFeed({ feed: 'ndjson', file: d.file!, lenient: d.lenient });
  }
}

/** The catch-up plan from the event log after the checkpoint's mark, or undefined (nothing to catch up, or the mark is not in the log). */
async function catchUpFrom(store: Store, after: string, instance: string, agents: readonly AgentName[], logger: Logger): Promise<CatchUpPlan | undefined> {
  const tail = await store.events.after(after);
  if (!tail) {
    logger.warn({ after }, 'the event log does not hold the message the checkpoint was taken after; resuming from the checkpoint alone');
    return undefined;
  }
  const plan = catchUpPlan(tail, { dataSource: `data/${instance}`, own: new Set(agents.map((a) => `${a}/${instance}`)) });
  logger.info({ feedItems: plan.feedItems, outside: plan.outside }, 'catching up with the event log after the checkpoint before taking new input');
  return plan.feedItems > 0 || plan.outside > 0 ? plan : undefined;
}
