import { assign, setup } from 'xstate';
import {
  type Bar,
  type OrderCancel,
  type OrderIntent,
  type Tick,
  type MessageEvent,
  emitOutbox,
  NO_OUTPUT,
  out,
  type OutboxEmitted,
  type Emitted,
  type WithOutbox,
  addRecentId,
  emptyRecentIds,
  hasRecentId,
  type RecentIds,
} from '../../src/core/index.js';
import { isTerminal, transition, type OrderStatus } from './order-status.js';
import type { VenueReport } from './broker.js';
import {
  barFillPrice,
  dayOrderExpired,
  feeFor,
  fillableQty,
  tickFillPrice,
  withSlippage,
  type PaperCosts,
} from './paper-broker.js';

export interface OrderRecord {
  readonly order: OrderIntent;
  readonly brokerOrderId: string;
  readonly status: OrderStatus;
  readonly filledQty: number;
  readonly avgPrice: number;
  /** Event time of the last change. */
  readonly updatedAt: number;
  /** Fees reported so far by a venue (venue fills only). */
  readonly feePaid?: number;
  /** A trailing stop's current stop price (it moves with the best price since the order was placed). */
  readonly stop?: number;
}

/** How many finished orders stay in context for queries (the store keeps them all). */
export const RECENT_ORDERS = 100;

export interface ExecutionContext extends WithOutbox {
  readonly costs: PaperCosts;
  readonly broker: string;
  /** True when a live venue fills orders (polled reports), false when the paper rules do. */
  readonly venueFills: boolean;
  /** Working orders by client order id. */
  readonly orders: Readonly<Record<string, OrderRecord>>;
  /** Working client order ids per symbol (what market data must be matched against). */
  readonly working: Readonly<Record<string, readonly string[]>>;
  /** The latest finished orders, newest last. */
  readonly recent: readonly OrderRecord[];
  /** Client order ids accepted so far, to recognise a re-delivered approval. */
  readonly accepted: RecentIds;
  /**
   * The account's net position per symbol from every fill this agent made (all requesters): a
   * bracket leg never sells more than is held (a person may have closed the position since).
   * Optional: snapshots from before brackets lack it.
   */
  readonly positions?: Readonly<Record<string, number>>;
  readonly duplicates: number;
  /** The broker can cancel at the venue (`BrokerPort.cancelOrder`); the paper rules always can. Optional. */
  readonly canCancel?: boolean;
  /** Cancel requests handled (`cancelId`), to recognise a re-delivered one. Optional: older snapshots lack it. */
  readonly cancelsSeen?: RecentIds;
}

export type ApprovedEvent = MessageEvent<'order.approved'>;
export type CancelApprovedEvent = MessageEvent<'order.cancel-approved'>;

/** The venue refused a cancel, or could not be reached (retries exhausted). */
export interface BrokerCancelFailedEvent {
  readonly type: 'broker.cancel-failed';
  readonly cancel: OrderCancel;
  readonly code: string;
  readonly reason: string;
}

/** The broker acknowledged an order; with the bars that came after its decision time (to match now). */
export interface BrokerAcceptedEvent {
  readonly type: 'broker.accepted';
  readonly clientOrderId: string;
  readonly brokerOrderId: string;
  readonly barsSince: readonly Bar[];
}

/** The broker call failed for good (retries exhausted, circuit open, or a final refusal). */
export interface BrokerFailedEvent {
  readonly type: 'broker.failed';
  readonly clientOrderId: string;
  readonly code: string;
  readonly reason: string;
}

/**
 * One of this agent's own order outputs, read back after a restart: what it had already done
 * after its checkpoint (see `onOwnOutput`).
 */
export interface OwnOutputEvent {
  readonly type: 'own.output';
  readonly output:
    | MessageEvent<'order.submitted'>
    | MessageEvent<'order.filled'>
    | MessageEvent<'order.cancelled'>
    | MessageEvent<'order.failed'>;
}

/** What a live venue reported about a working order (polled by the binding), at `time`. */
export interface BrokerReportEvent extends VenueReport {
  readonly type: 'broker.report';
  readonly clientOrderId: string;
  readonly time: number;
}

export type ExecutionEvent =
  | ApprovedEvent
  | CancelApprovedEvent
  | BrokerCancelFailedEvent
  | BrokerAcceptedEvent
  | BrokerFailedEvent
  | BrokerReportEvent
  | OwnOutputEvent
  | MessageEvent<'market.bar'>
  | MessageEvent<'market.tick'>;

