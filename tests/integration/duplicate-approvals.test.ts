import { afterEach, describe, expect, it } from 'vitest';
import type { Bus } from '../../src/core/messaging/bus.js';
import { rootEnvelope } from '../../src/core/messaging/envelope.js';
import { subjects } from '../../src/core/messaging/subjects.js';
import { csvFeed } from '../../agents/data/feeds/csv-feed.js';
import { PaperBroker } from '../../agents/execution/broker.js';
import type { OrderApproved, OrderFilled } from '../../src/core/domain/messages.js';
import { VirtualClock } from '../../src/core/ports/clock.js';
import { sequentialIds } from '../../src/core/ports/ids.js';
import { quiesce } from '../../bus/quiesce.js';
import { transports } from '../helpers/buses.js';
import { sharedFile } from '../helpers/test-data.js';
import { startTestSystem, type TestSystem } from '../helpers/system.js';

for (const { name } of transports) {
  describe(`every approval published twice [${name}]`, () => {
    let system: TestSystem | undefined;
    afterEach(() => system?.stop());

    it('creates no second order: one submission, one fill and one position change per approval', async () => {
      const broker = new PaperBroker();
      // A duplicating link: re-publishes each approval once more, same envelope and id (as a retried publish would).
      const republished = new Set<string>();
      const duplicate = (bus: Bus) =>
        bus.subscribe(subjects.orderApproved(), (env) => {
          if (republished.has(env.id)) return;
          republished.add(env.id);
          bus.publish(subjects.orderApproved(), env);
        });
      system = await startTestSystem(name, {
        agents: ['data', 'strategy', 'risk', 'execution', 'portfolio'],
        settings: { broker },
        feed: csvFeed({ file: sharedFile('market/orcl-1995-2014.csv'), symbol: 'ORCL' }),
        beforeStart: duplicate,
      });
      const { bus, of, prefix } = system;
      await system.kernel.host('data')!.whenStarted();
      await quiesce(bus);

      const approvals = of('order.approved');
      const uniqueApprovals = new Set(approvals.map((e) => (e.payload as OrderApproved).order.clientOrderId));
      const submitted = of('order.submitted');
      const fills = of('order.filled').map((e) => e.payload as OrderFilled);
      const counts = {
        intents: of('order.intent').length,
        approvalsDelivered: approvals.length,
        uniqueApprovals: uniqueApprovals.size,
        submitted: submitted.length,
        filled: fills.length,
        brokerAcks: broker.acknowledged,
      };
      console.info(`duplicate approvals [${name}]:`, JSON.stringify(counts));

      expect(approvals.length).toBe(2 * uniqueApprovals.size); // every approval really went out twice
      expect(uniqueApprovals.size).toBe(counts.intents);
      expect(submitted.length).toBe(uniqueApprovals.size);
      expect(broker.acknowledged).toBe(uniqueApprovals.size);
      expect(new Set(fills.map((f) => f.clientOrderId)).size).toBe(fills.length);
      expect(fills.length).toBe(195); // the ORCL reference run: 195 fills, none doubled
      const query = rootEnvelope(
        { ids: sequentialIds(`${prefix}-q`), clock: new VirtualClock(0), source: 'test/1' },
        'query.request',
        { params: {} },
      );
      const position = (await bus.request(subjects.query('positions'), query)).payload as { data: { qty: number }[] };
      expect(position.data[0]!.qty).toBe(100); // the reference ends long 100
    });
  });
}
