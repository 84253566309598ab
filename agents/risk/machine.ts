import { assign, setup } from 'xstate';
import {
  type OrderFilled,
  type OrderIntent,
  type PortfolioSnapshot,
  type RiskCommand,
  type MessageEvent,
  emitOutbox,
  NO_OUTPUT,
  out,
  type Emitted,
  type OutboxEmitted,
  type Outbound,
  type WithOutbox,
  addRecentId,
  emptyRecentIds,
  hasRecentId,
  type RecentIds,
  describeIssues,
  feeFor,
  withSlippage,
  type PaperCosts,
} from '../../src/core/index.js';
import {
  addedExposure,
  increasesRisk,
  runChecks,
  signedQty,
  type TradingState,
  valuationPrice,
  type CheckInput,
  type Denial,
} from './checks.js';
import { riskLimitsPatchSchema, type RiskLimits } from './limits.js';

export { TradingState } from './checks.js';

interface WorkingOrder {
  readonly symbol: string;
  /** The strategy instance that sent it (strategy orders only). */
  readonly by?: string;
  readonly signed: number;
  /** A market order: it fills on the next print unless it fails, so an order against it waits for it. */
  readonly market?: boolean;
  /** Buying power reserved at approval (the exposure it adds, its fees and slippage); released as it fills or ends. */
  readonly reserve: number;
  /** Filled so far. */
  readonly filled: number;
}

/** The part of a working order's reserve its unfilled quantity still holds. */
const reserveLeft = (o: WorkingOrder) => (o.reserve * (Math.abs(o.signed) - o.filled)) / Math.abs(o.signed);

export interface RiskContext extends WithOutbox {
  readonly limits: RiskLimits;
  /** Mirrors the machine state (for queries and snapshots); changed only by state entry actions. */
  readonly tradingState: TradingState;
  /** Projected position per symbol: filled plus approved orders still working. */
  readonly positions: Readonly<Record<string, number>>;
  /** The price each symbol was last valued at (for gross exposure when no newer price is known). */
  readonly marks: Readonly<Record<string, number>>;
  readonly working: Readonly<Record<string, WorkingOrder>>;
  /** Cash after every fill seen: start cash, less buys and fees, plus sells. */
  readonly cash: number;
  /** Filled positions per symbol (`positions` adds the approved orders still working). */
  readonly held: Readonly<Record<string, number>>;
  /** Filled positions per strategy instance and symbol (for budgets). Optional: older snapshots lack it. */
  readonly heldBy?: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /**
   * Who set the trading state in force by a command (`by`); absent after a breach, at start, and in
   * older snapshots. A system process (`system:...`) may lift only a stop of its own.
   */
  readonly stateBy?: string;
  /** What fills are estimated to cost beyond their notional (fees, slippage). */
  readonly costs: PaperCosts;
  /** Fills already applied to cash (`clientOrderId#cumQty`), to ignore a re-delivered one. */
  readonly fillsSeen: RecentIds;
  /**
   * Orders filled whole lately (an exit that replaces one of them is cancelled by execution).
   * Optional: older snapshots lack it.
   */
  readonly filledOrders?: RecentIds;
  /** Event times of recent approvals, oldest first, all symbols and per symbol (the rate window). */
  readonly approvals: readonly number[];
  readonly approvalsBySymbol: Readonly<Record<string, readonly number[]>>;
  /** Client order ids already decided, to recognise a re-delivered intent. */
  readonly decided: RecentIds;
  /**
   * Intents waiting, per symbol in arrival order, for an opposite-side market order to fill or end:
   * what they need depends on it (see `waitsOnOrder`). Optional: older snapshots lack it.
   */
  readonly parked?: Readonly<Record<string, readonly IntentEvent[]>>;
  /** Cancel requests already passed on (`cancelId`), to recognise a re-delivered one. Optional (older snapshots). */
  readonly cancelsSeen?: RecentIds;
  readonly counts: {
    /** Cancel requests passed on to execution (absent in older snapshots). */
    readonly cancels?: number;
    readonly approved: number;
    readonly rejected: number;
    readonly duplicates: number;
    readonly byCode: Readonly<Record<string, number>>;
  };
}

/**
 * `order.intent` as the risk machine sees it: with the market price as of its decision time,
 * the latest known prices of the symbols risk holds positions in, and the account state from the
 * latest portfolio update (the binding keeps these; the machine stays a pure function of them).
 */
