import { assign, setup } from 'xstate';
import {
  type OrderFilled,
  type OrderIntent,
  type SentimentUpdated,
  type Signal,
  decayedScore,
  type MessageEvent,
  emitOutbox,
  NO_OUTPUT,
  out,
  type OutboxEmitted,
  type Outbound,
  type WithOutbox,
} from '../../src/core/index.js';
import {
  initialSymbolState,
  reconcileStep,
  strategyStep,
  unitsFor,
  type Decision,
  type StrategyParams,
  type SymbolState,
} from './strategies.js';

/** An order this strategy sent and has not yet seen finish. */
export interface OpenOrder {
  readonly symbol: string;
  /** +qty for buys, -qty for sells. */
  readonly signed: number;
  /** Filled so far (partial fills); absent: nothing yet. */
  readonly filled?: number;
}

export interface StrategyContext extends WithOutbox {
  readonly params: StrategyParams;
  readonly symbols: Readonly<Record<string, SymbolState>>;
  readonly open: Readonly<Record<string, OpenOrder>>;
  /** The latest signal per symbol, with its event time (answers `signals` queries). */
  readonly lastSignals: Readonly<Record<string, Signal & { time: number }>>;
  /**
   * The latest sentiment per symbol (`sentiment.updated.<sym>`), kept when the strategy filters
   * buys on it (`params.sentimentMin`). Optional: snapshots from before the filter lack it.
   */
  readonly sentiment?: Readonly<Record<string, StrategySentiment>>;
  /**
   * The strategy's own account, for entries sized as a fraction of equity: its capital, less
   * what its fills bought, plus what they sold (`cash`), and the units they left (`held`).
   * Optional: snapshots from before sizing lack it.
   */
  readonly cash?: number;
  readonly held?: Readonly<Record<string, number>>;
}

/** What the strategy keeps of a symbol's sentiment: enough to decay it to a bar's time and name its latest item. */
export interface StrategySentiment {
  readonly score: number;
  readonly asOf: number;
  readonly halfLifeMs: number;
  readonly items: number;
  readonly latestItemId: string | undefined;
}

export type StrategyEvent =
  | MessageEvent<'market.bar'>
  | MessageEvent<'order.rejected'>
  | MessageEvent<'order.filled'>
  | MessageEvent<'order.cancelled'>
  | MessageEvent<'order.failed'>
  | MessageEvent<'sentiment.updated'>
  | { type: 'strategy.pause' }
  | { type: 'strategy.resume' }
  | { type: 'partition.adopt'; key: string; slice: StrategySlice }
  | { type: 'partition.drop'; key: string };

/** What belongs to one symbol (scale-out hands it from instance to instance). */
export interface StrategySlice {
  readonly state?: SymbolState;
  readonly open: Readonly<Record<string, OpenOrder>>;
  readonly lastSignal?: Signal & { time: number };
  readonly sentiment?: StrategySentiment;
}

/** The symbol's slice of the context. */
export function sliceOf(ctx: StrategyContext, symbol: string): StrategySlice {
  const open: Record<string, OpenOrder> = {};
  for (const [id, o] of Object.entries(ctx.open)) if (o.symbol === symbol) open[id] = o;
  const sentiment = ctx.sentiment?.[symbol];
  return {
    ...(ctx.symbols[symbol] ? { state: ctx.symbols[symbol] } : {}),
    open,
    ...(ctx.lastSignals[symbol] ? { lastSignal: ctx.lastSignals[symbol] } : {}),
    ...(sentiment ? { sentiment } : {}),
  };
}

/** The context without the symbol (handed away) or with the slice taken in. */
export function withSlice(
  ctx: StrategyContext,
  symbol: string,
  slice: StrategySlice | undefined,
): Partial<StrategyContext> {
  const { [symbol]: _s, ...symbols } = ctx.symbols;
  const { [symbol]: _l, ...lastSignals } = ctx.lastSignals;
  const { [symbol]: _m, ...sentiment } = ctx.sentiment ?? {};
  const open: Record<string, OpenOrder> = {};
  for (const [id, o] of Object.entries(ctx.open)) if (o.symbol !== symbol) open[id] = o;
  if (!slice) return { symbols, lastSignals, open, sentiment, outbox: NO_OUTPUT };
  return {
    symbols: slice.state ? { ...symbols, [symbol]: slice.state } : symbols,
    sentiment: slice.sentiment ? { ...sentiment, [symbol]: slice.sentiment } : sentiment,
    lastSignals: slice.lastSignal ? { ...lastSignals, [symbol]: slice.lastSignal } : lastSignals,
    open: { ...open, ...slice.open },
    outbox: NO_OUTPUT,
  };
}

