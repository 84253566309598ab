import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRecording, RECORDING_VERSION } from '../../src/infra/recording/recording.js';
import { createRegistry, subjectFor } from '../../src/core/domain/messages.js';
import { matchesPattern } from '../../src/core/messaging/subjects.js';
import {
  checkInputPayloads,
  compare,
  DECISION_PATTERNS,
  DECISION_TYPES,
  INPUT_TYPES,
  samePlainData,
  UNUSED_SUBJECTS,
  type Decision,
} from '../../src/app/replay/replay.js';

/**
 * A replay checks in full what it feeds the agents (inputs) and reads the rest (the recorded
 * decisions it only compares) as envelopes: an input with a bad payload is still refused.
 */
describe('reading a recording for a replay', () => {
  const env = (type: string, payload: unknown) => ({
    id: `id-${type}`,
    type,
    v: 1,
    source: 'test',
    correlationId: 'c1',
    time: 1_700_000_000_000,
    payload,
  });
  const file = (lines: unknown[]) => {
    const f = join(mkdtempSync(join(tmpdir(), 'sextant-rr-')), 'r.ndjson');
    writeFileSync(
      f,
      [{ sextantRecording: RECORDING_VERSION, runId: 'r1', createdAt: '2026-01-01T00:00:00Z' }, ...lines]
        .map((l) => JSON.stringify(l))
        .join('\n') + '\n',
    );
    return f;
  };
  const read = async (f: string) => {
    const out = [];
    for await (const item of readRecording(f, { registry: createRegistry(), checkPayload: checkInputPayloads }))
      out.push(item);
    return out;
  };

  it('a recorded decision is read as it was written, payload untouched', async () => {
    const odd = { symbol: 'ORCL', extra: 'kept as recorded' };
    const items = await read(file([{ seq: 1, subject: 'signal.ORCL', env: env('signal.generated', odd) }]));
    expect(items[1]).toMatchObject({ seq: 1, env: { type: 'signal.generated', payload: odd } });
  });

  it('an input with a bad payload stops the read naming the line and the field', async () => {
    const f = file([
      { seq: 1, subject: 'market.bar.ORCL', env: env('market.bar', { symbol: 'ORCL', time: 1, open: -5 }) },
    ]);
    await expect(read(f)).rejects.toThrow(/:2: .*payload/);
  });

  it('an unknown type is refused whatever it is', async () => {
    const f = file([{ seq: 1, subject: 'x.y', env: env('no.such-type', {}) }]);
    await expect(read(f)).rejects.toThrow(/unknown message type/);
  });
});

describe('where a replay listens', () => {
  it('every decision type is published where the replay listens for decisions', () => {
    for (const type of DECISION_TYPES) {
      const subject = subjectFor(type as never, { symbol: 'ORCL' } as never);
      expect(
        DECISION_PATTERNS.some((p) => matchesPattern(p, subject)),
        `${type} on ${subject}`,
      ).toBe(true);
    }
  });

  it('no input or decision type is published on a subject the replay skips', () => {
    for (const type of [...INPUT_TYPES, ...DECISION_TYPES]) {
      const subject = subjectFor(type as never, { symbol: 'ORCL' } as never);
      expect(
        UNUSED_SUBJECTS.some((p) => matchesPattern(p, subject)),
        `${type} on ${subject}`,
      ).toBe(false);
    }
  });
});

describe('comparing a replayed decision with the recorded one', () => {
  const decision = (payload: unknown): Decision => ({
    key: 'c1|order.filled|0',
    id: 'd1',
    type: 'order.filled',
    correlationId: 'c1',
    time: 1,
    payload,
  });
  const differs = (recorded: unknown, replayed: unknown) =>
    compare([decision(recorded)], [decision(replayed)], { get: () => undefined }).length > 0;

  it('equal data is equal whatever the key order, and a key set to undefined is as good as absent', () => {
    expect(samePlainData({ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 })).toBe(true);
    expect(differs({ qty: 5, fee: undefined }, { qty: 5 })).toBe(false);
  });

  it('any difference in a value, a key, an array length or a type is a divergence', () => {
    expect(differs({ qty: 5 }, { qty: 6 })).toBe(true);
    expect(differs({ qty: 5 }, { qty: 5, fee: 0 })).toBe(true);
    expect(differs({ fills: [1, 2] }, { fills: [1, 2, 3] })).toBe(true);
    expect(differs({ qty: '5' }, { qty: 5 })).toBe(true);
    expect(differs({ list: [] }, { list: {} })).toBe(true);
    expect(differs({ a: null }, { a: {} })).toBe(true);
  });

  it('what is not plain data is compared as it prints (JSON)', () => {
    expect(samePlainData({ at: new Date(0) }, { at: new Date(1) })).toBe(false);
    expect(differs({ at: new Date(0) }, { at: new Date(0) })).toBe(false);
    expect(differs({ at: new Date(0) }, { at: new Date(1) })).toBe(true);
    expect(differs({ x: Number.NaN }, { x: null })).toBe(false); // both print null
  });
});
