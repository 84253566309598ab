import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { decodeEnvelope, natsJetStream } from '../../../bus/index.js';
import { patternsRegExp, StreamReader, type RawBatch } from './stream-read-worker.js';
import {
  RECORDING_BATCH,
  RECORDING_VERSION,
  type RecordedLine,
  type RecordingBatch,
  type RecordingHeader,
} from './recording.js';
import {
  type SchemaRegistry,
  matchesPattern,
  subjects as subjectTable,
  withPrefix,
  withoutPrefix,
  type RunStarted,
} from '../../core/index.js';

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
  /** Types whose payloads are checked against their schema; others only as envelopes (default: all). */
  readonly checkPayload?: (type: string) => boolean;
  /**
   * The NATS servers `nc` is connected to: given, the messages are read by a worker thread with
   * a connection of its own (the NATS client's work off this thread); decoding stays here.
   */
  readonly servers?: string | string[];
  /**
   * With `servers`: subject patterns (unprefixed) whose messages are counted in each batch's
   * `skipped` and checked (JSON, a known type and version) but not decoded here or handed over.
   */
  readonly skip?: readonly string[];
  /** With `servers`: how far ahead of the reading here the worker starts (default HANDOVER_LEAD). */
  readonly handoverLead?: number;
  /** With `servers`: told the sequence the worker reads from (the messages before it were read here). */
  readonly onHandover?: (seq: number) => void;
  /** Called with the reader thread when one is used (tests wait for it to be ready instead of for time). */
  readonly onReader?: (reader: { whenReady(): Promise<void> }) => void;
}

const decoder = new TextDecoder();

/**
 * A message on a skipped subject, read on this thread: checked as the worker checks those it
 * skips (JSON, an object, a type and version known, each kind once), reported, not handed over.
 */
function checkSkipped(
  registry: SchemaRegistry,
  seq: number,
  data: Uint8Array,
  kinds: Set<string>,
  onBad?: (seq: number, reason: string) => void,
): void {
  let env: unknown;
  try {
    env = JSON.parse(decoder.decode(data));
  } catch {
    onBad?.(seq, 'invalid_json: the body is not JSON');
    return;
  }
  if (typeof env !== 'object' || env === null) return onBad?.(seq, 'invalid_envelope: the body is not an object');
  const { type, v } = env as { type?: unknown; v?: unknown };
  const kind = `${String(type)}@${String(v)}`;
  if (kinds.has(kind)) return;
  kinds.add(kind);
  const known = registry.checkKind(type, v);
  if (!known.ok) onBad?.(seq, `${known.code}: ${known.reason}`);
}

/**
 * Reads every message of a stream, in stream order, through an ordered consumer (nothing to
 * acknowledge, nothing left on the server), decoded and validated.
 */
/**
 * A recording stream sources the order stream asynchronously: wait (up to 10 s) until it has
 * copied everything, so a read right after a run sees its orders too.
 */