export type IntentEvent = MessageEvent<'order.intent'> & {
  readonly marketPrice: number | undefined;
  readonly prices: Readonly<Record<string, number>>;
  readonly account: { readonly dayPnl: number; readonly drawdown: number } | undefined;
  /** The symbol's last bar when the intent arrived (the staleness check); absent in old recordings' events. */
  readonly lastBar?: { readonly time: number; readonly intervalMs: number | undefined } | undefined;
};

export type RiskEvent =
  | IntentEvent
  | MessageEvent<'order.cancel'>
  | MessageEvent<'order.filled'>
  | MessageEvent<'order.cancelled'>
  | MessageEvent<'order.failed'>
  | MessageEvent<'risk.command'>
  | MessageEvent<'portfolio.updated'>;

/** What the risk machine starts from: its limits, the account's starting cash and the cost model. */
export interface RiskInput {
  readonly limits: RiskLimits;
  readonly startCash: number;
  readonly costs: PaperCosts;
}

const within = (times: readonly number[], now: number, windowMs: number) => times.filter((t) => t > now - windowMs);

/** The breach a portfolio update shows against the limits, if any. */
export function breachOf(limits: RiskLimits, p: Pick<PortfolioSnapshot, 'dayPnl' | 'drawdown'>): Denial | undefined {
  if (-p.dayPnl >= limits.maxDailyLoss)
    return {
      code: 'max_daily_loss',
      reason: `today's loss ${(-p.dayPnl).toFixed(2)} reached the max daily loss of ${limits.maxDailyLoss}`,
    };
  if (p.drawdown >= limits.maxDrawdown)
    return {
      code: 'max_drawdown',
      reason: `drawdown ${(p.drawdown * 100).toFixed(2)}% reached the max of ${(limits.maxDrawdown * 100).toFixed(2)}%`,
    };
  return undefined;
}

/** Working orders an intent replaces (execution cancels them before taking it): they no longer count. */
function replacedBy(ctx: RiskContext, intent: OrderIntent): WorkingOrder[] {
  return (intent.cancels ?? []).flatMap((id) => {
    const w = ctx.working[id];
    return w && w.symbol === intent.symbol ? [w] : [];
  });
}

/**
 * Whether an intent must wait before it is decided: buying power is measured from the filled
 * position plus same-side working orders (an opposite one may not fill), so while a market order
 * on the other side is still working, what this intent needs depends on whether that order fills,
 * which it does on the next print unless it fails. Deciding before would make the verdict depend
 * on which message arrived first (a sell sent while its entry's fill is on the way would be
 * refused over NATS and approved in a replay), so it waits for that order to fill or end. Intents
 * behind a waiting one in the same symbol wait too (decisions keep their order). An opposite
 * limit or stop order may never fill: an intent is decided against it at once, conservatively.
 */
function waitsOnOrder(ctx: RiskContext, intent: OrderIntent): boolean {
  if (ctx.limits.maxLeverage >= Number.MAX_VALUE) return false;
  const replaced = replacedBy(ctx, intent);
  if (!increasesRisk(sameSidePosition(ctx, intent, replaced), intent)) return false;
  const side = intent.side === 'buy' ? 1 : -1;
  for (const id in ctx.working) {
    const w = ctx.working[id]!;
    if (w.market && w.symbol === intent.symbol && Math.sign(w.signed) === -side && !replaced.includes(w)) return true;
  }
  return false;
}

/**
 * An intent arrives: a re-delivered one is counted and ignored, one that must wait (behind a
 * parked one in its symbol, or `waitsOnOrder`) is parked, any other is decided now.
 */
export function onIntent(ctx: RiskContext, ev: IntentEvent): Partial<RiskContext> {
  const { clientOrderId, symbol } = ev.payload;
  const queue = ctx.parked?.[symbol] ?? [];
  if (hasRecentId(ctx.decided, clientOrderId) || queue.some((p) => p.payload.clientOrderId === clientOrderId))
    return { counts: { ...ctx.counts, duplicates: ctx.counts.duplicates + 1 }, outbox: NO_OUTPUT };
  if (queue.length > 0 || waitsOnOrder(ctx, ev.payload))
    return { parked: { ...ctx.parked, [symbol]: [...queue, ev] }, outbox: NO_OUTPUT };
  return decide(ctx, ev);
}

