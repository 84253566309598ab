import { DeliverPolicy, jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { decodeEnvelope } from './codec.js';
import { RECORDING_VERSION, type RecordedLine, type RecordingHeader } from './recording.js';
import type { SchemaRegistry } from './schema-registry.js';
import { matchesPattern, subjects as subjectTable, withPrefix, withoutPrefix } from './subjects.js';
import type { RunStarted } from '../src/domain/messages.js';

export interface StreamReadOptions {
  readonly nc: NatsConnection;
  readonly stream: string;
  /** The namespace the stream's subjects carry (SEXTANT_NAMESPACE); removed from what is read. */
  readonly prefix?: string;
  readonly registry: SchemaRegistry;
  /** Only these subject patterns (unprefixed). */
  readonly subjects?: readonly string[];
  /** Event-time range (epoch ms, inclusive). */
  readonly from?: number;
  readonly to?: number;
  /** Only the messages of this chain. */
  readonly correlationId?: string;
  /** Told about stored messages that do not decode (skipped, never guessed). */
  readonly onBad?: (seq: number, reason: string) => void;
}

/**
 * Reads every message of a stream, in stream order, through an ordered consumer (nothing to
 * acknowledge, nothing left on the server), decoded and validated.
 */
async function* readAll(js: JetStreamClient, stream: string, filter: string | undefined, registry: SchemaRegistry, onBad?: (seq: number, reason: string) => void): AsyncGenerator<{ seq: number; subject: string; env: RecordedLine['env'] }> {
  const consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.All, ...(filter ? { filter_subjects: filter } : {}) });
  for (;;) {
    let pending = 0;
    let got = 0;
    const batch = await consumer.fetch({ max_messages: 2000, expires: 1000 });
    for await (const m of batch) {
      got++;
      pending = m.info.pending;
      const r = decodeEnvelope(registry, m.data, 64 * 1024 * 1024);
      if (r.ok) yield { seq: m.seq, subject: m.subject, env: r.envelope };
      else onBad?.(m.seq, `${r.code}: ${r.reason}`);
      if (pending === 0) break;
    }
    if (got === 0 || pending === 0) return;
  }
}

/**
 * A JetStream recording as the same header-then-lines sequence a recording file holds: the
 * header is built from the `run.started` messages in the stream (their run ids and settings, so
 * a replay makes the same ids again), then every message matching the filters, in stream order,
 * with its stream sequence.
 */
export async function* readStreamRecording(options: StreamReadOptions): AsyncGenerator<RecordingHeader | RecordedLine> {
  const js = jetstream(options.nc);
  const prefix = options.prefix ?? '';
  const runs: RunStarted[] = [];
  for await (const m of readAll(js, options.stream, withPrefix(prefix, subjectTable.runStarted()), options.registry)) runs.push(m.env.payload as RunStarted);
  const main = runs.find((r) => r.agents.includes('strategy')) ?? runs[0];
  yield {
    sextantRecording: RECORDING_VERSION,
    runId: main?.runId ?? 'unknown',
    createdAt: new Date().toISOString(),
    source: `jetstream:${options.stream}`,
    ...(main ? { settings: main.settings, instance: main.instance } : {}),
    runs: runs.map((r) => ({ runId: r.runId, agents: r.agents, instance: r.instance, resumed: r.resumed })),
  };
  const filter = options.subjects?.length === 1 ? withPrefix(prefix, options.subjects[0]!) : undefined;
  for await (const m of readAll(js, options.stream, filter, options.registry, options.onBad)) {
    const subject = withoutPrefix(prefix, m.subject);
    if (options.subjects && !options.subjects.some((p) => matchesPattern(p, subject))) continue;
    if (options.from !== undefined && m.env.time < options.from) continue;
    if (options.to !== undefined && m.env.time > options.to) continue;
    if (options.correlationId !== undefined && m.env.correlationId !== options.correlationId) continue;
    yield { seq: m.seq, subject, env: m.env };
  }
}
