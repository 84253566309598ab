import type { OrderFilled, PortfolioSnapshot, Position } from '../../src/core/index.js';

/** One symbol's holding. `qty` is signed (negative = short). */
export interface Holding {
  readonly qty: number;
  readonly avgPrice: number;
  readonly lastPrice: number;
  /** Event time of `lastPrice`; a mark older than this is stale and ignored. */
  readonly markedAt: number;
  readonly realizedPnl: number;
}

/** The account: plain data, updated by pure functions, so it persists and replays exactly. */
export interface Book {
  readonly cash: number;
  readonly holdings: Readonly<Record<string, Holding>>;
  readonly realizedPnl: number;
  readonly fees: number;
  /** UTC day number (epoch days) of the last event; null before the first. */
  readonly day: number | null;
  readonly dayStartEquity: number;
  /** Equity when the current UTC week (from Monday 00:00) and month began, and at the start. */
  readonly weekStartEquity: number;
  readonly monthStartEquity: number;
  readonly startEquity: number;
  readonly peakEquity: number;
  /** Largest fall from a peak seen so far, 0..1. */
  readonly maxDrawdown: number;
  /** Event time of the last change; null before the first. */
  readonly asOf: number | null;
  /**
   * The PnL of the last day, week and month the book saw end (epoch day, week and month numbers):
   * "yesterday", "last week". Absent from books saved before it was kept (unknown then).
   */
  readonly previous?: PreviousPeriods;
}

export interface PreviousPeriods {
  readonly day: number | null;
  readonly dayPnl: number;
  readonly week: number | null;
  readonly weekPnl: number;
  readonly month: number | null;
  readonly monthPnl: number;
}

const NO_PREVIOUS: PreviousPeriods = { day: null, dayPnl: 0, week: null, weekPnl: 0, month: null, monthPnl: 0 };

const DAY_MS = 86_400_000;

export const openBook = (cash: number): Book => ({
  cash,
  holdings: {},
  realizedPnl: 0,
  fees: 0,
  day: null,
  dayStartEquity: cash,
  weekStartEquity: cash,
  monthStartEquity: cash,
  startEquity: cash,
  peakEquity: cash,
  maxDrawdown: 0,
  asOf: null,
  previous: NO_PREVIOUS,
});

/** Epoch days to the UTC week (weeks start on Monday; epoch day 0 was a Thursday) and month. */
const weekOf = (day: number) => Math.floor((day + 3) / 7);
/**
 * year x 12 + month (0-based) of an epoch day, by the civil calendar (H. Hinnant's
 * civil_from_days): no Date per bar.
 */
export const monthOf = (day: number) => {
  const z = day + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153); // months from March
  const year = yoe + era * 400 + (mp >= 10 ? 1 : 0);
  return year * 12 + (mp < 10 ? mp + 2 : mp - 10);
};

type PeriodStarts = Pick<Book, 'dayStartEquity' | 'weekStartEquity' | 'monthStartEquity' | 'previous'>;

/**
 * The period start equities once the book moves to `day`: a period that begins then starts from
 * the equity before the event (the last equity of the period before). Before the first event
 * every period starts from the opening cash. Books saved before weeks and months were kept start
 * those from the day's equity.
 */
function periodStarts(book: Book, day: number): PeriodStarts {
  const week = book.weekStartEquity ?? book.dayStartEquity;
  const month = book.monthStartEquity ?? book.dayStartEquity;
  if (book.day === null || day === book.day)
    return {
      dayStartEquity: book.dayStartEquity,
      weekStartEquity: week,
      monthStartEquity: month,
      ...(book.previous ? { previous: book.previous } : {}),
    };
  const equity = equityOf(book);
  const newWeek = weekOf(day) !== weekOf(book.day);
  const newMonth = monthOf(day) !== monthOf(book.day);
  // the periods that end here: what they made, from their start to the equity before this event
  const p = book.previous;
  const previous: PreviousPeriods | undefined = p && {
    day: book.day,
    dayPnl: equity - book.dayStartEquity,
    week: newWeek ? weekOf(book.day) : p.week,
    weekPnl: newWeek ? equity - week : p.weekPnl,
    month: newMonth ? monthOf(book.day) : p.month,
    monthPnl: newMonth ? equity - month : p.monthPnl,
  };
  return {
    dayStartEquity: equity,
    weekStartEquity: newWeek ? equity : week,
    monthStartEquity: newMonth ? equity : month,
    ...(previous ? { previous } : {}),
  };
}

/**
 * The PnL of the day, week and month before the book's current ones (0 when nothing happened
 * then); undefined for a book saved before they were kept.
 */
function previousPnl(book: Book): { yesterday: number; lastWeek: number; lastMonth: number } | undefined {
  const p = book.previous;
  if (!p) return undefined;
  if (book.day === null) return { yesterday: 0, lastWeek: 0, lastMonth: 0 };
  const d = book.day;
  return {
    yesterday: p.day === d - 1 ? p.dayPnl : 0,
    lastWeek: p.week === weekOf(d) - 1 ? p.weekPnl : 0,
    lastMonth: p.month === monthOf(d) - 1 ? p.monthPnl : 0,
  };
}

export function equityOf(book: Pick<Book, 'cash' | 'holdings'>): number {
  let equity = book.cash;
  for (const sym in book.holdings) {
    const h = book.holdings[sym]!;
    equity += h.qty * h.lastPrice;
  }
  return equity;
}

/** Rolls the day at the first event of a new UTC day: today's PnL starts from the equity before it. */
function roll(book: Book, time: number): Book {
  const day = Math.floor(time / DAY_MS);
  if (day === book.day) return book;
  return { ...book, day, ...periodStarts(book, day) };
}

