import { afterEach, describe, expect, it } from 'vitest';
import { assign, enqueueActions, setup, type Snapshot } from 'xstate';
import { createBus } from '../../bus/create-bus.js';
import type { Bus, RecordedMessage } from '../../src/core/messaging/bus.js';
import { rootEnvelope, type Envelope } from '../../src/core/messaging/envelope.js';
import { patterns, subjects } from '../../src/core/messaging/subjects.js';
import { createRegistry } from '../../src/core/domain/messages.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { AgentHost } from '../../src/runtime/agent-host.js';
import type { MessageEvent } from '../../src/core/agent/agent-spec.js';
import { VirtualClock } from '../../src/core/ports/clock.js';
import { sequentialIds } from '../../src/core/ports/ids.js';
import { MarketCache } from '../../src/core/agent/market-cache.js';
import { NO_OUTPUT, type Emitted, type WithOutbox } from '../../src/core/agent/outbound.js';
import { eventually } from '../helpers/eventually.js';

interface SeenContext extends WithOutbox {
  /** The volume of every bar handled, in order: a bar handled twice or skipped shows here. */
  readonly volumes: readonly number[];
}

const seenMachine = setup({
  types: { context: {} as SeenContext, events: {} as MessageEvent<'market.bar'>, emitted: {} as Emitted },
  actions: {
    see: assign(({ context, event }) => ({ volumes: [...context.volumes, event.payload.volume], outbox: NO_OUTPUT })),
    emitOutbox: enqueueActions(({ context, enqueue }) => {
      for (const o of context.outbox) enqueue.emit(o);
    }),
  },
}).createMachine({
  context: { volumes: [], outbox: NO_OUTPUT },
  on: { 'market.bar': { actions: ['see', 'emitOutbox'] } },
});

const clock = new VirtualClock(1_700_000_000_000);
const deps = { ids: sequentialIds('src'), clock, source: 'test/1' };
const bar = (volume: number): Envelope =>
  rootEnvelope(
    deps,
    'market.bar',
    { symbol: 'ACME', time: 1_700_000_000_000 + volume * 60_000, open: 1, high: 1, low: 1, close: 1, volume },
    { time: 1_700_000_000_000 + volume * 60_000 },
  );
const recorded = (envs: readonly Envelope[]): RecordedMessage[] =>
  envs.map((env, i) => ({ subject: subjects.marketBar('ACME'), env, seq: i + 1 }));

/**
 * The replay half of crash recovery over NATS (src/app/kernel/kernel.ts reads the recording stream
 * and hands it to each agent): an agent restored from a checkpoint skips what each inlet had handled
 * up to the checkpoint's cut, handles what came after it once, and only then its held live input,
 * without handling a replayed message again.
 */
