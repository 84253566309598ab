import { afterEach, describe, expect, it } from 'vitest';
import { assign, createActor, enqueueActions, setup } from 'xstate';
import { createBus } from '../../bus/create-bus.js';
import type { Bus } from '../../src/core/messaging/bus.js';
import type { DeadLetter } from '../../src/core/messaging/dead-letter.js';
import { rootEnvelope, type Envelope } from '../../src/core/messaging/envelope.js';
import { patterns, subjects } from '../../src/core/messaging/subjects.js';
import { createRegistry, type AgentHealth, type Bar } from '../../src/core/domain/messages.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { AgentHost } from '../../src/runtime/agent-host.js';
import type { MessageEvent } from '../../src/core/agent/agent-spec.js';
import { VirtualClock } from '../../src/core/ports/clock.js';
import { sequentialIds } from '../../src/core/ports/ids.js';
import { MarketCache } from '../../src/core/agent/market-cache.js';
import { NO_OUTPUT, out, type Emitted, type WithOutbox } from '../../src/core/agent/outbound.js';
import { eventually } from '../helpers/eventually.js';

interface CountingContext extends WithOutbox {
  readonly seen: number;
}

/** A tiny machine: counts bars, throws on a bar with volume 666, emits a signal and an intent on volume 7. */
const countingMachine = setup({
  types: { context: {} as CountingContext, events: {} as MessageEvent<'market.bar'>, emitted: {} as Emitted },
  actions: {
    count: assign(({ context, event }) => {
      if (event.payload.volume === 666) throw new Error('poison bar');
      const bar: Bar = event.payload;
      if (bar.volume !== 7) return { seen: context.seen + 1, outbox: NO_OUTPUT };
      return {
        seen: context.seen + 1,
        outbox: [
          out('signal.generated', {
            symbol: bar.symbol,
            strategy: 't',
            side: 'buy',
            targetQty: 1,
            reasons: ['test'],
            indicators: {},
            price: bar.close,
          }),
          out(
            'order.intent',
            {
              clientOrderId: `t-${event.id}`,
              symbol: bar.symbol,
              side: 'buy',
              qty: 1,
              type: 'market',
              tif: 'GTC',
              origin: { kind: 'strategy', id: 't' },
              decidedAt: bar.time,
            },
            { chain: 'previous' },
          ),
        ],
      };
    }),
    emitOutbox: enqueueActions(({ context, enqueue }) => {
      for (const o of context.outbox) enqueue.emit(o);
    }),
  },
}).createMachine({
  context: { seen: 0, outbox: NO_OUTPUT },
  on: { 'market.bar': { actions: ['count', 'emitOutbox'] } },
});

const clock = new VirtualClock(1_700_000_000_000);
const deps = { ids: sequentialIds('src'), clock, source: 'test/1' };
const bar = (volume: number, time = 1_700_000_000_000): Envelope =>
  rootEnvelope(deps, 'market.bar', { symbol: 'ACME', time, open: 1, high: 1, low: 1, close: 1, volume }, { time });

/** An in-memory bus on the test's envelope ports. */
const testBus = () =>
  createBus({
    name: 't',
    registry: createRegistry(),
    envelopeDeps: deps,
    logger: silentLogger,
    maxPayloadBytes: 65536,
    requestTimeoutMs: 500,
  });

