import { writeFile } from 'node:fs/promises';
import type { Envelope, Bar, OrderFilled, PortfolioSnapshot } from '../../core/index.js';
import { renderReport, type ReportMeta } from './report-html.js';
import type { RiskReport } from './risk-log.js';
import {
  buyAndHold,
  calendarReturns,
  equityCurveOf,
  reportStats,
  roundTrips,
  type EquityPoint,
  type ReportBar,
  type ReportFill,
  type ReportStats,
  type RoundTrip,
} from './report-stats.js';

/** Everything a report shows. */
export interface ReportData {
  readonly meta: ReportMeta;
  readonly stats: ReportStats;
  readonly curve: readonly EquityPoint[];
  readonly trips: readonly RoundTrip[];
  readonly fills: readonly ReportFill[];
  /** The limits used, refusals by reason and trading-state changes (absent in older callers). */
  readonly risk?: RiskReport;
  /** Buy and hold of the symbols traded (equal split, no costs), at each bar time of `curve`. */
  readonly benchmark?: readonly { time: number; equity: number }[];
  /** Closes per symbol (the first few symbols), for the price charts with entries and exits. */
  readonly prices?: readonly { symbol: string; times: number[]; closes: number[] }[];
  /** Returns per UTC calendar month and year. */
  readonly periods?: {
    readonly months: readonly { period: string; return: number }[];
    readonly years: readonly { period: string; return: number }[];
  };
}

/** Symbols drawn as price charts in a report (more would make the file heavy to open). */
const PRICE_CHARTS = 4;

/**
 * Collects what a backtest report needs from the bus while a backtest runs (pass `onEnvelope` to
 * `runBacktest`): bars (`market.bar`), portfolio snapshots (`portfolio.updated`) and fills
 * (`order.filled`), in the order they were published.
 */
export class ReportCollector {
  // kept as columns of numbers (a long backtest sees hundreds of thousands of bars and snapshots;
  // an object each would double the run's memory); made into records once, in data()
  readonly #barTimes: number[] = [];
  readonly #barCloses: number[] = [];
  readonly #barSymbols: string[] = [];
  readonly #snapTimes: number[] = [];
  readonly #snapEquity: number[] = [];
  readonly #snapExposed: number[] = [];
  readonly #fills: ReportFill[] = [];

  readonly onEnvelope = (env: Envelope): void => {
    switch (env.type) {
      case 'market.bar': {
        const b = env.payload as Bar;
        if (b.history) break; // a warm-up bar (walk-forward windows): before the period measured
        this.#barTimes.push(b.time);
        this.#barCloses.push(b.close);
        this.#barSymbols.push(b.symbol);
        break;
      }
      case 'portfolio.updated': {
        const p = env.payload as PortfolioSnapshot;
        let exposed = 0;
        for (const x of p.positions) if (x.qty !== 0) exposed = 1;
        this.#snapTimes.push(env.time);
        this.#snapEquity.push(p.equity);
        this.#snapExposed.push(exposed);
        break;
      }
      case 'order.filled': {
        const f = env.payload as OrderFilled;
        this.#fills.push({ time: env.time, symbol: f.symbol, side: f.side, qty: f.qty, price: f.price, fee: f.fee });
        break;
      }
    }
  };

  /** How many bars were seen (not history). */
  get barCount(): number {
    return this.#barTimes.length;
  }

  /** The bars seen (not history), in order. */
  get bars(): ReportBar[] {
    return this.#barTimes.map((time, i) => ({ symbol: this.#barSymbols[i]!, time, close: this.#barCloses[i]! }));
  }

  /** The report's data for a run that started with `startEquity`. */
  /**
   * `charts`: also the parts only the HTML report draws (buy and hold, price series, monthly and
   * yearly returns); the statistics alone (summaries, --json, sweeps) skip them.
   */
  data(startEquity: number, meta: ReportMeta, risk?: RiskReport, charts = true): ReportData {
    const curve = equityCurveOf(
      this.#barTimes,
      { times: this.#snapTimes, equity: this.#snapEquity, exposed: this.#snapExposed },
      startEquity,
    );
    const lastClose = new Map<string, number>();
    for (let i = 0; i < this.#barTimes.length; i++) lastClose.set(this.#barSymbols[i]!, this.#barCloses[i]!);
    const trips = roundTrips(
      this.#fills,
      curve.map((p) => p.time),
      lastClose,
    );
    const stats = reportStats(curve, trips, this.#fills, startEquity);
    if (!charts) return { meta, stats, curve, trips, fills: [...this.#fills], ...(risk ? { risk } : {}) };
    const bars = this.bars;
    const prices = new Map<string, { symbol: string; times: number[]; closes: number[] }>();
    for (const b of bars) {
      let p = prices.get(b.symbol);
      if (!p) {
        if (prices.size >= PRICE_CHARTS) continue;
        prices.set(b.symbol, (p = { symbol: b.symbol, times: [], closes: [] }));
      }
      p.times.push(b.time);
      p.closes.push(b.close);
    }
    return {
      meta,
      stats,
      curve,
      trips,
      fills: [...this.#fills],
      ...(risk ? { risk } : {}),
      benchmark: buyAndHold(bars, startEquity),
      prices: [...prices.values()],
      periods: {
        months: calendarReturns(curve, startEquity, 'month'),
        years: calendarReturns(curve, startEquity, 'year'),
      },
    };
  }
}

/** Writes the report as one self-contained HTML file (chart library and data inline). */
export async function writeReport(file: string, data: ReportData, extraHtml?: string): Promise<void> {
  await writeFile(file, renderReport(data, extraHtml));
}
