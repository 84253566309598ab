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

  /** Validates an already-parsed value as an envelope with a known, valid payload. */
  validate(value: unknown): ValidationResult {
    const parsed = envelopeSchema.safeParse(value);
    if (!parsed.success) {
      return { ok: false, code: InvalidReason.invalidEnvelope, reason: describeIssues(parsed.error) };
    }
    const env = parsed.data;
    const versions = this.#schemas.get(env.type);
    if (!versions) return { ok: false, code: InvalidReason.unknownType, reason: `unknown message type ${env.type}` };
    const schema = versions.get(env.v);
    if (!schema) {
      return {
        ok: false,
        code: InvalidReason.unknownVersion,
        reason: `unknown version ${env.v} of ${env.type} (known: ${this.versions(env.type).join(', ')})`,
      };
    }
    const payload = schema.safeParse(env.payload);
    if (!payload.success) {
      return { ok: false, code: InvalidReason.invalidPayload, reason: describeIssues(payload.error, 'payload') };
    }
    const envelope: Envelope = { ...env, payload: payload.data };
    if (envelope.causationId === undefined) delete (envelope as { causationId?: string }).causationId;
    return { ok: true, envelope };
  }
}
