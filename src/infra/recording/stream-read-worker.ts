import { Worker } from 'node:worker_threads';
// the worker's own code: stream-read-thread.ts, bundled by npm run build (scripts/build-assets.ts)
import { streamReadThread } from './stream-read-thread.generated.js';

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
 * What a reader thread posts: `ready` once connected, then per read its batches and its end (or error); a read's own
 * reader is its only listener.
 */
type FromThread = 'ready' | RawBatch | 'end' | { readonly error: string };

/** What a read's batches are queued as, until taken. */
type Queued = RawBatch | 'end' | { readonly error: string };

/**
 * A worker thread running stream-read-thread.ts, connected to one set of servers. It serves one reader at a
 * time (`owner`); between reads it is kept in `idleThreads`, connected and with its code
 * compiled, so the next read in this process starts warm.
 */
class ReaderThread {
  readonly worker: Worker;
  ready = false;
  /** Resolves once the thread is ready, or gone (then `alive` is false). */
  readonly whenReady: Promise<void>;
  #readied!: () => void;
  alive = true;
  /** The reader it serves now. */
  owner: ((m: Queued) => void) | undefined;
  idleTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly key: string,
    servers: string | string[],
  ) {
    this.whenReady = new Promise((resolve) => (this.#readied = resolve));
    this.worker = new Worker(streamReadThread, {
      eval: true,
      // plain JavaScript importing installed packages: none of the parent's flags or loaders
      // (under tsx the worker would load the NATS client through its hooks: 150 ms instead of 40)
      execArgv: [],
      workerData: {
        servers,
        transport: import.meta.resolve('@nats-io/transport-node'),
        jetstream: import.meta.resolve('@nats-io/jetstream'),
      },
    });
    this.worker.unref();
    this.worker.on('message', (m: FromThread) => {
      if (m === 'ready') {
        this.ready = true;
        this.#readied();
      } else this.owner?.(m);
    });
    this.worker.on('error', (err) => this.owner?.({ error: err.message }));
    this.worker.on('exit', (code) => {
      this.alive = false;
      this.#readied();
      if (idleThreads.get(this.key) === this) idleThreads.delete(this.key);
      clearTimeout(this.idleTimer);
      this.owner?.({ error: `the stream reader exited with ${code}` });
    });
  }
}

/**
 * Reader threads between reads, one per set of servers. A thread starts cold: loading the NATS
 * client, connecting, and compiling its code as it reads (on V8's shared threads) came to about a
 * third of the CPU its reading of a 50,000-bar replay took, CPU the replay lacks on a two-core
 * machine; a process that reads again (a second replay, the bench's rounds) takes the idle one.
 * It does not keep the process alive, and leaves after IDLE_MS unused or when its connection drops.
 */
const idleThreads = new Map<string, ReaderThread>();
const IDLE_MS = 60_000;
let readIds = 0;

/**
 * A stream reader in a worker thread, started ahead of its reading: a new thread loads the NATS
 * client and connects (about 80 ms) while the caller does other things (reads the recording's
 * header, starts the replay's agents, reads the first messages itself until `ready`); one left
 * by an earlier read is ready at once. `batches(from)` then reads the stream's messages from
 * there on, in stream order, as raw batches (nothing decoded: the caller decodes and validates).
 * Until it is read the thread does not keep the process alive. `close()` (or the end of
 * `batches()`) gives a thread whose read ended back to the idle ones; one stopped mid-read is
 * stopped.
 */
export class StreamReader {
  #thread: ReaderThread;
  readonly #id = ++readIds;
  /** The thread had read before: its code is compiled. */
  readonly warm: boolean;
  /** The thread came from the idle ones and has handed over nothing yet. */
  #reused: boolean;
  readonly #queue: Queued[] = [];
  #wake: (() => void) | undefined;
  #from: number | undefined;
  #ended = false;
  #closed = false;

  constructor(private readonly options: StreamReaderOptions) {
    const key = JSON.stringify(options.servers);
    const idle = idleThreads.get(key);
    if (idle?.alive) {
      idleThreads.delete(key);
      clearTimeout(idle.idleTimer);
    }
    this.warm = this.#reused = idle?.alive === true;
    this.#thread = this.#attach(this.warm ? idle! : new ReaderThread(key, options.servers));
  }

  #attach(thread: ReaderThread): ReaderThread {
    thread.owner = (m) => {
      // a thread taken from the idle ones may leave before it has read anything (its connection
      // dropped meanwhile): a new thread takes its place and is told where to start
      if (m !== 'end' && 'error' in m && this.#reused && !this.#closed) {
        this.#reused = false;
        const gone = this.#thread;
        gone.owner = undefined;
        void gone.worker.terminate();
        this.#thread = this.#attach(new ReaderThread(gone.key, this.options.servers));
        if (this.#from !== undefined) this.#go(this.#from);
        return;
      }
      this.#reused = false;
      this.#queue.push(m);
      this.#wake?.();
      this.#wake = undefined;
    };
    return thread;
  }

  /** The worker has loaded the client and connected: reading can be handed to it. */
  get ready(): boolean {
    return this.#thread.ready;
  }

  /** Resolves once `ready` (or once the thread is gone). */
  whenReady(): Promise<void> {
    return this.#thread.whenReady;
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
    if (this.#closed) throw new Error('the stream reader is closed');
    this.#from = from;
    this.#go(from);
  }

  #go(from: number): void {
    const { options } = this;
    this.#thread.worker.ref();
    this.#thread.worker.postMessage({
      go: {
        id: this.#id,
        from,
        stream: options.stream,
        filter: options.filter,
        skip: options.skip && options.skip.length > 0 ? patternsRegExp(options.skip) : undefined,
        batch: options.batch ?? 2000,
        window: options.window ?? 32,
      },
    });
  }

  /** The stream's messages from sequence `from` on (see `start`). */
  async *batches(from = 1): AsyncGenerator<RawBatch> {
    this.start(from);
    try {
      for (;;) {
        if (this.#queue.length === 0) await new Promise<void>((resolve) => (this.#wake = resolve));
        const m = this.#queue.shift()!;
        if (m === 'end') {
          this.#ended = true;
          return;
        }
        if ('error' in m) throw new Error(`reading stream ${this.options.stream}: ${m.error}`);
        this.#thread.worker.postMessage({ more: this.#id });
        yield m;
      }
    } finally {
      await this.close();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const thread = this.#thread;
    thread.owner = undefined;
    // a thread whose read ended (or never began) waits for the next; one stopped mid-read is stopped
    if (thread.alive && (this.#ended || this.#from === undefined) && !idleThreads.has(thread.key)) {
      thread.worker.unref();
      idleThreads.set(thread.key, thread);
      thread.idleTimer = setTimeout(() => void thread.worker.terminate(), IDLE_MS);
      thread.idleTimer.unref();
      return;
    }
    await thread.worker.terminate();
  }
}

/** Reads every message of a stream in a worker thread (see {@link StreamReader}), started now. */
export function readStreamInWorker(options: StreamReaderOptions): AsyncGenerator<RawBatch> {
  return new StreamReader(options).batches();
}
