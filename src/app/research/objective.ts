import type { TrialMetrics, TrialResult } from './trial.js';

/** What a study ranks by (higher is better for every one). */
export const OBJECTIVES = ['return', 'sharpe', 'sortino', 'calmar', 'profit-factor'] as const;
export type Objective = (typeof OBJECTIVES)[number];

export function parseObjective(text: string): Objective {
  if ((OBJECTIVES as readonly string[]).includes(text)) return text as Objective;
  throw new Error(`--objective must be one of ${OBJECTIVES.join(', ')}, got "${text}"`);
}

/** The objective's value for a trial's metrics; undefined when it is not defined (no trade, no variation). */
export function objectiveValue(m: TrialMetrics, objective: Objective): number | undefined {
  switch (objective) {
    case 'return':
      return m.totalReturn;
    case 'sharpe':
      return m.sharpe;
    case 'sortino':
      return m.sortino;
    case 'calmar':
      return m.calmar;
    case 'profit-factor':
      return m.profitFactor;
  }
}

/** A ranked trial: its score, or why it has none. */
export interface Ranked extends TrialResult {
  readonly rank: number;
  readonly score: number | undefined;
  /** Why the trial is ranked last: too few trades (`minTrades`), or the objective is undefined. */
  readonly excluded?: string;
}

/**
 * Trials best first by the objective. A trial with fewer closed trades than `minTrades`, or whose
 * objective is undefined, is ranked after every scored one (in the order given), with the reason.
 * Ties keep the order given (the grid's), so a ranking is reproducible.
 */
export function rank(trials: readonly TrialResult[], objective: Objective, minTrades = 0): Ranked[] {
  const scored = trials.map((t, i) => {
    const score = objectiveValue(t.metrics, objective);
    const excluded =
      t.metrics.closedTrades < minTrades
        ? `${t.metrics.closedTrades} closed trades, fewer than --min-trades ${minTrades}`
        : score === undefined || Number.isNaN(score)
          ? `${objective} is undefined (no closed trade, or no variation in returns)`
          : undefined;
    return { t, i, score: excluded ? undefined : score, excluded };
  });
  scored.sort((a, b) => {
    if (a.excluded && b.excluded) return a.i - b.i;
    if (a.excluded) return 1;
    if (b.excluded) return -1;
    return b.score! - a.score! || a.i - b.i;
  });
  return scored.map((s, k) => ({
    ...s.t,
    rank: k + 1,
    score: s.score,
    ...(s.excluded ? { excluded: s.excluded } : {}),
  }));
}
