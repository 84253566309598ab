import { assign, setup } from 'xstate';
import {
  type Bar,
  type MessageEvent,
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
  const outbox: Outbound[] = [out('portfolio.updated', snapshotOf(book))];
  for (const bar of ev.barsSince) {
    const marked = mark(book, bar.symbol, bar.close, bar.time);
    if (marked === book) continue;
    book = marked;
    outbox.push(out('portfolio.updated', snapshotOf(book), { time: bar.time }));
  }
  return { book, seen: addRecentId(ctx.seen, key), outbox };
}

export function onMark(
  ctx: PortfolioContext,
  ev: MessageEvent<'market.bar'> | MessageEvent<'market.tick'>,
): Partial<PortfolioContext> {
  const price = ev.type === 'market.bar' ? ev.payload.close : ev.payload.price;
  const book = mark(ctx.book, ev.payload.symbol, price, ev.time);
  if (book === ctx.book) return { outbox: NO_OUTPUT };
  return { book, outbox: [out('portfolio.updated', snapshotOf(book))] };
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
  context: ({ input }) => ({ book: openBook(input.startCash), seen: emptyRecentIds(), outbox: NO_OUTPUT }),
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
