import { chartAssets } from '../../infra/charts/index.js';
import type { ReportData } from './report.js';
import type { ReportStats, RoundTrip } from './report-stats.js';
import { riskLines, type RiskReport } from './risk-log.js';
import { CSS, escapeHtml, fixed, money, pageHead, pct, price, scriptText } from './html.js';

/** What the report says about the run (shown as text, escaped). */
export interface ReportMeta {
  readonly symbol: string;
  /** e.g. `sma-cross fast 10, slow 30, size 100`. */
  readonly strategy: string;
  /** The data file's name. */
  readonly data: string;
  /** e.g. `fees 0 bps, slippage 0 bps`. */
  readonly costs: string;
  readonly generatedAt: Date;
}

function dateOf(t: number | undefined, intraday: boolean): string {
  if (t === undefined) return '';
  const iso = new Date(t).toISOString();
  return intraday ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : iso.slice(0, 10);
}

function statsBlock(s: ReportStats): string {
  const items: [string, string, string][] = [
    ['total-return', 'Total return', pct(s.totalReturn)],
    ['cagr', 'CAGR', pct(s.cagr)],
    ['max-drawdown', 'Max drawdown', pct(s.maxDrawdown)],
    ['sharpe', `Sharpe (${s.sharpeBasis.returns}, √${s.sharpeBasis.periodsPerYear})`, fixed(s.sharpe)],
    ['sortino', 'Sortino', fixed(s.sortino)],
    ['calmar', 'Calmar', fixed(s.calmar)],
    ['volatility', 'Volatility (annualised)', pct(s.volatility)],
    ['drawdown-duration', 'Longest drawdown', durationText(s.maxDrawdownDurationMs)],
    ['win-rate', 'Win rate', pct(s.winRate)],
    ['profit-factor', 'Profit factor', s.profitFactor === Infinity ? '∞ (no loss)' : fixed(s.profitFactor)],
    ['expectancy', 'Expectancy (per trade)', s.expectancy === undefined ? 'n/a' : money(s.expectancy)],
    ['average-win', 'Average win', s.averageWin === undefined ? 'n/a' : money(s.averageWin)],
    ['average-loss', 'Average loss', s.averageLoss === undefined ? 'n/a' : money(s.averageLoss)],
    ['losing-streak', 'Longest losing streak', String(s.longestLosingStreak)],
    [
      'trades',
      'Trades (closed round trips)',
      String(s.closedTrades) + (s.openTrades > 0 ? ` + ${s.openTrades} open` : ''),
    ],
    ['exposure', 'Exposure', pct(s.exposure)],
    ['final-equity', 'Final equity', money(s.finalEquity)],
    ['start-equity', 'Starting equity', money(s.startEquity)],
    ['fills', 'Fills', String(s.fills)],
    ['fees', 'Fees', money(s.fees)],
    ['bars', 'Bars', s.bars.toLocaleString('en-US')],
  ];
  return `<dl class="stats" id="summary">${items.map(([key, label, value]) => `<div data-stat="${key}"><dt>${escapeHtml(label)}</dt><dd>${escapeHtml(value)}</dd></div>`).join('')}</dl>`;
}

function durationText(ms: number): string {
  const days = ms / 86_400_000;
  if (days >= 1) return `${Math.round(days).toLocaleString('en-US')} days`;
  return `${Math.round(ms / 60_000)} min`;
}

/** Returns by year (rows) and month (columns), and the year's return. */
function periodsTable(periods: NonNullable<ReportData['periods']>): string {
  const byYear = new Map<string, Map<string, number>>();
  for (const m of periods.months) {
    const [y, mo] = m.period.split('-') as [string, string];
    if (!byYear.has(y)) byYear.set(y, new Map());
    byYear.get(y)!.set(mo, m.return);
  }
  const years = new Map(periods.years.map((y) => [y.period, y.return]));
  const cell = (x: number | undefined) =>
    x === undefined ? '<td></td>' : `<td class="${x > 0 ? 'pos' : x < 0 ? 'neg' : ''}">${(100 * x).toFixed(1)}</td>`;
  const months = ['01', '02', '03', '04', '05', '06', '07', '08', '09', '10', '11', '12'];
  const names = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const rows = [...byYear].map(
    ([y, ms]) => `<tr><td class="l">${y}</td>${months.map((m) => cell(ms.get(m))).join('')}${cell(years.get(y))}</tr>`,
  );
  return `<div class="scroll"><table id="periods"><thead><tr><th class="l">Year</th>${names.map((n) => `<th>${n}</th>`).join('')}<th>Year</th></tr></thead><tbody>${rows.join('\n')}</tbody></table></div>`;
}

