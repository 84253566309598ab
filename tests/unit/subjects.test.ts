import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  decodeSymbol,
  encodeSymbol,
  InvalidSymbolError,
  isConcreteSubject,
  isValidPattern,
  matchesPattern,
  subjects,
  symbolOf,
} from '../../src/core/messaging/subjects.js';

describe('symbol encoding', () => {
  it.each(['BRK.B', 'BTC/USD', 'ES 12-25', 'ORCL', 'a_b', 'Ünïcødé', '*', '>', 'x.y.z'])(
    'round-trips %s through one subject token',
    (sym) => {
      const token = encodeSymbol(sym);
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodeSymbol(token)).toBe(sym);
      expect(symbolOf(subjects.marketBar(sym))).toBe(sym);
    },
  );

  it('round-trips any string of 1-64 characters', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 64 }), (sym) => decodeSymbol(encodeSymbol(sym)) === sym),
    );
  });

  it('keeps plain tickers readable', () => {
    expect(subjects.marketBar('ORCL')).toBe('market.bar.ORCL');
    expect(subjects.signal('BRK.B')).toBe('signal.generated.BRK_002EB');
  });

  it('rejects empty and overlong symbols with a clear error', () => {
    expect(() => encodeSymbol('')).toThrow(InvalidSymbolError);
    expect(() => encodeSymbol('X'.repeat(65))).toThrow(/longer than 64/);
  });

  it('rejects a token no symbol encodes to', () => {
    expect(() => decodeSymbol('AB_ZZ')).toThrow(InvalidSymbolError);
  });
});

describe('patterns', () => {
  it.each([
    ['a.*', 'a.b', true],
    ['a.*', 'a.b.c', false],
    ['a.*', 'a', false],
    ['a.>', 'a.b.c', true],
    ['a.>', 'a', false],
    ['>', 'a', true],
    ['a.*.c', 'a.b.c', true],
    ['a.b', 'a.b', true],
    ['a.b', 'a.bc', false],
  ])('%s matches %s: %s', (pattern, subject, expected) => {
    expect(matchesPattern(pattern, subject)).toBe(expected);
  });

  it('validates patterns and concrete subjects', () => {
    expect(isValidPattern('a.>.b')).toBe(false);
    expect(isValidPattern('a.b*')).toBe(false);
    expect(isValidPattern('a..b')).toBe(false);
    expect(isValidPattern('a.*.>')).toBe(true);
    expect(isConcreteSubject('a.*')).toBe(false);
    expect(isConcreteSubject('a b')).toBe(false);
    expect(isConcreteSubject(subjects.dlq(subjects.orderIntent()))).toBe(true);
  });
});
