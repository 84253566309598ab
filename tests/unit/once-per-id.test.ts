import { afterEach, describe, expect, it } from 'vitest';
import { LiveEvents } from '../../interfaces/http/live-stream.js';
import { Notifier, type Notification } from '../../interfaces/notify/notifier.js';
import { createRegistry, versionOf, type OrderFilled } from '../../src/core/domain/messages.js';
import type { Bus } from '../../src/core/messaging/bus.js';
import { rootEnvelope } from '../../src/core/messaging/envelope.js';
import { subjects } from '../../src/core/messaging/subjects.js';
import { VirtualClock } from '../../src/core/ports/clock.js';
import { sequentialIds } from '../../src/core/ports/ids.js';
import { oncePerId } from '../../src/core/util/id-window.js';
import { makeBus } from '../helpers/buses.js';

const T = Date.UTC(2024, 0, 2);
const deps = { ids: sequentialIds('fill'), clock: new VirtualClock(T), source: 'execution/test' };
const fill = (qty: number) =>
  rootEnvelope(
    deps,
    'order.filled',
    {
      clientOrderId: `c-${qty}`,
      brokerOrderId: 'paper-1',
      symbol: 'ORCL',
      side: 'buy',
      qty,
      price: 100,
      fee: 0,
      cumQty: qty,
      leavesQty: 0,
      status: 'filled',
      origin: { kind: 'person', id: 'ann' },
    } satisfies OrderFilled,
    { v: versionOf('order.filled') },
  );

/**
 * A replay after a crash publishes again, with the ids they had, the outputs of the messages it
 * replays. The machines recognise them by id; the consumers that show or send what they see (the
 * live event stream, chat notifications, the terminal) must too, or a person is told twice.
 */
describe('consumers that show what they see take a message published again with its id once', () => {
  let bus: Bus | undefined;
  afterEach(async () => {
    await bus?.close();
    bus = undefined;
  });

  it('oncePerId calls the handler once per id, and remembers at least the last `size` ids', () => {
    const seen: string[] = [];
    const handle = oncePerId((e: { id: string }, n: number) => void seen.push(`${e.id}:${n}`), 3);
    handle({ id: 'a' }, 1);
    handle({ id: 'a' }, 2);
    handle({ id: 'b' }, 3);
    handle({ id: 'c' }, 4);
    handle({ id: 'a' }, 5);
    expect(seen).toEqual(['a:1', 'b:3', 'c:4']);
  });

  it('the notifier tells a fill published twice once; another fill is told', async () => {
    bus = await makeBus('memory', { registry: createRegistry(), prefix: 'once' });
    const notifier = new Notifier(bus);
    const told: Notification[] = [];
    notifier.subscribe((n) => void told.push(n));
    notifier.start();
    const first = fill(10);
    bus.publish(subjects.orderFilled(), first);
    bus.publish(subjects.orderFilled(), first);
    bus.publish(subjects.orderFilled(), fill(20));
    await bus.flush();
    expect(told.map((n) => n.text)).toEqual(['Filled: buy 10 ORCL at 100.', 'Filled: buy 20 ORCL at 100.']);
  });

  it('the live event stream (/api/v1/stream, GraphQL subscriptions) shows a message published twice once', async () => {
    bus = await makeBus('memory', { registry: createRegistry(), prefix: 'once' });
    const stream = new LiveEvents(bus, { types: ['order.filled'] }, { name: 'test-stream' });
    const first = fill(10);
    const second = fill(20);
    bus.publish(subjects.orderFilled(), first);
    bus.publish(subjects.orderFilled(), first);
    bus.publish(subjects.orderFilled(), second);
    await bus.flush();
    expect((await stream.next()).value?.id).toBe(first.id);
    expect((await stream.next()).value?.id).toBe(second.id);
    await stream.return();
  });
});