type Draft = {
  orders: Record<string, OrderRecord>;
  accepted: RecentIds;
  positions: Record<string, number>;
  working: Record<string, readonly string[]>;
  recent: readonly OrderRecord[];
  outbox: Emitted[];
};

const draftOf = (ctx: ExecutionContext): Draft => ({
  orders: { ...ctx.orders },
  accepted: ctx.accepted,
  positions: { ...ctx.positions },
  working: { ...ctx.working },
  recent: ctx.recent,
  outbox: [],
});

/** A finished order leaves the working set for the recent list. */
function finish(d: Draft, rec: OrderRecord): void {
  const id = rec.order.clientOrderId;
  const sym = rec.order.symbol;
  const left = (d.working[sym] ?? []).filter((x) => x !== id);
  if (left.length > 0) d.working[sym] = left;
  else delete d.working[sym];
  delete d.orders[id];
  d.recent = d.recent.length < RECENT_ORDERS ? [...d.recent, rec] : [...d.recent.slice(1), rec];
}

/**
 * Fills up to `available` of what `rec` still needs at `rawPrice`, at event time `time`: a
 * partial fill keeps the order working, the last one finishes it. Returns the order after it.
 */
function fill(
  d: Draft,
  rec: OrderRecord,
  rawPrice: number,
  available: number,
  time: number,
  costs: PaperCosts,
): OrderRecord {
  const o = rec.order;
  const id = o.clientOrderId;
  const leaves = o.qty - rec.filledQty;
  const qty = Math.min(leaves, available);
  if (!(qty > 0)) return rec;
  const done = qty === leaves;
  const cumQty = done ? o.qty : rec.filledQty + qty; // exact at the end, whatever the floats did
  const price = withSlippage(rawPrice, o.side, costs);
  const status = transition(id, rec.status, done ? 'filled' : 'partially_filled');
  book(d, o, qty);
  const next: OrderRecord = {
    ...rec,
    status,
    filledQty: cumQty,
    avgPrice: (rec.avgPrice * rec.filledQty + price * qty) / cumQty,
    updatedAt: time,
  };
  d.outbox.push(
    out(
      'order.filled',
      {
        clientOrderId: id,
        brokerOrderId: rec.brokerOrderId,
        symbol: o.symbol,
        side: o.side,
        qty,
        price,
        fee: feeFor(qty, price, costs),
        cumQty,
        leavesQty: done ? 0 : o.qty - cumQty,
        status: done ? 'filled' : 'partially_filled',
        origin: o.origin,
      },
      { chain: { key: id }, time, ...(done ? { release: id } : {}) },
    ),
  );
  if (done) {
    finish(d, next);
    afterFinal(d, next, time);
  } else d.orders[id] = next;
  return next;
}

/** A fill moves the account's net position in the symbol. */
function book(d: Draft, o: OrderIntent, qty: number): void {
  d.positions[o.symbol] = (d.positions[o.symbol] ?? 0) + (o.side === 'buy' ? qty : -qty);
}

/**
 * What a bracket leg may fill: no more than the position it protects still holds (0 when a
 * person or another order has closed it). Other orders: everything.
 */
function legRoom(d: Draft, o: OrderIntent): number {
  if (!o.leg) return Infinity;
  const held = d.positions[o.symbol] ?? 0;
  return Math.max(0, o.side === 'sell' ? held : -held);
}

/**
 * What an order's end sets off: an entry with a bracket gets its protective orders for what it
 * filled; a bracket leg that filled cancels its sibling (one-cancels-other).
 */
function afterFinal(d: Draft, rec: OrderRecord, time: number): void {
  const o = rec.order;
  if (o.bracket && rec.filledQty > 0) placeBracket(d, rec, time);
  if (o.parent && o.leg && rec.status === 'filled') {
    const sibling = d.orders[`${o.parent}.${o.leg === 'stop-loss' ? 'tp' : 'sl'}`];
    if (sibling && !isTerminal(sibling.status))
      end(d, sibling, 'cancelled', `one-cancels-other: ${o.clientOrderId} (${o.leg}) filled`, time);
  }
}

