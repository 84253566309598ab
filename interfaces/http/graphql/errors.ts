import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../../../src/core/index.js';
import { ApiError, toApiError } from '../errors.js';

/**
 * Refusals as GraphQL errors: the REST API's code and status in `extensions` (`unauthorized` 401,
 * `forbidden` 403, `bad_request` 400 with `details.fields`, `refused` 409, ...), and the status on
 * the HTTP response too (graphql-yoga takes the highest of `extensions.http.status`).
 */
export function refusal(e: ApiError, located?: GraphQLError): GraphQLError {
  return new GraphQLError(e.message, {
    ...(located
      ? { nodes: located.nodes, source: located.source, positions: located.positions, path: located.path }
      : {}),
    originalError: e,
    extensions: {
      code: e.code,
      status: e.status,
      ...(e.details !== undefined ? { details: e.details } : {}),
      http: { status: e.status },
    },
  });
}

/**
 * What a resolver threw, as the refusal it is (toApiError: a bus failure says which part failed);
 * anything unexpected is a 500 `internal`, logged with the error and the request id (the client
 * sees no internals). The root fields' resolvers go through this with their request's id.
 */
export function asRefusal(err: unknown, log: Logger, requestId?: string, located?: GraphQLError): GraphQLError {
  if (err instanceof GraphQLError) return err;
  const e = toApiError(err);
  if (e.status >= 500 && !(err instanceof ApiError))
    log.error(
      { err, ...(requestId ? { requestId } : {}), ...(located?.path ? { path: located.path.join('.') } : {}) },
      'GraphQL request failed',
    );
  return refusal(e, located);
}

/**
 * graphql-yoga's error mask: refusals pass as they are; what a field below the root threw becomes
 * a refusal (asRefusal); the request's own mistakes (syntax, unknown fields) keep graphql's words,
 * with a 4xx.
 */
export function maskError(log: Logger) {
  return (error: unknown): Error => {
    const located = error instanceof GraphQLError ? error : undefined;
    const original: unknown = located ? located.originalError : error;
    if (located && original instanceof GraphQLError) return located;
    // the request's own mistake (syntax, an unknown field, a variable of the wrong type, a mutation
    // over GET): a 4xx whatever the client accepts, as a bad REST request is; yoga's status is kept
    if (located && (original === undefined || original === null)) {
      const http = located.extensions.http as { status?: number; headers?: Record<string, string> } | undefined;
      return new GraphQLError(located.message, {
        nodes: located.nodes,
        source: located.source,
        positions: located.positions,
        path: located.path,
        extensions: documentMistake(http?.status, http?.headers),
      });
    }
    return asRefusal(original, log, undefined, located);
  };
}

/**
 * What a document's mistake says: a 400 with the REST API's code, whatever the client accepts
 * (`spec: false`: not only for clients that accept `application/graphql-response+json`).
 */
function documentMistake(given?: number, headers?: Record<string, string>) {
  const status = given !== undefined && given >= 400 && given < 500 ? given : 400;
  const code = { 405: 'method_not_allowed', 413: 'body_too_large', 415: 'unsupported_media_type' }[status];
  return { code: code ?? 'bad_request', status, http: { status, spec: false, ...(headers ? { headers } : {}) } };
}

/**
 * Validation errors (an unknown field, a missing argument) as the 400 `bad_request` they are; yoga
 * would answer a client that accepts `application/json` with 200 (the GraphQL over HTTP spec's
 * legacy rule), which would make a broken query look like an answer.
 */
export const documentMistakesAre400: Plugin = {
  onValidate:
    () =>
    ({ valid, result }) => {
      if (!valid) for (const error of result) Object.assign(error.extensions, documentMistake());
    },
};
