import { createBus, type CreateBusOptions, quiesce } from '../../../bus/index.js';
import {
  type Bus,
  type EnvelopeDeps,
  createRegistry,
  type SchemaRegistry,
  type Clock,
  type IdSource,
  type Logger,
  type MessageTracer,
} from '../../core/index.js';
import type { Store } from '../../infra/store/index.js';
import { Kernel, type KernelDeps } from './kernel.js';

/**
 * Why a system is built: `live` (sextant start, sextant agent), `backtest`, `replay`, `test`.
 * Only a live system stops gracefully (no new input, the bus settles, a last checkpoint).
 */
export type SystemMode = 'live' | 'backtest' | 'replay' | 'test';

/**
 * When a part stops. A system stops stage by stage in this order, the builder's own steps
 * (feed, settle, agents, bus) in between; within a stage, parts stop in reverse of their start.
 */
export const STOP_STAGES = ['intake', 'checkpoint', 'services', 'observers', 'persistence', 'store'] as const;
export type StopStage = (typeof STOP_STAGES)[number];

/** Something a system runs beside its agents: a recorder, a recording, an HTTP server, a bot. */
export interface Part {
  /** Said in logs and in `shutdown`: what stops. */
  readonly name: string;
  readonly stage: StopStage;
  /** Runs at system start, in order, before the agents start (links) or after (started parts). */
  start?(): Promise<void> | void;
  stop(): Promise<void> | void;
}

/** What a plan's later steps are given: the ports and parts built before them. */
export interface SystemParts {
  readonly mode: SystemMode;
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly logger: Logger;
  readonly registry: SchemaRegistry;
  readonly store: Store | undefined;
  readonly bus: Bus;
  /** The envelope ports of this process's own messages (ids, clock, `source`). */
  readonly envelope: EnvelopeDeps;
}

/** The agents of this process: the kernel's settings beyond the ports the builder supplies. */
export type AgentsPlan = Omit<KernelDeps, 'bus' | 'clock' | 'ids' | 'logger'>;

/**
 * How to build one system. The builder makes, in this fixed order: the schema registry, the bus
 * (on the clock and ids given), the links (whatever must hear the bus before the first agent
 * does), the kernel (market cache, then the agents); at start the links start, the interfaces
 * open, the agents start, then the parts that need running agents.
 */
export interface SystemPlan {
  readonly mode: SystemMode;
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly logger: Logger;
  /** The publisher of the process's own messages (`sextant/<instance>`, `backtest/<runId>`). */
  readonly source: string;
  /** The transport: createBus's settings without the ports the builder supplies. */
  readonly bus: Omit<CreateBusOptions, 'registry' | 'envelopeDeps' | 'logger'> & {
    /** The bus's own envelopes (dead letters, failed requests); default: the system's. */
    readonly envelope?: EnvelopeDeps;
  };
  /** An open store the parts use (closing it is a part's job: the store stage). */
  readonly store?: Store;
  /** Subscriptions and taps made before any agent subscribes (recorder, recording, read models, reports). */
  readonly links?: (parts: SystemParts) => Promise<readonly Part[]> | readonly Part[];
  readonly agents: (parts: SystemParts) => Promise<AgentsPlan> | AgentsPlan;
  /** Opened at start after the links, before any agent starts: a port in use stops start-up before anything trades. */
  readonly interfaces?: (system: BuiltParts) => Promise<readonly Part[]>;
  /** Started once the agents run (a checkpointer, the bots, the run announcement). */
  readonly started?: (system: BuiltParts) => Promise<readonly Part[]> | readonly Part[];
  /** How the bus ends at stop: `drain` lets the last messages out (live), `close` (default) does not wait. */
  readonly busEnd?: 'drain' | 'close';
  /**
   * Tracing (off when unset): the bus records a producer span per message, the agents a
   * consumer span per handled message; flushed and shut down after the bus, the last step.
   */
  readonly tracer?: MessageTracer | undefined;
}

export interface BuiltParts extends SystemParts {
  readonly kernel: Kernel;
}

export interface BuiltSystem extends BuiltParts {
  /** Starts the links, opens the interfaces, starts the agents, then the started parts. */
  start(): Promise<void>;
  /** The names of the shutdown steps, in the order `stop` runs them. */
  shutdown(): string[];
  /** Runs the shutdown steps; a failing step is logged and the next one runs. Idempotent. */
  stop(): Promise<void>;
}

interface Step {
  readonly name: string;
  run(): Promise<void> | void;
}

/**
 * Builds a system: the one place where a bus and agents are made, for every mode. Nothing runs
 * until `start`. When building or starting fails, what was made is stopped and the bus closed.
 */
export async function buildSystem(plan: SystemPlan): Promise<BuiltSystem> {
  const { clock, ids, logger, mode } = plan;
  const registry = createRegistry();
  const envelope: EnvelopeDeps = { ids, clock, source: plan.source };
  const { envelope: busEnvelope, ...transport } = plan.bus;
  const { tracer } = plan;
  const bus = await createBus({ ...transport, registry, envelopeDeps: busEnvelope ?? envelope, logger, tracer });
  const parts: SystemParts = { mode, clock, ids, logger, registry, store: plan.store, bus, envelope };
  const running: Part[] = [];
  let kernel: Kernel | undefined;
  let stopping: Promise<void> | undefined;

  const steps = (): Step[] => {
    const out: Step[] = [];
    const stage = (s: StopStage) => {
      for (const p of running.filter((r) => r.stage === s).reverse()) out.push({ name: p.name, run: () => p.stop() });
    };
    stage('intake');
    if (mode === 'live' && kernel) {
      const k = kernel;
      out.push(
        { name: 'stop the feed', run: () => k.stopFeed() },
        { name: 'let the bus settle', run: () => quiesce(bus) },
      );
    }
    stage('checkpoint');
    stage('services');
    if (kernel) out.push({ name: 'stop the agents', run: () => kernel!.stop() });
    stage('observers');
    stage('persistence');
    stage('store');
    out.push(
      plan.busEnd === 'drain'
        ? { name: 'drain the bus', run: () => bus.drain() }
        : { name: 'close the bus', run: () => bus.close() },
    );
    if (tracer) out.push({ name: 'export the last spans', run: () => tracer.shutdown() });
    return out;
  };

  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      for (const step of steps()) {
        try {
          await step.run();
        } catch (err) {
          logger.warn({ err, step: step.name }, 'a shutdown step failed; the next one runs');
        }
      }
    })());

  const adopt = async (made: readonly Part[] | undefined, start: boolean) => {
    for (const part of made ?? []) {
      if (start) await part.start?.();
      running.push(part);
    }
  };

  let links: readonly Part[] = [];
  try {
    links = (await plan.links?.(parts)) ?? [];
    kernel = new Kernel({ ...(await plan.agents(parts)), bus, clock, ids, logger, tracer });
  } catch (err) {
    // nothing has started: the links made so far are let go with the bus
    running.push(...links);
    await stop();
    throw err;
  }
  const built: BuiltParts = { ...parts, kernel };
  return {
    ...built,
    shutdown: () => steps().map((s) => s.name),
    stop,
    start: async () => {
      try {
        await adopt(links, true);
        await adopt(await plan.interfaces?.(built), false);
        await built.kernel.start();
        await adopt(await plan.started?.(built), true);
      } catch (err) {
        await stop();
        throw err;
      }
    },
  };
}
