import {
  type BusObserver,
  type BusStats,
  type Handler,
  type MessageContext,
  deadLetterEnvelope,
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

/**
 * The receive side both transports share: run a handler, and turn anything that fails
 * (invalid bytes, a throwing or rejecting handler) into a dead letter with the reason.
 * A subscriber never dies from a bad message.
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
  ): void | Promise<void> {
    const { observer, stats } = this.deps;
    const started = observer?.handled ? performance.now() : 0;
    stats.delivered++;
    try {
      const result = handler(env, ctx);
      if (isThenable(result)) {
        return Promise.resolve(result).then(
          () => observer?.handled?.(handlerName, env.type, (performance.now() - started) / 1000),
          (err: unknown) => this.handlerFailed(handlerName, ctx.subject, env, err, originalBytes),
        );
      }
      observer?.handled?.(handlerName, env.type, (performance.now() - started) / 1000);
    } catch (err) {
      this.handlerFailed(handlerName, ctx.subject, env, err, originalBytes);
    }
  }

  /** A message that failed validation: dead-letter it with its code and reason. */
  reject(subject: Subject, handlerName: string, data: Uint8Array, code: string, reason: string): void {
    this.deadLetter(subject, handlerName, data, code, reason);
  }

  private handlerFailed(
    handlerName: string,
    subject: Subject,
    env: Envelope,
    err: unknown,
    originalBytes: () => Uint8Array,
  ): void {
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
