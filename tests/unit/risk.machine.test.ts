import { drive } from '../helpers/drive.js';
import { zeroCosts, type PaperCosts } from '../../src/core/domain/costs.js';
import { describe, expect, it } from 'vitest';
import { preTradeChecks, valuationPrice, type RiskLimits } from '../../agents/risk/checks.js';
import { riskMachine, type RiskContext, type RiskEvent } from '../../agents/risk/machine.js';
import { unboundedLimits } from '../../agents/risk/limits.js';
import type { OrderIntent, Side } from '../../src/core/domain/messages.js';
import type { Outbound } from '../../src/core/agent/outbound.js';

const T = Date.UTC(2024, 0, 2);
const LIMITS: RiskLimits = { ...unboundedLimits, maxPositionQty: 100, maxOrderNotional: 10_000 };
const ORIGIN = { kind: 'strategy', id: 'sma' } as const;

let seq = 0;
const intent = (over: Partial<OrderIntent> = {}): OrderIntent => ({
  clientOrderId: `o-${++seq}`,
  symbol: 'ORCL',
  side: 'buy',
  qty: 10,
  type: 'market',
  tif: 'GTC',
  origin: ORIGIN,
  refPrice: 100,
  decidedAt: T,
  ...over,
});

function start(limits: RiskLimits = LIMITS, account: { startCash?: number; costs?: PaperCosts } = {}) {
  const { actor, emitted, send } = drive<RiskEvent>(riskMachine, {
    limits,
    startCash: account.startCash ?? 1e12,
    costs: account.costs ?? zeroCosts,
  });
  /** Sends an intent (market price as of its decision time: `marketPrice`); returns the verdict. */
  const decide = (i: OrderIntent, marketPrice?: number): Outbound | undefined => {
    const outs = send({
      type: 'order.intent',
      id: `ev-${i.clientOrderId}`,
      time: T,
      payload: i,
      marketPrice,
      prices: {},
      account: undefined,
    });
    expect(outs.length).toBeLessThanOrEqual(1);
    return outs[0];
  };
  const ctx = (): RiskContext => actor.getSnapshot().context as RiskContext;
  return { send, decide, ctx, emitted };
}

const ended = (i: OrderIntent) => ({
  clientOrderId: i.clientOrderId,
  symbol: i.symbol,
  side: i.side as Side,
  origin: i.origin,
});

const filled = (i: OrderIntent, qty: number, cumQty: number, price = 100, fee = 0): RiskEvent => ({
  type: 'order.filled',
  id: `fill-${i.clientOrderId}-${cumQty}`,
  time: T + 1,
  payload: {
    ...ended(i),
    brokerOrderId: 'paper-1',
    qty,
    price,
    fee,
    cumQty,
    leavesQty: i.qty - cumQty,
    status: cumQty === i.qty ? 'filled' : 'partially_filled',
  },
});

const cancelled = (i: OrderIntent, filledQty: number): RiskEvent => ({
  type: 'order.cancelled',
  id: `cancel-${i.clientOrderId}`,
  time: T + 1,
  payload: { ...ended(i), filledQty, reason: 'IOC', status: 'cancelled' },
});

const failed = (i: OrderIntent): RiskEvent => ({
  type: 'order.failed',
  id: `failed-${i.clientOrderId}`,
  time: T + 1,
  payload: { ...ended(i), code: 'broker_down', reason: 'broker down' },
});

const denial = (o: Outbound | undefined) =>
  o?.type === 'order.rejected' ? { code: o.payload.code, reason: o.payload.reason } : o;