/** One bar: update indicators; on a decision emit `signal.generated` then `order.intent`. */
export function onBar(
  ctx: StrategyContext,
  ev: MessageEvent<'market.bar'>,
  trading: boolean,
): Partial<StrategyContext> {
  const bar = ev.payload;
  const before = ctx.symbols[bar.symbol] ?? initialSymbolState(ctx.params);
  const stepped = strategyStep(ctx.params, before, bar, entrySize(ctx, bar));
  const reconciled =
    stepped.decision || (before.target ?? before.position) === before.position
      ? stepped
      : reconcileStep(stepped.state, bar, inFlight(ctx, bar.symbol));
  const { state } = reconciled;
  let { decision } = reconciled;
  // only the strategy's own buys are filtered: a sell, or a reconciling order, always goes
  if (decision && decision === stepped.decision && ctx.params.sentimentMin !== undefined) {
    const filtered = sentimentFilter(ctx, decision, bar.symbol, bar.time);
    // a buy held back leaves the position (and the target) where they were
    if (filtered.blocked)
      return {
        symbols: { ...ctx.symbols, [bar.symbol]: { ...state, position: before.position, target: before.target } },
        outbox: NO_OUTPUT,
      };
    decision = filtered.decision;
  }
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
    open: {
      ...ctx.open,
      [intent.clientOrderId]: { symbol: bar.symbol, signed: decision.side === 'buy' ? decision.qty : -decision.qty },
    },
    lastSignals: { ...ctx.lastSignals, [bar.symbol]: { ...signal, time: bar.time } },
    outbox,
  };
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

/**
 * With `sentimentMin` set, a buy goes only while the symbol's sentiment at the bar's time is
 * above it (no news counts as 0, which is also where an old score decays to); the buy's reasons
 * and indicators then carry the sentiment used. Sells pass untouched. Pure.
 */
export function sentimentFilter(
  ctx: StrategyContext,
  decision: Decision,
  symbol: string,
  time: number,
): { decision: Decision; blocked?: string } {
  const min = ctx.params.sentimentMin;
  if (min === undefined || decision.side !== 'buy') return { decision };
  const s = ctx.sentiment?.[symbol];
  const value = s ? round6(decayedScore(s, time)) : 0;
  const about = s
    ? `sentiment ${symbol} ${value} (${s.items} item${s.items === 1 ? '' : 's'}, latest ${s.latestItemId ?? 'none'})`
    : `sentiment ${symbol} 0 (no news)`;
  if (!(value > min)) return { decision, blocked: `${about} not above min ${min}` };
  return {
    decision: {
      ...decision,
      reasons: [...decision.reasons, `${about} above min ${min}`],
      indicators: { ...decision.indicators, sentiment: value },
    },
  };
}

/** The latest sentiment of a symbol, as the filter needs it. */
export function onSentiment(ctx: StrategyContext, s: SentimentUpdated): Partial<StrategyContext> {
  const kept: StrategySentiment = {
    score: s.score,
    asOf: s.asOf,
    halfLifeMs: s.halfLifeMs,
    items: s.items,
    latestItemId: s.recent[0]?.itemId,
  };
  return { sentiment: { ...ctx.sentiment, [s.symbol]: kept }, outbox: NO_OUTPUT };
}

const inFlight = (ctx: StrategyContext, symbol: string) => {
  for (const id in ctx.open) if (ctx.open[id]!.symbol === symbol) return true;
  return false;
};

/** The last close the strategy saw of a symbol (the newest value of its window). */
const lastClose = (s: SymbolState | undefined): number | undefined =>
  s && s.closes.end > 0 ? s.closes.buf[s.closes.end - 1] : undefined;

/**
 * Units an entry buys on this bar: `size`, or with `sizeFraction` that fraction of the strategy's
 * equity (its cash and what it holds, at the latest closes it saw) at the bar's close.
 */
export function entrySize(ctx: StrategyContext, bar: { symbol: string; close: number }): number {
  const f = ctx.params.sizeFraction;
  if (f === undefined) return ctx.params.size;
  let equity = ctx.cash ?? 0;
  for (const sym in ctx.held) {
    const price = sym === bar.symbol ? bar.close : (lastClose(ctx.symbols[sym]) ?? 0);
    equity += ctx.held[sym]! * price;
  }
  return unitsFor(f * equity, bar.close);
}

