import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createCommandRouter } from '../../interfaces/commands/router.js';
import { busServices } from '../../interfaces/commands/services.js';
import type { Bus } from '../../src/core/messaging/bus.js';
import { rootEnvelope } from '../../src/core/messaging/envelope.js';
import { patterns, subjects } from '../../src/core/messaging/subjects.js';
import { createRegistry, versionOf, type OrderFilled, type PortfolioSnapshot } from '../../src/core/domain/messages.js';
import { VirtualClock } from '../../src/core/ports/clock.js';
import { sequentialIds } from '../../src/core/ports/ids.js';
import { orclRunEnv, removeNamespaces, startAgentProcess, type AgentProcess } from '../helpers/agent-process.js';
import { collectDeadLetters, makeBus, natsUrl, testPrefix } from '../helpers/buses.js';
import { eventually } from '../helpers/eventually.js';
import { sharedFile } from '../helpers/test-data.js';

interface Reference {
  final_value: number;
  fills: { date: string; side: 'buy' | 'sell'; size: number; price: number }[];
}

/**
 * The deployment shape without Docker: every agent a Node process of its own
 * (`sextant agent <name>`) against nats-server, as docker compose runs them. The ORCL reference
 * backtest goes through them and must come out fill for fill as the single-process run. The
 * recorder process writes the event log to MongoDB (FerretDB here), as the compose deployment
 * does, and trace, events and `why` are answered from it.
 */
