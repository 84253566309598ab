import { assign, setup } from 'xstate';
import type { OrderIntent, Signal } from '../../src/domain/messages.js';
import type { MessageEvent } from '../../src/runtime/agent-spec.js';
import { emitOutbox, NO_OUTPUT, out, type Emitted, type Outbound, type WithOutbox } from '../../src/runtime/outbound.js';
import { initialSymbolState, reconcileStep, strategyStep, type StrategyParams, type SymbolState } from './strategies.js';

/** An order this strategy sent and has not yet seen finish. */
export interface OpenOrder {
  readonly symbol: string;
  /** +qty for buys, -qty for sells. */
  readonly signed: number;
}

export interface StrategyContext extends WithOutbox {
  readonly params: StrategyParams;
  readonly symbols: Readonly<Record<string, SymbolState>>;
  readonly open: Readonly<Record<string, OpenOrder>>;
  /** The latest signal per symbol, with its event time (answers `signals` queries). */
  readonly lastSignals: Readonly<Record<string, Signal & { time: number }>>;
}

export type StrategyEvent =
  | MessageEvent<'market.bar'>
  | MessageEvent<'order.rejected'>
  | MessageEvent<'order.filled'>
  | MessageEvent<'order.cancelled'>
  | MessageEvent<'order.failed'>
  | { type: 'strategy.pause' }
  | { type: 'strategy.resume' };

/** One bar: update indicators; on a decision emit `signal.generated` then `order.intent`. */
export function onBar(ctx: StrategyContext, ev: MessageEvent<'market.bar'>, trading: boolean): Partial<StrategyContext> {
  const bar = ev.payload;
  const before = ctx.symbols[bar.symbol] ?? initialSymbolState(ctx.params);
  const stepped = strategyStep(ctx.params, before, bar);
  const { state, decision } = stepped.decision || (before.target ?? before.position) === before.position ? stepped : reconcileStep(stepped.state, bar, inFlight(ctx, bar.symbol));
  if (!decision || !trading) {
    const kept = decision ? { ...state, position: before.position } : state;
    return { symbols: { ...ctx.symbols, [bar.symbol]: kept }, outbox: NO_OUTPUT };
  }
  const { params } = ctx;
  const signal: Signal = {
    symbol: bar.symbol,
    strategy: params.id,
    side: decision.side,
    targetQty: decision.targetQty,
    reasons: decision.reasons,
    indicators: decision.indicators,
    price: bar.close,
  };
  const intent: OrderIntent = {
    clientOrderId: `${params.id}-${ev.id}`,
    symbol: bar.symbol,
    side: decision.side,
    qty: decision.qty,
    type: 'market',
    tif: 'GTC',
    origin: { kind: 'strategy', id: params.id },
    refPrice: bar.close,
    decidedAt: bar.time,
  };
  const outbox: Outbound[] = [out('signal.generated', signal), out('order.intent', intent, { chain: 'previous' })];
  return {
    symbols: { ...ctx.symbols, [bar.symbol]: state },
    open: { ...ctx.open, [intent.clientOrderId]: { symbol: bar.symbol, signed: decision.side === 'buy' ? decision.qty : -decision.qty } },
    lastSignals: { ...ctx.lastSignals, [bar.symbol]: { ...signal, time: bar.time } },
    outbox,
  };
}

const inFlight = (ctx: StrategyContext, symbol: string) => {
  for (const id in ctx.open) if (ctx.open[id]!.symbol === symbol) return true;
  return false;
};

/**
 * An order of ours ended with `filledQty` filled: undo the part that will never fill. Quantities
 * are subtracted, never scaled, so the position stays exact. A risk rejection is accepted (the
 * target follows the position, so a refused order is not sent again); a broker failure or a
 * cancel keeps the decided target, so an unintended leftover gets closed.
 */
export function onOrderEnded(ctx: StrategyContext, clientOrderId: string, filledQty: number | 'all', verdict: 'rejected' | 'ended' = 'ended'): Partial<StrategyContext> {
  const order = ctx.open[clientOrderId];
  if (!order) return { outbox: NO_OUTPUT };
  const { [clientOrderId]: _gone, ...open } = ctx.open;
  const sym = ctx.symbols[order.symbol];
  const qty = Math.abs(order.signed);
  const unfilled = filledQty === 'all' ? 0 : qty - filledQty;
  if (!sym || unfilled === 0) return { open, outbox: NO_OUTPUT };
  const position = sym.position - Math.sign(order.signed) * unfilled;
  const symbols = { ...ctx.symbols, [order.symbol]: { ...sym, position, target: verdict === 'rejected' ? position : (sym.target ?? sym.position) } };
  return { open, symbols, outbox: NO_OUTPUT };
}

/**
 * The strategy agent's machine: `active` turns bars into signals and order intents; `paused`
 * keeps indicators current but decides nothing. Pure: time and ids come from events.
 */
export const strategyMachine = setup({
  types: {
    context: {} as StrategyContext,
    events: {} as StrategyEvent,
    input: {} as { params: StrategyParams },
    emitted: {} as Emitted,
  },
  actions: {
    trade: assign(({ context, event }) => onBar(context, event as MessageEvent<'market.bar'>, true)),
    watch: assign(({ context, event }) => onBar(context, event as MessageEvent<'market.bar'>, false)),
    ended: assign(({ context, event }) => {
      switch (event.type) {
        case 'order.rejected':
          return onOrderEnded(context, event.payload.clientOrderId, 0, 'rejected');
        case 'order.failed':
          return onOrderEnded(context, event.payload.clientOrderId, 0);
        case 'order.cancelled':
          return onOrderEnded(context, event.payload.clientOrderId, event.payload.filledQty);
        case 'order.filled':
          return event.payload.status === 'filled' ? onOrderEnded(context, event.payload.clientOrderId, 'all') : { outbox: NO_OUTPUT };
        default:
          return { outbox: NO_OUTPUT };
      }
    }),
    emitOutbox: emitOutbox<StrategyContext, StrategyEvent>(),
  },
}).createMachine({
  id: 'strategy',
  context: ({ input }) => ({ params: input.params, symbols: {}, open: {}, lastSignals: {}, outbox: NO_OUTPUT }),
  initial: 'active',
  on: {
    'order.rejected': { actions: 'ended' },
    'order.failed': { actions: 'ended' },
    'order.cancelled': { actions: 'ended' },
    'order.filled': { actions: 'ended' },
  },
  states: {
    active: {
      on: {
        'market.bar': { actions: ['trade', 'emitOutbox'] },
        'strategy.pause': 'paused',
      },
    },
    paused: {
      on: {
        'market.bar': { actions: 'watch' },
        'strategy.resume': 'active',
      },
    },
  },
});
