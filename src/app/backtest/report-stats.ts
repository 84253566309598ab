import type { Side } from '../../core/index.js';

/** A bar's close as the report needs it. */
export interface ReportBar {
  readonly symbol: string;
  readonly time: number;
  readonly close: number;
}

/** A portfolio snapshot as the report needs it: equity, and whether anything is held. */
export interface ReportSnapshot {
  readonly time: number;
  readonly equity: number;
  readonly exposed: boolean;
}

export interface ReportFill {
  readonly time: number;
  readonly symbol: string;
  readonly side: Side;
  readonly qty: number;
  readonly price: number;
  readonly fee: number;
}

/** Equity at the end of one bar time. */
export interface EquityPoint {
  readonly time: number;
  readonly equity: number;
  /** The deepest (peak - equity) / peak during the bar (0..1): at a fill (the open) or at the close. */
  readonly drawdown: number;
  /** A non-zero position is held at the end of this bar. */
  readonly exposed: boolean;
}

/** One round trip: from flat to flat in one symbol (a reversal closes one and opens the next). */
export interface RoundTrip {
  readonly symbol: string;
  readonly direction: 'long' | 'short';
  /** Largest absolute position during the trip. */
  readonly qty: number;
  readonly entryTime: number;
  /** Average price of the fills that opened or added. */
  readonly entryPrice: number;
  /** Undefined while open. */
  readonly exitTime: number | undefined;
  readonly exitPrice: number | undefined;
  /** Realised PnL net of fees; for an open trip, marked at the last close. */
  readonly pnl: number;
  /** pnl / (entryPrice x qty). */
  readonly returnPct: number;
  /** Bars from entry to exit (to the last bar while open). */
  readonly bars: number;
  readonly open: boolean;
}

export interface SharpeBasis {
  /** What a return is: a bar's (daily, weekly, monthly bars) or a UTC day's (intraday bars). */
  readonly returns: 'daily' | 'weekly' | 'monthly';
  /** 252 trading days for data that skips weekends (equities), 365 for 24/7 data (crypto); 52; 12. */
  readonly periodsPerYear: number;
  readonly intraday: boolean;
  /** 'weekdays' when the data has (almost) no weekend bars, '24/7' when it trades every day. */
  readonly calendar: 'weekdays' | '24/7';
}

export interface ReportStats {
  readonly startEquity: number;
  readonly finalEquity: number;
  readonly totalReturn: number;
  /** Undefined for a run shorter than a day. */
  readonly cagr: number | undefined;
  readonly maxDrawdown: number;
  /** Undefined with fewer than two returns or no variation. */
  readonly sharpe: number | undefined;
  readonly sharpeBasis: SharpeBasis;
  /** Annualised standard deviation of the Sharpe returns (sample), undefined with fewer than two. */
  readonly volatility: number | undefined;
  /** Mean return over downside deviation (target 0, over all periods), annualised like Sharpe. */
  readonly sortino: number | undefined;
  /** CAGR over max drawdown; undefined without a drawdown or a CAGR. */
  readonly calmar: number | undefined;
  /** Longest time from an equity peak to its recovery (or to the end, if never recovered), ms. */
  readonly maxDrawdownDurationMs: number;
  /** Undefined without a closed round trip. */
  readonly winRate: number | undefined;
  /** Gross profit over gross loss of closed trips; Infinity with no loss, undefined with no trip. */
  readonly profitFactor: number | undefined;
  /** Mean PnL of a closed trip (net of fees). */
  readonly expectancy: number | undefined;
  readonly averageWin: number | undefined;
  /** Mean PnL of a losing closed trip (a negative number). */
  readonly averageLoss: number | undefined;
  /** Most losing closed trips in a row. */
  readonly longestLosingStreak: number;
  readonly closedTrades: number;
  readonly openTrades: number;
  readonly fills: number;
  readonly fees: number;
  /** Share of bars that end with a non-zero position, 0..1. */
  readonly exposure: number;
  readonly bars: number;
  readonly firstTime: number | undefined;
  readonly lastTime: number | undefined;
  readonly years: number;
}

