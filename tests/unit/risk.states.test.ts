import { describe, expect, it } from 'vitest';
import { zeroCosts } from '../../src/core/domain/costs.js';
import { unboundedLimits, type RiskLimits } from '../../agents/risk/limits.js';
import { riskMachine, type RiskEvent } from '../../agents/risk/machine.js';
import type { OrderIntent, PortfolioSnapshot, RiskCommand } from '../../src/core/domain/messages.js';
import type { Outbound } from '../../src/core/agent/outbound.js';
import { drive } from '../helpers/drive.js';

const T = Date.UTC(2024, 0, 2);
let seq = 0;
const intent = (over: Partial<OrderIntent> = {}): OrderIntent => ({
  clientOrderId: `s-${++seq}`,
  symbol: 'ORCL',
  side: 'buy',
  qty: 10,
  type: 'market',
  tif: 'GTC',
  origin: { kind: 'person', id: 'ann' },
  refPrice: 100,
  decidedAt: T,
  ...over,
});

const snapshot = (over: Partial<PortfolioSnapshot>): PortfolioSnapshot => ({
  cash: 100_000,
  equity: 100_000,
  positions: [],
  realizedPnl: 0,
  unrealizedPnl: 0,
  fees: 0,
  dayPnl: 0,
  dayStartEquity: 100_000,
  pnl: { day: 0, week: 0, month: 0, all: 0 },
  peakEquity: 100_000,
  drawdown: 0,
  maxDrawdown: 0,
  asOf: T,
  ...over,
});

function start(limits: Partial<RiskLimits> = {}) {
  const { actor, emitted, send } = drive<RiskEvent>(riskMachine, {
    limits: { ...unboundedLimits, ...limits },
    startCash: 1e12,
    costs: zeroCosts,
  });
  const decide = (
    i: OrderIntent,
    extra: { marketPrice?: number; account?: { dayPnl: number; drawdown: number } } = {},
  ) =>
    send({
      type: 'order.intent',
      id: `ev-${i.clientOrderId}`,
      time: i.decidedAt,
      payload: i,
      marketPrice: extra.marketPrice,
      prices: {},
      account: extra.account,
    }).at(-1);
  const command = (c: Partial<RiskCommand> & Pick<RiskCommand, 'command'>) =>
    send({ type: 'risk.command', id: `cmd-${++seq}`, time: T, payload: { reason: 'test', by: 'ann', ...c } });
  const update = (p: Partial<PortfolioSnapshot>) =>
    send({ type: 'portfolio.updated', id: `pu-${++seq}`, time: T, payload: snapshot(p) });
  const state = () => actor.getSnapshot().value;
  return { decide, command, update, state, emitted, ctx: () => actor.getSnapshot().context };
}

const code = (o: Outbound | undefined) => (o?.type === 'order.rejected' ? o.payload.code : o?.type);
const stateEvents = (outs: Outbound[]) => outs.filter((o) => o.type === 'risk.state').map((o) => o.payload);

