import { Worker } from 'node:worker_threads';

/** Raw messages of a stream as a worker hands them over: one buffer of bodies per batch. */
export interface RawBatch {
  readonly seqs: Float64Array;
  /** The subjects, joined by newlines (one string clones faster than a thousand). */
  readonly subjects: string;
  /** The bodies as one JSON array `[b0,b1,...]`: one parse for the batch instead of one per message. */
  readonly bodies: Uint8Array;
  /** Where each body starts in `bodies`; the last entry is where the last one ends. */
  readonly offsets: Uint32Array;
  /** Messages on skipped subjects read in this batch (counted, not handed over). */
  readonly skipped: number;
  /**
   * What the skipped messages were: each type and version the first time it appears (the
   * caller checks that it knows them), and those that are not JSON or not an envelope.
   */
  readonly kinds: readonly { readonly seq: number; readonly type: unknown; readonly v: unknown }[];
  readonly bad: readonly { readonly seq: number; readonly reason: string }[];
}

/**
 * The worker's code (plain JavaScript, evaluated; no file of its own, so it runs the same from
 * the sources and from the bundle). It reads a stream with an ordered consumer and posts its
 * messages in batches, keeping at most `window` batches unanswered: the NATS client's work
 * (protocol parsing, the consumer's bookkeeping) happens beside the replay, not in its thread.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
// the NATS packages are CommonJS: require loads them in two thirds of import's time (no ESM
// translation), and the sooner this thread is connected, the less the caller reads itself
const load = (url) => {
  try {
    return require(require('node:url').fileURLToPath(url));
  } catch (err) {
    if (err && err.code === 'ERR_REQUIRE_ESM') return import(url);
    throw err;
  }
};
(async () => {
  const { connect } = await load(workerData.transport);
  const { jetstream, jetstreamManager, DeliverPolicy } = await load(workerData.jetstream);
  let credit = workerData.window;
  let wake;
  let go;
  const started = new Promise((r) => (go = r));
  parentPort.on('message', (m) => {
    if (m === 'more') { credit++; if (wake) { const w = wake; wake = undefined; w(); } }
    else if (m && m.go) go(m.go);
  });
  const nc = await connect({ servers: workerData.servers, name: 'sextant-replay-reader' });
  parentPort.postMessage('ready');
  try {
    const from = await started;
    const jsm = await jetstreamManager(nc);
    const filter = workerData.filter;
    const info = await jsm.streams.info(workerData.stream, filter ? { subjects_filter: filter } : undefined);
    // a filtered read starts at the beginning (the caller hands over a start only without one)
    const anything = filter ? Object.values(info.state.subjects || {}).some((n) => n > 0) : info.state.messages > 0 && info.state.last_seq >= from;
    if (anything) {
      const start = from > 1 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from } : { deliver_policy: DeliverPolicy.All };
      const consumer = await jetstream(nc).consumers.get(workerData.stream, { ...start, ...(filter ? { filter_subjects: filter } : {}) });
      const messages = await consumer.consume({ max_messages: 5000 });
      const skip = workerData.skip ? new RegExp(workerData.skip) : undefined;
      const dec = new TextDecoder();
      const seen = new Set();
      let seqs = [], subjects = [], bodies = [], size = 0, skipped = 0, kinds = [], bad = [];
      let limit = Math.min(250, workerData.batch);
      const flush = async () => {
        if (seqs.length === 0 && skipped === 0) return;
        while (credit <= 0) await new Promise((r) => (wake = r));
        credit--;
        const buf = new Uint8Array(size + Math.max(bodies.length - 1, 0) + 2);
        const offsets = new Uint32Array(bodies.length + 1);
        buf[0] = 0x5b;
        let at = 1;
        bodies.forEach((b, i) => { if (i > 0) buf[at++] = 0x2c; offsets[i] = at; buf.set(b, at); at += b.length; });
        offsets[bodies.length] = at;
        buf[at] = 0x5d;
        parentPort.postMessage({ seqs: Float64Array.from(seqs), subjects: subjects.join('\\n'), offsets, bodies: buf, skipped, kinds, bad }, [buf.buffer, offsets.buffer]);
        seqs = []; subjects = []; bodies = []; size = 0; skipped = 0; kinds = []; bad = [];
      };
      for await (const m of messages) {
        const info = m.info;
        if (skip && skip.test(m.subject)) {
          // not handed over, but still read: a body that is not an envelope, or of a type and
          // version the caller does not know, is reported like any other
          skipped++;
          let env;
          try { env = JSON.parse(dec.decode(m.data)); } catch { bad.push({ seq: info.streamSequence, reason: 'invalid_json: the body is not JSON' }); }
          if (env !== undefined) {
            if (typeof env !== 'object' || env === null) bad.push({ seq: info.streamSequence, reason: 'invalid_envelope: the body is not an object' });
            else { const kind = env.type + '@' + env.v; if (!seen.has(kind)) { seen.add(kind); kinds.push({ seq: info.streamSequence, type: env.type, v: env.v }); } }
          }
        } else {
          seqs.push(info.streamSequence); subjects.push(m.subject); bodies.push(m.data); size += m.data.length;
        }
        const last = info.pending === 0;
        if (seqs.length + skipped >= limit || last) {
          await flush();
          limit = Math.min(limit * 2, workerData.batch); // small first batches: the reader starts sooner
        }
        if (last) break;
      }
      await messages.close();
    }
    parentPort.postMessage('end');
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err) });
  } finally {
    await nc.close();
  }
})();
`;

export interface StreamReaderOptions {
  readonly servers: string | string[];
  readonly stream: string;
  /** A subject filter for the consumer. */
  readonly filter?: string;
  /**
   * Subject patterns whose messages are only counted and checked (JSON, type and version known),
   * not handed over: what the caller never uses (a replay: portfolio marks, health).
   */
  readonly skip?: readonly string[];
  readonly batch?: number;
  readonly window?: number;
}

