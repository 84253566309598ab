import type uPlotType from 'uplot';
import type {
  AgentHealth,
  OrderFilled,
  OriginBook,
  PortfolioSnapshot,
  Position,
  Signal,
  SentimentUpdated,
  StrategyPlotted,
} from '../../../../src/core/index.js';
import type { Message } from './api.js';
import { $, clear, clock, h, num, pct, qty, short, signClass, tbody } from './dom.js';
import { addPlot, LINES, legend, lineData, lineSeries, resetLines, trimLines } from './price-lines.js';

/**
 * The panels. Each keeps its rows in `P` and redraws from them; the equity and drawdown charts
 * are uPlot (loaded by its own script tag), redrawn at most once a frame.
 */

declare const uPlot: typeof uPlotType | undefined;

const MAX_POINTS = 5000;

/** An agent as `GET /agents` reports it (the tracker's view) or a heartbeat updates it. */
export interface AgentRow {
  readonly state: string;
  readonly machineState?: unknown;
  readonly handled?: number;
  readonly restarts?: number;
  readonly lastError?: string;
  readonly degraded?: string;
  readonly heartbeatAgeMs?: number;
  readonly ok?: boolean;
}

/** An open order as `GET /orders` lists it. */
export interface OrderRow {
  readonly symbol: string;
  readonly side: string;
  readonly qty: number;
  readonly type: string;
  readonly status: string;
  readonly filledQty: number;
}

interface SentimentRow {
  readonly score: number;
  readonly time: number;
  readonly headline: string;
}

/** What the panels show. */
export const P = {
  last: null as PortfolioSnapshot | null,
  xs: [] as number[],
  eq: [] as number[],
  dd: [] as number[],
  charts: null as { eq: uPlotType; dd: uPlotType } | null,
  drawPending: false,
  fills: [] as Message<OrderFilled>[],
  signals: [] as { payload: Signal; time?: number; correlationId?: string }[],
  sentiment: {} as Record<string, SentimentRow>,
  agents: {} as Record<string, AgentRow>,
  agentsAt: 0,
  trading: null as string | null,
};

/**
 * The price chart of one symbol: its bars as candles (at most MAX_POINTS; when too many are in
 * view to draw bodies, the closes as a line), with a marker where a fill bought (green) or sold
 * (red), at the fill's bar, and the strategies' indicator lines over them (price-lines.ts).
 */
export const PRICE = {
  symbol: undefined as string | undefined,
  symbols: new Set<string>(),
  xs: [] as number[],
  open: [] as number[],
  high: [] as number[],
  low: [] as number[],
  close: [] as number[],
  buys: [] as (number | null)[],
  sells: [] as (number | null)[],
  /** Fills of the symbol by bar time (seconds), kept for bars that arrive after them. */
  fills: new Map<number, { side: string; price: number }>(),
  chart: null as uPlotType | null,
  /** The series the chart was made with (the price's six, then the indicator lines). */
  chartSeries: 0,
  resizing: false,
  pending: false,
};

/** The price chart's own series (x, close, buy, sell, high, low); the indicator lines follow. */
const PRICE_SERIES = 6;

/** The symbol chosen to chart changed: its history is loaded by main.ts. */
export function resetPrice(symbol: string): void {
  PRICE.symbol = symbol;
  PRICE.xs = [];
  PRICE.open = [];
  PRICE.high = [];
  PRICE.low = [];
  PRICE.close = [];
  PRICE.buys = [];
  PRICE.sells = [];
  PRICE.fills.clear();
  resetLines();
  drawPrice();
}

/** A symbol seen in market data: offered in the chart's list; the first one is charted. */
export function offerSymbol(symbol: string): boolean {
  if (PRICE.symbols.has(symbol)) return false;
  PRICE.symbols.add(symbol);
  const select = $<HTMLSelectElement>('price-symbol');
  select.appendChild(h('option', { value: symbol, text: symbol }));
  return PRICE.symbol === undefined;
}