describe('one process per agent over NATS [nats]', () => {
  const namespace = testPrefix();
  const dir = mkdtempSync(join(tmpdir(), 'sextant-mp-'));
  const mongoUri = inject('mongoUri');
  const mongoDb = `sextant_mp_${process.pid}_${Date.now().toString(36)}`;
  const procs: AgentProcess[] = [];
  let observer: Bus | undefined;

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await observer?.close();
    await removeNamespaces(natsUrl, [namespace]);
    rmSync(dir, { recursive: true, force: true });
    const client = await MongoClient.connect(mongoUri);
    await client.db(mongoDb).dropDatabase();
    await client.close();
  });

  it('the ORCL SMA(10,30) reference run through five agent processes gives the reference fills and final value; the recorder process keeps every chain in MongoDB', async () => {
    const reference = JSON.parse(readFileSync(sharedFile('market/orcl-sma-10-30-reference.json'), 'utf8')) as Reference;
    const env = { ...orclRunEnv(natsUrl), SEXTANT_NAMESPACE: namespace };
    observer = await makeBus('nats', {
      registry: createRegistry(),
      prefix: namespace,
      durable: false,
      requestTimeoutMs: 20_000,
    });
    const fills: { date: string; side: string; size: number; price: number; correlationId: string }[] = [];
    let completed = false;
    let lastBar = 0;
    const deadLetters = collectDeadLetters(observer);
    observer.subscribe(patterns.marketBars, (e) => void (lastBar = Math.max(lastBar, e.time)));
    observer.subscribe(subjects.orderFilled(), (e) => {
      const f = e.payload as OrderFilled;
      fills.push({
        date: new Date(e.time).toISOString().slice(0, 10),
        side: f.side,
        size: f.qty,
        price: f.price,
        correlationId: e.correlationId,
      });
    });
    observer.subscribe(subjects.feedCompleted(), () => void (completed = true));
    await observer.flush();

    // the event log's writer (as in the compose deployment), then the consumers, each its own process; the data agent
    // once they all run
    procs.push(
      await startAgentProcess('recorder', ['recorder'], {
        ...env,
        STORE: 'mongodb',
        MONGODB_URI: mongoUri,
        MONGODB_DB: mongoDb,
        SEXTANT_DATA_DIR: dir,
        SEXTANT_INSTANCE: 'recorder',
      }),
    );
    for (const agent of ['portfolio', 'execution', 'risk', 'strategy'] as const) {
      procs.push(await startAgentProcess(agent, ['agent', agent], { ...env, SEXTANT_INSTANCE: `${agent}-1` }));
    }
    procs.push(await startAgentProcess('data', ['agent', 'data'], { ...env, SEXTANT_INSTANCE: 'data-1' }));
    expect(new Set(procs.map((p) => p.child.pid)).size).toBe(6);

    await eventually(() => expect(completed).toBe(true), 60_000, 50);
    await eventually(() => expect(fills.length).toBe(reference.fills.length), 30_000, 50);
    await new Promise((r) => setTimeout(r, 500)); // nothing more arrives
    expect(fills).toHaveLength(reference.fills.length);
    fills.forEach((f, i) => {
      const e = reference.fills[i]!;
      expect({ i, date: f.date, side: f.side, size: f.size }).toEqual({ i, date: e.date, side: e.side, size: e.size });
      expect(Math.abs(f.price - e.price)).toBeLessThan(1e-6);
    });
    const ids = { ids: sequentialIds('mp'), clock: new VirtualClock(Date.now()), source: 'test/multi-process' };
    // the portfolio process marks to the last close once it has taken the last bar (it runs at its own pace)
    const portfolio = await eventually(
      async () => {
        const reply = await observer!.request(
          subjects.query('portfolio'),
          rootEnvelope(ids, 'query.request', { params: {} }, { v: versionOf('query.request') }),
          { timeoutMs: 20_000 },
        );
        const p = (reply.payload as { data: PortfolioSnapshot }).data;
        expect(p.asOf).toBe(lastBar);
        return p;
      },
      20_000,
      100,
    );
    expect(Math.round(portfolio.equity * 100) / 100).toBe(reference.final_value);
    // no process set a message aside (a fill arriving after thousands of bars is still booked)
    expect(deadLetters).toEqual([]);

    // the recorder kept the whole chain of the last fill: bar, signal, intent, approval, submission, fill
    const trace = await eventually(
      async () => {
        const r = await observer!.request(
          subjects.query('trace'),
          rootEnvelope(
            ids,
            'query.request',
            { params: { correlationId: fills.at(-1)!.correlationId } },
            { v: versionOf('query.request') },
          ),
          { timeoutMs: 20_000 },
        );
        const types = (r.payload as { data: { messages: { type: string }[] } }).data.messages.map((m) => m.type);
        expect(types).toContain('order.filled');
        return types;
      },
      120_000,
      100,
    ); // the recorder writes to FerretDB at some hundreds of events a second, slower under load
    // the order path in causal order; the portfolio's mark of the same bar is a sibling of the signal, and
    // which of the two reaches the recorder first depends on the processes, not on Sextant
    expect(trace.filter((t) => t !== 'portfolio.updated').slice(0, 5)).toEqual([
      'market.bar',
      'signal.generated',
      'order.intent',
      'order.approved',
      'order.submitted',
    ]);

    // the operator's questions, through the one command router, answered from the MongoDB log
    const services = busServices({ bus: observer, envelope: ids, agents: () => ({}), timeoutMs: 20_000 });
    const router = createCommandRouter(services);
    const viewer = { id: 'test:viewer', role: 'viewer' } as const;
    const why = await router.handle('why ORCL', viewer);
    expect(why.ok).toBe(true);
    expect(why.text).toMatch(/ORCL closed at .*\n.*The strategy signalled (buy|sell): .*Indicators: /s);
    expect(why.text).toMatch(/Risk approved it/);
    const bars = await services.ask<{ time: number }[]>('events', { type: 'market.bar', symbol: 'ORCL', limit: 100 });
    expect(bars).toHaveLength(100);
    expect(new Date(bars[0]!.time).toISOString().slice(0, 10)).toBe('1995-01-03');
    const client = await MongoClient.connect(mongoUri);
    try {
      const events = client.db(mongoDb).collection('events');
      // every bar and fill ends up in the log (the recorder may still be writing the last bars)
      await eventually(
        async () => expect(await events.countDocuments({ type: 'market.bar' })).toBe(5036),
        120_000,
        200,
      );
      expect(await events.countDocuments({ type: 'order.filled' })).toBe(reference.fills.length);
    } finally {
      await client.close();
    }
  }, 360_000);
});
