import { drive } from '../helpers/drive.js';
import { describe, expect, it } from 'vitest';
import { executionMachine, type ExecutionEvent } from '../../agents/execution/machine.js';
import {
  InvalidOrderTransitionError,
  OrderStatus,
  isTerminal,
  transition,
} from '../../agents/execution/order-status.js';
import type { PaperCosts } from '../../agents/execution/paper-broker.js';
import type { Bar, OrderIntent } from '../../src/core/domain/messages.js';
import type { Outbound } from '../../src/core/agent/outbound.js';

const NO_COSTS: PaperCosts = { feeBps: 0, feePerShare: 0, slippageBps: 0 };
const day = (d: number, h = 0) => Date.UTC(2024, 0, d, h);
const ORIGIN = { kind: 'strategy', id: 'sma' } as const;

const bar = (time: number, o: number, h: number, l: number, c: number, symbol = 'ORCL'): Bar => ({
  symbol,
  time,
  open: o,
  high: h,
  low: l,
  close: c,
  volume: 1000,
});

const order = (over: Partial<OrderIntent> = {}): OrderIntent => ({
  clientOrderId: 'sma-1',
  symbol: 'ORCL',
  side: 'buy',
  qty: 10,
  type: 'market',
  tif: 'GTC',
  origin: ORIGIN,
  refPrice: 100,
  decidedAt: day(2),
  ...over,
});

function start(costs: PaperCosts = NO_COSTS) {
  const { actor, send } = drive<ExecutionEvent>(executionMachine, { costs });
  /** The approval asks the broker (an effect); the broker acknowledges with the bars since the decision. */
  const approve = (o: OrderIntent, barsSince: readonly Bar[] = []): Outbound[] => {
    const asked = send({
      type: 'order.approved',
      id: `ap-${o.clientOrderId}`,
      time: o.decidedAt,
      payload: { order: o, checks: [] },
    });
    if (!asked.some((e) => (e.type as string) === 'effect.broker-submit')) return asked;
    return send({
      type: 'broker.accepted',
      clientOrderId: o.clientOrderId,
      brokerOrderId: `paper-${o.clientOrderId}`,
      barsSince,
    });
  };
  const onBar = (b: Bar) => send({ type: 'market.bar', id: `bar-${b.time}`, time: b.time, payload: b });
  const onTick = (time: number, price: number, symbol = 'ORCL') =>
    send({ type: 'market.tick', id: `tick-${time}`, time, payload: { symbol, time, price, size: 100 } });
  const ctx = () => actor.getSnapshot().context;
  return { send, approve, onBar, onTick, ctx };
}

const fillPrice = (outs: readonly Outbound[]) => {
  const f = outs.find((o) => o.type === 'order.filled');
  return f?.type === 'order.filled' ? f.payload.price : undefined;
};

