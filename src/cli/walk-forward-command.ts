import { writeFile } from 'node:fs/promises';
import { escapeHtml, fixed, money, pct } from '../app/backtest/index.js';
import {
  defaultThreads,
  lineChartScript,
  parseObjective,
  parsePeriod,
  researchPage,
  scoreText,
  startTrialThreads,
  walkForward,
  type Dimension,
  type Objective,
  type WalkForwardResult,
} from '../app/research/index.js';
import { studyPoints, SWEEP_OPTIONS } from './optimize-command.js';
import { progressLine, STUDY_HELP, studyCommand, studyInput, UsageError, type StudyInput } from './study-input.js';

const HELP = `Usage: sextant walk-forward --data <csv> --symbol <SYM> --grid <name=spec> ... [options]

Splits the data into windows. In each, the parameter sets are optimized over the in-sample
stretch, and the winner trades the out-of-sample stretch that follows (warmed up on the
in-sample bars, deciding no order on them). The out-of-sample results are joined into one equity
curve. Every run is a backtest through the agents, in worker threads.

  --in-sample <len>      In-sample length: 90d, 12w, 6m, 2y (default 4y)
  --out-of-sample <len>  Out-of-sample length, and the step between windows (default 1y)
  --mode <m>             rolling (default: the in-sample window moves) or anchored (it always
                         starts at the first bar and grows)
  --grid, --random, --seed, --objective, --min-trades, --workers   As sextant optimize
  --report <file.html>   The windows, the joined out-of-sample equity, parameter stability
${STUDY_HELP}
Walk-forward efficiency = out-of-sample CAGR / in-sample CAGR of the winners (about 0.5 or more
is usually read as robust; far below says the optimum was fitted to noise).
Example:
  sextant walk-forward --data tests/fixtures/data/market/orcl-1995-2014.csv --symbol ORCL \\
    --grid fast=5..20:5 --grid slow=30..60:10 --in-sample 4y --out-of-sample 2y --report wf.html`;

const OPTIONS = {
  ...SWEEP_OPTIONS,
  'in-sample': { type: 'string', default: '4y' },
  'out-of-sample': { type: 'string', default: '1y' },
  mode: { type: 'string', default: 'rolling' },
  report: { type: 'string' },
} as const;

const day = (t: number) => new Date(t).toISOString().slice(0, 10);

