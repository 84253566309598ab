import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { subjects } from '../src/core/messaging/subjects.js';
import { loadConfig } from '../config/load.js';
import type { OrderApproved } from '../src/core/domain/messages.js';
import { startSystem } from '../src/cli/start-system.js';
import { silentLogger } from '../src/core/ports/logger.js';
import { writeSeries } from './backtest.bench.js';
import { formatTable } from './harness.js';

/**
 * The HTTP API under a local load generator: requests/s for `/health` and
 * `GET /api/v1/portfolio` (a bus request to the portfolio agent) with 16 concurrent keep-alive
 * clients, and the round trip of `POST /api/v1/orders` to its `order.approved` (p50/p99), all
 * against `sextant start` running in this process (in-memory bus, no store).
 */
export interface ApiBenchResult {
  readonly concurrency: number;
  readonly rows: {
    route: string;
    requests: number;
    seconds: number;
    requestsPerSecond: number;
    p50Ms: number;
    p99Ms: number;
  }[];
  readonly orderToApproval: { orders: number; p50Ms: number; p99Ms: number };
}

const TOKEN = 'bench-operator-token-0123456789';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 100) / 100;
};

async function load(
  url: string,
  concurrency: number,
  seconds: number,
): Promise<{ requests: number; latencies: number[] }> {
  const latencies: number[] = [];
  const until = performance.now() + seconds * 1000;
  const headers = { authorization: `Bearer ${TOKEN}` };
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const t = performance.now();
        const res = await fetch(url, { headers });
        await res.arrayBuffer();
        if (!res.ok) throw new Error(`${url}: ${res.status}`);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { requests: latencies.length, latencies };
}

export async function runApiBench(
  options: { seconds?: number; concurrency?: number; orders?: number } = {},
): Promise<ApiBenchResult> {
  const seconds = options.seconds ?? 3;
  const concurrency = options.concurrency ?? 16;
  const dir = mkdtempSync(join(tmpdir(), 'sextant-api-bench-'));
  const port = await freePort();
  const config = loadConfig({
    env: {
      PORT: String(port),
      STORE: 'off',
      SEXTANT_API_TOKENS: `${TOKEN}:operator`,
      API_RATE_LIMIT_PER_MINUTE: '0',
      DATA_FEED: 'csv',
      DATA_FILE: writeSeries(100),
      DATA_SYMBOLS: 'BENCH',
      DATA_PACE_MS: '0',
      HEARTBEAT_INTERVAL_MS: '60000',
      LOG_LEVEL: 'silent',
      RISK_MAX_ORDERS_PER_WINDOW: '1000000',
      RISK_MAX_ORDERS_PER_WINDOW_PER_SYMBOL: '1000000',
      RISK_MAX_OPEN_ORDERS: '1000000',
      RISK_MAX_POSITION_QTY: '1000000000',
      RISK_MAX_POSITION_NOTIONAL: '1e15',
      RISK_MAX_GROSS_EXPOSURE: '1e15',
      RISK_ALLOW_SHORT: 'true',
    },
  });
  const system = await startSystem(config, silentLogger, config.runtime.agents, { api: true });
  try {
    await system.feedDone();
    const base = `http://127.0.0.1:${port}`;
    const rows: ApiBenchResult['rows'] = [];
    for (const route of ['/health', '/api/v1/portfolio']) {
      await load(`${base}${route}`, concurrency, 0.5); // warm-up
      const r = await load(`${base}${route}`, concurrency, seconds);
      rows.push({
        route: `GET ${route}`,
        requests: r.requests,
        seconds,
        requestsPerSecond: Math.round(r.requests / seconds),
        p50Ms: percentile(r.latencies, 50),
        p99Ms: percentile(r.latencies, 99),
      });
    }
    // an order through the API to its approval by risk, one at a time (on the in-memory bus the
    // approval can come before the HTTP response: arrival times are kept until asked for)
    const arrived = new Map<string, number>();
    const waiting = new Map<string, (t: number) => void>();
    system.bus.subscribe(
      subjects.orderApproved(),
      (env) => {
        const id = (env.payload as OrderApproved).order.clientOrderId;
        const at = performance.now();
        const w = waiting.get(id);
        if (w) w(at);
        else arrived.set(id, at);
      },
      { name: 'bench' },
    );
    const n = options.orders ?? 500;
    const roundTrips: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      const res = await fetch(`${base}/api/v1/orders`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${TOKEN}`,
          'content-type': 'application/json',
          'idempotency-key': `bench-${i}`,
        },
        body: JSON.stringify({ symbol: 'BENCH', side: i % 2 ? 'sell' : 'buy', qty: 1 }),
      });
      const { clientOrderId } = (await res.json()) as { clientOrderId: string };
      const approvedAt =
        arrived.get(clientOrderId) ??
        (await new Promise<number>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`order ${clientOrderId} was not approved in 5 s`)), 5000);
          waiting.set(clientOrderId, (at) => {
            clearTimeout(timer);
            resolve(at);
          });
        }));
      waiting.delete(clientOrderId);
      roundTrips.push(approvedAt - t);
    }
    const result: ApiBenchResult = {
      concurrency,
      rows,
      orderToApproval: { orders: n, p50Ms: percentile(roundTrips, 50), p99Ms: percentile(roundTrips, 99) },
    };
    console.log(
      formatTable([
        ['route', 'requests', 's', 'req/s', 'p50 ms', 'p99 ms'],
        ...rows.map((r) => [r.route, r.requests, r.seconds, r.requestsPerSecond, r.p50Ms, r.p99Ms]),
      ]),
    );
    return result;
  } finally {
    await system.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