describe('risk machine: verdicts', () => {
  it('an order within limits is approved with every check it passed', () => {
    const r = start();
    const i = intent({ qty: 50 });
    expect(r.decide(i)).toEqual({
      type: 'order.approved',
      payload: {
        order: i,
        checks: [
          'trading_state',
          'order_shape',
          'allow_list',
          'price_band',
          'buying_power',
          'max_order_notional',
          'no_short',
          'max_position_qty',
          'max_position_notional',
          'max_gross_exposure',
          'max_open_orders',
          'order_rate',
          'loss_limits',
        ],
      },
    });
    expect(r.ctx().positions).toEqual({ ORCL: 50 });
    expect(r.ctx().counts).toMatchObject({ approved: 1, rejected: 0, duplicates: 0 });
  });

  it('submit order when notional exceeds max then denies with max_order_notional', () => {
    const r = start();
    const i = intent({ qty: 80, refPrice: 150 });
    const out = r.decide(i);
    expect(out).toEqual({
      type: 'order.rejected',
      payload: {
        clientOrderId: i.clientOrderId,
        symbol: 'ORCL',
        side: 'buy',
        qty: 80,
        origin: ORIGIN,
        code: 'max_order_notional',
        reason: 'order notional 12,000 exceeds max 10,000 for ORCL',
      },
    });
    expect(r.ctx().positions).toEqual({});
    expect(r.ctx().counts.rejected).toBe(1);
  });

  it('a notional exactly at the max is approved', () => {
    expect(start().decide(intent({ qty: 100, refPrice: 100 }))?.type).toBe('order.approved');
  });

  it('a buy that would take the position over the max denies with max_position_qty', () => {
    const r = start({ ...LIMITS, maxOrderNotional: 1e9 });
    expect(denial(r.decide(intent({ qty: 150 })))).toEqual({
      code: 'max_position_qty',
      reason: 'position in ORCL would be 150, over the max of 100',
    });
  });

  it('a sell from flat with shorting off denies with short_not_allowed', () => {
    const r = start();
    expect(denial(r.decide(intent({ side: 'sell', qty: 10 })))).toEqual({
      code: 'short_not_allowed',
      reason: 'selling 10 ORCL against a position of 0 would open a short of 10, and shorting is off',
    });
  });

  it('a sell from flat with shorting on is approved', () => {
    expect(start({ ...LIMITS, allowShort: true }).decide(intent({ side: 'sell', qty: 10 }))?.type).toBe(
      'order.approved',
    );
  });

  it('a symbol off the allow-list denies with symbol_not_allowed', () => {
    const r = start({ ...LIMITS, allowedSymbols: ['ORCL', 'MSFT'] });
    expect(denial(r.decide(intent({ symbol: 'AAPL' })))).toEqual({
      code: 'symbol_not_allowed',
      reason: 'AAPL is not on the allow-list (ORCL, MSFT)',
    });
    expect(r.decide(intent({ symbol: 'MSFT' }))?.type).toBe('order.approved');
  });

  it('a limit order without a limit price denies with invalid_order', () => {
    const i = intent({ type: 'limit' });
    expect(denial(start().decide(i))).toEqual({
      code: 'invalid_order',
      reason: `limit order ${i.clientOrderId} has no limit price`,
    });
  });

  it('a stop order without a stop price denies with invalid_order', () => {
    const i = intent({ type: 'stop' });
    expect(denial(start().decide(i))).toEqual({
      code: 'invalid_order',
      reason: `stop order ${i.clientOrderId} has no stop price`,
    });
  });

  it('a quantity below the minimum (5e-324, 1e-7) denies with below_min_qty, whoever sends it', () => {
    const r = start();
    for (const qty of [5e-324, 1e-7]) {
      const d = denial(r.decide(intent({ qty })));
      expect(d).toMatchObject({ code: 'below_min_qty' });
      expect((d as { reason: string }).reason).toBe(
        `buy ${String(qty)} ORCL: the quantity is below the minimum order quantity of 0.000001 for ORCL`,
      );
    }
    expect(denial(r.decide(intent({ qty: 1e-6, origin: { kind: 'person', id: 'chat:ann' } })))).toMatchObject({
      type: 'order.approved',
    });
    expect(r.ctx().positions).toEqual({ ORCL: 1e-6 });
  });

  it("a quantity that is not a whole number of the symbol's lots denies with lot_size, naming the nearest", () => {
    const r = start({ ...LIMITS, symbolRules: { ORCL: { lotSize: 1 } }, lotSize: 1e-8 });
    expect(denial(r.decide(intent({ qty: 10.5 })))).toEqual({
      code: 'lot_size',
      reason: 'buy 10.5 ORCL: the quantity is not a whole number of lots of 1 for ORCL (nearest: 10 or 11)',
    });
    expect(denial(r.decide(intent({ qty: 15.0000001, symbol: 'OTHER' })))).toMatchObject({ type: 'order.approved' });
    expect(denial(r.decide(intent({ qty: 15.000000099, symbol: 'OTHER' })))).toMatchObject({ code: 'lot_size' });
    expect(denial(r.decide(intent({ qty: 100 })))).toMatchObject({ type: 'order.approved' }); // the ORCL size 100
  });

  it('closing a whole position passes whatever odd quantity it is; a part of it must still be whole lots', () => {
    const r = start({ ...LIMITS, symbolRules: { ORCL: { lotSize: 1, minQty: 1 } } });
    const buy = intent({ qty: 10 });
    r.decide(buy);
    r.send(filled(buy, 9.75, 9.75)); // a venue filled an odd part
    r.send(cancelled(buy, 9.75));
    expect(denial(r.decide(intent({ side: 'sell', qty: 0.75 })))).toMatchObject({ code: 'below_min_qty' });
    expect(denial(r.decide(intent({ side: 'sell', qty: 9.75 })))).toMatchObject({ type: 'order.approved' });
  });

  it("a limit or stop price off the symbol's tick denies with tick_size; without a tick any price passes", () => {
    const r = start({ ...LIMITS, symbolRules: { ORCL: { tickSize: 0.01 } } });
    expect(denial(r.decide(intent({ type: 'limit', limitPrice: 100.005 })))).toEqual({
      code: 'tick_size',
      reason: 'buy 10 ORCL: the limit price 100.005 is not a whole number of ticks of 0.01 for ORCL',
    });
    expect(denial(r.decide(intent({ type: 'limit', limitPrice: 100.01 })))).toMatchObject({ type: 'order.approved' });
    expect(denial(r.decide(intent({ type: 'stop', stopPrice: 99.999 })))).toMatchObject({ code: 'tick_size' });
    expect(denial(r.decide(intent({ symbol: 'OTHER', type: 'limit', limitPrice: 100.005 })))).toMatchObject({
      type: 'order.approved',
    });
  });

  it('a market order with no reference price and no known market price denies with no_price', () => {
    expect(denial(start().decide(intent({ refPrice: undefined }), undefined))).toEqual({
      code: 'no_price',
      reason: 'no price is known for ORCL and the order carries none',
    });
  });

  it('a market order with no reference price is valued at the market price', () => {
    expect(start().decide(intent({ refPrice: undefined, qty: 10 }), 99)?.type).toBe('order.approved');
  });

  it('the first failing check in order wins (state before shape before allow-list before notional)', () => {
    const r = start({ ...LIMITS, allowedSymbols: ['MSFT'] });
    expect(denial(r.decide(intent({ symbol: 'AAPL', type: 'limit', qty: 1000 })))).toMatchObject({
      code: 'invalid_order',
    });
    expect(denial(r.decide(intent({ symbol: 'AAPL', qty: 1000 })))).toMatchObject({ code: 'symbol_not_allowed' });
    expect(preTradeChecks.map((c) => c.name)).toEqual([
      'trading_state',
      'order_shape',
      'allow_list',
      'price_band',
      'stale_market_data',
      'buying_power',
      'strategy_budget',
      'max_order_notional',
      'no_short',
      'max_position_qty',
      'max_position_notional',
      'max_gross_exposure',
      'max_open_orders',
      'order_rate',
      'loss_limits',
    ]);
  });
});

