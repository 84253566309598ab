import { seededPrng } from '../../agents/data/index.js';
import { escapeHtml, pct, writeReport } from '../app/backtest/index.js';
import { monteCarlo, runTrial, tradeReturns, type MonteCarloResult } from '../app/research/index.js';
import { STUDY_HELP, STUDY_OPTIONS, studyCommand, studyInput, UsageError } from './study-input.js';

const HELP = `Usage: sextant montecarlo --data <csv> --symbol <SYM> [options]

Backtests the strategy once (as sextant backtest), then simulates many other orders of its trades:
each closed round trip is a return on the account (its PnL over the equity before it opened),
and a run compounds a sequence of them on equity, so drawdowns stay within 0-100%.

  --runs <n>             Simulated sequences (default 1000)
  --seed <n>             Seed (default 1): the same seed gives the same percentiles
  --method <m>           bootstrap (default): draw trades with replacement (final returns vary);
                         shuffle: reorder them (the final return is fixed, the path varies)
  --ruin <x%>            A run is ruined when its max drawdown reaches this (default 50%)
  --report <file.html>   The backtest report with the Monte Carlo section
${STUDY_HELP}
Example:
  sextant montecarlo --data tests/fixtures/data/market/orcl-1995-2014.csv --symbol ORCL \\
    --param fast=15 --param slow=40 --runs 2000 --seed 7 --report mc.html`;

const OPTIONS = {
  ...STUDY_OPTIONS,
  runs: { type: 'string', default: '1000' },
  seed: { type: 'string', default: '1' },
  method: { type: 'string', default: 'bootstrap' },
  ruin: { type: 'string', default: '50%' },
  report: { type: 'string' },
} as const;

/** `50%` or `0.5` as a share in (0, 1]. */
function share(name: string, text: string): number {
  const x = text.endsWith('%') ? Number(text.slice(0, -1)) / 100 : Number(text);
  if (!(x > 0 && x <= 1))
    throw new UsageError(`--${name} must be a share above 0 up to 100% (e.g. 50%), got "${text}"`);
  return x;
}

/** `sextant montecarlo`. Resolves to the exit code. */
export async function montecarloCommand(args: string[]): Promise<number> {
  return studyCommand('montecarlo', OPTIONS, HELP, args, async (values) => {
    const runs = Number(values.runs);
    const seed = Number(values.seed);
    if (!Number.isInteger(runs) || runs < 1)
      throw new UsageError(`--runs must be a whole number >= 1, got "${values.runs}"`);
    if (!Number.isInteger(seed)) throw new UsageError(`--seed must be a whole number, got "${values.seed}"`);
    if (values.method !== 'bootstrap' && values.method !== 'shuffle')
      throw new UsageError(`--method must be bootstrap or shuffle, got "${values.method}"`);
    const ruin = share('ruin', values.ruin!);
    const input = await studyInput(values, (m) => console.error(`sextant montecarlo: ${m}`));
    const trial = await runTrial(
      input.items,
      input.setup,
      { params: {} },
      {
        keepReport: {
          symbol: input.symbols.join(', '),
          strategy: input.strategyName,
          data: input.dataLabel,
          costs: `fees ${input.setup.costs.feeBps} bps, slippage ${input.setup.costs.slippageBps} bps`,
          generatedAt: new Date(),
        },
      },
    );
    const report = trial.report!;
    const returns = tradeReturns(report.trips, report.curve, input.setup.cash);
    if (returns.length === 0)
      throw new UsageError(
        'the backtest closed no trade, so there is nothing to resample (try other parameters or data)',
      );
    const mc = monteCarlo(returns, { runs, method: values.method, ruin }, seededPrng(seed, 'montecarlo'));
    if (values.report) await writeReport(values.report, report, monteCarloHtml(mc, seed));
    if (values.json) {
      const { samples: _samples, ...summary } = mc;
      console.log(
        JSON.stringify({ seed, backtest: { finalValue: trial.finalValue, metrics: trial.metrics }, ...summary }),
      );
    } else console.log(monteCarloText(mc, seed, input.strategyName, input.dataLabel, trial.finalValue));
    if (values.report) (values.json ? console.error : console.log)(`  report        ${values.report}`);
    return 0;
  });
}

