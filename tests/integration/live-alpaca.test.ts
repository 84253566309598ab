import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { startSystem, type RunningSystem } from '../../src/cli/start-system.js';
import type { Bar, OrderIntent } from '../../src/core/domain/messages.js';
import type { Envelope } from '../../src/core/messaging/envelope.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { eventually } from '../helpers/eventually.js';
import { FakeAlpaca, type FakeBar } from '../helpers/fake-alpaca.js';

/**
 * `sextant start` with DATA_FEED=alpaca and BROKER=alpaca, as configured from the environment:
 * the real SDK against a local fake of Alpaca. Warm-up bars carry a crossover the strategy must
 * not trade; live bars carry one it must, and Alpaca's paper account (the fake) fills the order,
 * which the trade-updates stream brings back into the portfolio.
 */
const MIN = 60_000;
const KEY = 'PKLIVETEST0001';
const SECRET = 'live-test-secret-0001';
const warmup = [100, 99, 98, 97, 96, 95, 94, 93, 92, 91, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99];
const live = [95, 90, 86, 90, 95, 100, 104];
let T0 = 0;
const b = (n: number, close: number): FakeBar => ({
  t: T0 + n * MIN,
  o: close,
  h: close + 0.5,
  l: close - 0.5,
  c: close,
  v: 500,
});

describe('paper trading US equities on Alpaca (the SDK against a fake Alpaca)', () => {
  let alpaca: FakeAlpaca;
  let system: RunningSystem | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'sextant-live-alpaca-'));
  const seen: Envelope[] = [];
  const of = <T>(type: string) => seen.filter((e) => e.type === type).map((e) => e.payload as T);

  beforeAll(async () => {
    T0 = Math.floor(Date.now() / MIN) * MIN - 20 * MIN;
    alpaca = await FakeAlpaca.start({ keyId: KEY, secret: SECRET });
    warmup.forEach((c, n) => alpaca.bar('AAPL', b(n, c), { push: false }));
    alpaca.setPrice('AAPL', 104.5);
    const config = loadConfig({
      env: {
        ...alpaca.env('AAPL'),
        BROKER: 'alpaca',
        DATA_WARMUP_BARS: '20',
        STRATEGY_FAST: '2',
        STRATEGY_SLOW: '3',
        STRATEGY_SIZE: '1',
        EXEC_POLL_MS: '60000',
        SEXTANT_DATA_DIR: join(dir, 'data'),
        PORT: '0',
      },
    });
    system = await startSystem(config, silentLogger, config.runtime.agents);
    system.bus.subscribe('>' as never, (env) => void seen.push(env), { name: 'test' });
  });

  afterAll(async () => {
    await system?.stop();
    await alpaca.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('warms up on REST history without trading, then trades the live crossover at Alpaca and books the fill', async () => {
    await eventually(() => expect(alpaca.barSubscribers('AAPL')).toBe(1), 10_000);
    await eventually(() => expect(alpaca.tradeListeners()).toBe(1), 10_000);
    await eventually(() => expect(of<Bar>('market.bar')).toHaveLength(20), 10_000);
    expect(of<Bar>('market.bar').every((x) => x.history === true)).toBe(true);
    expect(of('order.intent')).toEqual([]);
    live.forEach((c, n) => alpaca.bar('AAPL', b(20 + n, c)));
    await eventually(() => expect(of('order.filled')).toHaveLength(1), 10_000);
    const [intent] = of<OrderIntent>('order.intent');
    expect(intent).toMatchObject({ symbol: 'AAPL', side: 'buy', qty: 1, type: 'market' });
    expect(alpaca.ordersWithClientId(intent!.clientOrderId)).toMatchObject([{ status: 'filled', qty: 1 }]);
    expect(of('order.filled')[0]).toMatchObject({ clientOrderId: intent!.clientOrderId, qty: 1, price: 104.5 });
    expect(alpaca.requestsTo('GET', '/v2/orders:by_client_order_id')).toEqual([]); // the fill came on the stream
    const health = system!.kernel.host('data')!.health();
    expect(health.detail).toMatchObject({ feed: { name: 'alpaca:iex:1m', connected: true } });
  });
});