const DAY = 86_400_000;
const YEAR = 365.25 * DAY;

/**
 * The equity curve at the end of every bar time: the last snapshot at or before it (snapshots
 * come on fills and on marks of held symbols; in between, flat or not, equity did not change).
 * Drawdown counts every snapshot, so a fall at a fill (marked at the open) is not lost when the
 * close recovers it; this is the portfolio agent's own `maxDrawdown`. `snapshots` are in the order
 * they were published; equal times keep that order.
 */
export function equityCurve(
  bars: readonly ReportBar[],
  snapshots: readonly ReportSnapshot[],
  startEquity: number,
): EquityPoint[] {
  return equityCurveOf(
    bars.map((b) => b.time),
    {
      times: snapshots.map((s) => s.time),
      equity: snapshots.map((s) => s.equity),
      exposed: snapshots.map((s) => (s.exposed ? 1 : 0)),
    },
    startEquity,
  );
}

/** Snapshots as columns, in publication order (what a collector keeps: no object per snapshot). */
export interface SnapshotColumns {
  readonly times: readonly number[];
  readonly equity: readonly number[];
  /** 1 when a non-zero position is held. */
  readonly exposed: readonly number[];
}

/** {@link equityCurve} over columns: bar times in publication order and the snapshots' columns. */
export function equityCurveOf(barTimes: readonly number[], snaps: SnapshotColumns, startEquity: number): EquityPoint[] {
  // bars and snapshots come in time order from a file or a live feed: sort only when they do not
  let times: number[] = [];
  let ordered = true;
  for (const t of barTimes) {
    const last = times[times.length - 1];
    if (last === undefined || t > last) times.push(t);
    else if (t < last) ordered = false;
  }
  if (!ordered) times = [...new Set(barTimes)].sort((a, b) => a - b);
  let order: number[] | undefined;
  for (let i = 1; i < snaps.times.length; i++)
    if (snaps.times[i]! < snaps.times[i - 1]!) {
      // equal times keep their publication order
      order = snaps.times.map((_, k) => k).sort((x, y) => snaps.times[x]! - snaps.times[y]! || x - y);
      break;
    }
  const at = (k: number) => (order ? order[k]! : k);
  const out: EquityPoint[] = [];
  let j = 0;
  let equity = startEquity;
  let exposed = false;
  let peak = startEquity;
  const fall = () => (peak > 0 ? (peak - equity) / peak : 0);
  for (const time of times) {
    let worst = fall();
    while (j < snaps.times.length && snaps.times[at(j)]! <= time) {
      equity = snaps.equity[at(j)]!;
      exposed = snaps.exposed[at(j)] === 1;
      peak = Math.max(peak, equity);
      worst = Math.max(worst, fall());
      j++;
    }
    out.push({ time, equity, drawdown: worst, exposed });
  }
  return out;
}

/** The index of the last bar time <= t (-1 before the first). */
function barIndex(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! <= t) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * Round trips from fills in fill order, per symbol, at average cost: opening fills add to the
 * entry, reducing fills realise (price - average entry) x qty; a fill through zero closes the
 * trip and opens the next with the rest. Each fill's fee is split by quantity between the trips
 * it touches. Trips still open at the end are marked at `lastClose`.
 */
