import {
  type Bar,
  type OrderFilled,
  type OrderIntent,
  type SentimentUpdated,
  type Signal,
  addRecentId,
  decayedScore,
  deadLetterEffect,
  emptyRecentIds,
  hasRecentId,
  type RecentIds,
  type Emitted,
  type MessageEvent,
  NO_OUTPUT,
  orderCancelSchema,
  orderIntentSchema,
  out,
  subjects,
  type WithOutbox,
} from '../../src/core/index.js';
import type { AgentSlice } from './machine.js';
import { CallContext, cancelIdFor, orderIdFor, type CancelRequest, type Request } from './sdk/context.js';
import type { AnyStrategy } from './sdk/index.js';
import { guarded, guardedCall } from './sdk/guard.js';
import {
  reconcileDecision,
  strategyDefinition,
  unitsFor,
  type Decision,
  type StrategyInstance,
  type SymbolState,
} from './strategies.js';

/** An order this strategy sent and has not yet seen finish. */
export interface OpenOrder {
  readonly symbol: string;
  /** +qty for buys, -qty for sells. */
  readonly signed: number;
  /** Filled so far (partial fills); absent: nothing yet. */
  readonly filled?: number;
  /** An entry with a bracket: which legs execution places once it has filled. */
  readonly bracket?: { readonly sl: boolean; readonly tp: boolean };
  /** A bracket leg: not counted in the position until it fills. */
  readonly leg?: 'stop-loss' | 'take-profit';
  /** A limit or stop order: it rests until the market reaches it, so it counts in the position only as it fills. */
  readonly resting?: boolean;
}

/** Orders that count in the position only as they fill: bracket legs and resting (limit, stop) orders. */
const contingent = (o: OpenOrder) => o.leg !== undefined || o.resting === true;

export interface StrategyContext extends WithOutbox {
  /** The instance run (params validated and defaulted). */
  readonly instance: StrategyInstance;
  readonly symbols: Readonly<Record<string, SymbolState>>;
  readonly open: Readonly<Record<string, OpenOrder>>;
  /** The latest signal per symbol, with its event time (answers `signals` queries). */
  readonly lastSignals: Readonly<Record<string, Signal & { time: number }>>;
  /** The latest sentiment per symbol (`sentiment.updated.<sym>`), kept when the instance uses sentiment. */
  readonly sentiment?: Readonly<Record<string, StrategySentiment>>;
  /**
   * The instance's own account: its capital, less what its fills bought, plus what they sold
   * (`cash`), and the units they left (`held`).
   */
  readonly cash?: number;
  readonly held?: Readonly<Record<string, number>>;
  /** Bracket legs that have ended (a leg's news can overtake its entry's fill over NATS). */
  readonly legsDone?: RecentIds;
}

/** The entry a bracket leg's id belongs to (`<entry>.sl`, `<entry>.tp`), or undefined. */
export const entryOfLeg = (id: string) => (/\.(sl|tp)$/.test(id) ? id.slice(0, -3) : undefined);

/**
 * The open order `id` names: the order itself, or a leg of an open bracket entry whose fill has
 * not reached us yet (execution placed the leg when the entry filled; its news came first).
 */
function openOrder(ctx: StrategyContext, id: string): OpenOrder | undefined {
  const known = ctx.open[id];
  if (known) return known;
  const entry = entryOfLeg(id);
  const parent = entry === undefined ? undefined : ctx.open[entry];
  if (!parent?.bracket || (ctx.legsDone && hasRecentId(ctx.legsDone, id))) return undefined;
  const sl = id.endsWith('.sl');
  if (!(sl ? parent.bracket.sl : parent.bracket.tp)) return undefined;
  return { symbol: parent.symbol, signed: -parent.signed, leg: sl ? 'stop-loss' : 'take-profit' };
}

/** True when an order event is about one of this instance's open orders (or a leg of one). */
export const isOwnOrder = (ctx: StrategyContext, clientOrderId: string) => openOrder(ctx, clientOrderId) !== undefined;

