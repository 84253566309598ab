import { createActor } from 'xstate';
import { strategyMachine, type StrategyEvent } from '../../agents/strategy/machine.js';
import type { StrategyParams } from '../../agents/strategy/strategies.js';
import type { Outbound } from '../../src/core/agent/outbound.js';

export const DAY = 86_400_000;
export const T0 = Date.UTC(2024, 0, 1);
export const dayTime = (n: number) => T0 + n * DAY;

/** The real strategy machine as an actor, fed daily bars; what it emits is collected. */
export function startStrategy(params: StrategyParams) {
  const actor = createActor(strategyMachine, { input: { params } });
  const emitted: Outbound[] = [];
  actor.on('outbox', (e) => emitted.push(...(e.items as Outbound[])));
  actor.start();
  let n = 0;
  /** Sends one daily bar per close (bar ids `<symbol>-<day>`); returns what those bars emitted. */
  const bars = (closes: readonly number[], symbol = 'ORCL'): Outbound[] => {
    const from = emitted.length;
    for (const close of closes) {
      n++;
      const time = dayTime(n);
      actor.send({
        type: 'market.bar',
        id: `${symbol}-${n}`,
        time,
        payload: { symbol, time, open: close, high: close, low: close, close, volume: 1000 },
      });
    }
    return emitted.slice(from);
  };
  const send = (ev: StrategyEvent) => {
    const from = emitted.length;
    actor.send(ev);
    return emitted.slice(from);
  };
  /** The (only) instance's context. */
  const ctx = () => Object.values(actor.getSnapshot().context.instances)[0]!;
  /** The next bar's time (what an event stamped just before it uses). */
  const nextDay = () => dayTime(n + 1);
  return { actor, emitted, bars, send, ctx, day: () => n, nextDay };
}