/**
 * The bracket of a filled entry: a stop-loss and/or take-profit for the filled quantity, placed
 * now (the fill's time), so they work from the following bar. Each goes to the broker like any
 * order (\`effect.broker-submit\`); they passed risk with their entry and only reduce what it opened.
 */
function placeBracket(d: Draft, rec: OrderRecord, time: number): void {
  const o = rec.order;
  const b = o.bracket!;
  const long = o.side === 'buy';
  const px = rec.avgPrice;
  const base = {
    symbol: o.symbol,
    side: long ? ('sell' as const) : ('buy' as const),
    qty: rec.filledQty,
    tif: 'GTC' as const,
    origin: o.origin,
    refPrice: px,
    decidedAt: time,
    parent: o.clientOrderId,
  };
  const legs: OrderIntent[] = [];
  const stop =
    b.stopLossPrice ?? (b.stopLoss !== undefined ? px * (long ? 1 - b.stopLoss : 1 + b.stopLoss) : undefined);
  if (stop !== undefined)
    legs.push({
      ...base,
      clientOrderId: `${o.clientOrderId}.sl`,
      type: 'stop',
      stopPrice: stop,
      leg: 'stop-loss',
      ...(b.trailing ? { trail: Math.abs(stop - px) / px } : {}),
    });
  const take =
    b.takeProfitPrice ?? (b.takeProfit !== undefined ? px * (long ? 1 + b.takeProfit : 1 - b.takeProfit) : undefined);
  if (take !== undefined)
    legs.push({ ...base, clientOrderId: `${o.clientOrderId}.tp`, type: 'limit', limitPrice: take, leg: 'take-profit' });
  for (const leg of legs) {
    d.orders[leg.clientOrderId] = {
      order: leg,
      brokerOrderId: '',
      status: 'new',
      filledQty: 0,
      avgPrice: 0,
      updatedAt: time,
    };
    d.accepted = addRecentId(d.accepted, leg.clientOrderId);
    d.outbox.push({ type: 'effect.broker-submit', payload: { order: leg } });
  }
}

/**
 * An order that replaces working orders (\`cancels\`): those still unfilled are cancelled; when
 * one has filled, wholly or in part, the new order is the one cancelled (it would close twice).
 * Returns false when the new order must not go to the broker.
 */
function replaceWorking(d: Draft, rec: OrderRecord, time: number): boolean {
  const o = rec.order;
  const mine = (r: OrderRecord) => r.order.symbol === o.symbol && r.order.origin.id === o.origin.id;
  const filledFirst = o.cancels!.find((id) => {
    const r = d.orders[id] ?? d.recent.find((x) => x.order.clientOrderId === id);
    return r !== undefined && mine(r) && r.filledQty > 0;
  });
  for (const id of o.cancels!) {
    const r = d.orders[id];
    if (r && mine(r) && !isTerminal(r.status)) end(d, r, 'cancelled', `replaced by ${o.clientOrderId}`, time);
  }
  if (filledFirst === undefined) return true;
  end(d, rec, 'cancelled', `${filledFirst}, which this order replaces, filled first`, time);
  return false;
}

function end(d: Draft, rec: OrderRecord, to: 'cancelled' | 'expired', reason: string, time: number): void {
  const o = rec.order;
  const next: OrderRecord = { ...rec, status: transition(o.clientOrderId, rec.status, to), updatedAt: time };
  d.outbox.push(
    out(
      'order.cancelled',
      {
        clientOrderId: o.clientOrderId,
        symbol: o.symbol,
        side: o.side,
        filledQty: rec.filledQty,
        reason,
        status: to,
        origin: o.origin,
      },
      { chain: { key: o.clientOrderId }, time, release: o.clientOrderId },
    ),
  );
  finish(d, next);
  if (next.filledQty > 0) afterFinal(d, next, time);
}

/** A piece of market data an order is matched against: a bar, or a trade (a tick). */
interface Print {
  readonly time: number;
  readonly volume: number;
  readonly high: number;
  readonly low: number;
}

/**
 * Matches one working order against one bar or trade: expire, fill (a bracket leg no more than
 * its position still holds; cancelled when that is nothing), or (IOC) cancel; a trailing stop
 * then moves.
 */
