import {
  AgentTracker,
  type CommandRouter,
  createCommandRouter,
  busServices,
  type CommandServices,
  MarketClock,
} from '../../interfaces/commands/index.js';
import { serveApi, serveBotsHttp, serveMetricsHttp } from '../../interfaces/http/index.js';
import type { ChatAgent } from '../../interfaces/chat/chat-agent.js';
import type { Bus, AgentName, BusRole, Logger, MessageTracer } from '../core/index.js';
import { isLiveFeedName, type Config } from '../../config/index.js';
import { buildSystem, type BuiltParts, type Part, type Kernel, openStore } from '../app/kernel/index.js';
import { feedDone, planLive } from '../app/live/index.js';
import { type Store, type Recorder, PersistedSpend } from '../infra/store/index.js';
import { openTracing } from '../infra/observability/index.js';
import { startBots } from './bots.js';

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
  /** The shutdown steps `stop` runs, in order. */
  shutdown(): string[];
  /** Stops the feed, checkpoints, drains subscriptions, stops agents, closes store and bus. Idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Serve the HTTP API on PORT (`sextant start`; tests and single-agent processes do not). */
  readonly api?: boolean;
  /** A terminal chat will talk to this process. */
  readonly chat?: boolean;
  /**
   * Run the Telegram and Discord bots the configuration enables (`sextant start`, `sextant bots`); default: with
   * `api`.
   */
  readonly bots?: boolean;
  /** The process's role on the bus (its NATS inbox; see planLive). */
  readonly role?: BusRole;
  /** An open store to use instead of the configured one (tests: one that fails on demand). */
  readonly store?: Store;
  /** A terminal that narrates the decisions (interfaces/terminal): the agents then log them at debug, not info. */
  readonly narrator?: { attach(bus: Bus): void; detach(): Promise<void> };
  /** Tracing to use instead of what the OTEL_* variables ask for (tests: the SDK's in-memory exporter). */
  readonly tracer?: MessageTracer;
}

/**
 * The composition root of a live process: the only place that knows every concrete class. The
 * store is opened (MongoDB, embedded or none), the live plan (src/app/live) adds clock, ids, bus,
 * recorder and the agents this process runs (all of them for `sextant start`, one for `sextant
 * agent <name>`); this file adds the interfaces: the command router, the conversational agent,
 * the HTTP API and the bots. One builder (src/app/kernel/build-system.ts) makes and stops it all.
 */
