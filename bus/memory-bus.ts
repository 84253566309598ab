import {
  type Bus,
  type BusObserver,
  type BusStats,
  type Handler,
  type MessageContext,
  type RequestOptions,
  type Responder,
  type SubscribeOptions,
  type Subscription,
  type Envelope,
  type EnvelopeDeps,
  type SchemaRegistry,
  type ValidationResult,
  isConcreteSubject,
  isValidPattern,
  matchesPattern,
  withPrefix,
  type Subject,
  type SubjectPattern,
  type Logger,
  type MessageTracer,
} from '../src/core/index.js';
import { encodeEnvelope, decodeEnvelope } from './codec.js';
import {
  BusClosedError,
  InvalidSubjectError,
  NoRespondersError,
  PayloadTooLargeError,
  RemoteRequestError,
  RequestTimeoutError,
} from './errors.js';
import { envelopeHeaders } from './headers.js';
import { Inbound } from './inbound.js';
import { serveHandler, settleReply } from './reply.js';

export interface MemoryBusOptions {
  readonly registry: SchemaRegistry;
  /** Ids, clock and source for the bus's own messages (dead letters, failed-request replies). */
  readonly envelopeDeps: EnvelopeDeps;
  readonly logger: Logger;
  readonly maxPayloadBytes: number;
  readonly requestTimeoutMs: number;
  readonly observer?: BusObserver;
  /** Tracing (off when unset): a producer span per published message (no headers: ids are derived). */
  readonly tracer?: MessageTracer;
  /** Namespace prefix (e.g. `replay.<runId>`), added and removed by the bus only. */
  readonly prefix?: string;
  /**
   * Trusted fast path: skip encoding and validating envelopes published by this process's own
   * typed code (they never leave the process). Bytes from outside (`publishRaw`) are always
   * validated. Off by default; backtests turn it on (their messages are all built in-process).
   */
  readonly trustLocal?: boolean;
}

interface Item {
  readonly subject: Subject;
  readonly env: Envelope | undefined;
  /** Bytes, when known (raw publishes and validated local publishes). */
  readonly data: Uint8Array | undefined;
  /** Set when validation failed: the item is dead-lettered instead of delivered. */
  readonly invalid: Extract<ValidationResult, { ok: false }> | undefined;
  readonly inbox: string | undefined;
}

interface Route {
  readonly plain: MemorySubscription[];
  readonly groups: { members: MemorySubscription[]; next: number }[];
}

interface PendingRequest {
  resolve(env: Envelope): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
  subject: string;
}

class MemorySubscription implements Subscription {
  readonly items: Item[] = [];
  head = 0;
  busy = false;
  scheduled = false;
  closed = false;
  draining = false;
  #idle: (() => void)[] = [];

  constructor(
    readonly pattern: SubjectPattern,
    readonly wire: string,
    readonly name: string,
    readonly queue: string | undefined,
    readonly handler: Handler,
    private readonly bus: MemoryBus,
    /** It answers requests (SubscribeOptions.responds). */
    readonly responds = false,
  ) {}

  get pending(): number {
    return this.items.length - this.head;
  }

  take(): Item {
    const item = this.items[this.head]!;
    this.items[this.head++] = undefined as unknown as Item;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    return item;
  }

  settled(): void {
    if (this.pending === 0 && !this.busy) {
      const waiters = this.#idle;
      this.#idle = [];
      for (const w of waiters) w();
    }
  }

  unsubscribe(): void {
    this.closed = true;
    this.items.length = 0;
    this.head = 0;
    this.bus.remove(this);
    this.settled();
  }

