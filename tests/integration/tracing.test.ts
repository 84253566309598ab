import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { csvFeed } from '../../agents/data/feeds/csv-feed.js';
import { quiesce } from '../../bus/quiesce.js';
import { patterns } from '../../src/core/messaging/subjects.js';
import { TRACEPARENT_HEADER, traceIdOf, traceparentOf } from '../../src/core/ports/tracing.js';
import { OtelTracer } from '../../src/infra/observability/otel-tracer.js';
import { openTracing, tracingWanted, TracingConfigError } from '../../src/infra/observability/tracing.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { transports } from '../helpers/buses.js';
import { startTestSystem, type TestSystem } from '../helpers/system.js';
import { expectFillTrace, orclHead, referenceFillDates, type SeenSpan } from '../helpers/trace-check.js';

const KINDS: Record<number, SeenSpan['kind']> = {
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
  [SpanKind.SERVER]: 'server',
};

function seen(span: ReadableSpan): SeenSpan {
  return {
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    name: span.name,
    kind: KINDS[span.kind] ?? 'other',
    service: String(span.resource.attributes['service.name']),
    attributes: span.attributes,
  };
}

describe('tracing is off unless the OTEL_* variables ask for it', () => {
  it.each([
    [{}, false],
    [{ OTEL_TRACES_EXPORTER: 'none' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, true],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' }, true],
    [{ OTEL_TRACES_EXPORTER: 'otlp' }, true],
    [{ OTEL_TRACES_EXPORTER: 'console' }, true],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_EXPORTER: 'none' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' }, false],
  ])('variables %j: traced %s', (env, wanted) => {
    expect(tracingWanted(env)).toBe(wanted);
  });

  it('no variables open no tracer', async () => {
    expect(await openTracing({}, { serviceName: 'sextant-test', logger: silentLogger })).toBeUndefined();
  });

  it('an exporter or protocol it cannot follow stops start-up naming the variable', async () => {
    const open = (env: Record<string, string>) => openTracing(env, { serviceName: 'x', logger: silentLogger });
    await expect(open({ OTEL_TRACES_EXPORTER: 'zipkin' })).rejects.toThrow(TracingConfigError);
    await expect(open({ OTEL_TRACES_EXPORTER: 'zipkin' })).rejects.toThrow(/OTEL_TRACES_EXPORTER: "zipkin"/);
    await expect(open({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).rejects.toThrow(
      /OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" is not supported/,
    );
  });
});

for (const { name } of transports) {
  describe(`one trace per correlation chain [${name}]`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'sextant-trace-'));
    let system: TestSystem | undefined;
    afterEach(() => system?.stop());
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('the ORCL chains bar → signal → intent → approved → submitted → filled → portfolio each form one trace with every parent the span of its causation message', async () => {
      const exporter = new InMemorySpanExporter();
      const tracer = new OtelTracer({ serviceName: 'sextant-test', processors: [new SimpleSpanProcessor(exporter)] });
      const headers: { expected: string; carried: string | undefined }[] = [];
      system = await startTestSystem(name, {
        agents: ['data', 'strategy', 'risk', 'execution', 'portfolio'],
        feed: csvFeed({ file: orclHead(dir, 240), symbol: 'ORCL' }),
        tracer,
        beforeStart: (bus) =>
          void bus.subscribe(
            patterns.orders,
            (env, ctx) => void headers.push({ expected: traceparentOf(env), carried: ctx.headers[TRACEPARENT_HEADER] }),
          ),
      });
      await system.kernel.host('data')!.whenStarted();
      await quiesce(system.bus);
      await tracer.flush();

      const fills = system.of('order.filled');
      expect(fills.map((f) => new Date(f.time).toISOString().slice(0, 10))).toEqual(referenceFillDates(240));
      const spans = exporter.getFinishedSpans().map(seen);
      for (const fill of fills) expectFillTrace(spans, fill.correlationId);
      // every chain is a trace of its own: one trace id per correlation id, and the other way round
      const traces = new Map<string, Set<string>>();
      for (const s of spans) {
        const c = s.attributes['sextant.correlation_id'] as string;
        traces.set(c, (traces.get(c) ?? new Set()).add(s.traceId));
      }
      for (const [c, ids] of traces) expect([...ids]).toEqual([traceIdOf(c)]);
      expect(system.of('market.bar')).toHaveLength(240);
      expect(traces.size).toBeGreaterThanOrEqual(240);
      // NATS carries the W3C context of each message; the in-memory bus needs none (the ids are derived)
      expect(headers.length).toBeGreaterThan(0);
      for (const h of headers) expect(h.carried).toBe(name === 'nats' ? h.expected : undefined);
    });
  });
}
