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

/** Id -> how many times the memory holds it: each time in `current`, once per older generation. */
type Index = Map<string, number>;

/**
 * Lookups go through an index of the whole memory: one Map lookup, not a scan of `current` and a
 * probe per older generation (64 dictionary probes with a key never seen before, and string
 * comparisons of ids that share long prefixes, took 2-5 µs a miss). Derived data kept beside the
 * context, never in it: RecentIds stays plain data, and one read back from a snapshot gets its
 * index at its first lookup. addRecentId moves the index from the memory it adds to onto the
 * new one, updated rather than rebuilt; the old one loses it, and a lookup there builds its own.
 */
const indexes = new WeakMap<RecentIds, Index>();

function tally(index: Index, ids: Iterable<string>, by: 1 | -1): void {
  for (const id of ids) {
    const n = (index.get(id) ?? 0) + by;
    if (n > 0) index.set(id, n);
    else index.delete(id);
  }
}

function indexOf(r: RecentIds): Index {
  let index = indexes.get(r);
  if (!index) {
    index = new Map();
    tally(index, r.current, 1);
    for (const g of r.older) tally(index, Object.keys(g), 1);
    indexes.set(r, index);
  }
  return index;
}

export function hasRecentId(r: RecentIds, id: string): boolean {
  return (r.current.length > 0 || r.older.length > 0) && indexOf(r).has(id);
}

export function addRecentId(r: RecentIds, id: string): RecentIds {
  let next: RecentIds;
  /** Ids the memory holds once less: a repeat in `current` frozen into one key, the dropped generation. */
  const fewer: string[] = [];
  if (r.current.length < GENERATION) next = { current: [...r.current, id], older: r.older };
  else {
    const frozen: Record<string, true> = {};
    for (const x of r.current) {
      if (Object.hasOwn(frozen, x)) fewer.push(x);
      else frozen[x] = true;
    }
    for (const dropped of r.older.slice(GENERATIONS - 1)) fewer.push(...Object.keys(dropped));
    next = { current: [id], older: [frozen, ...r.older.slice(0, GENERATIONS - 1)] };
  }
  const index = indexes.get(r);
  if (index) {
    indexes.delete(r);
    tally(index, fewer, -1);
    tally(index, [id], 1);
    indexes.set(next, index);
  }
  return next;
}