/** A bar of the charted symbol (time in ms). */
export function addPriceBar(time: number, bar: { open: number; high: number; low: number; close: number }): void {
  const x = time / 1000;
  const n = PRICE.xs.length;
  if (n > 0 && x < PRICE.xs[n - 1]!) return;
  const fill = PRICE.fills.get(x);
  if (n > 0 && x === PRICE.xs[n - 1]) {
    PRICE.open[n - 1] = bar.open;
    PRICE.high[n - 1] = bar.high;
    PRICE.low[n - 1] = bar.low;
    PRICE.close[n - 1] = bar.close;
  } else {
    PRICE.xs.push(x);
    PRICE.open.push(bar.open);
    PRICE.high.push(bar.high);
    PRICE.low.push(bar.low);
    PRICE.close.push(bar.close);
    PRICE.buys.push(fill?.side === 'buy' ? fill.price : null);
    PRICE.sells.push(fill?.side === 'sell' ? fill.price : null);
  }
  if (PRICE.xs.length > MAX_POINTS) {
    const cut = PRICE.xs.length - MAX_POINTS;
    for (const a of [PRICE.xs, PRICE.open, PRICE.high, PRICE.low, PRICE.close, PRICE.buys, PRICE.sells])
      a.splice(0, cut);
    trimLines(PRICE.xs[0]!);
  }
  drawPrice();
}

/** A strategy's indicator lines for a bar of the charted symbol (`strategy.plotted`, time in ms). */
export function addPricePlot(time: number, plot: StrategyPlotted): void {
  if (plot.symbol !== PRICE.symbol) return;
  addPlot(time, plot);
  drawPrice();
}

/** A fill of the charted symbol: a marker at its bar (now, or when the bar arrives). */
export function addPriceFill(time: number, side: string, price: number): void {
  const x = time / 1000;
  PRICE.fills.set(x, { side, price });
  if (PRICE.fills.size > MAX_POINTS) PRICE.fills.delete(PRICE.fills.keys().next().value!);
  const i = PRICE.xs.lastIndexOf(x);
  if (i >= 0) {
    (side === 'buy' ? PRICE.buys : PRICE.sells)[i] = price;
    drawPrice();
  }
}

function drawPrice(): void {
  if (PRICE.pending) return;
  PRICE.pending = true;
  requestAnimationFrame(() => {
    PRICE.pending = false;
    const el = $('price-chart');
    $('price-empty').hidden = PRICE.xs.length > 0;
    // a new indicator line is a new series: the chart is made again with it
    if (PRICE.chart && PRICE.chartSeries !== PRICE_SERIES + LINES.byId.size) {
      PRICE.chart.destroy();
      PRICE.chart = null;
    }
    if (!PRICE.chart && typeof uPlot !== 'undefined' && PRICE.xs.length > 0) {
      const width = Math.max(el.clientWidth, 200);
      const marker = (color: string) => ({
        stroke: color,
        fill: color,
        width: 0,
        points: { show: true, size: 9, fill: color },
      });
      PRICE.chart = new uPlot(
        {
          width,
          height: 220,
          legend: { show: false },
          scales: { x: { time: true } },
          axes: [
            { stroke: '#667', grid: { stroke: '#eee' } },
            { stroke: '#667', grid: { stroke: '#eee' }, size: 64 },
          ],
          series: [
            {},
            { label: 'Close', stroke: 'rgba(68,68,68,0.35)', width: 1, points: { show: false } },
            { label: 'Buy', ...marker('#1a7f37') },
            { label: 'Sell', ...marker('#b3261e') },
            // invisible: they only make the price scale hold every high and low
            { label: 'High', stroke: 'transparent', width: 0, points: { show: false } },
            { label: 'Low', stroke: 'transparent', width: 0, points: { show: false } },
            ...lineSeries(),
          ],
          hooks: { draw: [drawCandles] },
        },
        priceData(),
        el,
      );
      PRICE.chartSeries = PRICE_SERIES + LINES.byId.size;
      if (typeof ResizeObserver !== 'undefined' && !PRICE.resizing) {
        PRICE.resizing = true;
        new ResizeObserver(() => PRICE.chart?.setSize({ width: Math.max(el.clientWidth, 200), height: 220 })).observe(
          el,
        );
      }
    }
    const data = priceData();
    PRICE.chart?.setData(data);
    const lines = data.slice(PRICE_SERIES) as (number | null)[][];
    legend(lines.map((v) => v[v.length - 1] ?? null));
    el.dataset.points = String(PRICE.xs.length);
    el.dataset.lines = [...LINES.byId.values()].map((l) => l.label).join('|');
    el.dataset.linePoints = lines.map((v) => v.filter((x) => x !== null).length).join(',');
    el.dataset.buys = String(PRICE.buys.filter((v) => v !== null).length);
    el.dataset.sells = String(PRICE.sells.filter((v) => v !== null).length);
  });
}

const priceData = (): uPlotType.AlignedData => [
  PRICE.xs,
  PRICE.close,
  PRICE.buys,
  PRICE.sells,
  PRICE.high,
  PRICE.low,
  ...lineData(PRICE.xs),
];

