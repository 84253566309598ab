import { z } from 'zod';
import { deriveEnvelope, rootEnvelope, type Envelope, type EnvelopeDeps } from './envelope.js';
import type { SchemaRegistry } from './schema-registry.js';

/** Type of the envelope published on `dlq.<subject>`. */
export const DEAD_LETTER_TYPE = 'message.deadlettered';
/** Type of the reply a responder sends when its handler failed. */
export const REQUEST_FAILED_TYPE = 'request.failed';

export const deadLetterPayload = z.object({
  /** Subject the message was received on (without any namespace prefix). */
  subject: z.string(),
  /** Stable reason code (see InvalidReason). */
  code: z.string(),
  /** A sentence saying what was wrong. */
  reason: z.string(),
  /** The subscription that failed it (agent or handler name). */
  handler: z.string().optional(),
  /** The original bytes, base64; truncated only when they would not fit under the size limit. */
  original: z.string(),
  originalSize: z.number().int().nonnegative(),
  truncated: z.boolean(),
  /** Id of the original message, when it was a readable envelope. */
  originalId: z.string().optional(),
});
export type DeadLetter = z.infer<typeof deadLetterPayload>;

export const requestFailedPayload = z.object({ code: z.string(), message: z.string() });
export type RequestFailed = z.infer<typeof requestFailedPayload>;

/** Registers the bus's own message types. Every registry a bus uses must include them. */
export function registerBusSchemas(registry: SchemaRegistry): SchemaRegistry {
  return registry
    .register(DEAD_LETTER_TYPE, 1, deadLetterPayload)
    .register(REQUEST_FAILED_TYPE, 1, requestFailedPayload);
}

/**
 * Thrown by a handler to dead-letter the message it was given with a code of its own: the
 * message cannot be handled as sent (a request without a reply inbox), which is no fault of the
 * handler (logged as a dead letter, not as a failure).
 */
export class DeadLetterError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'DeadLetterError';
  }
}

/** The `request.failed` reply to a request that could not be answered (invalid, or its handler failed). */
export function requestFailedEnvelope(
  deps: EnvelopeDeps,
  failure: RequestFailed,
  request?: Envelope,
): Envelope<RequestFailed> {
  return request
    ? deriveEnvelope(deps, request, REQUEST_FAILED_TYPE, failure)
    : rootEnvelope(deps, REQUEST_FAILED_TYPE, failure);
}

export interface DeadLetterInput {
  subject: string;
  code: string;
  reason: string;
  handler?: string;
  data: Uint8Array;
  maxBytes: number;
  /** The original envelope when it was valid (handler errors): keeps the chain. */
  original?: Envelope;
}

/** Builds the dead-letter envelope; derived from the original when there is one. */
export function deadLetterEnvelope(deps: EnvelopeDeps, input: DeadLetterInput): Envelope<DeadLetter> {
  // base64 grows 4/3 and the envelope adds ~1 KiB: keep what fits in one message under the limit.
  const keep = Math.max(0, Math.floor(((input.maxBytes - 2048) * 3) / 4));
  const truncated = input.data.byteLength > keep;
  const kept = truncated ? input.data.subarray(0, keep) : input.data;
  const payload: DeadLetter = {
    subject: input.subject,
    code: input.code,
    reason: input.reason,
    original: Buffer.from(kept.buffer, kept.byteOffset, kept.byteLength).toString('base64'),
    originalSize: input.data.byteLength,
    truncated,
  };
  if (input.handler) payload.handler = input.handler;
  if (input.original) {
    payload.originalId = input.original.id;
    return deriveEnvelope(deps, input.original, DEAD_LETTER_TYPE, payload);
  }
  return rootEnvelope(deps, DEAD_LETTER_TYPE, payload);
}
