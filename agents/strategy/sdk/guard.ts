/**
 * The runtime guard around strategy callbacks: while one runs, the clock and randomness are
 * refused (`Date.now()`, `new Date()` without arguments, `Math.random()`, `performance.now()`),
 * so a strategy that reaches for them fails loudly where it would otherwise decide differently
 * in a replay. Callbacks are synchronous, so the globals are swapped for exactly their duration.
 * `new Date(ms)` and `Date.UTC(...)` stay allowed: they are functions of their arguments.
 */

/** A strategy tried to read the clock or draw a random number. */
export class DeterminismError extends Error {
  readonly code = 'strategy_not_deterministic';
  constructor(what: string) {
    super(
      `${what} is not allowed in a strategy: a replay must decide the same, so time comes from the event (ctx.time) and there is no randomness`,
    );
    this.name = 'DeterminismError';
  }
}

const RealDate = globalThis.Date;
const realRandom = Math.random;
const perf = globalThis.performance;
const realPerfNow = perf.now;

const refuse = (what: string) => () => {
  throw new DeterminismError(what);
};

/** Date with the clock removed: `new Date()` and `Date.now()` throw, everything else is Date. */
const GuardedDate: DateConstructor = new Proxy(RealDate, {
  construct(target, args: unknown[], newTarget): object {
    if (args.length === 0) throw new DeterminismError('new Date()');
    return Reflect.construct(target, args, newTarget === GuardedDate ? target : newTarget);
  },
  apply() {
    throw new DeterminismError('Date()');
  },
  get(target, prop, receiver) {
    if (prop === 'now') return refuse('Date.now()');
    return Reflect.get(target, prop, receiver) as unknown;
  },
});
const guardedRandom = refuse('Math.random()');
const guardedPerfNow = refuse('performance.now()');

let depth = 0;

/** Runs `fn` with the clock and randomness refused. */
export const guarded = <T>(fn: () => T): T => guardedCall(fn, undefined, undefined, undefined);

/** `fn.call(self, a, b)` with the clock and randomness refused: `guarded` without a closure per call. */
export function guardedCall<A, B, R>(fn: (a: A, b: B) => R, self: unknown, a: A, b: B): R {
  if (depth++ === 0) {
    globalThis.Date = GuardedDate;
    Math.random = guardedRandom;
    perf.now = guardedPerfNow;
  }
  try {
    return fn.call(self, a, b);
  } finally {
    if (--depth === 0) {
      globalThis.Date = RealDate;
      Math.random = realRandom;
      perf.now = realPerfNow;
    }
  }
}
