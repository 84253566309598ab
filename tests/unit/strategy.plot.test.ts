import { describe, expect, it } from 'vitest';
import { defineStrategy, z } from '../../agents/strategy/sdk/index.js';
import { registerStrategy, resolveInstance, type StrategyInstance } from '../../agents/strategy/strategies.js';
import { upgradeStrategyContext } from '../../agents/strategy/upgrade.js';
import { strategyPlottedSchema, type StrategyPlotted } from '../../src/core/domain/messages.js';
import type { Outbound } from '../../src/core/agent/outbound.js';
import { dayTime, startStrategy } from '../helpers/strategy-harness.js';

const plots = (outs: readonly Outbound[]) =>
  outs.flatMap((o) => (o.type === 'strategy.plotted' ? [o.payload as StrategyPlotted] : []));
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const valueOf = (p: StrategyPlotted, key: string) => p.lines.find((l) => l.key === key)?.value;

const sma = (extra: Partial<StrategyInstance> = {}): StrategyInstance => ({
  id: 'trend',
  strategy: 'sma-cross',
  params: { fast: 2, slow: 4, size: 10 },
  plot: true,
  ...extra,
});

describe('strategy plot (indicator lines per bar)', () => {
  it('sma-cross with plotting on publishes per bar its fast and slow lines, equal to the SMAs of the closes', () => {
    const s = startStrategy(sma());
    const closes = [10, 11, 12, 13, 12, 11, 10, 12, 14];
    const seen: StrategyPlotted[] = [];
    closes.forEach((c, i) => {
      const out = plots(s.bars([c]));
      if (i === 0) {
        // the fast SMA needs two closes: nothing to draw yet, so nothing is published
        expect(out).toEqual([]);
        return;
      }
      expect(out).toHaveLength(1);
      const p = out[0]!;
      expect(strategyPlottedSchema.parse(p)).toEqual(p);
      expect(p.symbol).toBe('ORCL');
      expect(p.strategy).toBe('trend');
      expect(p.lines.map((l) => [l.key, l.label, l.pane])).toEqual([
        ['fast', 'SMA2', 'price'],
        ['slow', 'SMA4', 'price'],
      ]);
      const upTo = closes.slice(0, i + 1);
      expect(valueOf(p, 'fast')).toBeCloseTo(mean(upTo.slice(-2)), 12);
      expect(valueOf(p, 'slow')).toEqual(i < 3 ? null : expect.closeTo(mean(upTo.slice(-4)), 12));
      seen.push(p);
    });
    expect(seen).toHaveLength(closes.length - 1);
  });

  it('a bar that decides an order publishes its lines after the signal and the intent', () => {
    const s = startStrategy(sma());
    s.bars([10, 9, 8, 7]);
    const out = s.bars([12]); // SMA2 9.5 crosses above SMA4 9
    expect(out.map((o) => o.type)).toEqual(['signal.generated', 'order.intent', 'strategy.plotted']);
    // at the bar's time, in a chain of its own (the bar's trace shows decisions only)
    expect(out[2]).toMatchObject({ root: true, time: dayTime(s.day()) });
    expect(valueOf(plots(out)[0]!, 'fast')).toBe(9.5);
    expect(valueOf(plots(out)[0]!, 'slow')).toBe(9);
  });

  it('without plot on the instance nothing is plotted and the decisions are the same', () => {
    const on = startStrategy(sma());
    const off = startStrategy(sma({ plot: undefined }));
    const closes = [10, 9, 8, 7, 12, 13, 8, 7, 6, 12];
    const a = on.bars(closes).filter((o) => o.type !== 'strategy.plotted');
    const b = off.bars(closes);
    expect(plots(off.emitted)).toEqual([]);
    expect(b).toEqual(a);
    expect(b.some((o) => o.type === 'order.intent')).toBe(true);
  });

  it('bollinger plots its upper, middle and lower band; macd and rsi-reversion theirs in a pane of their own', () => {
    const bb = startStrategy({ id: 'bb', strategy: 'bollinger', params: { period: 3, stddev: 2 }, plot: true });
    const p = plots(bb.bars([10, 12, 14]))[0]!;
    const sd = Math.sqrt(((10 - 12) ** 2 + 0 + (14 - 12) ** 2) / 3);
    expect(valueOf(p, 'middle')).toBeCloseTo(12, 12);
    expect(valueOf(p, 'upper')).toBeCloseTo(12 + 2 * sd, 12);
    expect(valueOf(p, 'lower')).toBeCloseTo(12 - 2 * sd, 12);
    const macd = startStrategy({ id: 'm', strategy: 'macd', params: { fast: 2, slow: 3, signal: 2 }, plot: true });
    const m = plots(macd.bars([10, 11, 12, 13, 14, 15])).at(-1)!;
    expect(m.lines.map((l) => `${l.key}:${l.pane}`)).toEqual(['macd:own', 'signal:own']);
    const rsi = startStrategy({ id: 'r', strategy: 'rsi-reversion', params: { period: 2 }, plot: true });
    expect(plots(rsi.bars([10, 11, 10, 12])).at(-1)!.lines[0]).toMatchObject({
      key: 'rsi',
      label: 'RSI2',
      pane: 'own',
    });
  });

  it('turning plotting on at a restart keeps the strategy state of the checkpoint (it is not a parameter)', () => {
    const s = startStrategy(sma({ plot: undefined }));
    s.bars([10, 11, 12, 13]);
    const saved = s.actor.getSnapshot().context;
    const restored = upgradeStrategyContext(saved, [resolveInstance(sma())]);
    const inst = restored.instances.trend!;
    expect(inst.instance.plot).toBe(true);
    expect(inst.symbols.ORCL).toEqual(saved.instances.trend!.symbols.ORCL);
  });

  it('a plot that throws or reads the clock is dead-lettered and the strategy still decides', () => {
    registerStrategy(
      'test:plot-throws',
      defineStrategy({
        name: 'plot-throws',
        description: 'buys on its first bar; its plot reads the clock',
        params: z.object({}),
        init: () => ({ n: 0 }),
        onBar(ctx, s) {
          if (s.n === 0) ctx.buy(1);
          return { n: s.n + 1 };
        },
        plot: { lines: () => [{ key: 'now', label: 'now' }], values: () => ({ now: Date.now() }) },
      }),
    );
    const s = startStrategy({ id: 'x', strategy: 'test:plot-throws', params: {}, plot: true });
    const out = s.bars([10]);
    expect(out.map((o) => o.type)).toEqual(['signal.generated', 'order.intent', 'effect.dead-letter']);
    expect(JSON.stringify(out[2])).toMatch(/threw in plot/);
  });
});
