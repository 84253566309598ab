import { deadLetterEffect, out, subjects, type Emitted, type StrategyPlotted } from '../../src/core/index.js';
import type { StrategyContext } from './instance.js';
import { guarded } from './sdk/guard.js';
import { strategyDefinition } from './strategies.js';

/**
 * The `strategy.plotted` output of one instance for the bar of `symbol` it has just read: each
 * line its strategy's `plot` declares (at the bar's time), with the value read from the state `onBar` returned (null
 * while warming up, or not a finite number). Undefined when the instance does not plot, its
 * strategy declares no lines, or no line has a value yet. A `plot` that throws is dead-lettered
 * like a callback that does (the bar's decisions stand: plotting never changes them).
 */
export function plotOf(ctx: StrategyContext, symbol: string): Emitted | undefined {
  const inst = ctx.instance;
  if (!inst.plot) return undefined;
  const def = strategyDefinition(inst.strategy);
  const state = ctx.symbols[symbol];
  if (!def.plot || state?.user === undefined) return undefined;
  let lines: StrategyPlotted['lines'];
  try {
    lines = guarded(() => {
      const values = def.plot!.values(state.user, inst.params);
      return def.plot!.lines(inst.params).map((l) => {
        const v = values[l.key];
        return {
          key: l.key,
          label: l.label,
          pane: l.pane ?? 'price',
          value: typeof v === 'number' && Number.isFinite(v) ? v : null,
        };
      });
    });
  } catch (err) {
    return deadLetterEffect({
      subject: subjects.strategyPlotted(symbol),
      code: 'strategy_error',
      reason: `strategy ${def.name} threw in plot: ${err instanceof Error ? err.message : String(err)}`,
      payload: { strategy: inst.id, symbol },
    });
  }
  if (lines.length === 0 || lines.every((l) => l.value === null)) return undefined;
  // a chain of its own: a chart's feed, not a step of the bar's decision (traces and `why` show decisions)
  return out(
    'strategy.plotted',
    { symbol, strategy: inst.id, lines },
    { root: true, ...(state.at !== undefined ? { time: state.at } : {}) },
  );
}
