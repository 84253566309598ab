import { writeFile } from 'node:fs/promises';
import { seededPrng } from '../../agents/data/index.js';
import { strategyDefinition } from '../../agents/strategy/index.js';
import { pct } from '../app/backtest/index.js';
import {
  defaultThreads,
  gridPoints,
  heatmap,
  heatmapTable,
  optimize,
  paramFields,
  parseDimension,
  parseObjective,
  randomPoints,
  startTrialThreads,
  type TrialThreads,
  researchPage,
  robustness,
  robustnessTable,
  scoreText,
  trialsTable,
  METRIC_COLUMNS,
  type Dimension,
  type Objective,
  type OptimizeResult,
} from '../app/research/index.js';
import {
  progressLine,
  STUDY_HELP,
  STUDY_OPTIONS,
  studyCommand,
  studyInput,
  UsageError,
  type StudyInput,
  type Values,
} from './study-input.js';

const HELP = `Usage: sextant optimize --data <csv> --symbol <SYM> --grid <name=spec> [--grid ...] [options]

Runs the strategy once per parameter set, each run a full backtest through the agents (the same
limits, costs and fills as sextant backtest with those parameters), in worker threads, and ranks
the results.

  --grid <name=spec>     A parameter to vary (repeat it): lo..hi:step (inclusive), lo..hi (every
                         integer; a real range only with --random), or a list a,b,c. Names and
                         types come from the strategy's parameters (sextant strategy list)
  --random <n>           Try n parameter sets drawn at random from the --grid ranges instead of
                         every combination
  --seed <n>             Seed of --random (default 1): the same seed draws the same sets
  --objective <name>     Rank by return (default), sharpe, sortino, calmar or profit-factor
  --min-trades <n>       Rank trials with fewer closed trades last (default 0)
  --workers <n>          Worker threads (default: one per core, ${defaultThreads()} here; 0 runs in this thread)
  --resume <file>        Keep finished trials in this NDJSON file; a run with the same file skips
                         them (a stopped study resumes where it was)
  --top <n>              Rows in the text table (default 10)
  --report <file.html>   Write an HTML report: every trial, a heatmap of the first two --grid
                         parameters, and how the score varies with each parameter
${STUDY_HELP}
Example:
  sextant optimize --data tests/fixtures/data/market/orcl-1995-2014.csv --symbol ORCL \\
    --grid fast=5..20:5 --grid slow=30..60:10 --objective sharpe --report sweep.html`;

/** The flags of a parameter search (sextant optimize, walk-forward). */
export const SWEEP_OPTIONS = {
  ...STUDY_OPTIONS,
  grid: { type: 'string', multiple: true },
  random: { type: 'string' },
  seed: { type: 'string', default: '1' },
  objective: { type: 'string', default: 'return' },
  'min-trades': { type: 'string', default: '0' },
  workers: { type: 'string' },
} as const;

const OPTIONS = {
  ...SWEEP_OPTIONS,
  resume: { type: 'string' },
  top: { type: 'string', default: '10' },
  report: { type: 'string' },
} as const;

