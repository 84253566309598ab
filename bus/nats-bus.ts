import { readFileSync } from 'node:fs';
import type {
  ConnectionOptions,
  Msg,
  MsgHdrs,
  NatsConnection,
  Subscription as NatsSubscription,
} from '@nats-io/transport-node';
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
  type RecordedMessage,
  type RecordedDelivery,
  isConcreteSubject,
  isValidPattern,
  matchesPattern,
  withPrefix,
  withoutPrefix,
  type Subject,
  type SubjectPattern,
  type Logger,
  type MessageTracer,
  redactUrlCredentials,
} from '../src/core/index.js';
import { decodeEnvelope, encodeEnvelope } from './codec.js';
import {
  BusClosedError,
  InvalidSubjectError,
  NoRespondersError,
  PayloadTooLargeError,
  RemoteRequestError,
  RequestTimeoutError,
  TransportError,
} from './errors.js';
import { Header } from './headers.js';
import { Inbound } from './inbound.js';
import { serveHandler, settleReply } from './reply.js';
import { DurablePath } from './jetstream-path.js';
import { natsTransport } from './nats-client.js';
import type { JsMsg } from '@nats-io/jetstream';

export interface NatsBusOptions {
  readonly registry: SchemaRegistry;
  readonly envelopeDeps: EnvelopeDeps;
  readonly logger: Logger;
  readonly maxPayloadBytes: number;
  readonly requestTimeoutMs: number;
  readonly observer?: BusObserver;
  /** Tracing (off when unset): a producer span per published message and its `traceparent` header. */
  readonly tracer?: MessageTracer;
  /** Namespace prefix (e.g. `replay.<runId>`), added and removed by the bus only. */
  readonly prefix?: string;
  /** The durable (JetStream) part of the bus; unset keeps every subject on core NATS. */
  readonly durable?: DurableBusOptions;
}

/** Which subjects go through JetStream, and how. */
export interface DurableBusOptions {
  /** Subject patterns (unprefixed) of the durable path; the order path is `order.>`. */
  readonly subjects: readonly string[];
  /**
   * A JetStream recording of every Sextant subject, in a stream of its own (see
   * DurablePathOptions.recording). Published on core NATS as before; nothing is acknowledged.
   */
  readonly recording?: { readonly subjects: readonly string[]; readonly maxAgeMs: number; readonly maxBytes: number };
  /** Stream name; a prefixed bus gets its own stream. */
  readonly stream: string;
  readonly storage: 'file' | 'memory';
  /** Delete the stream when the bus closes (throwaway namespaces). */
  readonly deleteOnClose: boolean;
  /** Acknowledge at `commitPoint()` instead of after each handler (a checkpointer runs). */
  readonly deferAcks: boolean;
  readonly duplicateWindowMs?: number;
  readonly maxAgeMs?: number;
  readonly ackWaitMs?: number;
}

/**
 * How a process signs in (NATS_USER and NATS_PASSWORD, NATS_CREDS, NATS_NKEY_SEED_FILE): in a deployment
 * each role is a user of its own, whose permissions the server enforces (bus/nats-permissions.ts).
 */
export type NatsAuth =
  | { readonly kind: 'password'; readonly user: string; readonly password: string }
  | { readonly kind: 'creds'; readonly file: string }
  | { readonly kind: 'nkey'; readonly seedFile: string };

export interface NatsConnectOptions {
  /** One URL or a comma-separated list; credentials in the URL are honoured. */
  readonly url: string;
  /** Connection name shown by the server (`nats server report connections`). */
  readonly name: string;
  readonly auth?: NatsAuth | undefined;
  /**
   * Where replies and JetStream deliveries arrive (`_INBOX.<role>`, which only that role may read);
   * the client's default `_INBOX` otherwise.
   */
  readonly inboxPrefix?: string | undefined;
}