/** Marks a holding to a new price (bars, ticks): one new book, the day rolled and the peak kept. */
export function mark(book: Book, symbol: string, price: number, time: number): Book {
  const h = book.holdings[symbol];
  if (!h) return book; // only held symbols are marked
  if (time < h.markedAt) return book; // stale: a later price is already in
  const day = Math.floor(time / DAY_MS);
  const newDay = day !== book.day;
  if (h.lastPrice === price && !newDay && book.asOf !== null && time <= book.asOf) return book;
  const holdings = {
    ...book.holdings,
    [symbol]: { qty: h.qty, avgPrice: h.avgPrice, lastPrice: price, markedAt: time, realizedPnl: h.realizedPnl },
  };
  const equity = equityOf({ cash: book.cash, holdings });
  const peakEquity = equity > book.peakEquity ? equity : book.peakEquity;
  // (field by field, no spread: this runs on every bar of a held symbol, for each book)
  const periods = periodStarts(book, day);
  return {
    cash: book.cash,
    holdings,
    realizedPnl: book.realizedPnl,
    fees: book.fees,
    day,
    dayStartEquity: periods.dayStartEquity,
    weekStartEquity: periods.weekStartEquity,
    monthStartEquity: periods.monthStartEquity,
    ...(periods.previous ? { previous: periods.previous } : {}),
    startEquity: book.startEquity,
    peakEquity,
    maxDrawdown: Math.max(book.maxDrawdown, drawdownOf(equity, peakEquity)),
    asOf: later(book.asOf, time),
  };
}

/**
 * Applies a fill: cash moves by qty x price plus fee; the average price changes when the
 * position grows, realised PnL when it shrinks; a flip opens the remainder at the fill price.
 * `markPrice` is the market price as of the fill's time (the fill price if none is known).
 */
export function applyFill(book: Book, f: OrderFilled, time: number, markPrice: number | undefined): Book {
  const rolled = roll(book, time);
  const signed = f.side === 'buy' ? f.qty : -f.qty;
  const before = rolled.holdings[f.symbol] ?? {
    qty: 0,
    avgPrice: 0,
    lastPrice: f.price,
    markedAt: time,
    realizedPnl: 0,
  };
  let { qty, avgPrice, realizedPnl } = before;
  let realized = 0;
  if (qty === 0 || Math.sign(qty) === Math.sign(signed)) {
    avgPrice = (Math.abs(qty) * avgPrice + f.qty * f.price) / (Math.abs(qty) + f.qty);
    qty += signed;
  } else {
    const closing = Math.min(f.qty, Math.abs(qty));
    realized = closing * (f.price - avgPrice) * Math.sign(qty);
    realizedPnl += realized;
    const after = qty + signed;
    if (after === 0) avgPrice = 0;
    else if (Math.sign(after) !== Math.sign(qty)) avgPrice = f.price;
    qty = after;
  }
  const fresher = time >= before.markedAt;
  const holding: Holding = {
    qty,
    avgPrice,
    lastPrice: fresher ? (markPrice ?? f.price) : before.lastPrice,
    markedAt: fresher ? time : before.markedAt,
    realizedPnl,
  };
  return withPeak({
    ...rolled,
    cash: rolled.cash - signed * f.price - f.fee,
    holdings: { ...rolled.holdings, [f.symbol]: holding },
    realizedPnl: rolled.realizedPnl + realized,
    fees: rolled.fees + f.fee,
    asOf: later(rolled.asOf, time),
  });
}

const later = (a: number | null, b: number) => (a === null ? b : Math.max(a, b));

const drawdownOf = (equity: number, peak: number) => (peak > 0 ? Math.max(0, (peak - equity) / peak) : 0);

function withPeak(book: Book): Book {
  const equity = equityOf(book);
  const peakEquity = equity > book.peakEquity ? equity : book.peakEquity;
  const maxDrawdown = Math.max(book.maxDrawdown, drawdownOf(equity, peakEquity));
  return peakEquity === book.peakEquity && maxDrawdown === book.maxDrawdown
    ? book
    : { ...book, peakEquity, maxDrawdown };
}

/** True when the book holds a non-zero position in `symbol`. */
export const holds = (book: Book, symbol: string) => (book.holdings[symbol]?.qty ?? 0) !== 0;

/** The published view of the book. */
export function snapshotOf(book: Book): PortfolioSnapshot {
  const positions: Position[] = [];
  let unrealizedPnl = 0;
  for (const symbol of Object.keys(book.holdings).sort()) {
    const h = book.holdings[symbol]!;
    const unrealized = h.qty * (h.lastPrice - h.avgPrice);
    unrealizedPnl += unrealized;
    positions.push({
      symbol,
      qty: h.qty,
      avgPrice: h.avgPrice,
      lastPrice: h.lastPrice,
      marketValue: h.qty * h.lastPrice,
      unrealizedPnl: unrealized,
      realizedPnl: h.realizedPnl,
    });
  }
  const equity = equityOf(book);
  return {
    cash: book.cash,
    equity,
    positions,
    realizedPnl: book.realizedPnl,
    unrealizedPnl,
    fees: book.fees,
    dayPnl: equity - book.dayStartEquity,
    dayStartEquity: book.dayStartEquity,
    pnl: {
      day: equity - book.dayStartEquity,
      week: equity - (book.weekStartEquity ?? book.dayStartEquity),
      month: equity - (book.monthStartEquity ?? book.dayStartEquity),
      all: equity - (book.startEquity ?? book.dayStartEquity),
      ...previousPnl(book),
    },
    peakEquity: book.peakEquity,
    drawdown: drawdownOf(equity, book.peakEquity),
    maxDrawdown: book.maxDrawdown,
    asOf: book.asOf,
  };
}