  drain(): Promise<void> {
    this.draining = true;
    this.bus.remove(this);
    if (this.pending === 0 && !this.busy) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}

/** Per-delivery context; a class so the hot path allocates one small object and no closures. */
class MemoryContext implements MessageContext {
  #headers: Record<string, string> | undefined;
  constructor(
    private readonly bus: MemoryBus,
    private readonly item: Item,
    private readonly env: Envelope,
  ) {}
  get subject(): Subject {
    return this.item.subject;
  }
  get headers(): Record<string, string> {
    return (this.#headers ??= envelopeHeaders(this.env));
  }
  get expectsReply(): boolean {
    return this.item.inbox !== undefined;
  }
  respond(reply: Envelope): void {
    if (this.item.inbox === undefined)
      throw new Error(`message ${this.env.id} on ${this.item.subject} is not a request; nothing to respond to`);
    this.bus.respond(this.item.inbox, reply);
  }
}

/**
 * The in-memory transport: the embedded default for one process. Delivery is asynchronous to
 * handlers only when they are async; otherwise a top-level publish runs every consequence
 * (breadth-first across subscriptions, FIFO per subscription) before it returns, which makes
 * single-process runs deterministic. Same semantics as NATS otherwise.
 */
export class MemoryBus implements Bus {
  readonly kind = 'memory' as const;
  readonly stats: BusStats = { published: 0, delivered: 0, deadLettered: 0 };
  readonly #subs = new Set<MemorySubscription>();
  readonly #routes = new Map<string, Route>();
  readonly #ready: MemorySubscription[] = [];
  #readyHead = 0;
  #pumping = false;
  #closed = false;
  #inboxSeq = 0;
  readonly #pending = new Map<string, PendingRequest>();
  readonly #inbound: Inbound;
  readonly #prefix: string;

  constructor(private readonly options: MemoryBusOptions) {
    this.#prefix = options.prefix ?? '';
    this.#inbound = new Inbound({
      envelopeDeps: options.envelopeDeps,
      maxBytes: options.maxPayloadBytes,
      logger: options.logger,
      observer: options.observer,
      stats: this.stats,
      publishDeadLetter: (subject, env) => this.#publishItem(subject, env, undefined),
    });
  }

  publish(subject: Subject, env: Envelope): void {
    this.#assertOpen('publish');
    this.options.tracer?.published(subject, env);
    this.#publishItem(subject, env, undefined);
  }

  publishRaw(subject: Subject, data: Uint8Array): void {
    this.#assertOpen('publish');
    this.#checkSubject(subject);
    const result = decodeEnvelope(this.options.registry, data, this.options.maxPayloadBytes);
    this.#route(subject, result.ok ? result.envelope : undefined, data, result.ok ? undefined : result, undefined);
  }

