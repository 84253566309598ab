/** Writes the gradient at `x` into `grad` and returns the objective's value there. */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

export interface LbfgsOptions {
  readonly maxIterations: number;
  /** Pairs of past steps kept for the curvature estimate. Default 10. */
  readonly memory?: number;
  /** Stop when an iteration improves the value by less than this, relatively. Default 1e-7. */
  readonly tolerance?: number;
}

/**
 * Minimises a smooth convex function by limited-memory BFGS with a backtracking (Armijo)
 * line search. Deterministic: no randomness, a fixed order of floating-point operations.
 * Used to train the sentiment model; small enough to keep here rather than add a dependency.
 */
export function minimizeLbfgs(
  f: Objective,
  x0: Float64Array,
  options: LbfgsOptions,
): { x: Float64Array; value: number; iterations: number } {
  const { maxIterations, memory = 10, tolerance = 1e-7 } = options;
  const n = x0.length;
  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let fx = f(x, g);
  const s: Float64Array[] = [];
  const y: Float64Array[] = [];
  const rho: number[] = [];
  const alpha = new Array<number>(memory).fill(0);
  const d = new Float64Array(n);
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    // two-loop recursion: d = -H g
    for (let i = 0; i < n; i++) d[i] = -g[i]!;
    for (let k = s.length - 1; k >= 0; k--) {
      alpha[k] = rho[k]! * dot(s[k]!, d);
      axpy(-alpha[k]!, y[k]!, d);
    }
    if (s.length > 0) {
      const last = s.length - 1;
      const gamma = dot(s[last]!, y[last]!) / dot(y[last]!, y[last]!);
      for (let i = 0; i < n; i++) d[i]! *= gamma;
    }
    for (let k = 0; k < s.length; k++) {
      const beta = rho[k]! * dot(y[k]!, d);
      axpy(alpha[k]! - beta, s[k]!, d);
    }
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // not a descent direction (numerical trouble): restart from steepest descent
      s.length = y.length = rho.length = 0;
      for (let i = 0; i < n; i++) d[i] = -g[i]!;
      slope = dot(g, d);
      if (slope === 0) break;
    }
    let step = s.length === 0 ? Math.min(1, 1 / Math.sqrt(-slope)) : 1;
    const xNext = new Float64Array(n);
    const gNext = new Float64Array(n);
    let fNext = Infinity;
    for (let tries = 0; tries < 40; tries++) {
      for (let i = 0; i < n; i++) xNext[i] = x[i]! + step * d[i]!;
      fNext = f(xNext, gNext);
      if (fNext <= fx + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    if (!(fNext < fx)) break;
    const sk = new Float64Array(n);
    const yk = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      sk[i] = xNext[i]! - x[i]!;
      yk[i] = gNext[i]! - g[i]!;
    }
    const sy = dot(sk, yk);
    if (sy > 1e-12) {
      if (s.length === memory) {
        s.shift();
        y.shift();
        rho.shift();
      }
      s.push(sk);
      y.push(yk);
      rho.push(1 / sy);
    }
    const improvement = (fx - fNext) / Math.max(1, Math.abs(fx));
    x = xNext;
    g = gNext;
    fx = fNext;
    if (improvement < tolerance) {
      iterations++;
      break;
    }
  }
  return { x, value: fx, iterations };
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

function axpy(a: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < x.length; i++) y[i]! += a * x[i]!;
}
