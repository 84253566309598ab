import type { Logger, MessageTracer } from '../../core/index.js';

/** What opening tracing needs besides the environment. */
export interface TracingOptions {
  /** `service.name` when OTEL_SERVICE_NAME does not give one (e.g. `sextant-risk`). */
  readonly serviceName: string;
  /** Export failures and dropped spans are logged here (as warnings). */
  readonly logger: Logger;
}

/** A setting of the OTEL_* variables Sextant cannot follow (named in the message). */
export class TracingConfigError extends Error {
  readonly code = 'tracing_config';
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'TracingConfigError';
  }
}

/**
 * Whether the standard variables ask for traces: OTEL_TRACES_EXPORTER set to anything but
 * `none`, or an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
 * given; never with OTEL_SDK_DISABLED=true.
 */
export function tracingWanted(env: Readonly<Record<string, string | undefined>>): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporters = exportersOf(env);
  if (exporters.length > 0) return !exporters.every((e) => e === 'none');
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

/** The exporters OTEL_TRACES_EXPORTER names (comma-separated, lower case). */
export function exportersOf(env: Readonly<Record<string, string | undefined>>): string[] {
  return (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter(Boolean);
}

/**
 * Opens OpenTelemetry tracing as the OTEL_* variables ask, or nothing when they ask for none:
 * then no SDK module is even loaded (it is imported here, on demand) and the bus and agents keep
 * their one branch per message. Throws TracingConfigError for a setting it cannot follow.
 */
export async function openTracing(
  env: Readonly<Record<string, string | undefined>>,
  options: TracingOptions,
): Promise<MessageTracer | undefined> {
  if (!tracingWanted(env)) return undefined;
  const { otelTracerFromEnv } = await import('./otel-tracer.js');
  return otelTracerFromEnv(env, options);
}
