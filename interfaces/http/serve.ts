import { createHash } from 'node:crypto';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { Config } from '../../config/index.js';
import type { Logger } from '../../src/core/index.js';
import { createApi, type ApiDeps } from './app.js';
import type { Metrics } from '../../src/infra/observability/index.js';

/** Listens on `port` with a fetch handler; `close` also drops open connections. */
export async function listen(
  fetch: (req: Request) => Response | Promise<Response>,
  port: number,
  hostname?: string,
): Promise<{ close(): Promise<void> }> {
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch, port, ...(hostname ? { hostname } : {}) }, () => resolve(s));
    s.once('error', reject);
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // idle keep-alive connections and open event streams would hold the close for seconds
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

/** What `sextant bots` serves: `/health` (the container's health check) and the Telegram webhook, nothing else. */
export async function serveBotsHttp(
  port: number,
  webhooks: ReadonlyMap<string, (req: Request) => Promise<Response>> | undefined,
  logger: Logger,
): Promise<{ close(): Promise<void> }> {
  const app = new Hono();
  app.get('/health', (c) => c.json({ status: 'ok' }));
  for (const [path, handler] of webhooks ?? []) app.post(path, (c) => handler(c.req.raw));
  const server = await listen(app.fetch, port);
  logger.info({ port, webhooks: [...(webhooks?.keys() ?? [])] }, 'bots HTTP (health, webhooks) listening');
  return server;
}

/**
 * What a process without the API serves on METRICS_PORT (`sextant agent`, `recorder`, `bots`): its
 * own Prometheus registry (handler latencies, bus counters, dead letters of the handlers it runs)
 * and `/health` (a liveness probe), nothing else. No token: the port stays inside the deployment.
 */
export async function serveMetricsHttp(
  port: number,
  metrics: Pick<Metrics, 'registry'>,
  logger: Logger,
): Promise<{ close(): Promise<void> }> {
  const app = new Hono();
  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.get('/metrics', async (c) => {
    c.header('Content-Type', metrics.registry.contentType);
    return c.body(await metrics.registry.metrics());
  });
  const server = await listen(app.fetch, port);
  logger.info({ port }, 'metrics HTTP (/metrics, /health) listening');
  return server;
}

/** Serves the HTTP API on PORT until stopped. */
export async function serveApi(
  config: Config,
  deps: Pick<
    ApiDeps,
    | 'bus'
    | 'store'
    | 'metrics'
    | 'agents'
    | 'chat'
    | 'commands'
    | 'envelope'
    | 'decisionClock'
    | 'knownSymbols'
    | 'accepting'
    | 'writes'
    | 'log'
    | 'webhooks'
    | 'tracer'
  >,
): Promise<{ close(): Promise<void> }> {
  const app = createApi({
    ...deps,
    // a token's name (logs, origins, idempotency keys) comes from its hash: stable when the list is reordered
    tokens: config.api.tokens.map((t) => ({
      ...t,
      name: `${t.role}-${createHash('sha256').update(t.token).digest('hex').slice(0, 8)}`,
    })),
    metricsOpen: config.api.metricsOpen,
    rateLimitPerMinute: config.api.rateLimitPerMinute,
    corsOrigins: config.api.corsOrigins,
    requestTimeoutMs: config.bus.requestTimeoutMs,
  });
  const server = await listen(app.fetch, config.port, config.api.host);
  deps.log.info(
    { port: config.port, host: config.api.host ?? 'every interface', tokens: config.api.tokens.length },
    'HTTP API listening',
  );
  return server;
}
