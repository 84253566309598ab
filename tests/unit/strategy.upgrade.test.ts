import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { strategyAgent } from '../../agents/strategy/agent.js';
import { pushWindow, window } from '../../agents/strategy/indicators.js';
import { strategyMachine, type StrategyAgentContext } from '../../agents/strategy/machine.js';
import type { LegacyStrategyParams } from '../../agents/strategy/strategies.js';
import type { Outbound } from '../../src/core/agent/outbound.js';

const T0 = Date.UTC(2024, 0, 1);
const closes = Array.from({ length: 120 }, (_, i) => 100 + 10 * Math.sin(i / 3) + (i % 7));
const SMA: LegacyStrategyParams = { kind: 'sma-cross', id: 'sma-cross', fast: 5, slow: 12, size: 10 };

function run(snapshot: unknown, from: number, to: number, spec = strategyAgent(SMA, 100_000)) {
  const actor = createActor(strategyMachine, {
    input: spec.input as never,
    ...(snapshot
      ? {
          snapshot: {
            ...(snapshot as object),
            context: spec.upgrade!((snapshot as { context: unknown }).context),
          } as never,
        }
      : {}),
  });
  const out: Outbound[] = [];
  actor.on('outbox', (e) => out.push(...(e.items as Outbound[])));
  actor.start();
  for (let n = from; n < to; n++) {
    const close = closes[n]!;
    const time = T0 + n * 86_400_000;
    actor.send({
      type: 'market.bar',
      id: `b${n}`,
      time,
      payload: { symbol: 'ORCL', time, open: close, high: close, low: close, close, volume: 1 },
    });
  }
  return { out, actor };
}

describe('checkpoints of earlier versions', () => {
  it('a strategy context saved before the SDK resumes deciding exactly as an uninterrupted run', () => {
    const whole = run(undefined, 0, 120).out.filter(
      (o) => o.type === 'order.intent' && o.payload.decidedAt > T0 + 60 * 86_400_000,
    );
    const first = run(undefined, 0, 61);
    const now = first.actor.getPersistedSnapshot() as unknown as { context: StrategyAgentContext };
    const inst = now.context.instances['sma-cross']!;
    const sym = inst.symbols.ORCL!;
    // the same facts in the shape versions before the SDK saved: the closes window of the slow SMA
    const legacy = {
      ...now,
      context: {
        params: SMA,
        symbols: {
          ORCL: {
            closes: closes.slice(0, 61).reduce(pushWindow, window(12)),
            lastSign: (sym.user as { lastSign: -1 | 0 | 1 }).lastSign,
            rsi: undefined,
            position: sym.position,
            ...(sym.target !== undefined ? { target: sym.target } : {}),
          },
        },
        open: inst.open,
        lastSignals: inst.lastSignals,
        sentiment: {},
        cash: inst.cash,
        held: inst.held,
        outbox: [],
      },
    };
    const resumed = run(legacy, 61, 120).out.filter((o) => o.type === 'order.intent');
    expect(whole.length).toBeGreaterThan(3);
    expect(resumed).toEqual(whole);
  });

  it('changed parameters keep the position and start the strategy state again; an instance no longer configured is dropped', () => {
    const first = run(undefined, 0, 61);
    const saved = first.actor.getPersistedSnapshot() as unknown as { context: StrategyAgentContext };
    const position = saved.context.instances['sma-cross']!.symbols.ORCL!.position;
    const spec = strategyAgent(
      [
        { ...SMA, fast: 3 },
        { id: 'other', strategy: 'rsi-reversion', params: {} },
      ],
      100_000,
    );
    const ctx = spec.upgrade!(saved.context) as StrategyAgentContext;
    expect(Object.keys(ctx.instances)).toEqual(['sma-cross', 'other']);
    expect(ctx.instances['sma-cross']!.symbols.ORCL).toMatchObject({ position, user: undefined });
    expect(ctx.instances['sma-cross']!.instance.params).toMatchObject({ fast: 3 });
    expect(ctx.instances.other!.symbols).toEqual({});
    const only = strategyAgent({ id: 'other', strategy: 'rsi-reversion', params: {} }, 100_000);
    expect(Object.keys((only.upgrade!(saved.context) as StrategyAgentContext).instances)).toEqual(['other']);
  });
});