/** What the strategy keeps of a symbol's sentiment: enough to decay it to a bar's time and name its latest item. */
export interface StrategySentiment {
  readonly score: number;
  readonly asOf: number;
  readonly halfLifeMs: number;
  readonly items: number;
  readonly latestItemId: string | undefined;
}

/** The events one instance handles (the machine's events, less its own states' commands). */
export type StrategyEvent =
  | MessageEvent<'market.bar'>
  | MessageEvent<'order.rejected'>
  | MessageEvent<'order.filled'>
  | MessageEvent<'order.cancelled'>
  | MessageEvent<'order.failed'>
  | MessageEvent<'sentiment.updated'>
  | { type: 'strategy.pause' }
  | { type: 'strategy.resume' }
  | { type: 'partition.adopt'; key: string; slice: AgentSlice }
  | { type: 'partition.drop'; key: string };

/** What belongs to one symbol (scale-out hands it from instance to instance). */
export interface StrategySlice {
  readonly state?: SymbolState;
  readonly open: Readonly<Record<string, OpenOrder>>;
  readonly lastSignal?: Signal & { time: number };
  readonly sentiment?: StrategySentiment;
}

/** The symbol's slice of one instance's context. */
export function instanceSliceOf(ctx: StrategyContext, symbol: string): StrategySlice {
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
export function instanceWithSlice(
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

/** True when the instance reads sentiment (a filter, or its own `onSentiment`). */
export const usesSentiment = (inst: StrategyInstance) =>
  inst.sentimentMin !== undefined || strategyDefinition(inst.strategy).onSentiment !== undefined;

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

/** A strategy callback threw or asked for something invalid: dead-lettered, with the reason; the agent goes on. */
const deadLetter = (subject: string, code: string, reason: string, payload: unknown): Emitted =>
  deadLetterEffect({ subject, code, reason, payload });

const describeError = (err: unknown) => {
  if (!(err instanceof Error)) return String(err);
  // the first frame names the file and line (strategy files load with source maps)
  const at = err.stack
    ?.split('\n')
    .find((l) => l.trim().startsWith('at ') && !/agents[\\/]strategy[\\/](sdk|machine)/.test(l))
    ?.trim();
  return at ? `${err.message} (${at})` : err.message;
};

/** The instance's equity at the latest prices it saw (`price` for `symbol`). */
function equityOf(ctx: StrategyContext, symbol: string, price: number): number {
  let equity = ctx.cash ?? 0;
  for (const sym in ctx.held) {
    const p = sym === symbol ? price : (ctx.symbols[sym]?.last ?? 0);
    equity += ctx.held[sym]! * p;
  }
  return equity;
}

/**
 * Units an entry buys on this bar with `sizeFraction`: that fraction of the instance's equity
 * (its cash and what it holds, at the latest closes it saw) at the bar's close.
 */
export function entrySize(ctx: StrategyContext, bar: { symbol: string; close: number }): number {
  const f = ctx.instance.sizeFraction;
  return f === undefined ? 0 : unitsFor(f * equityOf(ctx, bar.symbol, bar.close), bar.close);
}

function sentimentAt(ctx: StrategyContext, symbol: string, time: number): number | undefined {
  if (!usesSentiment(ctx.instance)) return undefined;
  const s = ctx.sentiment?.[symbol];
  return s ? round6(decayedScore(s, time)) : 0;
}

/** The context a callback gets for `symbol` at `time`/`price`. */
function callContext(
  ctx: StrategyContext,
  state: SymbolState,
  symbol: string,
  time: number,
  price: number,
  evId: string,
) {
  const inst = ctx.instance;
  return new CallContext<Record<string, unknown>>({
    instanceId: inst.id,
    eventId: evId,
    params: inst.params,
    instance: inst.id,
    symbol,
    time,
    price,
    position: state.position,
    cash: ctx.cash ?? 0,
    equity: equityOf(ctx, symbol, price),
    sentiment: sentimentAt(ctx, symbol, time),
    lotSize: inst.lotSizes?.[symbol],
  });
}

/** The dead letter of a callback that threw (a determinism breach has its own code). */
function thrown(def: AnyStrategy, what: string, subject: string, payload: unknown, err: unknown): Emitted {
  const code =
    (err as { code?: string }).code === 'strategy_not_deterministic' ? 'strategy_not_deterministic' : 'strategy_error';
  return deadLetter(subject, code, `strategy ${def.name} threw in ${what}: ${describeError(err)}`, payload);
}

/** Runs one strategy callback under the determinism guard; a throw becomes a dead letter. */
function run<S>(
  def: AnyStrategy,
  what: string,
  subject: () => string,
  payload: unknown,
  fn: () => S,
): { ok: true; value: S } | { ok: false; letter: Emitted } {
  try {
    return { ok: true, value: guarded(fn) };
  } catch (err) {
    return { ok: false, letter: thrown(def, what, subject(), payload, err) };
  }
}

/** Options that say nothing about the order itself (an option added to the SDK later is not plain). */
function plainOptions(o: object): boolean {
  for (const k in o) if (k !== 'reasons' && k !== 'indicators' && k !== 'type') return false;
  return true;
}

/** A request as an order intent, or why it is not one. */
export function toIntent(
  req: Request,
  inst: StrategyInstance,
  clientOrderId: string,
  symbol: string,
  price: number,
  time: number,
  cancels: readonly string[],
): { intent: OrderIntent } | { invalid: string } {
  const o = req.options;
  const type = o.type ?? 'market';
  if (type === 'market' && cancels.length === 0 && plainOptions(o) && Number.isFinite(req.qty) && req.qty > 0)
    // A plain market order, most of them: the quantity (checked here) is the only part the
    // strategy chose; symbol, price and time come from a bar the bus has validated, and the id
    // and origin are made here. The schema check below is for the rest (tests/unit/
    // strategy.instances.test.ts holds that both agree).
    return {
      intent: {
        clientOrderId,
        symbol,
        side: req.side,
        qty: req.qty,
        type,
        tif: 'GTC',
        origin: { kind: 'strategy', id: inst.id },
        refPrice: price,
        decidedAt: time,
      },
    };
  const bracket = {
    ...(o.stopLoss !== undefined ? { stopLoss: o.stopLoss } : {}),
    ...(o.stopLossPrice !== undefined ? { stopLossPrice: o.stopLossPrice } : {}),
    ...(o.takeProfit !== undefined ? { takeProfit: o.takeProfit } : {}),
    ...(o.takeProfitPrice !== undefined ? { takeProfitPrice: o.takeProfitPrice } : {}),
    ...(o.trailing ? { trailing: true } : {}),
  };
  const candidate = {
    clientOrderId,
    symbol,
    side: req.side,
    qty: req.qty,
    type,
    ...(o.limit !== undefined ? { limitPrice: o.limit } : {}),
    ...(o.stop !== undefined ? { stopPrice: o.stop } : {}),
    ...(o.trail !== undefined ? { trail: o.trail } : {}),
    tif: o.tif ?? 'GTC',
    origin: { kind: 'strategy' as const, id: inst.id },
    refPrice: price,
    decidedAt: time,
    ...(Object.keys(bracket).length > (o.trailing ? 1 : 0) ? { bracket } : {}),
    ...(cancels.length > 0 ? { cancels: [...cancels] } : {}),
  };
  if (type === 'limit' && o.limit === undefined) return { invalid: 'a limit order needs options.limit' };
  if (type === 'stop' && o.stop === undefined) return { invalid: 'a stop order needs options.stop' };
  const parsed = orderIntentSchema.safeParse(candidate);
  if (!parsed.success)
    return {
      invalid: parsed.error.issues.map((i) => `${i.path.join('.') || 'order'}: ${i.message}`).join('; '),
    };
  return { intent: parsed.data };
}

type Draft = {
  symbols: Record<string, SymbolState>;
  open: Record<string, OpenOrder>;
  lastSignals: Record<string, Signal & { time: number }>;
  outbox: Emitted[];
};

/**
 * Turns a callback's requests into orders: each is checked (a bad one is dead-lettered with the
 * reason, the others go), filtered by sentiment (buys only), sized by `sizeFraction` (entries
 * only), and sent as `signal.generated` then `order.intent`. An order against the position
 * cancels the position's working bracket legs (execution does it before taking the order).
 */
function send(
  ctx: StrategyContext,
  d: Draft,
  before: SymbolState,
  requests: readonly Request[],
  at: { symbol: string; price: number; time: number; evId: string },
): SymbolState {
  const inst = ctx.instance;
  let state = before;
  requests.forEach((req, k) => {
    const clientOrderId = orderIdFor(`${inst.id}-${at.evId}`, k);
    let qty = req.qty;
    let reasons = [...(req.options.reasons ?? [])];
    let indicators = { ...(req.options.indicators ?? {}) };
    const position = state.position;
    if (req.closes) {
      // a target computed from the position: what earlier requests already moved is not ordered again
      qty = Math.min(qty, Math.abs(position));
      if (!(qty > 0)) return;
    }
    if (req.side === 'buy' && position >= 0 && inst.sentimentMin !== undefined) {
      const s = ctx.sentiment?.[at.symbol];
      const value = s ? round6(decayedScore(s, at.time)) : 0;
      const about = s
        ? `sentiment ${at.symbol} ${value} (${s.items} item${s.items === 1 ? '' : 's'}, latest ${s.latestItemId ?? 'none'})`
        : `sentiment ${at.symbol} 0 (no news)`;
      if (!(value > inst.sentimentMin)) return; // held back: the position (and target) stay where they were
      reasons = [...reasons, `${about} above min ${inst.sentimentMin}`];
      indicators = { ...indicators, sentiment: value };
    }
    if (inst.sizeFraction !== undefined && req.side === 'buy' && position === 0 && !req.closes) {
      qty = entrySize(ctx, { symbol: at.symbol, close: at.price });
      if (!(qty > 0)) return;
    }
    const against = position !== 0 && Math.sign(position) !== (req.side === 'buy' ? 1 : -1);
    // the position's bracket legs go with it: those known, and those of entries whose fill has not reached us yet
    const legs: string[] = [];
    if (against)
      for (const id in d.open) {
        const o = d.open[id]!;
        if (o.symbol !== at.symbol) continue;
        if (o.leg !== undefined) legs.push(id);
        else if (o.bracket) legs.push(...(o.bracket.sl ? [`${id}.sl`] : []), ...(o.bracket.tp ? [`${id}.tp`] : []));
      }
    const cancels = [...legs, ...(req.options.cancels ?? []).filter((id) => d.open[id] && !legs.includes(id))];
    const made = toIntent({ ...req, qty }, inst, clientOrderId, at.symbol, at.price, at.time, cancels);
    if ('invalid' in made) {
      d.outbox.push(
        deadLetter(
          subjects.orderIntent(),
          'invalid_intent',
          `strategy ${inst.id} asked for an invalid order (${made.invalid}); it was not sent`,
          { request: { side: req.side, qty, options: req.options }, symbol: at.symbol, time: at.time },
        ),
      );
      return;
    }
    const { intent } = made;
    const signed = intent.side === 'buy' ? intent.qty : -intent.qty;
    const resting = intent.type !== 'market';
    const targetQty = position + signed;
    if (!resting) state = { ...state, position: targetQty, target: targetQty };
    const signal: Signal = {
      symbol: at.symbol,
      strategy: inst.id,
      side: intent.side,
      targetQty,
      reasons: reasons.length > 0 ? reasons : [`${inst.id} ${intent.side} ${intent.qty}`],
      indicators,
      price: at.price,
    };
    const b = intent.bracket;
    d.open[clientOrderId] = {
      symbol: at.symbol,
      signed,
      ...(resting ? { resting } : {}),
      ...(b
        ? {
            bracket: {
              sl: b.stopLoss !== undefined || b.stopLossPrice !== undefined,
              tp: b.takeProfit !== undefined || b.takeProfitPrice !== undefined,
            },
          }
        : {}),
    };
    d.lastSignals[at.symbol] = { ...signal, time: at.time };
    d.outbox.push(out('signal.generated', signal), out('order.intent', intent, { chain: 'previous' }));
  });
  return state;
}

/** What one callback asked for: its cancels first (before new orders), then its orders; the symbol's state after. */
function sendCall(
  ctx: StrategyContext,
  d: Draft,
  after: SymbolState,
  call: { readonly requests?: readonly Request[]; readonly cancels?: readonly CancelRequest[] },
  at: { symbol: string; price: number; time: number; evId: string },
): SymbolState {
  if (call.cancels) sendCancels(ctx, d, call.cancels, at);
  return call.requests ? send(ctx, d, after, call.requests, at) : after;
}

/**
 * A callback's cancels as `order.cancel` requests (before its new orders, so a limit moved to a
 * new price is pulled first). An invalid one (an empty or overlong id) is dead-lettered with the
 * reason; an id that is not a working order of ours still goes: execution answers why it cannot.
 */
function sendCancels(
  ctx: StrategyContext,
  d: Draft,
  cancels: readonly CancelRequest[],
  at: { symbol: string; time: number; evId: string },
): void {
  const inst = ctx.instance;
  cancels.forEach((c, k) => {
    const candidate = {
      cancelId: cancelIdFor(`${inst.id}-${at.evId}`, k),
      clientOrderId: c.clientOrderId,
      origin: { kind: 'strategy' as const, id: inst.id },
      reason: c.reason ?? `strategy ${inst.id} cancelled it`,
      requestedAt: at.time,
    };
    const parsed = orderCancelSchema.safeParse(candidate);
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => `${i.path.join('.') || 'cancel'}: ${i.message}`).join('; ');
      d.outbox.push(
        deadLetter(
          subjects.orderIntent(),
          'invalid_cancel',
          `strategy ${inst.id} asked for an invalid cancel (${why}); it was not sent`,
          { request: c, symbol: at.symbol, time: at.time },
        ),
      );
      return;
    }
    d.outbox.push(out('order.cancel', parsed.data));
  });
}

