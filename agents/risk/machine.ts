import { assign, setup } from 'xstate';
import type { OrderIntent } from '../../src/domain/messages.js';
import type { MessageEvent } from '../../src/runtime/agent-spec.js';
import { emitOutbox, NO_OUTPUT, out, type Outbound, type WithOutbox } from '../../src/runtime/outbound.js';
import { addRecentId, emptyRecentIds, hasRecentId, type RecentIds } from '../../src/runtime/recent-ids.js';
import { runChecks, signedQty, valuationPrice, type RiskLimits } from './checks.js';

export const TradingState = { active: 'ACTIVE', reducing: 'REDUCING', halted: 'HALTED' } as const;
export type TradingState = (typeof TradingState)[keyof typeof TradingState];

interface WorkingOrder {
  readonly symbol: string;
  readonly signed: number;
}

export interface RiskContext extends WithOutbox {
  readonly limits: RiskLimits;
  /** Projected position per symbol: filled plus approved orders still working. */
  readonly positions: Readonly<Record<string, number>>;
  readonly working: Readonly<Record<string, WorkingOrder>>;
  /** Client order ids already decided, to recognise a re-delivered intent. */
  readonly decided: RecentIds;
  readonly counts: { readonly approved: number; readonly rejected: number; readonly duplicates: number };
}

/** `order.intent` as the risk machine sees it: with the market price as of decision time. */
export type IntentEvent = MessageEvent<'order.intent'> & { readonly marketPrice: number | undefined };

export type RiskEvent = IntentEvent | MessageEvent<'order.filled'> | MessageEvent<'order.cancelled'> | MessageEvent<'order.failed'>;

/** Decides one intent: approve (and project its position) or reject with a reason. */
export function decide(ctx: RiskContext, ev: IntentEvent): Partial<RiskContext> {
  const intent: OrderIntent = ev.payload;
  if (hasRecentId(ctx.decided, intent.clientOrderId)) {
    return { counts: { ...ctx.counts, duplicates: ctx.counts.duplicates + 1 }, outbox: NO_OUTPUT };
  }
  const position = ctx.positions[intent.symbol] ?? 0;
  const price = valuationPrice(intent, ev.marketPrice);
  const result =
    price === undefined
      ? { denial: { code: 'no_price', reason: `no price is known for ${intent.symbol} and the order carries none` } }
      : runChecks({ intent, price, position, limits: ctx.limits });
  if ('denial' in result) {
    const { code, reason } = result.denial;
    return {
      decided: addRecentId(ctx.decided, intent.clientOrderId),
      counts: { ...ctx.counts, rejected: ctx.counts.rejected + 1 },
      outbox: [out('order.rejected', { clientOrderId: intent.clientOrderId, symbol: intent.symbol, side: intent.side, qty: intent.qty, origin: intent.origin, code, reason })],
    };
  }
  const signed = signedQty(intent);
  return {
    decided: addRecentId(ctx.decided, intent.clientOrderId),
    positions: { ...ctx.positions, [intent.symbol]: position + signed },
    working: { ...ctx.working, [intent.clientOrderId]: { symbol: intent.symbol, signed } },
    counts: { ...ctx.counts, approved: ctx.counts.approved + 1 },
    outbox: [out('order.approved', { order: intent, checks: result.passed })],
  };
}

/** A working order ended; the part that will never fill leaves the projected position. */
export function orderEnded(ctx: RiskContext, clientOrderId: string, filledQty: number | 'all'): Partial<RiskContext> {
  const order = ctx.working[clientOrderId];
  if (!order) return { outbox: NO_OUTPUT };
  const { [clientOrderId]: _done, ...working } = ctx.working;
  if (filledQty === 'all') return { working, outbox: NO_OUTPUT };
  const unfilled = Math.sign(order.signed) * (Math.abs(order.signed) - filledQty);
  return { working, positions: { ...ctx.positions, [order.symbol]: (ctx.positions[order.symbol] ?? 0) - unfilled }, outbox: NO_OUTPUT };
}

/**
 * The risk agent's machine: every `order.intent` is approved or rejected, with reasons.
 * Positions are projected from its own approvals (so verdicts do not depend on when fills
 * arrive) and corrected when orders end short of their quantity.
 */
export const riskMachine = setup({
  types: {
    context: {} as RiskContext,
    events: {} as RiskEvent,
    input: {} as { limits: RiskLimits },
    emitted: {} as Outbound,
  },
  actions: {
    decide: assign(({ context, event }) => decide(context, event as IntentEvent)),
    ended: assign(({ context, event }) => {
      switch (event.type) {
        case 'order.filled':
          return event.payload.status === 'filled' ? orderEnded(context, event.payload.clientOrderId, 'all') : { outbox: NO_OUTPUT };
        case 'order.cancelled':
          return orderEnded(context, event.payload.clientOrderId, event.payload.filledQty);
        case 'order.failed':
          return orderEnded(context, event.payload.clientOrderId, 0);
        default:
          return { outbox: NO_OUTPUT };
      }
    }),
    emitOutbox: emitOutbox<RiskContext, RiskEvent>(),
  },
}).createMachine({
  id: 'risk',
  context: ({ input }) => ({
    limits: input.limits,
    positions: {},
    working: {},
    decided: emptyRecentIds(),
    counts: { approved: 0, rejected: 0, duplicates: 0 },
    outbox: NO_OUTPUT,
  }),
  initial: 'ACTIVE',
  states: {
    ACTIVE: {
      on: {
        'order.intent': { actions: ['decide', 'emitOutbox'] },
        'order.filled': { actions: 'ended' },
        'order.cancelled': { actions: 'ended' },
        'order.failed': { actions: 'ended' },
      },
    },
  },
});
