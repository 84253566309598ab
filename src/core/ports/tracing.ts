import { createHash } from 'node:crypto';
import type { Envelope } from '../messaging/envelope.js';

/**
 * The tracing port (OpenTelemetry, src/infra/observability/tracing.ts). Unset everywhere when
 * tracing is off: the bus and the agent host then pay one branch per message.
 *
 * Ids are derived, not drawn, so every process names the same span the same way without asking
 * anyone: a chain's trace id is a hash of its correlation id; a message's producer span (its
 * publication) has an id hashed from the message id and is the child of its causation message's
 * producer span; an agent handling the message makes a consumer span, the child of that
 * producer span. A W3C `traceparent` travels in the NATS headers as well, naming the producer
 * span, so other tools (and a publisher outside Sextant) join the same trace.
 */
export interface MessageTracer {
  /**
   * Records the producer span of `env`, published on `subject`; returns its W3C traceparent, or
   * undefined for a message not traced (health, queries: see UNTRACED_TYPES).
   */
  published(subject: string, env: Envelope): string | undefined;
  /** Starts the consumer span of `agent` handling `env`; `traceparent` is the one its headers carried. */
  handling(agent: string, env: Envelope, traceparent: string | undefined): HandlingSpan;
  /**
   * Starts the span of a person's request (HTTP, chat, a bot) whose id is the correlation id of
   * what it causes: the root of that chain's trace.
   */
  request(name: string, correlationId: string, attributes?: Readonly<Record<string, string>>): RequestSpan;
  /** Exports what is buffered. */
  flush(): Promise<void>;
  /** Exports what is buffered and stops; later spans are dropped. */
  shutdown(): Promise<void>;
}

/** A consumer span in progress. */
export interface HandlingSpan {
  /** An output the handling published (its type goes on the span as `sextant.outputs`). */
  output(type: string): void;
  /** Ends the span: `error` when the handling threw (the message is dead-lettered). */
  end(outcome: 'ok' | 'error', err?: unknown): void;
}

/** A request span in progress. */
export interface RequestSpan {
  /** Ends the span with the response status; `name` renames it (the route, once routing has matched). */
  end(status: number, name?: string): void;
}

/** The W3C trace context header. */
export const TRACEPARENT_HEADER = 'traceparent';

/**
 * Messages that start or serve no chain worth a trace: heartbeats, queries and their answers,
 * control and run announcements. Everything else is traced.
 */
export const UNTRACED_TYPES: ReadonlySet<string> = new Set([
  'agent.health',
  'agent.control',
  'agent.synced',
  'query.request',
  'query.result',
  'run.started',
]);

function hex(input: string, bytes: number): string {
  return createHash('sha256')
    .update(input)
    .digest('hex')
    .slice(0, bytes * 2);
}

/** The trace id of the chain `correlationId`: the first 16 bytes of its SHA-256, in hex. */
export function traceIdOf(correlationId: string): string {
  return hex(correlationId, 16);
}

/** The producer span of message `messageId` (its publication): 8 bytes of SHA-256 of `msg:<id>`. */
export function messageSpanId(messageId: string): string {
  return hex(`msg:${messageId}`, 8);
}

/** The consumer span of `agent` handling message `messageId`. */
export function handlingSpanId(messageId: string, agent: string): string {
  return hex(`handle:${agent}:${messageId}`, 8);
}

/** The span of the request whose id is `correlationId` (an HTTP request's X-Request-Id). */
export function requestSpanId(correlationId: string): string {
  return hex(`request:${correlationId}`, 8);
}

/**
 * The parent of a message's producer span: its causation message's producer span; for a root
 * that joins a chain started by a request (correlation id not its own), that request's span;
 * none for the root of its own chain.
 */
export function producerParentId(env: Pick<Envelope, 'id' | 'correlationId' | 'causationId'>): string | undefined {
  if (env.causationId !== undefined) return messageSpanId(env.causationId);
  return env.correlationId !== env.id ? requestSpanId(env.correlationId) : undefined;
}

/** The W3C traceparent naming the producer span of `env` (sampled). */
export function traceparentOf(env: Pick<Envelope, 'id' | 'correlationId'>): string {
  return `00-${traceIdOf(env.correlationId)}-${messageSpanId(env.id)}-01`;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

/** Trace and span id of a W3C traceparent; undefined when it is not one (or all zeros). */
export function parseTraceparent(value: string | undefined): { traceId: string; spanId: string } | undefined {
  const m = value === undefined ? null : TRACEPARENT.exec(value.trim());
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined;
  return { traceId: m[1]!, spanId: m[2]! };
}

/** The symbol a payload names, if any (a span attribute): its own, or its order's (approvals, submissions). */
export function payloadSymbol(payload: unknown): string | undefined {
  const p = payload as { symbol?: unknown; order?: { symbol?: unknown } } | null | undefined;
  const s = p?.symbol ?? p?.order?.symbol;
  return typeof s === 'string' ? s : undefined;
}