describe('risk trading states', () => {
  it('starts ACTIVE and says so on risk.state', () => {
    const r = start();
    expect(r.state()).toBe('ACTIVE');
    expect(stateEvents(r.emitted)).toEqual([
      {
        state: 'ACTIVE',
        previous: 'ACTIVE',
        cause: { kind: 'start', code: 'start', reason: 'the risk agent started' },
      },
    ]);
  });

  it('the kill switch halts trading, publishes the change with its cause, and HALTED approves nothing', () => {
    const r = start();
    const outs = r.command({ command: 'halt', reason: 'news', by: 'ann' });
    expect(r.state()).toBe('HALTED');
    expect(outs.find((o) => o.type === 'risk.command-result')?.payload).toMatchObject({
      command: 'halt',
      accepted: true,
      state: 'HALTED',
    });
    expect(stateEvents(outs)).toEqual([
      { state: 'HALTED', previous: 'ACTIVE', cause: { kind: 'command', code: 'halt', reason: 'news', by: 'ann' } },
    ]);
    expect(code(r.decide(intent()))).toBe('trading_halted');
    expect(code(r.decide(intent({ side: 'sell' })))).toBe('trading_halted');
  });

  it("a system process may halt and lift its own stop, but not a person's halt, and never change limits", () => {
    const r = start();
    const result = (outs: Outbound[]) => outs.find((o) => o.type === 'risk.command-result')?.payload;
    r.command({ command: 'halt', by: 'system:store' });
    expect(r.state()).toBe('HALTED');
    expect(result(r.command({ command: 'resume', by: 'system:store' }))).toMatchObject({ accepted: true });
    expect(r.state()).toBe('ACTIVE');
    // a person's halt stands against the store watch (or a forger on risk.command.system.*)
    r.command({ command: 'halt', by: 'api:ann' });
    const refused = r.command({ command: 'resume', by: 'system:store' });
    expect(result(refused)).toMatchObject({ accepted: false, state: 'HALTED' });
    expect(result(refused)?.reason).toMatch(/may lift only a stop of its own; trading is HALTED by api:ann/);
    expect(stateEvents(refused)).toEqual([]);
    expect(r.state()).toBe('HALTED');
    const limits = r.command({ command: 'set-limits', by: 'system:store', limits: { maxOrderQty: 1 } });
    expect(result(limits)).toMatchObject({ accepted: false });
    expect(result(limits)?.reason).toMatch(/may not change limits/);
    r.command({ command: 'resume', by: 'api:ann' });
    expect(r.state()).toBe('ACTIVE');
  });

  it('resume after halt brings trading back, and halting twice changes nothing the second time', () => {
    const r = start();
    r.command({ command: 'halt' });
    const again = r.command({ command: 'halt' });
    expect(stateEvents(again)).toEqual([]);
    expect(again.find((o) => o.type === 'risk.command-result')?.payload.reason).toMatch(/already HALTED/);
    r.command({ command: 'resume' });
    expect(r.state()).toBe('ACTIVE');
    expect(code(r.decide(intent()))).toBe('order.approved');
  });

  it('REDUCING passes only orders that shrink a position', () => {
    const r = start({ allowShort: true });
    expect(code(r.decide(intent({ qty: 50 })))).toBe('order.approved'); // long 50
    r.command({ command: 'reduce' });
    expect(code(r.decide(intent({ qty: 1 })))).toBe('reducing_only');
    expect(code(r.decide(intent({ side: 'sell', qty: 60 })))).toBe('reducing_only'); // would flip short
    expect(code(r.decide(intent({ side: 'sell', qty: 20 })))).toBe('order.approved');
    expect(r.ctx().positions.ORCL).toBe(30);
  });

  it('a portfolio update breaching the daily loss trips the configured breach state, with the cause', () => {
    const r = start({ maxDailyLoss: 1_000, breachState: 'REDUCING' });
    expect(stateEvents(r.update({ dayPnl: -999 }))).toEqual([]);
    const outs = r.update({ dayPnl: -1_000 });
    expect(r.state()).toBe('REDUCING');
    expect(stateEvents(outs)).toEqual([
      {
        state: 'REDUCING',
        previous: 'ACTIVE',
        cause: { kind: 'breach', code: 'max_daily_loss', reason: expect.stringContaining('1000.00') },
      },
    ]);
  });

  it('a drawdown breach halts when the breach state is HALTED, also from REDUCING', () => {
    const r = start({ maxDrawdown: 0.1, breachState: 'HALTED' });
    r.command({ command: 'reduce' });
    r.update({ drawdown: 0.12 });
    expect(r.state()).toBe('HALTED');
    expect(stateEvents(r.emitted).at(-1)).toMatchObject({
      state: 'HALTED',
      previous: 'REDUCING',
      cause: { kind: 'breach', code: 'max_drawdown' },
    });
  });
});