/**
 * A request to cancel a working order: passed on to execution unconditionally, in every trading
 * state (HALTED too: a cancel only ever takes risk away, and a person halting trading must still
 * be able to pull a resting order). The forwarded `order.cancel-approved` is the audit record, with
 * the trading state it passed in; the order's reserve is released when execution reports it ended.
 * A re-delivered request (same `cancelId`) is counted as a duplicate and not passed on again.
 */
export function onCancel(ctx: RiskContext, ev: MessageEvent<'order.cancel'>): Partial<RiskContext> {
  const cancel = ev.payload;
  const seen = ctx.cancelsSeen ?? emptyRecentIds();
  if (hasRecentId(seen, cancel.cancelId))
    return { counts: { ...ctx.counts, duplicates: ctx.counts.duplicates + 1 }, outbox: NO_OUTPUT };
  return {
    cancelsSeen: addRecentId(seen, cancel.cancelId),
    counts: { ...ctx.counts, cancels: (ctx.counts.cancels ?? 0) + 1 },
    outbox: [out('order.cancel-approved', { cancel, state: ctx.tradingState })],
  };
}

/** Decides the parked intents that need wait no longer, in arrival order per symbol. */
function releaseParked(ctx: RiskContext): Partial<RiskContext> {
  if (!ctx.parked) return ctx;
  let next = ctx;
  const outbox: Emitted[] = [];
  for (const symbol in ctx.parked) {
    for (;;) {
      const [head, ...rest] = next.parked![symbol] ?? [];
      if (!head || waitsOnOrder(next, head.payload)) break;
      const without: RiskContext = { ...next, parked: { ...next.parked, [symbol]: rest } };
      next = { ...without, ...decide(without, head, true) };
      outbox.push(...next.outbox);
    }
    if (next.parked![symbol]!.length === 0) {
      const { [symbol]: _released, ...others } = next.parked!;
      next = { ...next, parked: others };
    }
  }
  return { ...next, outbox };
}

/**
 * Decides one intent in the given trading state: approve (and project it) or reject with a reason.
 * A `deferred` decision (a parked intent, decided while handling a later message) stays in the
 * intent's chain.
 */
