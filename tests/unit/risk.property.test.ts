import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { increasesRisk, reducesOnly, signedQty, valuationPrice } from '../../agents/risk/checks.js';
import { unboundedLimits, type RiskLimits } from '../../agents/risk/limits.js';
import { riskMachine, type RiskEvent } from '../../agents/risk/machine.js';
import type { OrderIntent } from '../../src/core/domain/messages.js';
import type { Outbound } from '../../src/core/agent/outbound.js';
import { drive } from '../helpers/drive.js';
import { zeroCosts } from '../../src/core/domain/costs.js';

const SYMBOLS = ['AAA', 'BBB', 'CCC'] as const;
const T0 = Date.UTC(2024, 0, 2);

type Step =
  | {
      kind: 'intent';
      symbol: string;
      side: 'buy' | 'sell';
      qty: number;
      limit: number | undefined;
      ref: number;
      dt: number;
    }
  | { kind: 'fill'; pick: number }
  | { kind: 'cancel'; pick: number; filledFraction: number }
  | { kind: 'command'; command: 'halt' | 'reduce' | 'resume' }
  | { kind: 'update'; dayPnl: number; drawdown: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('intent' as const),
      symbol: fc.constantFrom(...SYMBOLS),
      side: fc.constantFrom('buy' as const, 'sell' as const),
      qty: fc.integer({ min: 1, max: 60 }),
      limit: fc.option(fc.integer({ min: -30, max: 30 }), { nil: undefined, freq: 2 }),
      ref: fc.integer({ min: 50, max: 150 }),
      dt: fc.integer({ min: 0, max: 5_000 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('fill' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('cancel' as const),
      pick: fc.nat(),
      filledFraction: fc.constantFrom(0, 0.5, 1),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('command' as const),
      command: fc.constantFrom('halt' as const, 'reduce' as const, 'resume' as const, 'resume' as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('update' as const),
      dayPnl: fc.integer({ min: -2_000, max: 1_000 }),
      drawdown: fc.double({ min: 0, max: 0.3, noNaN: true }),
    }),
  },
);

const limitsArb: fc.Arbitrary<RiskLimits> = fc
  .record({
    maxPositionQty: fc.integer({ min: 20, max: 300 }),
    maxPositionNotional: fc.integer({ min: 2_000, max: 30_000 }),
    maxOrderNotional: fc.integer({ min: 1_000, max: 15_000 }),
    maxGrossExposure: fc.integer({ min: 5_000, max: 60_000 }),
    maxOpenOrders: fc.integer({ min: 1, max: 8 }),
    maxOrdersPerWindow: fc.integer({ min: 1, max: 8 }),
    maxOrdersPerWindowPerSymbol: fc.integer({ min: 1, max: 5 }),
    rateWindowMs: fc.constant(10_000),
    maxDailyLoss: fc.integer({ min: 500, max: 3_000 }),
    maxDrawdown: fc.double({ min: 0.05, max: 0.4, noNaN: true }),
    priceBand: fc.double({ min: 0.05, max: 0.5, noNaN: true }),
    allowShort: fc.boolean(),
    breachState: fc.constantFrom('REDUCING' as const, 'HALTED' as const),
  })
  .map((l) => ({ ...unboundedLimits, ...l }));

/** The intent an `intent` step describes (market, or limit at ref +/- limit%), quantity scaled by `k`. */
function intentOf(s: Extract<Step, { kind: 'intent' }>, clientOrderId: string, now: number, k = 1): OrderIntent {
  return {
    clientOrderId,
    symbol: s.symbol,
    side: s.side,
    qty: s.qty * k,
    type: s.limit === undefined ? 'market' : 'limit',
    ...(s.limit === undefined ? {} : { limitPrice: Math.round(s.ref * (100 + s.limit)) / 100 }),
    tif: 'GTC',
    origin: { kind: 'strategy', id: 'prop' },
    refPrice: s.ref,
    decidedAt: now,
  };
}

interface Open {
  readonly intent: OrderIntent;
}

describe('risk properties', () => {
  it('for random intents, fills, cancels, commands and prices, no approval ever breaches a limit and HALTED approves nothing', () => {
    let approvalsSeen = 0;
    let rejectionsSeen = 0;
    const byCode: Record<string, number> = {};
    fc.assert(
      fc.property(limitsArb, fc.array(step, { minLength: 1, maxLength: 80 }), (limits, steps) => {
        const { actor, send } = drive<RiskEvent>(riskMachine, { limits, startCash: 1e12, costs: zeroCosts });
        // An independent model, built from the event sequence only (never from the machine's context).
        const position: Record<string, number> = {};
        const open: Open[] = [];
        const approvalTimes: { t: number; symbol: string }[] = [];
        let account: { dayPnl: number; drawdown: number } | undefined;
        let now = T0;
        let n = 0;
        for (const s of steps) {
          if (s.kind === 'intent') {
            now += s.dt;
            const i = intentOf(s, `p-${++n}`, now);
            const stateBefore = actor.getSnapshot().context.tradingState;
            const pos = position[i.symbol] ?? 0;
            const outs = send({
              type: 'order.intent',
              id: `e-${n}`,
              time: now,
              payload: i,
              marketPrice: s.ref,
              prices: {},
              account,
            });
            const verdict = outs.find((o) => o.type === 'order.approved' || o.type === 'order.rejected');
            expect(verdict).toBeDefined();
            if (verdict!.type === 'order.rejected') {
              rejectionsSeen++;
              byCode[verdict!.payload.code] = (byCode[verdict!.payload.code] ?? 0) + 1;
              continue;
            }
            approvalsSeen++;
            const price = valuationPrice(i, s.ref)!;
            const after = pos + signedQty(i);
            const inWindow = approvalTimes.filter((a) => a.t > now - limits.rateWindowMs);
            expect(stateBefore).not.toBe('HALTED');
            if (stateBefore === 'REDUCING') expect(reducesOnly(pos, i)).toBe(true);
            expect(i.qty * price).toBeLessThanOrEqual(limits.maxOrderNotional);
            // Only a sell opens or grows a short. A buy may still leave one: a sell approved against a
            // working buy is short once that buy is cancelled (FC_SEED=-512802652 found it in CI).
            if (!limits.allowShort && i.side === 'sell') expect(after).toBeGreaterThanOrEqual(0);
            if (increasesRisk(pos, i)) {
              expect(Math.abs(after)).toBeLessThanOrEqual(limits.maxPositionQty);
              expect(Math.abs(after) * price).toBeLessThanOrEqual(limits.maxPositionNotional);
              if (account) expect(-account.dayPnl).toBeLessThan(limits.maxDailyLoss);
            }
            if (i.limitPrice !== undefined)
              expect(Math.abs(i.limitPrice - s.ref) / s.ref).toBeLessThanOrEqual(limits.priceBand);
            expect(open.length).toBeLessThan(limits.maxOpenOrders);
            expect(inWindow.length).toBeLessThan(limits.maxOrdersPerWindow);
            expect(inWindow.filter((a) => a.symbol === i.symbol).length).toBeLessThan(
              limits.maxOrdersPerWindowPerSymbol,
            );
            position[i.symbol] = after;
            open.push({ intent: i });
            approvalTimes.push({ t: now, symbol: i.symbol });
          } else if (s.kind === 'fill' && open.length > 0) {
            const [o] = open.splice(s.pick % open.length, 1);
            const i = o!.intent;
            send({
              type: 'order.filled',
              id: `f-${i.clientOrderId}`,
              time: now,
              payload: {
                clientOrderId: i.clientOrderId,
                brokerOrderId: 'b',
                symbol: i.symbol,
                side: i.side,
                qty: i.qty,
                price: i.refPrice!,
                fee: 0,
                cumQty: i.qty,
                leavesQty: 0,
                status: 'filled',
                origin: i.origin,
              },
            });
          } else if (s.kind === 'cancel' && open.length > 0) {
            const [o] = open.splice(s.pick % open.length, 1);
            const i = o!.intent;
            const filledQty = Math.floor(i.qty * s.filledFraction);
            send({
              type: 'order.cancelled',
              id: `c-${i.clientOrderId}`,
              time: now,
              payload: {
                clientOrderId: i.clientOrderId,
                symbol: i.symbol,
                side: i.side,
                filledQty,
                reason: 'test',
                status: 'cancelled',
                origin: i.origin,
              },
            });
            position[i.symbol] = (position[i.symbol] ?? 0) - Math.sign(signedQty(i)) * (i.qty - filledQty);
          } else if (s.kind === 'command') {
            send({
              type: 'risk.command',
              id: `k-${++n}`,
              time: now,
              payload: { command: s.command, reason: 'prop', by: 'prop' },
            });
          } else if (s.kind === 'update') {
            account = { dayPnl: s.dayPnl, drawdown: s.drawdown };
            send({
              type: 'portfolio.updated',
              id: `u-${++n}`,
              time: now,
              payload: {
                cash: 0,
                equity: 0,
                positions: [],
                realizedPnl: 0,
                unrealizedPnl: 0,
                fees: 0,
                dayPnl: s.dayPnl,
                dayStartEquity: 0,
                pnl: { day: s.dayPnl, week: s.dayPnl, month: s.dayPnl, all: s.dayPnl },
                peakEquity: 0,
                drawdown: s.drawdown,
                maxDrawdown: s.drawdown,
                asOf: now,
              },
            });
          }
        }
        // The machine's projection agrees with the model's.
        for (const sym of SYMBOLS) expect(actor.getSnapshot().context.positions[sym] ?? 0).toBe(position[sym] ?? 0);
      }),
      { numRuns: 1000 },
    );
    // The generators must exercise both outcomes, or the property says nothing.
    console.info(`risk property: ${approvalsSeen} approvals and ${rejectionsSeen} rejections checked`, byCode);
    expect(approvalsSeen).toBeGreaterThan(500);
    expect(rejectionsSeen).toBeGreaterThan(500);
  });

  it('at leverage 1 (a cash account) no approved order ever takes cash, after what open orders reserve, below zero', () => {
    let approvals = 0;
    let refusals = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1_000, max: 50_000 }),
        fc.array(step, { minLength: 1, maxLength: 80 }),
        (startCash, steps) => {
          const limits: RiskLimits = { ...unboundedLimits, maxLeverage: 1 };
          const { send } = drive<RiskEvent>(riskMachine, { limits, startCash, costs: zeroCosts });
          // The model: cash from fills, and each open order's unfilled cash need (buys only: long only).
          let cash = startCash;
          const open: { intent: OrderIntent; price: number; filled: number }[] = [];
          const reserved = () =>
            open.reduce((sum, o) => sum + (o.intent.side === 'buy' ? (o.intent.qty - o.filled) * o.price : 0), 0);
          let now = T0;
          let n = 0;
          // an intent waiting on an opposite market order is decided when that order fills or ends
          const admit = (outs: readonly Outbound[]) => {
            for (const o of outs)
              if (o.type === 'order.approved') {
                approvals++;
                const i = o.payload.order;
                open.push({ intent: i, price: valuationPrice(i, i.refPrice)!, filled: 0 });
                expect(cash - reserved()).toBeGreaterThanOrEqual(-1e-6);
              } else if (o.type === 'order.rejected') refusals++;
          };
          const fill = (o: (typeof open)[number], qty: number) => {
            const i = o.intent;
            o.filled += qty;
            const signed = i.side === 'buy' ? qty : -qty;
            cash -= signed * o.price;
            admit(
              send({
                type: 'order.filled',
                id: `f-${i.clientOrderId}-${o.filled}`,
                time: now,
                payload: {
                  clientOrderId: i.clientOrderId,
                  brokerOrderId: 'b',
                  symbol: i.symbol,
                  side: i.side,
                  qty,
                  price: o.price,
                  fee: 0,
                  cumQty: o.filled,
                  leavesQty: i.qty - o.filled,
                  status: o.filled === i.qty ? 'filled' : 'partially_filled',
                  origin: i.origin,
                },
              }),
            );
          };
          for (const s of steps) {
            if (s.kind === 'intent') {
              now += s.dt;
              const i = intentOf(s, `c-${++n}`, now, 10);
              const outs = send({
                type: 'order.intent',
                id: `e-${n}`,
                time: now,
                payload: i,
                marketPrice: s.ref,
                prices: {},
                account: undefined,
              });
              admit(outs); // nothing yet when it waits
            } else if (s.kind === 'fill' && open.length > 0) {
              const [o] = open.splice(s.pick % open.length, 1);
              fill(o!, o!.intent.qty - o!.filled);
            } else if (s.kind === 'cancel' && open.length > 0) {
              const [o] = open.splice(s.pick % open.length, 1);
              const i = o!.intent;
              const part = Math.floor(i.qty * s.filledFraction);
              if (part > 0 && part < i.qty) fill(o!, part);
              if (o!.filled < i.qty)
                admit(
                  send({
                    type: 'order.cancelled',
                    id: `x-${i.clientOrderId}`,
                    time: now,
                    payload: {
                      clientOrderId: i.clientOrderId,
                      symbol: i.symbol,
                      side: i.side,
                      filledQty: o!.filled,
                      reason: 'test',
                      status: 'cancelled',
                      origin: i.origin,
                    },
                  }),
                );
            }
            expect(cash).toBeGreaterThanOrEqual(-1e-6);
          }
        },
      ),
      { numRuns: 1000 },
    );
    console.info(`buying power property: ${approvals} approvals and ${refusals} refusals checked`);
    expect(approvals).toBeGreaterThan(400); // about 570 (520..620 seen); some intents wait for a fill that never comes
    expect(refusals).toBeGreaterThan(500);
  });
});
