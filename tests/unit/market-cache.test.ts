import { describe, expect, it } from 'vitest';
import type { Bar } from '../../src/core/domain/messages.js';
import { MarketCache, MarketDataGoneError } from '../../src/core/agent/market-cache.js';

const bar = (time: number, close = 10 + time): Bar => ({
  symbol: 'ACME',
  time,
  open: close,
  high: close,
  low: close,
  close,
  volume: 1,
});

describe('market cache', () => {
  it('answers the price as of a time, not the latest one', () => {
    const cache = new MarketCache();
    for (const t of [1, 2, 3]) cache.onBar(bar(t));
    expect(cache.priceAt('ACME', 2)).toBe(12);
    expect(cache.priceAt('ACME', 0)).toBeUndefined();
    expect(cache.lastPrice('ACME')).toBe(13);
  });

  it('ignores a bar it has already seen (a redelivery)', () => {
    const cache = new MarketCache();
    cache.onBar(bar(1));
    cache.onBar(bar(1));
    cache.onBar(bar(2));
    expect(cache.barsAfter('ACME', 0).map((b) => b.time)).toEqual([1, 2]);
  });

  it('returns the bars after a decision time in order', () => {
    const cache = new MarketCache();
    for (let t = 1; t <= 10; t++) cache.onBar(bar(t));
    expect(cache.barsAfter('ACME', 7).map((b) => b.time)).toEqual([8, 9, 10]);
    expect(cache.barsAfter('ACME', 10)).toEqual([]);
  });

  it('refuses, loudly, to answer with a shortened list once the bars after a time were trimmed', () => {
    const cache = new MarketCache();
    for (let t = 1; t <= 5000; t++) cache.onBar(bar(t));
    expect(() => cache.barsAfter('ACME', 10)).toThrow(MarketDataGoneError);
    expect(cache.barsAfter('ACME', 4990)).toHaveLength(10);
  });

  it('for marking (kept), answers with the bars still cached, the latest last, instead of refusing', () => {
    const cache = new MarketCache();
    for (let t = 1; t <= 5000; t++) cache.onBar(bar(t));
    const kept = cache.barsAfter('ACME', 10, { kept: true });
    expect(kept.length).toBe(4096);
    expect(kept.at(-1)!.time).toBe(5000);
    expect(kept[0]!.time).toBeGreaterThan(10);
  });
});