export function decide(ctx: RiskContext, ev: IntentEvent, deferred = false): Partial<RiskContext> {
  const chain = deferred
    ? { cause: { id: ev.id, correlationId: ev.correlationId ?? ev.id, time: ev.time, event: ev.type } }
    : {};
  const intent: OrderIntent = ev.payload;
  if (hasRecentId(ctx.decided, intent.clientOrderId)) {
    return { counts: { ...ctx.counts, duplicates: ctx.counts.duplicates + 1 }, outbox: NO_OUTPUT };
  }
  const { limits } = ctx;
  const replaced = replacedBy(ctx, intent);
  let position = ctx.positions[intent.symbol] ?? 0;
  for (const w of replaced) position -= Math.sign(w.signed) * (Math.abs(w.signed) - w.filled);
  const exposurePosition = sameSidePosition(ctx, intent, replaced);
  const filled = ctx.filledOrders;
  const replacesFilled = filled !== undefined && (intent.cancels ?? []).some((id) => hasRecentId(filled, id));
  const price = valuationPrice(intent, ev.marketPrice);
  const now = intent.decidedAt;
  const approvals = within(ctx.approvals, now, limits.rateWindowMs);
  const forSymbol = within(ctx.approvalsBySymbol[intent.symbol] ?? [], now, limits.rateWindowMs);
  let result: { denial: Denial } | { passed: string[] };
  if (price === undefined) {
    result = {
      denial: { code: 'no_price', reason: `no price is known for ${intent.symbol} and the order carries none` },
    };
  } else {
    let grossExposure = 0;
    for (const sym in ctx.positions) {
      const p = sym === intent.symbol ? price : (ev.prices[sym] ?? ctx.marks[sym] ?? 0);
      grossExposure += Math.abs(ctx.positions[sym]!) * p;
    }
    let equity = ctx.cash;
    let heldExposure = 0;
    for (const sym in ctx.held) {
      const p = sym === intent.symbol ? (ev.marketPrice ?? price) : (ev.prices[sym] ?? ctx.marks[sym] ?? 0);
      equity += ctx.held[sym]! * p;
      heldExposure += Math.abs(ctx.held[sym]!) * p;
    }
    let reserved = 0;
    for (const id in ctx.working) reserved += reserveLeft(ctx.working[id]!);
    for (const w of replaced) reserved -= reserveLeft(w);
    const mark = (sym: string) => (sym === intent.symbol ? price : (ev.prices[sym] ?? ctx.marks[sym] ?? 0));
    const strategy = strategyBook(ctx, intent, replaced, mark);
    result = runChecks({
      intent,
      price,
      marketPrice: ev.marketPrice,
      position,
      exposurePosition,
      replacesFilled,
      lastBar: ev.lastBar,
      grossExposure,
      cash: ctx.cash,
      equity,
      heldExposure,
      reserved,
      orderCosts: orderCosts(intent, price, ctx.costs),
      openOrders: Object.keys(ctx.working).length,
      recentOrders: approvals.length,
      recentOrdersForSymbol: forSymbol.length,
      dayPnl: ev.account?.dayPnl,
      drawdown: ev.account?.drawdown,
      state: ctx.tradingState,
      limits,
      ...(strategy ? { strategy } : {}),
    });
  }
  const decided = addRecentId(ctx.decided, intent.clientOrderId);
  if ('denial' in result) {
    const { code, reason } = result.denial;
    return {
      decided,
      counts: {
        ...ctx.counts,
        rejected: ctx.counts.rejected + 1,
        byCode: { ...ctx.counts.byCode, [code]: (ctx.counts.byCode[code] ?? 0) + 1 },
      },
      outbox: [
        out(
          'order.rejected',
          {
            clientOrderId: intent.clientOrderId,
            symbol: intent.symbol,
            side: intent.side,
            qty: intent.qty,
            origin: intent.origin,
            code,
            reason,
          },
          chain,
        ),
      ],
    };
  }
  const signed = signedQty(intent);
  return {
    decided,
    positions: { ...ctx.positions, [intent.symbol]: position + signed },
    marks: { ...ctx.marks, [intent.symbol]: price! },
    working: {
      ...ctx.working,
      [intent.clientOrderId]: {
        symbol: intent.symbol,
        ...(intent.origin.kind === 'strategy' ? { by: intent.origin.id } : {}),
        ...(intent.type === 'market' ? { market: true } : {}),
        signed,
        filled: 0,
        reserve: increasesRisk(exposurePosition, intent)
          ? addedExposure(exposurePosition, intent, price!) + orderCosts(intent, price!, ctx.costs)
          : 0,
      },
    },
    approvals: [...approvals, now],
    approvalsBySymbol: { ...ctx.approvalsBySymbol, [intent.symbol]: [...forSymbol, now] },
    counts: { ...ctx.counts, approved: ctx.counts.approved + 1 },
    outbox: [out('order.approved', { order: intent, checks: result.passed }, chain)],
  };
}

/**
 * The filled position in the intent's symbol plus the unfilled part of working orders on the
 * intent's side (those the intent replaces left out): what its buying power is measured from.
 */
function sameSidePosition(ctx: RiskContext, intent: OrderIntent, replaced: readonly WorkingOrder[]): number {
  const side = intent.side === 'buy' ? 1 : -1;
  let p = ctx.held[intent.symbol] ?? 0;
  for (const id in ctx.working) {
    const w = ctx.working[id]!;
    if (w.symbol === intent.symbol && Math.sign(w.signed) === side && !replaced.includes(w))
      p += side * (Math.abs(w.signed) - w.filled);
  }
  return p;
}

/**
 * What a strategy instance with a capital budget has at work: its filled positions at `mark`
 * prices plus what its open orders reserve, and its own projected position in the intent's
 * symbol (orders the intent replaces left out). Undefined for other requesters.
 */
function strategyBook(
  ctx: RiskContext,
  intent: OrderIntent,
  replaced: readonly WorkingOrder[],
  mark: (symbol: string) => number,
): CheckInput['strategy'] {
  const id = intent.origin.id;
  const budget = intent.origin.kind === 'strategy' ? ctx.limits.strategyBudgets?.[id] : undefined;
  if (budget === undefined) return undefined;
  const held = ctx.heldBy?.[id] ?? {};
  let used = 0;
  for (const sym in held) used += Math.abs(held[sym]!) * mark(sym);
  let position = held[intent.symbol] ?? 0;
  for (const oid in ctx.working) {
    const w = ctx.working[oid]!;
    if (w.by !== id || replaced.includes(w)) continue;
    used += reserveLeft(w);
    if (w.symbol === intent.symbol) position += Math.sign(w.signed) * (Math.abs(w.signed) - w.filled);
  }
  return { id, budget, used, position };
}

