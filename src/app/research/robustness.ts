import type { Ranked } from './objective.js';

/** How the score varies with one parameter's value, over every other parameter's values. */
export interface ParamRobustness {
  readonly param: string;
  readonly values: readonly {
    readonly value: unknown;
    readonly trials: number;
    readonly mean: number | undefined;
    readonly min: number | undefined;
    readonly max: number | undefined;
  }[];
}

const sortValues = (vs: unknown[]) =>
  vs.sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b))));

/**
 * Per parameter, per value: the mean, worst and best score of the scored trials with that value.
 * A robust optimum sits on a plateau (neighbouring values score alike), not on a spike.
 */
export function robustness(trials: readonly Ranked[], params: readonly string[]): ParamRobustness[] {
  return params.map((param) => {
    const values = sortValues([...new Set(trials.map((t) => t.params[param]))]);
    return {
      param,
      values: values.map((value) => {
        const scores = trials.filter((t) => t.params[param] === value && t.score !== undefined).map((t) => t.score!);
        return {
          value,
          trials: trials.filter((t) => t.params[param] === value).length,
          mean: scores.length > 0 ? scores.reduce((s, x) => s + x, 0) / scores.length : undefined,
          min: scores.length > 0 ? Math.min(...scores) : undefined,
          max: scores.length > 0 ? Math.max(...scores) : undefined,
        };
      }),
    };
  });
}

/** A grid of the best score for each (x, y) pair of two parameters (over any others). */
export interface Heatmap {
  readonly x: string;
  readonly y: string;
  readonly xs: readonly unknown[];
  readonly ys: readonly unknown[];
  /** cells[yi][xi]: the best score, undefined when no scored trial has that pair. */
  readonly cells: readonly (readonly (number | undefined)[])[];
}

export function heatmap(trials: readonly Ranked[], x: string, y: string): Heatmap {
  const xs = sortValues([...new Set(trials.map((t) => t.params[x]))]);
  const ys = sortValues([...new Set(trials.map((t) => t.params[y]))]);
  const cells = ys.map((yv) =>
    xs.map((xv) => {
      const scores = trials
        .filter((t) => t.params[x] === xv && t.params[y] === yv && t.score !== undefined)
        .map((t) => t.score!);
      return scores.length > 0 ? Math.max(...scores) : undefined;
    }),
  );
  return { x, y, xs, ys, cells };
}