function match(
  d: Draft,
  rec: OrderRecord,
  p: Print,
  what: 'bar' | 'trade',
  fillPrice: (o: OrderIntent) => number | undefined,
  costs: PaperCosts,
) {
  const o = rec.order;
  if (isTerminal(rec.status) || p.time <= o.decidedAt) return;
  if (dayOrderExpired(o, p.time)) return end(d, rec, 'expired', 'DAY order not filled by the end of its day', p.time);
  const price = fillPrice(rec.stop === undefined ? o : { ...o, stopPrice: rec.stop });
  const room = legRoom(d, o);
  if (price !== undefined && room === 0)
    return end(d, rec, 'cancelled', 'the position this bracket leg protects is already closed', p.time);
  const after =
    price === undefined
      ? rec
      : fill(
          d,
          rec,
          price,
          Math.min(room, fillableQty(o.qty - rec.filledQty, p.volume, Number.isInteger(o.qty), costs)),
          p.time,
          costs,
        );
  if (o.tif === 'IOC' && !isTerminal(after.status))
    end(d, after, 'cancelled', `IOC order not (fully) fillable on the first ${what} after it`, p.time);
  else if (o.trail !== undefined && !isTerminal(after.status)) trailStop(d, after, p.high, p.low);
}

const matchBar = (d: Draft, rec: OrderRecord, bar: Bar, costs: PaperCosts) =>
  match(d, rec, bar, 'bar', (o) => barFillPrice(o, bar), costs);

const matchTick = (d: Draft, rec: OrderRecord, tick: Tick, costs: PaperCosts) =>
  match(
    d,
    rec,
    { time: tick.time, volume: tick.size, high: tick.price, low: tick.price },
    'trade',
    (o) => tickFillPrice(o, tick),
    costs,
  );

/** A trailing stop moves after each bar or trade toward the best price seen, never back. */
function trailStop(d: Draft, rec: OrderRecord, high: number, low: number): void {
  const o = rec.order;
  const current = rec.stop ?? o.stopPrice!;
  const next = o.side === 'sell' ? Math.max(current, high * (1 - o.trail!)) : Math.min(current, low * (1 + o.trail!));
  if (next !== current) d.orders[o.clientOrderId] = { ...rec, stop: next };
}

/** An approved order: record it as new and ask the broker to take it (an effect). */
export function onApproved(ctx: ExecutionContext, ev: ApprovedEvent): Partial<ExecutionContext> {
  const order = ev.payload.order;
  const id = order.clientOrderId;
  if (hasRecentId(ctx.accepted, id)) return { duplicates: ctx.duplicates + 1, outbox: NO_OUTPUT };
  const rec: OrderRecord = { order, brokerOrderId: '', status: 'new', filledQty: 0, avgPrice: 0, updatedAt: ev.time };
  const accepted = addRecentId(ctx.accepted, id);
  if (order.cancels?.length) {
    const d = draftOf(ctx);
    d.orders[id] = rec;
    d.accepted = accepted;
    if (replaceWorking(d, rec, ev.time)) d.outbox.push({ type: 'effect.broker-submit', payload: { order } });
    return d;
  }
  return {
    orders: { ...ctx.orders, [id]: rec },
    accepted,
    outbox: [{ type: 'effect.broker-submit', payload: { order } }],
  };
}

const requester = (c: OrderCancel) => (c.origin.kind === 'person' ? `person ${c.origin.id}` : c.origin.id);

const cancelRefusal = (c: OrderCancel, code: string, reason: string, time: number) =>
  out(
    'order.cancel-rejected',
    { cancelId: c.cancelId, clientOrderId: c.clientOrderId, origin: c.origin, code, reason },
    { time },
  );

/**
 * A cancel risk passed on: the working order ends `order.cancelled` (on a venue: execution asks
 * the broker to cancel, and the venue's report ends it), or `order.cancel-rejected` says why not.
 * A strategy cancels only its own orders; a person (the operator role) any. A filled part stays
 * filled (an entry's bracket then protects it). Idempotent by `cancelId`; a second request for an
 * order already cancelled is answered `already_final`, never cancelled twice.
 */
