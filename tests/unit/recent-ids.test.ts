import { describe, expect, it } from 'vitest';
import { addRecentId, emptyRecentIds, hasRecentId, type RecentIds } from '../../src/core/util/recent-ids.js';

const WINDOW = 64 * 64;

/** Adds ids `from`..`to`-1 (as `id-<n>`), asking about each first, as an agent does. */
function addRange(r: RecentIds, from: number, to: number): RecentIds {
  for (let i = from; i < to; i++) {
    expect(hasRecentId(r, `id-${i}`)).toBe(false);
    r = addRecentId(r, `id-${i}`);
  }
  return r;
}

describe('recent ids', () => {
  it('remembers the last 4,096 ids and forgets older ones, generation by generation', () => {
    const r = addRange(emptyRecentIds(), 0, WINDOW + 100);
    for (let i = 100; i < WINDOW + 100; i++) expect(hasRecentId(r, `id-${i}`)).toBe(true);
    // the generation holding the first 64 was dropped
    for (let i = 0; i < 64; i++) expect(hasRecentId(r, `id-${i}`)).toBe(false);
  });

  it('every version answers for itself: an older one (a snapshot kept for a restart) after newer ones were made from it', () => {
    const before = addRange(emptyRecentIds(), 0, WINDOW);
    const after = addRange(before, WINDOW, WINDOW + 200);
    expect(hasRecentId(after, 'id-10')).toBe(false);
    expect(hasRecentId(before, 'id-10')).toBe(true);
    expect(hasRecentId(before, `id-${WINDOW + 150}`)).toBe(false);
    expect(hasRecentId(after, `id-${WINDOW + 150}`)).toBe(true);
    // and a branch taken from the old version goes its own way
    const branch = addRange(before, 50_000, 50_000 + 200);
    expect(hasRecentId(branch, `id-${WINDOW + 150}`)).toBe(false);
    expect(hasRecentId(branch, 'id-50150')).toBe(true);
    expect(hasRecentId(after, 'id-50150')).toBe(false);
  });

  it('a memory read back from JSON (a persisted snapshot) answers the same', () => {
    const r = addRange(emptyRecentIds(), 0, WINDOW + 10);
    const back = JSON.parse(JSON.stringify(r)) as RecentIds;
    for (const i of [0, 9, 10, 2000, WINDOW + 9]) expect(hasRecentId(back, `id-${i}`)).toBe(hasRecentId(r, `id-${i}`));
    const next = addRange(back, WINDOW + 10, WINDOW + 100);
    expect(hasRecentId(next, 'id-50')).toBe(false);
    expect(hasRecentId(next, 'id-200')).toBe(true);
  });

  it('an id added twice in one generation is forgotten when that generation is dropped', () => {
    let r = addRecentId(emptyRecentIds(), 'twice');
    expect(hasRecentId(r, 'twice')).toBe(true);
    r = addRecentId(r, 'twice');
    r = addRange(r, 0, WINDOW + 64); // the generation holding both dropped
    expect(hasRecentId(r, 'twice')).toBe(false);
    expect(hasRecentId(JSON.parse(JSON.stringify(r)) as RecentIds, 'twice')).toBe(false);
  });

  it('an id added twice is remembered until the later of its generations is dropped', () => {
    let r = addRange(emptyRecentIds(), 0, 64); // generation A: id-0..63
    r = addRecentId(r, 'id-5'); // A frozen; id-5 again, first of generation B
    r = addRange(r, 1000, 1000 + WINDOW); // 64 generations frozen after A: A dropped, B the oldest
    expect(hasRecentId(r, 'id-6')).toBe(false);
    expect(hasRecentId(r, 'id-5')).toBe(true);
    r = addRange(r, 90_000, 90_000 + 64); // B dropped too
    expect(hasRecentId(r, 'id-5')).toBe(false);
  });
});
