import { afterEach, describe, expect, it } from 'vitest';
import { createBus, orderPath } from '../../bus/create-bus.js';
import type { Bus } from '../../src/core/messaging/bus.js';
import { rootEnvelope, type Envelope } from '../../src/core/messaging/envelope.js';
import type { NatsBus } from '../../bus/nats-bus.js';
import { subjects } from '../../src/core/messaging/subjects.js';
import { createRegistry, type OrderIntent } from '../../src/core/domain/messages.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { VirtualClock } from '../../src/core/ports/clock.js';
import { sequentialIds } from '../../src/core/ports/ids.js';
import { natsUrl, testPrefix } from '../helpers/buses.js';
import { eventually } from '../helpers/eventually.js';

/**
 * The order path over JetStream: stored before it counts, deduplicated by envelope id, read
 * through durable consumers that acknowledge only when the work is safe.
 */
describe('order path over JetStream [nats]', () => {
  const deps = { ids: sequentialIds('js'), clock: new VirtualClock(1_700_000_000_000), source: 'test/js' };
  const buses: Bus[] = [];
  const intent = (n: number): Envelope => {
    const order: OrderIntent = {
      clientOrderId: `c-${n}`,
      symbol: 'ORCL',
      side: 'buy',
      qty: n,
      type: 'market',
      tif: 'GTC',
      origin: { kind: 'strategy', id: 't' },
      decidedAt: 0,
    };
    return rootEnvelope(deps, 'order.intent', order);
  };
  const open = async (prefix: string, opts: { deferAcks?: boolean; ackWaitMs?: number; keep?: boolean } = {}) => {
    const bus = await createBus({
      natsUrl: natsUrl,
      name: 'sextant-test-js',
      registry: createRegistry(),
      envelopeDeps: deps,
      logger: silentLogger,
      maxPayloadBytes: 65536,
      requestTimeoutMs: 2000,
      prefix,
      durable: {
        ...orderPath(prefix, opts.deferAcks ?? false),
        deleteOnClose: !opts.keep,
        ...(opts.ackWaitMs ? { ackWaitMs: opts.ackWaitMs } : {}),
      },
    });
    buses.push(bus);
    return bus;
  };
  const received = (bus: Bus, durable: string) => {
    const got: string[] = [];
    bus.subscribe(subjects.orderIntent(), (env) => void got.push(env.id), { name: 'risk', durable });
    return got;
  };

  afterEach(async () => {
    // the last bus of each test deletes the stream
    for (const b of buses.splice(0).reverse()) await b.close().catch(() => undefined);
  });

  it('stores every order message before it counts, and a re-published one (same id) is delivered once', async () => {
    const prefix = testPrefix();
    const bus = await open(prefix);
    const got = received(bus, 'risk.order.intent');
    await bus.flush();
    const sent = [intent(1), intent(2), intent(3)];
    for (const e of sent) bus.publish(subjects.orderIntent(), e);
    bus.publish(subjects.orderIntent(), sent[1]!); // a duplicate publish
    await bus.flush();
    await eventually(() => expect(got).toEqual(sent.map((e) => e.id)));
    const path = (bus as NatsBus).durable!;
    expect({ stored: path.stored, duplicates: path.duplicates }).toEqual({ stored: 3, duplicates: 1 });
  });

  it('a message published while its durable subscriber is away is delivered when it comes back', async () => {
    const prefix = testPrefix();
    const first = await open(prefix, { keep: true });
    const sub = first.subscribe(subjects.orderIntent(), () => undefined, {
      name: 'risk',
      durable: 'risk.order.intent',
    });
    await first.flush();
    await sub.drain(); // the consumer stays on the server; nobody is reading it
    const publisher = await open(prefix, { keep: true });
    const e = intent(7);
    publisher.publish(subjects.orderIntent(), e);
    await publisher.flush();
    const again = await open(prefix);
    const got = received(again, 'risk.order.intent');
    await eventually(() => expect(got).toEqual([e.id]));
  });

  it('with deferred acknowledgements a message handled but not committed is delivered again after a crash; a committed one is not', async () => {
    const prefix = testPrefix();
    const crashed = await open(prefix, { deferAcks: true, ackWaitMs: 400, keep: true });
    const before = received(crashed, 'execution.order.intent');
    await crashed.flush();
    const committed = intent(1);
    crashed.publish(subjects.orderIntent(), committed);
    await eventually(() => expect(before).toEqual([committed.id]));
    await crashed.commitPoint()(); // a checkpoint saved with its effects: acknowledged
    const pending = intent(2);
    crashed.publish(subjects.orderIntent(), pending);
    await eventually(() => expect(before).toEqual([committed.id, pending.id]));
    await crashed.close(); // the process dies before its next checkpoint

    const restarted = await open(prefix, { deferAcks: true, ackWaitMs: 400 });
    const after = received(restarted, 'execution.order.intent');
    await eventually(() => expect(after).toEqual([pending.id]), 5000);
  });
});