/** Estimated fees and slippage of an order valued at `price`. */
export function orderCosts(
  intent: Pick<OrderIntent, 'side' | 'qty' | 'type'>,
  price: number,
  costs: PaperCosts,
): number {
  // limit and stop orders fill at their price or better; a market order pays the slippage
  const fillPrice = intent.type === 'market' ? withSlippage(price, intent.side, costs) : price;
  return feeFor(intent.qty, fillPrice, costs) + intent.qty * Math.abs(fillPrice - price);
}

/** A fill moves cash and the filled position, once however often it is delivered. */
export function applyFill(ctx: RiskContext, f: OrderFilled): Partial<RiskContext> {
  const key = `${f.clientOrderId}#${f.cumQty}`;
  if (hasRecentId(ctx.fillsSeen, key)) return { outbox: NO_OUTPUT };
  const signed = f.side === 'buy' ? f.qty : -f.qty;
  const order = ctx.working[f.clientOrderId];
  const next = {
    ...ctx,
    fillsSeen: addRecentId(ctx.fillsSeen, key),
    // an order risk did not approve itself (a bracket's leg, made by execution) moves the projected
    // position with its fills; an approved one is in it already
    positions: order ? ctx.positions : { ...ctx.positions, [f.symbol]: (ctx.positions[f.symbol] ?? 0) + signed },
    filledOrders:
      f.status === 'filled' ? addRecentId(ctx.filledOrders ?? emptyRecentIds(), f.clientOrderId) : ctx.filledOrders,
    cash: ctx.cash - signed * f.price - f.fee,
    held: { ...ctx.held, [f.symbol]: (ctx.held[f.symbol] ?? 0) + signed },
    heldBy:
      f.origin.kind === 'strategy'
        ? {
            ...ctx.heldBy,
            [f.origin.id]: {
              ...ctx.heldBy?.[f.origin.id],
              [f.symbol]: (ctx.heldBy?.[f.origin.id]?.[f.symbol] ?? 0) + signed,
            },
          }
        : ctx.heldBy,
    working:
      order && f.status !== 'filled'
        ? { ...ctx.working, [f.clientOrderId]: { ...order, filled: Math.min(Math.abs(order.signed), f.cumQty) } }
        : ctx.working,
  };
  const ended = f.status === 'filled' ? orderEnded(next, f.clientOrderId, 'all') : {};
  return {
    fillsSeen: next.fillsSeen,
    positions: next.positions,
    ...(next.filledOrders ? { filledOrders: next.filledOrders } : {}),
    cash: next.cash,
    held: next.held,
    heldBy: next.heldBy,
    working: next.working,
    ...ended,
    outbox: NO_OUTPUT,
  };
}

/** A working order ended; the part that will never fill leaves the projected position. */
export function orderEnded(ctx: RiskContext, clientOrderId: string, filledQty: number | 'all'): Partial<RiskContext> {
  const order = ctx.working[clientOrderId];
  if (!order) return { outbox: NO_OUTPUT };
  const { [clientOrderId]: _done, ...working } = ctx.working;
  if (filledQty === 'all') return { working, outbox: NO_OUTPUT };
  const unfilled = Math.sign(order.signed) * (Math.abs(order.signed) - filledQty);
  return {
    working,
    positions: { ...ctx.positions, [order.symbol]: (ctx.positions[order.symbol] ?? 0) - unfilled },
    outbox: NO_OUTPUT,
  };
}

/** Applies a `set-limits` command: the whole change, validated, or nothing. */
export function setLimits(ctx: RiskContext, cmd: RiskCommand): Partial<RiskContext> {
  const parsed = riskLimitsPatchSchema.safeParse(cmd.limits ?? {});
  if (!parsed.success)
    return {
      outbox: [
        commandResult(ctx, cmd, false, `invalid limits, nothing changed: ${describeIssues(parsed.error, 'limits')}`),
      ],
    };
  const changed = Object.keys(parsed.data);
  if (changed.length === 0) return { outbox: [commandResult(ctx, cmd, false, 'no limits given, nothing changed')] };
  const next = { ...ctx, limits: { ...ctx.limits, ...parsed.data } };
  return {
    limits: next.limits,
    outbox: [
      commandResult(
        next,
        cmd,
        true,
        `limits changed: ${changed.map((k) => `${k}=${JSON.stringify(parsed.data[k as keyof typeof parsed.data])}`).join(', ')}`,
      ),
    ],
  };
}

