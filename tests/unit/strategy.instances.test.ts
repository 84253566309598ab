import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { strategyAgent } from '../../agents/strategy/agent.js';
import { instancesOf, strategyMachine } from '../../agents/strategy/machine.js';
import { orderIntentSchema, type OrderIntent } from '../../src/core/domain/messages.js';
import { toIntent } from '../../agents/strategy/instance.js';
import type { Outbound } from '../../src/core/agent/outbound.js';

const T0 = Date.UTC(2024, 0, 1);
const closes = Array.from({ length: 80 }, (_, i) => 100 + 10 * Math.sin(i / 3) + (i % 5));

describe('several strategy instances in one agent', () => {
  it('two instances on overlapping symbols decide independently; each order carries its instance and its fills go back to it alone', () => {
    const spec = strategyAgent(
      [
        { id: 'fast-sma', strategy: 'sma-cross', params: { fast: 3, slow: 8, size: 5 }, symbols: ['ORCL', 'MSFT'] },
        { id: 'slow-sma', strategy: 'sma-cross', params: { fast: 5, slow: 13, size: 7 }, symbols: ['ORCL'] },
      ],
      100_000,
    );
    const actor = createActor(strategyMachine, { input: spec.input as never });
    const out: Outbound[] = [];
    actor.on('outbox', (e) => out.push(...(e.items as Outbound[])));
    actor.start();
    closes.forEach((close, n) => {
      for (const symbol of ['ORCL', 'MSFT']) {
        const time = T0 + n * 86_400_000;
        actor.send({
          type: 'market.bar',
          id: `${symbol}-${n}`,
          time,
          payload: { symbol, time, open: close, high: close, low: close, close, volume: 1 },
        });
      }
    });
    const intents = out.flatMap((o) => (o.type === 'order.intent' ? [o.payload] : []));
    const by = (id: string) => intents.filter((i) => i.origin.id === id);
    expect(new Set(by('fast-sma').map((i) => i.symbol))).toEqual(new Set(['ORCL', 'MSFT']));
    expect(new Set(by('slow-sma').map((i) => i.symbol))).toEqual(new Set(['ORCL']));
    expect(by('fast-sma').every((i) => i.qty === 5 && i.clientOrderId.startsWith('fast-sma-'))).toBe(true);
    expect(by('slow-sma').every((i) => i.qty === 7 && i.clientOrderId.startsWith('slow-sma-'))).toBe(true);

    // a fill of fast-sma's first order moves fast-sma's account only
    const first: OrderIntent = by('fast-sma')[0]!;
    actor.send({
      type: 'order.filled',
      id: 'f1',
      time: first.decidedAt + 1,
      payload: {
        clientOrderId: first.clientOrderId,
        brokerOrderId: 'b',
        symbol: first.symbol,
        side: first.side,
        qty: first.qty,
        price: 100,
        fee: 0,
        cumQty: first.qty,
        leavesQty: 0,
        status: 'filled',
        origin: first.origin,
      },
    });
    const ctx = actor.getSnapshot().context;
    expect(ctx.instances['fast-sma']!.held).toEqual({ [first.symbol]: 5 });
    expect(ctx.instances['slow-sma']!.held).toEqual({});
    expect(ctx.instances['fast-sma']!.open[first.clientOrderId]).toBeUndefined();
  });

  it('instances without a capital share what those with one leave of the account; duplicate ids are refused', () => {
    const list = instancesOf({
      params: [
        { id: 'a', strategy: 'sma-cross', params: {}, capital: 40_000 },
        { id: 'b', strategy: 'macd', params: {} },
        { id: 'c', strategy: 'bollinger', params: {} },
      ],
      capital: 100_000,
    });
    expect(list.map((i) => [i.id, i.capital])).toEqual([
      ['a', 40_000],
      ['b', 30_000],
      ['c', 30_000],
    ]);
    expect(() =>
      instancesOf({
        params: [
          { id: 'a', strategy: 'sma-cross', params: {} },
          { id: 'a', strategy: 'macd', params: {} },
        ],
      }),
    ).toThrow(/two strategy instances share the id "a"/);
  });
});

describe('a plain market order skips the schema check', () => {
  it('and is exactly what the schema makes of it, or is refused as the schema refuses it, for any quantity', () => {
    const inst = { id: 'trend', strategy: 'sma-cross', params: {} };
    fc.assert(
      fc.property(
        fc.oneof(fc.double(), fc.integer(), fc.constantFrom(0, -1, 1e-12, Number.MAX_VALUE, NaN, Infinity)),
        fc.constantFrom('buy' as const, 'sell' as const),
        (qty, side) => {
          const made = toIntent({ side, qty, options: {}, closes: false }, inst, 'trend-e1-0', 'ORCL', 45.5, 1e12, []);
          const checked = orderIntentSchema.safeParse({
            clientOrderId: 'trend-e1-0',
            symbol: 'ORCL',
            side,
            qty,
            type: 'market',
            tif: 'GTC',
            origin: { kind: 'strategy', id: 'trend' },
            refPrice: 45.5,
            decidedAt: 1e12,
          });
          if (checked.success) expect(made).toEqual({ intent: checked.data });
          else expect(made).toHaveProperty('invalid');
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('a bar is read once', () => {
  it('a history bar warms the indicators and decides nothing; a bar at or before the last one read is not read again', () => {
    const spec = strategyAgent([{ id: 'sma', strategy: 'sma-cross', params: { fast: 2, slow: 3, size: 1 } }], 100_000);
    const actor = createActor(strategyMachine, { input: spec.input as never });
    const out: Outbound[] = [];
    actor.on('outbox', (e) => out.push(...(e.items as Outbound[])));
    actor.start();
    const bar = (n: number, close: number, history?: true) => {
      const time = T0 + n * 60_000;
      actor.send({
        type: 'market.bar',
        id: `b-${n}-${close}`,
        time,
        payload: {
          symbol: 'X',
          time,
          open: close,
          high: close,
          low: close,
          close,
          volume: 1,
          ...(history ? { history } : {}),
        },
      });
    };
    // down then up: a cross up inside the history
    [10, 9, 8, 9, 10, 11].forEach((c, n) => bar(n, c, true));
    expect(out.filter((o) => o.type === 'order.intent')).toEqual([]);
    const state = () =>
      (actor.getSnapshot().context as { instances: Record<string, { symbols: Record<string, unknown> }> }).instances
        .sma!.symbols.X;
    const warmed = state();
    expect(warmed).toMatchObject({ at: T0 + 5 * 60_000, last: 11 });
    // the same bars again (a restart warming up again): nothing changes
    [10, 9, 8, 9, 10, 11].forEach((c, n) => bar(n, c, true));
    bar(5, 11);
    expect(state()).toBe(warmed);
    // live bars go on from there: a cross down, then up, trades
    [9, 8, 9, 10].forEach((c, n) => bar(6 + n, c));
    expect(out.filter((o) => o.type === 'order.intent').map((o) => o.payload)).toMatchObject([
      { side: 'buy', qty: 1, decidedAt: T0 + 9 * 60_000 },
    ]);
  });
});