export function onCancelApproved(ctx: ExecutionContext, ev: CancelApprovedEvent): Partial<ExecutionContext> {
  const c = ev.payload.cancel;
  const seen = ctx.cancelsSeen ?? emptyRecentIds();
  if (hasRecentId(seen, c.cancelId)) return { duplicates: ctx.duplicates + 1, outbox: NO_OUTPUT };
  const cancelsSeen = addRecentId(seen, c.cancelId);
  const id = c.clientOrderId;
  const refuse = (code: string, reason: string) => ({
    cancelsSeen,
    outbox: [cancelRefusal(c, code, `cannot cancel ${id}: ${reason}`, ev.time)],
  });
  const rec = ctx.orders[id];
  if (!rec) {
    const done = ctx.recent.findLast((r) => r.order.clientOrderId === id);
    if (done) return refuse('already_final', `it is already ${done.status}`);
    if (hasRecentId(ctx.accepted, id)) return refuse('already_final', 'it has already ended');
    return refuse('unknown_order', 'execution has no order of that id (never approved, or a typo)');
  }
  const o = rec.order.origin;
  if (c.origin.kind === 'strategy' && (o.kind !== 'strategy' || o.id !== c.origin.id))
    return refuse('not_owner', `it is ${o.kind} ${o.id}'s order, not ${c.origin.id}'s`);
  if (rec.status === 'new')
    return refuse('not_working_yet', `the broker has not acknowledged it yet; ask again once it is submitted`);
  if (ctx.venueFills) {
    if (!ctx.canCancel)
      return refuse(
        'unsupported',
        `the broker ${ctx.broker} cannot cancel orders from Sextant (its port has no cancel)`,
      );
    return {
      cancelsSeen,
      outbox: [
        { type: 'effect.broker-cancel', payload: { order: rec.order, brokerOrderId: rec.brokerOrderId, cancel: c } },
      ],
    };
  }
  const d = draftOf(ctx);
  end(d, rec, 'cancelled', `cancelled on request of ${requester(c)}: ${c.reason}`, ev.time);
  return { ...d, cancelsSeen };
}

/** The venue did not cancel: `order.cancel-rejected` with its reason (the order works on, or its report ends it). */
export function onBrokerCancelFailed(ctx: ExecutionContext, ev: BrokerCancelFailedEvent): Partial<ExecutionContext> {
  const rec = ctx.orders[ev.cancel.clientOrderId];
  return { outbox: [cancelRefusal(ev.cancel, ev.code, ev.reason, rec?.updatedAt ?? ev.cancel.requestedAt)] };
}

/** The broker took the order: it is submitted and works against market data, starting with bars it missed. */
export function onBrokerAccepted(ctx: ExecutionContext, ev: BrokerAcceptedEvent): Partial<ExecutionContext> {
  const rec = ctx.orders[ev.clientOrderId];
  if (!rec || rec.status !== 'new') return { outbox: NO_OUTPUT };
  const { order } = rec;
  const id = order.clientOrderId;
  const d = draftOf(ctx);
  const submitted: OrderRecord = {
    ...rec,
    brokerOrderId: ev.brokerOrderId,
    status: transition(id, 'new', 'submitted'),
  };
  d.orders[id] = submitted;
  d.working[order.symbol] = [...(d.working[order.symbol] ?? []), id];
  d.outbox.push(out('order.submitted', { order, brokerOrderId: ev.brokerOrderId, broker: ctx.broker }, { key: id }));
  if (ctx.venueFills) return d; // the venue fills it; its reports say so
  for (const bar of ev.barsSince) {
    const current = d.orders[id];
    if (!current) break;
    matchBar(d, current, bar, ctx.costs);
  }
  return d;
}

/**
 * A live venue's report on a working order: what it filled since the last report becomes one
 * `order.filled` (the quantity and price implied by the cumulative quantity and average), and a
 * cancelled, expired or rejected order ends with what was filled. Reports that tell nothing new
 * change nothing, so polling is idempotent.
 */
