import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { applyFill, mark, monthOf, openBook, snapshotOf, type Book } from '../../agents/portfolio/book.js';
import { portfolioMachine, type PortfolioEvent } from '../../agents/portfolio/machine.js';
import type { Bar, OrderFilled, Side } from '../../src/core/domain/messages.js';
import type { Outbound } from '../../src/core/agent/outbound.js';

const CASH = 10_000;
const at = (d: number, h = 12) => Date.UTC(2024, 0, d, h);
const ORIGIN = { kind: 'strategy', id: 'sma' } as const;

let seq = 0;
const filled = (side: Side, qty: number, price: number, over: Partial<OrderFilled> = {}): OrderFilled => ({
  clientOrderId: `o-${++seq}`,
  brokerOrderId: `paper-${seq}`,
  symbol: 'ORCL',
  side,
  qty,
  price,
  fee: 0,
  cumQty: qty,
  leavesQty: 0,
  status: 'filled',
  origin: ORIGIN,
  ...over,
});

/** Applies fills at successive hours of one day, each marked at its own price. */
const bookAfter = (...fills: OrderFilled[]): Book =>
  fills.reduce((b, f, i) => applyFill(b, f, at(2, 10 + i), f.price), openBook(CASH));

const position = (b: Book, symbol = 'ORCL') => snapshotOf(b).positions.find((p) => p.symbol === symbol);

const bar = (time: number, close: number, symbol = 'ORCL'): Bar => ({
  symbol,
  time,
  open: close,
  high: close,
  low: close,
  close,
  volume: 100,
});

function start() {
  const actor = createActor(portfolioMachine, { input: { startCash: CASH } });
  const emitted: Outbound[] = [];
  actor.on('outbox', (e) => emitted.push(...(e.items as Outbound[])));
  actor.start();
  const send = (ev: PortfolioEvent): Outbound[] => {
    const from = emitted.length;
    actor.send(ev);
    return emitted.slice(from);
  };
  const fill = (f: OrderFilled, time: number, markPrice?: number, barsSince: readonly Bar[] = []) =>
    send({ type: 'order.filled', id: `fill-${f.clientOrderId}-${f.cumQty}`, time, payload: f, markPrice, barsSince });
  const onBar = (b: Bar) => send({ type: 'market.bar', id: `bar-${b.symbol}-${b.time}`, time: b.time, payload: b });
  const book = () => actor.getSnapshot().context.book;
  return { send, fill, onBar, book };
}

describe('book: fills', () => {
  it('buy then sell realises the PnL and fees reduce cash', () => {
    const b = bookAfter(filled('buy', 10, 100, { fee: 1 }), filled('sell', 10, 110, { fee: 1 }));
    const s = snapshotOf(b);
    expect(s).toMatchObject({ cash: 10_098, equity: 10_098, realizedPnl: 100, unrealizedPnl: 0, fees: 2 });
    expect(position(b)).toMatchObject({ qty: 0, avgPrice: 0, marketValue: 0, realizedPnl: 100 });
  });

  it('adding to a position averages the price', () => {
    const b = bookAfter(filled('buy', 10, 100), filled('buy', 30, 104));
    expect(position(b)).toMatchObject({ qty: 40, avgPrice: 103 });
    expect(b.cash).toBe(CASH - 1000 - 3120);
  });

  it('a partial close realises PnL on the closed part and keeps the average', () => {
    const b = bookAfter(filled('buy', 40, 103), filled('sell', 10, 110));
    expect(position(b)).toMatchObject({ qty: 30, avgPrice: 103, realizedPnl: 70 });
    expect(b.realizedPnl).toBe(70);
  });

  it('a sell larger than the long flips to a short opened at the fill price', () => {
    const b = bookAfter(filled('buy', 10, 100), filled('sell', 25, 90));
    expect(position(b)).toMatchObject({ qty: -15, avgPrice: 90, realizedPnl: -100 });
    expect(position(b)!.unrealizedPnl).toBeCloseTo(0, 12); // -15 x (90 - 90) is -0
    expect(snapshotOf(b)).toMatchObject({ cash: 11_250, equity: 9_900 });
  });

  it('covering a short realises the gain on the price fall', () => {
    const b = bookAfter(filled('sell', 15, 90), filled('buy', 15, 80));
    expect(position(b)).toMatchObject({ qty: 0, realizedPnl: 150 });
    expect(snapshotOf(b).equity).toBe(CASH + 150);
  });

  it('fees are summed over fills', () => {
    const b = bookAfter(
      filled('buy', 10, 100, { fee: 1.25 }),
      filled('buy', 10, 100, { fee: 2.5 }),
      filled('sell', 5, 100, { fee: 0.25 }),
    );
    expect(b.fees).toBe(4);
    expect(b.cash).toBe(CASH - 1500 - 4);
  });

  it('a fill with no market price known marks the position at the fill price', () => {
    const b = [filled('buy', 10, 100), filled('buy', 10, 120)].reduce(
      (acc, f, i) => applyFill(acc, f, at(2, 10 + i), undefined),
      openBook(CASH),
    );
    expect(position(b)).toMatchObject({ qty: 20, avgPrice: 110, lastPrice: 120, unrealizedPnl: 200 });
  });
});