export function roundTrips(
  fills: readonly ReportFill[],
  barTimes: readonly number[],
  lastClose: ReadonlyMap<string, number>,
): RoundTrip[] {
  interface Open {
    symbol: string;
    dir: 1 | -1;
    pos: number;
    maxQty: number;
    entryQty: number;
    entryValue: number;
    exitQty: number;
    exitValue: number;
    realized: number;
    fees: number;
    entryTime: number;
  }
  const open = new Map<string, Open>();
  const out: RoundTrip[] = [];
  const bars = (from: number, to: number) => Math.max(0, barIndex(barTimes, to) - barIndex(barTimes, from));
  const close = (o: Open, time: number, exitPrice: number | undefined, pnl: number, isOpen: boolean) => {
    const entryPrice = o.entryValue / o.entryQty;
    out.push({
      symbol: o.symbol,
      direction: o.dir === 1 ? 'long' : 'short',
      qty: o.maxQty,
      entryTime: o.entryTime,
      entryPrice,
      exitTime: isOpen ? undefined : time,
      exitPrice,
      pnl,
      returnPct: pnl / (entryPrice * o.maxQty),
      bars: bars(o.entryTime, time),
      open: isOpen,
    });
  };
  for (const f of fills) {
    const signed = f.side === 'buy' ? f.qty : -f.qty;
    let rest = signed;
    const feePerUnit = f.qty > 0 ? f.fee / f.qty : 0;
    let o = open.get(f.symbol);
    if (o && Math.sign(rest) !== o.dir) {
      const q = Math.min(Math.abs(rest), Math.abs(o.pos));
      o.realized += q * (f.price - o.entryValue / o.entryQty) * o.dir;
      o.exitQty += q;
      o.exitValue += q * f.price;
      o.fees += q * feePerUnit;
      o.pos += q * Math.sign(rest);
      rest -= q * Math.sign(rest);
      if (Math.abs(o.pos) < 1e-9) {
        close(o, f.time, o.exitValue / o.exitQty, o.realized - o.fees, false);
        open.delete(f.symbol);
        o = undefined;
      }
    }
    if (Math.abs(rest) < 1e-12) continue;
    if (!o) {
      o = {
        symbol: f.symbol,
        dir: rest > 0 ? 1 : -1,
        pos: 0,
        maxQty: 0,
        entryQty: 0,
        entryValue: 0,
        exitQty: 0,
        exitValue: 0,
        realized: 0,
        fees: 0,
        entryTime: f.time,
      };
      open.set(f.symbol, o);
    }
    o.pos += rest;
    o.entryQty += Math.abs(rest);
    o.entryValue += Math.abs(rest) * f.price;
    o.fees += Math.abs(rest) * feePerUnit;
    o.maxQty = Math.max(o.maxQty, Math.abs(o.pos));
  }
  const end = barTimes.length > 0 ? barTimes[barTimes.length - 1]! : 0;
  for (const o of open.values()) {
    const mark = lastClose.get(o.symbol) ?? o.entryValue / o.entryQty;
    const unrealized = o.pos * (mark - o.entryValue / o.entryQty);
    close(o, end, undefined, o.realized + unrealized - o.fees, true);
  }
  return out.sort((a, b) => a.entryTime - b.entryTime);
}

/** How returns are measured for Sharpe, from the bars' typical spacing. */
export function sharpeBasisOf(times: readonly number[]): SharpeBasis {
  const gaps: number[] = [];
  for (let i = 1; i < times.length; i++) gaps.push(times[i]! - times[i - 1]!);
  gaps.sort((a, b) => a - b);
  const median = gaps.length > 0 ? gaps[gaps.length >> 1]! : DAY;
  // 24/7 data (crypto) has bars on Saturdays and Sundays; equities have next to none
  let weekend = 0;
  for (const t of times) {
    // the UTC weekday without a Date per bar: epoch day 0 (1970-01-01) was a Thursday (4)
    const day = (((Math.floor(t / DAY) + 4) % 7) + 7) % 7;
    if (day === 0 || day === 6) weekend++;
  }
  const calendar = times.length > 0 && weekend / times.length > 0.1 ? '24/7' : 'weekdays';
  const days = calendar === '24/7' ? 365 : 252;
  if (median < 0.8 * DAY) return { returns: 'daily', periodsPerYear: days, intraday: true, calendar };
  if (median < 4 * DAY) return { returns: 'daily', periodsPerYear: days, intraday: false, calendar };
  if (median < 20 * DAY) return { returns: 'weekly', periodsPerYear: 52, intraday: false, calendar };
  return { returns: 'monthly', periodsPerYear: 12, intraday: false, calendar };
}