/** `sextant walk-forward`. Resolves to the exit code. */
export async function walkForwardCommand(args: string[]): Promise<number> {
  return studyCommand('walk-forward', OPTIONS, HELP, args, async (values) => {
    if (values.mode !== 'rolling' && values.mode !== 'anchored')
      throw new UsageError(`--mode must be rolling or anchored, got "${values.mode}"`);
    let objective: Objective;
    let inSample;
    let outOfSample;
    try {
      objective = parseObjective(values.objective!);
      inSample = parsePeriod('in-sample', values['in-sample']!);
      outOfSample = parsePeriod('out-of-sample', values['out-of-sample']!);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const minTrades = Number(values['min-trades']);
    if (!Number.isInteger(minTrades) || minTrades < 0)
      throw new UsageError(`--min-trades must be a whole number, got "${values['min-trades']}"`);
    const workers = values.workers === undefined ? defaultThreads() : Number(values.workers);
    if (!Number.isInteger(workers) || workers < 0)
      throw new UsageError(`--workers must be a whole number, got "${values.workers}"`);
    // the worker threads load their modules while this one reads the data
    const pool = workers > 0 ? startTrialThreads(workers) : undefined;
    let input: StudyInput;
    let dims: Dimension[];
    let result: WalkForwardResult;
    const progress = values.json ? undefined : progressLine('backtests');
    try {
      input = await studyInput(values, (m) => console.error(`sextant walk-forward: ${m}`));
      const study = studyPoints(input, values.grid, values.random, values.seed);
      dims = study.dims;
      result = await walkForward({
        items: input.items,
        setup: input.setup,
        points: study.points,
        params: dims.map((d) => d.name),
        objective,
        minTrades,
        threads: workers,
        ...(pool ? { pool } : {}),
        inSample,
        outOfSample,
        mode: values.mode,
        ...(progress ? { onProgress: progress.update } : {}),
      });
    } catch (err) {
      if (/shorter than one in-sample window|no bars/.test((err as Error).message))
        throw new UsageError((err as Error).message);
      throw err;
    } finally {
      await pool?.close();
    }
    progress?.done();
    const params = dims.map((d) => d.name);
    if (values.report) await writeFile(values.report, walkForwardReport(input, result, params, objective));
    if (values.json)
      console.log(JSON.stringify({ strategy: input.strategyName, data: input.dataLabel, objective, ...result }));
    else console.log(walkForwardText(input, result, params, objective));
    if (values.report) (values.json ? console.error : console.log)(`  report        ${values.report}`);
    return 0;
  });
}

function walkForwardText(input: StudyInput, r: WalkForwardResult, params: readonly string[], objective: Objective) {
  const lines = [
    `Walk-forward ${input.strategyName} on ${input.dataLabel}: ${r.windows.length} ${r.mode} windows, ${r.trials} backtests in ${(r.elapsedMs / 1000).toFixed(1)} s on ${r.threads} worker threads`,
    `  ${'in-sample'.padEnd(23)} ${'out-of-sample'.padEnd(23)} ${'winner'.padEnd(20)} ${`IS ${objective}`.padStart(10)} ${'IS CAGR'.padStart(8)} ${'OOS ret'.padStart(8)} ${'OOS CAGR'.padStart(8)} ${'WFE'.padStart(6)}`,
  ];
  for (const w of r.windows) {
    const winner = w.params ? params.map((p) => `${p}=${String(w.params![p])}`).join(' ') : '(not traded)';
    lines.push(
      `  ${`${day(w.inSample.from)}..${day(w.inSample.to)}`.padEnd(23)} ${`${day(w.outOfSample.from)}..${day(w.outOfSample.to)}`.padEnd(23)} ${winner.padEnd(20)} ${scoreText(objective, w.inSampleScore).padStart(10)} ${pct(w.inSampleMetrics?.cagr).padStart(8)} ${pct(w.outOfSampleMetrics?.totalReturn).padStart(8)} ${pct(w.outOfSampleMetrics?.cagr).padStart(8)} ${fixed(w.efficiency).padStart(6)}` +
        (w.note ? `  ${w.note}` : ''),
    );
  }
  const s = r.stitched;
  lines.push(
    `  out-of-sample joined: final ${money(s.finalEquity)} (return ${pct(s.totalReturn)}, CAGR ${pct(s.cagr)}, max drawdown ${pct(s.maxDrawdown)}, Sharpe ${fixed(s.sharpe)}, ${s.closedTrades} trades)`,
    `  walk-forward efficiency ${fixed(r.efficiency)} (OOS CAGR / mean IS CAGR of the winners)`,
    ...r.stability.map(
      (p) =>
        `  ${p.param}: chosen ${p.chosen.map(String).join(', ')} (${p.distinct} distinct, most common in ${pct(p.modeShare)} of windows${p.variation !== undefined ? `, variation ${fixed(p.variation)}` : ''})`,
    ),
  );
  return lines.join('\n');
}

function walkForwardReport(
  input: StudyInput,
  r: WalkForwardResult,
  params: readonly string[],
  objective: Objective,
): string {
  const rows = r.windows.map(
    (w) =>
      `<tr><td>${w.index + 1}</td><td class="l">${day(w.inSample.from)} – ${day(w.inSample.to)}</td><td class="l">${day(w.outOfSample.from)} – ${day(w.outOfSample.to)}</td>${params.map((p) => `<td>${escapeHtml(w.params ? String(w.params[p]) : '')}</td>`).join('')}<td>${scoreText(objective, w.inSampleScore)}</td><td>${pct(w.inSampleMetrics?.cagr)}</td><td>${pct(w.outOfSampleMetrics?.totalReturn)}</td><td>${pct(w.outOfSampleMetrics?.cagr)}</td><td>${pct(w.outOfSampleMetrics?.maxDrawdown)}</td><td>${fixed(w.efficiency)}</td><td class="l">${escapeHtml(w.note ?? '')}</td></tr>`,
  );
  const s = r.stitched;
  const stats = [
    ['Final equity', money(s.finalEquity)],
    ['Total return', pct(s.totalReturn)],
    ['CAGR', pct(s.cagr)],
    ['Max drawdown', pct(s.maxDrawdown)],
    ['Sharpe', fixed(s.sharpe)],
    ['Trades', String(s.closedTrades)],
    ['Walk-forward efficiency', fixed(r.efficiency)],
  ];
  const body = `<dl class="stats">${stats.map(([k, v]) => `<div><dt>${k}</dt><dd>${v}</dd></div>`).join('')}</dl>
<h2>Out-of-sample equity (joined)</h2><div id="equity" class="chart"></div>
<h2>Windows</h2>
<div class="scroll"><table id="windows"><thead><tr><th>#</th><th class="l">In-sample</th><th class="l">Out-of-sample</th>${params.map((p) => `<th>${escapeHtml(p)}</th>`).join('')}<th>IS ${objective}</th><th>IS CAGR</th><th>OOS return</th><th>OOS CAGR</th><th>OOS max DD</th><th>WFE</th><th class="l">Note</th></tr></thead><tbody>${rows.join('\n')}</tbody></table></div>
<h2>Parameter stability</h2>
<table id="stability"><thead><tr><th class="l">Parameter</th><th class="l">Chosen per window</th><th>Distinct</th><th>Most common</th><th>Variation (sd / mean)</th></tr></thead><tbody>${r.stability.map((p) => `<tr><td class="l">${escapeHtml(p.param)}</td><td class="l">${escapeHtml(p.chosen.map(String).join(', '))}</td><td>${p.distinct}</td><td>${pct(p.modeShare)}</td><td>${fixed(p.variation)}</td></tr>`).join('')}</tbody></table>
<h2>Definitions</h2><ul class="defs"><li><b>Walk-forward efficiency</b> (WFE) = out-of-sample CAGR / in-sample CAGR of the winner (per window), and for the whole run the joined out-of-sample CAGR over the mean in-sample CAGR. Undefined when the in-sample CAGR is not positive.</li><li>Each out-of-sample run starts flat with the previous one's final equity as cash; it is warmed up on its in-sample bars and decides no order on them.</li></ul>`;
  return researchPage(
    `Walk-forward ${input.strategyName}: ${params.join(', ')}`,
    `${input.dataLabel} · ${r.mode} windows · ${r.trials} backtests · ${r.threads} worker threads · risk ${input.setup.riskMode} · objective ${objective}`,
    body,
    lineChartScript(
      'equity',
      r.curve.map((p) => p.time),
      [
        {
          label: 'Out-of-sample equity',
          color: '#1a56db',
          values: r.curve.map((p) => Math.round(p.equity * 100) / 100),
        },
      ],
    ),
  );
}
