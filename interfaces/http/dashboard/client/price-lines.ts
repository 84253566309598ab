import type uPlotType from 'uplot';
import type { StrategyPlotted } from '../../../../src/core/index.js';
import { $, clear, h, num } from './dom.js';

/**
 * The strategies' indicator lines on the price chart (`strategy.plotted`: e.g. sma-cross's two
 * SMAs), for the charted symbol: each line's values by bar time, drawn over the candles and named
 * in a legend under them. Lines on a scale of their own (`pane: own`: MACD, RSI) are not drawn
 * here: they would need a pane of their own (the backtest report has one); the legend says so.
 */

const COLORS = ['#e8710a', '#1a56db', '#9334e6', '#12a4af', '#d01884', '#7cb342'];

interface Line {
  readonly strategy: string;
  readonly key: string;
  readonly label: string;
  readonly color: string;
  /** Value by bar time (seconds). */
  readonly at: Map<number, number>;
}

export const LINES = {
  /** By `<instance> <key>`, in the order first seen (their colours keep that order). */
  byId: new Map<string, Line>(),
  /** Lines seen in a pane of their own (not drawn here), by label. */
  skipped: new Set<string>(),
};

/** Another symbol is charted: its lines start again. */
export function resetLines(): void {
  LINES.byId.clear();
  LINES.skipped.clear();
  legend();
}

/**
 * One bar's lines of a strategy on the charted symbol (time in ms). Returns true when a line is
 * new (the chart needs another series, so it is made again).
 */
export function addPlot(time: number, p: StrategyPlotted): boolean {
  const x = time / 1000;
  let added = false;
  for (const l of p.lines) {
    if (l.pane !== 'price') {
      if (!LINES.skipped.has(l.label)) {
        LINES.skipped.add(l.label);
        legend();
      }
      continue;
    }
    const id = `${p.strategy} ${l.key}`;
    let line = LINES.byId.get(id);
    if (!line) {
      line = {
        strategy: p.strategy,
        key: l.key,
        label: l.label,
        color: COLORS[LINES.byId.size % COLORS.length]!,
        at: new Map(),
      };
      LINES.byId.set(id, line);
      added = true;
    }
    if (l.value === null) line.at.delete(x);
    else line.at.set(x, l.value);
  }
  if (added) legend();
  return added;
}

/** Forgets values before `x` (seconds): the chart keeps a bounded number of bars. */
export function trimLines(x: number): void {
  for (const line of LINES.byId.values()) for (const t of line.at.keys()) if (t < x) line.at.delete(t);
}

/** The legend's name of a line: its label, after the instance id when several instances draw. */
function nameOf(line: Line): string {
  const instances = new Set([...LINES.byId.values()].map((l) => l.strategy));
  return instances.size > 1 ? `${line.strategy} ${line.label}` : line.label;
}

/** The uPlot series of the lines (after the price chart's own). */
export const lineSeries = (): uPlotType.Series[] =>
  [...LINES.byId.values()].map((l) => ({ label: nameOf(l), stroke: l.color, width: 1.5, points: { show: false } }));

/** Each line's values at the chart's bar times (null where it has none). */
export const lineData = (xs: readonly number[]): (number | null)[][] =>
  [...LINES.byId.values()].map((l) => xs.map((x) => l.at.get(x) ?? null));

/** The legend under the chart: each line's colour, name and latest value; what is not drawn, and why. */
export function legend(latest?: readonly (number | null)[]): void {
  const el = clear($('price-lines'));
  const lines = [...LINES.byId.values()];
  lines.forEach((l, i) => {
    const swatch = h('span', { class: 'swatch' });
    swatch.style.background = l.color;
    const v = latest?.[i];
    el.appendChild(
      h('span', { class: 'line', 'data-line': nameOf(l) }, [
        swatch,
        nameOf(l),
        v === null || v === undefined ? '' : ' ' + num(v, 4),
      ]),
    );
  });
  if (LINES.skipped.size > 0)
    el.appendChild(
      h('span', {
        class: 'muted',
        text: [...LINES.skipped].join(', ') + ': on a scale of their own, not drawn over the price',
      }),
    );
  el.hidden = lines.length === 0 && LINES.skipped.size === 0;
}
