import {
  type Attributes,
  type DiagLogger,
  DiagLogLevel,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  diag,
  trace,
} from '@opentelemetry/api';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  type IdGenerator,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import {
  type Envelope,
  type HandlingSpan,
  type Logger,
  type MessageTracer,
  type RequestSpan,
  UNTRACED_TYPES,
  handlingSpanId,
  messageSpanId,
  parseTraceparent,
  payloadSymbol,
  producerParentId,
  requestSpanId,
  traceIdOf,
  traceparentOf,
} from '../../core/index.js';
import { TracingConfigError, exportersOf, type TracingOptions } from './tracing.js';

/**
 * The ids of the next span, set just before the SDK asks for them: spans get the derived ids of
 * MessageTracer (the SDK is synchronous from startSpan to its id request).
 */
class DerivedIds implements IdGenerator {
  traceId = '';
  spanId = '';
  generateTraceId(): string {
    return this.traceId;
  }
  generateSpanId(): string {
    return this.spanId;
  }
}

const NOOP_HANDLING: HandlingSpan = { output: () => undefined, end: () => undefined };

/**
 * MessageTracer on the OpenTelemetry SDK: spans with derived ids (see MessageTracer), exported
 * by the span processors given (a BatchSpanProcessor on the OTLP exporter in a live process, a
 * SimpleSpanProcessor on the in-memory exporter in tests).
 */
export class OtelTracer implements MessageTracer {
  readonly #ids = new DerivedIds();
  readonly #provider: BasicTracerProvider;
  readonly #tracer;

  constructor(options: { readonly serviceName: string; readonly processors: SpanProcessor[] }) {
    const resource = defaultResource()
      .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }))
      .merge(detectResources({ detectors: [envDetector] })); // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES win
    this.#provider = new BasicTracerProvider({ resource, idGenerator: this.#ids, spanProcessors: options.processors });
    this.#tracer = this.#provider.getTracer('sextant');
  }

  #start(
    name: string,
    kind: SpanKind,
    ids: { traceId: string; spanId: string; parentId: string | undefined },
    attributes: Attributes,
  ): Span {
    this.#ids.traceId = ids.traceId;
    this.#ids.spanId = ids.spanId;
    const context =
      ids.parentId === undefined
        ? ROOT_CONTEXT
        : trace.setSpanContext(ROOT_CONTEXT, {
            traceId: ids.traceId,
            spanId: ids.parentId,
            traceFlags: TraceFlags.SAMPLED,
            isRemote: true,
          });
    return this.#tracer.startSpan(name, { kind, attributes, root: ids.parentId === undefined }, context);
  }

  published(subject: string, env: Envelope): string | undefined {
    if (UNTRACED_TYPES.has(env.type)) return undefined;
    const span = this.#start(
      `publish ${env.type}`,
      SpanKind.PRODUCER,
      { traceId: traceIdOf(env.correlationId), spanId: messageSpanId(env.id), parentId: producerParentId(env) },
      {
        ...messageAttributes(env),
        'messaging.system': 'nats',
        'messaging.operation.type': 'send',
        'messaging.destination.name': subject,
        'sextant.source': env.source,
      },
    );
    span.end();
    return traceparentOf(env);
  }

  handling(agent: string, env: Envelope, traceparent: string | undefined): HandlingSpan {
    if (UNTRACED_TYPES.has(env.type)) return NOOP_HANDLING;
    // the W3C context the message carried (the same ids, derived, for Sextant's own messages)
    const parent = parseTraceparent(traceparent) ?? {
      traceId: traceIdOf(env.correlationId),
      spanId: messageSpanId(env.id),
    };
    const span = this.#start(
      `${agent} ${env.type}`,
      SpanKind.CONSUMER,
      { traceId: parent.traceId, spanId: handlingSpanId(env.id, agent), parentId: parent.spanId },
      {
        ...messageAttributes(env),
        'messaging.system': 'nats',
        'messaging.operation.type': 'process',
        'sextant.agent': agent,
      },
    );
    const outputs: string[] = [];
    return {
      output: (type) => void outputs.push(type),
      end: (outcome, err) => {
        span.setAttributes({ 'sextant.outcome': outcome, 'sextant.outputs': outputs });
        if (outcome === 'error') {
          if (err instanceof Error) span.recordException(err);
          span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
        }
        span.end();
      },
    };
  }

  request(name: string, correlationId: string, attributes: Readonly<Record<string, string>> = {}): RequestSpan {
    const span = this.#start(
      name,
      SpanKind.SERVER,
      { traceId: traceIdOf(correlationId), spanId: requestSpanId(correlationId), parentId: undefined },
      { ...attributes, 'sextant.correlation_id': correlationId },
    );
    return {
      end: (status, rename) => {
        if (rename) span.updateName(rename);
        span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      },
    };
  }

  async flush(): Promise<void> {
    await this.#provider.forceFlush();
  }

  async shutdown(): Promise<void> {
    await this.#provider.shutdown();
  }
}

