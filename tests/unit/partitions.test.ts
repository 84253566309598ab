import { afterEach, describe, expect, it } from 'vitest';
import { MemoryKeyValueStore, type KeyValueStore } from '../../bus/key-value.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { PartitionCoordinator } from '../../src/runtime/partitions.js';
import { eventually } from '../helpers/eventually.js';

const SYMBOLS = Array.from({ length: 40 }, (_, i) => `S${i}`);

/** The store as a process sees it, until the process dies (every call fails from then on). */
function dying(store: KeyValueStore, state: { dead: boolean }): KeyValueStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) =>
        state.dead
          ? Promise.reject(new Error('process gone'))
          : (v as (...a: unknown[]) => unknown).apply(target, args);
    },
  });
}

describe('partition coordinator (membership, rendezvous ownership, leases)', () => {
  const open: PartitionCoordinator[] = [];
  afterEach(async () => void (await Promise.all(open.splice(0).map((c) => c.stop().catch(() => undefined)))));
  const coordinator = (store: KeyValueStore, instance: string, now: () => number = Date.now) => {
    const c = new PartitionCoordinator({
      agent: 'strategy',
      instance,
      store,
      log: silentLogger,
      refreshMs: 20,
      ttlMs: 100,
      now,
    });
    open.push(c);
    return c;
  };

  it('every symbol has exactly one owner among the members, and both members own some', async () => {
    const store = new MemoryKeyValueStore();
    const a = coordinator(store, 'a');
    const b = coordinator(store, 'b');
    await a.join();
    await b.join();
    await eventually(() => expect(a.members).toEqual(['a', 'b']));
    const owners = SYMBOLS.map((s) => [a.owns(s), b.owns(s)]);
    expect(owners.every(([x, y]) => x !== y)).toBe(true);
    expect(owners.filter(([x]) => x).length).toBeGreaterThan(5);
    expect(owners.filter(([, y]) => y).length).toBeGreaterThan(5);
  });

  it('a joining member takes only the symbols rendezvous hashing moves to it', async () => {
    const store = new MemoryKeyValueStore();
    const a = coordinator(store, 'a');
    const b = coordinator(store, 'b');
    await a.join();
    await b.join();
    await eventually(() => expect(a.members).toHaveLength(2));
    const before = new Map(SYMBOLS.map((s) => [s, a.ownerOf(s)]));
    const c = coordinator(store, 'c');
    await c.join();
    await eventually(() => expect(a.members).toHaveLength(3));
    for (const s of SYMBOLS) if (a.ownerOf(s) !== before.get(s)) expect(a.ownerOf(s)).toBe('c');
  });

  it("a new owner waits for the holder's hand-over, then gets its slice and the ids it handled", async () => {
    const store = new MemoryKeyValueStore();
    const a = coordinator(store, 'a');
    await a.join();
    for (const s of SYMBOLS) expect(await a.acquire(s)).toEqual({ kind: 'fresh' }); // alone, a holds everything
    const b = coordinator(store, 'b');
    await b.join();
    await eventually(() => expect(a.members).toHaveLength(2));
    const moved = SYMBOLS.find((s) => b.owns(s))!;
    let got: unknown;
    const taking = b.acquire(moved).then((h) => (got = h));
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toBeUndefined(); // a still holds it
    await a.release(moved, { slice: { sma: 1 }, seen: ['m1', 'm2'] });
    await taking;
    expect(got).toEqual({ kind: 'handed', handOver: { slice: { sma: 1 }, seen: ['m1', 'm2'], from: 'a' } });
    // a hand-over is taken once: nothing is left to adopt again later
    expect(await store.list('slice.')).toEqual([]);
  });

  it('a member that stops refreshing (a crash) is dropped after the ttl and its leases can be taken', async () => {
    const store = new MemoryKeyValueStore();
    const crashed = { dead: false };
    const a = coordinator(dying(store, crashed), 'a');
    const b = coordinator(store, 'b');
    await a.join();
    await b.join();
    await eventually(() => expect(b.members).toHaveLength(2));
    const ofA = SYMBOLS.find((s) => a.owns(s))!;
    expect(await a.acquire(ofA)).toEqual({ kind: 'fresh' });
    crashed.dead = true; // a's process is gone: nothing of it reaches the store any more
    await eventually(() => expect(b.members).toEqual(['b']), 2000);
    expect(b.owns(ofA)).toBe(true);
    expect(await b.acquire(ofA)).toEqual({ kind: 'fresh' }); // nothing was handed over: it starts afresh
  });

  it('a member leaving gracefully keeps its leases until it releases them (no one handles its symbols twice)', async () => {
    const store = new MemoryKeyValueStore();
    const a = coordinator(store, 'a');
    const b = coordinator(store, 'b');
    await a.join();
    await b.join();
    await eventually(() => expect(b.members).toHaveLength(2));
    const ofA = SYMBOLS.find((s) => a.owns(s))!;
    await a.acquire(ofA);
    await a.leave();
    await eventually(() => expect(b.owns(ofA)).toBe(true));
    let got: unknown;
    const taking = b.acquire(ofA).then((h) => (got = h));
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toBeUndefined();
    await a.release(ofA, { slice: 'state', seen: [] });
    await taking;
    expect(got).toMatchObject({ kind: 'handed', handOver: { slice: 'state', from: 'a' } });
  });
});

describe('partition coordinator: names and restarts', () => {
  it('a second process under a live instance name is refused, naming SEXTANT_INSTANCE', async () => {
    const store = new MemoryKeyValueStore();
    const a = new PartitionCoordinator({
      agent: 'strategy',
      instance: 'same',
      store,
      log: silentLogger,
      refreshMs: 20,
      ttlMs: 100,
    });
    await a.join();
    const twin = new PartitionCoordinator({
      agent: 'strategy',
      instance: 'same',
      store,
      log: silentLogger,
      refreshMs: 20,
      ttlMs: 100,
    });
    await expect(twin.join()).rejects.toThrow(/SEXTANT_INSTANCE=same is already running/);
    await a.stop();
  });

  it('an instance restarted under its name gets its own leases back as its own (its checkpoint is newer than any hand-over)', async () => {
    const store = new MemoryKeyValueStore();
    const crashed = { dead: false };
    const before = new PartitionCoordinator({
      agent: 'strategy',
      instance: 'x',
      store: dying(store, crashed),
      log: silentLogger,
      refreshMs: 20,
      ttlMs: 100,
    });
    await before.join();
    expect(await before.acquire('ORCL')).toEqual({ kind: 'fresh' });
    crashed.dead = true; // a crash: no leave, no stop; and a stale hand-over from long ago is still in the bucket
    await store.put('slice.strategy.ORCL', JSON.stringify({ slice: 'old', seen: [], from: 'y' }));
    await new Promise((r) => setTimeout(r, 150));
    const after = new PartitionCoordinator({
      agent: 'strategy',
      instance: 'x',
      store,
      log: silentLogger,
      refreshMs: 20,
      ttlMs: 100,
    });
    await after.join();
    expect(await after.leasesHeld()).toEqual(['ORCL']);
    expect(await after.acquire('ORCL')).toEqual({ kind: 'mine' });
    expect(await store.get('slice.strategy.ORCL')).toBeUndefined();
    await after.stop();
    await before.stop().catch(() => undefined);
  });
});
