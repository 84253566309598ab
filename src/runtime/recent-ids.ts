/**
 * A bounded memory of recently seen ids (client order ids, fill keys) for idempotency, as
 * immutable plain data so it lives in machine context and snapshots. The newest ids sit in a
 * short array (copied on add, cheap); every GENERATION ids it is frozen into a lookup object
 * that is never copied again, and the oldest such generation is dropped once the window is
 * full. Remembers at least `GENERATION * GENERATIONS` ids.
 */
export interface RecentIds {
  readonly current: readonly string[];
  readonly older: readonly Readonly<Record<string, true>>[];
}

const GENERATION = 64;
const GENERATIONS = 64;

export const emptyRecentIds = (): RecentIds => ({ current: [], older: [] });

/** Id -> how many generations of one `older` list hold it. */
type Index = Map<string, number>;

/**
 * Lookups in `older` go through an index of it: one Map lookup, not one per generation (64 of
 * them, each a dictionary probe with a key never seen before, cost 5 µs a miss). Derived data
 * kept beside the context, never in it: RecentIds stays plain data, and a list read back from a
 * snapshot gets its index at its first lookup. When addRecentId replaces a list, the list's
 * index moves on to the new one, updated (the frozen generation in, the dropped one out) rather
 * than rebuilt; the old list loses it, and a lookup there builds its own.
 */
const indexes = new WeakMap<RecentIds['older'], Index>();

function tally(index: Index, generation: Readonly<Record<string, true>>, by: 1 | -1): void {
  for (const id of Object.keys(generation)) {
    const n = (index.get(id) ?? 0) + by;
    if (n > 0) index.set(id, n);
    else index.delete(id);
  }
}

function indexOf(older: RecentIds['older']): Index {
  let index = indexes.get(older);
  if (!index) {
    index = new Map();
    for (const g of older) tally(index, g, 1);
    indexes.set(older, index);
  }
  return index;
}

export function hasRecentId(r: RecentIds, id: string): boolean {
  if (r.current.includes(id)) return true;
  return r.older.length > 0 && indexOf(r.older).has(id);
}

export function addRecentId(r: RecentIds, id: string): RecentIds {
  if (r.current.length < GENERATION) return { current: [...r.current, id], older: r.older };
  const frozen: Record<string, true> = {};
  for (const x of r.current) frozen[x] = true;
  const older = [frozen, ...r.older.slice(0, GENERATIONS - 1)];
  const index = indexes.get(r.older);
  if (index) {
    indexes.delete(r.older);
    tally(index, frozen, 1);
    for (const dropped of r.older.slice(GENERATIONS - 1)) tally(index, dropped, -1);
    indexes.set(older, index);
  }
  return { current: [id], older };
}