/**
 * Candles over the close line: a wick from low to high and a body from open to close, green when
 * the bar closed up, red when down. With more bars in view than fit bodies (under 3 px each) it
 * draws the wicks only: the range of each bar, coloured by its direction.
 */
function drawCandles(u: uPlotType): void {
  const [i0, i1] = [u.series[0]!.idxs?.[0] ?? 0, u.series[0]!.idxs?.[1] ?? PRICE.xs.length - 1];
  const shown = i1 - i0 + 1;
  const slot = u.bbox.width / Math.max(shown, 1);
  const bodies = slot >= 3;
  const body = Math.max(1, Math.min(12, slot * 0.6));
  const ctx = u.ctx;
  ctx.save();
  for (let i = i0; i <= i1; i++) {
    const x = u.valToPos(PRICE.xs[i]!, 'x', true);
    const [o, hi, lo, c] = [PRICE.open[i]!, PRICE.high[i]!, PRICE.low[i]!, PRICE.close[i]!];
    const color = c >= o ? '#1a7f37' : '#b3261e';
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(Math.round(x) + 0.5, u.valToPos(hi, 'y', true));
    ctx.lineTo(Math.round(x) + 0.5, u.valToPos(lo, 'y', true));
    ctx.stroke();
    if (!bodies) continue;
    const top = u.valToPos(Math.max(o, c), 'y', true);
    const bottom = u.valToPos(Math.min(o, c), 'y', true);
    ctx.fillRect(Math.round(x - body / 2), top, body, Math.max(1, bottom - top));
  }
  ctx.restore();
  u.root.dataset.candles = String(shown);
}

/** What a trace button does (set by main.ts: show the chain). */
export const panelHooks: { showTrace: (correlationId: string) => void } = { showTrace: () => undefined };

function chartOpts(
  title: 'equity' | 'drawdown',
  label: string,
  color: string,
  fill: string,
  width: number,
): uPlotType.Options {
  return {
    width,
    height: title === 'equity' ? 220 : 110,
    legend: { show: false },
    cursor: { sync: { key: 'sextant' } },
    scales: { x: { time: true } },
    axes: [
      { stroke: '#667', grid: { stroke: '#eee' } },
      {
        stroke: '#667',
        grid: { stroke: '#eee' },
        size: 64,
        values: (_u, v) =>
          v.map((x) =>
            title === 'equity' ? x.toLocaleString('en-US', { maximumFractionDigits: 0 }) : x.toFixed(1) + '%',
          ),
      },
    ],
    series: [{}, { label, stroke: color, width: 1.5, fill }],
  };
}

function makeCharts(): void {
  if (P.charts || typeof uPlot === 'undefined') return;
  const ec = $('equity-chart');
  const dc = $('drawdown-chart');
  const w = Math.max(ec.clientWidth, 200);
  const charts = (P.charts = {
    eq: new uPlot(chartOpts('equity', 'Equity', '#1a56db', 'rgba(26,86,219,0.08)', w), [P.xs, P.eq], ec),
    dd: new uPlot(chartOpts('drawdown', 'Drawdown', '#b3261e', 'rgba(179,38,30,0.18)', w), [P.xs, P.dd], dc),
  });
  if (typeof ResizeObserver !== 'undefined') {
    new ResizeObserver(() => {
      const width = Math.max(ec.clientWidth, 200);
      charts.eq.setSize({ width, height: 220 });
      charts.dd.setSize({ width, height: 110 });
    }).observe(ec);
  }
}

export function drawCharts(): void {
  if (P.drawPending) return;
  P.drawPending = true;
  requestAnimationFrame(() => {
    P.drawPending = false;
    makeCharts();
    if (!P.charts) return;
    P.charts.eq.setData([P.xs, P.eq]);
    P.charts.dd.setData([P.xs, P.dd]);
    $('equity-chart').dataset.points = String(P.xs.length);
    $('drawdown-chart').dataset.points = String(P.xs.length);
  });
}

/** A point of the equity and drawdown curves at an event time in ms (the chart counts seconds). */
export function addPoint(time: unknown, snap: Partial<PortfolioSnapshot> | null | undefined): void {
  if (typeof time !== 'number' || !snap || typeof snap.equity !== 'number') return;
  const x = time / 1000;
  const n = P.xs.length;
  if (n > 0 && x < P.xs[n - 1]!) return; // older than the chart's end (a seed racing the stream)
  if (n > 0 && x === P.xs[n - 1]) {
    P.eq[n - 1] = snap.equity;
    P.dd[n - 1] = -100 * (snap.drawdown || 0);
  } else {
    P.xs.push(x);
    P.eq.push(snap.equity);
    P.dd.push(-100 * (snap.drawdown || 0));
  }
  if (P.xs.length > MAX_POINTS) {
    const cut = P.xs.length - MAX_POINTS;
    P.xs.splice(0, cut);
    P.eq.splice(0, cut);
    P.dd.splice(0, cut);
  }
  drawCharts();
}

