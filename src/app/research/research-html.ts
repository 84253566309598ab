import { CSS, escapeHtml, fixed, money, pageHead, pct, scriptText, type ReportStats } from '../backtest/index.js';
import { chartAssets } from '../../infra/charts/index.js';
import type { Objective, Ranked } from './objective.js';
import type { Heatmap, ParamRobustness } from './robustness.js';

/** A self-contained research report page (no fetch: styles, scripts and data inline). */
export function researchPage(title: string, meta: string, body: string, charts?: string): string {
  const chart = charts ? chartAssets() : undefined;
  const extra =
    '.heat td{color:#111;text-align:center;min-width:4.5rem}.heat th{text-align:center}\n.bar{display:inline-block;height:.7rem;background:#1a56db;vertical-align:middle}';
  return `${pageHead(title, [...(chart ? [chart.css.body] : []), CSS, extra])}
<body>
<h1>${escapeHtml(title)}</h1>
<p class="meta">${escapeHtml(meta)}</p>
${body}
${chart ? `<script>${scriptText(chart.js.body)}</script>\n<script>${scriptText(charts!)}</script>` : ''}
</body>
</html>
`;
}

const show = (v: unknown) => escapeHtml(typeof v === 'number' ? String(Number(v.toPrecision(8))) : String(v));

/** A score as shown: a percentage for returns, else a ratio. */
export const scoreText = (objective: Objective, x: number | undefined): string =>
  x === undefined ? 'n/a' : objective === 'return' ? pct(x) : x === Infinity ? '∞' : fixed(x);

/** The metrics columns every trial table shows. */
export const METRIC_COLUMNS: readonly [string, (m: ReportStats) => string][] = [
  ['Return', (m) => pct(m.totalReturn)],
  ['CAGR', (m) => pct(m.cagr)],
  ['Sharpe', (m) => fixed(m.sharpe)],
  ['Sortino', (m) => fixed(m.sortino)],
  ['Calmar', (m) => fixed(m.calmar)],
  ['Max DD', (m) => pct(m.maxDrawdown)],
  ['Profit factor', (m) => (m.profitFactor === Infinity ? '∞' : fixed(m.profitFactor))],
  ['Trades', (m) => String(m.closedTrades)],
  ['Win rate', (m) => pct(m.winRate)],
];

export function trialsTable(trials: readonly Ranked[], params: readonly string[], objective: Objective): string {
  const head = `<tr><th>#</th>${params.map((p) => `<th>${escapeHtml(p)}</th>`).join('')}<th>Score (${objective})</th><th>Final value</th>${METRIC_COLUMNS.map(([h]) => `<th>${h}</th>`).join('')}<th class="l">Note</th></tr>`;
  const rows = trials.map(
    (t) =>
      `<tr><td>${t.rank}</td>${params.map((p) => `<td>${show(t.params[p])}</td>`).join('')}<td>${scoreText(objective, t.score)}</td><td>${money(t.finalValue)}</td>${METRIC_COLUMNS.map(([, f]) => `<td>${f(t.metrics)}</td>`).join('')}<td class="l">${escapeHtml(t.excluded ?? (t.refused > 0 ? `${t.refused} orders refused by risk` : ''))}</td></tr>`,
  );
  return `<div class="scroll"><table id="trials"><thead>${head}</thead><tbody>${rows.join('\n')}</tbody></table></div>`;
}

/** Red (worst) to green (best) over the scored cells. */
function heatColor(x: number | undefined, lo: number, hi: number): string {
  if (x === undefined) return '#f3f4f6';
  const f = hi > lo ? (x - lo) / (hi - lo) : 0.5;
  return `hsl(${Math.round(f * 120)}, 70%, ${Math.round(80 - 15 * Math.abs(f - 0.5))}%)`;
}

export function heatmapTable(h: Heatmap, objective: Objective): string {
  const scored = h.cells.flat().filter((x): x is number => x !== undefined && Number.isFinite(x));
  const lo = Math.min(...scored);
  const hi = Math.max(...scored);
  const head = `<tr><th>${escapeHtml(h.y)} \\ ${escapeHtml(h.x)}</th>${h.xs.map((x) => `<th>${show(x)}</th>`).join('')}</tr>`;
  const rows = h.ys.map(
    (y, yi) =>
      `<tr><th>${show(y)}</th>${h.cells[yi]!.map((c) => `<td style="background:${heatColor(c, lo, hi)}">${scoreText(objective, c)}</td>`).join('')}</tr>`,
  );
  return `<div class="scroll"><table class="heat" id="heatmap"><thead>${head}</thead><tbody>${rows.join('')}</tbody></table></div>
<p class="meta">Each cell: the best ${escapeHtml(objective)} of the trials with that pair${h.cells.length > 0 ? ' (over any other parameter varied)' : ''}; grey: no scored trial.</p>`;
}

export function robustnessTable(r: readonly ParamRobustness[], objective: Objective): string {
  return r
    .map((p) => {
      const means = p.values.map((v) => v.mean).filter((x): x is number => x !== undefined && Number.isFinite(x));
      const hi = Math.max(...means.map(Math.abs), 1e-12);
      const rows = p.values.map(
        (v) =>
          `<tr><td>${show(v.value)}</td><td>${v.trials}</td><td>${scoreText(objective, v.mean)}</td><td>${scoreText(objective, v.min)}</td><td>${scoreText(objective, v.max)}</td><td class="l"><span class="bar" style="width:${v.mean === undefined || !Number.isFinite(v.mean) ? 0 : Math.round((60 * Math.abs(v.mean)) / hi)}px;${v.mean !== undefined && v.mean < 0 ? 'background:#b3261e' : ''}"></span></td></tr>`,
      );
      return `<h3>${escapeHtml(p.param)}</h3><table class="robust"><thead><tr><th>Value</th><th>Trials</th><th>Mean</th><th>Worst</th><th>Best</th><th class="l"></th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
    })
    .join('\n');
}

/** An equity chart (uPlot) script over series drawn into `#<id>`: x in ms, one or more lines. */
export function lineChartScript(
  id: string,
  times: readonly number[],
  series: readonly { label: string; color: string; values: readonly (number | null)[] }[],
): string {
  const data = JSON.stringify([times.map((t) => t / 1000), ...series.map((s) => s.values)]).replace(/</g, '\\u003c');
  const defs = JSON.stringify(series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5 })));
  return `(function () {
  var el = document.getElementById(${JSON.stringify(id)});
  new uPlot({ width: el.clientWidth || 800, height: 300, scales: { x: { time: true } }, axes: [{}, { size: 70 }], series: [{}].concat(${defs}) }, ${data}, el);
  document.body.setAttribute('data-charts', 'ready');
})();`;
}