describe('agent host', () => {
  let bus: Bus;
  let host: AgentHost<CountingContext>;
  const all: Envelope[] = [];

  const start = async (maxRestarts = 5) => {
    bus = await testBus();
    all.length = 0;
    bus.subscribe(patterns.all, (env) => void all.push(env));
    host = new AgentHost<CountingContext>(
      {
        name: 'strategy',
        machine: countingMachine,
        inlets: [{ pattern: patterns.marketBars }],
        queries: [{ what: 'signals', answer: (ctx) => ({ seen: ctx.seen }) }],
      },
      {
        bus,
        ids: sequentialIds('host'),
        clock,
        logger: silentLogger,
        market: new MarketCache(),
        instance: 'i1',
        heartbeatMs: 0,
        restart: { initialMs: 5, maxMs: 20, maxRestarts, windowMs: 60_000 },
      },
    );
    await host.start();
  };
  const health = () => all.filter((e) => e.type === 'agent.health').map((e) => (e.payload as AgentHealth).state);

  afterEach(async () => {
    await host?.stop();
    await bus?.close();
  });

  it('publishes its lifecycle on agent.health.<name> from starting to stopped', async () => {
    await start();
    await host.stop();
    expect(health()).toEqual(['starting', 'running', 'stopping', 'stopped']);
    expect(all.filter((e) => e.type === 'agent.health').every((e) => e.correlationId === e.id)).toBe(true);
  });

  it('a crashing message is dead-lettered and the machine restarts from its last good snapshot', async () => {
    await start();
    for (const v of [1, 2, 666, 3]) bus.publish(subjects.marketBar('ACME'), bar(v));
    await eventually(() => expect(host.context.seen).toBe(3));
    expect(health()).toEqual(['starting', 'running', 'degraded', 'running']);
    const dead = all.filter((e) => e.type === 'message.deadlettered').map((e) => e.payload as DeadLetter);
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ code: 'handler_error', handler: 'strategy', subject: 'market.bar.ACME' });
    expect(dead[0]!.reason).toContain('poison bar');
    expect(host.health().restarts).toBe(1);
  });

  it('repeated crashes fault the agent and later messages are dead-lettered as agent_faulted', async () => {
    await start(1);
    bus.publish(subjects.marketBar('ACME'), bar(666));
    await eventually(() => expect(host.lifecycle).toBe('running'));
    bus.publish(subjects.marketBar('ACME'), bar(666));
    await eventually(() => expect(host.lifecycle).toBe('faulted'));
    bus.publish(subjects.marketBar('ACME'), bar(1));
    const reasons = () =>
      all.filter((e) => e.type === 'message.deadlettered').map((e) => (e.payload as DeadLetter).reason);
    await eventually(() => expect(reasons().at(-1)).toMatch(/faulted after repeated crashes/));
  });

  it('outputs keep the correlation id of their cause and chain to the previous output of the same step', async () => {
    await start();
    const cause = bar(7);
    bus.publish(subjects.marketBar('ACME'), cause);
    const signal = all.find((e) => e.type === 'signal.generated')!;
    const intent = all.find((e) => e.type === 'order.intent')!;
    expect(signal).toMatchObject({
      correlationId: cause.id,
      causationId: cause.id,
      time: cause.time,
      source: 'strategy/i1',
    });
    expect(intent).toMatchObject({ correlationId: cause.id, causationId: signal.id });
  });

  it('outputs caused by a message get the same ids when the message is handled again (restart, redelivery)', async () => {
    await start();
    const theBar = bar(7);
    bus.publish(subjects.marketBar('ACME'), theBar);
    await eventually(() => expect(all.filter((e) => e.type === 'order.intent')).toHaveLength(1));
    const first = all.filter((e) => e.type === 'signal.generated' || e.type === 'order.intent').map((e) => e.id);
    await host.stop();
    await bus.close();
    await start(); // a fresh process: new host, new bus, same run
    bus.publish(subjects.marketBar('ACME'), theBar);
    await eventually(() => expect(all.filter((e) => e.type === 'order.intent')).toHaveLength(1));
    const again = all.filter((e) => e.type === 'signal.generated' || e.type === 'order.intent').map((e) => e.id);
    expect(again).toEqual(first);
    expect(new Set(first).size).toBe(2);
  });

  it('answers queries from the machine context over request/reply', async () => {
    await start();
    bus.publish(subjects.marketBar('ACME'), bar(1));
    const reply = await bus.request(subjects.query('signals'), rootEnvelope(deps, 'query.request', { params: {} }));
    expect(reply.type).toBe('query.result');
    expect(reply.payload).toEqual({ data: { seen: 1 } });
  });

  describe('chains across a restart', () => {
    /** On `poke` (no message: a venue poll), emits a fill chained to the order registered under `o1`. */
    const pokeMachine = setup({
      types: { context: {} as WithOutbox, events: {} as { type: 'poke' }, emitted: {} as Emitted },
    }).createMachine({
      context: { outbox: NO_OUTPUT },
      on: {
        poke: {
          actions: enqueueActions(({ enqueue }) => {
            enqueue.emit(
              out(
                'order.cancelled',
                {
                  clientOrderId: 'o1',
                  symbol: 'ACME',
                  side: 'buy',
                  filledQty: 0,
                  reason: 'venue',
                  status: 'cancelled',
                  origin: { kind: 'strategy', id: 't' },
                },
                { chain: { key: 'o1' }, time: 5, release: 'o1' },
              ),
            );
          }),
        },
      },
    });
    let pokeHost: AgentHost<WithOutbox> | undefined;
    afterEach(async () => {
      await pokeHost?.stop();
    });
    const startPoke = async (chains?: Record<string, { id: string; correlationId: string; time: number }>) => {
      await start();
      pokeHost = new AgentHost<WithOutbox>(
        { name: 'execution', machine: pokeMachine, inlets: [] },
        {
          bus,
          ids: sequentialIds('poke'),
          clock,
          logger: silentLogger,
          market: new MarketCache(),
          instance: 'i1',
          heartbeatMs: 0,
        },
      );
      await pokeHost.start(
        pokeMachine.getPersistedSnapshot(createActor(pokeMachine).getSnapshot()) as never,
        undefined,
        chains,
      );
    };

    it('an output chained to an order registered before the restart keeps the chain of that order', async () => {
      await startPoke({ o1: { id: 'SUBMITTED-1', correlationId: 'BAR-1', time: 1 } });
      pokeHost!.send({ type: 'poke' });
      const cancelled = all.find((e) => e.type === 'order.cancelled')!;
      expect(cancelled).toMatchObject({ correlationId: 'BAR-1', causationId: 'SUBMITTED-1' });
    });

    it('without its chain the output is published as a root of its own, not lost and not crashing the process', async () => {
      await startPoke();
      pokeHost!.send({ type: 'poke' });
      const cancelled = all.find((e) => e.type === 'order.cancelled')!;
      expect(cancelled.correlationId).toBe(cancelled.id);
      expect(pokeHost!.lifecycle).toBe('running');
    });
  });
});