/** The latest portfolio snapshot: the summary line and the positions table. */
export function showSnapshot(snap: PortfolioSnapshot): void {
  P.last = snap;
  summary(snap);
  positions(snap.positions || []);
}

function summary(s: PortfolioSnapshot): void {
  $('s-equity').textContent = num(s.equity);
  $('s-cash').textContent = num(s.cash);
  const day = $('s-day');
  day.textContent = num(s.dayPnl);
  day.className = signClass(s.dayPnl).replace('n ', '');
  $('s-dd').textContent = pct(s.drawdown);
  $('s-maxdd').textContent = pct(s.maxDrawdown);
}

function positions(list: readonly Position[]): void {
  const rows = list.filter((p) => p.qty !== 0);
  const body = clear(tbody('positions'));
  for (const p of rows) {
    body.appendChild(
      h('tr', { 'data-symbol': p.symbol }, [
        h('td', { text: p.symbol }),
        h('td', { class: 'n', text: qty(p.qty) }),
        h('td', { class: 'n', text: num(p.avgPrice) }),
        h('td', { class: 'n', text: num(p.lastPrice) }),
        h('td', { class: signClass(p.unrealizedPnl), text: num(p.unrealizedPnl) }),
      ]),
    );
  }
  $('positions-empty').hidden = rows.length > 0;
}

/** Each strategy instance's (and person's) own book: what it holds and its PnL; they add up to the account. */
export function books(list: readonly OriginBook[]): void {
  const body = clear(tbody('books'));
  // a person's id already says where they came from (api:NAME, telegram:ID)
  const name = (b: OriginBook) => b.origin.id;
  for (const b of list.slice().sort((x, y) => name(x).localeCompare(name(y)))) {
    const held = b.positions.filter((p) => p.qty !== 0);
    const day = b.pnl ? b.pnl.day : b.dayPnl;
    const all = b.pnl ? b.pnl.all : b.realizedPnl + b.unrealizedPnl;
    body.appendChild(
      h('tr', { 'data-origin': b.origin.kind + ':' + b.origin.id }, [
        h('td', { text: name(b), title: b.origin.kind }),
        h('td', { text: held.length ? held.map((p) => p.symbol + ' ' + qty(p.qty)).join(', ') : 'flat' }),
        h('td', { class: signClass(day), text: num(day) }),
        h('td', { class: signClass(all), text: num(all) }),
      ]),
    );
  }
  $('books-empty').hidden = list.length > 0;
}

export function orders(list: readonly OrderRow[]): void {
  const body = clear(tbody('orders'));
  for (const o of list) {
    body.appendChild(
      h('tr', null, [
        h('td', { text: o.symbol }),
        h('td', { text: o.side }),
        h('td', { class: 'n', text: qty(o.qty) }),
        h('td', { text: o.type }),
        h('td', { text: o.status }),
        h('td', { class: 'n', text: qty(o.filledQty) }),
      ]),
    );
  }
  $('orders-empty').hidden = list.length > 0;
}

function traceButton(correlationId: string | undefined): HTMLElement | null {
  if (!correlationId) return null;
  return h('button', {
    type: 'button',
    class: 'link',
    text: 'trace',
    title: 'Show the chain ' + correlationId,
    onclick: () => panelHooks.showTrace(correlationId),
  });
}

/** Recent fills, newest first: each a fill message (payload, time, correlation id). */
export function fills(): void {
  const body = clear(tbody('fills'));
  for (const e of P.fills) {
    const f = e.payload;
    body.appendChild(
      h('tr', null, [
        h('td', { text: short(e.time) }),
        h('td', { text: f.symbol }),
        h('td', { text: f.side }),
        h('td', { class: 'n', text: qty(f.qty) }),
        h('td', { class: 'n', text: num(f.price) }),
        h('td', null, [traceButton(e.correlationId)]),
      ]),
    );
  }
  $('fills-empty').hidden = P.fills.length > 0;
}

