import { describe, expect, it } from 'vitest';
import { executionMachine, type ExecutionEvent } from '../../agents/execution/machine.js';
import { feeFor, type PaperCosts } from '../../agents/execution/paper-broker.js';
import type { Bar, OrderIntent } from '../../src/core/domain/messages.js';
import type { Outbound } from '../../src/core/agent/outbound.js';
import { drive } from '../helpers/drive.js';

const day = (d: number) => Date.UTC(2024, 0, d);
const bar = (d: number, volume: number, price = 100): Bar => ({
  symbol: 'ORCL',
  time: day(d),
  open: price,
  high: price,
  low: price,
  close: price,
  volume,
});
let seq = 0;
const order = (over: Partial<OrderIntent> = {}): OrderIntent => ({
  clientOrderId: `p-${++seq}`,
  symbol: 'ORCL',
  side: 'buy',
  qty: 100,
  type: 'market',
  tif: 'GTC',
  origin: { kind: 'strategy', id: 's' },
  refPrice: 100,
  decidedAt: day(1),
  ...over,
});

function start(costs: Partial<PaperCosts>) {
  const { actor, send } = drive<ExecutionEvent>(executionMachine, {
    costs: { feeBps: 0, feePerShare: 0, slippageBps: 0, ...costs },
  });
  const approve = (o: OrderIntent) => {
    send({ type: 'order.approved', id: `ap-${o.clientOrderId}`, time: o.decidedAt, payload: { order: o, checks: [] } });
    return send({
      type: 'broker.accepted',
      clientOrderId: o.clientOrderId,
      brokerOrderId: `paper-${o.clientOrderId}`,
      barsSince: [],
    });
  };
  const onBar = (b: Bar) => send({ type: 'market.bar', id: `bar-${b.time}`, time: b.time, payload: b });
  return { approve, onBar, ctx: () => actor.getSnapshot().context };
}

const fills = (outs: Outbound[]) => outs.flatMap((o) => (o.type === 'order.filled' ? [o.payload] : []));

describe('paper broker realism', () => {
  it('an order larger than the participation cap fills over several bars, each fill a partial until the last', () => {
    const r = start({ maxParticipation: 0.1 });
    const o = order({ qty: 250 });
    r.approve(o);
    const first = fills(r.onBar(bar(2, 1000)));
    expect(first).toEqual([
      expect.objectContaining({ qty: 100, cumQty: 100, leavesQty: 150, status: 'partially_filled' }),
    ]);
    expect(r.ctx().orders[o.clientOrderId]?.status).toBe('partially_filled');
    expect(fills(r.onBar(bar(3, 1000)))).toEqual([
      expect.objectContaining({ qty: 100, cumQty: 200, leavesQty: 50, status: 'partially_filled' }),
    ]);
    const last = r.onBar(bar(4, 5000));
    expect(fills(last)).toEqual([expect.objectContaining({ qty: 50, cumQty: 250, leavesQty: 0, status: 'filled' })]);
    expect(last.at(-1)).toMatchObject({ release: o.clientOrderId });
    expect(r.ctx().orders).toEqual({});
  });

  it('a bar without enough volume for one unit fills nothing and the order keeps waiting', () => {
    const r = start({ maxParticipation: 0.1 });
    const o = order({ qty: 5 });
    r.approve(o);
    expect(fills(r.onBar(bar(2, 9)))).toEqual([]);
    expect(fills(r.onBar(bar(3, 100)))).toEqual([expect.objectContaining({ qty: 5, status: 'filled' })]);
  });

  it('IOC takes what the first bar allows and cancels the rest, naming what was filled', () => {
    const r = start({ maxParticipation: 0.05 });
    const o = order({ qty: 100, tif: 'IOC' });
    r.approve(o);
    const outs = r.onBar(bar(2, 1000));
    expect(fills(outs)).toEqual([expect.objectContaining({ qty: 50, status: 'partially_filled' })]);
    expect(outs.at(-1)).toMatchObject({ type: 'order.cancelled', payload: { filledQty: 50, status: 'cancelled' } });
  });

  it('fractional quantities fill exactly, and the last fill brings the cumulative quantity to the order quantity', () => {
    const r = start({ maxParticipation: 0.1 });
    const o = order({ qty: 0.3 });
    r.approve(o);
    const a = fills(r.onBar(bar(2, 1)));
    const b = fills(r.onBar(bar(3, 1)));
    const c = fills(r.onBar(bar(4, 1)));
    expect([...a, ...b, ...c].map((f) => f.status)).toEqual(['partially_filled', 'partially_filled', 'filled']);
    expect(c[0]!.cumQty).toBe(0.3);
  });

  it('fees: basis points plus per unit, never below the minimum per fill', () => {
    const costs = { feeBps: 10, feePerShare: 0.01, feeMin: 1, slippageBps: 0 };
    expect(feeFor(100, 100, costs)).toBeCloseTo(10 + 1, 10);
    expect(feeFor(1, 10, costs)).toBe(1);
    const r = start(costs);
    r.approve(order({ qty: 1 }));
    expect(fills(r.onBar(bar(2, 1000, 10)))[0]!.fee).toBe(1);
  });
});