describe('book: marks, peak and drawdown', () => {
  it('a mark moves equity, market value and unrealised PnL', () => {
    const b = mark(bookAfter(filled('buy', 10, 100)), 'ORCL', 105, at(2, 20));
    expect(position(b)).toMatchObject({ lastPrice: 105, marketValue: 1050, unrealizedPnl: 50 });
    expect(snapshotOf(b)).toMatchObject({ equity: 10_050, unrealizedPnl: 50 });
  });

  it('peak equity follows new highs and drawdown is measured from it', () => {
    let b = bookAfter(filled('buy', 10, 100));
    b = mark(b, 'ORCL', 110, at(2, 20));
    expect(snapshotOf(b)).toMatchObject({ equity: 10_100, peakEquity: 10_100, drawdown: 0 });
    b = mark(b, 'ORCL', 99, at(2, 21));
    const s = snapshotOf(b);
    expect(s).toMatchObject({ equity: 9_990, peakEquity: 10_100 });
    expect(s.drawdown).toBeCloseTo(110 / 10_100, 12);
  });

  it('a mark older than the last one is stale and ignored', () => {
    const b = mark(bookAfter(filled('buy', 10, 100)), 'ORCL', 105, at(2, 20));
    expect(mark(b, 'ORCL', 90, at(2, 19))).toBe(b);
  });
});

describe('book: day rollover', () => {
  it('the first day starts from the opening cash', () => {
    const b = mark(applyFill(openBook(CASH), filled('buy', 10, 100), at(2, 15), 100), 'ORCL', 105, at(2, 20));
    expect(snapshotOf(b)).toMatchObject({ dayStartEquity: CASH, dayPnl: 50 });
  });

  it('a mark on a new UTC day starts the day from the equity before it', () => {
    let b = mark(applyFill(openBook(CASH), filled('buy', 10, 100), at(2, 15), 100), 'ORCL', 105, at(2, 20));
    b = mark(b, 'ORCL', 103, at(3, 15));
    expect(snapshotOf(b)).toMatchObject({ equity: 10_030, dayStartEquity: 10_050, dayPnl: -20 });
    b = mark(b, 'ORCL', 104, at(3, 16));
    expect(snapshotOf(b)).toMatchObject({ dayStartEquity: 10_050, dayPnl: -10 });
  });

  it('a fill as the first event of a new UTC day starts the day from the equity before the fill', () => {
    let b = mark(applyFill(openBook(CASH), filled('buy', 10, 100), at(2, 15), 100), 'ORCL', 103, at(2, 20));
    b = applyFill(b, filled('buy', 10, 104, { fee: 1 }), at(3, 15), 104);
    expect(snapshotOf(b)).toMatchObject({ cash: 7_959, equity: 10_039, dayStartEquity: 10_030, dayPnl: 9 });
  });

  it('pre-1970 (negative) times roll at UTC midnight like any other', () => {
    const t = (y: number, m: number, d: number, h: number) => Date.UTC(y, m, d, h);
    let b = applyFill(openBook(CASH), filled('buy', 10, 100), t(1969, 11, 31, 12), 100);
    expect(b.asOf).toBeLessThan(0);
    b = mark(b, 'ORCL', 101, t(1969, 11, 31, 20));
    expect(snapshotOf(b)).toMatchObject({ dayStartEquity: CASH, dayPnl: 10 });
    b = mark(b, 'ORCL', 102, t(1970, 0, 1, 1));
    expect(snapshotOf(b)).toMatchObject({ dayStartEquity: 10_010, dayPnl: 10, asOf: t(1970, 0, 1, 1) });
  });

  it('two events within one pre-1970 day do not roll it', () => {
    const t = (h: number) => Date.UTC(1965, 5, 1, h);
    let b = applyFill(openBook(CASH), filled('buy', 10, 100), t(1), 100);
    b = mark(b, 'ORCL', 105, t(2));
    b = mark(b, 'ORCL', 95, t(23));
    expect(snapshotOf(b)).toMatchObject({ dayStartEquity: CASH, dayPnl: -50, asOf: t(23) });
  });
});

