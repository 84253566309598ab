import { afterAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/core/messaging/envelope.js';
import { csvFeed } from '../../agents/data/feeds/csv-feed.js';
import type { NatsBus } from '../../bus/nats-bus.js';
import { patterns } from '../../src/core/messaging/subjects.js';
import { randomWalkCsv } from '../helpers/csv.js';
import { eventually } from '../helpers/eventually.js';
import { startOwnNatsServer, type OwnNatsServer } from '../helpers/nats-server.js';
import { orderCounts, expectNothingLostOrDuplicated } from '../helpers/order-audit.js';
import { startTestSystem, type TestSystem } from '../helpers/system.js';

const BARS = 10_000;

/**
 * Chaos 1: the NATS server is killed (SIGKILL) and started again in the middle of a 10,000-bar
 * run. Core messages in flight are lost (a bar, a signal); the order path is not: every intent
 * gets one verdict, every approval one order, every order one end, none twice.
 */
describe('chaos: nats-server restarted in the middle of a 10,000-bar run [nats]', () => {
  let server: OwnNatsServer | undefined;
  let system: TestSystem | undefined;
  afterAll(async () => {
    await system?.stop().catch(() => undefined);
    await server?.dispose();
  });

  it('loses and duplicates no order across the restart', async () => {
    server = await startOwnNatsServer();
    const audit = new Map<string, Envelope>();
    system = await startTestSystem('nats', {
      agents: ['data', 'strategy', 'risk', 'execution', 'portfolio'],
      settings: { strategy: { kind: 'sma-cross', id: 'sma-cross', fast: 5, slow: 20, size: 10 } },
      feed: csvFeed({ file: randomWalkCsv(BARS, 7), symbol: 'WALK' }),
      batch: 250,
      requestTimeoutMs: 20_000,
      bus: { natsUrl: server.url, durableOptions: { storage: 'file', ackWaitMs: 1500 } },
      // an auditor reading the order path durably: it sees every order message, whatever core NATS lost
      beforeStart: (bus) =>
        void bus.subscribe(patterns.orders, (env) => void audit.set(env.id, env), {
          name: 'auditor',
          durable: 'auditor',
        }),
    });
    const { kernel } = system;
    await eventually(() => expect(kernel.feedCursor.published).toBeGreaterThanOrEqual(BARS * 0.4), 30_000, 5);
    const restartedAt = kernel.feedCursor.published;
    await server.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    await server.start();
    await kernel.host('data')!.whenStarted();
    expect(kernel.host('data')!.lifecycle).not.toBe('faulted');

    const counts = await eventually(
      () => {
        const c = orderCounts([...audit.values()]);
        expect(c.ended + c.working).toBe(c.approved);
        expect(c.verdicts).toBe(c.intents);
        return c;
      },
      30_000,
      50,
    );
    const path = (system.bus as NatsBus).durable!;
    console.info(
      `chaos nats restart: restarted at bar ${restartedAt} of ${BARS};`,
      JSON.stringify({ ...counts, publishRetries: path.publishRetries, duplicatePublishes: path.duplicates }),
    );
    expect(restartedAt).toBeLessThan(BARS);
    expect(counts.intents).toBeGreaterThan(100);
    expectNothingLostOrDuplicated([...audit.values()]);
  }, 90_000);
});