describe('execution machine: market orders on bars', () => {
  it('an approval emits order.submitted keyed by the clientOrderId', () => {
    const x = start();
    const o = order();
    expect(x.approve(o)).toEqual([
      { type: 'order.submitted', payload: { order: o, brokerOrderId: 'paper-sma-1', broker: 'paper' }, key: 'sma-1' },
    ]);
    expect(x.ctx().orders['sma-1']).toMatchObject({ status: 'submitted', filledQty: 0 });
    expect(x.ctx().working).toEqual({ ORCL: ['sma-1'] });
  });

  it('market order decided on bar t fills at the open of bar t+1, not on bar t itself', () => {
    const x = start();
    x.approve(order());
    expect(x.onBar(bar(day(2), 99, 101, 98, 100))).toEqual([]);
    const outs = x.onBar(bar(day(3), 101, 103, 100, 102));
    expect(outs).toEqual([
      {
        type: 'order.filled',
        payload: {
          clientOrderId: 'sma-1',
          brokerOrderId: 'paper-sma-1',
          symbol: 'ORCL',
          side: 'buy',
          qty: 10,
          price: 101,
          fee: 0,
          cumQty: 10,
          leavesQty: 0,
          status: 'filled',
          origin: ORIGIN,
        },
        chain: { key: 'sma-1' },
        time: day(3),
        release: 'sma-1',
      },
    ]);
  });

  it('an approval that arrives after later bars fills at the first bar after decidedAt, after order.submitted', () => {
    const x = start();
    const outs = x.approve(order(), [
      bar(day(2), 99, 101, 98, 100),
      bar(day(3), 101, 103, 100, 102),
      bar(day(4), 105, 106, 104, 105),
    ]);
    expect(outs.map((o) => o.type)).toEqual(['order.submitted', 'order.filled']);
    expect(fillPrice(outs)).toBe(101);
    expect(outs[1]!.time).toBe(day(3));
    expect(x.onBar(bar(day(5), 107, 108, 106, 107))).toEqual([]);
  });

  it('after the fill the working index and open orders are cleared and the order is in recent', () => {
    const x = start();
    x.approve(order());
    x.onBar(bar(day(3), 101, 103, 100, 102));
    expect(x.ctx().working).toEqual({});
    expect(x.ctx().orders).toEqual({});
    expect(x.ctx().recent).toEqual([
      expect.objectContaining({ status: 'filled', filledQty: 10, avgPrice: 101, updatedAt: day(3) }),
    ]);
    expect(x.onBar(bar(day(4), 105, 106, 104, 105))).toEqual([]);
  });

  it('a re-delivered approval is one order: duplicates counted, no outputs', () => {
    const x = start();
    const o = order();
    x.approve(o);
    expect(x.approve(o)).toEqual([]);
    expect(x.ctx().duplicates).toBe(1);
    expect(x.ctx().working).toEqual({ ORCL: ['sma-1'] });
    expect(x.onBar(bar(day(3), 101, 103, 100, 102)).filter((e) => e.type === 'order.filled')).toHaveLength(1);
    expect(x.approve(o)).toEqual([]);
    expect(x.ctx().duplicates).toBe(2);
  });

  it('bars of another symbol do not touch the order', () => {
    const x = start();
    x.approve(order());
    expect(x.onBar(bar(day(3), 50, 51, 49, 50, 'MSFT'))).toEqual([]);
    expect(x.ctx().working).toEqual({ ORCL: ['sma-1'] });
  });

  it('two working orders on one symbol fill on the same bar', () => {
    const x = start();
    x.approve(order({ clientOrderId: 'a' }));
    x.approve(order({ clientOrderId: 'b', side: 'sell', qty: 5 }));
    const outs = x.onBar(bar(day(3), 101, 103, 100, 102));
    expect(outs.map((o) => (o.type === 'order.filled' ? [o.payload.clientOrderId, o.payload.price] : o.type))).toEqual([
      ['a', 101],
      ['b', 101],
    ]);
    expect(x.ctx().working).toEqual({});
  });
});

