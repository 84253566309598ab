import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import { startSystem } from '../src/cli/start-system.js';
import { subjects } from '../src/core/messaging/subjects.js';
import { silentLogger } from '../src/core/ports/logger.js';
import { FakeBinance, type FakeKline } from '../tests/helpers/fake-venue.js';

/**
 * Live-data latency: from a kline arriving on the websocket (the one that closes the previous
 * candle) to `order.submitted` on the paper broker, through the real ccxt client, the data agent,
 * the strategy, risk and execution of `sextant start` in this process. The venue is the local
 * fake of Binance (its websocket send is inside the figure). Prices alternate up and down and the
 * strategy is sma-cross 1/2, so every closed candle decides an order. On the in-memory bus and,
 * when a server is there, over NATS (every agent in this process).
 */
export interface LiveBenchRow {
  readonly transport: 'memory' | 'nats';
  readonly candles: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface LiveBenchResult {
  readonly rows: LiveBenchRow[];
  readonly goals: { readonly memoryP99Ms: number };
  readonly natsSkipped?: string;
}

const MIN = 60_000;
const WARMUP = 20;

const percentile = (xs: readonly number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 100) / 100;
};

async function measure(transport: 'memory' | 'nats', candles: number, natsUrl?: string): Promise<LiveBenchRow> {
  const venue = await FakeBinance.start({ apiKey: 'k'.repeat(16), secret: 's'.repeat(16) });
  const dir = mkdtempSync(join(tmpdir(), 'sextant-live-bench-'));
  const T0 = Math.floor(Date.now() / MIN) * MIN - 5 * MIN;
  // odd candles up, even down: with sma-cross 1/2 each closed candle crosses, buying when flat, selling when long
  const close = (n: number) => 100 + (n % 2 === 1 ? 1 : -1);
  const kline = (n: number): FakeKline => ({ t: T0 + n * MIN, o: close(n), h: 102, l: 98, c: close(n), v: 1 });
  for (let n = 0; n < 5; n++) venue.kline('BTCUSDT', '1m', kline(n), { push: false });
  venue.kline('BTCUSDT', '1m', kline(5), { push: false });
  const config = loadConfig({
    env: {
      ...venue.liveFeedEnv(),
      DATA_WARMUP_BARS: '5',
      DATA_GRACE_MS: '3600000',
      STRATEGY_FAST: '1',
      STRATEGY_SLOW: '2',
      STRATEGY_SIZE: '1',
      RISK_MAX_ORDERS_PER_WINDOW: '1000000',
      RISK_MAX_ORDERS_PER_WINDOW_PER_SYMBOL: '1000000',
      STORE: 'off',
      PORT: '0',
      SEXTANT_DATA_DIR: join(dir, 'data'),
      ...(transport === 'nats' ? { NATS_URL: natsUrl! } : {}),
    },
  });
  const system = await startSystem(config, silentLogger, config.runtime.agents);
  let waiting: ((at: number) => void) | undefined;
  system.bus.subscribe(subjects.orderSubmitted(), () => waiting?.(performance.now()), { name: 'bench' });
  try {
    for (let tries = 0; venue.subscribers('btcusdt@kline_1m') === 0; tries++) {
      if (tries > 500) throw new Error('the feed never subscribed to the kline stream');
      await new Promise((r) => setTimeout(r, 10));
    }
    venue.kline('BTCUSDT', '1m', kline(5)); // the forming candle, seen on the socket
    const latencies: number[] = [];
    for (let n = 6; n < 6 + WARMUP + candles; n++) {
      const submitted = new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no order.submitted for candle ${n - 1}`)), 5_000);
        waiting = (at) => {
          clearTimeout(timer);
          waiting = undefined;
          resolve(at);
        };
      });
      const sent = performance.now();
      venue.kline('BTCUSDT', '1m', kline(n)); // closes candle n - 1, which decides an order
      const at = await submitted;
      if (n >= 6 + WARMUP) latencies.push(at - sent);
    }
    return {
      transport,
      candles,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: Math.round(Math.max(...latencies) * 100) / 100,
    };
  } finally {
    await system.stop();
    await venue.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runLiveBench(options: {
  natsUrl?: string | undefined;
  candles?: number;
}): Promise<LiveBenchResult> {
  const candles = options.candles ?? 300;
  const rows = [await measure('memory', candles)];
  if (options.natsUrl) rows.push(await measure('nats', candles, options.natsUrl));
  return {
    rows,
    goals: { memoryP99Ms: 5 },
    ...(options.natsUrl ? {} : { natsSkipped: 'no NATS server' }),
  };
}
