import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { DURABLE_READS, inboxPrefix, natsPermissions, renderNatsConfig } from '../../bus/nats-permissions.js';
import { BUS_ROLES, type BusRole } from '../../src/core/messaging/bus-roles.js';
import { catalog, subjectFor, type CatalogEntry, type MessageType } from '../../src/core/domain/messages.js';
import { AGENT_NAMES, matchesPattern, subjects } from '../../src/core/messaging/subjects.js';
import { startTestSystem, type TestSystem } from '../helpers/system.js';
import { stubScorer } from '../helpers/stub-scorer.js';
import { memoryFeed } from '../../agents/data/feeds/memory-feed.js';

const allows = (perms: readonly string[], subject: string) => perms.some((p) => matchesPattern(p, subject));

/** A payload that gives each keyed type a concrete subject (the role's own health for agent.health). */
const sample = (role: BusRole, type: MessageType) =>
  type === 'risk.command'
    ? { command: 'set-limits', by: 'api:ann' }
    : { symbol: 'SYN', agent: role, command: 'halt', by: 'x' };

describe('NATS permissions derived from the message catalog', () => {
  it("the committed deploy/nats/nats.conf and the Helm chart's copy are the generated one (run npm run nats:config)", () => {
    expect(readFileSync('deploy/nats/nats.conf', 'utf8')).toBe(renderNatsConfig());
    expect(readFileSync('deploy/helm/sextant/files/nats-auth.conf', 'utf8')).toBe(renderNatsConfig());
  });

  it('every message type with a subject of its own may be published by the roles its catalog entry names, and by no other', () => {
    for (const [type, entry] of Object.entries(catalog) as [MessageType, CatalogEntry][]) {
      if (!entry.subject) continue;
      for (const role of BUS_ROLES) {
        const subject = subjectFor(type, sample(role, type) as never);
        const named = entry.by === 'every role' || entry.by.includes(role);
        expect({ type, role, subject, may: allows(natsPermissions(role).publish, subject) }).toEqual({
          type,
          role,
          subject,
          may: named,
        });
      }
    }
  });

  it('only risk approves or refuses orders, only execution reports their outcome, only data publishes market data', () => {
    const publishers = (subject: string) => BUS_ROLES.filter((r) => allows(natsPermissions(r).publish, subject));
    expect(publishers(subjects.orderApproved())).toEqual(['risk']);
    expect(publishers(subjects.orderRejected())).toEqual(['risk']);
    expect(publishers(subjects.riskState())).toEqual(['risk']);
    for (const s of [
      subjects.orderSubmitted(),
      subjects.orderFilled(),
      subjects.orderCancelled(),
      subjects.orderFailed(),
    ])
      expect(publishers(s)).toEqual(['execution']);
    expect(publishers(subjects.marketBar('SYN'))).toEqual(['data']);
    expect(publishers(subjects.marketTick('SYN'))).toEqual(['data']);
    expect(publishers(subjects.orderIntent())).toEqual(['strategy', 'api', 'bots']);
    // people's commands come through the interfaces; the kill switch of a failing store from anyone
    expect(publishers(subjects.riskCommand('resume'))).toEqual(['api', 'bots']);
    expect(publishers(subjects.riskCommand('set-limits'))).toEqual(['api', 'bots']);
    expect(publishers(subjects.systemRiskCommand('halt'))).toEqual([...BUS_ROLES]);
    expect(publishers(subjects.query('portfolio'))).toEqual(['api', 'bots']);
  });

  it('a query is answered only by the role that serves it; replies arrive on an inbox only their role reads', () => {
    const readers = (subject: string) => BUS_ROLES.filter((r) => allows(natsPermissions(r).subscribe, subject));
    // the recorder and the API read every Sextant subject (the event log; the API's live stream) but the
    // API answers nothing (no allow_responses)
    expect(readers(subjects.query('portfolio'))).toEqual(['portfolio', 'recorder', 'api']);
    expect(readers(subjects.query('trace'))).toEqual(['recorder', 'api']);
    expect(BUS_ROLES.filter((r) => natsPermissions(r).allowResponses)).not.toContain('api');
    expect(readers(subjects.riskCommand('halt'))).toEqual(['risk', 'recorder', 'api']);
    for (const role of BUS_ROLES) expect(readers(`${inboxPrefix(role)}.abc`).filter((r) => r !== role)).toEqual([]);
  });

  it("with a namespace, every subject and stream of the permissions is the namespace's", () => {
    const p = natsPermissions('risk', { namespace: 'paper' });
    expect(p.publish).toContain('paper.order.approved');
    expect(p.publish).not.toContain('order.approved');
    expect(p.publish).toContain('$JS.API.STREAM.INFO.SEXTANT_paper');
    expect(p.publish).toContain('$JS.API.CONSUMER.CREATE.SEXTANT_paper.*.paper.order.intent');
    expect(p.subscribe).toContain('paper.risk.command.*');
    expect(p.publish.some((s) => s.startsWith('$JS.API.STREAM.UPDATE') || s.startsWith('$JS.API.STREAM.DELETE'))).toBe(
      false,
    );
  });
});

describe('every agent subscribes only to what its role may read', () => {
  let system: TestSystem | undefined;
  afterAll(async () => {
    await system?.stop();
  });

  it("each inlet, query and control subject of the six agents is in its role's permissions (order inlets: its JetStream consumers)", async () => {
    system = await startTestSystem('memory', {
      agents: [...AGENT_NAMES],
      sentiment: { mode: 'live', news: [], scorer: stubScorer() },
      feed: memoryFeed([], { name: 'none' }),
    });
    for (const host of system.kernel.hosts) {
      const role = host.name as BusRole;
      const perms = natsPermissions(role);
      const wanted = [
        ...host.spec.inlets.map((i) => i.pattern as string),
        ...(host.spec.queries ?? []).map((q) => subjects.query(q.what) as string),
        subjects.agentControl(role),
      ];
      for (const pattern of wanted) {
        const durable = matchesPattern('order.>', pattern.replace(/\*$/, 'x'));
        const ok = durable
          ? DURABLE_READS[role].includes(pattern as never)
          : perms.subscribe.includes(pattern) || allows(perms.subscribe, pattern);
        expect({ role, pattern, ok }).toEqual({ role, pattern, ok: true });
      }
    }
  });
});
