import { afterEach, describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/core/messaging/envelope.js';
import { csvFeed } from '../../agents/data/feeds/csv-feed.js';
import { unboundedLimits } from '../../agents/risk/limits.js';
import { quiesce } from '../../bus/quiesce.js';
import { transports } from '../helpers/buses.js';
import { dailyCsv, vShape } from '../helpers/csv.js';
import { startTestSystem, type TestSystem } from '../helpers/system.js';

for (const { name } of transports) {
  describe(`trading pipeline end to end [${name}]`, () => {
    let system: TestSystem | undefined;
    afterEach(() => system?.stop());

    it('one chain from bar to portfolio update shares one correlation id with correct causation links', async () => {
      system = await startTestSystem(name, {
        agents: ['data', 'strategy', 'risk', 'execution', 'portfolio'],
        settings: {
          strategy: { kind: 'sma-cross', id: 'sma-cross', fast: 3, slow: 6, size: 10 },
          limits: { ...unboundedLimits, maxPositionQty: 1000, maxOrderNotional: 1_000_000 },
          startCash: 10_000,
        },
        feed: csvFeed({ file: dailyCsv(vShape()), symbol: 'ACME' }),
        batch: 5,
      });
      const { bus, seen, clock } = system;
      await system.kernel.host('data')!.whenStarted();
      await quiesce(bus);

      expect(seen.filter((e) => e.type.startsWith('message.deadlettered'))).toEqual([]);
      const fill = seen.find((e) => e.type === 'order.filled')!;
      expect(fill).toBeDefined();
      const byId = new Map(seen.map((e) => [e.id, e]));
      const chain: Envelope[] = [fill];
      while (chain[0]!.causationId) chain.unshift(byId.get(chain[0]!.causationId)!);
      expect(chain.map((e) => e.type)).toEqual([
        'market.bar',
        'signal.generated',
        'order.intent',
        'order.approved',
        'order.submitted',
        'order.filled',
      ]);
      const root = chain[0]!;
      expect(root.correlationId).toBe(root.id);
      for (const e of chain) expect(e.correlationId).toBe(root.id);
      const update = seen.find((e) => e.type === 'portfolio.updated' && e.causationId === fill.id)!;
      expect(update.correlationId).toBe(root.id);
      expect(fill.time).toBeGreaterThan(root.time); // filled on the next bar, at its time
      const lastBar = seen.filter((e) => e.type === 'market.bar').at(-1)!;
      expect(clock.now()).toBe(lastBar.time); // the virtual clock follows event time
      const position = (update.payload as { positions: { symbol: string; qty: number }[] }).positions.find(
        (p) => p.symbol === 'ACME',
      );
      expect(position?.qty).toBe(10);
    });
  });
}
