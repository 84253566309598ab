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
 * graphql-yoga's error mask: what a resolver threw becomes the refusal it is (toApiError: a bus
 * failure says which part failed), and anything unexpected a 500 `internal`, logged here with the
 * error (the client sees no internals). The document's own mistakes (syntax, unknown fields) keep
 * graphql's words; yoga answers them with 400.
 */
export function maskError(log: Logger) {
  return (error: unknown): Error => {
    const located = error instanceof GraphQLError ? error : undefined;
    const original: unknown = located ? located.originalError : error;
    if (located && original instanceof GraphQLError) return located;
    // the document's own mistake (syntax, an unknown field, a variable of the wrong type): a 400
    // whatever the client accepts, as a bad REST request is
    if (located && (original === undefined || original === null))
      return new GraphQLError(located.message, {
        nodes: located.nodes,
        source: located.source,
        positions: located.positions,
        path: located.path,
        extensions: documentMistake(),
      });
    const e = toApiError(original);
    if (e.status >= 500 && !(original instanceof ApiError))
      log.error({ err: original, path: located?.path?.join('.') }, 'GraphQL request failed');
    return refusal(e, located);
  };
}

/**
 * What a document's mistake says: a 400 with the REST API's code, whatever the client accepts
 * (`spec: false`: not only for clients that accept `application/graphql-response+json`).
 */
const documentMistake = () => ({ code: 'bad_request', status: 400, http: { status: 400, spec: false } });

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
