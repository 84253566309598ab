import { BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { runBacktest } from '../src/app/backtest/run-backtest.js';
import { OtelTracer } from '../src/infra/observability/otel-tracer.js';
import { writeSeries } from './backtest.bench.js';
import { formatTable } from './harness.js';

/**
 * What tracing costs: the same in-memory backtest (SMA(10,30), all five agents) with tracing off
 * (no tracer: what every process runs unless OTEL_* variables ask for traces) and on (the SDK,
 * a batch processor and an exporter that counts and drops, so the export's network is not
 * measured), in alternating rounds; medians. Off is the one branch per message the bus and the
 * agent host keep; compare its figure with the backtest bench of a commit before tracing.
 */

export interface TracingBenchRow {
  readonly tracing: 'off' | 'on';
  readonly bars: number;
  readonly elapsedMs: number;
  readonly barsPerSecond: number;
  /** Spans exported (on). */
  readonly spans: number;
}

export interface TracingBenchResult {
  readonly bars: number;
  readonly rounds: number;
  readonly off: TracingBenchRow;
  readonly on: TracingBenchRow;
  /** Elapsed with tracing on / off. */
  readonly onSlowdown: number;
}

/** Counts what it is given and keeps nothing. */
class CountingExporter implements SpanExporter {
  spans = 0;
  export(spans: ReadableSpan[], done: (result: { code: 0 }) => void): void {
    this.spans += spans.length;
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
}

async function round(file: string, tracing: 'off' | 'on'): Promise<TracingBenchRow> {
  const exporter = new CountingExporter();
  const tracer =
    tracing === 'on'
      ? new OtelTracer({
          serviceName: 'sextant-bench',
          processors: [new BatchSpanProcessor(exporter, { maxQueueSize: 65_536, maxExportBatchSize: 2_048 })],
        })
      : undefined;
  const started = performance.now();
  const r = await runBacktest({
    data: file,
    symbol: 'BENCH',
    strategy: { kind: 'sma-cross', id: 'sma-cross', fast: 10, slow: 30, size: 100 },
    cash: 1_000_000_000,
    transport: 'memory',
    ...(tracer ? { tracer } : {}),
  });
  const elapsedMs = Math.round(performance.now() - started);
  return {
    tracing,
    bars: r.bars,
    elapsedMs,
    barsPerSecond: Math.round(r.bars / (elapsedMs / 1000)),
    spans: exporter.spans,
  };
}

const median = (rows: TracingBenchRow[]): TracingBenchRow =>
  [...rows].sort((a, b) => a.elapsedMs - b.elapsedMs)[Math.floor(rows.length / 2)]!;

export async function runTracingBench(options: { bars?: number; rounds?: number } = {}): Promise<TracingBenchResult> {
  const bars = options.bars ?? 50_000;
  const rounds = options.rounds ?? 5;
  const file = writeSeries(bars);
  await round(file, 'off'); // warm-up: the JIT, not tracing
  const off: TracingBenchRow[] = [];
  const on: TracingBenchRow[] = [];
  for (let i = 0; i < rounds; i++) {
    off.push(await round(file, 'off'));
    on.push(await round(file, 'on'));
  }
  const result = {
    bars,
    rounds,
    off: median(off),
    on: median(on),
    onSlowdown: Math.round((100 * median(on).elapsedMs) / median(off).elapsedMs) / 100,
  };
  console.log(
    formatTable([
      ['tracing', 'bars', 'median ms', 'bars/s', 'spans'],
      ...[result.off, result.on].map((r) => [r.tracing, r.bars, r.elapsedMs, r.barsPerSecond, r.spans]),
    ]),
  );
  return result;
}
