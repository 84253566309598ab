import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Bus } from '../../src/core/messaging/bus.js';
import { deriveEnvelope, rootEnvelope, type Envelope } from '../../src/core/messaging/envelope.js';
import { createRegistry, type OrderIntent } from '../../src/core/domain/messages.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { VirtualClock } from '../../src/core/ports/clock.js';
import { sequentialIds } from '../../src/core/ports/ids.js';
import { openEmbeddedStore } from '../../src/infra/store/embedded/embedded-store.js';
import { StoreUnavailableError, type Store } from '../../src/infra/store/ports.js';
import { Recorder } from '../../src/infra/store/recorder.js';
import { makeBus, testPrefix } from '../helpers/buses.js';
import { eventually } from '../helpers/eventually.js';

const deps = { ids: sequentialIds('rec'), clock: new VirtualClock(1_700_000_000_000), source: 'test/1' };
const bar = (i: number) =>
  rootEnvelope(
    deps,
    'market.bar',
    { symbol: 'ORCL', time: 1_700_000_000_000 + i, open: 1, high: 1, low: 1, close: 1, volume: 1 },
    { time: 1_700_000_000_000 + i },
  );

/** A store whose event and order writes fail while `down` is set (a MongoDB that went away). */
function flaky(store: Store): Store & { down: boolean; attempts: number } {
  const f = {
    ...store,
    down: false,
    attempts: 0,
    events: {
      ...store.events,
      append: (e: Parameters<Store['events']['append']>[0]) => {
        f.attempts++;
        return f.down
          ? Promise.reject(new StoreUnavailableError('mongodb insertMany failed: connection refused'))
          : store.events.append(e);
      },
      count: () => store.events.count(),
      query: (q: Parameters<Store['events']['query']>[0]) => store.events.query(q),
    },
  };
  return f;
}

describe('recorder', () => {
  let dir: string;
  let bus: Bus;
  let base: Store;
  let store: ReturnType<typeof flaky>;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sextant-rec-'));
    base = await openEmbeddedStore({ dir, fsync: 'never' });
    store = flaky(base);
    bus = await makeBus('memory', { registry: createRegistry(), prefix: testPrefix() });
  });
  afterEach(async () => {
    await base.close();
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('while the store is unreachable nothing is lost: the buffer is written in order once it is back', async () => {
    const rec = new Recorder(bus, store, silentLogger, { maxBuffered: 10_000, overflow: 'backpressure', retryMs: 5 });
    store.down = true;
    for (let i = 0; i < 500; i++) rec.record('market.bar.ORCL', bar(i));
    await eventually(() => expect(store.attempts).toBeGreaterThan(2));
    expect(await store.events.count()).toBe(0);
    expect(rec.stats.buffered).toBe(500);
    store.down = false;
    await rec.flush();
    const stored = await store.events.query({ limit: 10_000 });
    expect(stored.map((e) => e.env.time - 1_700_000_000_000)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(rec.stats).toMatchObject({ recorded: 500, buffered: 0, dropped: 0 });
    expect(rec.stats.writeFailures).toBeGreaterThan(0);
  });

  it('a full buffer under back-pressure holds the feed (whenWritable waits) until the store catches up', async () => {
    const rec = new Recorder(bus, store, silentLogger, { maxBuffered: 100, overflow: 'backpressure', retryMs: 5 });
    store.down = true;
    for (let i = 0; i < 150; i++) rec.record('market.bar.ORCL', bar(i));
    let open = false;
    const gate = rec.whenWritable().then(() => (open = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(open).toBe(false);
    expect(rec.stats.overflows).toBe(1);
    store.down = false;
    await gate;
    await rec.flush();
    expect(await store.events.count()).toBe(150);
  });

  it('a full buffer under halt trips the kill switch once and keeps everything', async () => {
    const halts: string[] = [];
    const rec = new Recorder(bus, store, silentLogger, {
      maxBuffered: 100,
      overflow: 'halt',
      retryMs: 5,
      onHalt: (r) => halts.push(r),
    });
    store.down = true;
    for (let i = 0; i < 300; i++) rec.record('market.bar.ORCL', bar(i));
    expect(halts).toHaveLength(1);
    expect(halts[0]).toMatch(/store buffer full: 101 events waiting \(max 100\)/);
    await rec.whenWritable(); // halt does not hold the feed
    store.down = false;
    await rec.flush();
    expect(await store.events.count()).toBe(300);
  });

  it('keeps one order document through its life, and a late or repeated message cannot move it back', async () => {
    const rec = new Recorder(bus, store, silentLogger, { maxBuffered: 1000, overflow: 'backpressure' });
    const root = bar(0);
    const order: OrderIntent = {
      clientOrderId: 'sma-1',
      symbol: 'ORCL',
      side: 'buy',
      qty: 10,
      type: 'market',
      tif: 'GTC',
      origin: { kind: 'strategy', id: 'sma' },
      decidedAt: root.time,
    };
    const approved = deriveEnvelope(deps, root, 'order.approved', { order, checks: [] });
    const submitted = deriveEnvelope(deps, approved, 'order.submitted', {
      order,
      brokerOrderId: 'p-1',
      broker: 'paper',
    });
    const fill = (qty: number, cumQty: number, price: number): Envelope =>
      deriveEnvelope(deps, submitted, 'order.filled', {
        clientOrderId: 'sma-1',
        brokerOrderId: 'p-1',
        symbol: 'ORCL',
        side: 'buy',
        qty,
        price,
        fee: 0,
        cumQty,
        leavesQty: 10 - cumQty,
        status: cumQty === 10 ? 'filled' : 'partially_filled',
        origin: order.origin,
      });
    const f1 = fill(4, 4, 10);
    const f2 = fill(6, 10, 11);
    for (const e of [approved, submitted, f1]) rec.record('order', e);
    await rec.flush();
    expect(await store.orders.list({ status: 'open' })).toMatchObject([
      { clientOrderId: 'sma-1', status: 'partially_filled', filledQty: 4 },
    ]);
    for (const e of [f2, f1, submitted]) rec.record('order', e); // the repeats are ignored
    await rec.flush();
    const o = await store.orders.get('sma-1');
    expect(o).toMatchObject({ status: 'filled', filledQty: 10, brokerOrderId: 'p-1', correlationId: root.id });
    expect(o!.avgPrice).toBeCloseTo(10.6, 10);
    expect(await store.orders.list({ status: 'open' })).toEqual([]);
    expect((await store.fills.list()).map((f) => f.qty)).toEqual([4, 6]);
  });
});