function commandResult(
  ctx: Pick<RiskContext, 'tradingState' | 'limits'>,
  cmd: RiskCommand,
  accepted: boolean,
  reason: string,
): Outbound {
  return out('risk.command-result', {
    command: cmd.command,
    accepted,
    reason,
    state: ctx.tradingState,
    limits: { ...ctx.limits },
  });
}

const targetOf: Record<'halt' | 'reduce' | 'resume', TradingState> = {
  halt: 'HALTED',
  reduce: 'REDUCING',
  resume: 'ACTIVE',
};

/** Entering a trading state: mirror it in context and publish `risk.state` with its cause. */
function enter(ctx: RiskContext, ev: RiskEvent, state: TradingState): Partial<RiskContext> {
  let cause: { kind: 'start' | 'command' | 'breach'; code: string; reason: string; by?: string };
  if (ev.type === 'risk.command') {
    cause = { kind: 'command', code: ev.payload.command, reason: ev.payload.reason, by: ev.payload.by };
    return {
      tradingState: state,
      stateBy: ev.payload.by,
      outbox: [out('risk.state', { state, previous: ctx.tradingState, cause })],
    };
  } else if (ev.type === 'portfolio.updated')
    cause = { kind: 'breach', ...(breachOf(ctx.limits, ev.payload) ?? { code: 'breach', reason: 'limits breached' }) };
  else cause = { kind: 'start', code: 'start', reason: 'the risk agent started' };
  return {
    tradingState: state,
    stateBy: undefined,
    outbox: [out('risk.state', { state, previous: ctx.tradingState, cause })],
  };
}

/** Commands from a Sextant process rather than a person (`by` is `system:<what>`, e.g. the store watch). */
export const SYSTEM_BY = 'system:';

/**
 * Why a system process's command is refused, or undefined: a system process (the store watch, on
 * `risk.command.system.*`, which every role may publish) may halt and reduce, and resume only a stop
 * it made itself; limits and other stops are people's (`risk.command.*`, the interfaces only).
 */
export function systemRefusal(
  ctx: Pick<RiskContext, 'tradingState' | 'stateBy'>,
  cmd: RiskCommand,
): string | undefined {
  if (!cmd.by.startsWith(SYSTEM_BY)) return undefined;
  if (cmd.command === 'set-limits') return `${cmd.by} may not change limits; only people may (risk.command.set-limits)`;
  if (cmd.command === 'resume' && ctx.tradingState !== 'ACTIVE' && ctx.stateBy !== cmd.by)
    return `${cmd.by} may lift only a stop of its own; trading is ${ctx.tradingState} by ${ctx.stateBy ?? 'a limit breach or the start'}`;
  return undefined;
}

const command = (ev: RiskEvent) => (ev.type === 'risk.command' ? ev.payload : undefined);

/**
 * The risk agent's machine. Trading states ACTIVE (all checks), REDUCING (only orders that
 * shrink a position) and HALTED (nothing passes). Commands (`risk.command`) switch states and
 * change limits; a portfolio update that breaches the daily-loss or drawdown limit trips the
 * configured breach state. Every change is published on `risk.state` with its cause; every
 * intent gets `order.approved` or `order.rejected` with a reason code and sentence.
 */
