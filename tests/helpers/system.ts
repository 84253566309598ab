import type { Bus } from '../../src/core/messaging/bus.js';
import type { Envelope } from '../../src/core/messaging/envelope.js';
import { patterns, type AgentName } from '../../src/core/messaging/subjects.js';
import type { MarketFeed } from '../../agents/data/feeds/feed.js';
import { unboundedLimits } from '../../agents/risk/limits.js';
import { createRegistry } from '../../src/core/domain/messages.js';
import { buildSystem } from '../../src/app/kernel/build-system.js';
import type { Kernel, KernelDeps, TradingSettings } from '../../src/app/kernel/kernel.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import type { MessageTracer } from '../../src/core/ports/tracing.js';
import { VirtualClock } from '../../src/core/ports/clock.js';
import { sequentialIds } from '../../src/core/ports/ids.js';
import { testBusOptions, testPrefix, type TestBusOptions, type TransportName } from './buses.js';

export interface TestSystemOptions {
  readonly agents: readonly AgentName[];
  readonly settings?: Partial<TradingSettings>;
  readonly feed?: MarketFeed;
  /** Bars between quiescence barriers of the feed pump. */
  readonly batch?: number;
  /** Wall-clock pause between bars (a market that keeps going while a test breaks something). */
  readonly paceMs?: number;
  /** Awaited by the feed pump after each paced bar: a test holds the market until a condition holds. */
  readonly gate?: () => Promise<void>;
  readonly clockStart?: number;
  /** The run id message ids derive from (default: none, the host's own). */
  readonly runId?: string;
  /** The sentiment agent's ports (scorer, news sources), when it runs. */
  readonly sentiment?: KernelDeps['sentiment'];
  readonly requestTimeoutMs?: number;
  /** Runs on the bus before any agent starts (extra links a test needs from the first bar on). */
  readonly beforeStart?: (bus: Bus) => void;
  /** Bus settings beyond the transport (a server of the test's own, order-path options, namespace). */
  readonly bus?: Pick<TestBusOptions, 'natsUrl' | 'durableOptions' | 'durable'> & { readonly prefix?: string };
  /** Tracing (the SDK's in-memory exporter in tests). */
  readonly tracer?: MessageTracer;
}

export interface TestSystem {
  readonly bus: Bus;
  readonly kernel: Kernel;
  readonly clock: VirtualClock;
  readonly prefix: string;
  /** Every envelope seen on the bus, in arrival order. */
  readonly seen: Envelope[];
  of(type: string): Envelope[];
  stop(): Promise<void>;
}

const defaults: TradingSettings = {
  strategy: { kind: 'sma-cross', id: 'sma-cross', fast: 10, slow: 30, size: 100 },
  limits: unboundedLimits,
  costs: { feeBps: 0, feePerShare: 0, slippageBps: 0 },
  startCash: 100_000,
};

/** Agents of one process on a fresh bus (own namespace), with a catch-all recorder; started. */
export async function startTestSystem(transport: TransportName, options: TestSystemOptions): Promise<TestSystem> {
  const prefix = options.bus?.prefix ?? testPrefix();
  const {
    envelopeDeps,
    registry: _registry,
    ...bus
  } = testBusOptions(transport, {
    registry: createRegistry(),
    prefix,
    ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}),
    ...(options.bus?.natsUrl ? { natsUrl: options.bus.natsUrl } : {}),
    ...(options.bus?.durableOptions ? { durableOptions: options.bus.durableOptions } : {}),
    ...(options.bus?.durable !== undefined ? { durable: options.bus.durable } : {}),
  });
  const seen: Envelope[] = [];
  const clock = new VirtualClock(options.clockStart ?? 0);
  const system = await buildSystem({
    mode: 'test',
    clock,
    ids: sequentialIds(prefix),
    logger: silentLogger,
    source: `test/${prefix}`,
    bus: { ...bus, envelope: envelopeDeps },
    ...(options.tracer ? { tracer: options.tracer } : {}),
    links: ({ bus }) => {
      bus.subscribe(patterns.all, (env) => void seen.push(env));
      options.beforeStart?.(bus);
      return [];
    },
    agents: () => ({
      instance: prefix,
      heartbeatMs: 0,
      agents: options.agents,
      settings: { ...defaults, ...options.settings },
      ...(options.runId ? { runId: options.runId } : {}),
      ...(options.sentiment ? { sentiment: options.sentiment } : {}),
      ...(options.feed
        ? {
            feed: {
              feed: options.feed,
              pump: {
                paceMs: options.paceMs ?? 0,
                batch: options.batch ?? 250,
                ...(options.gate ? { gate: options.gate } : {}),
              },
            },
          }
        : {}),
    }),
  });
  await system.start();
  await system.bus.flush();
  const { kernel } = system;
  return {
    bus: system.bus,
    kernel,
    clock,
    prefix,
    seen,
    of: (type) => seen.filter((e) => e.type === type),
    stop: () => system.stop(),
  };
}