function messageAttributes(env: Envelope): Attributes {
  const a: Attributes = {
    'messaging.message.id': env.id,
    'sextant.message_type': env.type,
    'sextant.correlation_id': env.correlationId,
  };
  if (env.causationId !== undefined) a['sextant.causation_id'] = env.causationId;
  const symbol = payloadSymbol(env.payload);
  if (symbol !== undefined) a['sextant.symbol'] = symbol;
  return a;
}

/** A full queue drops spans (the SDK's rule): larger than its default, so a fast run keeps them. */
const QUEUE_DEFAULTS = {
  maxQueueSize: ['OTEL_BSP_MAX_QUEUE_SIZE', 65_536],
  maxExportBatchSize: ['OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 2_048],
  scheduledDelayMillis: ['OTEL_BSP_SCHEDULE_DELAY', 1_000],
} as const;

/** The tracer the OTEL_* variables describe (see README, Monitor). */
export async function otelTracerFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  options: TracingOptions,
): Promise<OtelTracer> {
  diag.setLogger(diagTo(options.logger), DiagLogLevel.WARN);
  const names = exportersOf(env);
  const processors: SpanProcessor[] = [];
  for (const name of names.length > 0 ? names : ['otlp']) {
    if (name === 'none') continue;
    const exporter = await exporterNamed(name, env);
    const batch: Record<string, number> = {};
    for (const [key, [variable, value]] of Object.entries(QUEUE_DEFAULTS))
      if (!env[variable]?.trim()) batch[key] = value;
    processors.push(new BatchSpanProcessor(exporter, batch));
  }
  return new OtelTracer({ serviceName: options.serviceName, processors });
}

async function exporterNamed(name: string, env: Readonly<Record<string, string | undefined>>): Promise<SpanExporter> {
  if (name === 'console') return new ConsoleSpanExporter();
  if (name !== 'otlp')
    throw new TracingConfigError(`OTEL_TRACES_EXPORTER: "${name}" is not supported here (otlp, console or none)`);
  const variable = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?.trim()
    ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
    : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = env[variable]?.trim() || 'http/protobuf';
  if (protocol === 'http/protobuf') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
    return new OTLPTraceExporter();
  }
  if (protocol === 'http/json') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    return new OTLPTraceExporter();
  }
  throw new TracingConfigError(
    `${variable}: "${protocol}" is not supported here (http/protobuf or http/json; grpc is not installed)`,
  );
}

function diagTo(logger: Logger): DiagLogger {
  const log = logger.child({ component: 'tracing' });
  return {
    error: (message, ...args) => log.warn({ args }, `opentelemetry: ${message}`),
    warn: (message, ...args) => log.warn({ args }, `opentelemetry: ${message}`),
    info: () => undefined,
    debug: () => undefined,
    verbose: () => undefined,
  };
}
