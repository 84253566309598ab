import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Bus } from '../../src/core/messaging/bus.js';
import { patterns, subjects } from '../../src/core/messaging/subjects.js';
import { createRegistry } from '../../src/core/domain/messages.js';
import { traceIdOf } from '../../src/core/ports/tracing.js';
import { orclRunEnv, removeNamespaces, startAgentProcess, type AgentProcess } from '../helpers/agent-process.js';
import { makeBus, natsUrl, testPrefix } from '../helpers/buses.js';
import { eventually } from '../helpers/eventually.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';
import { FILL_CHAIN, expectFillTrace, orclHead, referenceFillDates } from '../helpers/trace-check.js';

const BARS = 240;

/**
 * Tracing across processes: the five agents each in a process of their own over nats-server,
 * each exporting OTLP/HTTP (JSON) to a receiver in this test, configured only by the standard
 * OTEL_* variables. The spans of one chain, made in different processes, form one trace.
 */
describe('OpenTelemetry traces across agent processes [nats]', () => {
  const namespace = testPrefix();
  const dir = mkdtempSync(join(tmpdir(), 'sextant-otel-'));
  const procs: AgentProcess[] = [];
  let observer: Bus | undefined;
  let receiver: OtlpReceiver | undefined;

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await observer?.close();
    await receiver?.close();
    await removeNamespaces(natsUrl, [namespace]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('each ORCL chain that ends in a fill is one trace at the OTLP receiver, with every span the child of its causation message span, across five processes', async () => {
    receiver = await startOtlpReceiver();
    const env = {
      ...orclRunEnv(natsUrl),
      DATA_FILE: orclHead(dir, BARS),
      SEXTANT_NAMESPACE: namespace,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '200',
    };
    observer = await makeBus('nats', {
      registry: createRegistry(),
      prefix: namespace,
      durable: false,
      requestTimeoutMs: 20_000,
    });
    const fills: { date: string; correlationId: string }[] = [];
    const updates: string[] = [];
    let completed = false;
    observer.subscribe(subjects.orderFilled(), (e) => {
      fills.push({ date: new Date(e.time).toISOString().slice(0, 10), correlationId: e.correlationId });
    });
    observer.subscribe(patterns.all, (e) => {
      if (e.type === 'portfolio.updated') updates.push(e.correlationId);
      if (e.type === 'market.feed-completed') completed = true;
    });
    await observer.flush();
    for (const agent of ['portfolio', 'execution', 'risk', 'strategy'] as const)
      procs.push(await startAgentProcess(agent, ['agent', agent], { ...env, SEXTANT_INSTANCE: `${agent}-1` }));
    procs.push(await startAgentProcess('data', ['agent', 'data'], { ...env, SEXTANT_INSTANCE: 'data-1' }));

    const expected = referenceFillDates(BARS);
    await eventually(() => expect(completed).toBe(true), 60_000, 50);
    await eventually(() => expect(fills.map((f) => f.date)).toEqual(expected), 30_000, 50);
    // the portfolio has booked the last fill, then every process stops and exports what it holds
    await eventually(() => expect(updates).toContain(fills.at(-1)!.correlationId), 30_000, 50);
    await Promise.all(procs.map((p) => p.stop()));

    const spans = receiver.spans;
    expect(receiver.refused).toEqual([]);
    expect(new Set(spans.map((s) => s.service))).toEqual(
      new Set(['sextant-data', 'sextant-strategy', 'sextant-risk', 'sextant-execution', 'sextant-portfolio']),
    );
    for (const fill of fills) {
      const trace = expectFillTrace(spans, fill.correlationId);
      // the chain went through four processes: each span was exported by the process that made it
      const made = (kind: string, type: string) =>
        trace
          .filter((s) => s.kind === kind && s.attributes['sextant.message_type'] === type)
          .map((s) => `${s.service}`);
      expect(FILL_CHAIN.map((type) => made('producer', type))).toEqual([
        ['sextant-data'],
        ['sextant-strategy'],
        ['sextant-strategy'],
        ['sextant-risk'],
        ['sextant-execution'],
        ['sextant-execution'],
      ]);
      expect(made('consumer', 'order.intent')).toEqual(['sextant-risk']);
      expect(made('consumer', 'order.approved')).toContain('sextant-execution');
      expect(made('consumer', 'order.filled')).toContain('sextant-portfolio');
    }
    // one trace per correlation chain: every bar started one, and no trace holds two chains
    const chains = new Map<string, Set<string>>();
    for (const s of spans) {
      const c = s.attributes['sextant.correlation_id'] as string;
      chains.set(s.traceId, (chains.get(s.traceId) ?? new Set()).add(c));
    }
    for (const [traceId, ids] of chains) expect([...ids].map(traceIdOf)).toEqual([traceId]);
    const bars = spans.filter((s) => s.kind === 'producer' && s.attributes['sextant.message_type'] === 'market.bar');
    expect(bars).toHaveLength(BARS);
    expect(chains.size).toBeGreaterThanOrEqual(BARS);
  }, 240_000);
});
