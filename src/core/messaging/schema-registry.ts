import { z } from 'zod';
import type { Envelope } from './envelope.js';

/** Stable reason codes for messages that fail validation (the DLQ `code`). */
export const InvalidReason = {
  notJson: 'not_json',
  invalidEnvelope: 'invalid_envelope',
  unknownType: 'unknown_type',
  unknownVersion: 'unknown_version',
  invalidPayload: 'invalid_payload',
  payloadTooLarge: 'payload_too_large',
  handlerError: 'handler_error',
  /** A request (query, control) that came without a reply inbox: there is nobody to answer. */
  noReplyInbox: 'no_reply_inbox',
} as const;
export type InvalidReason = (typeof InvalidReason)[keyof typeof InvalidReason];

const idString = z.string().min(1).max(128);

/** The envelope itself; the payload is checked against the schema registered for type@v. */
export const envelopeSchema = z.object({
  id: idString,
  type: z.string().regex(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/, 'lower-case dotted name such as market.bar'),
  v: z.number().int().positive(),
  source: z.string().min(1).max(200),
  correlationId: idString,
  causationId: idString.optional(),
  time: z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER),
  payload: z.unknown(),
});

export type ValidationResult =
  | { readonly ok: true; readonly envelope: Envelope }
  | { readonly ok: false; readonly code: InvalidReason; readonly reason: string };

/** Formats zod issues as `path: message; path: message`. */
export function describeIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${[prefix, ...i.path.map(String)].filter(Boolean).join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

/**
 * Payload schemas per message type and version. An unknown type or version is a validation
 * failure with its own reason code, never a crash.
 */
export class SchemaRegistry {
  readonly #schemas = new Map<string, Map<number, z.ZodType>>();

  /** Registers the payload schema for `type` at version `v`. */
  register(type: string, v: number, schema: z.ZodType): this {
    // validate() relies on this: a registered name is a valid type name, so a lookup hit needs no regex.
    if (!envelopeSchema.shape.type.safeParse(type).success)
      throw new Error(`invalid message type name ${JSON.stringify(type)}`);
    let versions = this.#schemas.get(type);
    if (!versions) this.#schemas.set(type, (versions = new Map()));
    versions.set(v, schema);
    return this;
  }

  /** Known versions of a type, ascending. */
  versions(type: string): number[] {
    return [...(this.#schemas.get(type)?.keys() ?? [])].sort((a, b) => a - b);
  }

  types(): string[] {
    return [...this.#schemas.keys()].sort();
  }

  /**
   * Validates an already-parsed value as an envelope of a known type and version, leaving the
   * payload as it is (readers that only compare a payload, never act on it: a replay's recorded
   * decisions). Anything not well-formed gets the full check and its reasons.
   */
  validateEnvelope(value: unknown): ValidationResult {
    if (wellFormed(value) && this.#schemas.get(value.type)?.has(value.v)) {
      const env = value as Envelope;
      return {
        ok: true,
        envelope:
          env.causationId === undefined
            ? {
                id: env.id,
                type: env.type,
                v: env.v,
                source: env.source,
                correlationId: env.correlationId,
                time: env.time,
                payload: env.payload,
              }
            : {
                id: env.id,
                type: env.type,
                v: env.v,
                source: env.source,
                correlationId: env.correlationId,
                causationId: env.causationId,
                time: env.time,
                payload: env.payload,
              },
      };
    }
    return this.validate(value);
  }

  /** Validates an already-parsed value as an envelope with a known, valid payload. */
  validate(value: unknown): ValidationResult {
    // Fast path for the common case (well-formed envelope of a registered type and version):
    // plain checks with the same rules as envelopeSchema, then the payload schema. Anything
    // else goes through envelopeSchema, which produces the reasons.
    if (wellFormed(value)) {
      const schema = this.#schemas.get(value.type)?.get(value.v);
      if (schema) return checkPayload(schema, value);
    }
    const parsed = envelopeSchema.safeParse(value);
    if (!parsed.success) {
      return { ok: false, code: InvalidReason.invalidEnvelope, reason: describeIssues(parsed.error) };
    }
    const env = parsed.data;
    const known = this.checkKind(env.type, env.v);
    if (!known.ok) return known;
    return checkPayload(this.#schemas.get(env.type)!.get(env.v)!, env);
  }

  /**
   * Whether a type and version are known, for readers that count a message without decoding
   * all of it (a replay's reader skipping what it never uses): unknown ones are reported, not guessed.
   */
  checkKind(type: unknown, v: unknown): { readonly ok: true } | Extract<ValidationResult, { ok: false }> {
    if (typeof type !== 'string' || !Number.isInteger(v))
      return {
        ok: false,
        code: InvalidReason.invalidEnvelope,
        reason: `type ${JSON.stringify(type)}, v ${JSON.stringify(v)}: not a message type and version`,
      };
    const versions = this.#schemas.get(type);
    if (!versions) return { ok: false, code: InvalidReason.unknownType, reason: `unknown message type ${type}` };
    if (!versions.has(v as number))
      return {
        ok: false,
        code: InvalidReason.unknownVersion,
        reason: `unknown version ${String(v)} of ${type} (known: ${this.versions(type).join(', ')})`,
      };
    return { ok: true };
  }
}

type EnvelopeFields = Omit<Envelope, 'payload'> & { readonly payload?: unknown };

const isId = (s: unknown): s is string => typeof s === 'string' && s.length >= 1 && s.length <= 128;

/** envelopeSchema's rules as plain checks, minus the type-name regex (the registry lookup covers it). */
function wellFormed(value: unknown): value is EnvelopeFields {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  return (
    isId(e.id) &&
    typeof e.type === 'string' &&
    Number.isInteger(e.v) &&
    (e.v as number) > 0 &&
    typeof e.source === 'string' &&
    e.source.length >= 1 &&
    e.source.length <= 200 &&
    isId(e.correlationId) &&
    (e.causationId === undefined || isId(e.causationId)) &&
    Number.isSafeInteger(e.time)
  );
}

function checkPayload(schema: z.ZodType, env: EnvelopeFields): ValidationResult {
  const payload = schema.safeParse(env.payload);
  if (!payload.success) {
    return { ok: false, code: InvalidReason.invalidPayload, reason: describeIssues(payload.error, 'payload') };
  }
  // A fresh object with exactly the known fields in one order: unknown keys dropped as zod
  // does, and no `delete` (which turns the object into a slow dictionary-mode object).
  const envelope: Envelope =
    env.causationId === undefined
      ? {
          id: env.id,
          type: env.type,
          v: env.v,
          source: env.source,
          correlationId: env.correlationId,
          time: env.time,
          payload: payload.data,
        }
      : {
          id: env.id,
          type: env.type,
          v: env.v,
          source: env.source,
          correlationId: env.correlationId,
          causationId: env.causationId,
          time: env.time,
          payload: payload.data,
        };
  return { ok: true, envelope };
}
