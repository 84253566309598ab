import { describe, expect, it } from 'vitest';
import {
  executionMachine,
  type ExecutionContext,
  type ExecutionEvent,
  type OwnOutputEvent,
} from '../../agents/execution/machine.js';
import type { Bar, OrderIntent } from '../../src/core/domain/messages.js';
import { drive } from '../helpers/drive.js';

const day = (d: number) => Date.UTC(2024, 0, d);
const ORIGIN = { kind: 'strategy', id: 'sma' } as const;
const bar = (time: number, open: number): Bar => ({
  symbol: 'ORCL',
  time,
  open,
  high: open + 1,
  low: open - 1,
  close: open,
  volume: 1000,
});
const order = (id: string): OrderIntent => ({
  clientOrderId: id,
  symbol: 'ORCL',
  side: 'buy',
  qty: 10,
  type: 'market',
  tif: 'GTC',
  origin: ORIGIN,
  decidedAt: day(2),
});
const own = (output: OwnOutputEvent['output']): ExecutionEvent => ({ type: 'own.output', output });
const submitted = (o: OrderIntent): OwnOutputEvent['output'] => ({
  type: 'order.submitted',
  id: `s-${o.clientOrderId}`,
  time: day(2),
  payload: { order: o, brokerOrderId: `paper-${o.clientOrderId}`, broker: 'paper' },
});
const filled = (id: string, qty: number, cumQty: number, price: number): OwnOutputEvent['output'] => ({
  type: 'order.filled',
  id: `f-${id}-${cumQty}`,
  time: day(3),
  payload: {
    clientOrderId: id,
    brokerOrderId: `paper-${id}`,
    symbol: 'ORCL',
    side: 'buy',
    qty,
    price,
    fee: 0,
    cumQty,
    leavesQty: 10 - cumQty,
    status: cumQty === 10 ? 'filled' : 'partially_filled',
    origin: ORIGIN,
  },
});

/** After a restart the execution machine is handed its own outputs published after its checkpoint. */
describe('execution machine: catching up with its own outputs after a restart', () => {
  const restored = () =>
    drive<ExecutionEvent>(executionMachine, { costs: { feeBps: 0, feePerShare: 0, slippageBps: 0 } });

  it('an order submitted and filled after the checkpoint is not submitted or filled again', () => {
    const { send, actor } = restored();
    const o = order('sma-1');
    expect(send(own(submitted(o)))).toEqual([]);
    expect(send(own(filled('sma-1', 10, 10, 101)))).toEqual([]);
    // its approval, delivered again by JetStream, is a repeat; the next bar fills nothing
    expect(send({ type: 'order.approved', id: 'ap-1', time: day(2), payload: { order: o, checks: [] } })).toEqual([]);
    expect(send({ type: 'market.bar', id: 'b4', time: day(4), payload: bar(day(4), 105) })).toEqual([]);
    expect(actor.getSnapshot().context.duplicates).toBe(1);
    expect(
      (actor.getSnapshot().context as ExecutionContext).recent.map((r) => [
        r.order.clientOrderId,
        r.status,
        r.avgPrice,
      ]),
    ).toEqual([['sma-1', 'filled', 101]]);
  });

  it('a partial fill read back leaves the order working for the rest, at the recorded quantity', () => {
    const { send, actor } = restored();
    send(own(submitted(order('sma-2'))));
    send(own(filled('sma-2', 4, 4, 100)));
    send(own(filled('sma-2', 4, 4, 100))); // read twice: applied once
    expect(actor.getSnapshot().context.orders['sma-2']).toMatchObject({
      status: 'partially_filled',
      filledQty: 4,
      avgPrice: 100,
    });
    const outs = send({ type: 'market.bar', id: 'b4', time: day(4), payload: bar(day(4), 110) });
    expect(
      outs.map((x) => (x.type === 'order.filled' ? [x.payload.qty, x.payload.cumQty, x.payload.status] : x.type)),
    ).toEqual([[6, 10, 'filled']]);
  });

  it('an order that finished before the checkpoint is not brought back by reading its submission again', () => {
    const { send, actor } = restored();
    const o = order('sma-3');
    send({ type: 'order.approved', id: 'ap-3', time: day(2), payload: { order: o, checks: [] } });
    send({ type: 'broker.accepted', clientOrderId: 'sma-3', brokerOrderId: 'paper-sma-3', barsSince: [] });
    send({ type: 'market.bar', id: 'b3', time: day(3), payload: bar(day(3), 100) });
    expect(actor.getSnapshot().context.orders['sma-3']).toBeUndefined(); // filled and finished
    send(own(submitted(o)));
    expect(actor.getSnapshot().context.orders['sma-3']).toBeUndefined();
    expect(actor.getSnapshot().context.working).toEqual({});
  });
});
