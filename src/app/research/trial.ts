import type { StrategyInstance } from '../../../agents/strategy/index.js';
import { memoryFeed, type FeedItem, type BarGuardOptions } from '../../../agents/data/index.js';
import { ReportCollector, runBacktest, type BacktestFill } from '../backtest/index.js';
import type { ReportData, ReportMeta, ReportStats, RiskReport } from '../backtest/index.js';
import type { TradingSettings } from '../kernel/index.js';

/** What every trial of a study shares (plain data: it is sent to worker threads as it is). */
export interface TrialSetup {
  /** The strategy instance the trials vary: its `strategy` (a built-in or a loaded file's key), base params. */
  readonly strategy: StrategyInstance;
  readonly cash: number;
  readonly costs: TradingSettings['costs'];
  readonly limits: TradingSettings['limits'];
  readonly riskMode: RiskReport['mode'];
  readonly guard?: BarGuardOptions;
  /** Strategy files to load before the first trial (paths), so `strategy.strategy` resolves in a worker. */
  readonly strategyFiles?: readonly string[];
}

/**
 * Which bars a trial trades: [from, to) (open ends when undefined). Bars in [warmupFrom, from)
 * are fed first as history (indicators warm up; no order is decided on them).
 */
export interface TrialWindow {
  readonly from?: number;
  readonly to?: number;
  readonly warmupFrom?: number;
}

export interface TrialSpec {
  /** The trial's parameters, laid over the setup's base params. */
  readonly params: Readonly<Record<string, unknown>>;
  readonly window?: TrialWindow;
  /** Starting cash of this trial, when not the setup's (walk-forward compounds window to window). */
  readonly cash?: number;
}

/** The summary statistics of a trial (the report's, without curves). */
export type TrialMetrics = ReportStats;

export interface TrialResult {
  readonly params: Readonly<Record<string, unknown>>;
  readonly finalValue: number;
  readonly fills: readonly BacktestFill[];
  readonly metrics: TrialMetrics;
  /** Orders risk refused, all reasons together. */
  readonly refused: number;
  readonly bars: number;
  readonly elapsedMs: number;
  /** The equity at the end of each bar time (walk-forward stitches these). */
  readonly curve?: readonly { time: number; equity: number }[];
  /** Everything the backtest report shows (with `keepReport`; in this thread only: it is large). */
  readonly report?: ReportData;
}

const timeOf = (it: FeedItem) => (it.kind === 'bar' ? it.bar.time : it.tick.time);

/** The items a window reads: warm-up (marked as history by the feed) and the traded stretch. */
export function windowItems(items: readonly FeedItem[], w: TrialWindow | undefined): readonly FeedItem[] {
  if (!w) return items;
  const lo = w.warmupFrom ?? w.from;
  return items.filter((it) => (lo === undefined || timeOf(it) >= lo) && (w.to === undefined || timeOf(it) < w.to));
}

/**
 * One trial: a backtest through the same agents, bus and limits as `sextant backtest`, over items
 * already in memory. With the same parameters and data its result equals a `sextant backtest`
 * run's (tests/integration/optimize.test.ts).
 */
export async function runTrial(
  items: readonly FeedItem[],
  setup: TrialSetup,
  spec: TrialSpec,
  options: { readonly keepCurve?: boolean; readonly keepReport?: ReportMeta; readonly name?: string } = {},
): Promise<TrialResult> {
  const collector = new ReportCollector();
  const cash = spec.cash ?? setup.cash;
  const feed = memoryFeed(windowItems(items, spec.window), {
    name: options.name ?? 'memory',
    ...(spec.window?.from !== undefined ? { historyBefore: spec.window.from } : {}),
  });
  const result = await runBacktest({
    data: feed,
    symbol: '',
    strategy: { ...setup.strategy, params: { ...setup.strategy.params, ...spec.params } },
    cash,
    transport: 'memory',
    costs: setup.costs,
    limits: setup.limits,
    riskMode: setup.riskMode,
    ...(setup.guard ? { guard: setup.guard } : {}),
    onEnvelope: collector.onEnvelope,
  });
  const data = collector.data(
    cash,
    options.keepReport ?? { symbol: '', strategy: '', data: '', costs: '', generatedAt: new Date(0) },
    result.risk,
    options.keepReport !== undefined,
  );
  return {
    params: spec.params,
    finalValue: result.finalValue,
    fills: result.fills,
    metrics: data.stats,
    refused: result.risk.refusals.total,
    bars: collector.barCount,
    elapsedMs: result.elapsedMs,
    ...(options.keepCurve ? { curve: data.curve.map((p) => ({ time: p.time, equity: p.equity })) } : {}),
    ...(options.keepReport ? { report: data } : {}),
  };
}