/** The counting machine with one transition that forgets to emit its outbox. */
const forgetful = setup({
  types: { context: {} as CountingContext, events: {} as MessageEvent<'market.bar'>, emitted: {} as Emitted },
  actions: {
    count: assign(({ context, event }) => ({
      seen: context.seen + 1,
      outbox:
        event.payload.volume === 7
          ? [
              out('signal.generated', {
                symbol: event.payload.symbol,
                strategy: 't',
                side: 'buy',
                targetQty: 1,
                reasons: ['test'],
                indicators: {},
                price: 1,
              }),
            ]
          : NO_OUTPUT,
    })),
  },
}).createMachine({ context: { seen: 0, outbox: NO_OUTPUT }, on: { 'market.bar': { actions: ['count'] } } });

describe('agent host: an outbox is paired with its emission', () => {
  it('a transition that fills the outbox but forgets emitOutbox still publishes, once, and the host says which machine forgot', async () => {
    const bus = await testBus();
    const signals: Envelope[] = [];
    bus.subscribe(patterns.signals, (env) => void signals.push(env));
    const errors: string[] = [];
    const logger = {
      ...silentLogger,
      child: () => logger,
      isLevelEnabled: () => false,
      error: (_o: unknown, msg: string) => void errors.push(msg),
    } as unknown as typeof silentLogger;
    const host = new AgentHost<CountingContext>(
      { name: 'strategy', machine: forgetful, inlets: [{ pattern: patterns.marketBars }] },
      { bus, ids: sequentialIds('host'), clock, logger, market: new MarketCache(), instance: 'i1', heartbeatMs: 0 },
    );
    await host.start();
    bus.publish(subjects.marketBar('ACME'), bar(7));
    bus.publish(subjects.marketBar('ACME'), bar(1, 1_700_000_060_000)); // leaves the outbox empty
    bus.publish(subjects.marketBar('ACME'), bar(7, 1_700_000_120_000));
    await bus.flush();
    expect(signals.map((s) => s.time)).toEqual([1_700_000_000_000, 1_700_000_120_000]);
    expect(errors).toEqual([
      'a transition of the strategy machine changed its outbox without emitOutbox; published anyway (add emitOutbox to its actions)',
      'a transition of the strategy machine changed its outbox without emitOutbox; published anyway (add emitOutbox to its actions)',
    ]);
    await host.stop();
    await bus.close();
  });
});
