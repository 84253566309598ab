import { describe, expect, it } from 'vitest';
import { decodeTime, isValid } from 'ulid';
import { derivedId, derivedId3, idSeed, sequentialIds, ulidSource } from '../../src/core/ports/ids.js';

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

  it('derived ids are the same for the same parts, differ when any part differs, and keep ULID form and time order', () => {
    const t = 1_700_000_000_000;
    const a = derivedId(t, ['run1', 'risk', 'MSG1', 'order.intent', 0]);
    expect(derivedId(t, ['run1', 'risk', 'MSG1', 'order.intent', 0])).toBe(a);
    expect(isValid(a)).toBe(true);
    expect(decodeTime(a)).toBe(t);
    const variants = [
      derivedId(t, ['run2', 'risk', 'MSG1', 'order.intent', 0]),
      derivedId(t, ['run1', 'execution', 'MSG1', 'order.intent', 0]),
      derivedId(t, ['run1', 'risk', 'MSG2', 'order.intent', 0]),
      derivedId(t, ['run1', 'risk', 'MSG1', 'order.intent', 1]),
      derivedId(t, ['run1', 'risk', 'MSG1order.intent', '', 0]),
    ];
    expect(new Set([a, ...variants]).size).toBe(6);
    expect(derivedId(t - 1, ['x']) < derivedId(t, ['x'])).toBe(true);
    expect(decodeTime(derivedId(-86_400_000, ['pre-1970']))).toBe(0);
    expect(derivedId(t, ['MSG1', 'order.intent', 0], idSeed(['run1', 'risk']))).toBe(a);
    expect(derivedId3(idSeed(['run1', 'risk']), t, 'MSG1', 'order.intent', 0)).toBe(a);
    expect(derivedId3(idSeed(['r']), t, 'x', 'y', 12)).toBe(derivedId(t, ['r', 'x', 'y', 12]));
  });

  it('derived ids do not collide over 300,000 causes', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 300_000; i++) seen.add(derivedId(0, ['run', 'strategy', `bar-${i}`, 'market.bar', i % 3]));
    expect(seen.size).toBe(300_000);
  });
});
