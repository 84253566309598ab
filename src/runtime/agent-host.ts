import { createActor, type Actor, type AnyStateMachine, type EventObject, type Snapshot } from 'xstate';
import {
  type Bus,
  type MessageContext,
  type Subscription,
  messageLogFields,
  type Envelope,
  type EnvelopeDeps,
  subjects,
  deadLetterEnvelope,
  type AgentHealth,
  type LifecycleState,
  type Logger,
  type AgentApi,
  type AgentSpec,
  type Inlet,
  messageEvent,
  type Clock,
  idSeed,
  type IdSource,
  type MarketCache,
  isEffect,
  type Subject,
  DEAD_LETTER_EFFECT,
  type DeadLetterRequest,
  type Effect,
  type Emitted,
  type OutboxEmitted,
  type WithOutbox,
  type RecordedMessage,
  matchesPattern,
  type SubjectPattern,
  type MessageTracer,
  type HandlingSpan,
  TRACEPARENT_HEADER,
} from '../core/index.js';
import { PartitionGate } from './partition-gate.js';
import type { PartitionCoordinator } from './partitions.js';
import { bindInlets, serveControl, serveQueries } from './host/bindings.js';
import { EffectRunner } from './host/effects.js';
import { replayIds, RecentInputs, type InletCut } from './host/inlet-cut.js';
import { OutboxCollector } from './host/outbox.js';
import { OutputPublisher, type ChainRef } from './host/outputs.js';
import { AgentFaultedError, CrashWindow, defaultRestartPolicy, type RestartPolicy } from './host/supervisor.js';

export { AgentFaultedError, defaultRestartPolicy, type ChainRef, type InletCut, type RestartPolicy };

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
  /** The level decisions and order outcomes are logged at (default info). */
  readonly notableLevel?: 'info' | 'debug';
  /** Tracing (off when unset): each handled message is a consumer span (see MessageTracer). */
  readonly tracer?: MessageTracer | undefined;
}

/**
 * Runs one agent: its XState machine as an actor, bound to the bus. This file keeps the
 * lifecycle (start, stop, supervision of crashes) and the stepping (a message becomes a machine
 * event; the step's outputs are published once its snapshot is in place); the concerns it uses
 * live in host/: inlet and service bindings (bindings.ts), turning outputs into envelopes with
 * their correlation, causation and derived ids (outputs.ts), pairing each outbox with its
 * emission (outbox.ts), effects (effects.ts) and the restart policy (supervisor.ts); the
 * partition gate (partition-gate.ts) decides which messages a scaled-out instance handles.
 * Publishes lifecycle and heartbeats on `agent.health.<name>`, answers `query.<what>` and
 * `agent.control.<name>`, restarts a crashed actor from its last good snapshot with backoff,
 * and drains on stop.
 */
export class AgentHost<TContext extends WithOutbox = WithOutbox> {
  #actor!: Actor<AnyStateMachine>;
  #lifecycle: LifecycleState = 'stopped';
  #since = 0;
  #handled = 0;
  #restarts = 0;
  #crash: unknown;
  #lastError: string | undefined;
  #restarting: Promise<void> | undefined;
  #inStep = false;
  /** Reading back own outputs: anything the machine emits now was published already. */
  #recovering = false;
  /** The spec's machine with the binding's `emitOutbox` (see #machine). */
  #provided: AnyStateMachine | undefined;
  readonly #subs: Subscription[] = [];
  /** The span of the message being handled (tracing on): the step's outputs are noted on it. */
  #span: HandlingSpan | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #startTask: Promise<void> | undefined;
  #stopping = false;
  readonly #env: EnvelopeDeps;
  readonly #log: Logger;
  readonly #crashes: CrashWindow;
  readonly #outputs: OutputPublisher;
  readonly #outbox = new OutboxCollector();
  readonly #effects: EffectRunner;
  /** Scale-out: which messages this instance handles (spec.partition with a coordinator). */
  readonly #gate: PartitionGate | undefined;
  /** Per inlet pattern, the ids of the last messages handled: where a checkpoint cuts its input. */
  readonly #lastIn = new Map<string, RecentInputs>();
  /** Replaying after a restart: live messages wait until the replay is done. */
  #hold: { promise: Promise<void>; release: () => void } | undefined;
  /** Per inlet pattern, the ids of the messages the replay passes through the machine. */
  #toReplay: Map<string, ReadonlySet<string>> | undefined;
  /** Ids replayed after a restart: the same message arriving live (or redelivered) is not handled twice. */
  #replayed: Set<string> | undefined;
  /** Inputs of the replay whose effects' outcomes are recorded (AgentSpec.replaySettled). */
  #settled: ReadonlySet<string> | undefined;