function tradesTable(trips: readonly RoundTrip[], intraday: boolean): string {
  const rows = trips.map((t, i) => {
    const cls = t.pnl > 0 ? 'pos' : t.pnl < 0 ? 'neg' : '';
    return `<tr${t.open ? ' class="open"' : ''}><td>${i + 1}</td><td class="l">${escapeHtml(t.symbol)}</td><td class="l">${t.direction}${t.open ? ' (open)' : ''}</td><td>${price(t.qty)}</td><td class="l">${dateOf(t.entryTime, intraday)}</td><td>${price(t.entryPrice)}</td><td class="l">${t.open ? '' : dateOf(t.exitTime, intraday)}</td><td>${price(t.exitPrice)}</td><td>${t.bars}</td><td class="${cls}">${money(t.pnl)}</td><td class="${cls}">${pct(t.returnPct)}</td></tr>`;
  });
  return `<div class="scroll"><table id="trades"><thead><tr><th>#</th><th class="l">Symbol</th><th class="l">Direction</th><th>Qty</th><th class="l">Entry</th><th>Entry price</th><th class="l">Exit</th><th>Exit price</th><th>Bars</th><th>PnL</th><th>Return</th></tr></thead><tbody>${rows.join('\n')}</tbody></table></div>`;
}

function definitions(s: ReportStats): string {
  const b = s.sharpeBasis;
  const sharpe = b.intraday
    ? `mean / sample standard deviation of daily returns (each UTC day’s last equity, the bars being intraday), times √${b.periodsPerYear}; risk-free rate 0.`
    : `mean / sample standard deviation of ${b.returns} returns (bar to bar, the bars being ${b.returns}), times √${b.periodsPerYear}; risk-free rate 0.`;
  return `<ul class="defs">
<li><b>Equity</b> is cash plus positions marked at each bar’s close; market orders decided on a bar fill at the next bar’s open.</li>
<li><b>Total return</b> = final equity / starting equity − 1.</li>
<li><b>CAGR</b> = (final equity / starting equity)<sup>1/years</sup> − 1, years = (last bar time − first bar time) / 365.25 days.</li>
<li><b>Max drawdown</b> = the largest fall of equity from its running peak, as a share of that peak, with equity marked at every fill and every bar’s close (the drawdown chart shows each bar’s deepest point).</li>
<li><b>Sharpe</b> = ${escapeHtml(sharpe)}</li>
<li><b>Round trip</b>: from flat to flat in one symbol (a reversal closes one trip and opens the next); PnL at average cost, net of fees. <b>Trades</b> counts closed round trips; a trip still open at the end is listed, marked at the last close, and not counted.</li>
<li><b>Annualisation</b>: ${b.calendar === '24/7' ? 'the data trades every day (24/7, e.g. crypto): 365 days a year' : 'the data skips weekends (equities): 252 trading days a year'}${b.returns !== 'daily' ? `; ${b.returns} returns use ${b.periodsPerYear} a year` : ''}.</li>
<li><b>Sortino</b> = mean return / downside deviation (the root mean square of the negative returns, over all periods), annualised as Sharpe. <b>Volatility</b> = the sample standard deviation of the same returns × √${b.periodsPerYear}.</li>
<li><b>Calmar</b> = CAGR / max drawdown. <b>Longest drawdown</b> = the longest time from an equity peak to the first time equity is back at it (or to the end).</li>
<li><b>Win rate</b> = closed round trips with positive PnL / closed round trips. <b>Profit factor</b> = gross profit / gross loss of closed trips. <b>Expectancy</b> = mean PnL of a closed trip; <b>average win/loss</b> over the winning and losing trips.</li>
<li><b>Buy and hold</b>: the starting equity split equally between the symbols at their first close, held to the end, no costs.</li>
<li><b>Exposure</b> = share of bars that end with a non-zero position.</li>
</ul>`;
}

/** The limits used, refusals by reason (with the first sentence of each) and trading-state changes. */
function riskBlock(r: RiskReport): string {
  const [limits, ...rest] = riskLines(r);
  return `<p>Limits: ${escapeHtml(limits!)}</p>\n<ul class="risk">${rest.map((l) => `<li>${escapeHtml(l.trim())}</li>`).join('')}</ul>`;
}

