import type {
  ConsumerConfig,
  ConsumerMessages,
  JetStreamClient,
  JetStreamManager,
  JsMsg,
  StreamConfig,
} from '@nats-io/jetstream';
import type { MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../src/core/index.js';
import { natsJetStream } from './nats-client.js';

/** Where the durable part of the bus lives: one stream per namespace, holding the order path. */
export interface DurablePathOptions {
  /** Stream name (letters, digits, - and _). */
  readonly stream: string;
  /** Subjects (already prefixed) the stream captures, e.g. `order.>`. */
  readonly subjects: readonly string[];
  /** Memory storage for throwaway namespaces (backtests, tests); file otherwise. */
  readonly storage: 'file' | 'memory';
  /** How long a message id is remembered for deduplication. */
  readonly duplicateWindowMs: number;
  /** How long the stream keeps messages. */
  readonly maxAgeMs: number;
  /**
   * A JetStream recording: a second stream, `<stream>_RECORDING`, capturing these subjects and
   * sourcing the order stream, with its own limits. It never acknowledges what it captures
   * (`no_ack`), so requests on recorded subjects still get their real replies.
   */
  readonly recording?: { readonly subjects: readonly string[]; readonly maxAgeMs: number; readonly maxBytes: number };
  /** How long a delivered message may stay unacknowledged before it is delivered again. */
  readonly ackWaitMs: number;
  readonly logger: Logger;
}

const NS_PER_MS = 1_000_000;

/** The recording stream of an order stream. */
export const recordingStreamOf = (stream: string) => `${stream}_RECORDING`;

/**
 * Creates the stream, or brings an existing one to this configuration when it differs. A role's NATS
 * user may create the namespace's streams but never change them (bus/nats-permissions.ts: a stream's
 * configuration could redirect subjects); a stream that differs and cannot be changed is used as it is,
 * with a warning saying what differs.
 */
async function upsertStream(
  jsm: JetStreamManager,
  config: Partial<StreamConfig> & { name: string },
  logger: Logger,
): Promise<void> {
  let existing: StreamConfig;
  try {
    existing = (await jsm.streams.info(config.name)).config;
  } catch {
    await jsm.streams.add(config);
    return;
  }
  const differs = differences(existing, config);
  if (differs.length === 0) return;
  try {
    await jsm.streams.update(config.name, config);
  } catch (err) {
    logger.warn(
      { stream: config.name, differs, err: (err as Error).message },
      `stream ${config.name} differs from this process's settings (${differs.join(', ')}) and this NATS user may not change it; it is used as it is (an operator changes it with the admin user)`,
    );
  }
}

/** The settings of `wanted` an existing stream does not have (subjects and sources in any order). */
function differences(existing: StreamConfig, wanted: Partial<StreamConfig>): string[] {
  const norm = (k: string, v: unknown): unknown => {
    if (k === 'subjects') return [...((v as string[] | undefined) ?? [])].sort().join(',');
    if (k === 'sources')
      return ((v as { name: string }[] | undefined) ?? [])
        .map((x) => x.name)
        .sort()
        .join(',');
    return v ?? null;
  };
  return Object.entries(wanted)
    .filter(([k, v]) => norm(k, v) !== norm(k, (existing as unknown as Record<string, unknown>)[k]))
    .map(([k]) => k);
}
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One message from a durable consumer, with the means to acknowledge it. */
export interface DurableDelivery {
  readonly msg: JsMsg;
}

/**
 * The order path over JetStream (https://docs.nats.io/nats-concepts/jetstream): publishes are
 * stored before they count (a PubAck, retried until it comes), deduplicated by the
 * `Nats-Msg-Id` header (the envelope id), and read through durable consumers with explicit
 * acknowledgement, so a message is delivered again until its handler's work is safe. Core NATS
 * subscribers on the same subjects still see every message once, as before.
 */
export class DurablePath {
  readonly #js: JetStreamClient;
  #jsm: JetStreamManager | undefined;
  #ready: Promise<void> | undefined;
  readonly #pending = new Set<Promise<unknown>>();
  readonly #consumers = new Map<string, ConsumerMessages>();
  #closed = false;
  /** Publishes stored (or found duplicate) by the stream. */
  stored = 0;
  duplicates = 0;
  publishRetries = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly options: DurablePathOptions,
  ) {
    this.#js = natsJetStream().jetstream(nc);
  }

  /** Creates or updates the stream (idempotent); every other call waits for it. */
  ready(): Promise<void> {
    // a failed attempt (the server away, no permission yet) is not kept: the next call tries again
    this.#ready ??= (async () => {
      const { jetstreamManager, StorageType, RetentionPolicy, DiscardPolicy } = natsJetStream();
      const jsm = (this.#jsm = await jetstreamManager(this.nc));
      const config = {
        name: this.options.stream,
        subjects: [...this.options.subjects],
        storage: this.options.storage === 'memory' ? StorageType.Memory : StorageType.File,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        duplicate_window: this.options.duplicateWindowMs * NS_PER_MS,
        max_age: this.options.maxAgeMs * NS_PER_MS,
      };
      await upsertStream(jsm, config, this.options.logger);
      const rec = this.options.recording;
      if (rec) {
        await upsertStream(
          jsm,
          {
            name: recordingStreamOf(this.options.stream),
            subjects: rec.subjects.filter((x) => !this.options.subjects.includes(x)),
            sources: [{ name: this.options.stream }],
            no_ack: true,
            storage: StorageType.File,
            retention: RetentionPolicy.Limits,
            discard: DiscardPolicy.Old,
            max_age: rec.maxAgeMs * NS_PER_MS,
            max_bytes: rec.maxBytes,
          },
          this.options.logger,
        );
      }
    })().catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }

  /** True when this path keeps a recording stream (every Sextant subject). */
  get recording(): boolean {
    return this.options.recording !== undefined;
  }

  /**
   * Reads the recording stream from `sinceMs` (server time) up to the message that was last when
   * the read began, one ordered consumer per filter (each filter a subject the reader may read, so
   * NATS permissions stay per subject), merged into stream order; a message matching two filters
   * comes once. What a restarted agent replays (src/app/kernel/replay.ts).
   */
  async readRecording(filters: readonly string[], sinceMs: number): Promise<JsMsg[]> {
    await this.ready();
    const stream = recordingStreamOf(this.options.stream);
    const last = (await this.#jsm!.streams.info(stream)).state.last_seq;
    const reads = await Promise.all(filters.map((f) => this.#readUpTo(stream, f, sinceMs, last)));
    const bySeq = new Map<number, JsMsg>();
    for (const read of reads) for (const m of read) bySeq.set(m.seq, m);
    return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  }

  async #readUpTo(stream: string, filter: string, sinceMs: number, last: number): Promise<JsMsg[]> {
    const out: JsMsg[] = [];
    if (last === 0) return out;
    const consumer = await this.#js.consumers.get(stream, {
      filter_subjects: filter,
      deliver_policy: natsJetStream().DeliverPolicy.StartTime,
      opt_start_time: new Date(Math.max(0, sinceMs)).toISOString(),
    });
    for (;;) {
      let got = 0;
      const batch = await consumer.fetch({ max_messages: 1000, expires: 1000 });
      for await (const m of batch) {
        got++;
        if (m.seq > last) return out;
        out.push(m);
        if (m.info.pending === 0 || m.seq === last) return out;
      }
      if (got === 0) return out;
    }
  }

  /**
   * Consumes the whole recording stream through a durable consumer (created if missing: from the
   * stream's first message, explicit acknowledgement), in stream order: the event log's source. An
   * unacknowledged message comes again after `ackWaitMs` and after a restart.
   */
  async consumeRecording(durable: string, deliver: (msg: JsMsg) => void): Promise<ConsumerMessages> {
    await this.ready();
    const stream = recordingStreamOf(this.options.stream);
    return this.#durableConsumer(stream, durable, `${stream}:${durable}`, 1000, deliver, {
      deliver_policy: natsJetStream().DeliverPolicy.All,
      // the recorder acknowledges a batch once the store has it: room for a few batches in flight
      max_ack_pending: 20_000,
    });
  }

  /**
   * Publishes to the stream and retries until the server has stored it (a restarting server is
   * waited for). Tracked, so `settled()` can wait for every publish made so far.
   */
  publish(subject: string, data: Uint8Array, headers: MsgHdrs): void {
    this.published++;
    const p = this.#publishUntilStored(subject, data, headers);
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  async #publishUntilStored(subject: string, data: Uint8Array, headers: MsgHdrs): Promise<void> {
    await this.ready();
    for (let attempt = 0; ; attempt++) {
      try {
        const ack = await this.#js.publish(subject, data, { headers, timeout: 2000 });
        if (ack.duplicate) this.duplicates++;
        else this.stored++;
        return;
      } catch (err) {
        if (this.#closed || this.nc.isClosed()) {
          this.options.logger.error(
            { err, subject },
            'durable publish abandoned: the bus closed before the server stored it',
          );
          return;
        }
        this.publishRetries++;
        const wait = Math.min(100 * 2 ** Math.min(attempt, 6), 5000);
        if (attempt % 5 === 0)
          this.options.logger.warn(
            { err: (err as Error).message, subject, attempt, retryInMs: wait },
            'durable publish not stored yet; retrying',
          );
        await sleep(wait);
      }
    }
  }

  /** Resolves once every publish made so far has been stored. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  /**
   * Consumes a durable consumer (created if missing: new messages only, explicit ack, filtered to
   * `filter`), handing each message to `deliver` in stream order. Instances that use the same
   * durable name share its messages.
   */
  async consume(
    durable: string,
    filter: string,
    deliver: (msg: JsMsg) => void,
    inactiveMs?: number,
  ): Promise<ConsumerMessages> {
    await this.ready();
    return this.#durableConsumer(this.options.stream, durable, durable, 512, deliver, {
      filter_subject: filter,
      deliver_policy: natsJetStream().DeliverPolicy.New,
      // below the ids a machine remembers (RecentIds keeps >= 4,096): however long checkpoints stall,
      // a redelivered message is always recognised; past this many unacknowledged, delivery pauses
      max_ack_pending: 2_000,
      ...(inactiveMs !== undefined ? { inactive_threshold: inactiveMs * NS_PER_MS } : {}),
    });
  }

  /**
   * Consumes durable consumer `durable` of `stream` (created if missing with `config`, explicit
   * ack, redelivered without limit), kept under `key` to stop it later.
   */
  async #durableConsumer(
    stream: string,
    durable: string,
    key: string,
    maxMessages: number,
    deliver: (msg: JsMsg) => void,
    config: Omit<Partial<ConsumerConfig>, 'durable_name' | 'ack_policy' | 'ack_wait' | 'max_deliver'>,
  ): Promise<ConsumerMessages> {
    const jsm = this.#jsm!;
    try {
      await jsm.consumers.info(stream, durable);
    } catch {
      await jsm.consumers.add(stream, {
        ...config,
        durable_name: durable,
        ack_policy: natsJetStream().AckPolicy.Explicit,
        ack_wait: this.options.ackWaitMs * NS_PER_MS,
        max_deliver: -1,
      });
    }
    const consumer = await this.#js.consumers.get(stream, durable);
    const messages = await consumer.consume({ max_messages: maxMessages, callback: deliver });
    this.#consumers.set(key, messages);
    return messages;
  }

  /**
   * Reads the stream from `sinceMs` (server time) on, filtered to `filter`, through an ordered
   * consumer (nothing to acknowledge, nothing left behind): what a restarted agent reads back.
   */
  async readSince(filter: string, sinceMs: number): Promise<JsMsg[]> {
    await this.ready();
    const consumer = await this.#js.consumers.get(this.options.stream, {
      filter_subjects: filter,
      deliver_policy: natsJetStream().DeliverPolicy.StartTime,
      opt_start_time: new Date(Math.max(0, sinceMs)).toISOString(),
    });
    const out: JsMsg[] = [];
    for (;;) {
      let pending = 0;
      const batch = await consumer.fetch({ max_messages: 1000, expires: 1000 });
      for await (const m of batch) {
        out.push(m);
        pending = m.info.pending;
        if (pending === 0) break;
      }
      if (pending === 0) return out;
    }
  }

  /** Messages stored but not yet delivered, summed over the named consumers (one API call for all). */
  async undelivered(durables: ReadonlySet<string>): Promise<number> {
    let n = 0;
    for await (const c of this.#jsm!.consumers.list(this.options.stream)) if (durables.has(c.name)) n += c.num_pending;
    return n;
  }

  /** Count of publishes made so far (stored or not yet): flush() checks consumers only when it moved. */
  published = 0;

  get durables(): string[] {
    return [...this.#consumers.keys()];
  }

  async stop(consumer: string): Promise<void> {
    const m = this.#consumers.get(consumer);
    this.#consumers.delete(consumer);
    await m?.close();
  }

  /** Stops consuming; with `deleteStream` (throwaway namespaces) removes the stream too. */
  async close(deleteStream: boolean): Promise<void> {
    // publishes still waiting for a server that is away are given a moment, then abandoned (logged)
    await Promise.race([this.settled().catch(() => undefined), sleep(5000)]);
    this.#closed = true;
    await Promise.all([...this.#consumers.values()].map((m) => m.close().catch(() => undefined)));
    this.#consumers.clear();
    if (deleteStream && this.#jsm && !this.nc.isClosed()) {
      if (this.options.recording)
        await this.#jsm.streams.delete(recordingStreamOf(this.options.stream)).catch(() => undefined);
      await this.#jsm.streams.delete(this.options.stream).catch(() => undefined);
    }
  }
}
