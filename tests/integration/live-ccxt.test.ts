import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamName } from '../../bus/create-bus.js';
import { loadConfig } from '../../config/load.js';
import { replay } from '../../src/app/replay/index.js';
import { startSystem, type RunningSystem } from '../../src/cli/start-system.js';
import { createRegistry, type Bar, type OrderIntent } from '../../src/core/domain/messages.js';
import type { Envelope } from '../../src/core/messaging/envelope.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { readRecordingBatches } from '../../src/infra/recording/recording.js';
import { natsUrl, transports } from '../helpers/buses.js';
import { eventually } from '../helpers/eventually.js';
import { FakeBinance, type FakeKline } from '../helpers/fake-venue.js';

/**
 * Paper trading on live candles: `sextant start` with DATA_FEED=ccxt, the real ccxt client
 * against a local fake of Binance (REST klines for the warm-up, the kline websocket after), the
 * paper broker. Warm-up bars carry a crossover the strategy must not trade; live bars carry one it
 * must. The run records, and the recording replays to the same decisions.
 */
const MIN = 60_000;
const STREAM = 'btcusdt@kline_1m';
// the candles of the last 20 minutes (warm-up: down, then up, a cross up inside it), the 21st forming
let T0 = 0;
const warmup = [100, 99, 98, 97, 96, 95, 94, 93, 92, 91, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99];
// live: down (a cross down while flat: nothing), then up (a cross up: buy)
const live = [95, 90, 86, 90, 95, 100, 104, 108];
const k = (n: number, close: number): FakeKline => ({
  t: T0 + n * MIN,
  o: close,
  h: close + 0.5,
  l: close - 0.5,
  c: close,
  v: 5,
});

for (const { name: transport } of transports)
  describe(`paper trading on a live ccxt feed (fake Binance) [${transport}]`, () => {
    let venue: FakeBinance;
    let system: RunningSystem | undefined;
    const dir = mkdtempSync(join(tmpdir(), 'sextant-live-ccxt-'));
    const namespace = `live${process.pid}x${Date.now().toString(36)}${transport}`;
    const seen: Envelope[] = [];
    const of = <T>(type: string) => seen.filter((e) => e.type === type).map((e) => e.payload as T);

    beforeAll(async () => {
      // the feed tells closed candles from the forming one by the wall clock: start well inside a minute
      const left = MIN - (Date.now() % MIN);
      if (left < 15_000) await new Promise((r) => setTimeout(r, left + 100));
      T0 = Math.floor(Date.now() / MIN) * MIN - 20 * MIN;
      venue = await FakeBinance.start({ apiKey: 'k'.repeat(16), secret: 's'.repeat(16) });
      warmup.forEach((c, n) => venue.kline('BTCUSDT', '1m', k(n, c), { push: false }));
      venue.kline('BTCUSDT', '1m', k(20, live[0]!), { push: false }); // forming now
      const config = loadConfig({
        env: {
          ...venue.liveFeedEnv(),
          DATA_WARMUP_BARS: '20',
          DATA_GRACE_MS: '600000',
          STRATEGY_FAST: '2',
          STRATEGY_SLOW: '3',
          STRATEGY_SIZE: '1',
          SEXTANT_DATA_DIR: join(dir, 'data'),
          RECORDING_DIR: join(dir, 'rec'),
          PORT: '0',
          ...(transport === 'nats' ? { NATS_URL: natsUrl, SEXTANT_NAMESPACE: namespace } : {}),
        },
      });
      system = await startSystem(config, silentLogger, config.runtime.agents);
      system.bus.subscribe('>' as never, (env) => void seen.push(env), { name: 'test' });
    });

    afterAll(async () => {
      await system?.stop();
      await venue.close();
      rmSync(dir, { recursive: true, force: true });
      if (transport === 'nats') {
        const nc = await connect({ servers: natsUrl });
        const jsm = await jetstreamManager(nc);
        await jsm.streams.delete(streamName(namespace)).catch(() => undefined);
        await nc.close();
      }
    });

    it('warms up on history without trading, then trades the live crossover; the recording replays the same', async () => {
      await eventually(() => expect(venue.subscribers(STREAM)).toBe(1), 10_000);
      await eventually(() => expect(of<Bar>('market.bar').length).toBe(20), 10_000);
      const history = of<Bar>('market.bar');
      expect(history.every((b) => b.history === true)).toBe(true);
      expect(history.map((b) => b.close)).toEqual(warmup);
      expect(of('order.intent')).toEqual([]); // the cross up at 11..12 was history
      // live: each new candle closes the one before
      for (let n = 1; n < live.length; n++) {
        venue.kline('BTCUSDT', '1m', k(19 + n, live[n - 1]!), { closed: true });
        venue.kline('BTCUSDT', '1m', k(20 + n, live[n]!));
        await eventually(() => expect(of<Bar>('market.bar').length).toBe(20 + n), 10_000);
      }
      const liveBars = of<Bar>('market.bar').slice(20);
      expect(liveBars.map((b) => b.close)).toEqual(live.slice(0, -1));
      expect(liveBars.every((b) => b.history === undefined)).toBe(true);
      await eventually(() => expect(of('order.filled').length).toBe(1), 10_000);
      const [intent] = of<OrderIntent>('order.intent');
      expect(intent).toMatchObject({ symbol: 'BTCUSDT', side: 'buy', qty: 1, type: 'market' });
      expect(intent!.decidedAt).toBeGreaterThanOrEqual(T0 + 20 * MIN);
      // the data agent's view of the feed
      const health = system!.kernel.host('data')!.health();
      expect(health.state).toBe('running');
      expect(health.detail).toMatchObject({
        feed: { name: 'ccxt:binance:1m', symbols: { BTCUSDT: { lastBarTime: T0 + 26 * MIN, duplicates: 0 } } },
      });

      await system!.stop();
      system = undefined;
      // the checkpoint says where a restart resumes: after the last candle published
      const snapshots = join(dir, 'data', 'snapshots');
      const saved = JSON.parse(
        readFileSync(
          join(
            snapshots,
            readdirSync(snapshots).find((f) => f.endsWith('.json'))!,
          ),
          'utf8',
        ),
      ) as { state: { feed?: { name: string; lastBars?: Record<string, number> } } };
      expect(saved.state.feed).toMatchObject({ name: 'ccxt:binance:1m', lastBars: { BTCUSDT: T0 + 26 * MIN } });
      const files = readdirSync(join(dir, 'rec'));
      expect(files).toHaveLength(1);
      const replayed = await replay({
        source: readRecordingBatches(join(dir, 'rec', files[0]!), { registry: createRegistry(), lenient: false }),
        speed: 'max',
      });
      expect(replayed.recordedDecisions).toBe(5); // the signal, the intent, its approval, submission and fill
      expect(replayed.divergences).toEqual([]);
    });
  });
