import type { FeedItem } from '../../../agents/data/index.js';
import { reportStats, type EquityPoint, type ReportStats } from '../backtest/index.js';
import type { Objective } from './objective.js';
import { optimize } from './optimize.js';
import { trialRunner, type TrialThreads } from './pool.js';
import type { TrialSetup } from './trial.js';

/** A length of time in calendar units: days, weeks, months or years (UTC). */
export interface Period {
  readonly n: number;
  readonly unit: 'd' | 'w' | 'm' | 'y';
}

/** `90d`, `12w`, `6m`, `2y`. */
export function parsePeriod(name: string, text: string): Period {
  const m = /^(\d+)\s*(d|w|m|y)$/.exec(text.trim());
  if (!m || Number(m[1]) <= 0) throw new Error(`--${name} takes a length such as 90d, 12w, 6m or 2y, got "${text}"`);
  return { n: Number(m[1]), unit: m[2] as Period['unit'] };
}

/** `t` moved forward by `p` (months and years on the UTC calendar, clamped to the month's last day). */
export function addPeriod(t: number, p: Period): number {
  if (p.unit === 'd') return t + p.n * 86_400_000;
  if (p.unit === 'w') return t + p.n * 7 * 86_400_000;
  const d = new Date(t);
  const months = p.unit === 'm' ? p.n : 12 * p.n;
  const y = d.getUTCFullYear();
  const mo = d.getUTCMonth() + months;
  const last = new Date(Date.UTC(y, mo + 1, 0)).getUTCDate();
  return Date.UTC(y, mo, Math.min(d.getUTCDate(), last), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds());
}

export interface WindowPlan {
  readonly index: number;
  readonly inSample: { readonly from: number; readonly to: number };
  readonly outOfSample: { readonly from: number; readonly to: number };
}

/**
 * The windows over [start, end]: in-sample then out-of-sample, moved forward by the out-of-sample
 * length each time. Rolling: the in-sample keeps its length; anchored: it always starts at `start`.
 * The last out-of-sample window ends at the data's end.
 */
export function planWindows(
  start: number,
  end: number,
  inSample: Period,
  outOfSample: Period,
  mode: 'rolling' | 'anchored',
): WindowPlan[] {
  const out: WindowPlan[] = [];
  let isFrom = start;
  let isTo = addPeriod(start, inSample);
  while (isTo <= end) {
    const oosTo = Math.min(addPeriod(isTo, outOfSample), end + 1);
    out.push({ index: out.length, inSample: { from: isFrom, to: isTo }, outOfSample: { from: isTo, to: oosTo } });
    if (mode === 'rolling') isFrom = addPeriod(isFrom, outOfSample);
    isTo = addPeriod(isTo, outOfSample);
  }
  return out;
}

export interface WindowResult extends WindowPlan {
  /** The in-sample winner, or undefined when no parameter set scored (the window is not traded). */
  readonly params: Readonly<Record<string, unknown>> | undefined;
  readonly note?: string;
  readonly inSampleScore: number | undefined;
  readonly inSampleMetrics: ReportStats | undefined;
  readonly outOfSampleMetrics: ReportStats | undefined;
  readonly outOfSampleStart: number;
  readonly outOfSampleEnd: number;
  /** OOS CAGR over IS CAGR of the winner; undefined when the in-sample CAGR is not positive. */
  readonly efficiency: number | undefined;
}

export interface ParamStability {
  readonly param: string;
  /** The winner's value in each traded window, in order. */
  readonly chosen: readonly unknown[];
  readonly distinct: number;
  /** Share of windows that chose the most common value. */
  readonly modeShare: number;
  /** Standard deviation over mean of numeric choices (population), undefined for others. */
  readonly variation: number | undefined;
}

export interface WalkForwardResult {
  readonly mode: 'rolling' | 'anchored';
  readonly windows: readonly WindowResult[];
  /** The out-of-sample stretches joined: each starts with the previous one's final equity. */
  readonly curve: readonly { time: number; equity: number }[];
  readonly stitched: ReportStats;
  /** Stitched out-of-sample CAGR over the mean in-sample CAGR of the winners. */
  readonly efficiency: number | undefined;
  readonly stability: readonly ParamStability[];
  readonly trials: number;
  readonly elapsedMs: number;
  readonly threads: number;
}

export interface WalkForwardOptions {
  readonly items: readonly FeedItem[];
  readonly setup: TrialSetup;
  readonly points: readonly Record<string, unknown>[];
  readonly params: readonly string[];
  readonly objective: Objective;
  readonly minTrades?: number;
  readonly threads?: number;
  /** Threads started ahead of the data (startTrialThreads) to run on instead; closed at the end. */
  readonly pool?: TrialThreads;
  readonly inSample: Period;
  readonly outOfSample: Period;
  readonly mode: 'rolling' | 'anchored';
  readonly onProgress?: (done: number, total: number) => void;
}

const timeOf = (it: FeedItem) => (it.kind === 'bar' ? it.bar.time : it.tick.time);

/** A curve with its running drawdown (the report statistics need it). */
function withDrawdown(curve: readonly { time: number; equity: number }[]): EquityPoint[] {
  let peak = -Infinity;
  return curve.map((p) => {
    peak = Math.max(peak, p.equity);
    return { time: p.time, equity: p.equity, drawdown: peak > 0 ? (peak - p.equity) / peak : 0, exposed: false };
  });
}