describe('book: PnL periods (UTC day, week from Monday, month, all)', () => {
  it('the month of an epoch day is the calendar month, every day from 1600 to 2400 (checked against Date)', () => {
    let wrong = 0;
    for (let day = -135_140; day <= 157_000; day++) {
      const d = new Date(day * 86_400_000);
      if (monthOf(day) !== d.getUTCFullYear() * 12 + d.getUTCMonth()) wrong++;
    }
    expect(wrong).toBe(0);
  });

  // 2024-01-02 is a Tuesday; the account opens with 10,000
  it('on the first day today, this week, this month and since the start are the same amount', () => {
    let b = applyFill(openBook(CASH), filled('buy', 10, 100), at(2, 10), 100);
    b = mark(b, 'ORCL', 103, at(2, 15));
    expect(snapshotOf(b).pnl).toEqual({
      day: 30,
      week: 30,
      month: 30,
      all: 30,
      yesterday: 0,
      lastWeek: 0,
      lastMonth: 0,
    });
    expect(snapshotOf(b).dayPnl).toBe(30);
  });

  it('a new day starts today from the equity before it; the week and month go on; a Monday starts the week; a new month the month', () => {
    let b = applyFill(openBook(CASH), filled('buy', 10, 100), at(2, 10), 100);
    b = mark(b, 'ORCL', 103, at(2, 15)); // +30 on Tue 2nd
    b = mark(b, 'ORCL', 101, at(5, 15)); // Fri 5th: day -20
    expect(snapshotOf(b).pnl).toEqual({
      day: -20,
      week: 10,
      month: 10,
      all: 10,
      yesterday: 0,
      lastWeek: 0,
      lastMonth: 0,
    });
    b = mark(b, 'ORCL', 104, at(8, 15)); // Mon 8th: a new week from 10,010
    // last week (Tue 2nd to Fri 5th) made 10; yesterday (Sunday) nothing happened
    expect(snapshotOf(b).pnl).toEqual({
      day: 30,
      week: 30,
      month: 40,
      all: 40,
      yesterday: 0,
      lastWeek: 10,
      lastMonth: 0,
    });
    b = mark(b, 'ORCL', 105, Date.UTC(2024, 1, 1, 15)); // Thu 1 Feb: a new month from 10,040
    // January made 40; the week before this one (22-28 Jan) saw no event
    expect(snapshotOf(b).pnl).toEqual({
      day: 10,
      week: 10,
      month: 10,
      all: 50,
      yesterday: 0,
      lastWeek: 0,
      lastMonth: 40,
    });
  });

  it('yesterday is the PnL of the day before, from its start to its last equity', () => {
    let b = applyFill(openBook(CASH), filled('buy', 10, 100), at(2, 10), 100);
    b = mark(b, 'ORCL', 103, at(2, 15)); // Tue 2nd: +30
    b = mark(b, 'ORCL', 102, at(3, 15)); // Wed 3rd: -10
    expect(snapshotOf(b).pnl).toMatchObject({ day: -10, yesterday: 30 });
    // a book saved before previous periods were kept does not make them up
    const { previous: _previous, ...old } = b;
    expect(snapshotOf(old).pnl).toEqual({ day: -10, week: 20, month: 20, all: 20 });
  });
});