describe('risk machine: buying power', () => {
  const CASH = { ...unboundedLimits, maxLeverage: 1 };

  it('buy 5,000 at 100 with 100,000 cash then denies with insufficient_buying_power, naming the numbers', () => {
    const r = start(CASH, { startCash: 100_000 });
    expect(denial(r.decide(intent({ symbol: 'SYN', qty: 5000 })))).toEqual({
      code: 'insufficient_buying_power',
      reason:
        'buy 5,000 SYN at 100 needs 500,000 (est. fees and slippage 0), but only 100,000 of buying power is available (cash 100,000, less 0 held as margin or reserved by open orders)',
    });
    expect(r.decide(intent({ symbol: 'SYN', qty: 1000 }))?.type).toBe('order.approved'); // exactly the cash
  });

  it('an open buy reserves its cash until it fills or ends: a second buy beyond what is left is denied', () => {
    const r = start(CASH, { startCash: 100_000 });
    const first = intent({ qty: 600 });
    expect(r.decide(first)?.type).toBe('order.approved');
    expect(denial(r.decide(intent({ qty: 600 })))).toMatchObject({
      code: 'insufficient_buying_power',
      reason: expect.stringContaining('only 40,000 of buying power') as unknown,
    });
    r.send(cancelled(first, 0));
    expect(r.decide(intent({ qty: 600 }))?.type).toBe('order.approved');
  });

  it('an order that replaces a working one is checked without it: a new limit buy in place of an old one, an exit in place of a resting stop', () => {
    const r = start(CASH, { startCash: 100_000 });
    const old = intent({ qty: 600, type: 'limit', limitPrice: 100 });
    expect(r.decide(old)?.type).toBe('order.approved');
    // beside the old one the new buy is beyond buying power; in its place it fits
    expect(denial(r.decide(intent({ qty: 600, type: 'limit', limitPrice: 100 })))).toMatchObject({
      code: 'insufficient_buying_power',
    });
    expect(r.decide(intent({ qty: 600, type: 'limit', limitPrice: 100, cancels: [old.clientOrderId] }))?.type).toBe(
      'order.approved',
    );

    const s = start({ ...LIMITS, allowShort: false });
    const entry = intent({ qty: 10 });
    s.decide(entry);
    s.send(filled(entry, 10, 10));
    const stop = intent({ side: 'sell', qty: 10, type: 'stop', stopPrice: 95 });
    expect(s.decide(stop)?.type).toBe('order.approved');
    expect(denial(s.decide(intent({ side: 'sell', qty: 10 })))).toMatchObject({ code: 'short_not_allowed' });
    expect(s.decide(intent({ side: 'sell', qty: 10, cancels: [stop.clientOrderId] }))?.type).toBe('order.approved');
  });

  it('a strategy instance with a capital budget may not have more at work than it: its holdings at the latest prices and its open orders count, other requesters are not limited', () => {
    const r = start({ ...CASH, strategyBudgets: { sma: 20_000 } }, { startCash: 100_000 });
    const first = intent({ qty: 150 }); // 15,000 of 20,000
    const approved = r.decide(first);
    expect(approved?.type === 'order.approved' && approved.payload.checks).toContain('strategy_budget');
    expect(denial(r.decide(intent({ qty: 60 })))).toEqual({
      code: 'strategy_budget',
      reason:
        'buy 60 ORCL at 100 needs 6,000, but strategy sma has 5,000 of its budget of 20,000 left (15,000 held or reserved)',
    });
    expect(r.decide(intent({ qty: 50 }))?.type).toBe('order.approved');
    r.send(filled(first, 150, 150));
    // a person is not bound by the strategy's budget; a sell by the strategy always fits
    expect(r.decide(intent({ qty: 100, origin: { kind: 'person', id: 'ann' } }))?.type).toBe('order.approved');
    expect(r.decide(intent({ side: 'sell', qty: 150 }))?.type).toBe('order.approved');
    // another strategy without a budget is not limited either, and its approval names no budget check
    const other = r.decide(intent({ qty: 10, origin: { kind: 'strategy', id: 'other' } }));
    expect(other?.type === 'order.approved' && other.payload.checks).not.toContain('strategy_budget');
  });

  it('a buy against a short made only of a working sell still needs the cash: the sell may be cancelled (found by the property test)', () => {
    const r = start(CASH, { startCash: 1_000 });
    const buy = intent({ symbol: 'BBB', qty: 10, type: 'limit', limitPrice: 50, refPrice: 50 });
    expect(r.decide(buy)?.type).toBe('order.approved');
    // against a resting buy that may never fill, a sell is a short: 500 of the 1,000 buying power
    const sell = { symbol: 'BBB', side: 'sell', qty: 10, type: 'limit', limitPrice: 50, refPrice: 50 } as const;
    expect(r.decide(intent(sell))?.type).toBe('order.approved');
    r.send(cancelled(buy, 0)); // the projected position is now -10, made only of the working sell
    const buyAt101 = { symbol: 'BBB', qty: 10, type: 'limit', limitPrice: 101, refPrice: 101 } as const;
    expect(denial(r.decide(intent(buyAt101)))).toMatchObject({
      code: 'insufficient_buying_power',
      reason: expect.stringContaining('needs 1,010') as unknown,
    });
    // the working sell is measured the same way: should it fill alone, it is a short of 500 to carry
    expect(denial(r.decide(intent({ ...buyAt101, qty: 5 })))).toMatchObject({
      reason: expect.stringContaining('only 500 of buying power') as unknown,
    });
    expect(r.decide(intent({ ...buyAt101, qty: 4 }))?.type).toBe('order.approved');
  });

  it("a sell sent while its market buy is still working waits for the fill, then is approved as a close in the sell's own chain", () => {
    const r = start(CASH, { startCash: 1_000 });
    const buy = intent({ symbol: 'BBB', qty: 10, refPrice: 90 });
    expect(r.decide(buy)?.type).toBe('order.approved');
    // what the sell needs depends on the buy: filled, it closes; cancelled, it opens a short of 900
    // that 100 of buying power cannot carry. Over NATS the sell can arrive before the buy's fill,
    // in a replay after it: deciding now would make the verdict depend on the order of arrival.
    const sell = intent({ symbol: 'BBB', side: 'sell', qty: 10, refPrice: 90 });
    expect(r.decide(sell)).toBeUndefined();
    const later = intent({ symbol: 'BBB', qty: 1, type: 'limit', limitPrice: 90, refPrice: 90 });
    expect(r.decide(later)).toBeUndefined(); // decisions in a symbol keep their order: it waits behind
    expect(r.ctx().parked?.BBB?.map((e) => e.payload.clientOrderId)).toEqual([sell.clientOrderId, later.clientOrderId]);
    expect(r.decide(sell)).toBeUndefined(); // a re-delivered waiting intent is a duplicate
    expect(r.ctx().counts.duplicates).toBe(1);
    const outs = r.send(filled(buy, 10, 10, 90));
    expect(outs).toEqual([
      expect.objectContaining({
        type: 'order.approved',
        payload: expect.objectContaining({ order: sell }) as unknown,
        cause: {
          id: `ev-${sell.clientOrderId}`,
          correlationId: `ev-${sell.clientOrderId}`,
          time: T,
          event: 'order.intent',
        },
      }),
    ]);
    // the later buy now waits on the working market sell in turn
    expect(r.ctx().parked?.BBB?.map((e) => e.payload.clientOrderId)).toEqual([later.clientOrderId]);
    expect(r.send(filled(sell, 10, 10, 90)).map((o) => o.type === 'order.approved' && o.payload.order)).toEqual([
      later,
    ]);
    expect(r.ctx().parked).toEqual({});
  });

  it('when the market buy is cancelled instead, the waiting sell is decided as the short it now is', () => {
    const r = start(CASH, { startCash: 1_000 });
    const buy = intent({ symbol: 'BBB', qty: 10, refPrice: 90 });
    r.decide(buy);
    expect(r.decide(intent({ symbol: 'BBB', side: 'sell', qty: 10, refPrice: 90 }))).toBeUndefined();
    const outs = r.send(cancelled(buy, 0));
    expect(outs).toHaveLength(1);
    expect(denial(outs[0])).toMatchObject({
      code: 'short_not_allowed',
      reason: 'selling 10 BBB against a position of 0 would open a short of 10, and shorting is off',
    });
  });

  it('fills move cash: a filled buy spends it, a sell frees it only when it fills, a partial fill keeps the rest reserved', () => {
    const r = start(CASH, { startCash: 10_000 });
    const buy = intent({ qty: 80 });
    expect(r.decide(buy)?.type).toBe('order.approved');
    r.send(filled(buy, 30, 30, 100, 1.5));
    expect(r.ctx().cash).toBe(10_000 - 3_000 - 1.5);
    // 50 still reserved (5,000): 1,998.5 left
    expect(denial(r.decide(intent({ qty: 20 })))).toMatchObject({ code: 'insufficient_buying_power' });
    r.send(filled(buy, 50, 80));
    expect(r.ctx().cash).toBe(1_998.5);
    expect(r.ctx().held).toEqual({ ORCL: 80 });
    const sell = intent({ side: 'sell', qty: 80 });
    expect(r.decide(sell)?.type).toBe('order.approved'); // selling what is held needs no cash
    expect(denial(r.decide(intent({ symbol: 'MSFT', qty: 30 })))).toMatchObject({ code: 'insufficient_buying_power' }); // not until the sell fills
    r.send(filled(sell, 80, 80));
    expect(r.ctx().cash).toBe(9_998.5);
    expect(r.decide(intent({ symbol: 'MSFT', qty: 30 }))?.type).toBe('order.approved');
  });

  it('a fill delivered twice moves cash once', () => {
    const r = start(CASH, { startCash: 10_000 });
    const buy = intent({ qty: 10 });
    r.decide(buy);
    r.send(filled(buy, 10, 10));
    r.send(filled(buy, 10, 10));
    expect(r.ctx().cash).toBe(9_000);
    expect(r.ctx().held).toEqual({ ORCL: 10 });
  });

  it('estimated fees and slippage count against buying power', () => {
    const r = start(CASH, { startCash: 10_000, costs: { feeBps: 10, feePerShare: 0, slippageBps: 0 } });
    expect(denial(r.decide(intent({ qty: 100 })))).toMatchObject({
      code: 'insufficient_buying_power',
      reason: expect.stringContaining('needs 10,010 (est. fees and slippage 10)') as unknown,
    });
    expect(r.decide(intent({ qty: 99 }))?.type).toBe('order.approved');
  });

  it('with maxLeverage 2 an order may use twice the equity, less what is held', () => {
    const r = start({ ...CASH, maxLeverage: 2 }, { startCash: 100_000 });
    expect(r.decide(intent({ qty: 1500 }))?.type).toBe('order.approved');
    expect(denial(r.decide(intent({ qty: 600 })))).toMatchObject({
      code: 'insufficient_buying_power',
      reason: expect.stringContaining('2x equity 100,000') as unknown,
    });
  });
});

