import { describe, expect, it } from 'vitest';
import { MarketClock } from '../../interfaces/commands/market-clock.js';
import { createBus } from '../../bus/create-bus.js';
import {
  createRegistry,
  rootEnvelope,
  subjects,
  VirtualClock,
  sequentialIds,
  silentLogger,
} from '../../src/core/index.js';

describe("the market's clock and symbols (interfaces/commands/market-clock.ts)", () => {
  it('tells the time of the latest bar or trade and the symbols seen; before any, the wall clock and none', async () => {
    const wall = new VirtualClock(1_000);
    const deps = { ids: sequentialIds('mc'), clock: wall, source: 'test' };
    const bus = await createBus({
      name: 'mc',
      registry: createRegistry(),
      envelopeDeps: deps,
      logger: silentLogger,
      maxPayloadBytes: 65_536,
      requestTimeoutMs: 500,
    });
    const market = new MarketClock(bus, wall);
    expect(market.now()).toBe(1_000);
    expect([...market.symbols()]).toEqual([]);
    const bar = (symbol: string, time: number) =>
      bus.publish(
        subjects.marketBar(symbol),
        rootEnvelope(deps, 'market.bar', { symbol, time, open: 1, high: 1, low: 1, close: 1, volume: 1 }, { time }),
      );
    bar('SYN', 5_000);
    bar('BRK.B', 4_000);
    await bus.flush();
    expect(market.now()).toBe(5_000);
    expect([...market.symbols()].sort()).toEqual(['BRK.B', 'SYN']);
    // on a live feed people's orders are decided at the wall clock: a quiet feed shows its age
    const live = new MarketClock(bus, wall, true);
    bar('SYN', 6_000);
    await bus.flush();
    wall.observe(200_000);
    expect(live.now()).toBe(200_000);
    expect([...live.symbols()]).toEqual(['SYN']);
    expect(market.now()).toBe(6_000);
    live.stop();
    market.stop();
    await bus.close();
  });
});