const draftOf = (ctx: StrategyContext): Draft => ({
  symbols: { ...ctx.symbols },
  open: { ...ctx.open },
  lastSignals: { ...ctx.lastSignals },
  outbox: [],
});

const inFlight = (open: Readonly<Record<string, OpenOrder>>, symbol: string) => {
  for (const id in open) if (open[id]!.symbol === symbol && !contingent(open[id]!)) return true;
  return false;
};

/** One bar: the strategy's `onBar`; what it asks for goes out as `signal.generated` then `order.intent`. */
export function onBar(
  ctx: StrategyContext,
  ev: MessageEvent<'market.bar'>,
  trading: boolean,
): Partial<StrategyContext> {
  const bar: Bar = ev.payload;
  const inst = ctx.instance;
  if (inst.symbols && !inst.symbols.includes(bar.symbol)) return { outbox: NO_OUTPUT };
  // a live feed's warm-up bar: the strategy reads it, no order is decided on it
  if (bar.history) trading = false;
  const def = strategyDefinition(inst.strategy);
  let before = ctx.symbols[bar.symbol];
  // read once: indicators must not count a bar twice
  if (before?.at !== undefined && bar.time <= before.at) return { outbox: NO_OUTPUT };
  if (before?.user === undefined) {
    // a new symbol, or one whose strategy state starts again (its parameters changed): its position stays
    const init = run(
      def,
      'init',
      () => subjects.marketBar(bar.symbol),
      bar,
      () => def.init(inst.params, bar.symbol),
    );
    if (!init.ok) return { outbox: [init.letter] };
    before = { position: 0, ...before, user: init.value };
  }
  const call = callContext(ctx, before, bar.symbol, bar.time, bar.close, ev.id);
  call.bar = bar;
  // the hot path (every bar): no closure made for it
  let user: unknown;
  try {
    user = guardedCall(def.onBar, def, call, before.user);
  } catch (err) {
    return { outbox: [thrown(def, 'onBar', subjects.marketBar(bar.symbol), bar, err)] };
  }
  const after: SymbolState = {
    user,
    position: before.position,
    target: before.target,
    last: bar.close,
    at: bar.time,
  };
  if (!call.requests && !call.cancels) {
    if ((before.target ?? before.position) === before.position)
      return { symbols: { ...ctx.symbols, [bar.symbol]: after }, outbox: NO_OUTPUT };
    const close = reconcileDecision(after, bar.close, inFlight(ctx.open, bar.symbol));
    if (!close || !trading) return { symbols: { ...ctx.symbols, [bar.symbol]: after }, outbox: NO_OUTPUT };
    return reconcile(ctx, close, after, bar, ev.id);
  }
  if (!trading) return { symbols: { ...ctx.symbols, [bar.symbol]: after }, outbox: NO_OUTPUT };
  const d = draftOf(ctx);
  d.symbols[bar.symbol] = sendCall(ctx, d, after, call, {
    symbol: bar.symbol,
    price: bar.close,
    time: bar.time,
    evId: ev.id,
  });
  return d.outbox.length === 0 ? { symbols: d.symbols, outbox: NO_OUTPUT } : d;
}