describe('risk machine: valuation price', () => {
  // qty 100 against max notional 10,000: the denial sentence names the price used
  const valuedAt = (over: Partial<OrderIntent>, market?: number) =>
    denial(start().decide(intent({ qty: 100, ...over }), market));

  it('limit beats stop, reference and market', () => {
    expect(valuedAt({ type: 'limit', limitPrice: 120, stopPrice: 110, refPrice: 105 }, 101)).toMatchObject({
      reason: 'order notional 12,000 exceeds max 10,000 for ORCL',
    });
  });

  it('stop beats reference and market', () => {
    expect(valuedAt({ type: 'stop', stopPrice: 110, refPrice: 105 }, 101)).toMatchObject({
      reason: 'order notional 11,000 exceeds max 10,000 for ORCL',
    });
  });

  it('reference beats market', () => {
    expect(valuedAt({ refPrice: 105 }, 101)).toMatchObject({
      reason: 'order notional 10,500 exceeds max 10,000 for ORCL',
    });
  });

  it('market price is the last resort', () => {
    expect(valuedAt({ refPrice: undefined }, 101.5)).toMatchObject({
      reason: 'order notional 10,150 exceeds max 10,000 for ORCL',
    });
  });

  it('valuationPrice applies the same precedence', () => {
    expect(valuationPrice(intent({ limitPrice: 1, stopPrice: 2, refPrice: 3 }), 4)).toBe(1);
    expect(valuationPrice(intent({ stopPrice: 2, refPrice: 3 }), 4)).toBe(2);
    expect(valuationPrice(intent({ refPrice: 3 }), 4)).toBe(3);
    expect(valuationPrice(intent({ refPrice: undefined }), 4)).toBe(4);
    expect(valuationPrice(intent({ refPrice: undefined }), undefined)).toBeUndefined();
  });
});

