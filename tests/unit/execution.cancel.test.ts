import { describe, expect, it } from 'vitest';
import { executionMachine, type ExecutionContext, type ExecutionEvent } from '../../agents/execution/machine.js';
import { executionAgent } from '../../agents/execution/agent.js';
import type { BrokerPort } from '../../agents/execution/broker.js';
import type { MarketCache } from '../../src/core/agent/market-cache.js';
import { riskMachine, type RiskEvent } from '../../agents/risk/machine.js';
import { unboundedLimits } from '../../agents/risk/limits.js';
import { zeroCosts } from '../../src/core/domain/costs.js';
import type { Bar, OrderCancel, OrderIntent, Origin } from '../../src/core/domain/messages.js';
import type { Emitted, Outbound } from '../../src/core/agent/outbound.js';
import { drive } from '../helpers/drive.js';

const day = (d: number) => Date.UTC(2024, 0, d);
const STRATEGY: Origin = { kind: 'strategy', id: 's' };
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
  origin: STRATEGY,
  decidedAt: day(1),
  ...over,
});
let seq = 0;
const cancel = (clientOrderId: string, over: Partial<OrderCancel> = {}): OrderCancel => ({
  cancelId: `c${++seq}`,
  clientOrderId,
  origin: STRATEGY,
  reason: 'no longer wanted',
  requestedAt: day(2),
  ...over,
});

/**
 * The execution machine with a broker that takes every order at once (the paper broker), or a
 * venue (`venue`: fills come as reports; `canCancel`: its port has a cancel).
 */
