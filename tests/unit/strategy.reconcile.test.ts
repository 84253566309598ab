import { describe, expect, it } from 'vitest';
import { strategyMachine, type StrategyEvent } from '../../agents/strategy/machine.js';
import type { StrategyParams } from '../../agents/strategy/strategies.js';
import type { OrderIntent } from '../../src/core/domain/messages.js';
import type { Emitted } from '../../src/core/agent/outbound.js';
import { drive } from '../helpers/drive.js';

const params: StrategyParams = { kind: 'sma-cross', id: 'sma', fast: 2, slow: 3, size: 10 };
const day = (d: number) => Date.UTC(2024, 0, d);

function start() {
  const { actor, send } = drive<StrategyEvent>(strategyMachine, { params });
  let d = 0;
  const bar = (close: number) => {
    d++;
    return send({
      type: 'market.bar',
      id: `b${d}`,
      time: day(d),
      payload: { symbol: 'ACME', time: day(d), open: close, high: close, low: close, close, volume: 1000 },
    });
  };
  const intents = (outs: Emitted[]) => outs.flatMap((o) => (o.type === 'order.intent' ? [o.payload] : []));
  const signals = (outs: Emitted[]) => outs.flatMap((o) => (o.type === 'signal.generated' ? [o.payload] : []));
  const ended = (i: OrderIntent, type: 'order.rejected' | 'order.failed') =>
    send(
      type === 'order.rejected'
        ? {
            type,
            id: `r-${i.clientOrderId}`,
            time: i.decidedAt,
            payload: {
              clientOrderId: i.clientOrderId,
              symbol: i.symbol,
              side: i.side,
              qty: i.qty,
              origin: i.origin,
              code: 'x',
              reason: 'x',
            },
          }
        : {
            type,
            id: `f-${i.clientOrderId}`,
            time: i.decidedAt,
            payload: {
              clientOrderId: i.clientOrderId,
              symbol: i.symbol,
              side: i.side,
              code: 'venue_unavailable',
              reason: 'down',
              origin: i.origin,
            },
          },
    );
  const filled = (i: OrderIntent) =>
    send({
      type: 'order.filled',
      id: `x-${i.clientOrderId}`,
      time: i.decidedAt,
      payload: {
        clientOrderId: i.clientOrderId,
        brokerOrderId: 'b',
        symbol: i.symbol,
        side: i.side,
        qty: i.qty,
        price: 1,
        fee: 0,
        cumQty: i.qty,
        leavesQty: 0,
        status: 'filled',
        origin: i.origin,
      },
    });
  const sym = () => actor.getSnapshot().context.instances.sma.symbols.ACME!;
  return { bar, intents, signals, ended, filled, sym };
}

describe('strategy after failed and rejected orders', () => {
  it('a risk rejection is accepted: the refused order is not sent again', () => {
    const s = start();
    for (const c of [10, 9, 8]) s.bar(c);
    const [buy] = s.intents(s.bar(12)); // cross up
    s.ended(buy!, 'order.rejected');
    expect(s.sym()).toMatchObject({ position: 0, target: 0 });
    for (const c of [13, 14, 15]) expect(s.intents(s.bar(c))).toEqual([]);
  });

  it('a buy that fails after the closing sell was sent leaves no unintended short: the sell is bought back once it is done', () => {
    const s = start();
    for (const c of [10, 9, 8]) s.bar(c);
    const [buy] = s.intents(s.bar(12)); // cross up: buy 10
    const [sell] = s.intents(s.bar(1)); // cross down at once: sell 10, the buy still unconfirmed
    expect(sell).toMatchObject({ side: 'sell', qty: 10 });
    s.ended(buy!, 'order.failed'); // the broker never took the buy
    expect(s.sym()).toMatchObject({ position: -10, target: 0 });
    expect(s.intents(s.bar(1))).toEqual([]); // the sell is still in flight: wait
    s.filled(sell!);
    const after = s.bar(1);
    expect(s.intents(after)).toEqual([expect.objectContaining({ side: 'buy', qty: 10 })]);
    expect(s.signals(after)[0]!.reasons[0]).toMatch(/^reconcile: closing an unintended position of -10/);
    expect(s.sym()).toMatchObject({ position: 0, target: 0 });
  });

  it('in normal operation nothing is ever reconciled (target follows every decision)', () => {
    const s = start();
    const closes = [10, 9, 8, 12, 13, 5, 4, 9, 10, 3, 2, 8];
    const sigs = closes.flatMap((c) => {
      const outs = s.bar(c);
      for (const i of s.intents(outs)) s.filled(i);
      return s.signals(outs);
    });
    expect(sigs.map((g) => g.side)).toEqual(['buy', 'sell', 'buy', 'sell', 'buy']);
    expect(sigs.some((g) => g.reasons[0]!.startsWith('reconcile'))).toBe(false);
    expect(s.sym().target).toBe(s.sym().position);
  });
});