describe('risk machine: projected positions', () => {
  it('two buys each within the max but together over it: the second is rejected', () => {
    const r = start({ ...LIMITS, maxOrderNotional: 1e9 });
    expect(r.decide(intent({ qty: 60 }))?.type).toBe('order.approved');
    expect(denial(r.decide(intent({ qty: 60 })))).toEqual({
      code: 'max_position_qty',
      reason: 'position in ORCL would be 120, over the max of 100',
    });
  });

  it("a bracket leg's fill (an order execution made, not risk) moves the projected position: a sell of what it sold is a short; an exit replacing it passes (execution cancels that exit)", () => {
    const r = start();
    const entry = intent({ qty: 100 });
    expect(r.decide(entry)?.type).toBe('order.approved');
    r.send(filled(entry, 100, 100));
    // the stop-loss leg execution placed for the entry is hit
    const leg = intent({
      clientOrderId: `${entry.clientOrderId}.sl`,
      side: 'sell',
      qty: 100,
      type: 'stop',
      stopPrice: 95,
    });
    r.send(filled(leg, 100, 100));
    expect(r.ctx().positions).toEqual({ ORCL: 0 });
    expect(r.ctx().held).toEqual({ ORCL: 0 });
    expect(denial(r.decide(intent({ side: 'sell', qty: 100 })))).toMatchObject({ code: 'short_not_allowed' });
    // the strategy's exit on the same bar, sent before it saw the leg's fill, replaces the leg
    const exit = intent({ side: 'sell', qty: 100, cancels: [leg.clientOrderId] });
    expect(r.decide(exit)?.type).toBe('order.approved');
  });

  it('a sell that reduces an approved-but-unfilled buy is allowed without a short', () => {
    const r = start();
    r.decide(intent({ qty: 50 }));
    expect(r.decide(intent({ side: 'sell', qty: 50 }))?.type).toBe('order.approved');
    expect(r.ctx().positions).toEqual({ ORCL: 0 });
    expect(denial(r.decide(intent({ side: 'sell', qty: 1 })))).toMatchObject({ code: 'short_not_allowed' });
  });

  it('a re-delivered intent with the same clientOrderId is decided once', () => {
    const r = start();
    const i = intent({ qty: 50 });
    expect(r.decide(i)?.type).toBe('order.approved');
    expect(r.decide(i)).toBeUndefined();
    expect(r.decide({ ...i })).toBeUndefined();
    expect(r.ctx().positions).toEqual({ ORCL: 50 });
    expect(r.ctx().counts).toMatchObject({ approved: 1, rejected: 0, duplicates: 2 });
  });

  it('a re-delivered rejected intent is not decided again', () => {
    const r = start();
    const i = intent({ qty: 500 });
    expect(r.decide(i)?.type).toBe('order.rejected');
    expect(r.decide(i)).toBeUndefined();
    expect(r.ctx().counts).toMatchObject({ approved: 0, rejected: 1, duplicates: 1 });
  });

  it('order.cancelled with a partial fill gives back only the unfilled part', () => {
    const r = start();
    const i = intent({ qty: 60 });
    r.decide(i);
    expect(r.send(cancelled(i, 20))).toEqual([]);
    expect(r.ctx().positions).toEqual({ ORCL: 20 });
    expect(r.ctx().working).toEqual({});
    expect(r.decide(intent({ qty: 80 }))?.type).toBe('order.approved');
    expect(denial(r.decide(intent({ qty: 1 })))).toMatchObject({ code: 'max_position_qty' });
  });

  it('a cancelled sell gives back its unfilled part on the sell side', () => {
    const r = start({ ...LIMITS, allowShort: true });
    const i = intent({ side: 'sell', qty: 30 });
    r.decide(i);
    r.send(cancelled(i, 10));
    expect(r.ctx().positions).toEqual({ ORCL: -10 });
  });

  it('a final order.filled removes the working order and keeps the position', () => {
    const r = start();
    const i = intent({ qty: 60 });
    r.decide(i);
    r.send(filled(i, 20, 20));
    expect(Object.keys(r.ctx().working)).toEqual([i.clientOrderId]);
    r.send(filled(i, 40, 60));
    expect(r.ctx().working).toEqual({});
    expect(r.ctx().positions).toEqual({ ORCL: 60 });
    // a late cancel for the finished order changes nothing
    r.send(cancelled(i, 0));
    expect(r.ctx().positions).toEqual({ ORCL: 60 });
  });

  it('order.failed gives back the whole quantity', () => {
    const r = start();
    const i = intent({ qty: 60 });
    r.decide(i);
    expect(r.send(failed(i))).toEqual([]);
    expect(r.ctx().positions).toEqual({ ORCL: 0 });
    expect(r.ctx().working).toEqual({});
    expect(r.decide(intent({ qty: 100 }))?.type).toBe('order.approved');
  });

  it('positions are projected per symbol', () => {
    const r = start();
    r.decide(intent({ qty: 100 }));
    expect(r.decide(intent({ symbol: 'MSFT', qty: 100, refPrice: 50 }))?.type).toBe('order.approved');
    expect(r.ctx().positions).toEqual({ ORCL: 100, MSFT: 100 });
  });
});