describe('agent host: replay after a checkpoint', () => {
  const buses: Bus[] = [];
  const hosts: AgentHost<SeenContext>[] = [];

  const newHost = async () => {
    const bus = await createBus({
      name: 't',
      registry: createRegistry(),
      envelopeDeps: deps,
      logger: silentLogger,
      maxPayloadBytes: 65536,
      requestTimeoutMs: 500,
    });
    const host = new AgentHost<SeenContext>(
      { name: 'portfolio', machine: seenMachine, inlets: [{ pattern: patterns.marketBars }] },
      {
        bus,
        ids: sequentialIds('host'),
        clock,
        logger: silentLogger,
        market: new MarketCache(),
        instance: 'i1',
        heartbeatMs: 0,
      },
    );
    buses.push(bus);
    hosts.push(host);
    return { bus, host };
  };

  afterEach(async () => {
    for (const h of hosts.splice(0)) await h.stop();
    for (const b of buses.splice(0)) await b.close();
  });

  it('restart after a checkpoint replays what came after its cut once, then the held live input without repeats', async () => {
    const bars = [1, 2, 3, 4, 5, 6].map(bar);
    const first = await newHost();
    await first.host.start();
    for (const b of bars.slice(0, 3)) first.bus.publish(subjects.marketBar('ACME'), b);
    // the checkpoint, taken at an idle point
    const snapshot = first.host.persistedSnapshot();
    const inputs = first.host.persistedInputs();
    expect(inputs).toEqual({ [patterns.marketBars]: bars.slice(0, 3).map((b) => b.id) });
    for (const b of bars.slice(3, 5)) first.bus.publish(subjects.marketBar('ACME'), b); // handled, then the crash

    const again = await newHost();
    await again.host.start(snapshot as Snapshot<unknown>, 0, undefined, { inputs, replay: true });
    // live input while it replays: bar 5 again (a redelivery) and the new bar 6; both wait
    again.bus.publish(subjects.marketBar('ACME'), bars[4]!);
    again.bus.publish(subjects.marketBar('ACME'), bars[5]!);
    expect(again.host.context.volumes).toEqual([1, 2, 3]);
    expect(again.host.lifecycle).toBe('starting');
    // the stream: everything published, bar 6 included (it was stored before the read ended)
    const stream = recorded(bars);
    again.host.prepareReplay(stream);
    let took = 0;
    for (const m of stream) took += await again.host.replayOne(m);
    expect(took).toBe(3);
    again.host.release();
    await eventually(() => expect(again.host.lifecycle).toBe('running'));
    await eventually(() => expect(again.host.context.volumes).toEqual([1, 2, 3, 4, 5, 6]));
    expect(again.host.persistedInputs()).toEqual({ [patterns.marketBars]: bars.map((b) => b.id) });
  });

  it('two publishers of a subject, stored in one order and delivered in another: what was handled before the checkpoint is not handled again, what was not is', async () => {
    const bars = [1, 2, 3, 4, 5, 6].map(bar);
    const first = await newHost();
    await first.host.start();
    // delivered 1, 2, 3, 5 before the checkpoint; 4 (another publisher's) was still on its way
    for (const b of [bars[0]!, bars[1]!, bars[2]!, bars[4]!]) first.bus.publish(subjects.marketBar('ACME'), b);
    const snapshot = first.host.persistedSnapshot();
    const inputs = first.host.persistedInputs();
    const again = await newHost();
    await again.host.start(snapshot as Snapshot<unknown>, 0, undefined, { inputs, replay: true });
    // the stream stored 4 before 5 (the last handled) and 3 after it; 6 came later
    const stream = recorded([bars[0]!, bars[1]!, bars[3]!, bars[4]!, bars[2]!, bars[5]!]);
    again.host.prepareReplay(stream);
    let took = 0;
    for (const m of stream) took += await again.host.replayOne(m);
    again.host.release();
    expect(took).toBe(2);
    // a cut at the last id alone would have handled 3 twice and never 4: [1, 2, 3, 5, 3, 6]
    expect(again.host.context.volumes).toEqual([1, 2, 3, 5, 4, 6]);
  });

  it('a checkpoint written before cuts kept several ids (the last id alone) still resumes', async () => {
    const bars = [1, 2, 3, 4].map(bar);
    const first = await newHost();
    await first.host.start();
    for (const b of bars.slice(0, 2)) first.bus.publish(subjects.marketBar('ACME'), b);
    const snapshot = first.host.persistedSnapshot();
    const again = await newHost();
    await again.host.start(snapshot as Snapshot<unknown>, 0, undefined, {
      inputs: { [patterns.marketBars]: bars[1]!.id },
      replay: true,
    });
    const stream = recorded(bars);
    again.host.prepareReplay(stream);
    for (const m of stream) await again.host.replayOne(m);
    again.host.release();
    expect(again.host.context.volumes).toEqual([1, 2, 3, 4]);
  });

  it('an inlet whose cut is not in the stream read (it had handled nothing lately) takes all of it', async () => {
    const bars = [1, 2, 3].map(bar);
    const first = await newHost();
    await first.host.start();
    const snapshot = first.host.persistedSnapshot();
    const again = await newHost();
    await again.host.start(snapshot as Snapshot<unknown>, 0, undefined, {
      inputs: { [patterns.marketBars]: 'an-id-older-than-the-read' },
      replay: true,
    });
    const stream = recorded(bars);
    again.host.prepareReplay(stream);
    for (const m of stream) await again.host.replayOne(m);
    again.host.release();
    expect(again.host.context.volumes).toEqual([1, 2, 3]);
  });
});