export function onBrokerReport(ctx: ExecutionContext, ev: BrokerReportEvent): Partial<ExecutionContext> {
  const rec = ctx.orders[ev.clientOrderId];
  if (!rec || rec.status === 'new' || isTerminal(rec.status)) return { outbox: NO_OUTPUT };
  const o = rec.order;
  const id = o.clientOrderId;
  const d = draftOf(ctx);
  let current = rec;
  const filled = Math.min(ev.filled, o.qty);
  if (filled > rec.filledQty && ev.average !== undefined) {
    const qty = filled - rec.filledQty;
    book(d, o, qty);
    const price = (ev.average * filled - rec.avgPrice * rec.filledQty) / qty;
    const done = filled >= o.qty;
    const feePaid = ev.fee ?? rec.feePaid ?? 0;
    const fee = Math.max(0, feePaid - (rec.feePaid ?? 0));
    current = {
      ...rec,
      status: transition(id, rec.status, done ? 'filled' : 'partially_filled'),
      filledQty: filled,
      avgPrice: ev.average,
      updatedAt: ev.time,
      feePaid,
    };
    d.outbox.push(
      out(
        'order.filled',
        {
          clientOrderId: id,
          brokerOrderId: rec.brokerOrderId,
          symbol: o.symbol,
          side: o.side,
          qty,
          price,
          fee,
          cumQty: filled,
          leavesQty: o.qty - filled,
          status: done ? 'filled' : 'partially_filled',
          origin: o.origin,
        },
        { chain: { key: id }, time: ev.time, ...(done ? { release: id } : {}) },
      ),
    );
    if (done) {
      finish(d, current);
      afterFinal(d, current, ev.time);
    } else d.orders[id] = current;
  }
  if (!isTerminal(current.status) && ev.status !== 'open') {
    // closed short of the quantity: the venue rounded it to its lot size, or filled what it could
    const why =
      ev.status === 'closed'
        ? `the venue closed the order with ${current.filledQty} of ${o.qty} filled`
        : `the venue reports the order ${ev.status}`;
    end(d, current, ev.status === 'expired' ? 'expired' : 'cancelled', why, ev.time);
  }
  return d.outbox.length === 0 ? { outbox: NO_OUTPUT } : d;
}

/** The broker could not take the order: it ends, and `order.failed` says why. */
export function onBrokerFailed(ctx: ExecutionContext, ev: BrokerFailedEvent): Partial<ExecutionContext> {
  const rec = ctx.orders[ev.clientOrderId];
  if (!rec || rec.status !== 'new') return { outbox: NO_OUTPUT };
  const o = rec.order;
  const d = draftOf(ctx);
  const next: OrderRecord = { ...rec, status: transition(o.clientOrderId, 'new', 'rejected') };
  d.outbox.push(
    out('order.failed', {
      clientOrderId: o.clientOrderId,
      symbol: o.symbol,
      side: o.side,
      code: ev.code,
      reason: ev.reason,
      origin: o.origin,
    }),
  );
  finish(d, next);
  return d;
}

/** Market data for a symbol with working orders. */
export function onMarket(
  ctx: ExecutionContext,
  ev: MessageEvent<'market.bar'> | MessageEvent<'market.tick'>,
): Partial<ExecutionContext> {
  const symbol = ev.payload.symbol;
  const ids = ctx.working[symbol];
  if (!ids || ids.length === 0 || ctx.venueFills) return { outbox: NO_OUTPUT };
  const d = draftOf(ctx);
  for (const id of ids) {
    const rec = d.orders[id];
    if (!rec) continue; // ended by an earlier order on this bar (one-cancels-other)
    if (ev.type === 'market.bar') matchBar(d, rec, ev.payload, ctx.costs);
    else matchTick(d, rec, ev.payload, ctx.costs);
  }
  return d;
}

/**
 * Catching up after a restart: applies an order event this agent published after its checkpoint,
 * without publishing anything, so the order is not submitted or filled a second time. Idempotent:
 * what the state already reflects is ignored (a fill up to a quantity already filled, an order
 * already finished before the checkpoint).
 */
