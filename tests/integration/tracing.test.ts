import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { startSystem, type RunningSystem } from '../../src/cli/start-system.js';
import { randomWalkCsv } from '../helpers/csv.js';
import { eventually } from '../helpers/eventually.js';
import { freePort } from '../helpers/free-port.js';
import { orclRunEnv } from '../helpers/agent-process.js';
import { startOtlpReceiver } from '../helpers/otlp-receiver.js';
import { csvFeed } from '../../agents/data/feeds/csv-feed.js';
import { quiesce } from '../../bus/quiesce.js';
import { patterns } from '../../src/core/messaging/subjects.js';
import {
  TRACEPARENT_HEADER,
  messageSpanId,
  requestSpanId,
  traceIdOf,
  traceparentOf,
} from '../../src/core/ports/tracing.js';
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
      for (const fill of fills) {
        const trace = expectFillTrace(spans, fill.correlationId);
        // in one process the buy has filled before the sell is intended: risk decides each at once
        const risk = trace.find((s) => s.kind === 'consumer' && s.attributes['sextant.agent'] === 'risk');
        expect(risk?.attributes['sextant.outputs']).toEqual(['order.approved']);
      }
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

describe("a person's request starts the trace of what it causes", () => {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-trace-api-'));
  let system: RunningSystem | undefined;
  afterAll(async () => {
    await system?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A small embedded system with the API, its spans kept in memory. */
  const startTraced = async () => {
    await system?.stop();
    const exporter = new InMemorySpanExporter();
    const tracer = new OtelTracer({ serviceName: 'sextant-all', processors: [new SimpleSpanProcessor(exporter)] });
    const port = await freePort();
    const config = loadConfig({
      env: {
        PORT: String(port),
        SEXTANT_API_TOKENS: `${token}:operator`,
        DATA_FEED: 'csv',
        DATA_FILE: randomWalkCsv(50, 8),
        DATA_SYMBOLS: 'WALK',
        DATA_PACE_MS: '0',
        STORE: 'off',
        SEXTANT_DATA_DIR: join(dir, `data-${port}`),
      },
    });
    system = await startSystem(config, silentLogger, config.runtime.agents, { api: true, tracer });
    await system.feedDone();
    return { exporter, port };
  };
  const token = 'operator-token-0123456789';

  it('an order placed through the HTTP API is one trace: the request span, then the intent, its approval and submission', async () => {
    const { exporter, port } = await startTraced();
    const placed = await fetch(`http://127.0.0.1:${port}/api/v1/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ symbol: 'WALK', side: 'buy', qty: 2 }),
    });
    expect(placed.status).toBe(202);
    const requestId = placed.headers.get('x-request-id')!;
    const traceId = traceIdOf(requestId);
    const spans = await eventually(() => {
      const found = exporter
        .getFinishedSpans()
        .map(seen)
        .filter((s) => s.traceId === traceId);
      expect(found.map((s) => s.attributes['sextant.message_type'])).toContain('order.submitted');
      expect(found.some((s) => s.kind === 'server')).toBe(true);
      return found;
    });
    const request = spans.find((s) => s.kind === 'server')!;
    expect(request).toMatchObject({
      name: 'POST /api/v1/orders',
      spanId: requestSpanId(requestId),
      parentSpanId: undefined,
    });
    expect(request.attributes['http.response.status_code']).toBe(202);
    const producer = (type: string) =>
      spans.find((s) => s.kind === 'producer' && s.attributes['sextant.message_type'] === type)!;
    const intent = producer('order.intent');
    expect(intent.parentSpanId).toBe(request.spanId);
    expect(intent.attributes['sextant.correlation_id']).toBe(requestId);
    expect(producer('order.approved').parentSpanId).toBe(intent.spanId);
    expect(producer('order.submitted').parentSpanId).toBe(producer('order.approved').spanId);
    const risk = spans.find((s) => s.kind === 'consumer' && s.attributes['sextant.agent'] === 'risk')!;
    expect(risk.parentSpanId).toBe(messageSpanId(intent.attributes['messaging.message.id'] as string));
    expect(risk.attributes['sextant.outputs']).toEqual(['order.approved']);
  });

  it('an order confirmed in the chat or a bot (the command router) is one trace: the command span, then the intent and its approval', async () => {
    const { exporter } = await startTraced();
    const operator = { id: 'telegram:42', role: 'operator' } as const;
    const preview = await system!.commands!.handle('buy WALK 2', operator);
    const sent = await system!.commands!.handle(`confirm ${preview.preview!.id}`, operator);
    expect(sent.text).toMatch(/^Risk approved/);
    const correlationId = (sent.data as { correlationId: string }).correlationId;
    const spans = await eventually(() => {
      const found = exporter
        .getFinishedSpans()
        .map(seen)
        .filter((s) => s.traceId === traceIdOf(correlationId));
      expect(found.map((s) => s.attributes['sextant.message_type'])).toContain('order.approved');
      expect(found.some((s) => s.kind === 'server')).toBe(true);
      return found;
    });
    const command = spans.find((s) => s.kind === 'server')!;
    expect(command).toMatchObject({
      name: 'command order.intent',
      spanId: requestSpanId(correlationId),
      parentSpanId: undefined,
    });
    expect(command.attributes['sextant.person']).toBe('telegram:42');
    const intent = spans.find((s) => s.kind === 'producer' && s.attributes['sextant.message_type'] === 'order.intent')!;
    expect(intent.parentSpanId).toBe(command.spanId);
    const approved = spans.find(
      (s) => s.kind === 'producer' && s.attributes['sextant.message_type'] === 'order.approved',
    )!;
    expect(approved.parentSpanId).toBe(intent.spanId);
  });
});

describe('a process exports over OTLP/HTTP as the OTEL_* variables say', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-trace-otlp-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('sextant start with only an OTLP endpoint sends protobuf (the default protocol) and each fill chain is one trace', async () => {
    const receiver = await startOtlpReceiver();
    try {
      const { NATS_URL: _nats, ...run } = orclRunEnv('');
      const child = spawn(
        process.execPath,
        [resolve(import.meta.dirname, '../../src/cli/sextant.mjs'), 'start', '--until-feed-end'],
        {
          cwd: dir,
          env: {
            PATH: process.env.PATH ?? '',
            HOME: process.env.HOME ?? '',
            ...run,
            DATA_FILE: orclHead(dir, 240),
            DATA_PACE_MS: '0',
            OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise((r) => child.once('exit', r));
      expect(code, out.slice(-2000)).toBe(0);
      expect(receiver.refused).toEqual([]);
      expect([...receiver.encodings]).toEqual(['protobuf']);
      const spans = receiver.spans;
      expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['sextant-all']));
      const fills = spans.filter(
        (s) => s.kind === 'producer' && s.attributes['sextant.message_type'] === 'order.filled',
      );
      expect(fills).toHaveLength(referenceFillDates(240).length);
      for (const fill of fills) expectFillTrace(spans, fill.attributes['sextant.correlation_id'] as string);
    } finally {
      await receiver.close();
    }
  }, 120_000);
});
