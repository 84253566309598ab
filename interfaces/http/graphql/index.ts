import { createYoga } from 'graphql-yoga';
import { documentMistakesAre400, maskError } from './errors.js';
import { limitRootFields } from './limits.js';
import { buildSchema, type GraphqlContext, type GraphqlSchemaDeps } from './schema.js';

/**
 * GraphQL on the API's Hono app (`/graphql`, graphql-yoga): the same tokens and roles (the app's
 * middleware checks them before a request gets here), the same reads (reads.ts), mutations through
 * the command router's preview and confirm, and subscriptions over the live stream as server-sent
 * events (`Accept: text/event-stream`). The app loads this module on the first GraphQL request:
 * graphql and graphql-yoga take about half a second to import.
 */

export type { GraphqlContext } from './schema.js';

export type GraphqlDeps = GraphqlSchemaDeps;

/** Answers one GraphQL request for a token the app has accepted. */
export type GraphqlHandler = (request: Request, context: GraphqlContext) => Promise<Response>;

export function createGraphqlHandler(deps: GraphqlDeps): GraphqlHandler {
  const yoga = createYoga<GraphqlContext>({
    schema: buildSchema(deps),
    graphqlEndpoint: '/graphql',
    // no pages with outside assets (GraphiQL loads from a CDN); the API's own CORS policy applies
    graphiql: false,
    landingPage: false,
    cors: false,
    multipart: false,
    // the app's body limit, enforced again while yoga reads
    maxRequestBodySize: 64 * 1024,
    maskedErrors: { maskError: maskError(deps.log) },
    plugins: [limitRootFields, documentMistakesAre400],
    // refusals are answers, not faults: maskError logs what failed on our side, with the error
    logging: {
      debug: (...args: unknown[]) => deps.log.debug({ args }, 'graphql-yoga'),
      info: (...args: unknown[]) => deps.log.debug({ args }, 'graphql-yoga'),
      warn: (...args: unknown[]) => deps.log.warn({ args }, 'graphql-yoga'),
      error: (...args: unknown[]) => deps.log.debug({ args }, 'graphql-yoga'),
    },
  });
  return async (request, context) => yoga.fetch(request, context);
}
