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

export function hasRecentId(r: RecentIds, id: string): boolean {
  if (r.current.includes(id)) return true;
  for (const g of r.older) if (Object.hasOwn(g, id)) return true;
  return false;
}

export function addRecentId(r: RecentIds, id: string): RecentIds {
  if (r.current.length < GENERATION) return { current: [...r.current, id], older: r.older };
  const frozen: Record<string, true> = {};
  for (const x of r.current) frozen[x] = true;
  return { current: [id], older: [frozen, ...r.older.slice(0, GENERATIONS - 1)] };
}
