import { createActor, type Actor, type AnyStateMachine, type EventObject, type Snapshot } from 'xstate';
import type { Bus, MessageContext, Subscription } from '../core/messaging/bus.js';
import { deriveEnvelope, messageLogFields, rootEnvelope, type Envelope, type EnvelopeDeps } from '../core/messaging/envelope.js';
import { subjects } from '../core/messaging/subjects.js';
import { deadLetterEnvelope } from '../core/messaging/dead-letter.js';
import type { AgentHealth, LifecycleState, MessageType, PayloadOf } from '../core/domain/messages.js';
import { subjectFor, versionOf } from '../core/domain/messages.js';
import type { Logger } from '../core/ports/logger.js';
import type { AgentApi, AgentSpec, Inlet } from '../core/agent/agent-spec.js';
import { messageEvent } from '../core/agent/agent-spec.js';
import type { Clock } from '../core/ports/clock.js';
import { derivedId, derivedId3, idSeed, type IdSeed, type IdSource } from '../core/ports/ids.js';
import type { MarketCache } from '../core/agent/market-cache.js';
import { PartitionGate } from './partition-gate.js';
import type { PartitionCoordinator } from './partitions.js';
import { isEffect, type Emitted, type Outbound, type OutboxEmitted, type WithOutbox } from '../core/agent/outbound.js';

export interface RestartPolicy {
  /** First backoff; doubles per consecutive crash. */
  readonly initialMs: number;
  readonly maxMs: number;
  /** More crashes than this within `windowMs` and the agent is faulted (stops handling). */
  readonly maxRestarts: number;
  readonly windowMs: number;
}

/** Outputs worth a line at info level: decisions and order outcomes, not market data or marks. */
const NOTABLE: ReadonlySet<string> = new Set(['signal.generated', 'order.intent', 'order.approved', 'order.rejected', 'order.submitted', 'order.filled', 'order.cancelled', 'order.failed', 'market.feed-completed', 'risk.state', 'risk.command-result', 'sentiment.scored']);

export const defaultRestartPolicy: RestartPolicy = { initialMs: 100, maxMs: 5000, maxRestarts: 5, windowMs: 60_000 };

export interface AgentHostDeps {
  readonly bus: Bus;
  readonly ids: IdSource;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly market: MarketCache;
  readonly instance: string;
  /** Heartbeat period; 0 publishes health only on lifecycle changes (backtests). */
  readonly heartbeatMs: number;
  readonly restart?: RestartPolicy;
  /**
   * The run this process belongs to (kept across restarts by the store). Outputs caused by a
   * message get ids derived from run, agent, cause and position (see `derivedId`), so re-making
   * them after a crash or redelivery gives the same ids; default ''.
   */
  readonly runId?: string;
  /** Shares the agent's keys with its other instances (spec.partition); unset: this instance handles every key. */
  readonly partitions?: PartitionCoordinator;
}


/** What a chained output needs of its parent; kept in checkpoints so chains survive a restart. */
export type ChainRef = Pick<Envelope, 'id' | 'correlationId' | 'time'>;

/** Thrown to dead-letter messages that reach an agent that has given up after repeated crashes. */
export class AgentFaultedError extends Error {
  readonly code = 'agent_faulted';
  readonly retryable = true;
  constructor(agent: string, cause: unknown) {
    super(`agent ${agent} is faulted after repeated crashes and is not handling messages`, { cause });
    this.name = 'AgentFaultedError';
  }
}

/**
 * Runs one agent: its XState machine as an actor, bound to the bus. Messages become machine
 * events; the machine's outputs (its `emitOutbox` action, see outbound.ts) become envelopes (with correlation and causation set
 * from the message that caused them). Publishes lifecycle and heartbeats on
 * `agent.health.<name>`, answers `query.<what>` and `agent.control.<name>`, restarts a crashed
 * actor from its last good snapshot with backoff, and drains on stop.
 */
