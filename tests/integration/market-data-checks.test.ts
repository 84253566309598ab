import { describe, expect, it } from 'vitest';
import type { MarketFeed } from '../../agents/data/feeds/feed.js';
import type { DeadLetter } from '../../src/core/messaging/dead-letter.js';
import type { Bar, OrderFilled, PortfolioSnapshot } from '../../src/core/domain/messages.js';
import { startTestSystem } from '../helpers/system.js';
import type { DataContext } from '../../agents/data/machine.js';
import { subjects } from '../../src/core/messaging/subjects.js';
import { rootEnvelope } from '../../src/core/messaging/envelope.js';
import { versionOf } from '../../src/core/domain/messages.js';
import { sequentialIds } from '../../src/core/ports/ids.js';
import { eventually } from '../helpers/eventually.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 5);
const bar = (day: number, close: number): Bar => ({
  symbol: 'SYN',
  time: T0 + day * DAY,
  open: close,
  high: close,
  low: close,
  close,
  volume: 1000,
  intervalMs: DAY,
});

/**
 * A V-shaped market (an SMA(3,6) buy, then a sell), with one poisoned bar in the middle: ten years ahead, every price
 * 1,000,000.
 */
function poisonedFeed(): MarketFeed {
  const closes = [
    ...Array.from({ length: 12 }, (_, i) => 100 - i),
    ...Array.from({ length: 12 }, (_, i) => 88 + 2 * i),
    ...Array.from({ length: 12 }, (_, i) => 112 - 3 * i),
  ];
  const bars = closes.map((c, i) => bar(i, c));
  bars.splice(20, 0, { ...bar(3650, 1_000_000) });
  return {
    name: 'poisoned',
    endless: false,
    skipped: 0,
    [Symbol.iterator]: () => bars.map((b) => ({ kind: 'bar' as const, bar: b }))[Symbol.iterator](),
  };
}

describe('market data is checked before anyone trades on it', () => {
  it('one bar ten years ahead at 1,000,000 is dead-lettered with the reason; no fill or mark ever uses it', async () => {
    const sys = await startTestSystem('memory', {
      agents: ['data', 'strategy', 'risk', 'execution', 'portfolio'],
      feed: poisonedFeed(),
      settings: { strategy: { kind: 'sma-cross', id: 'sma', fast: 3, slow: 6, size: 10 } },
      batch: 5,
    });
    try {
      await eventually(() => expect(sys.of('market.feed-completed')).toHaveLength(1), 10_000);
      const dead = sys.seen.filter((e) => e.type === 'message.deadlettered').map((e) => e.payload as DeadLetter);
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({
        subject: 'market.bar.SYN',
        code: 'far_future',
        reason: expect.stringMatching(/^SYN bar at 2036-.* is more than 30 days after the last one/) as unknown,
        handler: 'data',
      });
      expect(sys.of('market.bar').map((e) => (e.payload as Bar).close)).not.toContain(1_000_000);
      const fills = sys.of('order.filled').map((e) => e.payload as OrderFilled);
      expect(fills.length).toBeGreaterThanOrEqual(2);
      for (const f of fills) expect(f.price).toBeLessThan(200);
      const last = sys.of('portfolio.updated').at(-1)!.payload as PortfolioSnapshot;
      expect(last.equity).toBeLessThan(200_000);
      expect(new Date(last.asOf!).getUTCFullYear()).toBe(2026);
      expect(sys.kernel.host('data')!.context).toMatchObject({ refused: { far_future: 1 } });
    } finally {
      await sys.stop();
    }
  });

  it('a jump held back by the price band is published once an operator accepts it (data.accept-price)', async () => {
    // 200 after eight bars at 100 is beyond the band: held back; the market goes back to 100; the
    // operator accepts; then 200 goes out on their word, and 450 and 1000 (beyond the band of 200 and
    // of each other) are held back again
    const closes = [...Array.from({ length: 8 }, () => 100), 200, 100, 200, 450, 1000];
    const feed: MarketFeed = {
      name: 'jump',
      endless: false,
      skipped: 0,
      [Symbol.iterator]: () => closes.map((c, i) => ({ kind: 'bar' as const, bar: bar(i, c) }))[Symbol.iterator](),
    };
    let published = 0;
    let released: () => void = () => undefined;
    const sys = await startTestSystem('memory', {
      agents: ['data', 'strategy', 'risk', 'execution', 'portfolio'],
      feed,
      paceMs: 1,
      // the pump waits after each published bar: after the ninth (the 100 after the refused 200) the
      // market holds until the operator has answered
      gate: () => (++published === 9 ? new Promise<void>((r) => (released = () => r())) : Promise.resolve()),
      settings: { strategy: { kind: 'sma-cross', id: 'sma', fast: 3, slow: 6, size: 10 } },
    });
    try {
      // held: the 200 was refused, the 100 after it published, and the market waits
      await eventually(() => expect(published).toBe(9), 10_000);
      await eventually(() => expect(sys.seen.some((e) => e.type === 'message.deadlettered')).toBe(true), 10_000);
      const refused = sys.seen.find((e) => e.type === 'message.deadlettered')!.payload as DeadLetter;
      expect(refused).toMatchObject({ subject: 'market.bar.SYN', code: 'price_band' });
      const reply = await sys.bus.request(
        subjects.dataAcceptPrice('SYN'),
        rootEnvelope(
          { ids: sequentialIds('op'), clock: sys.clock, source: 'test' },
          'data.accept-price',
          { symbol: 'SYN', reason: 'a genuine repricing', by: 'api:ops' },
          { v: versionOf('data.accept-price') },
        ),
        { timeoutMs: 5_000 },
      );
      expect(reply.payload).toMatchObject({ symbol: 'SYN', accepted: true });
      expect((sys.kernel.host('data')!.context as DataContext).acceptJumps).toEqual({
        SYN: { by: 'api:ops', reason: 'a genuine repricing' },
      });
      released();
      await eventually(() => expect(sys.of('market.feed-completed')).toHaveLength(1), 10_000);
      // 200 went out on the operator's word (the acceptance is used up); 450 and 1000 are beyond the
      // band of the new level and of each other: held back again
      expect(sys.of('market.bar').map((e) => (e.payload as Bar).close)).toEqual([...Array(9).fill(100), 200]);
      expect((sys.kernel.host('data')!.context as DataContext).acceptJumps).toEqual({});
      expect(sys.seen.filter((e) => e.type === 'message.deadlettered')).toHaveLength(3);
    } finally {
      released();
      await sys.stop();
    }
  });
});
