import { NO_OUTPUT } from '../../src/core/index.js';
import { windowValues, type Window } from './indicators.js';
import type { StrategyContext } from './instance.js';
import { instanceContext, type StrategyAgentContext } from './machine.js';
import { RSI, SMA, type RsiState } from './sdk/index.js';
import { instanceOf, type LegacyStrategyParams, type StrategyInstance, type SymbolState } from './strategies.js';

/** A symbol's state as versions before the SDK kept it. */
interface LegacySymbolState {
  readonly closes: Window;
  readonly lastSign: -1 | 0 | 1;
  readonly rsi: RsiState | undefined;
  readonly position: number;
  readonly target?: number;
}

/** The strategy state of a symbol saved before the SDK, in the built-in's shape (the same numbers). */
function symbolFromLegacy(p: LegacyStrategyParams, old: LegacySymbolState): SymbolState {
  const closes = windowValues(old.closes);
  const user =
    p.kind === 'sma-cross'
      ? {
          fast: closes.slice(-p.fast).reduce(SMA.next, SMA.init(p.fast)),
          slow: closes.reduce(SMA.next, SMA.init(p.slow)),
          lastSign: old.lastSign,
        }
      : (old.rsi ?? RSI.init(p.period));
  return {
    user,
    position: old.position,
    ...(old.target !== undefined ? { target: old.target } : {}),
    ...(closes.length > 0 ? { last: closes[closes.length - 1]! } : {}),
  };
}

const same = (a: StrategyInstance, b: StrategyInstance) =>
  a.strategy === b.strategy && JSON.stringify(a.params) === JSON.stringify(b.params);

/**
 * A checkpointed strategy context in today's shape, for the instances configured now:
 * - saved before the SDK (one legacy strategy) or with one instance: wrapped as the instances map;
 * - an instance configured now and not saved starts fresh; one saved and no longer configured is
 *   dropped (its positions stay in the account);
 * - an instance whose strategy or parameters changed keeps its positions, open orders and account,
 *   and its strategy state starts again from `init` at the next bar.
 */
export function upgradeStrategyContext(
  context: unknown,
  configured: readonly StrategyInstance[],
): StrategyAgentContext {
  const c = context as Record<string, unknown>;
  let saved: Record<string, StrategyContext>;
  if (c.instances) saved = c.instances as Record<string, StrategyContext>;
  else if (c.instance) saved = { [(c.instance as StrategyInstance).id]: c as unknown as StrategyContext };
  else if (c.params) {
    const legacy = c.params as LegacyStrategyParams;
    const instance = instanceOf(legacy);
    const symbols = Object.fromEntries(
      Object.entries(c.symbols as Record<string, LegacySymbolState>).map(([sym, s]) => [
        sym,
        symbolFromLegacy(legacy, s),
      ]),
    );
    saved = { [instance.id]: { ...(c as unknown as StrategyContext), instance, symbols } };
  } else saved = {};
  const instances: Record<string, StrategyContext> = {};
  for (const inst of configured) {
    const was = saved[inst.id];
    if (!was) instances[inst.id] = instanceContext(inst);
    else if (same(was.instance, inst)) instances[inst.id] = { ...was, instance: inst };
    else {
      const symbols: Record<string, SymbolState> = {};
      for (const [sym, s] of Object.entries(was.symbols)) symbols[sym] = { ...s, user: undefined };
      instances[inst.id] = { ...was, instance: inst, symbols };
    }
  }
  return { instances, outbox: NO_OUTPUT };
}