function reconcile(
  ctx: StrategyContext,
  decision: Decision,
  state: SymbolState,
  bar: Bar,
  evId: string,
): Partial<StrategyContext> {
  const d = draftOf(ctx);
  // a close of the position: neither the sentiment filter nor entry sizing applies to it
  const req: Request = {
    side: decision.side,
    qty: decision.qty,
    closes: true,
    options: { reasons: decision.reasons, indicators: decision.indicators },
  };
  d.symbols[bar.symbol] = send(ctx, d, state, [req], {
    symbol: bar.symbol,
    price: bar.close,
    time: bar.time,
    evId,
  });
  return d;
}

/** The latest sentiment of a symbol (and the strategy's `onSentiment`, when it has one). */
export function onSentiment(ctx: StrategyContext, ev: MessageEvent<'sentiment.updated'>): Partial<StrategyContext> {
  const s: SentimentUpdated = ev.payload;
  const kept: StrategySentiment = {
    score: s.score,
    asOf: s.asOf,
    halfLifeMs: s.halfLifeMs,
    items: s.items,
    latestItemId: s.recent[0]?.itemId,
  };
  const next: StrategyContext = { ...ctx, sentiment: { ...ctx.sentiment, [s.symbol]: kept } };
  const inst = ctx.instance;
  const def = strategyDefinition(inst.strategy);
  const state = ctx.symbols[s.symbol];
  if (!def.onSentiment || !state || (inst.symbols && !inst.symbols.includes(s.symbol)))
    return { sentiment: next.sentiment, outbox: NO_OUTPUT };
  const call = callContext(next, state, s.symbol, ev.time, state.last ?? 0, ev.id);
  call.score = s.score;
  const stepped = run(
    def,
    'onSentiment',
    () => subjects.sentimentUpdated(s.symbol),
    s,
    () => def.onSentiment!(call, state.user),
  );
  if (!stepped.ok) return { sentiment: next.sentiment, outbox: [stepped.letter] };
  const d = draftOf(next);
  const after = { ...state, user: stepped.value };
  if (call.cancels) sendCancels(next, d, call.cancels, { symbol: s.symbol, time: ev.time, evId: ev.id });
  d.symbols[s.symbol] = call.requests
    ? send(next, d, after, call.requests, {
        symbol: s.symbol,
        price: state.last ?? 0,
        time: ev.time,
        evId: ev.id,
      })
    : after;
  return { ...d, sentiment: next.sentiment };
}