async function sourcesCaughtUp(jsm: JetStreamManager, stream: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const info = await jsm.streams.info(stream);
    if ((info.sources ?? []).every((src) => src.lag === 0)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A decoded stream message. */
interface StreamMessage {
  readonly seq: number;
  /** Without the namespace prefix. */
  readonly subject: string;
  readonly env: RecordedLine['env'];
}

/**
 * How far ahead of the caller's reading the worker starts: the caller goes on reading up to
 * there while the worker sets up its consumer and warms up (its code starts cold: its first few
 * thousand messages come slower than a replay takes them in). With 2,000 a replay still waited
 * 50-140 ms for the worker's first batches; with 8,000 it does not wait.
 */
const HANDOVER_LEAD = 8000;

/** Where a read on the caller's connection stops (see readStreamRecordingBatches). */
interface ReadHere {
  /** Called with each message's sequence before it is taken: true stops the read there (that message is left). */
  readonly stopBefore: (seq: number) => boolean;
  /** The last message of the stream was read. */
  done: boolean;
}

/**
 * Reads every message of a stream, in stream order, through an ordered consumer (nothing to
 * acknowledge, nothing left on the server), decoded and validated, in batches of RECORDING_BATCH.
 */
interface ReadAllOptions {
  readonly filter?: string | undefined;
  readonly onBad?: ((seq: number, reason: string) => void) | undefined;
  readonly checkPayload?: ((type: string) => boolean) | undefined;
  readonly here?: ReadHere;
  /**
   * Subjects (a patternsRegExp) whose messages are counted and checked, not decoded and handed over (as the worker
   * does).
   */
  readonly skip?: RegExp | undefined;
  /** The namespace prefix, taken off the subjects handed over. */
  readonly prefix?: string;
}

async function* readAll(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  registry: SchemaRegistry,
  options: ReadAllOptions = {},
): AsyncGenerator<RecordingBatch<StreamMessage>> {
  const { filter, onBad, checkPayload, here, skip, prefix = '' } = options;
  // nothing stored for this filter: a consumer would wait forever, so count first
  const info = await jsm.streams.info(stream, filter ? { subjects_filter: filter } : undefined);
  const stored = filter ? Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0) : info.state.messages;
  if (stored === 0) {
    if (here) here.done = true;
    return;
  }
  const consumer = await js.consumers.get(stream, {
    deliver_policy: natsJetStream().DeliverPolicy.All,
    ...(filter ? { filter_subjects: filter } : {}),
  });
  // consume keeps the next messages coming while these are handled (pipelined, unlike fetch)
  const messages = await consumer.consume({ max_messages: 5000 });
  let batch: StreamMessage[] = [];
  let skipped = 0;
  const kinds = new Set<string>();
  const take = () => {
    const out = skipped > 0 ? Object.assign(batch, { skipped }) : batch;
    batch = [];
    skipped = 0;
    return out;
  };
  try {
    for await (const m of messages) {
      if (here?.stopBefore(m.seq)) break;
      if (skip?.test(m.subject)) {
        skipped++;
        checkSkipped(registry, m.seq, m.data, kinds, onBad);
      } else {
        const r = decodeEnvelope(registry, m.data, 64 * 1024 * 1024, checkPayload);
        if (r.ok) batch.push({ seq: m.seq, subject: withoutPrefix(prefix, m.subject), env: r.envelope });
        else onBad?.(m.seq, `${r.code}: ${r.reason}`);
      }
      const last = m.info.pending === 0;
      if (here) here.done = last;
      if (batch.length + skipped >= RECORDING_BATCH || last) yield take();
      if (last) break;
    }
    if (batch.length > 0 || skipped > 0) yield take();
  } finally {
    await messages.close();
  }
}

/**
 * The bodies of messages from..to-1 of a raw batch, `b_from,...,b_to-1`: the batch is
 * `[b0,b1,...]` and `offsets` says where each body starts (the last entry: where the last ends).
 */
function bodiesOf(raw: RawBatch, from: number, to: number): Uint8Array {
  const count = raw.seqs.length;
  return raw.bodies.subarray(raw.offsets[from]!, to < count ? raw.offsets[to]! - 1 : raw.offsets[count]!);
}

/** As `readAll`, the reading done by a worker thread (see StreamReader), from sequence `from` on. */
async function* readAllInWorker(
  reader: StreamReader,
  from: number,
  registry: SchemaRegistry,
  prefix: string,
  onBad?: (seq: number, reason: string) => void,
  checkPayload?: (type: string) => boolean,
): AsyncGenerator<RecordingBatch<StreamMessage>> {
  // the prefix comes off all of a batch's subjects in one replace, not one message at a time
  const prefixed = prefix ? `\n${prefix}.` : undefined;
  for await (const raw of reader.batches(from)) {
    // the skipped messages: read and checked by the worker, reported here
    for (const b of raw.bad) onBad?.(b.seq, b.reason);
    for (const k of raw.kinds) {
      const known = registry.checkKind(k.type, k.v);
      if (!known.ok) onBad?.(k.seq, `${known.code}: ${known.reason}`);
    }
    const subjects = (prefixed ? `\n${raw.subjects}`.replaceAll(prefixed, '\n').slice(1) : raw.subjects).split('\n');
    const count = raw.seqs.length;
    // a few hundred at a time, parsed just before they are used: messages die young (a whole
    // batch made at once would live through a minor GC, be copied and promoted, and die old)
    let skipped = raw.skipped;
    for (let from = 0; from < count || skipped > 0; from += RECORDING_BATCH) {
      const to = Math.min(count, from + RECORDING_BATCH);
      let values: unknown[] | undefined;
      if (to > from) {
        try {
          values = JSON.parse(`[${decoder.decode(bodiesOf(raw, from, to))}]`) as unknown[];
        } catch {
          // a body that is not JSON spoils the one parse: decode them one by one to name it
        }
      }
      const batch: StreamMessage[] = [];
      for (let i = from; i < to; i++) {
        const r = values
          ? checkPayload && !checkPayload(String((values[i - from] as { type?: unknown } | null)?.type))
            ? registry.validateEnvelope(values[i - from])
            : registry.validate(values[i - from])
          : decodeEnvelope(registry, bodiesOf(raw, i, i + 1), 64 * 1024 * 1024, checkPayload);
        if (r.ok) batch.push({ seq: raw.seqs[i]!, subject: subjects[i]!, env: r.envelope });
        else onBad?.(raw.seqs[i]!, `${r.code}: ${r.reason}`);
      }
      yield Object.assign(batch, { skipped });
      skipped = 0;
    }
  }
}

/**
 * A JetStream recording in the batches a recording file is read in: the header built from the
 * `run.started` messages in the stream (their run ids and settings, so a replay makes the same
 * ids again), then every message matching the filters, in stream order, with its sequence.
 */
export async function* readStreamRecordingBatches(options: StreamReadOptions): AsyncGenerator<RecordingBatch> {
  const prefix = options.prefix ?? '';
  const filter = options.subjects?.length === 1 ? withPrefix(prefix, options.subjects[0]!) : undefined;
  // the worker loads its client and connects while the header is read and the caller gets ready
  const skip = options.skip?.map((p) => withPrefix(prefix, p));
  const reader = options.servers
    ? new StreamReader({
        servers: options.servers,
        stream: options.stream,
        ...(filter ? { filter } : {}),
        ...(skip ? { skip } : {}),
      })
    : undefined;
  if (reader) options.onReader?.(reader);
  try {
    const js = natsJetStream().jetstream(options.nc);
    const jsm = await natsJetStream().jetstreamManager(options.nc);
    await sourcesCaughtUp(jsm, options.stream);
    // a thread an earlier read left is connected and its code compiled: it reads it all, from
    // now on (once the sources have caught up: it reads to the end of what is there)
    if (reader?.ready) {
      reader.start(1);
      options.onHandover?.(1);
    }
    const runs: RunStarted[] = [];
    for await (const batch of readAll(js, jsm, options.stream, options.registry, {
      filter: withPrefix(prefix, subjectTable.runStarted()),
    }))
      for (const m of batch) runs.push(m.env.payload as RunStarted);
    const main = runs.find((r) => r.agents.includes('strategy')) ?? runs[0];
    yield [
      {
        sextantRecording: RECORDING_VERSION,
        runId: main?.runId ?? 'unknown',
        createdAt: new Date().toISOString(),
        source: `jetstream:${options.stream}`,
        ...(main ? { settings: main.settings, instance: main.instance } : {}),
        runs: runs.map((r) => ({ runId: r.runId, agents: r.agents, instance: r.instance, resumed: r.resumed })),
      },
    ];
    const lines = (batch: RecordingBatch<StreamMessage>): RecordingBatch<RecordedLine> | undefined => {
      const out: RecordedLine[] = [];
      const skipped = batch.skipped ?? 0;
      for (const m of batch) {
        const { subject } = m;
        if (options.subjects && !options.subjects.some((p) => matchesPattern(p, subject))) continue;
        if (options.from !== undefined && m.env.time < options.from) continue;
        if (options.to !== undefined && m.env.time > options.to) continue;
        if (options.correlationId !== undefined && m.env.correlationId !== options.correlationId) continue;
        out.push(m); // the same shape: no copy
      }
      return out.length > 0 || skipped > 0 ? (skipped > 0 ? Object.assign(out, { skipped }) : out) : undefined;
    };
    async function* linesOf(
      batches: AsyncIterable<RecordingBatch<StreamMessage>>,
    ): AsyncGenerator<RecordingBatch<RecordedLine>> {
      for await (const batch of batches) {
        const out = lines(batch);
        if (out) yield out;
      }
    }
    if (!reader) {
      yield* linesOf(
        readAll(js, jsm, options.stream, options.registry, {
          filter,
          prefix,
          onBad: options.onBad,
          checkPayload: options.checkPayload,
        }),
      );
      return;
    }
    // the worker takes a moment to load its client and connect: until it has, read here (without
    // a filter: a filtered read cannot say where the worker should go on, so it does it all).
    // Once it has, it is told to start HANDOVER_LEAD messages further on, and the reading here
    // goes on up to there: the worker sets up its consumer meanwhile, and has its first messages
    // ready by the time they are wanted
    let handover = 1;
    const here: ReadHere = {
      stopBefore: (seq) => {
        if (!reader.started && reader.ready) {
          reader.start((handover = seq + (options.handoverLead ?? HANDOVER_LEAD)));
          options.onHandover?.(handover);
        }
        return reader.started && seq >= handover;
      },
      done: false,
    };
    if (!filter && !reader.started)
      yield* linesOf(
        readAll(js, jsm, options.stream, options.registry, {
          prefix,
          onBad: options.onBad,
          checkPayload: options.checkPayload,
          here,
          ...(skip ? { skip: new RegExp(patternsRegExp(skip)) } : {}),
        }),
      );
    if (!here.done)
      yield* linesOf(readAllInWorker(reader, handover, options.registry, prefix, options.onBad, options.checkPayload));
  } finally {
    await reader?.close();
  }
}

/** The same, one item at a time (exports). */
export async function* readStreamRecording(options: StreamReadOptions): AsyncGenerator<RecordingHeader | RecordedLine> {
  for await (const batch of readStreamRecordingBatches(options)) yield* batch;
}
