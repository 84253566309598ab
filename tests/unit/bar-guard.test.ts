import { describe, expect, it } from 'vitest';
import { defaultBarGuard, guardBar, type SymbolGuard } from '../../agents/data/bar-guard.js';
import { barSchema, type Bar } from '../../src/core/domain/messages.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 5);
const bar = (day: number, close: number, over: Partial<Bar> = {}): Bar => ({
  symbol: 'SYN',
  time: T0 + day * DAY,
  open: close,
  high: close,
  low: close,
  close,
  volume: 100,
  ...over,
});

/** Runs bars through the guard in order; what was published and what was refused (code). */
function run(bars: Bar[], o = defaultBarGuard) {
  let g: SymbolGuard | undefined;
  return bars.map((b) => {
    const v = guardBar(g, b, o);
    g = v.next;
    return v.ok ? `ok ${b.close}` : `${v.code} ${b.close}`;
  });
}

describe('market data checks before publication', () => {
  it('one bar ten years ahead at 1,000,000 is refused as far in the future; the market goes on from the last good bar', () => {
    expect(run([bar(0, 100), bar(3650, 1_000_000), bar(1, 101)])).toEqual(['ok 100', 'far_future 1000000', 'ok 101']);
  });

  it('a bar at or before the last one published is refused as out of order', () => {
    expect(run([bar(0, 100), bar(2, 101), bar(1, 102), bar(2, 103), bar(3, 104)])).toEqual([
      'ok 100',
      'ok 101',
      'out_of_order 102',
      'out_of_order 103',
      'ok 104',
    ]);
  });

  it('a jump beyond the price band is held back, and accepted once the next bar confirms the level', () => {
    expect(run([bar(0, 100), bar(1, 1_000_000), bar(2, 101)])).toEqual(['ok 100', 'price_band 1000000', 'ok 101']);
    // a genuine move (a split, a crash): the second bar at the new level is published
    expect(run([bar(0, 100), bar(1, 40), bar(2, 41), bar(3, 42)])).toEqual([
      'ok 100',
      'price_band 40',
      'ok 41',
      'ok 42',
    ]);
    expect(run([bar(0, 100), bar(1, 40), bar(2, 41), bar(3, 42)], { ...defaultBarGuard, confirmBars: 3 })).toEqual([
      'ok 100',
      'price_band 40',
      'price_band 41',
      'ok 42',
    ]);
  });

  it('a refusal says what was wrong, with the numbers and the key that sets the limit', () => {
    const v = guardBar({ lastTime: T0, lastClose: 100 }, bar(1, 1_000_000), defaultBarGuard);
    expect(v).toMatchObject({
      ok: false,
      code: 'price_band',
      reason: expect.stringMatching(
        /^SYN bar at 2026-01-06T00:00:00.000Z moves 999,900% from the last close 100, beyond the band of 50% \(DATA_PRICE_BAND\)/,
      ) as unknown,
    });
  });

  it('a bar whose low is above its open or close, or whose high is below them, fails its schema wherever it is read', () => {
    expect(barSchema.safeParse(bar(0, 100, { low: 101 })).success).toBe(false);
    expect(barSchema.safeParse(bar(0, 100, { high: 99 })).error?.issues[0]?.message).toMatch(/inconsistent OHLC/);
    expect(barSchema.safeParse(bar(0, 100, { low: 99, high: 101 })).success).toBe(true);
  });
});
