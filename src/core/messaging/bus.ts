import type { Envelope } from './envelope.js';
import type { Subject, SubjectPattern } from './subjects.js';

/** What a handler learns about one delivery besides the envelope. */
export interface MessageContext {
  /** The subject it arrived on, without any namespace prefix. */
  readonly subject: Subject;
  /** Message headers (correlation and causation ids are always present). */
  readonly headers: Readonly<Record<string, string>>;
  /** True when the sender expects a reply. */
  readonly expectsReply: boolean;
  /** Sends the reply to a request; throws if the message was not a request. */
  respond(reply: Envelope): void;
}

export type Handler = (env: Envelope, ctx: MessageContext) => void | Promise<void>;
export type Responder = (env: Envelope, ctx: MessageContext) => Envelope | Promise<Envelope>;

export interface SubscribeOptions {
  /** Queue group: each message goes to one member of the group. */
  queue?: string;
  /** Who handles it (agent or service name); names the handler in dead letters and metrics. */
  name?: string;
  /**
   * A durable, acknowledged subscription when the subject belongs to the bus's durable path (the
   * order path on NATS: a JetStream durable consumer of this name, shared by every subscriber
   * that uses it). A message is acknowledged once its handler has finished, or, when the bus
   * defers acknowledgements, at the next `commitPoint()`; until then a crash means redelivery.
   * Other subjects, and the in-memory bus, ignore it.
   */
  durable?: string;
  /**
   * A durable consumer of one instance among several (scale-out): the server removes it after
   * this long without a reader, so instances gone for good leave nothing behind.
   */
  durableInactiveMs?: number;
  /**
   * This subscription answers requests (`serve` sets it; an agent inlet with a reply too): a
   * request it receives that fails validation, or whose handler throws, gets a `request.failed`
   * reply with the reason at once (the requester does not wait for a timeout), besides the dead
   * letter. Other subscribers of the subject (taps, recorders) never answer.
   */
  responds?: boolean;
}

export interface RequestOptions {
  /** Defaults to the bus's configured request timeout. */
  timeoutMs?: number;
}

export interface Subscription {
  readonly pattern: SubjectPattern;
  /** Stops delivery at once; queued messages are not handled. */
  unsubscribe(): void;
  /** Stops new deliveries and resolves once every message already received is handled. */
  drain(): Promise<void>;
}

/** A message read back from the recording stream. */
export interface RecordedMessage {
  /** Without the namespace prefix. */
  readonly subject: Subject;
  readonly env: Envelope;
  /** Its sequence in the recording stream. */
  readonly seq: number;
}

/** A message from the recording stream's durable consumer, with its acknowledgement. */
export interface RecordedDelivery {
  readonly subject: Subject;
  /** The envelope, or why the stored bytes are not a valid envelope of a known type. */
  readonly result: { ok: true; env: Envelope } | { ok: false; reason: string };
  readonly seq: number;
  /** True when delivered before (not acknowledged in time, or a restart). */
  readonly redelivered: boolean;
  ack(): void;
}

/** Counters every transport keeps; cheap enough for the hot path. */
export interface BusStats {
  published: number;
  delivered: number;
  deadLettered: number;
}

/** Hooks for metrics; all optional, all synchronous and cheap. */
export interface BusObserver {
  published?(subject: string, type: string): void;
  handled?(handler: string, type: string, seconds: number): void;
  deadLettered?(subject: string, code: string): void;
}

/**
 * The Bus port. Two transports (NATS, in-memory) with the same observable semantics:
 * wildcards, queue groups, request/reply with timeout and a distinct no-responders error,
 * per-subject ordering (also for async handlers: a subscription handles one message at a
 * time), and dead-lettering to `dlq.<subject>` of anything that fails validation or handling.
 */
export interface Bus {
  readonly kind: 'memory' | 'nats';
  readonly stats: Readonly<BusStats>;
  /** Publishes an envelope. Throws PayloadTooLargeError / BusClosedError, never for business reasons. */
  publish(subject: Subject, env: Envelope): void;
  /** Publishes bytes from outside (bridges, tools, tests): decoded and validated on receipt. */
  publishRaw(subject: Subject, data: Uint8Array): void;
  subscribe(pattern: SubjectPattern, handler: Handler, options?: SubscribeOptions): Subscription;
  /** Sends a request and resolves with the first reply. */
  request(subject: Subject, env: Envelope, options?: RequestOptions): Promise<Envelope>;
  /** Answers requests on a subject; a throwing responder replies `request.failed` and dead-letters. */
  serve(subject: Subject, responder: Responder, options?: SubscribeOptions): Subscription;
  /**
   * Resolves when everything published so far has reached the transport (NATS: a server round
   * trip; durable publishes stored; durable consumers handed everything stored for them).
   */
  flush(): Promise<void>;
  /**
   * Captures the durable messages handled so far; the returned function acknowledges them. A
   * checkpointer calls it after its snapshot (which includes their effects) is saved, so a
   * message is acknowledged only once its effects are safe. No-op where nothing is deferred.
   */
  commitPoint(): () => Promise<void>;
  /**
   * The messages on the durable path matching `pattern` stored since `sinceMs` (epoch ms), in
   * stream order: what a restarted agent reads back to catch up with its own outputs after its
   * last checkpoint. Only the NATS transport keeps them; the in-memory bus has none to give.
   */
  readBack?(pattern: SubjectPattern, sinceMs: number): Promise<Envelope[]>;
  /**
   * The recorded messages (every Sextant subject, NATS with a recording stream) on subjects matching
   * `patterns`, stored since `sinceMs` (epoch ms) up to the last one stored when the read began, in
   * stream order: what a restarted agent replays through its machine before it takes new input.
   * Undefined where nothing is recorded (the in-memory bus, NATS without the recording stream).
   */
  readRecorded?(patterns: readonly SubjectPattern[], sinceMs: number): Promise<RecordedMessage[]>;
  /**
   * Every recorded message, through a durable consumer named `durable`, in stream order, each to be
   * acknowledged once the reader has made it safe (the event log: once the store has it); what is
   * not acknowledged comes again, also after a restart. Undefined where nothing is recorded.
   */
  consumeRecorded?(durable: string, deliver: (d: RecordedDelivery) => void): Promise<{ stop(): Promise<void> }>;
  /** Stops subscriptions, handles what was received, flushes, then closes. */
  drain(): Promise<void>;
  /** Closes at once. */
  close(): Promise<void>;
}