/** One regular expression for NATS subject patterns (`*` one token, `>` the rest). */
export function patternsRegExp(patterns: readonly string[]): string {
  const one = (p: string) =>
    p
      .split('.')
      .map((t) => (t === '*' ? '[^.]+' : t === '>' ? '.+' : t.replace(/[\\^$|?+()[\]{}-]/g, '\\$&')))
      .join('\\.');
  return `^(?:${patterns.map(one).join('|')})$`;
}

/**
 * A stream reader in a worker thread, started ahead of its reading: the thread loads the NATS
 * client and connects (about 80 ms) while the caller does other things (reads the recording's
 * header, starts the replay's agents, reads the first messages itself until `ready`);
 * `batches(from)` then reads the stream's messages from there on, in stream order, as raw
 * batches (nothing decoded: the caller decodes and validates). Until it is read the thread does
 * not keep the process alive; `close()` (or the end of `batches()`) stops it.
 */
export class StreamReader {
  readonly #worker: Worker;
  readonly #queue: (RawBatch | 'end' | { error: string })[] = [];
  #wake: (() => void) | undefined;
  /** Connected and waiting to be told where to start. */
  #ready = false;
  #from: number | undefined;

  constructor(private readonly options: StreamReaderOptions) {
    this.#worker = new Worker(WORKER, {
      eval: true,
      // plain JavaScript importing installed packages: none of the parent's flags or loaders
      // (under tsx the worker would load the NATS client through its hooks: 150 ms instead of 40)
      execArgv: [],
      workerData: {
        servers: options.servers,
        stream: options.stream,
        filter: options.filter,
        skip: options.skip && options.skip.length > 0 ? patternsRegExp(options.skip) : undefined,
        batch: options.batch ?? 2000,
        window: options.window ?? 32,
        transport: import.meta.resolve('@nats-io/transport-node'),
        jetstream: import.meta.resolve('@nats-io/jetstream'),
      },
    });
    this.#worker.unref();
    const push = (m: RawBatch | 'end' | { error: string }) => {
      this.#queue.push(m);
      this.#wake?.();
      this.#wake = undefined;
    };
    this.#worker.on('message', (m: RawBatch | 'end' | 'ready' | { error: string }) => (m === 'ready' ? (this.#ready = true) : push(m)));
    this.#worker.on('error', (err) => push({ error: err.message }));
    this.#worker.on('exit', (code) => push(code === 0 ? 'end' : { error: `the stream reader exited with ${code}` }));
  }

  /** The worker has loaded the client and connected: reading can be handed to it. */
  get ready(): boolean {
    return this.#ready;
  }

  /** Told where to start (`start`, or `batches`). */
  get started(): boolean {
    return this.#from !== undefined;
  }

  /**
   * Tells the worker to start reading at sequence `from` (without a filter; with one, from the
   * start): it sets up its consumer and reads ahead (up to its window) until `batches()` takes them.
   */
  start(from = 1): void {
    if (this.#from !== undefined) {
      if (from !== this.#from) throw new Error(`the stream reader was started at ${this.#from}, not ${from}`);
      return;
    }
    this.#from = from;
    this.#worker.ref();
    this.#worker.postMessage({ go: from });
  }

  /** The stream's messages from sequence `from` on (see `start`). */
  async *batches(from = 1): AsyncGenerator<RawBatch> {
    this.start(from);
    try {
      for (;;) {
        if (this.#queue.length === 0) await new Promise<void>((resolve) => (this.#wake = resolve));
        const m = this.#queue.shift()!;
        if (m === 'end') return;
        if ('error' in m) throw new Error(`reading stream ${this.options.stream}: ${m.error}`);
        this.#worker.postMessage('more');
        yield m;
      }
    } finally {
      await this.close();
    }
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}

/** Reads every message of a stream in a worker thread (see {@link StreamReader}), started now. */
export function readStreamInWorker(options: StreamReaderOptions): AsyncGenerator<RawBatch> {
  return new StreamReader(options).batches();
}