export function onOwnOutput(ctx: ExecutionContext, ev: OwnOutputEvent): Partial<ExecutionContext> {
  const out = ev.output;
  const id = out.type === 'order.submitted' ? out.payload.order.clientOrderId : out.payload.clientOrderId;
  const rec = ctx.orders[id];
  const d = draftOf(ctx);
  const patch: Partial<ExecutionContext> = {};
  switch (out.type) {
    case 'order.submitted': {
      if (rec && rec.status !== 'new') return { outbox: NO_OUTPUT };
      if (!rec && hasRecentId(ctx.accepted, id)) return { outbox: NO_OUTPUT }; // finished before the checkpoint
      const order = out.payload.order;
      d.orders[id] = {
        order,
        brokerOrderId: out.payload.brokerOrderId,
        status: 'submitted',
        filledQty: 0,
        avgPrice: 0,
        updatedAt: out.time,
      };
      d.working[order.symbol] = [...(d.working[order.symbol] ?? []).filter((x) => x !== id), id];
      // its approval, delivered again, is a repeat
      if (!rec) Object.assign(patch, { accepted: addRecentId(ctx.accepted, id) });
      break;
    }
    case 'order.filled': {
      const f = out.payload;
      if (!rec || f.cumQty <= rec.filledQty) return { outbox: NO_OUTPUT };
      book(d, rec.order, f.cumQty - rec.filledQty);
      const next: OrderRecord = {
        ...rec,
        status: f.status,
        filledQty: f.cumQty,
        avgPrice: (rec.avgPrice * rec.filledQty + f.price * f.qty) / f.cumQty,
        updatedAt: out.time,
      };
      if (f.status === 'filled') finish(d, next);
      else d.orders[id] = next;
      break;
    }
    case 'order.cancelled':
      if (!rec) return { outbox: NO_OUTPUT };
      finish(d, { ...rec, status: out.payload.status, updatedAt: out.time });
      break;
    case 'order.failed':
      if (rec) finish(d, { ...rec, status: 'rejected', updatedAt: out.time });
      else if (!hasRecentId(ctx.accepted, id)) Object.assign(patch, { accepted: addRecentId(ctx.accepted, id) });
      else return { outbox: NO_OUTPUT };
      break;
  }
  return { ...d, ...patch, outbox: NO_OUTPUT };
}

/**
 * The execution agent's machine: the order lifecycle (new -> submitted -> partially filled ->
 * filled | cancelled | rejected | expired), idempotent by client order id; cancels on request
 * (`order.cancel-approved`) end a working order or are refused with the reason. Submitting is an
 * effect (the broker call, with retries and a circuit breaker, lives in the binding); fills are
 * simulated from market data by the paper broker's rules.
 */
export const executionMachine = setup({
  types: {
    context: {} as ExecutionContext,
    events: {} as ExecutionEvent,
    input: {} as { costs: PaperCosts; broker?: string; venueFills?: boolean; canCancel?: boolean },
    emitted: {} as OutboxEmitted,
  },
  actions: {
    approved: assign(({ context, event }) => onApproved(context, event as ApprovedEvent)),
    cancelApproved: assign(({ context, event }) => onCancelApproved(context, event as CancelApprovedEvent)),
    brokerCancelFailed: assign(({ context, event }) => onBrokerCancelFailed(context, event as BrokerCancelFailedEvent)),
    brokerAccepted: assign(({ context, event }) => onBrokerAccepted(context, event as BrokerAcceptedEvent)),
    brokerFailed: assign(({ context, event }) => onBrokerFailed(context, event as BrokerFailedEvent)),
    market: assign(({ context, event }) =>
      onMarket(context, event as MessageEvent<'market.bar'> | MessageEvent<'market.tick'>),
    ),
    ownOutput: assign(({ context, event }) => onOwnOutput(context, event as OwnOutputEvent)),
    brokerReport: assign(({ context, event }) => onBrokerReport(context, event as BrokerReportEvent)),
    emitOutbox: emitOutbox<ExecutionContext, ExecutionEvent>(),
  },
}).createMachine({
  id: 'execution',
  context: ({ input }) => ({
    costs: input.costs,
    broker: input.broker ?? 'paper',
    venueFills: input.venueFills ?? false,
    canCancel: input.canCancel ?? !(input.venueFills ?? false),
    orders: {},
    working: {},
    recent: [],
    accepted: emptyRecentIds(),
    duplicates: 0,
    outbox: NO_OUTPUT,
  }),
  initial: 'connected',
  states: {
    connected: {
      on: {
        'order.approved': { actions: ['approved', 'emitOutbox'] },
        'order.cancel-approved': { actions: ['cancelApproved', 'emitOutbox'] },
        'broker.cancel-failed': { actions: ['brokerCancelFailed', 'emitOutbox'] },
        'broker.accepted': { actions: ['brokerAccepted', 'emitOutbox'] },
        'broker.failed': { actions: ['brokerFailed', 'emitOutbox'] },
        'market.bar': { actions: ['market', 'emitOutbox'] },
        'market.tick': { actions: ['market', 'emitOutbox'] },
        'own.output': { actions: 'ownOutput' },
        'broker.report': { actions: ['brokerReport', 'emitOutbox'] },
      },
    },
  },
});