describe('risk machine: stale market data', () => {
  const MIN = 60_000;
  const limits = { ...LIMITS, maxBarAgeBars: 3 };
  const intentAt = (r: ReturnType<typeof start>, i: OrderIntent, lastBar?: { time: number; intervalMs?: number }) =>
    r.send({
      type: 'order.intent',
      id: `ev-${i.clientOrderId}`,
      time: i.decidedAt,
      payload: i,
      marketPrice: 100,
      prices: {},
      account: undefined,
      ...(lastBar ? { lastBar: { time: lastBar.time, intervalMs: lastBar.intervalMs } } : {}),
    })[0];

  it('an order that grows a position is refused when the last 1m bar closed more than 3 minutes before it; within, it passes', () => {
    const r = start(limits);
    const bar = { time: T, intervalMs: MIN }; // closed at T + 1m
    const fresh = intentAt(r, intent({ decidedAt: T + MIN + 3 * MIN }), bar);
    expect(fresh?.type === 'order.approved' && fresh.payload.checks).toContain('stale_market_data');
    expect(denial(intentAt(r, intent({ decidedAt: T + MIN + 4 * MIN + 10_000 }), bar))).toEqual({
      code: 'stale_market_data',
      reason:
        "ORCL's last bar closed 4m 10s before this order, more than 3 bars of 1m 0s (3m 0s): the market data may be down; orders that only reduce a position still pass",
    });
  });

  it('an order that only reduces the position still passes on old data; without the limit, or without a bar length, nothing is checked', () => {
    const r = start(limits);
    const buy = intent({ qty: 10, decidedAt: T });
    expect(intentAt(r, buy, { time: T - MIN, intervalMs: MIN })?.type).toBe('order.approved');
    const late = { time: T, intervalMs: MIN };
    const sell = intentAt(r, intent({ side: 'sell', qty: 10, decidedAt: T + 60 * MIN }), late);
    expect(sell?.type).toBe('order.approved');
    const off = start(LIMITS);
    const unchecked = intentAt(off, intent({ decidedAt: T + 60 * MIN }), late);
    expect(unchecked?.type === 'order.approved' && unchecked.payload.checks).not.toContain('stale_market_data');
    const noLength = intentAt(start(limits), intent({ decidedAt: T + 60 * MIN }), { time: T });
    expect(noLength?.type).toBe('order.approved');
  });
});