/**
 * A fill of ours moves the strategy's cash and holdings by what it adds to the order's filled
 * quantity (a fill delivered again adds nothing); the last one ends the order.
 */
export function onOwnFill(ctx: StrategyContext, f: OrderFilled): Partial<StrategyContext> {
  const order = ctx.open[f.clientOrderId];
  if (!order) return { outbox: NO_OUTPUT };
  const added = f.cumQty - (order.filled ?? 0);
  const booked: Partial<StrategyContext> =
    added > 0
      ? {
          cash: (ctx.cash ?? 0) - (f.side === 'buy' ? added : -added) * f.price - f.fee,
          held: { ...ctx.held, [f.symbol]: (ctx.held?.[f.symbol] ?? 0) + (f.side === 'buy' ? added : -added) },
        }
      : {};
  if (f.status === 'filled') return { ...booked, ...onOrderEnded(ctx, f.clientOrderId, 'all') };
  return {
    ...booked,
    open: { ...ctx.open, [f.clientOrderId]: { ...order, filled: Math.max(order.filled ?? 0, f.cumQty) } },
    outbox: NO_OUTPUT,
  };
}

/**
 * An order of ours ended with `filledQty` filled: undo the part that will never fill. Quantities
 * are subtracted, never scaled, so the position stays exact. A risk rejection is accepted (the
 * target follows the position, so a refused order is not sent again); a broker failure or a
 * cancel keeps the decided target, so an unintended leftover gets closed.
 */
export function onOrderEnded(
  ctx: StrategyContext,
  clientOrderId: string,
  filledQty: number | 'all',
  verdict: 'rejected' | 'ended' = 'ended',
): Partial<StrategyContext> {
  const order = ctx.open[clientOrderId];
  if (!order) return { outbox: NO_OUTPUT };
  const { [clientOrderId]: _gone, ...open } = ctx.open;
  const sym = ctx.symbols[order.symbol];
  const qty = Math.abs(order.signed);
  const unfilled = filledQty === 'all' ? 0 : qty - filledQty;
  if (!sym || unfilled === 0) return { open, outbox: NO_OUTPUT };
  const position = sym.position - Math.sign(order.signed) * unfilled;
  const symbols = {
    ...ctx.symbols,
    [order.symbol]: { ...sym, position, target: verdict === 'rejected' ? position : (sym.target ?? sym.position) },
  };
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
    input: {} as { params: StrategyParams; capital?: number },
    emitted: {} as OutboxEmitted,
  },
  actions: {
    trade: assign(({ context, event }) => onBar(context, event as MessageEvent<'market.bar'>, true)),
    watch: assign(({ context, event }) => onBar(context, event as MessageEvent<'market.bar'>, false)),
    sentiment: assign(({ context, event }) =>
      onSentiment(context, (event as MessageEvent<'sentiment.updated'>).payload),
    ),
    ended: assign(({ context, event }) => {
      switch (event.type) {
        case 'order.rejected':
          return onOrderEnded(context, event.payload.clientOrderId, 0, 'rejected');
        case 'order.failed':
          return onOrderEnded(context, event.payload.clientOrderId, 0);
        case 'order.cancelled':
          return onOrderEnded(context, event.payload.clientOrderId, event.payload.filledQty);
        case 'order.filled':
          return onOwnFill(context, event.payload);
        default:
          return { outbox: NO_OUTPUT };
      }
    }),
    emitOutbox: emitOutbox<StrategyContext, StrategyEvent>(),
  },
}).createMachine({
  id: 'strategy',
  context: ({ input }) => ({
    params: input.params,
    symbols: {},
    open: {},
    lastSignals: {},
    sentiment: {},
    cash: input.capital ?? 0,
    held: {},
    outbox: NO_OUTPUT,
  }),
  initial: 'active',
  on: {
    'partition.adopt': { actions: assign(({ context, event }) => withSlice(context, event.key, event.slice)) },
    'partition.drop': { actions: assign(({ context, event }) => withSlice(context, event.key, undefined)) },
    'order.rejected': { actions: 'ended' },
    'order.failed': { actions: 'ended' },
    'order.cancelled': { actions: 'ended' },
    'order.filled': { actions: 'ended' },
    'sentiment.updated': { actions: 'sentiment' },
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