describe('execution machine: limit and stop orders', () => {
  it('a limit buy fills at the limit when the low reaches it', () => {
    const x = start();
    x.approve(order({ type: 'limit', limitPrice: 99 }));
    expect(fillPrice(x.onBar(bar(day(3), 100, 101, 98.5, 100)))).toBe(99);
  });

  it('a limit buy fills at the open when the open is already below the limit', () => {
    const x = start();
    x.approve(order({ type: 'limit', limitPrice: 99 }));
    expect(fillPrice(x.onBar(bar(day(3), 97, 98, 96, 97)))).toBe(97);
  });

  it('a limit buy not reached stays working until a bar reaches it', () => {
    const x = start();
    x.approve(order({ type: 'limit', limitPrice: 99 }));
    expect(x.onBar(bar(day(3), 100, 102, 99.5, 101))).toEqual([]);
    expect(x.ctx().orders['sma-1']?.status).toBe('submitted');
    expect(fillPrice(x.onBar(bar(day(4), 100, 101, 98, 99)))).toBe(99);
  });

  it('a limit sell fills at the limit when the high reaches it, and at the open on a gap up', () => {
    const x = start();
    x.approve(order({ clientOrderId: 'a', side: 'sell', type: 'limit', limitPrice: 105 }));
    expect(fillPrice(x.onBar(bar(day(3), 101, 106, 100, 104)))).toBe(105);
    x.approve(order({ clientOrderId: 'b', side: 'sell', type: 'limit', limitPrice: 105, decidedAt: day(3) }));
    expect(fillPrice(x.onBar(bar(day(4), 107, 108, 106, 107)))).toBe(107);
  });

  it('a buy stop fills at the stop when the high reaches it, and at the open on a gap through it', () => {
    const x = start();
    x.approve(order({ clientOrderId: 'a', type: 'stop', stopPrice: 105 }));
    expect(x.onBar(bar(day(3), 100, 104, 99, 103))).toEqual([]);
    expect(fillPrice(x.onBar(bar(day(4), 103, 106, 102, 105)))).toBe(105);
    x.approve(order({ clientOrderId: 'b', type: 'stop', stopPrice: 105, decidedAt: day(4) }));
    expect(fillPrice(x.onBar(bar(day(5), 108, 109, 107, 108)))).toBe(108);
  });

  it('a sell stop fills at the stop when the low reaches it, and at the open on a gap down', () => {
    const x = start();
    x.approve(order({ clientOrderId: 'a', side: 'sell', type: 'stop', stopPrice: 95 }));
    expect(fillPrice(x.onBar(bar(day(3), 98, 99, 94, 96)))).toBe(95);
    x.approve(order({ clientOrderId: 'b', side: 'sell', type: 'stop', stopPrice: 95, decidedAt: day(3) }));
    expect(fillPrice(x.onBar(bar(day(4), 90, 92, 89, 91)))).toBe(90);
  });
});

describe('execution machine: time in force', () => {
  it('an IOC order not fillable on the first bar after it is cancelled', () => {
    const x = start();
    x.approve(order({ type: 'limit', limitPrice: 90, tif: 'IOC' }));
    const outs = x.onBar(bar(day(3), 100, 101, 99, 100));
    expect(outs).toEqual([
      {
        type: 'order.cancelled',
        payload: {
          clientOrderId: 'sma-1',
          symbol: 'ORCL',
          side: 'buy',
          filledQty: 0,
          reason: expect.any(String),
          status: 'cancelled',
          origin: ORIGIN,
        },
        chain: { key: 'sma-1' },
        time: day(3),
        release: 'sma-1',
      },
    ]);
    expect(x.ctx().working).toEqual({});
    expect(x.ctx().recent.at(-1)?.status).toBe('cancelled');
  });

  it('an IOC order fillable on the first bar fills', () => {
    const x = start();
    x.approve(order({ type: 'limit', limitPrice: 100, tif: 'IOC' }));
    expect(fillPrice(x.onBar(bar(day(3), 101, 102, 99, 100)))).toBe(100);
  });

  it('a DAY order works through its own day and expires at the first bar of a later UTC day', () => {
    const x = start();
    x.approve(order({ type: 'limit', limitPrice: 90, tif: 'DAY', decidedAt: day(2, 14) }));
    expect(x.onBar(bar(day(2, 15), 100, 101, 99, 100))).toEqual([]);
    expect(x.onBar(bar(day(2, 23), 100, 101, 99, 100))).toEqual([]);
    const outs = x.onBar(bar(day(3, 14), 85, 86, 84, 85)); // would fill, but the day is over
    expect(outs).toEqual([
      expect.objectContaining({
        type: 'order.cancelled',
        payload: expect.objectContaining({ status: 'expired', filledQty: 0 }),
        time: day(3, 14),
        release: 'sma-1',
      }),
    ]);
    expect(x.ctx().recent.at(-1)?.status).toBe('expired');
  });

  it('a GTC limit order keeps working across days', () => {
    const x = start();
    x.approve(order({ type: 'limit', limitPrice: 90 }));
    for (let d = 3; d < 8; d++) expect(x.onBar(bar(day(d), 100, 101, 99, 100))).toEqual([]);
    expect(fillPrice(x.onBar(bar(day(8), 95, 96, 89, 92)))).toBe(90);
  });
});