export const riskMachine = setup({
  types: {
    context: {} as RiskContext,
    events: {} as RiskEvent,
    input: {} as RiskInput,
    emitted: {} as OutboxEmitted,
  },
  actions: {
    decide: assign(({ context, event }) => onIntent(context, event as IntentEvent)),
    cancel: assign(({ context, event }) => onCancel(context, event as MessageEvent<'order.cancel'>)),
    ended: assign(({ context, event }) => {
      const after = (change: Partial<RiskContext>) => releaseParked({ ...context, ...change } as RiskContext);
      switch (event.type) {
        case 'order.filled':
          return after(applyFill(context, event.payload));
        case 'order.cancelled':
          return after(orderEnded(context, event.payload.clientOrderId, event.payload.filledQty));
        case 'order.failed':
          return after(orderEnded(context, event.payload.clientOrderId, 0));
        default:
          return { outbox: NO_OUTPUT };
      }
    }),
    setLimits: assign(({ context, event }) => setLimits(context, command(event)!)),
    refuseSystem: assign(({ context, event }) => {
      const cmd = command(event)!;
      return { outbox: [commandResult(context, cmd, false, systemRefusal(context, cmd)!)] };
    }),
    acknowledge: assign(({ context, event }) => {
      const cmd = command(event)!;
      const target = targetOf[cmd.command as keyof typeof targetOf];
      const note = context.tradingState === target ? `already ${target}` : `${context.tradingState} -> ${target}`;
      return { outbox: [commandResult({ ...context, tradingState: target }, cmd, true, `${note}: ${cmd.reason}`)] };
    }),
    enterActive: assign(({ context, event }) => enter(context, event, 'ACTIVE')),
    enterReducing: assign(({ context, event }) => enter(context, event, 'REDUCING')),
    enterHalted: assign(({ context, event }) => enter(context, event, 'HALTED')),
    emitOutbox: emitOutbox<RiskContext, RiskEvent>(),
  },
  guards: {
    /** A state command that would change the state (re-entering the same state publishes nothing). */
    halts: ({ context, event }) => command(event)?.command === 'halt' && context.tradingState !== 'HALTED',
    reduces: ({ context, event }) => command(event)?.command === 'reduce' && context.tradingState !== 'REDUCING',
    resumes: ({ context, event }) => command(event)?.command === 'resume' && context.tradingState !== 'ACTIVE',
    isSetLimits: ({ event }) => command(event)?.command === 'set-limits',
    systemMayNot: ({ context, event }) => systemRefusal(context, command(event)!) !== undefined,
    /** A breach whose configured state is stricter than where trading is now. */
    breachReduces: ({ context, event }) =>
      event.type === 'portfolio.updated' &&
      context.limits.breachState === 'REDUCING' &&
      breachOf(context.limits, event.payload) !== undefined,
    breachHalts: ({ context, event }) =>
      event.type === 'portfolio.updated' &&
      context.limits.breachState === 'HALTED' &&
      breachOf(context.limits, event.payload) !== undefined,
  },
}).createMachine({
  id: 'risk',
  context: ({ input }) => ({
    limits: input.limits,
    tradingState: 'ACTIVE',
    positions: {},
    marks: {},
    working: {},
    cash: input.startCash,
    held: {},
    costs: input.costs,
    fillsSeen: emptyRecentIds(),
    filledOrders: emptyRecentIds(),
    approvals: [],
    approvalsBySymbol: {},
    decided: emptyRecentIds(),
    counts: { approved: 0, rejected: 0, duplicates: 0, byCode: {} },
    outbox: NO_OUTPUT,
  }),
  initial: 'ACTIVE',
  on: {
    'order.intent': { actions: ['decide', 'emitOutbox'] },
    'order.cancel': { actions: ['cancel', 'emitOutbox'] },
    'order.filled': { actions: ['ended', 'emitOutbox'] },
    'order.cancelled': { actions: ['ended', 'emitOutbox'] },
    'order.failed': { actions: ['ended', 'emitOutbox'] },
    'risk.command': [
      { guard: 'systemMayNot', actions: ['refuseSystem', 'emitOutbox'] },
      { guard: 'isSetLimits', actions: ['setLimits', 'emitOutbox'] },
      { guard: 'halts', target: '.HALTED', actions: ['acknowledge', 'emitOutbox'] },
      { guard: 'reduces', target: '.REDUCING', actions: ['acknowledge', 'emitOutbox'] },
      { guard: 'resumes', target: '.ACTIVE', actions: ['acknowledge', 'emitOutbox'] },
      { actions: ['acknowledge', 'emitOutbox'] }, // already in the asked-for state
    ],
  },
  states: {
    ACTIVE: {
      entry: [{ type: 'enterActive' }, 'emitOutbox'],
      on: {
        'portfolio.updated': [
          { guard: 'breachHalts', target: 'HALTED' },
          { guard: 'breachReduces', target: 'REDUCING' },
        ],
      },
    },
    REDUCING: {
      entry: ['enterReducing', 'emitOutbox'],
      on: { 'portfolio.updated': { guard: 'breachHalts', target: 'HALTED' } },
    },
    HALTED: { entry: ['enterHalted', 'emitOutbox'] },
  },
});
