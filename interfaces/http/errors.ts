import type { z } from 'zod';
import { BusClosedError, NoRespondersError, RemoteRequestError, RequestTimeoutError } from '../../bus/index.js';
import { ROLE_RANK, type Reply, type Role } from '../commands/index.js';

/**
 * The refusals of the HTTP API, shared by REST (`app.onError` renders them as `{ error }`) and
 * GraphQL (`graphql/errors.ts` renders them as GraphQL errors with the same code and status).
 */

/** The one error shape: `{ error: { code, message, details? } }` with its status. */
export class ApiError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 405 | 406 | 409 | 413 | 415 | 422 | 429 | 500 | 502 | 503 | 504,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * The status of a command router reply that is not ok, by its code. Codes not listed are a
 * person's mistake the command found (`no_position`, `too_small`, ...): 422.
 */
const COMMAND_STATUS: Readonly<Record<string, ApiError['status']>> = {
  bad_arguments: 400,
  empty: 400,
  too_long: 400,
  forbidden: 403,
  unknown_command: 404,
  no_preview: 404,
  not_found: 404,
  expired: 409,
  refused: 409,
  changed: 409,
  failed: 502,
  unavailable: 503,
  timeout: 504,
};

/** A router reply that is not ok, as the refusal it is: a person's mistake is a 4xx, 5xx when a part of ours failed. */
export function replyError(reply: Reply): ApiError {
  const code = reply.code ?? 'failed';
  return new ApiError(COMMAND_STATUS[code] ?? 422, code, reply.text, { reply });
}

/** Refuses a token whose role is below `needed` (403, the same words everywhere). */
export function requireRank(has: Role, needed: Role): void {
  if (ROLE_RANK[has] < ROLE_RANK[needed])
    throw new ApiError(403, 'forbidden', `this needs the ${needed} role; the token has ${has}`);
}

/** Validates with zod; a failure is a 400 naming every offending field. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const fields: Record<string, string> = {};
  for (const issue of r.error.issues) fields[issue.path.join('.') || where] = issue.message;
  throw new ApiError(400, 'bad_request', `invalid ${where}: ${Object.keys(fields).join(', ')}`, { fields });
}

/** Any error as the refusal a client sees: a bus failure says which part failed; anything else is a 500. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof NoRespondersError)
    return new ApiError(503, 'agent_unavailable', 'no agent answers this (is it running?)');
  if (err instanceof RequestTimeoutError) return new ApiError(504, 'timeout', 'the agents did not answer in time');
  if (err instanceof RemoteRequestError)
    return err.remoteCode === 'bad_query'
      ? new ApiError(400, 'bad_query', err.message)
      : new ApiError(502, 'agent_error', err.message);
  if (err instanceof BusClosedError) return new ApiError(503, 'shutting_down', 'the system is stopping');
  return new ApiError(500, 'internal', 'the request failed; see the server log with its request id');
}