/** The bracket legs a filled (or partly filled, then ended) entry gets from execution. */
function legsOf(
  open: Record<string, OpenOrder>,
  id: string,
  order: OpenOrder,
  filled: number,
  done: RecentIds | undefined,
): void {
  if (!order.bracket || !(filled > 0)) return;
  const signed = -Math.sign(order.signed) * filled;
  const over = (leg: string) => done !== undefined && hasRecentId(done, leg);
  if (order.bracket.sl && !over(`${id}.sl`)) open[`${id}.sl`] ??= { symbol: order.symbol, signed, leg: 'stop-loss' };
  if (order.bracket.tp && !over(`${id}.tp`)) open[`${id}.tp`] ??= { symbol: order.symbol, signed, leg: 'take-profit' };
}

/**
 * A fill of ours moves the instance's cash and holdings by what it adds to the order's filled
 * quantity (a fill delivered again adds nothing); a bracket leg's fill moves the position too;
 * the last fill ends the order. Then the strategy's `onFill`, when it has one.
 */
export function onOwnFill(ctx: StrategyContext, ev: MessageEvent<'order.filled'>): Partial<StrategyContext> {
  const f: OrderFilled = ev.payload;
  const order = openOrder(ctx, f.clientOrderId);
  if (!order) return { outbox: NO_OUTPUT };
  const added = f.cumQty - (order.filled ?? 0);
  const signedAdded = f.side === 'buy' ? added : -added;
  let next: StrategyContext = ctx;
  if (added > 0) {
    next = {
      ...next,
      cash: (ctx.cash ?? 0) - signedAdded * f.price - f.fee,
      held: { ...ctx.held, [f.symbol]: (ctx.held?.[f.symbol] ?? 0) + signedAdded },
    };
    const sym = ctx.symbols[f.symbol];
    if (contingent(order) && sym) {
      const position = sym.position + signedAdded;
      next = { ...next, symbols: { ...next.symbols, [f.symbol]: { ...sym, position, target: position } } };
    }
  }
  const ended =
    f.status === 'filled'
      ? onOrderEnded({ ...next, open: { ...next.open, [f.clientOrderId]: order } }, f.clientOrderId, 'all')
      : { open: { ...next.open, [f.clientOrderId]: { ...order, filled: Math.max(order.filled ?? 0, f.cumQty) } } };
  next = { ...next, ...ended, outbox: NO_OUTPUT };
  const def = strategyDefinition(ctx.instance.strategy);
  const state = next.symbols[f.symbol];
  if (!def.onFill || !state || !(added > 0)) return next;
  const call = callContext(next, state, f.symbol, ev.time, f.price, ev.id);
  call.fill = {
    clientOrderId: f.clientOrderId,
    side: f.side,
    qty: added,
    price: f.price,
    leg: order.leg ?? 'entry',
    done: f.status === 'filled',
  };
  const stepped = run(
    def,
    'onFill',
    () => subjects.orderFilled(),
    f,
    () => def.onFill!(call, state.user),
  );
  if (!stepped.ok) return { ...next, outbox: [stepped.letter] };
  const d = draftOf(next);
  const after = { ...state, user: stepped.value };
  d.symbols[f.symbol] = sendCall(next, d, after, call, {
    symbol: f.symbol,
    price: f.price,
    time: ev.time,
    evId: ev.id,
  });
  return { ...next, ...d };
}

