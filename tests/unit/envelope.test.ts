import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { deriveEnvelope, rootEnvelope } from '../../src/core/messaging/envelope.js';
import { SchemaRegistry } from '../../src/core/messaging/schema-registry.js';
import { VirtualClock } from '../../src/core/ports/clock.js';
import { sequentialIds } from '../../src/core/ports/ids.js';

const deps = () => ({ ids: sequentialIds('t'), clock: new VirtualClock(1000), source: 'test/1' });

describe('envelopes', () => {
  it('a root starts its own chain with id and time from the injected ports', () => {
    const root = rootEnvelope(deps(), 'test.ping', { n: 1 });
    expect(root).toEqual({
      id: 't-00000001',
      type: 'test.ping',
      v: 1,
      source: 'test/1',
      correlationId: 't-00000001',
      time: 1000,
      payload: { n: 1 },
    });
    expect('causationId' in root).toBe(false);
  });

  it('a derived envelope copies the correlation id, points at its parent and inherits event time', () => {
    const d = deps();
    const root = rootEnvelope(d, 'test.ping', { n: 1 }, { time: 5 });
    d.clock.advanceTo(99_999);
    const child = deriveEnvelope(d, root, 'test.pong', { n: 2 });
    const grandchild = deriveEnvelope(d, child, 'test.pong', { n: 3 });
    expect(child).toMatchObject({ correlationId: root.id, causationId: root.id, time: 5 });
    expect(grandchild).toMatchObject({ correlationId: root.id, causationId: child.id, time: 5 });
  });
});

describe('schema registry', () => {
  const registry = new SchemaRegistry().register('test.ping', 1, z.object({ n: z.number() }));
  const valid = { id: 'a', type: 'test.ping', v: 1, source: 's/1', correlationId: 'a', time: 1, payload: { n: 1 } };

  it('accepts a valid envelope', () => {
    expect(registry.validate(valid)).toEqual({ ok: true, envelope: valid });
  });

  it.each([
    [{ ...valid, type: 'other.thing' }, 'unknown_type'],
    [{ ...valid, v: 2 }, 'unknown_version'],
    [{ ...valid, payload: { n: 'x' } }, 'invalid_payload'],
    [{ ...valid, id: '' }, 'invalid_envelope'],
    [{ ...valid, time: 1.5 }, 'invalid_envelope'],
    [{ ...valid, type: 'Bad Type' }, 'invalid_envelope'],
    ['a string', 'invalid_envelope'],
  ])('rejects %j as %s with a readable reason', (value, code) => {
    const result = registry.validate(value);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.code).toBe(code);
      expect(result.reason.length).toBeGreaterThan(3);
    }
  });
});