describe('portfolio machine', () => {
  it('a fill emits portfolio.updated with the snapshot after it', () => {
    const p = start();
    const outs = p.fill(filled('buy', 10, 100, { fee: 1 }), at(2), 100);
    expect(outs).toEqual([{ type: 'portfolio.updated', payload: snapshotOf(p.book()) }]);
    expect(outs[0]!.payload).toMatchObject({ cash: 8_999, equity: 9_999, fees: 1, asOf: at(2) });
  });

  it('a re-delivered fill (same clientOrderId and cumQty) is applied once', () => {
    const p = start();
    const f = filled('buy', 10, 100);
    p.fill(f, at(2), 100);
    const once = p.book();
    expect(p.fill(f, at(2), 100)).toEqual([]);
    expect(p.fill({ ...f }, at(2, 13), 101)).toEqual([]);
    expect(p.book()).toBe(once);
  });

  it('partial fills of one order (growing cumQty) are each applied', () => {
    const p = start();
    const base = { clientOrderId: 'o-partial', brokerOrderId: 'paper-partial' };
    p.fill(filled('buy', 4, 100, { ...base, cumQty: 4, leavesQty: 6, status: 'partially_filled' }), at(2), 100);
    p.fill(filled('buy', 6, 100, { ...base, cumQty: 10, leavesQty: 0 }), at(2, 13), 100);
    expect(position(p.book())).toMatchObject({ qty: 10 });
  });

  it('a bar of a held symbol emits the marked snapshot', () => {
    const p = start();
    p.fill(filled('buy', 10, 100), at(2), 100);
    const outs = p.onBar(bar(at(3), 105));
    expect(outs).toEqual([{ type: 'portfolio.updated', payload: snapshotOf(p.book()) }]);
    expect(outs[0]!.payload).toMatchObject({ equity: 10_050, unrealizedPnl: 50, asOf: at(3) });
  });

  it('a tick of a held symbol marks at the trade price', () => {
    const p = start();
    p.fill(filled('buy', 10, 100), at(2), 100);
    const outs = p.send({
      type: 'market.tick',
      id: 'tick-1',
      time: at(2, 13),
      payload: { symbol: 'ORCL', time: at(2, 13), price: 98, size: 5 },
    });
    expect(outs[0]!.payload).toMatchObject({ equity: 9_980 });
  });

  it('a bar of a symbol the book does not hold emits nothing', () => {
    const p = start();
    p.fill(filled('buy', 10, 100), at(2), 100);
    expect(p.onBar(bar(at(2, 13), 50, 'MSFT'))).toEqual([]);
    expect(p.onBar(bar(at(3), 51, 'MSFT'))).toEqual([]);
  });

  it('a stale bar of a held symbol emits nothing', () => {
    const p = start();
    p.fill(filled('buy', 10, 100), at(3), 100);
    expect(p.onBar(bar(at(2), 90))).toEqual([]);
    expect(position(p.book())).toMatchObject({ lastPrice: 100 });
  });

  it('bars that arrived before the fill are marked after it, each with its own time', () => {
    const p = start();
    const outs = p.fill(filled('buy', 10, 100), at(2), 100, [bar(at(3), 104), bar(at(4), 102)]);
    expect(outs.map((o) => [o.time, o.payload])).toEqual([
      [undefined, expect.objectContaining({ equity: 10_000 })],
      [at(3), expect.objectContaining({ equity: 10_040 })],
      [at(4), expect.objectContaining({ equity: 10_020, dayStartEquity: 10_040 })],
    ]);
    expect(p.onBar(bar(at(4), 102))).toEqual([]);
  });

  // The bar whose open filled the order has the fill's own time; its close is news after the
  // fill. Over NATS it can reach the portfolio after the fill, marked then with an older price.
  it('a bar with the fill time arriving after the fill marks the position at its close', () => {
    const p = start();
    p.fill(filled('buy', 10, 100), at(3), 99);
    const outs = p.onBar(bar(at(3), 103));
    expect(position(p.book())).toMatchObject({ lastPrice: 103 });
    expect(outs).toHaveLength(1);
  });
});
