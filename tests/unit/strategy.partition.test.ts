import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { sliceOf, strategyMachine } from '../../agents/strategy/machine.js';
import type { StrategyParams } from '../../agents/strategy/strategies.js';
import type { Outbound } from '../../src/core/agent/outbound.js';

const T0 = Date.UTC(2024, 0, 1);
const SMA: StrategyParams = { kind: 'sma-cross', id: 'sma', fast: 2, slow: 4, size: 10 };

function strategy() {
  const actor = createActor(strategyMachine, { input: { params: SMA } });
  const emitted: Outbound[] = [];
  actor.on('outbox', (e) => emitted.push(...(e.items as Outbound[])));
  actor.start();
  const bar = (symbol: string, n: number, close: number) => {
    const time = T0 + n * 86_400_000;
    const from = emitted.length;
    actor.send({
      type: 'market.bar',
      id: `${symbol}-${n}`,
      time,
      payload: { symbol, time, open: close, high: close, low: close, close, volume: 1000 },
    });
    return emitted.slice(from);
  };
  return { actor, bar, ctx: () => actor.getSnapshot().context, sma: () => actor.getSnapshot().context.instances.sma! };
}

/**
 * Scale-out hands one symbol's part of the strategy's state from instance to instance
 * (`partition.drop` / `partition.adopt`): the instance that takes it over decides exactly as
 * the one instance that saw every bar would have.
 */
describe('strategy state handed between instances (scale-out)', () => {
  const closes = [10, 9, 8, 7, 8, 9, 10, 11, 10, 9, 8, 7, 6];

  it('a symbol handed over mid-run is decided on as if one instance had seen every bar; the other symbol stays', () => {
    const whole = strategy();
    const a = strategy();
    const b = strategy();
    const expected: Outbound[] = [];
    const got: Outbound[] = [];
    closes.forEach((c, n) => {
      expected.push(...whole.bar('ORCL', n, c), ...whole.bar('MSFT', n, 20 - c));
      if (n === 6) {
        // a hands ORCL to b: the slice carries indicators, open orders, last signal and sentiment
        const slice = JSON.parse(JSON.stringify(sliceOf(a.ctx(), 'ORCL'))) as ReturnType<typeof sliceOf>;
        a.actor.send({ type: 'partition.drop', key: 'ORCL' });
        b.actor.send({ type: 'partition.adopt', key: 'ORCL', slice });
        expect(a.sma().symbols.ORCL).toBeUndefined();
        expect(a.sma().symbols.MSFT).toBeDefined();
      }
      got.push(...(n < 6 ? a.bar('ORCL', n, c) : b.bar('ORCL', n, c)), ...a.bar('MSFT', n, 20 - c));
    });
    expect(expected.filter((o) => o.type === 'order.intent').length).toBeGreaterThan(1);
    const norm = (outs: Outbound[]) => outs.map((o) => JSON.stringify(o.payload)).sort();
    expect(norm(got)).toEqual(norm(expected));
  });

  it("a symbol's slice holds only its own open orders", () => {
    const a = strategy();
    closes.slice(0, 8).forEach((c, n) => {
      a.bar('ORCL', n, c);
      a.bar('MSFT', n, 20 - c);
    });
    const orcl = sliceOf(a.ctx(), 'ORCL').sma!;
    const open = Object.entries(a.sma().open);
    expect(open.length).toBeGreaterThan(0);
    expect(Object.keys(orcl.open).sort()).toEqual(
      open
        .filter(([, o]) => o.symbol === 'ORCL')
        .map(([id]) => id)
        .sort(),
    );
    expect(orcl.state).toEqual(a.sma().symbols.ORCL);
    expect(JSON.stringify(orcl)).not.toContain('MSFT');
  });
});