/** Mean over downside deviation (sqrt of the mean of min(r, 0)^2 over all returns), annualised. */
export function sortinoRatio(returns: readonly number[], periodsPerYear: number): number | undefined {
  if (returns.length < 2) return undefined;
  const mean = returns.reduce((s, r) => s + r, 0) / returns.length;
  const downside = Math.sqrt(returns.reduce((s, r) => s + Math.min(r, 0) ** 2, 0) / returns.length);
  if (!(downside > 1e-15)) return undefined;
  return (mean / downside) * Math.sqrt(periodsPerYear);
}

/** Longest stretch from a peak of the curve to the first point back at or above it (or the end). */
export function longestDrawdownMs(curve: readonly EquityPoint[]): number {
  let peak = -Infinity;
  let peakTime = curve[0]?.time ?? 0;
  let longest = 0;
  for (const p of curve) {
    if (p.equity >= peak) {
      longest = Math.max(longest, p.time - peakTime);
      peak = p.equity;
      peakTime = p.time;
    }
  }
  const last = curve[curve.length - 1];
  if (last && last.equity < peak) longest = Math.max(longest, last.time - peakTime);
  return longest;
}

/** Returns by calendar period (UTC): each from the last equity of the previous period (or the start). */
export function calendarReturns(
  curve: readonly EquityPoint[],
  startEquity: number,
  period: 'month' | 'year',
): { period: string; return: number }[] {
  const out: { period: string; return: number }[] = [];
  let base = startEquity;
  let key: string | undefined;
  let last = startEquity;
  for (const p of curve) {
    const iso = new Date(p.time).toISOString();
    const k = period === 'month' ? iso.slice(0, 7) : iso.slice(0, 4);
    if (key !== undefined && k !== key) {
      out.push({ period: key, return: base !== 0 ? last / base - 1 : 0 });
      base = last;
    }
    key = k;
    last = p.equity;
  }
  if (key !== undefined) out.push({ period: key, return: base !== 0 ? last / base - 1 : 0 });
  return out;
}

/**
 * Buy and hold as the benchmark: the start equity in the first symbol's first close, split equally
 * when there are several symbols, marked at every bar time's closes (fractional units, no costs).
 */
export function buyAndHold(bars: readonly ReportBar[], startEquity: number): { time: number; equity: number }[] {
  const first = new Map<string, number>();
  for (const b of bars) if (!first.has(b.symbol)) first.set(b.symbol, b.close);
  const share = first.size > 0 ? startEquity / first.size : 0;
  const units = new Map([...first].map(([s, c]) => [s, share / c]));
  const last = new Map(first);
  const out: { time: number; equity: number }[] = [];
  for (const b of bars) {
    last.set(b.symbol, b.close);
    let equity = 0;
    for (const [s, u] of units) equity += u * last.get(s)!;
    if (out.length > 0 && out[out.length - 1]!.time === b.time) out[out.length - 1] = { time: b.time, equity };
    else out.push({ time: b.time, equity });
  }
  return out;
}

/**
 * Sharpe ratio (risk-free rate 0) of simple returns, annualised with sqrt(periods per year); sample standard
 * deviation.
 */
export function sharpeRatio(returns: readonly number[], periodsPerYear: number): number | undefined {
  if (returns.length < 2) return undefined;
  const mean = returns.reduce((s, r) => s + r, 0) / returns.length;
  const variance = returns.reduce((s, r) => s + (r - mean) ** 2, 0) / (returns.length - 1);
  const sd = Math.sqrt(variance);
  if (!(sd > 1e-15)) return undefined;
  return (mean / sd) * Math.sqrt(periodsPerYear);
}