describe('risk limits at run time', () => {
  it('a valid change applies and is acknowledged with the new limits', () => {
    const r = start();
    const outs = r.command({ command: 'set-limits', limits: { maxOrderNotional: 5_000, maxOpenOrders: 2 } });
    expect(outs[0]).toMatchObject({
      type: 'risk.command-result',
      payload: { accepted: true, limits: { maxOrderNotional: 5_000, maxOpenOrders: 2 } },
    });
    expect(code(r.decide(intent({ qty: 60 })))).toBe('max_order_notional');
  });

  it('an invalid change is rejected with the reason and the old limits stay', () => {
    const r = start({ maxOrderNotional: 9_000 });
    const outs = r.command({ command: 'set-limits', limits: { maxOrderNotional: -5, maxOpenOrders: 3 } });
    expect(outs[0]).toMatchObject({ type: 'risk.command-result', payload: { accepted: false } });
    expect(outs[0]!.type === 'risk.command-result' && outs[0]!.payload.reason).toMatch(/maxOrderNotional/);
    expect(r.ctx().limits.maxOrderNotional).toBe(9_000);
    expect(r.ctx().limits.maxOpenOrders).toBe(unboundedLimits.maxOpenOrders);
    const unknown = r.command({ command: 'set-limits', limits: { maxBananas: 3 } });
    expect(unknown[0]).toMatchObject({ payload: { accepted: false } });
  });
});

describe('risk pre-trade checks in depth', () => {
  it('price band: a limit price far from the last trade is a fat finger', () => {
    const r = start({ priceBand: 0.1 });
    const out = r.decide(intent({ type: 'limit', limitPrice: 150 }), { marketPrice: 100 });
    expect(code(out)).toBe('price_band');
    expect(out?.type === 'order.rejected' && out.payload.reason).toBe(
      'limit price 150 for ORCL is 50% from the last trade 100, outside the band of 10%',
    );
    expect(code(r.decide(intent({ type: 'limit', limitPrice: 105 }), { marketPrice: 100 }))).toBe('order.approved');
  });

  it('max position notional and max gross exposure count positions already approved', () => {
    const r = start({ maxPositionNotional: 5_000, maxGrossExposure: 8_000 });
    expect(code(r.decide(intent({ qty: 40 })))).toBe('order.approved'); // ORCL 4,000
    expect(code(r.decide(intent({ qty: 20 })))).toBe('max_position_notional'); // would be 6,000
    expect(code(r.decide(intent({ symbol: 'MSFT', qty: 45 })))).toBe('max_gross_exposure'); // 4,000 + 4,500
    expect(code(r.decide(intent({ symbol: 'MSFT', qty: 40 })))).toBe('order.approved'); // 8,000
  });

  it('max open orders counts approved orders until they finish', () => {
    const r = start({ maxOpenOrders: 1 });
    const first = intent();
    expect(code(r.decide(first))).toBe('order.approved');
    expect(code(r.decide(intent()))).toBe('max_open_orders');
  });

  it('order rate limits use a sliding window of event time, per symbol and in total', () => {
    const r = start({ maxOrdersPerWindow: 3, maxOrdersPerWindowPerSymbol: 2, rateWindowMs: 60_000 });
    expect(code(r.decide(intent({ decidedAt: T })))).toBe('order.approved');
    expect(code(r.decide(intent({ decidedAt: T + 1_000 })))).toBe('order.approved');
    expect(code(r.decide(intent({ decidedAt: T + 2_000 })))).toBe('order_rate_symbol');
    expect(code(r.decide(intent({ symbol: 'MSFT', decidedAt: T + 3_000 })))).toBe('order.approved');
    expect(code(r.decide(intent({ symbol: 'AAPL', decidedAt: T + 4_000 })))).toBe('order_rate');
    expect(code(r.decide(intent({ symbol: 'AAPL', decidedAt: T + 60_001 })))).toBe('order.approved'); // the first left the window
  });

  it('loss limits deny orders that add risk before the state trips, but let a position be reduced', () => {
    const r = start({ maxDailyLoss: 500 });
    expect(code(r.decide(intent({ qty: 10 })))).toBe('order.approved');
    expect(code(r.decide(intent({ qty: 1 }), { account: { dayPnl: -600, drawdown: 0 } }))).toBe('max_daily_loss');
    expect(code(r.decide(intent({ side: 'sell', qty: 5 }), { account: { dayPnl: -600, drawdown: 0 } }))).toBe(
      'order.approved',
    );
  });

  it('rejections are counted by reason code', () => {
    const r = start({ maxOrderNotional: 500 });
    r.decide(intent());
    r.decide(intent());
    expect(r.ctx().counts.byCode).toEqual({ max_order_notional: 2 });
  });
});