function monteCarloText(
  mc: MonteCarloResult,
  seed: number,
  strategy: string,
  data: string,
  finalValue: number,
): string {
  const row = (label: string, p: { p5: number; p50: number; p95: number }, actual: number) =>
    `  ${label.padEnd(14)} ${pct(p.p5).padStart(9)} ${pct(p.p50).padStart(9)} ${pct(p.p95).padStart(9)}   ${pct(actual).padStart(9)}`;
  return [
    `Monte Carlo ${strategy} on ${data}: ${mc.runs} ${mc.method} runs of ${mc.trades} trades (seed ${seed}); backtest final value ${finalValue.toLocaleString('en-US', { minimumFractionDigits: 2 })}`,
    `  ${''.padEnd(14)} ${'5%'.padStart(9)} ${'50%'.padStart(9)} ${'95%'.padStart(9)}   ${'as traded'.padStart(9)}`,
    row('final return', mc.finalReturn, mc.actual.finalReturn),
    row('max drawdown', mc.maxDrawdown, mc.actual.maxDrawdown),
    `  probability of ruin (max drawdown >= ${pct(mc.ruin)}): ${pct(mc.probabilityOfRuin)}`,
    '  (trade returns compounded on equity: PnL / equity before the trade; the curve between trades is not modelled)',
  ].join('\n');
}

/** A histogram of sorted samples as inline SVG bars. */
function histogram(sorted: readonly number[], label: string, color: string): string {
  const bins = 30;
  const lo = sorted[0]!;
  const hi = sorted[sorted.length - 1]!;
  const width = hi > lo ? (hi - lo) / bins : 1;
  const counts = new Array<number>(bins).fill(0);
  for (const x of sorted) counts[Math.min(bins - 1, Math.floor((x - lo) / width))]!++;
  const max = Math.max(...counts);
  const bars = counts
    .map(
      (c, i) =>
        `<rect x="${i * 10}" y="${100 - (100 * c) / max}" width="9" height="${(100 * c) / max}" fill="${color}"/>`,
    )
    .join('');
  return `<figure><svg viewBox="0 0 300 100" width="450" height="150" role="img" aria-label="${escapeHtml(label)}">${bars}</svg><figcaption class="meta">${escapeHtml(label)}: ${pct(lo)} to ${pct(hi)}</figcaption></figure>`;
}

/** The Monte Carlo section of the backtest report. */
export function monteCarloHtml(mc: MonteCarloResult, seed: number): string {
  const row = (label: string, p: { p5: number; p50: number; p95: number }, actual: number) =>
    `<tr><td class="l">${label}</td><td>${pct(p.p5)}</td><td>${pct(p.p50)}</td><td>${pct(p.p95)}</td><td>${pct(actual)}</td></tr>`;
  return `<h2 id="montecarlo">Monte Carlo</h2>
<p>${mc.runs} ${mc.method} runs of the ${mc.trades} closed trades, seed ${seed}. Each trade is a return on the account (its PnL over the equity before it opened); a run compounds a sequence of them on equity, so a drawdown stays within 0–100%.</p>
<table><thead><tr><th class="l"></th><th>5%</th><th>50%</th><th>95%</th><th>As traded</th></tr></thead><tbody>
${row('Final return', mc.finalReturn, mc.actual.finalReturn)}
${row('Max drawdown', mc.maxDrawdown, mc.actual.maxDrawdown)}
</tbody></table>
<p>Probability of ruin (max drawdown ≥ ${pct(mc.ruin)}): <b>${pct(mc.probabilityOfRuin)}</b></p>
${histogram(mc.samples.finalReturn, 'Final return of each run', '#1a56db')}
${histogram(mc.samples.maxDrawdown, 'Max drawdown of each run', '#b3261e')}`;
}
