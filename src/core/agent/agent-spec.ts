import type { AnyStateMachine, EventObject } from 'xstate';
import type { Bus, RecordedMessage } from '../messaging/bus.js';
import type { Envelope } from '../messaging/envelope.js';
import type { AgentName, QueryName, Subject, SubjectPattern } from '../messaging/subjects.js';
import type { MessageType, PayloadOf } from '../domain/messages.js';
import type { Logger } from '../ports/logger.js';
import type { Clock } from '../ports/clock.js';
import type { MarketCache } from './market-cache.js';

/** One subscription of an agent: which messages, and how they become machine events. */
export interface Inlet<TContext> {
  readonly pattern: SubjectPattern;
  /** Join the agent's queue group so instances share the load (stateless inlets only). */
  readonly shared?: boolean;
  /** Runs for every message before the machine: read-model updates (market cache). */
  readonly observe?: (env: Envelope) => void;
  /** False when the machine has no use for this message now (saves a machine step). */
  readonly wants?: (context: TContext, env: Envelope) => boolean;
  /** The machine event; defaults to `{ type, id, time, payload }`. Undefined skips it. */
  readonly toEvent?: (env: Envelope, context: TContext) => EventObject | undefined;
  /** For request/reply inlets: answer the request with the output of this type the step emitted. */
  readonly reply?: MessageType;
}

/** A request/reply service answered from the machine's context on `query.<what>`. */
export interface QuerySpec<TContext> {
  readonly what: QueryName;
  readonly answer: (context: TContext, params: Record<string, unknown>) => unknown;
}

/** What an agent's own start hook may use (the data agent's feed pump). */
export interface AgentApi {
  readonly bus: Bus;
  readonly clock: Clock;
  readonly market: MarketCache;
  /** Sends an event to the machine (outputs are published as usual). */
  send(event: EventObject): void;
  /**
   * Publishes a chain root directly (feeds: bars and ticks are facts, not decisions). With a
   * natural `key` (a bar's `symbol@time`) the id is derived from it, so the same fact published
   * again after a restart has the same id; without one the id is fresh.
   */
  publishRoot<T extends MessageType>(type: T, payload: PayloadOf<T>, time: number, key?: string): Envelope;
  /**
   * Sets a message aside on `dlq.<subject>` with a reason code and sentence (counted with the
   * bus's dead letters): what a feed refuses to publish.
   */
  deadLetter(subject: Subject, code: string, reason: string, payload: unknown): void;
  /** True once stop() was called. */
  readonly stopping: boolean;
  /** The machine's current context (read-only; start hooks that poll, e.g. a venue's fills). */
  context(): unknown;
  /** The agent's logger. */
  readonly log: Logger;
}

/** Everything that makes an agent: its machine, its inputs, its services. */
export interface AgentSpec<TContext = unknown> {
  readonly name: AgentName;
  readonly machine: AnyStateMachine;
  readonly input?: unknown;
  readonly inlets: readonly Inlet<TContext>[];
  readonly queries?: readonly QuerySpec<TContext>[];
  /**
   * Handlers of the machine's `effect.*` outputs. `complete` sends the result back to the
   * machine as an event caused by the same message that asked for the effect.
   */
  readonly effects?: Readonly<Record<string, (payload: unknown, complete: (event: EventObject) => void) => void>>;
  /**
   * What lets an agent with effects come back by replay (AgentHost.replayable): given the recorded
   * messages a replay reads, the ids of those inputs whose effect's outcome was published and is
   * among them. The replay passes over these inputs (the recorded outcome, replayed in its turn,
   * brings what the effect's answer brought, exactly, however the effect would answer today) and
   * feeds every other one, whose effect then runs as it would have. Without it an agent with
   * effects does not replay.
   */
  readonly replaySettled?: (messages: readonly RecordedMessage[]) => ReadonlySet<string>;
  /**
   * Brings a checkpointed context saved by an earlier version into today's shape (the machine's
   * context changed); applied to the snapshot an agent resumes from. Pure; returns the context as
   * is when it is current.
   */
  readonly upgrade?: (context: unknown) => unknown;
  /**
   * Catching up after a restart: the agent's own outputs on `pattern` published after its
   * checkpoint are read back from the durable path (if the bus keeps one) and handed to the
   * machine as `toEvent` makes them, before any live message, so it does not redo what it had
   * already done (a fill published after the checkpoint is not filled again).
   */
  readonly recover?: {
    readonly pattern: SubjectPattern;
    readonly toEvent: (env: Envelope) => EventObject | undefined;
    /** The chain key the output registered or released when it was published (an order's chain). */
    readonly chain?: (env: Envelope) => { readonly key?: string; readonly release?: string } | undefined;
  };
  /**
   * Scale-out by key (a symbol): with a partition coordinator, several instances of the agent
   * share the keys and each key's state lives in exactly one of them at a time. `slice` is the
   * part of the context that belongs to a key (handed to the next owner), `adopt` the event that
   * takes a handed-over slice in, `drop` the event that forgets a key handed away.
   */
  readonly partition?: {
    readonly key: (env: Envelope) => string | undefined;
    readonly slice: (context: TContext, key: string) => unknown;
    readonly adopt: (key: string, slice: unknown) => EventObject;
    readonly drop: (key: string) => EventObject;
  };
  /** Called once the agent is running. May run until the agent stops (feeds). */
  readonly onStart?: (api: AgentApi) => void | Promise<void>;
  /** Called when the agent starts stopping, before it waits for `onStart` to end (a live feed's close). */
  readonly onStop?: () => void | Promise<void>;
  /**
   * What the agent reports in its health (heartbeats, `agents` queries, /ready) beyond its
   * lifecycle: `detail` as it is, and `degraded`, a reason that shows a running agent as degraded.
   */
  readonly status?: (now: number) => { readonly detail?: Record<string, unknown>; readonly degraded?: string };
}

/** The default machine event for an envelope: machine event types equal envelope types. */
export interface MessageEvent<T extends MessageType = MessageType> {
  readonly type: T;
  readonly id: string;
  readonly time: number;
  readonly payload: PayloadOf<T>;
  /** The chain it belongs to (present when the event is a message's envelope, as the host sends them). */
  readonly correlationId?: string;
}

/** An envelope already is a MessageEvent (it has type, id, time, payload): no copy on the hot path. */
export function messageEvent(env: Envelope): MessageEvent {
  return env as unknown as MessageEvent;
}
