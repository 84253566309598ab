import { describe, expect, it } from 'vitest';
import {
  catalog,
  createRegistry,
  subjectFor,
  versionOf,
  type CatalogEntry,
  type MessageType,
} from '../../src/core/domain/messages.js';
import { decodeSymbol, symbolOf } from '../../src/core/messaging/subjects.js';

const types = Object.keys(catalog) as MessageType[];
/** The fields a subject may be keyed by, as any payload of a keyed type carries them. */
const keyed = { symbol: 'BRK.B', agent: 'risk', command: 'halt' };
/**
 * Types that travel on another type's subject, and whose: a cancel must never overtake the order
 * it names, and NATS keeps order only within a subject (src/core/domain/messages.ts).
 */
const SHARED: Partial<Record<MessageType, MessageType>> = {
  'order.cancel': 'order.intent',
  'order.cancel-approved': 'order.approved',
};

describe('the message catalog declares each type once: version, schema, subject', () => {
  it('a message is published on its type, with its key (symbol, agent, command) as the last token when it has one', () => {
    const subjects: Record<string, string> = {};
    for (const type of types) {
      if (!(catalog[type] as CatalogEntry).subject) continue;
      const subject = subjectFor(type, keyed as never);
      subjects[type] = subject;
      const on = SHARED[type];
      if (on) {
        expect(subject, `${type} travels with ${on}`).toBe(subjectFor(on, keyed as never));
        continue;
      }
      expect(subject === type || subject.startsWith(`${type}.`), `${type} is published on ${subject}`).toBe(true);
      const rest = subject.slice(type.length + 1);
      if (rest) expect([keyed.symbol, keyed.agent, keyed.command]).toContain(decodeSymbol(rest));
    }
    expect(subjects['signal.generated']).toBe('signal.generated.BRK_002EB');
    expect(subjects['sentiment.updated']).toBe('sentiment.updated.BRK_002EB');
    expect(subjects['market.feed-completed']).toBe('market.feed-completed');
    expect(subjects['agent.health']).toBe('agent.health.risk');
    expect(subjects['risk.command']).toBe('risk.command.halt');
    // a Sextant process's command (the store watch) goes where every role may publish
    expect(subjectFor('risk.command', { command: 'halt', by: 'system:store', reason: 'x' })).toBe(
      'risk.command.system.halt',
    );
    expect(symbolOf(subjects['signal.generated']!)).toBe('BRK.B');
  });

  it('requests and replies have no subject of their own: asking for one is an error naming the catalog', () => {
    for (const type of ['query.request', 'query.result', 'agent.control', 'agent.synced'] as const) {
      expect(() => subjectFor(type, {} as never)).toThrow(
        /has no subject of its own .* catalog in src\/core\/domain\/messages\.ts/,
      );
    }
  });

  it("the schema registry validates exactly the catalog (plus the bus's own types) at the catalog's versions", () => {
    const registry = createRegistry();
    for (const type of types) {
      const v = versionOf(type);
      expect(registry.versions(type), type).toEqual([v]);
    }
  });
});