/** The returns Sharpe is computed on: per bar, or per UTC day (the day's last equity) for intraday bars. */
export function periodReturns(curve: readonly EquityPoint[], basis: SharpeBasis, startEquity: number): number[] {
  const levels: number[] = [startEquity];
  if (basis.intraday) {
    let day: number | undefined;
    for (const p of curve) {
      const d = Math.floor(p.time / DAY);
      if (d !== day) levels.push(p.equity);
      else levels[levels.length - 1] = p.equity;
      day = d;
    }
  } else for (const p of curve) levels.push(p.equity);
  const out: number[] = [];
  for (let i = 1; i < levels.length; i++) if (levels[i - 1]! !== 0) out.push(levels[i]! / levels[i - 1]! - 1);
  return out;
}

/** The summary statistics of a run (definitions in the report and on each field). */
export function reportStats(
  curve: readonly EquityPoint[],
  trips: readonly RoundTrip[],
  fills: readonly ReportFill[],
  startEquity: number,
): ReportStats {
  const finalEquity = curve.length > 0 ? curve[curve.length - 1]!.equity : startEquity;
  const firstTime = curve[0]?.time;
  const lastTime = curve[curve.length - 1]?.time;
  const years = firstTime !== undefined && lastTime !== undefined ? (lastTime - firstTime) / YEAR : 0;
  const basis = sharpeBasisOf(curve.map((p) => p.time));
  const closed = trips.filter((t) => !t.open);
  const totalReturn = startEquity !== 0 ? finalEquity / startEquity - 1 : 0;
  const returns = periodReturns(curve, basis, startEquity);
  const sharpe = sharpeRatio(returns, basis.periodsPerYear);
  const meanReturn = returns.reduce((s, r) => s + r, 0) / (returns.length || 1);
  const volatility =
    returns.length >= 2
      ? Math.sqrt(
          (returns.reduce((s, r) => s + (r - meanReturn) ** 2, 0) / (returns.length - 1)) * basis.periodsPerYear,
        )
      : undefined;
  const cagr =
    years * YEAR >= DAY && startEquity > 0
      ? finalEquity > 0
        ? (finalEquity / startEquity) ** (1 / years) - 1
        : -1
      : undefined;
  const maxDrawdown = curve.reduce((m, p) => Math.max(m, p.drawdown), 0);
  const wins = closed.filter((t) => t.pnl > 0);
  const losses = closed.filter((t) => t.pnl < 0);
  const grossWin = wins.reduce((s, t) => s + t.pnl, 0);
  const grossLoss = -losses.reduce((s, t) => s + t.pnl, 0);
  let streak = 0;
  let longestLosingStreak = 0;
  for (const t of [...closed].sort((a, b) => a.exitTime! - b.exitTime!)) {
    streak = t.pnl < 0 ? streak + 1 : 0;
    longestLosingStreak = Math.max(longestLosingStreak, streak);
  }
  return {
    startEquity,
    finalEquity,
    totalReturn,
    cagr,
    maxDrawdown,
    sharpe,
    sharpeBasis: basis,
    volatility,
    sortino: sortinoRatio(returns, basis.periodsPerYear),
    calmar: cagr !== undefined && maxDrawdown > 0 ? cagr / maxDrawdown : undefined,
    maxDrawdownDurationMs: longestDrawdownMs(curve),
    winRate: closed.length > 0 ? wins.length / closed.length : undefined,
    profitFactor: closed.length === 0 ? undefined : grossLoss > 0 ? grossWin / grossLoss : Infinity,
    expectancy: closed.length > 0 ? closed.reduce((s, t) => s + t.pnl, 0) / closed.length : undefined,
    averageWin: wins.length > 0 ? grossWin / wins.length : undefined,
    averageLoss: losses.length > 0 ? -grossLoss / losses.length : undefined,
    longestLosingStreak,
    closedTrades: closed.length,
    openTrades: trips.length - closed.length,
    fills: fills.length,
    fees: fills.reduce((s, f) => s + f.fee, 0),
    exposure: curve.length > 0 ? curve.filter((p) => p.exposed).length / curve.length : 0,
    bars: curve.length,
    firstTime,
    lastTime,
    years,
  };
}
