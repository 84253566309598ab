import { writeFile } from 'node:fs/promises';
import type { Envelope, Bar, OrderFilled, PortfolioSnapshot, StrategyPlotted } from '../../core/index.js';
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
  /**
   * Closes per symbol (the first few symbols), for the price charts with entries and exits, and
   * the strategies' indicator lines on them (`strategy.plotted`; a run with `plot` on), each value
   * at the bar of the same index (null where the line has none).
   */
  readonly prices?: readonly {
    symbol: string;
    times: number[];
    closes: number[];
    lines?: readonly PriceLine[];
  }[];
  /** Returns per UTC calendar month and year. */
  readonly periods?: {
    readonly months: readonly { period: string; return: number }[];
    readonly years: readonly { period: string; return: number }[];
  };
}

/** One indicator line of a strategy on a symbol's price chart. */
export interface PriceLine {
  /** The legend's name: the strategy's label (e.g. SMA10), after the instance id when several plot. */
  readonly label: string;
  /** price: over the price; own: a pane of its own under it. */
  readonly pane: 'price' | 'own';
  readonly values: (number | null)[];
}

/** A line as collected: its points by bar time. */
interface Collected {
  readonly strategy: string;
  readonly label: string;
  readonly pane: 'price' | 'own';
  readonly at: Map<number, number>;
}

/** Symbols drawn as price charts in a report (more would make the file heavy to open). */
const PRICE_CHARTS = 4;

/**
 * Collects what a backtest report needs from the bus while a backtest runs (pass `onEnvelope` to
 * `runBacktest`): bars (`market.bar`), portfolio snapshots (`portfolio.updated`), fills
 * (`order.filled`) and the strategies' indicator lines (`strategy.plotted`, with `plot` on), in
 * the order they were published.
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
  /** Indicator lines per symbol, by instance and key (`strategy.plotted`). */
  readonly #lines = new Map<string, Map<string, Collected>>();

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
      case 'strategy.plotted': {
        const p = env.payload as StrategyPlotted;
        let bySeries = this.#lines.get(p.symbol);
        if (!bySeries) this.#lines.set(p.symbol, (bySeries = new Map()));
        for (const l of p.lines) {
          const id = `${p.strategy}\u0000${l.key}`;
          let line = bySeries.get(id);
          if (!line) bySeries.set(id, (line = { strategy: p.strategy, label: l.label, pane: l.pane, at: new Map() }));
          if (l.value !== null) line.at.set(env.time, l.value);
        }
        break;
      }
    }
  };

  /** The lines plotted on `symbol`, each valued at `times` (its bars). */
  #linesOf(symbol: string, times: readonly number[]): PriceLine[] {
    const all = [...(this.#lines.get(symbol)?.values() ?? [])];
    const several = new Set(all.map((l) => l.strategy)).size > 1;
    return all.map((l) => ({
      label: several ? `${l.strategy} ${l.label}` : l.label,
      pane: l.pane,
      values: times.map((t) => l.at.get(t) ?? null),
    }));
  }

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
    const charted = [...prices.values()].map((p) => {
      const lines = this.#linesOf(p.symbol, p.times);
      return lines.length > 0 ? { ...p, lines } : p;
    });
    return {
      meta,
      stats,
      curve,
      trips,
      fills: [...this.#fills],
      ...(risk ? { risk } : {}),
      benchmark: buyAndHold(bars, startEquity),
      prices: charted,
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
