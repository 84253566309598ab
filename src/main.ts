import { hostname } from 'node:os';
import { createBus } from '../bus/create-bus.js';
import type { Bus } from '../bus/bus.js';
import type { AgentName } from '../bus/subjects.js';
import { openFeed } from '../agents/data/feeds/open-feed.js';
import type { Config } from '../config/config.js';
import { redactConfig } from '../config/redact.js';
import { createRegistry } from './domain/messages.js';
import { Kernel, tradingSettingsFrom } from './kernel.js';
import type { Logger } from './observability/logger.js';
import { systemClock } from './runtime/clock.js';
import { ulidSource } from './runtime/ids.js';

export interface RunningSystem {
  readonly bus: Bus;
  readonly kernel: Kernel;
  /** Drains subscriptions, stops agents, closes the bus. Idempotent. */
  stop(): Promise<void>;
}

/**
 * The composition root: the only place that knows every concrete class. Builds, in order,
 * clock, ids, registry, bus (NATS when NATS_URL is set, in-memory otherwise), then the agents
 * this process runs (all of them for `sextant start`, one for `sextant agent <name>`).
 */
export async function startSystem(config: Config, logger: Logger, agents: readonly AgentName[]): Promise<RunningSystem> {
  const clock = systemClock;
  const ids = ulidSource();
  const registry = createRegistry();
  const source = `sextant/${config.instance}`;
  const bus = await createBus({
    natsUrl: config.natsUrl,
    name: `sextant-${agents.length === 1 ? agents[0] : 'all'}-${hostname()}-${config.instance}`,
    registry,
    envelopeDeps: { ids, clock, source },
    logger,
    maxPayloadBytes: config.bus.maxPayloadBytes,
    requestTimeoutMs: config.bus.requestTimeoutMs,
  });
  const feed = agents.includes('data') ? openDataFeed(config) : undefined;
  const kernel = new Kernel({
    bus,
    clock,
    ids,
    logger,
    instance: config.instance,
    heartbeatMs: config.runtime.heartbeatMs,
    agents,
    settings: tradingSettingsFrom(config),
    ...(feed ? { feed: { feed, pump: { paceMs: config.data.paceMs } } } : {}),
  });
  logger.info({ config: redactConfig(config), agents, bus: bus.kind }, 'sextant starting');
  await kernel.start();
  let stopping: Promise<void> | undefined;
  return {
    bus,
    kernel,
    stop: () =>
      (stopping ??= (async () => {
        await kernel.stop();
        await bus.drain().catch((err: unknown) => logger.warn({ err }, 'bus drain failed'));
        logger.info('sextant stopped');
      })()),
  };
}

function openDataFeed(config: Config) {
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
        // Live synthetic bars are stamped from now on, one bar length apart.
        startTime: Math.floor(systemClock.now() / d.synthetic.barMs) * d.synthetic.barMs,
      });
    case 'csv':
      return openFeed({ feed: 'csv', file: d.file!, symbol: d.symbols[0]!, lenient: d.lenient });
    case 'ndjson':
      return openFeed({ feed: 'ndjson', file: d.file!, lenient: d.lenient });
  }
}