function fillsTable(data: ReportData, intraday: boolean): string {
  const rows = data.fills.map(
    (f) =>
      `<tr><td class="l">${dateOf(f.time, intraday)}</td><td class="l">${escapeHtml(f.symbol)}</td><td class="l">${f.side}</td><td>${price(f.qty)}</td><td>${price(f.price)}</td><td>${money(f.fee)}</td></tr>`,
  );
  return `<details><summary>All fills (${data.fills.length})</summary><div class="scroll"><table id="fills"><thead><tr><th class="l">Time</th><th class="l">Symbol</th><th class="l">Side</th><th>Qty</th><th>Price</th><th>Fee</th></tr></thead><tbody>${rows.join('\n')}</tbody></table></div></details>`;
}

/** The buy-and-hold equity at each time of the curve (null where it has none). */
function benchmarkAt(data: ReportData): (number | null)[] {
  const at = new Map((data.benchmark ?? []).map((p) => [p.time, Math.round(p.equity * 100) / 100]));
  return data.curve.map((p) => at.get(p.time) ?? null);
}

/** Each charted symbol's closes, and its buy and sell fills at their bar (null elsewhere). */
function priceSeries(data: ReportData) {
  return (data.prices ?? []).map((p) => {
    const index = new Map(p.times.map((t, i) => [t, i]));
    const buy: (number | null)[] = p.times.map(() => null);
    const sell: (number | null)[] = p.times.map(() => null);
    for (const f of data.fills) {
      if (f.symbol !== p.symbol) continue;
      const i = index.get(f.time);
      if (i !== undefined) (f.side === 'buy' ? buy : sell)[i] = f.price;
    }
    const l = (p.lines ?? []).map((x) => ({ n: x.label, o: x.pane === 'own', v: x.values }));
    return { symbol: p.symbol, t: p.times.map((t) => t / 1000), c: p.closes, buy, sell, l };
  });
}

/** A symbol's price chart (with its indicator lines, when the strategies plotted), and a pane for oscillators. */
function priceBlock(p: NonNullable<ReportData['prices']>[number], i: number): string {
  const lines = p.lines ?? [];
  const title = lines.length > 0 ? 'price, indicators, entries and exits' : 'price, entries and exits';
  const own = lines.filter((l) => l.pane === 'own');
  return [
    `<h2>${escapeHtml(p.symbol)}: ${title}</h2>`,
    `<div id="price-${i}" class="chart"></div>`,
    ...(own.length > 0 ? [`<div id="price-${i}-own" class="chart"></div>`] : []),
  ].join('\n');
}

