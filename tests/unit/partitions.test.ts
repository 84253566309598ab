import { afterEach, describe, expect, it } from 'vitest';
import { MemoryKeyValueStore } from '../../bus/key-value.js';
import { silentLogger } from '../../src/observability/logger.js';
import { PartitionCoordinator } from '../../src/runtime/partitions.js';
import { eventually } from '../helpers/eventually.js';

const SYMBOLS = Array.from({ length: 40 }, (_, i) => `S${i}`);

describe('partition coordinator (membership, rendezvous ownership, leases)', () => {
  const open: PartitionCoordinator[] = [];
  afterEach(() => open.splice(0).forEach((c) => c.stop()));
  const coordinator = (store: MemoryKeyValueStore, instance: string, now: () => number = Date.now) => {
    const c = new PartitionCoordinator({ agent: 'strategy', instance, store, log: silentLogger, refreshMs: 20, ttlMs: 100, now });
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
    for (const s of SYMBOLS) expect(await a.acquire(s)).toBe('none'); // alone, a holds everything
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
    expect(got).toEqual({ slice: { sma: 1 }, seen: ['m1', 'm2'], from: 'a' });
  });

  it('a member that stops refreshing (a crash) is dropped after the ttl and its leases can be taken', async () => {
    const store = new MemoryKeyValueStore();
    const a = coordinator(store, 'a');
    const b = coordinator(store, 'b');
    await a.join();
    await b.join();
    await eventually(() => expect(b.members).toHaveLength(2));
    const ofA = SYMBOLS.find((s) => a.owns(s))!;
    expect(await a.acquire(ofA)).toBe('none');
    a.stop(); // no leave, no more refreshes
    await eventually(() => expect(b.members).toEqual(['b']), 2000);
    expect(b.owns(ofA)).toBe(true);
    expect(await b.acquire(ofA)).toBe('none'); // nothing was handed over: it starts afresh
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
    expect(got).toMatchObject({ slice: 'state', from: 'a' });
  });
});