/**
 * An order of ours ended with `filledQty` filled: undo the part that will never fill. Quantities
 * are subtracted, never scaled, so the position stays exact. A risk rejection is accepted (the
 * target follows the position, so a refused order is not sent again); a broker failure or a
 * cancel keeps the decided target, so an unintended leftover gets closed. A bracket leg that
 * ends unfilled changes nothing (it never counted); an entry with a bracket gets its legs.
 */
export function onOrderEnded(
  ctx: StrategyContext,
  clientOrderId: string,
  filledQty: number | 'all',
  verdict: 'rejected' | 'ended' = 'ended',
): Partial<StrategyContext> {
  const order = openOrder(ctx, clientOrderId);
  if (!order) return { outbox: NO_OUTPUT };
  const { [clientOrderId]: _gone, ...open } = ctx.open;
  const qty = Math.abs(order.signed);
  legsOf(open, clientOrderId, order, filledQty === 'all' ? qty : filledQty, ctx.legsDone);
  const legsDone = order.leg ? { legsDone: addRecentId(ctx.legsDone ?? emptyRecentIds(), clientOrderId) } : {};
  const sym = ctx.symbols[order.symbol];
  const unfilled = filledQty === 'all' ? 0 : qty - filledQty;
  if (contingent(order) || !sym || unfilled === 0) return { open, ...legsDone, outbox: NO_OUTPUT };
  const position = sym.position - Math.sign(order.signed) * unfilled;
  const symbols = {
    ...ctx.symbols,
    [order.symbol]: { ...sym, position, target: verdict === 'rejected' ? position : (sym.target ?? sym.position) },
  };
  return { open, symbols, outbox: NO_OUTPUT };
}