describe('execution machine: ticks', () => {
  it('a market order fills at the price of the next tick after its decision', () => {
    const x = start();
    const t = day(2, 15);
    x.approve(order({ decidedAt: t }));
    expect(x.onTick(t, 99)).toEqual([]);
    const outs = x.onTick(t + 1000, 100.25);
    expect(fillPrice(outs)).toBe(100.25);
    expect(outs[0]!.time).toBe(t + 1000);
  });

  it('a limit buy fills on the first tick at or below the limit, at the tick price', () => {
    const x = start();
    const t = day(2, 15);
    x.approve(order({ type: 'limit', limitPrice: 99, decidedAt: t }));
    expect(x.onTick(t + 1, 99.5)).toEqual([]);
    expect(fillPrice(x.onTick(t + 2, 98.75))).toBe(98.75);
  });

  it('an IOC limit not fillable on the first tick is cancelled', () => {
    const x = start();
    const t = day(2, 15);
    x.approve(order({ type: 'limit', limitPrice: 99, tif: 'IOC', decidedAt: t }));
    expect(x.onTick(t + 1, 99.5)).toEqual([
      expect.objectContaining({ type: 'order.cancelled', payload: expect.objectContaining({ status: 'cancelled' }) }),
    ]);
  });
});

describe('execution machine: costs', () => {
  it('slippage makes buys pay more and sells get less', () => {
    const x = start({ feeBps: 0, feePerShare: 0, slippageBps: 10 });
    x.approve(order({ clientOrderId: 'buy' }));
    x.approve(order({ clientOrderId: 'sell', side: 'sell' }));
    const outs = x.onBar(bar(day(3), 100, 101, 99, 100));
    const prices = Object.fromEntries(
      outs.flatMap((o) => (o.type === 'order.filled' ? [[o.payload.clientOrderId, o.payload.price]] : [])),
    );
    expect(prices.buy).toBeCloseTo(100.1, 10);
    expect(prices.sell).toBeCloseTo(99.9, 10);
  });

  it('fees are bps of the notional at the fill price plus a per-share fee', () => {
    const x = start({ feeBps: 5, feePerShare: 0.01, slippageBps: 10 });
    x.approve(order({ qty: 10 }));
    const [fill] = x.onBar(bar(day(3), 100, 101, 99, 100));
    // 10 x 100.1 x 5 / 10,000 + 10 x 0.01
    expect(fill?.type === 'order.filled' && fill.payload.fee).toBeCloseTo(0.6005, 10);
  });
});

describe('order status', () => {
  const statuses = Object.values(OrderStatus);
  const valid: Record<OrderStatus, readonly OrderStatus[]> = {
    new: ['submitted', 'rejected', 'cancelled'], // cancelled: replaced before it reached the broker
    submitted: ['partially_filled', 'filled', 'cancelled', 'rejected', 'expired'],
    partially_filled: ['partially_filled', 'filled', 'cancelled', 'expired'],
    filled: [],
    cancelled: [],
    rejected: [],
    expired: [],
  };
  const pairs = statuses.flatMap((from) => statuses.map((to) => [from, to] as const));

  it.each(pairs.filter(([from, to]) => valid[from].includes(to)))('%s -> %s is allowed', (from, to) => {
    expect(transition('o-1', from, to)).toBe(to);
  });

  it.each(pairs.filter(([from, to]) => !valid[from].includes(to)))(
    '%s -> %s throws InvalidOrderTransitionError',
    (from, to) => {
      expect(() => transition('o-1', from, to)).toThrow(InvalidOrderTransitionError);
    },
  );

  it('the error is a non-retryable bug with a stable code', () => {
    const err = (() => {
      try {
        transition('o-1', 'filled', 'cancelled');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidOrderTransitionError);
    expect(err).toMatchObject({
      code: 'invalid_order_transition',
      retryable: false,
      name: 'InvalidOrderTransitionError',
    });
  });

  it('exactly filled, cancelled, rejected and expired are terminal', () => {
    expect(statuses.filter(isTerminal).sort()).toEqual(['cancelled', 'expired', 'filled', 'rejected']);
  });
});
