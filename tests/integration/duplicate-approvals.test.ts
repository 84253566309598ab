import { afterEach, describe, expect, it } from 'vitest';
import type { Bus } from '../../bus/bus.js';
import { rootEnvelope, type Envelope } from '../../bus/envelope.js';
import { patterns, subjects } from '../../bus/subjects.js';
import { csvFeed } from '../../agents/data/feeds/csv-feed.js';
import { PaperBroker } from '../../agents/execution/broker.js';
import { unboundedLimits } from '../../agents/risk/limits.js';
import { createRegistry, type OrderApproved, type OrderFilled } from '../../src/domain/messages.js';
import { Kernel } from '../../src/kernel.js';
import { silentLogger } from '../../src/observability/logger.js';
import { VirtualClock } from '../../src/runtime/clock.js';
import { sequentialIds } from '../../src/runtime/ids.js';
import { quiesce } from '../../src/runtime/quiesce.js';
import { makeBus, testPrefix, transports } from '../helpers/buses.js';
import { sharedFile } from '../helpers/shared-data.js';

for (const { name, available } of transports) {
  describe.runIf(available)(`every approval published twice [${name}]`, () => {
    let bus: Bus | undefined;
    let kernel: Kernel | undefined;
    afterEach(async () => {
      await kernel?.stop();
      await bus?.close();
    });

    it('creates no second order: one submission, one fill and one position change per approval', async () => {
      const prefix = testPrefix();
      bus = await makeBus(name, { registry: createRegistry(), prefix });
      const seen: Envelope[] = [];
      bus.subscribe(patterns.all, (env) => void seen.push(env));
      // A duplicating link: re-publishes each approval once more, same envelope and id (as a retried publish would).
      const republished = new Set<string>();
      bus.subscribe(subjects.orderApproved(), (env) => {
        if (republished.has(env.id)) return;
        republished.add(env.id);
        bus!.publish(subjects.orderApproved(), env);
      });
      const broker = new PaperBroker();
      kernel = new Kernel({
        bus,
        clock: new VirtualClock(0),
        ids: sequentialIds(prefix),
        logger: silentLogger,
        instance: 'dup',
        heartbeatMs: 0,
        agents: ['data', 'strategy', 'risk', 'execution', 'portfolio'],
        settings: { strategy: { kind: 'sma-cross', id: 'sma-cross', fast: 10, slow: 30, size: 100 }, limits: unboundedLimits, costs: { feeBps: 0, feePerShare: 0, slippageBps: 0 }, startCash: 100_000, broker },
        feed: { feed: csvFeed({ file: sharedFile('market/orcl-1995-2014.csv'), symbol: 'ORCL' }), pump: { paceMs: 0, batch: 250 } },
      });
      await kernel.start();
      await kernel.host('data')!.whenStarted();
      await quiesce(bus);

      const of = (type: string) => seen.filter((e) => e.type === type);
      const approvals = of('order.approved');
      const uniqueApprovals = new Set(approvals.map((e) => (e.payload as OrderApproved).order.clientOrderId));
      const submitted = of('order.submitted');
      const fills = of('order.filled').map((e) => e.payload as OrderFilled);
      const counts = { intents: of('order.intent').length, approvalsDelivered: approvals.length, uniqueApprovals: uniqueApprovals.size, submitted: submitted.length, filled: fills.length, brokerAcks: broker.acknowledged };
      console.info(`duplicate approvals [${name}]:`, JSON.stringify(counts));

      expect(approvals.length).toBe(2 * uniqueApprovals.size); // every approval really went out twice
      expect(uniqueApprovals.size).toBe(counts.intents);
      expect(submitted.length).toBe(uniqueApprovals.size);
      expect(broker.acknowledged).toBe(uniqueApprovals.size);
      expect(new Set(fills.map((f) => f.clientOrderId)).size).toBe(fills.length);
      expect(fills.length).toBe(195); // the ORCL reference run: 195 fills, none doubled
      const query = rootEnvelope({ ids: sequentialIds(`${prefix}-q`), clock: new VirtualClock(0), source: 'test/1' }, 'query.request', { params: {} });
      const position = (await bus.request(subjects.query('positions'), query)).payload as { data: { qty: number }[] };
      expect(position.data[0]!.qty).toBe(100); // the reference ends long 100
    });
  });
}