  subscribe(pattern: SubjectPattern, handler: Handler, options: SubscribeOptions = {}): Subscription {
    this.#assertOpen('subscribe');
    if (!isValidPattern(pattern)) throw new InvalidSubjectError(pattern, 'not a valid subject pattern');
    const wire = withPrefix(this.#prefix, pattern);
    const sub = new MemorySubscription(
      pattern,
      wire,
      options.name ?? pattern,
      options.queue,
      handler,
      this,
      options.responds ?? false,
    );
    this.#subs.add(sub);
    this.#routes.clear();
    return sub;
  }

  /** In-process delivery is complete when `publish` returns: nothing is left to acknowledge. */
  commitPoint(): () => Promise<void> {
    return () => Promise.resolve();
  }

  serve(subject: Subject, responder: Responder, options: SubscribeOptions = {}): Subscription {
    return this.subscribe(subject, serveHandler(responder), { ...options, responds: true });
  }

  request(subject: Subject, env: Envelope, options: RequestOptions = {}): Promise<Envelope> {
    this.#assertOpen('request');
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs;
    const route = this.#routeFor(withPrefix(this.#prefix, subject));
    if (route.plain.length === 0 && route.groups.length === 0) return Promise.reject(new NoRespondersError(subject));
    this.options.tracer?.published(subject, env);
    const inbox = `${++this.#inboxSeq}`;
    const promise = new Promise<Envelope>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(inbox);
        reject(new RequestTimeoutError(subject, timeoutMs));
      }, timeoutMs);
      this.#pending.set(inbox, { resolve, reject, timer, subject });
    });
    this.#publishItem(subject, env, inbox);
    return promise;
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  async drain(): Promise<void> {
    if (this.#closed) return;
    await Promise.all([...this.#subs].map((s) => s.drain()));
    await this.close();
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const sub of [...this.#subs]) sub.unsubscribe();
    for (const [inbox, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(new BusClosedError(`wait for a reply on ${p.subject}`));
      this.#pending.delete(inbox);
    }
  }

  /** Called by a subscription when it stops. */
  remove(sub: MemorySubscription): void {
    if (this.#subs.delete(sub)) this.#routes.clear();
  }

  #assertOpen(operation: string): void {
    if (this.#closed) throw new BusClosedError(operation);
  }

  #checkSubject(subject: string): void {
    if (!isConcreteSubject(subject))
      throw new InvalidSubjectError(subject, 'publish needs a concrete subject (no wildcards, no empty tokens)');
  }

  #publishItem(subject: Subject, env: Envelope, inbox: string | undefined): void {
    let data: Uint8Array | undefined;
    let invalid: Item['invalid'];
    if (!this.options.trustLocal) {
      this.#checkSubject(subject);
      data = encodeEnvelope(env);
      if (data.byteLength > this.options.maxPayloadBytes) {
        throw new PayloadTooLargeError(subject, data.byteLength, this.options.maxPayloadBytes);
      }
      const result = this.options.registry.validate(env);
      if (!result.ok) invalid = result;
    }
    this.#route(subject, env, data, invalid, inbox);
  }

  #route(
    subject: Subject,
    env: Envelope | undefined,
    data: Uint8Array | undefined,
    invalid: Item['invalid'],
    inbox: string | undefined,
  ): void {
    this.stats.published++;
    if (env) this.options.observer?.published?.(subject, env.type);
    const route = this.#routeFor(withPrefix(this.#prefix, subject));
    const item: Item = { subject, env, data, invalid, inbox };
    for (const sub of route.plain) this.#enqueue(sub, item);
    for (const group of route.groups) {
      const member = group.members[group.next++ % group.members.length]!;
      this.#enqueue(member, item);
    }
    this.#pump();
  }

  #routeFor(wireSubject: string): Route {
    let route = this.#routes.get(wireSubject);
    if (route) return route;
    const plain: MemorySubscription[] = [];
    const byQueue = new Map<string, MemorySubscription[]>();
    for (const sub of this.#subs) {
      if (sub.draining || !matchesPattern(sub.wire, wireSubject)) continue;
      if (sub.queue === undefined) plain.push(sub);
      else {
        const members = byQueue.get(sub.queue) ?? [];
        members.push(sub);
        byQueue.set(sub.queue, members);
      }
    }
    route = { plain, groups: [...byQueue.values()].map((members) => ({ members, next: 0 })) };
    if (this.#routes.size > 50_000) this.#routes.clear();
    this.#routes.set(wireSubject, route);
    return route;
  }

  #enqueue(sub: MemorySubscription, item: Item): void {
    sub.items.push(item);
    this.#schedule(sub);
  }

  #schedule(sub: MemorySubscription): void {
    if (sub.scheduled || sub.busy || sub.closed || sub.pending === 0) return;
    sub.scheduled = true;
    this.#ready.push(sub);
  }

  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#readyHead < this.#ready.length) {
        const sub = this.#ready[this.#readyHead++]!;
        sub.scheduled = false;
        if (sub.closed || sub.pending === 0) continue;
        const result = this.#deliver(sub, sub.take());
        if (result) {
          sub.busy = true;
          void result.then(() => {
            sub.busy = false;
            sub.settled();
            this.#schedule(sub);
            this.#pump();
          });
        } else {
          this.#schedule(sub);
          sub.settled();
        }
      }
    } finally {
      this.#ready.length = 0;
      this.#readyHead = 0;
      this.#pumping = false;
    }
  }

  #deliver(sub: MemorySubscription, item: Item): void | Promise<void> {
    const { inbox } = item;
    if (item.invalid || !item.env) {
      const invalid = item.invalid!;
      const answer = sub.responds && inbox !== undefined ? (reply: Envelope) => this.respond(inbox, reply) : undefined;
      this.#inbound.reject(item.subject, sub.name, item.data ?? new Uint8Array(), invalid.code, invalid.reason, answer);
      return;
    }
    const env = item.env;
    const ctx = new MemoryContext(this, item, env);
    return this.#inbound.invoke(sub.name, sub.handler, env, ctx, () => item.data ?? encodeEnvelope(env), sub.responds);
  }

  /** Delivers a reply to the request waiting on `inbox` (used by MemoryContext). */
  respond(inbox: string, reply: Envelope): void {
    const pending = this.#pending.get(inbox);
    if (!pending) return; // the requester timed out or got an earlier reply
    this.#pending.delete(inbox);
    clearTimeout(pending.timer);
    if (!this.options.trustLocal) {
      const result = this.options.registry.validate(reply);
      if (!result.ok) {
        pending.reject(new RemoteRequestError(pending.subject, result.code, `invalid reply: ${result.reason}`));
        return;
      }
    }
    settleReply(pending, reply);
  }
}
