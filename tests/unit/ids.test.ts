import { describe, expect, it } from 'vitest';
import { decodeTime, isValid } from 'ulid';
import { sequentialIds, ulidSource } from '../../src/runtime/ids.js';

describe('ids', () => {
  it('ulids are valid, carry their millisecond and sort in creation order within and across milliseconds', () => {
    let t = 1_700_000_000_000;
    const ids = ulidSource(() => t);
    const made: string[] = [];
    for (let i = 0; i < 5000; i++) {
      if (i % 1000 === 0) t += 1;
      made.push(ids.next());
    }
    expect(made.every((id) => isValid(id))).toBe(true);
    expect(decodeTime(made[0]!)).toBe(1_700_000_000_001);
    expect(decodeTime(made[4999]!)).toBe(1_700_000_000_005);
    expect([...made].sort()).toEqual(made);
    expect(new Set(made).size).toBe(made.length);
  });

  it('a clock that steps back does not break the order', () => {
    const times = [10_000, 9_000, 11_000];
    const ids = ulidSource(() => times.shift()!);
    const made = [ids.next(), ids.next(), ids.next()];
    expect([...made].sort()).toEqual(made);
  });

  it('sequential ids are deterministic and sortable', () => {
    const a = sequentialIds('bt');
    const b = sequentialIds('bt');
    const made = Array.from({ length: 40 }, () => a.next());
    expect(made).toEqual(Array.from({ length: 40 }, () => b.next()));
    expect([...made].sort()).toEqual(made);
  });
});
