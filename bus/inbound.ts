import {
  type BusObserver,
  type BusStats,
  type Handler,
  type MessageContext,
  deadLetterEnvelope,
  DeadLetterError,
  requestFailedEnvelope,
  type RequestFailed,
  messageLogFields,
  type Envelope,
  type EnvelopeDeps,
  InvalidReason,
  subjects,
  type Subject,
  type Logger,
} from '../src/core/index.js';

export interface InboundDeps {
  readonly envelopeDeps: EnvelopeDeps;
  readonly maxBytes: number;
  readonly logger: Logger;
  readonly observer?: BusObserver | undefined;
  readonly stats: BusStats;
  /** Publishes a dead letter (already built) on its dlq subject. */
  publishDeadLetter(subject: Subject, env: Envelope): void;
}

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';

/** Sends a reply to the request being handled (the transport's inbox). */
export type Answer = (reply: Envelope) => void;

/**
 * The receive side both transports share: run a handler, and turn anything that fails
 * (invalid bytes, a throwing or rejecting handler) into a dead letter with the reason.
 * A subscriber never dies from a bad message. A subscription that answers requests
 * (`responds`) also tells the requester at once, with a `request.failed` reply.
 */
export class Inbound {
  constructor(private readonly deps: InboundDeps) {}

  /** Runs `handler`; returns a promise only when the handler is async. Never throws. */
  invoke(
    handlerName: string,
    handler: Handler,
    env: Envelope,
    ctx: MessageContext,
    originalBytes: () => Uint8Array,
    responds = false,
  ): void | Promise<void> {
    const { observer, stats } = this.deps;
    const started = observer?.handled ? performance.now() : 0;
    stats.delivered++;
    const failed = (err: unknown) => {
      if (responds && ctx.expectsReply) this.#answerFailure(env, err, (reply) => ctx.respond(reply));
      this.handlerFailed(handlerName, ctx.subject, env, err, originalBytes);
    };
    try {
      const result = handler(env, ctx);
      if (isThenable(result)) {
        return Promise.resolve(result).then(
          () => observer?.handled?.(handlerName, env.type, (performance.now() - started) / 1000),
          failed,
        );
      }
      observer?.handled?.(handlerName, env.type, (performance.now() - started) / 1000);
    } catch (err) {
      failed(err);
    }
  }

  /**
   * A message that failed validation: dead-letter it with its code and reason; when it is a
   * request to a subscription that answers (`answer` given), the requester gets the reason too.
   */
  reject(subject: Subject, handlerName: string, data: Uint8Array, code: string, reason: string, answer?: Answer): void {
    if (answer) this.#send(answer, requestFailedEnvelope(this.deps.envelopeDeps, { code, message: reason }), subject);
    this.deadLetter(subject, handlerName, data, code, reason);
  }

  /** The `request.failed` reply to a request whose handler threw (its `code` when it has one). */
  #answerFailure(env: Envelope, err: unknown, answer: Answer): void {
    const e = err as { code?: unknown; message?: unknown } | undefined;
    const failure: RequestFailed = {
      code: typeof e?.code === 'string' ? e.code : 'responder_error',
      message: typeof e?.message === 'string' ? e.message : String(err),
    };
    this.#send(answer, requestFailedEnvelope(this.deps.envelopeDeps, failure, env), env.type);
  }

  #send(answer: Answer, reply: Envelope, what: string): void {
    try {
      answer(reply);
    } catch (err) {
      this.deps.logger.error({ err, what }, 'could not answer a failed request');
    }
  }

  private handlerFailed(
    handlerName: string,
    subject: Subject,
    env: Envelope,
    err: unknown,
    originalBytes: () => Uint8Array,
  ): void {
    // a message that cannot be handled as sent (a request without a reply inbox) is no fault of the handler
    if (err instanceof DeadLetterError) {
      this.deadLetter(subject, handlerName, originalBytes(), err.code, err.message, env);
      return;
    }
    const reason = err instanceof Error ? `${err.name}: ${err.message}` : `non-error thrown: ${String(err)}`;
    this.deps.logger.error({ ...messageLogFields(env), subject, handler: handlerName, err }, 'handler failed');
    this.deadLetter(subject, handlerName, originalBytes(), InvalidReason.handlerError, reason, env);
  }

  private deadLetter(
    subject: Subject,
    handlerName: string,
    data: Uint8Array,
    code: string,
    reason: string,
    original?: Envelope,
  ): void {
    const { logger, observer, stats, envelopeDeps, maxBytes } = this.deps;
    stats.deadLettered++;
    observer?.deadLettered?.(subject, code);
    logger.warn(
      { subject, handler: handlerName, code, reason, ...(original ? messageLogFields(original) : {}) },
      'dead-lettered',
    );
    if (subject.startsWith('dlq.')) return; // a failing dead-letter consumer must not loop; the log line above keeps it
    const input = { subject, code, reason, handler: handlerName, data, maxBytes, ...(original ? { original } : {}) };
    try {
      this.deps.publishDeadLetter(subjects.dlq(subject), deadLetterEnvelope(envelopeDeps, input));
    } catch (err) {
      logger.error({ subject, code, err }, 'could not publish dead letter');
    }
  }
}