function desk(venue?: { canCancel: boolean }) {
  const { actor, send: raw } = drive<ExecutionEvent>(executionMachine, {
    costs: { feeBps: 0, feePerShare: 0, slippageBps: 0 },
    ...(venue ? { broker: 'venue', venueFills: true, canCancel: venue.canCancel } : {}),
  });
  const outputs: Emitted[] = [];
  const send = (ev: ExecutionEvent) => {
    for (const e of raw(ev) as Emitted[]) {
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
  const cancelApproved = (c: OrderCancel) =>
    send({
      type: 'order.cancel-approved',
      id: `ca-${c.cancelId}`,
      time: c.requestedAt,
      payload: { cancel: c, state: 'ACTIVE' },
    });
  const onBar = (b: Bar) => send({ type: 'market.bar', id: `bar-${b.time}`, time: b.time, payload: b });
  const of = (type: string) =>
    outputs.filter((e) => e.type === type).map((e) => (e as Outbound).payload as Record<string, unknown>);
  const fills = () =>
    of('order.filled').map((f) => `${String(f.clientOrderId)} ${String(f.side)} ${String(f.qty)} @ ${String(f.price)}`);
  const cancelled = () => of('order.cancelled').map((c) => `${String(c.clientOrderId)}: ${String(c.reason)}`);
  const refused = () =>
    of('order.cancel-rejected').map((r) => `${String(r.clientOrderId)} ${String(r.code)}: ${String(r.reason)}`);
  return {
    send,
    approve,
    cancelApproved,
    onBar,
    outputs,
    of,
    fills,
    cancelled,
    refused,
    ctx: () => actor.getSnapshot().context,
  };
}

describe('order.cancel at execution (paper rules)', () => {
  it('cancel a resting limit before it fills then it ends cancelled and never fills', () => {
    const x = desk();
    x.approve(order({ type: 'limit', limitPrice: 90 }));
    x.onBar(bar(2, 100, 101, 95, 96)); // not reached
    x.cancelApproved(cancel('e1', { reason: 'the setup is gone', requestedAt: day(2) }));
    x.onBar(bar(3, 91, 92, 85, 88)); // would have filled at 90
    expect(x.cancelled()).toEqual(['e1: cancelled on request of s: the setup is gone']);
    expect(x.fills()).toEqual([]);
    expect(x.refused()).toEqual([]);
    expect(x.ctx().working).toEqual({});
  });

  it('cancel a bracket stop-loss leg then the take-profit keeps working and fills alone', () => {
    const x = desk();
    x.approve(order({ bracket: { stopLoss: 0.05, takeProfit: 0.25 } }));
    x.onBar(bar(2, 100, 101, 99, 100)); // entry fills at 100: legs at 95 and 125
    x.cancelApproved(cancel('e1.sl'));
    x.onBar(bar(3, 96, 97, 90, 91)); // through the stop: nothing, it is cancelled
    x.onBar(bar(4, 120, 126, 119, 125)); // the take-profit fills
    expect(x.fills()).toEqual(['e1 buy 100 @ 100', 'e1.tp sell 100 @ 125']);
    expect(x.cancelled()).toEqual(['e1.sl: cancelled on request of s: no longer wanted']);
  });

  it('cancel an order that already filled then it is refused as already_final, with its status', () => {
    const x = desk();
    x.approve(order({}));
    x.onBar(bar(2, 100, 101, 99, 100));
    x.cancelApproved(cancel('e1'));
    expect(x.refused()).toEqual(['e1 already_final: cannot cancel e1: it is already filled']);
    expect(x.cancelled()).toEqual([]);
  });

  it('cancel an id execution never saw then it is refused as unknown_order', () => {
    const x = desk();
    x.cancelApproved(cancel('nope'));
    expect(x.refused()).toEqual([
      'nope unknown_order: cannot cancel nope: execution has no order of that id (never approved, or a typo)',
    ]);
  });

  it("a strategy cancelling another requester's order is refused as not_owner; a person may cancel it", () => {
    const x = desk();
    x.approve(order({ type: 'limit', limitPrice: 90 }));
    x.cancelApproved(cancel('e1', { origin: { kind: 'strategy', id: 'other' } }));
    expect(x.refused()).toEqual(["e1 not_owner: cannot cancel e1: it is strategy s's order, not other's"]);
    x.cancelApproved(cancel('e1', { origin: { kind: 'person', id: 'ann' }, reason: 'pulled by hand' }));
    expect(x.cancelled()).toEqual(['e1: cancelled on request of person ann: pulled by hand']);
  });

  it('the same cancel delivered twice is one cancel; a second request for a cancelled order is already_final', () => {
    const x = desk();
    x.approve(order({ type: 'limit', limitPrice: 90 }));
    const c = cancel('e1');
    x.cancelApproved(c);
    x.cancelApproved(c);
    expect(x.cancelled()).toHaveLength(1);
    expect(x.refused()).toEqual([]);
    expect(x.ctx().duplicates).toBe(1);
    x.cancelApproved(cancel('e1'));
    expect(x.refused()).toEqual(['e1 already_final: cannot cancel e1: it is already cancelled']);
  });

  it('cancel a partly filled entry with a bracket then the filled part stays and gets its bracket', () => {
    const { actor, send } = drive<ExecutionEvent>(executionMachine, {
      costs: { feeBps: 0, feePerShare: 0, slippageBps: 0, maxParticipation: 0.05 },
    });
    const accept = (o: OrderIntent) =>
      send({ type: 'broker.accepted', clientOrderId: o.clientOrderId, brokerOrderId: 'p', barsSince: [] });
    const o = order({ type: 'limit', limitPrice: 100, bracket: { stopLoss: 0.05 } });
    send({ type: 'order.approved', id: 'a', time: day(1), payload: { order: o, checks: [] } });
    accept(o);
    send({ type: 'market.bar', id: 'b', time: day(2), payload: bar(2, 100, 101, 99, 100) }); // 50 of 100 (5% of 1000)
    const out = send({
      type: 'order.cancel-approved',
      id: 'c',
      time: day(2),
      payload: { cancel: cancel('e1'), state: 'ACTIVE' },
    });
    expect(out.map((e) => e.type)).toEqual(['order.cancelled', 'effect.broker-submit']);
    expect(out[0]!.payload).toMatchObject({ clientOrderId: 'e1', filledQty: 50, status: 'cancelled' });
    expect(actor.getSnapshot().context.orders['e1.sl']?.order).toMatchObject({ qty: 50, stopPrice: 95 });
  });
});

describe('order.cancel at execution (a venue)', () => {
  it('with a broker that can cancel: the venue is asked (an effect) and its report ends the order', () => {
    const x = desk({ canCancel: true });
    x.approve(order({ type: 'limit', limitPrice: 90 }));
    x.cancelApproved(cancel('e1'));
    expect(x.of('effect.broker-cancel')).toEqual([
      expect.objectContaining({ order: expect.objectContaining({ clientOrderId: 'e1' }), brokerOrderId: 'p-e1' }),
    ]);
    x.send({
      type: 'broker.report',
      clientOrderId: 'e1',
      status: 'canceled',
      filled: 0,
      average: undefined,
      time: day(2),
    });
    expect(x.cancelled()).toEqual(['e1: the venue reports the order canceled']);
  });

  it('the venue refusing the cancel answers cancel-rejected with its reason', () => {
    const x = desk({ canCancel: true });
    x.approve(order({ type: 'limit', limitPrice: 90 }));
    const c = cancel('e1');
    x.cancelApproved(c);
    x.send({
      type: 'broker.cancel-failed',
      cancel: c,
      code: 'venue_rejected',
      reason: 'broker venue did not cancel e1: busy',
    });
    expect(x.refused()).toEqual(['e1 venue_rejected: broker venue did not cancel e1: busy']);
  });

  it('with a broker whose port has no cancel: refused as unsupported, naming the broker', () => {
    const x = desk({ canCancel: false });
    x.approve(order({ type: 'limit', limitPrice: 90 }));
    x.cancelApproved(cancel('e1'));
    expect(x.refused()).toEqual([
      'e1 unsupported: cannot cancel e1: the broker venue cannot cancel orders from Sextant (its port has no cancel)',
    ]);
  });
});

describe('a checkpoint from before cancels', () => {
  it('resumed from it, execution takes whether it can cancel from the broker configured now', () => {
    const venue = (cancel: boolean): BrokerPort => ({
      name: 'venue',
      fills: 'venue',
      submit: () => ({ brokerOrderId: 'b' }),
      ...(cancel
        ? { cancelOrder: () => Promise.resolve({ status: 'canceled' as const, filled: 0, average: undefined }) }
        : {}),
    });
    const old = { venueFills: true, broker: 'venue' } as unknown as ExecutionContext; // no canCancel
    const upgraded = (cancel: boolean) =>
      executionAgent({ costs: zeroCosts, broker: venue(cancel), market: {} as MarketCache }).upgrade!(
        old,
      ) as ExecutionContext;
    expect(upgraded(true).canCancel).toBe(true);
    expect(upgraded(false).canCancel).toBe(false);
  });
});

describe('order.cancel at risk', () => {
  it('a cancel passes in every trading state, HALTED too, with the state named; a re-delivered one passes once', () => {
    const { send, actor } = drive<RiskEvent>(riskMachine, {
      limits: unboundedLimits,
      startCash: 1e6,
      costs: zeroCosts,
    });
    send({
      type: 'risk.command',
      id: 'h',
      time: day(1),
      payload: { command: 'halt', reason: 'test', by: 'ann' },
    });
    expect(actor.getSnapshot().value).toBe('HALTED');
    const c = cancel('e1');
    const first = send({ type: 'order.cancel', id: 'x1', time: day(2), payload: c });
    expect(first).toEqual([
      expect.objectContaining({ type: 'order.cancel-approved', payload: { cancel: c, state: 'HALTED' } }),
    ]);
    expect(send({ type: 'order.cancel', id: 'x1', time: day(2), payload: c })).toEqual([]);
    expect(actor.getSnapshot().context.counts).toMatchObject({ cancels: 1, duplicates: 1 });
  });
});