export class AgentHost<TContext extends WithOutbox = WithOutbox> {
  #actor!: Actor<AnyStateMachine>;
  #lifecycle: LifecycleState = 'stopped';
  #since = 0;
  #handled = 0;
  #restarts = 0;
  #crashTimes: number[] = [];
  #crash: unknown;
  #lastError: string | undefined;
  #restarting: Promise<void> | undefined;
  #current: Envelope | undefined;
  /** The machine event type of the current step and the number of outputs it has made. */
  #stepEvent = '';
  #stepOutputs = 0;
  #previous: Envelope | undefined;
  /** Outputs of the current step, kept only while an inlet wants to reply with one. */
  #capture: Envelope[] | undefined;
  #inStep = false;
  /** Reading back own outputs: anything the machine emits now was published already. */
  #recovering = false;
  /** Effects asked for whose results have not come back yet. */
  #effectsInFlight = 0;
  /** The spec's machine with the binding's `emitOutbox` (see #machine). */
  #provided: AnyStateMachine | undefined;
  /** Outboxes of the event being processed, published when its snapshot is in place. */
  #outboxes: (readonly Emitted[])[] = [];
  /** Outputs registered under a key (an order's submission): later outputs of that key chain to them. */
  readonly #chains = new Map<string, ChainRef>();
  readonly #subs: Subscription[] = [];
  #heartbeat: NodeJS.Timeout | undefined;
  #startTask: Promise<void> | undefined;
  #stopping = false;
  readonly #env: EnvelopeDeps;
  readonly #log: Logger;
  readonly #restartPolicy: RestartPolicy;
  /** The hash of run and agent, which every derived id of this agent starts with. */
  readonly #idSeed: IdSeed;
  /** Debug lines are per message; the level is checked once, not per message. */
  readonly #debug: boolean;
  /** Notable outputs (orders, fills) are logged at info: their fields are gathered only when it is on. */
  readonly #info: boolean;
  /** Scale-out: which messages this instance handles (spec.partition with a coordinator). */
  readonly #gate: PartitionGate | undefined;