/**
 * Walk-forward analysis: for each window, optimize over the in-sample stretch, then run the
 * winner over the out-of-sample stretch, warmed up on the in-sample bars (history: no order is
 * decided on them). Every run is a full backtest through the agents, on one pool of worker threads.
 * Each out-of-sample run starts flat with the previous one's final equity as its cash (a position
 * open at a window's end is valued at its last close, then not carried).
 */
export async function walkForward(o: WalkForwardOptions): Promise<WalkForwardResult> {
  const started = performance.now();
  if (o.items.length === 0) throw new Error('no bars to walk forward over');
  const plan = planWindows(
    timeOf(o.items[0]!),
    timeOf(o.items[o.items.length - 1]!),
    o.inSample,
    o.outOfSample,
    o.mode,
  );
  if (plan.length === 0)
    throw new Error(
      'the data is shorter than one in-sample window plus its out-of-sample window: shorten --in-sample or use more data',
    );
  const runner = o.pool ? o.pool.load(o.items, o.setup) : await trialRunner(o.items, o.setup, o.threads);
  const total = plan.length * (o.points.length + 1);
  let done = 0;
  const windows: WindowResult[] = [];
  const curve: { time: number; equity: number }[] = [];
  let cash = o.setup.cash;
  let trials = 0;
  try {
    for (const w of plan) {
      const study = await optimize({
        items: o.items,
        setup: o.setup,
        points: o.points,
        objective: o.objective,
        minTrades: o.minTrades ?? 0,
        window: w.inSample,
        runner,
        onProgress: (d) => o.onProgress?.(done + d, total),
      });
      done += o.points.length;
      trials += study.ranked.length;
      const best = study.ranked[0];
      if (!best || best.score === undefined) {
        windows.push({
          ...w,
          params: undefined,
          note: best?.excluded ?? 'every parameter set was refused by the strategy',
          inSampleScore: undefined,
          inSampleMetrics: best?.metrics,
          outOfSampleMetrics: undefined,
          outOfSampleStart: cash,
          outOfSampleEnd: cash,
          efficiency: undefined,
        });
        done++;
        o.onProgress?.(done, total);
        continue;
      }
      const oos = await runner.run(
        {
          params: best.params,
          window: { warmupFrom: w.inSample.from, from: w.outOfSample.from, to: w.outOfSample.to },
          cash,
        },
        { keepCurve: true },
      );
      trials++;
      done++;
      o.onProgress?.(done, total);
      for (const p of oos.curve ?? []) curve.push(p);
      const isCagr = best.metrics.cagr;
      const oosCagr = oos.metrics.cagr;
      windows.push({
        ...w,
        params: best.params,
        inSampleScore: best.score,
        inSampleMetrics: best.metrics,
        outOfSampleMetrics: oos.metrics,
        outOfSampleStart: cash,
        outOfSampleEnd: oos.finalValue,
        efficiency: isCagr !== undefined && isCagr > 0 && oosCagr !== undefined ? oosCagr / isCagr : undefined,
      });
      cash = oos.finalValue;
    }
  } finally {
    await runner.close();
  }
  const stitched = reportStats(withDrawdown(curve), [], [], o.setup.cash);
  const traded = windows.filter((w) => w.params !== undefined);
  const isCagrs = traded.map((w) => w.inSampleMetrics!.cagr).filter((x): x is number => x !== undefined);
  const meanIs = isCagrs.length > 0 ? isCagrs.reduce((s, x) => s + x, 0) / isCagrs.length : undefined;
  return {
    mode: o.mode,
    windows,
    curve,
    stitched: {
      ...stitched,
      closedTrades: traded.reduce((s, w) => s + w.outOfSampleMetrics!.closedTrades, 0),
      fills: traded.reduce((s, w) => s + w.outOfSampleMetrics!.fills, 0),
      fees: traded.reduce((s, w) => s + w.outOfSampleMetrics!.fees, 0),
    },
    efficiency: meanIs !== undefined && meanIs > 0 && stitched.cagr !== undefined ? stitched.cagr / meanIs : undefined,
    stability: o.params.map((param) =>
      stabilityOf(
        param,
        traded.map((w) => w.params![param]),
      ),
    ),
    trials,
    elapsedMs: Math.round(performance.now() - started),
    threads: runner.threads,
  };
}

function stabilityOf(param: string, chosen: unknown[]): ParamStability {
  const counts = new Map<unknown, number>();
  for (const v of chosen) counts.set(v, (counts.get(v) ?? 0) + 1);
  const nums = chosen.filter((v): v is number => typeof v === 'number');
  let variation: number | undefined;
  if (nums.length === chosen.length && nums.length > 0) {
    const mean = nums.reduce((s, x) => s + x, 0) / nums.length;
    const sd = Math.sqrt(nums.reduce((s, x) => s + (x - mean) ** 2, 0) / nums.length);
    variation = mean !== 0 ? sd / Math.abs(mean) : undefined;
  }
  return {
    param,
    chosen,
    distinct: counts.size,
    modeShare: chosen.length > 0 ? Math.max(...counts.values()) / chosen.length : 0,
    variation,
  };
}