/** The part of nats.js connect options that says who signs in (and where its replies go). */
export function natsSignIn(
  auth: NatsAuth | undefined,
  inboxPrefix?: string,
): Pick<ConnectionOptions, 'user' | 'pass' | 'authenticator' | 'inboxPrefix'> {
  const inbox = inboxPrefix ? { inboxPrefix } : {};
  if (!auth) return inbox;
  switch (auth.kind) {
    case 'password':
      return { user: auth.user, pass: auth.password, ...inbox };
    case 'creds':
      return { authenticator: natsTransport().credsAuthenticator(readFileSync(auth.file)), ...inbox };
    case 'nkey':
      return {
        authenticator: natsTransport().nkeyAuthenticator(
          new TextEncoder().encode(readFileSync(auth.seedFile, 'utf8').trim()),
        ),
        ...inbox,
      };
  }
}

/** Which configuration key to look at when the server refuses a sign-in. */
const authKey = (auth: NatsAuth | undefined): string =>
  auth === undefined
    ? 'NATS_USER'
    : auth.kind === 'password'
      ? 'NATS_USER/NATS_PASSWORD'
      : auth.kind === 'creds'
        ? 'NATS_CREDS'
        : 'NATS_NKEY_SEED_FILE';

/** Connects to NATS and returns a Bus over the connection. */
export async function connectNatsBus(conn: NatsConnectOptions, options: NatsBusOptions): Promise<NatsBus> {
  let nc: NatsConnection;
  try {
    nc = await natsTransport().connect({
      servers: conn.url.split(',').map((s) => s.trim()),
      name: conn.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1000,
      // an async stack trace per request (every JetStream publish is one) cost ~20 µs each
      noAsyncTraces: true,
      ...natsSignIn(conn.auth, conn.inboxPrefix),
    });
  } catch (err) {
    if (isAuthError(err))
      throw new TransportError(
        `${authKey(conn.auth)}: the NATS server at ${redactUrlCredentials(conn.url)} refused to sign this process in (${(err as Error).message})${conn.auth ? '' : '; it asks for credentials'}`,
        { cause: err },
      );
    throw new TransportError(`cannot connect to NATS at ${redactUrlCredentials(conn.url)}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const bus = new NatsBus(nc, options);
  // the recording stream must exist before anything is published, or the first messages are not in it
  if (bus.durable?.recording)
    await bus.durable
      .ready()
      .catch((err: unknown) =>
        options.logger.warn(
          { err: (err as Error).message },
          'the JetStream streams could not be looked up or created by this process; another process (with the permission) creates them',
        ),
      );
  return bus;
}

/** The server refused the credentials (or asked for some). */
function isAuthError(err: unknown): boolean {
  const { AuthorizationError, UserAuthenticationExpiredError } = natsTransport();
  if (err instanceof AuthorizationError || err instanceof UserAuthenticationExpiredError) return true;
  return /authorization violation|authentication/i.test((err as Error | undefined)?.message ?? '');
}

const isThenable = (v: unknown): v is Promise<void> => typeof (v as Promise<void> | undefined)?.then === 'function';

/** A received message, decoded once for every local handler of its wire. */
interface Received {
  /** A core NATS message, or (durable path) a JetStream message to acknowledge. */
  readonly msg: Msg | undefined;
  readonly jsMsg?: JsMsg;
  readonly subject: Subject;
  readonly result: ValidationResult;
}

/**
 * One NATS subscription shared by every local handler of the same pattern without a queue
 * group: the server sends each message once and it is decoded and validated once. Queue-group
 * subscriptions each get a wire of their own (the server must choose among members).
 */
class Wire {
  readonly handlers = new Set<NatsBusSubscription>();
  /** The server subscription; none for a durable wire (its JetStream consumer feeds it). */
  natsSub: NatsSubscription | undefined;

  constructor(
    readonly key: string,
    private readonly decode: (msg: Msg) => Received,
  ) {}

  /** The NATS callback: runs synchronously on receipt, in arrival order. */
  readonly onMessage = (err: Error | null, msg: Msg): void => {
    if (err) return; // subscription-level errors (permissions) are reported by the connection status
    const received = this.decode(msg);
    for (const h of this.handlers) h.push(received);
  };
}

/** One local handler: its own FIFO, so a slow async handler delays only itself. */
class NatsBusSubscription implements Subscription {
  readonly #queue: Received[] = [];
  #busy = false;
  #idle: (() => void)[] = [];

  constructor(
    readonly pattern: SubjectPattern,
    private readonly wire: Wire,
    private readonly process: (r: Received) => void | Promise<void>,
    private readonly detach: (sub: NatsBusSubscription) => void,
  ) {}

  push(r: Received): void {
    if (this.#busy) {
      this.#queue.push(r);
      return;
    }
    this.#run(r);
  }

  #run(first: Received): void {
    let r: Received | undefined = first;
    while (r) {
      const result = this.process(r);
      if (isThenable(result)) {
        this.#busy = true;
        void result.then(() => {
          this.#busy = false;
          const next = this.#queue.shift();
          if (next) this.#run(next);
          else this.#settled();
        });
        return;
      }
      r = this.#queue.shift();
    }
    this.#settled();
  }

  #settled(): void {
    if (this.#busy || this.#queue.length > 0) return;
    const waiters = this.#idle;
    this.#idle = [];
    for (const w of waiters) w();
  }

  unsubscribe(): void {
    this.#queue.length = 0;
    this.detach(this);
  }

  /** Stops deliveries (the last handler of a wire drains the server subscription first), then finishes its queue. */
  /** Stops the source of messages before the subscription detaches (durable: the consumer). */
  protected beforeDetach(): Promise<void> {
    return Promise.resolve();
  }

  async drain(): Promise<void> {
    const natsSub = this.wire.natsSub;
    if (this.wire.handlers.size === 1 && this.wire.handlers.has(this) && natsSub && !natsSub.isClosed())
      await natsSub.drain();
    await this.beforeDetach();
    this.detach(this);
    await this.idle();
  }

  idle(): Promise<void> {
    if (!this.#busy && this.#queue.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.#idle.push(resolve));
  }
}

/**
 * The NATS transport (`@nats-io/transport-node`). Every received message is decoded and
 * validated; correlation and causation ids also travel as headers, and the envelope id as
 * `Nats-Msg-Id` so a JetStream stream capturing the subject deduplicates re-publishes.
 */
export class NatsBus implements Bus {
  readonly kind = 'nats' as const;
  readonly stats: BusStats = { published: 0, delivered: 0, deadLettered: 0 };
  readonly #wires = new Map<string, Wire>();
  /** The JetStream order path, when configured. */
  readonly durable: DurablePath | undefined;
  readonly #durablePatterns: readonly string[];
  /** Durable subscriptions: their consumers are started asynchronously; flush() waits for them. */
  readonly #durableSubs = new Set<DurableSubscription>();
  /** `durable.published` when durable consumers were last seen to have nothing undelivered. */
  #deliveredUpTo = 0;
  /** Durable messages handled but not yet acknowledged (deferred acks), oldest first. */
  #unacked: JsMsg[] = [];
  #wireSeq = 0;
  readonly #inbound: Inbound;
  readonly #prefix: string;
  readonly #maxBytes: number;
  #closed = false;

  constructor(
    readonly connection: NatsConnection,
    private readonly options: NatsBusOptions,
  ) {
    this.#prefix = options.prefix ?? '';
    const serverMax = connection.info?.max_payload ?? Number.POSITIVE_INFINITY;
    this.#maxBytes = Math.min(options.maxPayloadBytes, serverMax);
    this.#inbound = new Inbound({
      envelopeDeps: options.envelopeDeps,
      maxBytes: this.#maxBytes,
      logger: options.logger,
      observer: options.observer,
      stats: this.stats,
      publishDeadLetter: (subject, env) => this.publish(subject, env),
    });
    this.#durablePatterns = options.durable?.subjects ?? [];
    if (options.durable) {
      const d = options.durable;
      this.durable = new DurablePath(connection, {
        stream: d.stream,
        subjects: d.subjects.map((x) => withPrefix(this.#prefix, x)),
        ...(d.recording
          ? { recording: { ...d.recording, subjects: d.recording.subjects.map((x) => withPrefix(this.#prefix, x)) } }
          : {}),
        storage: d.storage,
        duplicateWindowMs: d.duplicateWindowMs ?? 120_000,
        maxAgeMs: d.maxAgeMs ?? 7 * 86_400_000,
        ackWaitMs: d.ackWaitMs ?? 30_000,
        logger: options.logger,
      });
    }
    if (this.durable?.recording) {
      this.readRecorded = (p, since) => this.#readRecorded(p, since);
      this.consumeRecorded = (d, deliver) => this.#consumeRecorded(d, deliver);
    }
    void this.#watchStatus();
  }

  /** True when `subjectOrPattern` lies inside the durable path (every subject it can match does). */
  #isDurable(subjectOrPattern: string): boolean {
    return this.durable !== undefined && this.#durablePatterns.some((p) => matchesPattern(p, subjectOrPattern));
  }

  async #watchStatus(): Promise<void> {
    for await (const s of this.connection.status()) {
      const level = s.type === 'disconnect' || s.type === 'error' || s.type === 'slowConsumer' ? 'warn' : 'info';
      this.options.logger[level]({ nats: s.type, data: 'data' in s ? String(s.data) : undefined }, `nats ${s.type}`);
    }
  }

  publish(subject: Subject, env: Envelope): void {
    const data = this.#encode(subject, env);
    const traceparent = this.options.tracer?.published(subject, env);
    if (this.#isDurable(subject)) {
      this.durable!.publish(withPrefix(this.#prefix, subject), data, envelopeNatsHeaders(env, traceparent));
      this.stats.published++;
    } else this.#send(subject, data, envelopeNatsHeaders(env, traceparent));
    this.options.observer?.published?.(subject, env.type);
  }

  publishRaw(subject: Subject, data: Uint8Array): void {
    this.#assertPublishable(subject);
    this.#send(subject, data, undefined);
  }

  subscribe(pattern: SubjectPattern, handler: Handler, options: SubscribeOptions = {}): Subscription {
    if (this.#closed) throw new BusClosedError('subscribe');
    if (!isValidPattern(pattern)) throw new InvalidSubjectError(pattern, 'not a valid subject pattern');
    const name = options.name ?? pattern;
    if (options.durable && this.#isDurable(pattern))
      return this.#subscribeDurable(pattern, handler, name, options.durable, options.durableInactiveMs);
    const key = options.queue ? `${pattern} queue:${options.queue}#${++this.#wireSeq}` : pattern;
    let wire = this.#wires.get(key);
    if (!wire) {
      const w = new Wire(key, (msg) => this.#decode(msg));
      w.natsSub = this.connection.subscribe(withPrefix(this.#prefix, pattern), {
        ...(options.queue ? { queue: options.queue } : {}),
        callback: w.onMessage,
      });
      this.#wires.set(key, (wire = w));
    }
    const sub = new NatsBusSubscription(
      pattern,
      wire,
      (r) => this.#process(name, handler, r, options.responds ?? false),
      (s) => this.#detach(wire, s),
    );
    wire.handlers.add(sub);
    return sub;
  }

  #detach(wire: Wire, sub: NatsBusSubscription): void {
    wire.handlers.delete(sub);
    if (wire.handlers.size === 0 && this.#wires.get(wire.key) === wire) {
      this.#wires.delete(wire.key);
      if (wire.natsSub && !wire.natsSub.isClosed() && !this.connection.isClosed()) wire.natsSub.unsubscribe();
    }
  }

  /**
   * A JetStream durable consumer feeding one local handler FIFO. Each message is acknowledged
   * when its handler has finished (dead-lettered ones too: the dead letter keeps them), or at
   * the next commit point when acknowledgements are deferred.
   */
  #subscribeDurable(
    pattern: SubjectPattern,
    handler: Handler,
    name: string,
    durable: string,
    inactiveMs?: number,
  ): Subscription {
    const consumerName = durableName(durable);
    const wire = new Wire(`durable:${consumerName}`, (msg) => this.#decode(msg));
    const settle = (r: Received) => {
      if (!r.jsMsg) return;
      if (this.options.durable?.deferAcks) this.#unacked.push(r.jsMsg);
      else r.jsMsg.ack();
    };
    const sub = new DurableSubscription(
      pattern,
      wire,
      (r) => {
        const result = this.#process(name, handler, r);
        if (isThenable(result)) return result.then(() => settle(r));
        settle(r);
      },
      () => {
        this.#durableSubs.delete(sub);
        void this.durable!.stop(consumerName);
      },
    );
    wire.handlers.add(sub);
    this.#durableSubs.add(sub);
    sub.started = this.durable!.consume(
      consumerName,
      withPrefix(this.#prefix, pattern),
      (jsMsg) => {
        sub.push({
          msg: undefined,
          jsMsg,
          subject: withoutPrefix(this.#prefix, jsMsg.subject),
          result: decodeEnvelope(this.options.registry, jsMsg.data, this.#maxBytes),
        });
      },
      inactiveMs,
    ).then(
      (messages) => {
        sub.consumer = consumerName;
        sub.messages = messages;
      },
      (err: unknown) => {
        this.options.logger.error({ err, durable: consumerName }, 'durable consumer could not start');
        throw err;
      },
    );
    return sub;
  }

  async readBack(pattern: SubjectPattern, sinceMs: number): Promise<Envelope[]> {
    if (!this.#isDurable(pattern)) return [];
    const msgs = await this.durable!.readSince(withPrefix(this.#prefix, pattern), sinceMs);
    const out: Envelope[] = [];
    for (const m of msgs) {
      const r = decodeEnvelope(this.options.registry, m.data, this.#maxBytes);
      if (r.ok) out.push(r.envelope);
      else
        this.options.logger.warn(
          { subject: m.subject, code: r.code, reason: r.reason },
          'read back a stored message that does not decode; skipped',
        );
    }
    return out;
  }

  /** Set only with a recording stream (see Bus.readRecorded). */
  readonly readRecorded?: (patterns: readonly SubjectPattern[], sinceMs: number) => Promise<RecordedMessage[]>;
  /** Set only with a recording stream (see Bus.consumeRecorded). */
  readonly consumeRecorded?: (
    durable: string,
    deliver: (d: RecordedDelivery) => void,
  ) => Promise<{ stop(): Promise<void> }>;

  async #readRecorded(patterns: readonly SubjectPattern[], sinceMs: number): Promise<RecordedMessage[]> {
    if (!this.durable?.recording) return [];
    const msgs = await this.durable.readRecording(
      patterns.map((p) => withPrefix(this.#prefix, p)),
      sinceMs,
    );
    const out: RecordedMessage[] = [];
    for (const m of msgs) {
      const r = decodeEnvelope(this.options.registry, m.data, this.#maxBytes);
      if (r.ok) out.push({ subject: withoutPrefix(this.#prefix, m.subject), env: r.envelope, seq: m.seq });
      else
        this.options.logger.warn(
          { subject: m.subject, seq: m.seq, code: r.code, reason: r.reason },
          'a recorded message does not decode; not replayed (it was dead-lettered when it was published)',
        );
    }
    return out;
  }

  async #consumeRecorded(durable: string, deliver: (d: RecordedDelivery) => void): Promise<{ stop(): Promise<void> }> {
    if (!this.durable?.recording) throw new Error('consumeRecorded: this bus keeps no recording stream');
    const messages = await this.durable.consumeRecording(durableName(durable), (m) => {
      const r = decodeEnvelope(this.options.registry, m.data, this.#maxBytes);
      deliver({
        subject: withoutPrefix(this.#prefix, m.subject),
        result: r.ok ? { ok: true, env: r.envelope } : { ok: false, reason: `${r.code}: ${r.reason}` },
        seq: m.seq,
        redelivered: m.redelivered,
        ack: () => m.ack(),
      });
    });
    return {
      stop: async () => {
        await messages.close();
      },
    };
  }

  commitPoint(): () => Promise<void> {
    const batch = this.#unacked;
    this.#unacked = [];
    return async () => {
      for (const m of batch) m.ack();
      if (batch.length > 0 && !this.connection.isClosed()) await this.connection.flush();
    };
  }

  serve(subject: Subject, responder: Responder, options: SubscribeOptions = {}): Subscription {
    return this.subscribe(subject, serveHandler(responder), { ...options, responds: true });
  }

  async request(subject: Subject, env: Envelope, options: RequestOptions = {}): Promise<Envelope> {
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs;
    const data = this.#encode(subject, env);
    const traceparent = this.options.tracer?.published(subject, env);
    let msg: Msg;
    try {
      msg = await this.connection.request(withPrefix(this.#prefix, subject), data, {
        timeout: timeoutMs,
        headers: envelopeNatsHeaders(env, traceparent),
      });
    } catch (err) {
      throw mapRequestError(subject, timeoutMs, err);
    }
    const result = decodeEnvelope(this.options.registry, msg.data, this.#maxBytes);
    if (!result.ok) throw new RemoteRequestError(subject, result.code, `invalid reply: ${result.reason}`);
    return new Promise<Envelope>((resolve, reject) => settleReply({ resolve, reject, subject }, result.envelope));
  }

  async flush(): Promise<void> {
    if (this.#closed) return;
    await this.durable?.settled();
    // while the server is away (a restart) the flush fails: wait for the reconnect
    for (let attempt = 0; ; attempt++) {
      try {
        await this.connection.flush();
        break;
      } catch (err) {
        if (this.#closed || this.connection.isClosed() || attempt >= 600) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    if (this.#durableSubs.size === 0) return;
    await Promise.all([...this.#durableSubs].map((d) => d.started));
    // stored is not yet delivered: when order messages were published since the last look, wait
    // (briefly) until the durable consumers have been handed everything stored for them
    const published = this.durable!.published;
    if (published === this.#deliveredUpTo) return;
    const names = new Set([...this.#durableSubs].flatMap((d) => (d.consumer ? [d.consumer] : [])));
    for (let i = 0; i < 1000; i++) {
      if ((await this.durable!.undelivered(names).catch(() => 0)) === 0) {
        this.#deliveredUpTo = published;
        return;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  async drain(): Promise<void> {
    if (this.#closed) return;
    await Promise.all([...this.#durableSubs].map((d) => d.drain().catch(() => undefined)));
    await this.durable?.close(this.options.durable?.deleteOnClose ?? false);
    const wires = [...this.#wires.values()];
    await Promise.all(wires.map((w) => (!w.natsSub || w.natsSub.isClosed() ? undefined : w.natsSub.drain())));
    await Promise.all(wires.flatMap((w) => [...w.handlers].map((h) => h.idle())));
    this.#wires.clear();
    this.#closed = true;
    if (!this.connection.isClosed()) await this.connection.drain();
  }

  async close(): Promise<void> {
    if (!this.#closed) await this.durable?.close(this.options.durable?.deleteOnClose ?? false).catch(() => undefined);
    this.#closed = true;
    if (!this.connection.isClosed()) await this.connection.close();
  }

  #decode(msg: Msg): Received {
    return {
      msg,
      subject: withoutPrefix(this.#prefix, msg.subject),
      result: decodeEnvelope(this.options.registry, msg.data, this.#maxBytes),
    };
  }

  #process(name: string, handler: Handler, r: Received, responds = false): void | Promise<void> {
    const { subject, result, msg } = r;
    const data = (r.jsMsg ?? msg)!.data;
    if (!result.ok) {
      const answer = responds && msg?.reply ? (reply: Envelope) => this.reply(msg, reply) : undefined;
      this.#inbound.reject(subject, name, data, result.code, result.reason, answer);
      return;
    }
    const ctx = r.jsMsg ? new DurableContext(subject, r.jsMsg) : new NatsContext(this, subject, msg!);
    return this.#inbound.invoke(name, handler, result.envelope, ctx, () => data, responds);
  }

  /** Encodes and size-checks an envelope for publishing. */
  #encode(subject: Subject, env: Envelope): Uint8Array {
    this.#assertPublishable(subject);
    const data = encodeEnvelope(env);
    if (data.byteLength > this.#maxBytes) throw new PayloadTooLargeError(subject, data.byteLength, this.#maxBytes);
    return data;
  }

  /** Subjects already checked by isConcreteSubject (a handful in practice; bounded anyway). */
  readonly #checkedSubjects = new Set<string>();

  #assertPublishable(subject: string): void {
    if (this.#closed || this.connection.isClosed()) throw new BusClosedError('publish');
    if (this.#checkedSubjects.has(subject)) return;
    if (!isConcreteSubject(subject))
      throw new InvalidSubjectError(subject, 'publish needs a concrete subject (no wildcards, no empty tokens)');
    if (this.#checkedSubjects.size < 10_000) this.#checkedSubjects.add(subject);
  }

  #send(subject: Subject, data: Uint8Array, headers: MsgHdrs | undefined): void {
    try {
      this.connection.publish(withPrefix(this.#prefix, subject), data, headers ? { headers } : undefined);
    } catch (err) {
      throw new TransportError(`publish on ${subject} failed: ${(err as Error).message}`, { cause: err });
    }
    this.stats.published++;
  }

  /** Replies to a request message (used by handler contexts). */
  reply(msg: Msg, env: Envelope): void {
    const data = encodeEnvelope(env);
    if (data.byteLength > this.#maxBytes)
      throw new PayloadTooLargeError(msg.reply ?? '(reply)', data.byteLength, this.#maxBytes);
    msg.respond(data, { headers: envelopeNatsHeaders(env) });
  }
}

/** A durable subscription: the local FIFO of a JetStream consumer. */
class DurableSubscription extends NatsBusSubscription {
  /** Resolves once the consumer is consuming. */
  started: Promise<void> = Promise.resolve();
  consumer: string | undefined;
  messages: { close(): Promise<void | Error> } | undefined;

  protected override async beforeDetach(): Promise<void> {
    await this.started.catch(() => undefined);
    await this.messages?.close();
  }
}

/** Context of a durable delivery: never a request (the order path is publish/subscribe only). */
class DurableContext implements MessageContext {
  #headers: Record<string, string> | undefined;
  readonly expectsReply = false;
  constructor(
    readonly subject: Subject,
    private readonly msg: JsMsg,
  ) {}
  get headers(): Record<string, string> {
    return (this.#headers ??= headerRecord(this.msg.headers));
  }
  respond(): void {
    throw new Error(`message on ${this.subject} came through a durable consumer; nothing to respond to`);
  }
}

/** Message headers as a plain record (multi-valued headers joined with commas). */
function headerRecord(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (h) for (const [k, v] of h) out[k] = v.join(',');
  return out;
}

/** A JetStream durable name from a free-form one (no `.`, `*`, `>` or spaces). */
export function durableName(name: string): string {
  return name
    .replace(/\./g, '_')
    .replace(/\*/g, 'STAR')
    .replace(/>/g, 'ALL')
    .replace(/[^A-Za-z0-9_-]/g, '-');
}

/**
 * Per-delivery context. A class, not an object literal: a literal with a getter defines the
 * accessor through a runtime call and allocates three closures on every message (~2-3 µs and
 * most of the GC load in the bench).
 */
class NatsContext implements MessageContext {
  #headers: Record<string, string> | undefined;
  constructor(
    private readonly bus: NatsBus,
    readonly subject: Subject,
    private readonly msg: Msg,
  ) {}
  get headers(): Record<string, string> {
    return (this.#headers ??= headerRecord(this.msg.headers));
  }
  get expectsReply(): boolean {
    return Boolean(this.msg.reply);
  }
  respond(reply: Envelope): void {
    if (!this.msg.reply) throw new Error(`message on ${this.subject} is not a request; nothing to respond to`);
    this.bus.reply(this.msg, reply);
  }
}

const CR_OR_LF = /[\r\n]/;

/**
 * The envelope's NATS headers, encoded once into the same bytes `headers()` + `set()` produce.
 * MsgHdrsImpl.set() re-scans and re-validates keys on every call and encode() goes through
 * TextEncoder; together they were ~1 µs a message.
 */
const envelopeHeadersClass = () =>
  class EnvelopeHeaders extends natsTransport().MsgHdrsImpl {
    readonly #bytes: Uint8Array;
    constructor(env: Envelope, traceparent: string | undefined) {
      super();
      const { id, type, correlationId, causationId } = env;
      if (
        CR_OR_LF.test(id) ||
        CR_OR_LF.test(type) ||
        CR_OR_LF.test(correlationId) ||
        (causationId !== undefined && CR_OR_LF.test(causationId))
      ) {
        throw new TypeError('envelope id, type and correlation ids must not contain CR or LF');
      }
      let block = `NATS/1.0\r\n${Header.id}: ${id}\r\n${Header.type}: ${type}\r\n${Header.correlationId}: ${correlationId}\r\n`;
      this.headers.set(Header.id, [id]);
      this.headers.set(Header.type, [type]);
      this.headers.set(Header.correlationId, [correlationId]);
      if (causationId !== undefined) {
        this.headers.set(Header.causationId, [causationId]);
        block += `${Header.causationId}: ${causationId}\r\n`;
      }
      if (traceparent !== undefined) {
        // made by the tracer from hex ids: no CR or LF to check
        this.headers.set(Header.traceparent, [traceparent]);
        block += `${Header.traceparent}: ${traceparent}\r\n`;
      }
      this.#bytes = Buffer.from(`${block}\r\n`);
    }
    override encode(): Uint8Array {
      return this.#bytes;
    }
  };

/** Made on the first message (the class extends the lazily loaded client's MsgHdrsImpl). */
let EnvelopeHeaders: ReturnType<typeof envelopeHeadersClass> | undefined;

function envelopeNatsHeaders(env: Envelope, traceparent?: string): MsgHdrs {
  EnvelopeHeaders ??= envelopeHeadersClass();
  return new EnvelopeHeaders(env, traceparent);
}

function mapRequestError(subject: string, timeoutMs: number, err: unknown): Error {
  const { RequestError, TimeoutError } = natsTransport();
  if (err instanceof RequestError && err.isNoResponders()) return new NoRespondersError(subject, { cause: err });
  if (err instanceof TimeoutError || (err instanceof RequestError && err.cause instanceof TimeoutError)) {
    return new RequestTimeoutError(subject, timeoutMs, { cause: err });
  }
  if (err instanceof Error && /closed|draining/i.test(err.message)) return new BusClosedError(`request on ${subject}`);
  return new TransportError(`request on ${subject} failed: ${(err as Error).message}`, { cause: err });
}