  constructor(
    readonly spec: AgentSpec<TContext>,
    private readonly deps: AgentHostDeps,
  ) {
    this.#env = { ids: deps.ids, clock: deps.clock, source: `${spec.name}/${deps.instance}` };
    this.#log = deps.logger.child({ agent: spec.name });
    this.#crashes = new CrashWindow(deps.restart ?? defaultRestartPolicy);
    this.#outputs = new OutputPublisher({
      bus: deps.bus,
      env: this.#env,
      idSeed: idSeed([deps.runId ?? '', spec.name]),
      log: this.#log,
      ...(deps.notableLevel ? { notableLevel: deps.notableLevel } : {}),
    });
    this.#effects = new EffectRunner(spec.name, spec.effects);
    this.#gate =
      spec.partition && deps.partitions
        ? new PartitionGate(spec.partition as never, deps.partitions, {
            step: (event) => this.#step(undefined, event),
            context: () => this.context,
            log: this.#log,
          })
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
    return !this.#inStep && this.#effects.inFlight === 0 && !this.#restarting;
  }

  /** The open chains (key -> parent), JSON-able; what `start(snapshot, since, chains)` resumes them from. */
  persistedChains(): Record<string, ChainRef> {
    const out: Record<string, ChainRef> = {};
    for (const [key, { id, correlationId, time }] of this.#outputs.chains) out[key] = { id, correlationId, time };
    return out;
  }

  /**
   * Per inlet pattern, the ids of the last messages handled, newest last (call when `idle`): the
   * cut a checkpoint records, after which a restart replays the recording stream (`replay`).
   */
  persistedInputs(): Record<string, InletCut> {
    const out: Record<string, InletCut> = {};
    for (const [pattern, recent] of this.#lastIn) out[pattern] = recent.list();
    return out;
  }

  /**
   * Whether this agent can be brought back exactly by replaying its input after a checkpoint: its
   * steps have no effects outside the bus (execution's broker calls), or it names the inputs whose
   * effects' outcomes are recorded (`replaySettled`: the sentiment scorer's scores), and it does
   * not read back its own outputs instead. A partitioned one replays the keys it took back at
   * start (those whose leases it still held: restarted within the partition ttl).
   */
  get replayable(): boolean {
    const effectsReplay = this.spec.effects === undefined || this.spec.replaySettled !== undefined;
    return effectsReplay && this.spec.recover === undefined;
  }

  /** The subjects a replay reads for this agent: its inlets (shared ones are a queue group's, not its own). */
  get replayPatterns(): SubjectPattern[] {
    return this.spec.inlets.filter((i) => !i.shared).map((i) => i.pattern);
  }

  /** The machine's persisted snapshot (XState), JSON-able; what `start(snapshot)` resumes from. */
  persistedSnapshot(): Snapshot<unknown> {
    return this.spec.machine.getPersistedSnapshot(this.#actor.getSnapshot() as never) as Snapshot<unknown>;
  }

  /**
   * Starts the actor (from `snapshot` when resuming), catches up with its own outputs published
   * since `recoverSince` (epoch ms), subscribes the inlets and services, then runs the start hook.
   */
  async start(
    snapshot?: Snapshot<unknown>,
    recoverSince?: number,
    chains?: Readonly<Record<string, ChainRef>>,
    resume: {
      /** The checkpoint's cut (see persistedInputs). */
      readonly inputs?: Readonly<Record<string, InletCut>>;
      /** Hold live input after subscribing: the caller replays (`replay`) then calls `release`. */
      readonly replay?: boolean;
    } = {},
  ): Promise<void> {
    this.#setLifecycle('starting');
    for (const [pattern, cut] of Object.entries(resume.inputs ?? {}))
      this.#lastIn.set(pattern, RecentInputs.of(typeof cut === 'string' ? [cut] : cut));
    if (resume.replay) {
      let release!: () => void;
      const promise = new Promise<void>((r) => (release = r));
      this.#hold = { promise, release };
    }
    const upgrade = this.spec.upgrade;
    const context = (snapshot as { context?: unknown } | undefined)?.context;
    this.#spawn(
      snapshot && upgrade ? ({ ...snapshot, context: upgrade(context) } as unknown as Snapshot<unknown>) : snapshot,
    );
    for (const [key, ref] of Object.entries(chains ?? {})) this.#outputs.chains.set(key, ref);
    const { bus } = this.deps;
    if (snapshot && recoverSince !== undefined) await this.#recover(recoverSince);
    this.#subs.push(
      ...bindInlets(bus, this.spec, this.deps.instance, this.#gate !== undefined, (inlet, env, ctx) =>
        this.#onMessage(inlet, env, ctx),
      ),
      ...serveQueries(bus, this.spec, this.#env, () => this.context),
      serveControl(bus, this.spec.name, this.deps.instance, this.#env, () => this.#handled),
    );
    await bus.flush();
    // subscribed first, then a member: what arrives for a key it comes to own is parked, not lost
    await this.#gate?.start();
    if (!this.#hold) this.#begin();
  }

  /**
   * Prepares a replay of `messages` (the recording stream since before the checkpoint, in stream
   * order). Per inlet, what comes after the last message it had handled is replayed, and so is
   * what it had not handled among the CUT_LOOKBACK messages before that one: two publishers of a
   * subject can be stored in one order and delivered in the other, so the last message handled is
   * not a clean line; the ids it had handled last (the cut) tell which ones it had. An inlet whose
   * last message is not among them (it had handled nothing in the window) takes all of its messages.
   */
  prepareReplay(messages: readonly RecordedMessage[]): void {
    this.#toReplay = new Map(
      this.replayPatterns.map((p) => [
        p,
        replayIds(
          messages.filter((m) => matchesPattern(p, m.subject)),
          this.#lastIn.get(p),
        ),
      ]),
    );
    this.#replayed = new Set();
    this.#settled = this.spec.replaySettled?.(messages);
  }

  /**
   * Replays one recorded message through the inlets it matches, past their cut, as if it had
   * arrived live: the machine steps and its outputs are published again, with the ids they had (each
   * is derived from its cause), so what was already published before the crash is recognised by id
   * downstream (JetStream's dedupe, the machines' id windows, the event log) and counted once.
   * Returns how many inlets took it.
   */
  async replayOne(m: RecordedMessage): Promise<number> {
    const toReplay = this.#toReplay;
    if (!toReplay) throw new Error(`${this.spec.name}: replayOne before prepareReplay`);
    let took = 0;
    for (const inlet of this.spec.inlets) {
      if (inlet.shared || !matchesPattern(inlet.pattern, m.subject)) continue;
      if (!toReplay.get(inlet.pattern)?.has(m.env.id)) continue;
      if (this.#gate && !this.#gate.holdsKeyOf(m.env)) continue;
      this.#replayed!.add(m.env.id);
      if (this.#settled?.has(m.env.id)) {
        // its effect's outcome is recorded after it and replays in its turn: handled, not redone
        this.#handledIn(inlet.pattern, m.env.id);
        continue;
      }
      took++;
      try {
        await this.#handle(inlet, m.env, replayContext(m.subject));
      } catch (err) {
        this.#log.warn({ err, ...messageLogFields(m.env) }, 'a replayed message failed again (dead-lettered before)');
      }
    }
    return took;
  }

  /** Ends the hold of a replay: live messages are handled (those replayed are skipped), then the agent runs. */
  release(): void {
    const hold = this.#hold;
    if (!hold) return;
    this.#hold = undefined;
    this.#toReplay = undefined;
    this.#settled = undefined;
    hold.release();
    this.#begin();
  }

  /** Running: heartbeats and the start hook. */
  #begin(): void {
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

  /**
   * Recovery: hands the machine its own outputs published after the checkpoint (see
   * AgentSpec.recover), so it knows what it did before the crash; nothing it emits meanwhile is
   * published again.
   */
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
        if (chain?.key) this.#outputs.chains.set(chain.key, env);
        if (chain?.release) this.#outputs.chains.delete(chain.release);
        applied++;
      }
    } finally {
      this.#recovering = false;
    }
    this.#log.info(
      { read: own.length, replayed: applied, since: new Date(since).toISOString() },
      'caught up with own outputs published after the checkpoint',
    );
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
    await Promise.resolve(this.spec.onStop?.()).catch((err: unknown) => this.#log.warn({ err }, 'stop hook failed'));
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
    this.#actor = createActor(this.#machine, {
      ...(snapshot ? { snapshot } : {}),
      ...(input !== undefined ? { input } : {}),
    });
    this.#outbox.reset(this.#actor.getSnapshot().context as Partial<WithOutbox> | undefined);
    // a single output emitted on its own (XState `emit`) is published too
    this.#actor.on('*', (emitted: OutboxEmitted | Emitted) => {
      if (emitted.type !== 'outbox') this.#emitted(emitted as Emitted);
      else for (const e of (emitted as OutboxEmitted).items) this.#emitted(e);
    });
    // each processed event ends with its snapshot: the outboxes its emitOutbox actions kept are published then
    this.#actor.subscribe({
      next: (snap) => this.#publishOutboxes(snap.context as Partial<WithOutbox> | undefined),
      error: (err) => (this.#crash = err ?? new Error('actor failed')),
    });
    this.#actor.start();
  }

  /**
   * The machine with the binding's `emitOutbox`: it keeps the step's outbox here, to publish
   * once the step's snapshot is in place, as XState's `emit` (the machine's own implementation,
   * which tests driving a machine listen to) would, without that builtin's cost per step.
   */
  get #machine(): AnyStateMachine {
    return (this.#provided ??= this.spec.machine.provide({
      actions: { emitOutbox: ({ context }: { context: WithOutbox }) => void this.#outbox.keep(context.outbox) },
    }));
  }

  #publishOutboxes(context: Partial<WithOutbox> | undefined): void {
    const outboxes = this.#outbox.settle(context);
    if (outboxes.length === 0) return;
    const forgotten = this.#outbox.forgotten;
    if (forgotten) {
      this.#log.error(
        { event: this.#outputs.current?.type, outputs: forgotten.map((e) => e.type) },
        `a transition of the ${this.spec.name} machine changed its outbox without emitOutbox; published anyway (add emitOutbox to its actions)`,
      );
    }
    for (const outbox of outboxes) for (const e of outbox) this.#emitted(e);
  }

  #handledIn(pattern: string, id: string): void {
    let recent = this.#lastIn.get(pattern);
    if (!recent) this.#lastIn.set(pattern, (recent = new RecentInputs()));
    recent.add(id);
  }

  #onMessage(inlet: Inlet<TContext>, env: Envelope, ctx: MessageContext): void | Promise<void> {
    if (this.#hold) return this.#hold.promise.then(() => this.#onMessage(inlet, env, ctx));
    if (this.#replayed?.has(env.id)) return;
    return this.#handle(inlet, env, ctx);
  }

  #handle(inlet: Inlet<TContext>, env: Envelope, ctx: MessageContext): void | Promise<void> {
    if (this.#restarting) return this.#restarting.then(() => this.#handle(inlet, env, ctx));
    this.#handledIn(inlet.pattern, env.id);
    if (this.#lifecycle === 'faulted') throw new AgentFaultedError(this.spec.name, this.#lastError);
    inlet.observe?.(env);
    if (this.#gate) {
      const admitted = this.#gate.admit(env, () => this.#handle(inlet, env, ctx));
      if (admitted === 'skip') return;
      if (admitted) return admitted;
    }
    const context = this.#actor.getSnapshot().context as TContext;
    if (inlet.wants && !inlet.wants(context, env)) return;
    const event = inlet.toEvent ? inlet.toEvent(env, context) : messageEvent(env);
    if (!event) return;
    if (this.deps.tracer) return this.#tracedStep(this.deps.tracer, inlet, env, ctx, event);
    if (!inlet.reply || !ctx.expectsReply) {
      this.#step(env, event);
      return;
    }
    this.#replyStep(inlet, env, ctx, event);
  }

  /** A handled message as a consumer span: its outputs and whether the step threw. */
  #tracedStep(tracer: MessageTracer, inlet: Inlet<TContext>, env: Envelope, ctx: MessageContext, event: EventObject) {
    const span = (this.#span = tracer.handling(this.spec.name, env, ctx.headers[TRACEPARENT_HEADER]));
    try {
      if (!inlet.reply || !ctx.expectsReply) this.#step(env, event);
      else this.#replyStep(inlet, env, ctx, event);
      span.end('ok');
    } catch (err) {
      span.end('error', err);
      throw err;
    } finally {
      this.#span = undefined;
    }
  }

  #replyStep(inlet: Inlet<TContext>, env: Envelope, ctx: MessageContext, event: EventObject): void {
    this.#outputs.capture();
    try {
      this.#step(env, event);
      const answer = this.#outputs.captured().find((e) => e.type === inlet.reply);
      if (!answer)
        throw new Error(`${this.spec.name} handled ${env.type} but produced no ${inlet.reply} to answer with`);
      ctx.respond(answer);
    } finally {
      this.#outputs.captured();
    }
  }

  #step(env: Envelope | undefined, event: EventObject): void {
    const lastGood = this.#actor.getSnapshot();
    this.#outputs.beginStep(env, event.type);
    this.#inStep = true;
    try {
      this.#actor.send(event);
    } finally {
      this.#inStep = false;
      this.#outputs.endStep();
    }
    this.#handled++;
    if (this.#crash !== undefined) {
      const err = this.#crash;
      this.#crashed(err, lastGood, env);
      throw err; // the bus dead-letters the poison message with this reason
    }
  }

  /** Supervision: a crashed actor restarts from its last good snapshot after a backoff, or the agent is faulted. */
  #crashed(err: unknown, lastGood: Snapshot<unknown>, env: Envelope | undefined): void {
    const backoff = this.#crashes.crashed();
    this.#lastError = err instanceof Error ? err.message : String(err);
    this.#outbox.discard(); // what the failed step kept is not published
    this.#log.error(
      { err, ...(env ? messageLogFields(env) : {}) },
      'machine crashed; restarting from last good snapshot',
    );
    if (backoff === undefined) {
      this.#setLifecycle('faulted');
      return;
    }
    this.#setLifecycle('degraded');
    const persisted = this.spec.machine.getPersistedSnapshot(lastGood as never);
    this.#restarting = new Promise<void>((resolve) => setTimeout(resolve, backoff)).then(() => {
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
      if (e.type === DEAD_LETTER_EFFECT) {
        const r = (e as Effect).payload as DeadLetterRequest;
        this.#api().deadLetter(r.subject as Subject, r.code, r.reason, r.payload);
      } else if (isEffect(e))
        this.#effects.run(e.type, e.payload, this.#outputs.current, (event, cause) =>
          this.#effectResult(e.type, event, cause),
        );
      else {
        this.#outputs.publish(e);
        this.#span?.output(e.type);
      }
    } catch (err) {
      this.#lastError = (err as Error).message;
      this.#log.error(
        { err, type: e.type, ...(this.#outputs.current ? messageLogFields(this.#outputs.current) : {}) },
        'an output could not be published',
      );
    }
  }

  /**
   * An effect's result. One that comes back during the same step (a synchronous broker) is
   * queued to the actor and handled right after it; a later one is a step of its own, caused by
   * the message that asked for the effect.
   */
  #effectResult(type: string, event: EventObject, cause: Envelope | undefined): void {
    if (this.#inStep) {
      this.#actor.send(event);
      return;
    }
    if (this.#restarting || this.#lifecycle === 'faulted' || this.#lifecycle === 'stopped') {
      this.#log.error(
        { effect: type, event: event.type },
        'effect result arrived while the agent could not take it (restarting or stopped); it is lost, and the order stays new until the process restarts from its checkpoint',
      );
      return;
    }
    try {
      this.#step(cause, event);
    } catch (err) {
      this.#log.error({ err, effect: type }, 'effect result crashed the machine');
    }
  }

  #api(): AgentApi {
    const isStopping = () => this.#stopping;
    return {
      bus: this.deps.bus,
      clock: this.deps.clock,
      market: this.deps.market,
      send: (event) => this.send(event),
      publishRoot: (type, payload, time, key) => this.#outputs.publishRoot(type, payload, time, key),
      deadLetter: (subject, code, reason, payload) => {
        const data = Buffer.from(JSON.stringify(payload));
        this.#log.warn({ subject, code, reason }, 'dead-lettered');
        this.deps.bus.publish(
          subjects.dlq(subject),
          deadLetterEnvelope(this.#env, { subject, code, reason, handler: this.spec.name, data, maxBytes: 64 * 1024 }),
        );
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
    const status = this.spec.status?.(this.deps.clock.now());
    if (status?.detail) h.detail = status.detail;
    if (status?.degraded && this.#lifecycle === 'running') {
      h.state = 'degraded';
      h.degraded = status.degraded;
    }
    return h;
  }

  #publishHealth(): void {
    try {
      this.#outputs.publishRoot('agent.health', this.health(), this.deps.clock.now());
    } catch (err) {
      this.#log.warn({ err }, 'could not publish health');
    }
  }
}

/** The context of a replayed message: never a request (its requester had its answer, or gave up). */
function replayContext(subject: Subject): MessageContext {
  return {
    subject,
    headers: {},
    expectsReply: false,
    respond: () => {
      throw new Error(`message on ${subject} is replayed; nothing to respond to`);
    },
  };
}
