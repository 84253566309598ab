import { assign, setup } from 'xstate';
import {
  type Bar,
  type MessageEvent,
  type Origin,
  emitOutbox,
  NO_OUTPUT,
  out,
  type OutboxEmitted,
  type Outbound,
  type WithOutbox,
  addRecentId,
  emptyRecentIds,
  hasRecentId,
  type RecentIds,
} from '../../src/core/index.js';
import { applyFill, mark, openBook, snapshotOf, type Book } from './book.js';

export interface PortfolioContext extends WithOutbox {
  readonly book: Book;
  /**
   * The same account split by who traded (`strategy:<instance>`, `person:<id>`, `system:<id>`):
   * each a book opened with no cash, so its PnL is what its own fills made, and the PnL of all of
   * them adds up to the account's. Optional: snapshots from before it lack it.
   */
  readonly byOrigin?: Readonly<Record<string, Book>>;
  /** `<clientOrderId>:<cumQty>` of fills applied, for idempotency. */
  readonly seen: RecentIds;
}

/**
 * `order.filled` with the market price as of the fill's time and the bars of its symbol that
 * came after it (over NATS they can arrive before the fill; they are marked after it, so the
 * book goes through the same states on every transport).
 */
export type FillEvent = MessageEvent<'order.filled'> & {
  readonly markPrice: number | undefined;
  readonly barsSince: readonly Bar[];
};
export type PortfolioEvent = FillEvent | MessageEvent<'market.bar'> | MessageEvent<'market.tick'>;

export function onFill(ctx: PortfolioContext, ev: FillEvent): Partial<PortfolioContext> {
  const key = `${ev.payload.clientOrderId}:${ev.payload.cumQty}`;
  if (hasRecentId(ctx.seen, key)) return { outbox: NO_OUTPUT };
  let book = applyFill(ctx.book, ev.payload, ev.time, ev.markPrice);
  const who = originKey(ev.payload.origin);
  let own = applyFill(ctx.byOrigin?.[who] ?? openBook(0), ev.payload, ev.time, ev.markPrice);
  const outbox: Outbound[] = [out('portfolio.updated', snapshotOf(book))];
  for (const bar of ev.barsSince) {
    own = mark(own, bar.symbol, bar.close, bar.time);
    const marked = mark(book, bar.symbol, bar.close, bar.time);
    if (marked === book) continue;
    book = marked;
    outbox.push(out('portfolio.updated', snapshotOf(book), { time: bar.time }));
  }
  const byOrigin = { ...ctx.byOrigin, [who]: own };
  // the other books holding the symbol move with the same bars
  for (const bar of ev.barsSince)
    for (const k in byOrigin) if (k !== who) byOrigin[k] = mark(byOrigin[k]!, bar.symbol, bar.close, bar.time);
  return { book, byOrigin, seen: addRecentId(ctx.seen, key), outbox };
}

/** The key of a book by origin. */
export const originKey = (o: Origin) => `${o.kind}:${o.id}`;

/** Marks every book by origin that holds the symbol; the same object when none changed. */
function markOrigins(
  books: Readonly<Record<string, Book>> | undefined,
  symbol: string,
  price: number,
  time: number,
): Readonly<Record<string, Book>> | undefined {
  let next: Record<string, Book> | undefined;
  for (const k in books) {
    const marked = mark(books[k]!, symbol, price, time);
    if (marked !== books[k]) (next ??= { ...books })[k] = marked;
  }
  return next ?? books;
}

export function onMark(
  ctx: PortfolioContext,
  ev: MessageEvent<'market.bar'> | MessageEvent<'market.tick'>,
): Partial<PortfolioContext> {
  const price = ev.type === 'market.bar' ? ev.payload.close : ev.payload.price;
  const book = mark(ctx.book, ev.payload.symbol, price, ev.time);
  const byOrigin = markOrigins(ctx.byOrigin, ev.payload.symbol, price, ev.time);
  if (book === ctx.book) return byOrigin === ctx.byOrigin ? { outbox: NO_OUTPUT } : { byOrigin, outbox: NO_OUTPUT };
  return { book, byOrigin, outbox: [out('portfolio.updated', snapshotOf(book))] };
}

/**
 * The portfolio agent's machine: cash, positions, average prices, realised and unrealised PnL,
 * daily PnL and drawdown, marked to market on every bar or tick of a held symbol.
 */
export const portfolioMachine = setup({
  types: {
    context: {} as PortfolioContext,
    events: {} as PortfolioEvent,
    input: {} as { startCash: number },
    emitted: {} as OutboxEmitted,
  },
  actions: {
    fill: assign(({ context, event }) => onFill(context, event as FillEvent)),
    mark: assign(({ context, event }) =>
      onMark(context, event as MessageEvent<'market.bar'> | MessageEvent<'market.tick'>),
    ),
    emitOutbox: emitOutbox<PortfolioContext, PortfolioEvent>(),
  },
}).createMachine({
  id: 'portfolio',
  context: ({ input }) => ({
    book: openBook(input.startCash),
    byOrigin: {},
    seen: emptyRecentIds(),
    outbox: NO_OUTPUT,
  }),
  initial: 'tracking',
  states: {
    tracking: {
      on: {
        'order.filled': { actions: ['fill', 'emitOutbox'] },
        'market.bar': { actions: ['mark', 'emitOutbox'] },
        'market.tick': { actions: ['mark', 'emitOutbox'] },
      },
    },
  },
});