  constructor(
    readonly spec: AgentSpec<TContext>,
    private readonly deps: AgentHostDeps,
  ) {
    this.#env = { ids: deps.ids, clock: deps.clock, source: `${spec.name}/${deps.instance}` };
    this.#log = deps.logger.child({ agent: spec.name });
    this.#debug = this.#log.isLevelEnabled('debug');
    this.#info = this.#log.isLevelEnabled('info');
    this.#restartPolicy = deps.restart ?? defaultRestartPolicy;
    this.#idSeed = idSeed([deps.runId ?? '', spec.name]);
    this.#gate = spec.partition && deps.partitions
      ? new PartitionGate(spec.partition as never, deps.partitions, { step: (event) => this.#step(undefined, event), context: () => this.context, log: this.#log })
      : undefined;
  }

  get name(): string {
    return this.spec.name;
  }

  get lifecycle(): LifecycleState {
    return this.#lifecycle;
  }

  get handled(): number {
    return this.#handled;
  }

  /** The machine's current context (read-only view for queries and tests). */
  get context(): TContext {
    return this.#actor.getSnapshot().context as TContext;
  }

  get machineState(): unknown {
    return this.#actor.getSnapshot().value;
  }

  /** True between steps with no effect in flight and no restart pending: a consistent point. */
  get idle(): boolean {
    return !this.#inStep && this.#effectsInFlight === 0 && !this.#restarting;
  }

  /** The open chains (key -> parent), JSON-able; what `start(snapshot, since, chains)` resumes them from. */
  persistedChains(): Record<string, ChainRef> {
    const out: Record<string, ChainRef> = {};
    for (const [key, { id, correlationId, time }] of this.#chains) out[key] = { id, correlationId, time };
    return out;
  }

  /** The machine's persisted snapshot (XState), JSON-able; what `start(snapshot)` resumes from. */
  persistedSnapshot(): Snapshot<unknown> {
    return this.spec.machine.getPersistedSnapshot(this.#actor.getSnapshot() as never) as Snapshot<unknown>;
  }

  /**
   * Starts the actor (from `snapshot` when resuming), catches up with its own outputs published
   * since `recoverSince` (epoch ms), subscribes the inlets and services, then runs the start hook.
   */
  async start(snapshot?: Snapshot<unknown>, recoverSince?: number, chains?: Readonly<Record<string, ChainRef>>): Promise<void> {
    this.#setLifecycle('starting');
    this.#spawn(snapshot);
    for (const [key, ref] of Object.entries(chains ?? {})) this.#chains.set(key, ref);
    const { bus } = this.deps;
    if (snapshot && recoverSince !== undefined) await this.#recover(recoverSince);
    for (const inlet of this.spec.inlets) {
      this.#subs.push(
        bus.subscribe(inlet.pattern, (env, ctx) => this.#onMessage(inlet, env, ctx), {
          name: this.spec.name,
          // on the bus's durable path (orders over JetStream) each inlet has its own consumer
          // partitioned instances each read every message (and keep what they own)
          durable: this.#gate ? `${this.spec.name}-${this.deps.instance}.${inlet.pattern}` : `${this.spec.name}.${inlet.pattern}`,
          // an instance of a scaled agent that is gone for a day leaves no consumer behind
          ...(this.#gate ? { durableInactiveMs: 86_400_000 } : {}),
          ...(inlet.shared ? { queue: this.spec.name } : {}),
        }),
      );
    }
    for (const q of this.spec.queries ?? []) {
      this.#subs.push(
        bus.serve(
          subjects.query(q.what),
          (req) => {
            const params = (req.payload as { params?: Record<string, unknown> }).params ?? {};
            return deriveEnvelope(this.#env, req, 'query.result', { data: q.answer(this.context, params) });
          },
          { name: `${this.spec.name}.query.${q.what}`, queue: `query.${q.what}` },
        ),
      );
    }
    this.#subs.push(
      bus.serve(subjects.agentControl(this.spec.name), (req) =>
        deriveEnvelope(this.#env, req, 'agent.synced', {
          agent: this.spec.name,
          instance: this.deps.instance,
          handled: this.#handled,
          published: bus.stats.published,
        }),
      ),
    );
    await bus.flush();
    // subscribed first, then a member: what arrives for a key it comes to own is parked, not lost
    await this.#gate?.start();
    this.#setLifecycle('running');
    if (this.deps.heartbeatMs > 0) {
      this.#heartbeat = setInterval(() => this.#publishHealth(), this.deps.heartbeatMs);
      this.#heartbeat.unref();
    }
    if (this.spec.onStart) {
      this.#startTask = Promise.resolve(this.spec.onStart(this.#api())).catch((err: unknown) => {
        this.#log.error({ err }, 'start hook failed');
        this.#lastError = (err as Error).message;
        this.#setLifecycle('faulted');
      });
    }
  }

  /** Hands the machine its own outputs published after the checkpoint (see AgentSpec.recover). */
  async #recover(since: number): Promise<void> {
    const { recover } = this.spec;
    const { bus } = this.deps;
    if (!recover || !bus.readBack) return;
    const own = (await bus.readBack(recover.pattern, since)).filter((env) => env.source === this.#env.source);
    let applied = 0;
    this.#recovering = true;
    try {
      for (const env of own) {
        const event = recover.toEvent(env);
        if (!event) continue;
        this.#step(env, event);
        const chain = recover.chain?.(env);
        if (chain?.key) this.#chains.set(chain.key, env);
        if (chain?.release) this.#chains.delete(chain.release);
        applied++;
      }
    } finally {
      this.#recovering = false;
    }
    this.#log.info({ read: own.length, replayed: applied, since: new Date(since).toISOString() }, 'caught up with own outputs published after the checkpoint');
  }

  /** Resolves when the start hook (a finite feed) has finished. */
  async whenStarted(): Promise<void> {
    await this.#startTask;
  }

  /** Stops new deliveries, finishes what was received, stops the actor. */
  async stop(): Promise<void> {
    if (this.#lifecycle === 'stopped' || this.#lifecycle === 'stopping') return;
    this.#stopping = true;
    this.#setLifecycle('stopping');
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    await this.#startTask;
    const partitions = this.#gate ? this.deps.partitions! : undefined;
    if (partitions) {
      // leave first and keep handling while the others notice, so none of them skips a message meanwhile
      await partitions.leave();
      await new Promise((resolve) => setTimeout(resolve, partitions.graceMs));
    }
    await Promise.all(this.#subs.splice(0).map((s) => s.drain().catch(() => undefined)));
    await this.#gate?.stop();
    this.#actor.stop();
    this.#setLifecycle('stopped');
  }

  /** Sends an event straight to the machine (start hooks, tests). */
  send(event: EventObject): void {
    this.#step(undefined, event);
  }

  #spawn(snapshot?: Snapshot<unknown>): void {
    const { input } = this.spec;
    this.#crash = undefined;
    this.#actor = createActor(this.#machine, { ...(snapshot ? { snapshot } : {}), ...(input !== undefined ? { input } : {}) });
    // a single output emitted on its own (XState `emit`) is published too
    this.#actor.on('*', (emitted: OutboxEmitted | Emitted) => {
      if (emitted.type !== 'outbox') this.#emitted(emitted as Emitted);
      else for (const e of (emitted as OutboxEmitted).items) this.#emitted(e);
    });
    // each processed event ends with its snapshot: the outboxes its emitOutbox actions kept are published then
    this.#actor.subscribe({ next: () => this.#publishOutboxes(), error: (err) => (this.#crash = err ?? new Error('actor failed')) });
    this.#actor.start();
  }

  /**
   * The machine with the binding's `emitOutbox`: it keeps the step's outbox here, to publish
   * once the step's snapshot is in place, as XState's `emit` (the machine's own implementation,
   * which tests driving a machine listen to) would, without that builtin's cost per step.
   */
  get #machine(): AnyStateMachine {
    return (this.#provided ??= this.spec.machine.provide({ actions: { emitOutbox: ({ context }: { context: WithOutbox }) => void this.#outboxes.push(context.outbox) } }));
  }

  #publishOutboxes(): void {
    if (this.#outboxes.length === 0) return;
    const outboxes = this.#outboxes;
    this.#outboxes = [];
    for (const outbox of outboxes) for (const e of outbox) this.#emitted(e);
  }

  #onMessage(inlet: Inlet<TContext>, env: Envelope, ctx: MessageContext): void | Promise<void> {
    if (this.#restarting) return this.#restarting.then(() => this.#onMessage(inlet, env, ctx));
    if (this.#lifecycle === 'faulted') throw new AgentFaultedError(this.spec.name, this.#lastError);
    inlet.observe?.(env);
    if (this.#gate) {
      const admitted = this.#gate.admit(env, () => this.#onMessage(inlet, env, ctx));
      if (admitted === 'skip') return;
      if (admitted) return admitted;
    }
    const context = this.#actor.getSnapshot().context as TContext;
    if (inlet.wants && !inlet.wants(context, env)) return;
    const event = inlet.toEvent ? inlet.toEvent(env, context) : messageEvent(env);
    if (!event) return;
    if (!inlet.reply || !ctx.expectsReply) {
      this.#step(env, event);
      return;
    }
    this.#capture = [];
    try {
      this.#step(env, event);
      const answer = this.#capture.find((e) => e.type === inlet.reply);
      if (!answer) throw new Error(`${this.spec.name} handled ${env.type} but produced no ${inlet.reply} to answer with`);
      ctx.respond(answer);
    } finally {
      this.#capture = undefined;
    }
  }

  #step(env: Envelope | undefined, event: EventObject): void {
    const lastGood = this.#actor.getSnapshot();
    this.#current = env;
    this.#stepEvent = event.type;
    this.#stepOutputs = 0;
    this.#previous = undefined;
    this.#inStep = true;
    try {
      this.#actor.send(event);
    } finally {
      this.#inStep = false;
      this.#current = undefined;
      this.#previous = undefined;
    }
    this.#handled++;
    if (this.#crash !== undefined) {
      const err = this.#crash;
      this.#crashed(err, lastGood, env);
      throw err; // the bus dead-letters the poison message with this reason
    }
  }

  #crashed(err: unknown, lastGood: Snapshot<unknown>, env: Envelope | undefined): void {
    const now = Date.now(); // wall time: restart policy is about the process, not event time
    this.#crashTimes = [...this.#crashTimes.filter((t) => now - t < this.#restartPolicy.windowMs), now];
    this.#lastError = err instanceof Error ? err.message : String(err);
    this.#outboxes = []; // what the failed step kept is not published
    this.#log.error({ err, ...(env ? messageLogFields(env) : {}) }, 'machine crashed; restarting from last good snapshot');
    if (this.#crashTimes.length > this.#restartPolicy.maxRestarts) {
      this.#setLifecycle('faulted');
      return;
    }
    this.#setLifecycle('degraded');
    const { initialMs, maxMs } = this.#restartPolicy;
    const delay = Math.min(maxMs, initialMs * 2 ** (this.#crashTimes.length - 1));
    const persisted = this.spec.machine.getPersistedSnapshot(lastGood as never);
    this.#restarting = new Promise<void>((resolve) => setTimeout(resolve, delay)).then(() => {
      this.#restarts++;
      this.#spawn(persisted as Snapshot<unknown>);
      this.#restarting = undefined;
      this.#setLifecycle(this.#stopping ? 'stopping' : 'running');
    });
  }

  #emitted(e: Emitted): void {
    if (this.#recovering) {
      this.#log.warn({ type: e.type }, 'output during recovery not published (it was published before the restart)');
      return;
    }
    // nothing may escape into XState's emit: it would rethrow from a timer and end the process
    try {
      if (isEffect(e)) this.#runEffect(e.type, e.payload);
      else this.#publishOutput(e);
    } catch (err) {
      this.#lastError = (err as Error).message;
      this.#log.error({ err, type: e.type, ...(this.#current ? messageLogFields(this.#current) : {}) }, 'an output could not be published');
    }
  }

  /**
   * Runs an effect. A result that comes back during the same step (a synchronous broker) is
   * queued to the actor and handled right after it; a later one is a step of its own, caused
   * by the message that asked for the effect.
   */
  #runEffect(type: string, payload: unknown): void {
    const handler = this.spec.effects?.[type];
    if (!handler) throw new Error(`${this.spec.name} emitted ${type} but has no handler for it`);
    const cause = this.#current;
    let answered = false;
    const answer = () => {
      if (!answered) {
        answered = true;
        this.#effectsInFlight--;
      }
    };
    this.#effectsInFlight++;
    try {
      this.#callEffect(handler, type, payload, cause, answer);
    } catch (err) {
      answer();
      throw err;
    }
  }

  #callEffect(handler: NonNullable<AgentSpec['effects']>[string], type: string, payload: unknown, cause: Envelope | undefined, answer: () => void): void {
    handler(payload, (event) => {
      answer();
      if (this.#inStep) {
        this.#actor.send(event);
        return;
      }
      if (this.#restarting || this.#lifecycle === 'faulted' || this.#lifecycle === 'stopped') {
        this.#log.error({ effect: type, event: event.type }, 'effect result arrived while the agent could not take it (restarting or stopped); it is lost, and the order stays new until the process restarts from its checkpoint');
        return;
      }
      try {
        this.#step(cause, event);
      } catch (err) {
        this.#log.error({ err, effect: type }, 'effect result crashed the machine');
      }
    });
  }

  #publishOutput(o: Outbound): void {
    let env: Envelope;
    if (o.root || (!this.#current && !o.chain)) {
      env = rootEnvelope(this.#env, o.type, o.payload, { v: versionOf(o.type), ...(o.time !== undefined ? { time: o.time } : {}) });
    } else {
      const parent: ChainRef | undefined =
        o.chain === 'previous' ? (this.#previous ?? this.#current)
        : o.chain ? (this.#chains.get(o.chain.key) ?? this.#current)
        : this.#current;
      if (!parent) {
        // a chain lost (it cannot happen with checkpoints, which keep chains): publish it as a root rather than lose it
        this.#log.warn({ type: o.type, chain: o.chain }, 'output has no cause to derive from; published as the root of a chain of its own');
        this.#publishOutput({ ...o, root: true } as Outbound);
        return;
      }
      const time = o.time ?? parent.time;
      // the step's cause (not the chain parent) plus the position in the step names the output
      const id = this.#current ? derivedId3(this.#idSeed, time, this.#current.id, this.#stepEvent, this.#stepOutputs++) : undefined;
      env = deriveEnvelope(this.#env, parent, o.type, o.payload, { v: versionOf(o.type), time, ...(id ? { id } : {}) });
    }
    this.deps.bus.publish(subjectFor(o.type, o.payload as never), env);
    this.#capture?.push(env);
    if (this.#info && NOTABLE.has(o.type)) this.#log.info({ ...messageLogFields(env), payload: env.payload }, o.type);
    else if (this.#debug) this.#log.debug(messageLogFields(env), o.type);
    this.#previous = env;
    if (o.key) this.#chains.set(o.key, { id: env.id, correlationId: env.correlationId, time: env.time });
    if (o.release) this.#chains.delete(o.release);
  }

  #publishRoot<T extends MessageType>(type: T, payload: PayloadOf<T>, time: number, key?: string): Envelope {
    const id = key === undefined ? undefined : derivedId(time, ['root', type, key], this.#idSeed);
    const env = rootEnvelope(this.#env, type, payload, { v: versionOf(type), time, ...(id ? { id } : {}) });
    this.deps.bus.publish(subjectFor(type, payload), env);
    return env;
  }

  #api(): AgentApi {
    const isStopping = () => this.#stopping;
    return {
      bus: this.deps.bus,
      clock: this.deps.clock,
      market: this.deps.market,
      send: (event) => this.send(event),
      publishRoot: (type, payload, time, key) => this.#publishRoot(type, payload, time, key),
      deadLetter: (subject, code, reason, payload) => {
        const data = Buffer.from(JSON.stringify(payload));
        this.#log.warn({ subject, code, reason }, 'dead-lettered');
        this.deps.bus.publish(subjects.dlq(subject), deadLetterEnvelope(this.#env, { subject, code, reason, handler: this.spec.name, data, maxBytes: 64 * 1024 }));
      },
      context: () => this.context,
      log: this.#log,
      get stopping() {
        return isStopping();
      },
    };
  }

  #setLifecycle(state: LifecycleState): void {
    if (state === this.#lifecycle) return;
    this.#lifecycle = state;
    this.#since = this.deps.clock.now();
    this.#log.info({ lifecycle: state }, `agent ${state}`);
    this.#publishHealth();
  }

  /** The health payload (also answered to `agents` queries). */
  health(): AgentHealth {
    const h: AgentHealth = {
      agent: this.spec.name,
      instance: this.deps.instance,
      state: this.#lifecycle,
      machineState: this.#actor ? this.#actor.getSnapshot().value : null,
      since: this.#since,
      handled: this.#handled,
      restarts: this.#restarts,
    };
    if (this.#lastError) h.lastError = this.#lastError;
    return h;
  }

  #publishHealth(): void {
    try {
      this.#publishRoot('agent.health', this.health(), this.deps.clock.now());
    } catch (err) {
      this.#log.warn({ err }, 'could not publish health');
    }
  }
}