const int = (name: string, text: string | undefined, min: number): number | undefined => {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${name} must be an integer of at least ${min}, got "${text}"`);
  return n;
};

/** The study's dimensions and points from --grid / --random / --seed. */
export function studyPoints(
  input: StudyInput,
  grid: readonly string[] | undefined,
  random: string | undefined,
  seed: string | undefined,
): { dims: Dimension[]; points: Record<string, unknown>[] } {
  if (!grid || grid.length === 0) throw new UsageError('--grid is required (e.g. --grid fast=5..20:5)');
  const fields = paramFields(strategyDefinition(input.setup.strategy.strategy).params);
  const dims = grid.map((g) => {
    try {
      return parseDimension(g, fields, input.strategyName);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  });
  const names = dims.map((d) => d.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new UsageError(`--grid ${twice} is given twice`);
  const n = int('random', random, 1);
  try {
    const points =
      n === undefined ? gridPoints(dims) : randomPoints(dims, n, seededPrng(int('seed', seed, 0)!, 'optimize'));
    return { dims, points };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** `sextant optimize`. Resolves to the exit code. */
export async function optimizeCommand(args: string[]): Promise<number> {
  return studyCommand('optimize', OPTIONS, HELP, args, async (values) => {
    const threads = int('workers', values.workers, 0) ?? defaultThreads();
    // the worker threads load their modules while this one reads the data
    const pool = threads > 0 ? startTrialThreads(threads) : undefined;
    try {
      return await runOptimize(values, threads, pool);
    } finally {
      await pool?.close();
    }
  });
}

/** The study itself, on threads already started (`pool`; none with --workers 0). */
async function runOptimize(
  values: Values<typeof OPTIONS>,
  threads: number,
  pool: TrialThreads | undefined,
): Promise<number> {
  const input = await studyInput(values, (m) => console.error(`sextant optimize: ${m}`));
  const { dims, points } = studyPoints(input, values.grid, values.random, values.seed);
  let objective: Objective;
  try {
    objective = parseObjective(values.objective!);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const progress = values.json ? undefined : progressLine('trials');
  const result = await optimize({
    items: input.items,
    setup: input.setup,
    points,
    objective,
    minTrades: int('min-trades', values['min-trades'], 0)!,
    threads,
    ...(pool ? { runner: pool.load(input.items, input.setup) } : {}),
    ...(values.resume ? { resume: values.resume } : {}),
    ...(progress ? { onProgress: progress.update } : {}),
  });
  progress?.done();
  const params = dims.map((d) => d.name);
  if (values.report) await writeFile(values.report, optimizeReport(input, result, params, objective));
  if (values.json) console.log(JSON.stringify(optimizeJson(input, result, objective)));
  else console.log(optimizeText(input, result, params, objective, int('top', values.top, 1)!));
  if (values.report) (values.json ? console.error : console.log)(`  report        ${values.report}`);
  return 0;
}

export function optimizeJson(input: StudyInput, r: OptimizeResult, objective: Objective) {
  return {
    strategy: input.strategyName,
    data: input.dataLabel,
    symbols: input.symbols,
    objective,
    risk: input.setup.riskMode,
    threads: r.threads,
    elapsedMs: r.elapsedMs,
    resumed: r.resumed,
    ...(input.skippedRows > 0 ? { skippedRows: input.skippedRows } : {}),
    trials: r.ranked.map((t) => ({
      rank: t.rank,
      params: t.params,
      score: t.score ?? null,
      ...(t.excluded ? { excluded: t.excluded } : {}),
      finalValue: t.finalValue,
      fills: t.fills.length,
      refused: t.refused,
      metrics: t.metrics,
    })),
    skipped: r.skipped,
  };
}

function optimizeText(
  input: StudyInput,
  r: OptimizeResult,
  params: readonly string[],
  objective: Objective,
  top: number,
): string {
  const head = ['#', ...params, objective, 'final value', ...METRIC_COLUMNS.slice(0, 8).map(([h]) => h)];
  const rows = r.ranked
    .slice(0, top)
    .map((t) => [
      String(t.rank),
      ...params.map((p) => String(t.params[p])),
      scoreText(objective, t.score),
      t.finalValue.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
      ...METRIC_COLUMNS.slice(0, 8).map(([, f]) => f(t.metrics)),
    ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => '  ' + cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  const ran = r.ranked.length - r.resumed;
  const out = [
    `Optimize ${input.strategyName} on ${input.dataLabel}: ${r.ranked.length} trials (${ran} run${r.resumed ? `, ${r.resumed} resumed` : ''}) in ${(r.elapsedMs / 1000).toFixed(1)} s on ${r.threads || 'no'} worker thread${r.threads === 1 ? '' : 's'}; risk ${input.setup.riskMode === 'off' ? 'off (no limits)' : 'paper limits'}`,
    line(head),
    ...rows.map(line),
  ];
  if (r.ranked.length > top) out.push(`  ... ${r.ranked.length - top} more (--top, --json or --report for all)`);
  const excluded = r.ranked.filter((t) => t.excluded);
  if (excluded.length > 0) out.push(`  ranked last: ${excluded.length} (${excluded[0]!.excluded})`);
  const refused = r.ranked.filter((t) => t.refused > 0);
  if (refused.length > 0) out.push(`  ${refused.length} trials had orders refused by risk (see --json: refused)`);
  if (r.skipped.length > 0)
    out.push(`  skipped ${r.skipped.length} parameter sets the strategy refuses, e.g. ${r.skipped[0]!.reason}`);
  if (input.skippedRows > 0) out.push(`  ${input.skippedRows} bad CSV rows skipped (--lenient)`);
  const best = r.ranked[0];
  if (best && best.score !== undefined)
    out.push(
      `  best: ${params.map((p) => `${p}=${String(best.params[p])}`).join(' ')} (${objective} ${scoreText(objective, best.score)}, return ${pct(best.metrics.totalReturn)})`,
    );
  return out.join('\n');
}

function optimizeReport(input: StudyInput, r: OptimizeResult, params: readonly string[], objective: Objective): string {
  const parts = [`<h2>Trials (best first by ${objective})</h2>`, trialsTable(r.ranked, params, objective)];
  if (params.length >= 2)
    parts.push(
      `<h2>Heatmap: ${params[0]} × ${params[1]}</h2>`,
      heatmapTable(heatmap(r.ranked, params[0]!, params[1]!), objective),
    );
  parts.push(
    '<h2>Parameter robustness</h2>',
    '<p class="meta">For each value of a parameter, the mean, worst and best score over the other parameters. A good choice sits on a plateau, not a spike.</p>',
    robustnessTable(robustness(r.ranked, params), objective),
  );
  if (r.skipped.length > 0)
    parts.push(
      `<h2>Skipped</h2><p>${r.skipped.length} parameter sets the strategy refuses, e.g. ${r.skipped[0]!.reason}</p>`,
    );
  return researchPage(
    `Optimize ${input.strategyName}: ${params.join(', ')}`,
    `${input.dataLabel} · ${r.ranked.length} trials · ${r.threads} worker threads · ${(r.elapsedMs / 1000).toFixed(1)} s · risk ${input.setup.riskMode} · objective ${objective}`,
    parts.join('\n'),
  );
}
