import { type Envelope, InvalidReason, type SchemaRegistry, type ValidationResult } from '../src/core/index.js';

const decoder = new TextDecoder();

/** Envelope <-> bytes. JSON, UTF-8. */
export function encodeEnvelope(env: Envelope): Uint8Array {
  return Buffer.from(JSON.stringify(env));
}

/** Bytes -> validated envelope, or the reason it is not one. Never throws. */
export function decodeEnvelope(
  registry: SchemaRegistry,
  data: Uint8Array,
  maxBytes: number,
  checkPayload?: (type: string) => boolean,
): ValidationResult {
  if (data.byteLength > maxBytes) {
    return {
      ok: false,
      code: InvalidReason.payloadTooLarge,
      reason: `message is ${data.byteLength} bytes, over the limit of ${maxBytes} bytes`,
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data));
  } catch (err) {
    return { ok: false, code: InvalidReason.notJson, reason: `not JSON: ${(err as Error).message}` };
  }
  const type = (value as { type?: unknown } | null)?.type;
  return !checkPayload || typeof type !== 'string' || checkPayload(type)
    ? registry.validate(value)
    : registry.validateEnvelope(value);
}