export async function startSystem(
  config: Config,
  logger: Logger,
  agents: readonly AgentName[],
  options: StartOptions = {},
): Promise<RunningSystem> {
  const p = { api: options.api ?? false, chat: options.chat ?? false, bots: options.bots ?? options.api ?? false };
  // OpenTelemetry only when the OTEL_* variables ask for it (no SDK is loaded otherwise); a bad setting stops start-up
  const tracer =
    options.tracer ??
    (await openTracing(process.env, {
      serviceName: `sextant-${agents.length === 1 ? agents[0] : (options.role ?? 'all')}`,
      logger,
    }));
  const store = options.store ?? (await openStore(config, logger, agents));
  let live;
  try {
    live = await planLive(config, logger, agents, store, {
      ...(options.narrator ? { notableLevel: 'debug' as const } : {}),
      ...(options.role ? { role: options.role } : {}),
    });
  } catch (err) {
    await store?.close().catch(() => undefined);
    await tracer?.shutdown().catch(() => undefined);
    throw err;
  }
  const { metrics, accepting } = live;
  let commands: CommandRouter<CommandServices> | undefined;
  let chat: ChatAgent | undefined;
  // Telegram in webhook mode posts to the API; the route exists from the start and answers 503 until the bot is up
  const telegramHook: { handler?: (req: Request) => Promise<Response> } = {};

  const interfaces = async ({ bus, clock, ids }: BuiltParts): Promise<Part[]> => {
    const parts: Part[] = [];
    const narrator = options.narrator;
    if (narrator) {
      // attached before the agents start: the first decision is told too
      narrator.attach(bus);
      parts.push({ name: 'stop narrating', stage: 'observers', stop: () => narrator.detach() });
    }
    // an API process runs no agents: readiness expects the deployment's (AGENTS)
    const t = new AgentTracker(agents.length > 0 ? agents : config.runtime.agents, config.runtime.heartbeatMs);
    t.attach(bus);
    parts.push({ name: 'stop the agent tracker', stage: 'observers', stop: () => t.detach() });
    // people's orders are decided at the market's event time, whatever pace the feed runs at (the
    // wall clock on a live feed: a stale feed must look stale to risk)
    const marketClock = new MarketClock(bus, clock, isLiveFeedName(config.data.feed));
    commands = createCommandRouter(
      busServices({
        bus,
        envelope: { ids, clock, source: `commands/${config.instance}` },
        decisionClock: marketClock,
        market: marketClock,
        accepting: () => accepting,
        agents: () => t.report(),
        timeoutMs: config.bus.requestTimeoutMs,
        tracer,
      }),
    );
    // LangChain loads only where someone can talk (the API, a terminal chat), not in agent processes
    const { ChatAgent } =
      p.api || p.chat || p.bots ? await import('../../interfaces/chat/chat-agent.js') : { ChatAgent: undefined };
    chat =
      ChatAgent &&
      new ChatAgent({
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
        ...(store
          ? {
              spend: new PersistedSpend(store.snapshots, `budget:chat:${config.instance}`, logger),
              // each person's and each role's spend too (CHAT_TOKENS_PER_PERSON_PER_DAY, CHAT_TOKENS_PER_ROLE_PER_DAY)
              spendOf: (key: string) =>
                new PersistedSpend(store.snapshots, `budget:chat:${config.instance}:${key}`, logger),
            }
          : {}),
      });
    const webhooks =
      p.bots && config.telegram.token && config.telegram.webhook
        ? new Map([
            [
              new URL(config.telegram.webhook.url).pathname,
              (req: Request) =>
                telegramHook.handler ? telegramHook.handler(req) : Promise.resolve(new Response(null, { status: 503 })),
            ],
          ])
        : undefined;
    // the API listens before anything trades: a port in use stops start-up here, not half-way
    // a bots-only process serves /health and the webhook, never the API (its port faces Telegram)
    const writeWatch = live.writeWatch;
    const server =
      !p.api && p.bots && config.port > 0
        ? await serveBotsHttp(config.port, webhooks, logger)
        : p.api && config.port > 0
          ? await serveApi(config, {
              bus,
              store,
              metrics,
              agents: t,
              commands,
              ...(chat ? { chat } : {}),
              ...(webhooks ? { webhooks } : {}),
              envelope: { ids, clock, source: `api/${config.instance}` },
              decisionClock: marketClock,
              knownSymbols: () => marketClock.symbols(),
              accepting: () => accepting,
              ...(writeWatch ? { writes: () => writeWatch.health() } : {}),
              log: logger.child({ component: 'api' }),
              tracer,
            }).catch((err: unknown) => {
              throw new Error(`cannot serve the HTTP API on port ${config.port} (PORT): ${(err as Error).message}`, {
                cause: err,
              });
            })
          : undefined;
    // first at stop: no order may come in after the last checkpoint
    if (server) parts.push({ name: 'close the HTTP server', stage: 'intake', stop: () => server.close() });
    // a process without the API shows its own registry (its handlers' latencies, its dead letters) on METRICS_PORT
    const servesApi = p.api && config.port > 0;
    const metricsServer =
      !servesApi && config.metricsPort > 0
        ? await serveMetricsHttp(config.metricsPort, metrics, logger).catch(async (err: unknown) => {
            await server?.close();
            throw new Error(
              `cannot serve /metrics on port ${config.metricsPort} (METRICS_PORT): ${(err as Error).message}`,
              {
                cause: err,
              },
            );
          })
        : undefined;
    if (metricsServer)
      parts.push({ name: 'close the metrics HTTP server', stage: 'observers', stop: () => metricsServer.close() });
    return parts;
  };

  const started = async (system: BuiltParts): Promise<Part[]> => {
    const parts = [...(await live.plan.started!(system))];
    // the bots start in the background: a slow or unreachable chat service never holds up trading or checkpoints
    if (p.bots) {
      const bots = startBots(config, { bus: system.bus, commands: commands!, chat, log: logger, telegramHook });
      parts.push({
        name: 'stop the bots',
        stage: 'services',
        stop: async () => {
          for (const b of await bots)
            await b.stop().catch((err: unknown) => logger.warn({ err }, 'a bot did not stop cleanly'));
        },
      });
    }
    return parts;
  };

  const system = await buildSystem({ ...live.plan, interfaces, started, tracer }).catch(async (err: unknown) => {
    await store?.close().catch(() => undefined); // the bus never came up: nothing else was made
    await tracer?.shutdown().catch(() => undefined);
    throw err;
  });
  await system.start(); // a failure here has stopped whatever had started, the store included
  let stopping: Promise<void> | undefined;
  return {
    bus: system.bus,
    kernel: system.kernel,
    store,
    recorder: live.recorder(),
    runId: live.runId,
    resumed: live.resumed,
    commands: commands!,
    chat,
    writes: () => live.writeWatch?.health() ?? { ok: true },
    feedDone: () => feedDone(system),
    shutdown: () => system.shutdown(),
    stop: () => (stopping ??= system.stop().then(() => logger.info('sextant stopped'))),
  };
}
