import { z } from 'zod';
import { riskLimitsPatchSchema } from '../../agents/risk/index.js';
import { boundedPrice, boundedQty, refuseUnsafeNumbers } from '../../src/core/index.js';

/** What the HTTP API accepts: the handlers validate with these and the OpenAPI document is made from them. */

// JSON bodies carry numbers as numbers: no coercion (true, [5] or "0x10" are not quantities). Quantities
// and prices are normal doubles from 1e-12 to 1e12 (src/core/domain/bounds.ts); the symbol's lot, minimum
// and tick are risk's to check, with a verdict
export const orderBodySchema = z
  .object({
    symbol: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9._/:-]+$/, 'letters, digits and . _ / : - only'),
    side: z.enum(['buy', 'sell']),
    qty: boundedQty,
    type: z.enum(['market', 'limit', 'stop']).default('market'),
    limitPrice: boundedPrice.optional(),
    stopPrice: boundedPrice.optional(),
    tif: z.enum(['GTC', 'DAY', 'IOC']).default('GTC'),
  })
  .strict();
export const limitsBodySchema = z
  .object({
    // no denormals, nothing beyond 2^53: a limit is a number risk compares exactly
    limits: riskLimitsPatchSchema.superRefine((limits, ctx) => refuseUnsafeNumbers(limits, ctx)),
    reason: z.string().min(1).max(500).default('changed through the API'),
  })
  .strict();
/** Halt and resume: a reason is welcome, never required (a kill switch must not wait for one). */
export const reasonBodySchema = z.object({ reason: z.string().min(1).max(500).optional() }).strict();

/** A time in a query: epoch milliseconds, or ISO-8601 (`2026-12-07T00:00:00Z`, `2026-12-07`). */
export const timeQuery = z.string().transform((v, ctx) => {
  const t = /^-?\d+$/.test(v.trim()) ? Number(v) : Date.parse(v);
  // a Date's own range (±8.64e15 ms): every such time is an exact whole number
  if (!Number.isFinite(t) || Math.abs(t) > 8.64e15) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected a time: epoch milliseconds or ISO-8601, e.g. 2026-12-07T00:00:00Z',
    });
    return z.NEVER;
  }
  return t;
});
const pageSchema = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) });
export const ordersQuerySchema = z
  .object({
    status: z
      .enum(['open', 'new', 'submitted', 'partially_filled', 'filled', 'cancelled', 'rejected', 'expired', 'failed'])
      .optional(),
    symbol: z.string().max(64).optional(),
    from: timeQuery.optional(),
    to: timeQuery.optional(),
  })
  .extend(pageSchema.shape)
  .strict();
export const fillsQuerySchema = z
  .object({
    symbol: z.string().max(64).optional(),
    clientOrderId: z.string().max(200).optional(),
    from: timeQuery.optional(),
    to: timeQuery.optional(),
  })
  .extend(pageSchema.shape)
  .strict();
export const eventsQuerySchema = z
  .object({
    type: z.string().max(100).optional(),
    symbol: z.string().max(64).optional(),
    from: timeQuery.optional(),
    to: timeQuery.optional(),
    offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
    newest: z.stringbool().optional(),
  })
  .extend(pageSchema.shape)
  .strict();
// a list of types (the dashboard asks for eight, over 100 characters)
export const streamQuerySchema = z
  .object({ type: z.string().max(400).optional(), symbol: z.string().max(64).optional() })
  .strict();

/**
 * `POST /api/v1/commands/:name`: the command's arguments as an object (the router validates them with the command's
 * own schema).
 */
export const commandBodySchema = z.object({ args: z.record(z.string(), z.unknown()).default({}) }).strict();
/** A command's name in a path (`/commands/buy`) or a GraphQL argument. */
export const commandNameSchema = z.string().regex(/^[a-z][a-z-]{0,39}$/, 'a command name: lower-case letters and -');
/** A preview's id, as the router made it. */
export const previewIdSchema = z.string().regex(/^[\w-]{1,40}$/, 'a preview id: letters, digits, _ and -');
export const chatBodySchema = z
  .object({
    message: z.string().min(1).max(4000),
    conversationId: z
      .string()
      .regex(/^[\w.:-]{1,60}$/)
      .optional(),
  })
  .strict();

/**
 * `POST /graphql`: a GraphQL request (GraphQL over HTTP). graphql-yoga reads it; this schema is
 * what the OpenAPI document shows (yoga refuses the same mistakes: no query, other parameters).
 */
export const graphqlBodySchema = z
  .object({
    query: z.string().min(1).max(60_000),
    variables: z.record(z.string(), z.unknown()).optional(),
    operationName: z.string().max(200).optional(),
    extensions: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .meta({ examples: [{ query: '{ portfolio { equity cash } positions { symbol qty } }' }] });
/** A JSON object in a URL (GraphQL's `variables`, `extensions`): anything else is a 400 naming the parameter. */
const jsonObjectText = (max: number) =>
  z
    .string()
    .max(max)
    .refine((v) => {
      try {
        const parsed: unknown = JSON.parse(v);
        return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed);
      } catch {
        return false;
      }
    }, 'expected a JSON object');
/**
 * `GET /graphql`: a query (not a mutation) in the URL, variables and extensions as JSON objects.
 * Bounded so that a URL, each character percent-encoded at worst (9 bytes), stays under Node's
 * 16 KiB limit of a request's head: anything longer goes by POST.
 */
export const graphqlQuerySchema = z
  .object({
    query: z.string().min(1).max(1000),
    variables: jsonObjectText(300).optional(),
    operationName: z.string().max(100).optional(),
    extensions: jsonObjectText(100).optional(),
  })
  .strict();