/** Draws the two charts from the inline data; marks the body when done (tests wait on it). */
const CHART_SCRIPT = `(function () {
  var D = JSON.parse(document.getElementById('report-data').textContent);
  var LINE_COLORS = ['#e8710a', '#1a56db', '#9334e6', '#12a4af', '#d01884', '#7cb342'];
  function opts(h, label, color, fill, fmt) {
    return { width: document.getElementById('equity').clientWidth || 800, height: h, legend: { show: true }, cursor: { sync: { key: 'report' } }, scales: { x: { time: true } },
      axes: [{}, { size: 70, values: function (u, v) { return v.map(fmt); } }],
      series: [{}, { label: label, stroke: color, width: 1.5, fill: fill, value: function (u, v) { return v == null ? '' : fmt(v); } }] };
  }
  var money = function (x) { return x.toLocaleString('en-US', { maximumFractionDigits: 0 }); };
  var eqOpts = opts(300, 'Equity', '#1a56db', 'rgba(26,86,219,0.08)', money);
  eqOpts.series.push({ label: 'Buy and hold', stroke: '#9aa0a6', width: 1, dash: [4, 3], value: function (u, v) { return v == null ? '' : money(v); } });
  var eq = new uPlot(eqOpts, [D.t, D.e, D.b], document.getElementById('equity'));
  var charts = [];
  (D.p || []).forEach(function (p, i) {
    var el = document.getElementById('price-' + i);
    var dot = function (color) { return { stroke: color, fill: color, width: 0, paths: function () { return null; }, points: { show: true, size: 9, stroke: color, fill: color } }; };
    var s = [{}, { label: p.symbol, stroke: '#1c1e21', width: 1 }];
    var b = dot('#137333'); b.label = 'Buy'; var sl = dot('#b3261e'); sl.label = 'Sell';
    // the strategy's indicator lines: over the price, or (oscillators) in a pane of their own under it
    var line = function (x, k) { return { label: x.n, stroke: LINE_COLORS[k % LINE_COLORS.length], width: 1.25 }; };
    var over = (p.l || []).filter(function (x) { return !x.o; });
    var own = (p.l || []).filter(function (x) { return x.o; });
    charts.push(new uPlot({ width: el.clientWidth || 800, height: 240, cursor: { sync: { key: 'report' } }, scales: { x: { time: true } }, axes: [{}, { size: 70 }], series: s.concat([b, sl], over.map(line)) }, [p.t, p.c, p.buy, p.sell].concat(over.map(function (x) { return x.v; })), el));
    el.setAttribute('data-lines', String(over.length));
    var ownEl = document.getElementById('price-' + i + '-own');
    if (ownEl && own.length) {
      charts.push(new uPlot({ width: el.clientWidth || 800, height: 120, cursor: { sync: { key: 'report' } }, scales: { x: { time: true } }, axes: [{}, { size: 70 }], series: [{}].concat(own.map(function (x, k) { return line(x, k + over.length); })) }, [p.t].concat(own.map(function (x) { return x.v; })), ownEl));
      ownEl.setAttribute('data-lines', String(own.length));
    }
  });
  var dd = new uPlot(opts(140, 'Drawdown', '#b3261e', 'rgba(179,38,30,0.18)', function (x) { return x.toFixed(1) + '%'; }), [D.t, D.d], document.getElementById('drawdown'));
  window.addEventListener('resize', function () { var w = document.getElementById('equity').clientWidth; eq.setSize({ width: w, height: 300 }); dd.setSize({ width: w, height: 140 }); charts.forEach(function (c) { c.setSize({ width: w, height: c.height }); }); });
  document.body.setAttribute('data-charts', 'ready');
})();`;

/**
 * The backtest report: one self-contained HTML file (uPlot, styles and data inline; its content
 * security policy forbids any fetch): summary statistics with their definitions, the equity and
 * drawdown curves, the round trips, and every fill.
 */
export function renderReport(data: ReportData, extraHtml = ''): string {
  const { meta, stats } = data;
  const chart = chartAssets();
  const intraday = stats.sharpeBasis.intraday;
  const points = JSON.stringify({
    t: data.curve.map((p) => p.time / 1000),
    e: data.curve.map((p) => Math.round(p.equity * 100) / 100),
    d: data.curve.map((p) => -Math.round(p.drawdown * 1e6) / 1e4),
    b: benchmarkAt(data),
    p: priceSeries(data),
  }).replace(/</g, '\\u003c');
  const title = `Backtest ${meta.symbol}: ${meta.strategy}`;
  const period =
    stats.firstTime !== undefined
      ? `${dateOf(stats.firstTime, intraday)} to ${dateOf(stats.lastTime, intraday)}`
      : 'no bars';
  return `${pageHead(title, [chart.css.body, CSS])}
<body>
<h1>${escapeHtml(title)}</h1>
<p class="meta">${escapeHtml(`${meta.data} · ${period} · ${stats.bars.toLocaleString('en-US')} bars · ${meta.costs} · generated ${meta.generatedAt.toISOString().slice(0, 19).replace('T', ' ')} UTC`)}</p>
${statsBlock(stats)}
<h2>Equity</h2>
<div id="equity" class="chart"></div>
<h2>Drawdown</h2>
<div id="drawdown" class="chart"></div>
${(data.prices ?? []).map(priceBlock).join('\n')}
${data.periods && data.periods.months.length > 0 ? `<h2>Monthly and yearly returns (%)</h2>\n${periodsTable(data.periods)}` : ''}
${data.risk ? `<h2>Risk</h2>\n${riskBlock(data.risk)}` : ''}
<h2>Trades (round trips)</h2>
${tradesTable(data.trips, intraday)}
${fillsTable(data, intraday)}
${extraHtml}
<h2>Definitions</h2>
${definitions(stats)}
<script type="application/json" id="report-data">${points}</script>
<script>${scriptText(chart.js.body)}</script>
<script>${CHART_SCRIPT}</script>
</body>
</html>
`;
}