export function signals(): void {
  const list = clear($('signals'));
  for (const e of P.signals) {
    const s = e.payload;
    const ind = Object.keys(s.indicators || {})
      .map((k) => k + '=' + num(s.indicators[k], 4))
      .join('  ');
    list.appendChild(
      h('li', null, [
        h('div', { class: 'row' }, [
          h('strong', { text: s.side + ' ' + s.symbol }),
          h('span', { text: '→ ' + qty(s.targetQty) + ' @ ' + num(s.price) }),
          h('span', { class: 'muted', text: clock(e.time) + ' · ' + s.strategy }),
          traceButton(e.correlationId),
        ]),
        h(
          'ul',
          { class: 'reasons' },
          (s.reasons || []).map((r) => h('li', { text: r })),
        ),
        ind ? h('div', { class: 'ind', text: ind }) : null,
      ]),
    );
  }
  $('signals-empty').hidden = P.signals.length > 0;
}

/** A sentiment message (its type starts with "sentiment."): the latest score per symbol. */
export function addSentiment(e: Message<Partial<SentimentUpdated>>): void {
  const p = e.payload || {};
  if (typeof p.symbol !== 'string' || typeof p.score !== 'number') return;
  const first = Array.isArray(p.recent) ? p.recent[0] : undefined;
  const top = first && typeof first.headline === 'string' ? first.headline : '';
  P.sentiment[p.symbol] = { score: p.score, time: typeof p.asOf === 'number' ? p.asOf : e.time, headline: top };
  const body = clear(tbody('sentiment'));
  for (const sym of Object.keys(P.sentiment).sort()) {
    const s = P.sentiment[sym]!;
    body.appendChild(
      h('tr', { 'data-symbol': sym }, [
        h('td', { text: sym }),
        h('td', { class: signClass(s.score), text: num(s.score, 3) }),
        h('td', { text: clock(s.time) }),
        h('td', { class: 'headline', text: s.headline, title: s.headline }),
      ]),
    );
  }
  $('sentiment-empty').hidden = true;
}

export function agents(report?: Record<string, AgentRow>): void {
  if (report) {
    P.agents = report;
    P.agentsAt = Date.now();
  }
  const body = clear(tbody('agents'));
  const since = Date.now() - P.agentsAt;
  for (const name of Object.keys(P.agents).sort()) {
    const a = P.agents[name]!;
    const age =
      typeof a.heartbeatAgeMs === 'number' ? ((a.heartbeatAgeMs + since) / 1000).toFixed(0) + ' s ago' : 'never';
    const machine = typeof a.machineState === 'string' ? a.machineState : JSON.stringify(a.machineState);
    body.appendChild(
      h('tr', { 'data-agent': name }, [
        h('td', { text: name }),
        h('td', null, [
          h('span', { class: 'badge', 'data-state': a.state, text: a.state, title: a.degraded || a.lastError || '' }),
        ]),
        // a degraded agent says why (the data agent: which symbol has no closed candle, for how long)
        h('td', { text: a.degraded || (machine === undefined ? '' : String(machine).slice(0, 60)) }),
        h('td', { class: 'n', text: age }),
        h('td', { class: 'n', text: qty(a.handled) }),
      ]),
    );
  }
}

/** A heartbeat on the stream: the agent's state now, its heartbeat just now. */
export function agentHealth(e: Message<Partial<AgentHealth>>): void {
  const hth = e.payload || {};
  if (typeof hth.agent !== 'string') return;
  const since = Date.now() - P.agentsAt;
  const prev = P.agents[hth.agent];
  P.agents[hth.agent] = {
    state: hth.state ?? '',
    machineState: hth.machineState,
    ...(hth.handled !== undefined ? { handled: hth.handled } : {}),
    ...(hth.restarts !== undefined ? { restarts: hth.restarts } : {}),
    ...(hth.lastError !== undefined ? { lastError: hth.lastError } : {}),
    ...(hth.degraded !== undefined ? { degraded: hth.degraded } : {}),
    heartbeatAgeMs: -since,
    ...(prev?.ok !== undefined ? { ok: prev.ok } : {}),
  };
  agents();
}

/** Whether the token may halt and resume (operator or admin); unknown until the API said. */
export const access = { operate: false };

export function tradingState(state: string): void {
  P.trading = state;
  const b = $('trading-state');
  b.textContent = state;
  b.dataset.state = state;
  const halt = $<HTMLButtonElement>('halt');
  const resume = $<HTMLButtonElement>('resume');
  // a viewer watches: the controls it may not use are shown disabled, saying why
  halt.disabled = !access.operate || state === 'HALTED';
  resume.disabled = !access.operate || state === 'ACTIVE';
  const why = access.operate ? '' : 'needs an operator token';
  halt.title = why;
  resume.title = why;
}
