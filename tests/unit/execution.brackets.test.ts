import { describe, expect, it } from 'vitest';
import { executionMachine, type ExecutionEvent } from '../../agents/execution/machine.js';
import type { Bar, OrderIntent } from '../../src/core/domain/messages.js';
import type { Emitted } from '../../src/core/agent/outbound.js';
import { drive } from '../helpers/drive.js';

const day = (d: number) => Date.UTC(2024, 0, d);
const ORIGIN = { kind: 'strategy', id: 's' } as const;
const bar = (d: number, o: number, h: number, l: number, c: number): Bar => ({
  symbol: 'ORCL',
  time: day(d),
  open: o,
  high: h,
  low: l,
  close: c,
  volume: 1000,
});
const order = (over: Partial<OrderIntent>): OrderIntent => ({
  clientOrderId: 'e1',
  symbol: 'ORCL',
  side: 'buy',
  qty: 100,
  type: 'market',
  tif: 'GTC',
  origin: ORIGIN,
  decidedAt: day(1),
  ...over,
});

/** The execution machine with a broker that takes every order at once (as the paper broker does). */
function desk() {
  const { actor, send: raw } = drive<ExecutionEvent>(executionMachine, {
    costs: { feeBps: 0, feePerShare: 0, slippageBps: 0 },
  });
  const outputs: Emitted[] = [];
  const send = (ev: ExecutionEvent) => {
    const out = raw(ev) as Emitted[];
    for (const e of out) {
      if (e.type !== 'effect.broker-submit') outputs.push(e);
      else {
        const { order: o } = e.payload as { order: OrderIntent };
        send({
          type: 'broker.accepted',
          clientOrderId: o.clientOrderId,
          brokerOrderId: `p-${o.clientOrderId}`,
          barsSince: [],
        });
      }
    }
  };
  const approve = (o: OrderIntent) =>
    send({ type: 'order.approved', id: `ap-${o.clientOrderId}`, time: o.decidedAt, payload: { order: o, checks: [] } });
  const onBar = (b: Bar) => send({ type: 'market.bar', id: `bar-${b.time}`, time: b.time, payload: b });
  const fills = () =>
    outputs.flatMap((e) =>
      e.type === 'order.filled'
        ? [
            `${(e.payload as { clientOrderId: string }).clientOrderId} ${(e.payload as { side: string }).side} ${(e.payload as { qty: number }).qty} @ ${(e.payload as { price: number }).price}`,
          ]
        : [],
    );
  const cancelled = () =>
    outputs.flatMap((e) =>
      e.type === 'order.cancelled'
        ? [`${(e.payload as { clientOrderId: string }).clientOrderId}: ${(e.payload as { reason: string }).reason}`]
        : [],
    );
  return { approve, onBar, fills, cancelled, ctx: () => actor.getSnapshot().context };
}

describe('bracket orders', () => {
  it('a filled entry gets a stop-loss and a take-profit from the next bar; the stop fills at its price and cancels the take-profit', () => {
    const x = desk();
    x.approve(order({ bracket: { stopLoss: 0.05, takeProfit: 0.1 } }));
    x.onBar(bar(2, 100, 101, 94, 96)); // entry fills at the open 100; the legs do not work on this bar (low 94 < 95)
    expect(x.ctx().orders['e1.sl']?.order).toMatchObject({ type: 'stop', side: 'sell', qty: 100, stopPrice: 95 });
    expect(x.ctx().orders['e1.tp']?.order).toMatchObject({ type: 'limit', side: 'sell', qty: 100 });
    x.onBar(bar(3, 97, 98, 94, 95));
    expect(x.fills()).toEqual(['e1 buy 100 @ 100', 'e1.sl sell 100 @ 95']);
    expect(x.cancelled()).toEqual(['e1.tp: one-cancels-other: e1.sl (stop-loss) filled']);
    expect(x.ctx().working).toEqual({});
  });

  it('a bar that opens below the stop fills it at the open', () => {
    const x = desk();
    x.approve(order({ bracket: { stopLoss: 0.05 } }));
    x.onBar(bar(2, 100, 101, 99, 100));
    x.onBar(bar(3, 90, 92, 89, 91));
    expect(x.fills()).toEqual(['e1 buy 100 @ 100', 'e1.sl sell 100 @ 90']);
  });

  it('a trailing stop follows the highs and never comes back down', () => {
    const x = desk();
    x.approve(order({ bracket: { stopLoss: 0.1, trailing: true } }));
    x.onBar(bar(2, 100, 100, 99, 100)); // stop 90
    x.onBar(bar(3, 101, 120, 101, 119)); // the high 120 moves it to 108
    x.onBar(bar(4, 118, 118, 110, 111)); // above 108: nothing
    x.onBar(bar(5, 111, 130, 109, 110)); // 109 > 108 before the move; the high 130 moves it to 117
    x.onBar(bar(6, 112, 113, 100, 101)); // opens below 117: fills at the open
    expect(x.fills()).toEqual(['e1 buy 100 @ 100', 'e1.sl sell 100 @ 112']);
  });

  it('an exit that replaces the legs cancels them first; one that comes after a leg filled is cancelled instead', () => {
    const x = desk();
    x.approve(order({ bracket: { stopLoss: 0.05 } }));
    x.onBar(bar(2, 100, 101, 99, 100));
    x.approve(order({ clientOrderId: 'x1', side: 'sell', decidedAt: day(2), cancels: ['e1.sl'] }));
    x.onBar(bar(3, 90, 92, 89, 91));
    expect(x.fills()).toEqual(['e1 buy 100 @ 100', 'x1 sell 100 @ 90']);
    expect(x.cancelled()).toEqual(['e1.sl: replaced by x1']);

    const y = desk();
    y.approve(order({ bracket: { stopLoss: 0.05 } }));
    y.onBar(bar(2, 100, 101, 99, 100));
    y.onBar(bar(3, 90, 92, 89, 91)); // the stop fills first
    y.approve(order({ clientOrderId: 'x1', side: 'sell', decidedAt: day(2), cancels: ['e1.sl'] }));
    expect(y.fills()).toEqual(['e1 buy 100 @ 100', 'e1.sl sell 100 @ 90']);
    expect(y.cancelled()).toEqual(['x1: e1.sl, which this order replaces, filled first']);
  });

  it('a leg never sells more than the account holds: a position closed by someone else cancels it', () => {
    const x = desk();
    x.approve(order({ bracket: { stopLoss: 0.05 } }));
    x.onBar(bar(2, 100, 101, 99, 100));
    // a person closes the position by hand (no cancels): the strategy's stop is left working
    x.approve(order({ clientOrderId: 'p1', side: 'sell', decidedAt: day(2), origin: { kind: 'person', id: 'ann' } }));
    x.onBar(bar(3, 99, 99, 98, 98));
    x.onBar(bar(4, 90, 92, 89, 91));
    expect(x.fills()).toEqual(['e1 buy 100 @ 100', 'p1 sell 100 @ 99']);
    expect(x.cancelled()).toEqual(['e1.sl: the position this bracket leg protects is already closed']);
    expect(x.ctx().positions).toEqual({ ORCL: 0 });
  });
});
