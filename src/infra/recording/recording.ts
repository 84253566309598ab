import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createGunzip, createGzip } from 'node:zlib';
import {
  type Bus,
  type Handler,
  type Subscription,
  type Envelope,
  type SchemaRegistry,
  RECORDED_SUBJECTS,
  type SubjectPattern,
} from '../../core/index.js';
import { AppendLog } from '../files/index.js';

/**
 * The recording format: NDJSON, one line per bus message in the order they were recorded,
 * preceded by one header line that says what made the recording (run id, settings), so a replay
 * can rebuild the same agents and re-derive the same message ids.
 *
 * ```
 * {"sextantRecording":1,"runId":"...","createdAt":"...","source":"tap","settings":{...}}
 * {"seq":1,"subject":"market.bar.ORCL","env":{...}}
 * ```
 * `seq` is the stream sequence for a JetStream export and the line's order for the in-memory
 * tap. Files ending in `.gz` are gzip-compressed.
 */
export const RECORDING_VERSION = 1;

export interface RecordingHeader {
  readonly sextantRecording: typeof RECORDING_VERSION;
  /** The run whose ids the recording holds (a replay derives ids from it too). */
  readonly runId: string;
  readonly createdAt: string;
  /** `tap` (in-process bus tap) or `jetstream:<stream>`. */
  readonly source: string;
  /** The trading settings of the run (strategy, limits, costs, start cash), JSON. */
  readonly settings?: unknown;
  /** The instance name of the recorded agents. */
  readonly instance?: string;
  /**
   * Every process whose messages are in the recording (JetStream recordings of distributed
   * runs): each agent's ids derive from its own process's run id.
   */
  readonly runs?: readonly {
    readonly runId: string;
    readonly agents: readonly string[];
    readonly instance: string;
    readonly resumed: boolean;
  }[];
}

export interface RecordedLine {
  readonly seq: number;
  readonly subject: string;
  readonly env: Envelope;
}

/** A recording line is not what it must be: `<file>:<line>: <problem>`. */
export class RecordingFormatError extends Error {
  readonly code = 'recording_format';
  readonly retryable = false;
  constructor(
    readonly file: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(`${file}:${line}: ${problem}`);
    this.name = 'RecordingFormatError';
  }
}

export interface ReadRecordingOptions {
  /** Validates each envelope against its registered schema (type and version). */
  readonly registry: SchemaRegistry;
  /** Skip (and count) bad lines instead of stopping at the first. */
  readonly lenient?: boolean;
  readonly onSkip?: (err: RecordingFormatError) => void;
  /** Types whose payloads are checked against their schema; others only as envelopes (default: all). */
  readonly checkPayload?: (type: string) => boolean;
}

/** One recording, read in batches of items (a batch per chunk read: no promise per line). */
export type RecordingItem = RecordingHeader | RecordedLine;

/**
 * A batch as a reader yields it. `skipped` counts messages that were read but not handed over
 * (a stream reader told to skip subjects its caller never uses).
 */
export type RecordingBatch<T = RecordingItem> = readonly T[] & { readonly skipped?: number };

/**
 * Messages parsed and handed on at a time by the recording readers (file and stream): a batch
 * small enough to be used before a minor GC, so its messages die young.
 */
export const RECORDING_BATCH = 256;

/**
 * Reads a recording (gzip when the name ends in `.gz`) in batches: the header first, then the
 * messages. A truncated or corrupt line, or a message whose type or version is unknown, stops the
 * read with file and line (or is skipped and counted when lenient).
 */
export async function* readRecordingBatches(
  file: string,
  options: ReadRecordingOptions,
): AsyncGenerator<RecordingItem[]> {
  const input = createReadStream(file, { highWaterMark: 1 << 20 });
  const gunzip = file.endsWith('.gz') ? createGunzip() : undefined;
  // a file that cannot be read (missing, a directory, no permission) fails the read, not the process
  if (gunzip) input.on('error', (err) => gunzip.destroy(err));
  const source = gunzip ? input.pipe(gunzip) : input;
  let n = 0;
  let carry = '';
  const bad = (problem: string) => {
    const err = new RecordingFormatError(file, n, problem);
    if (!options.lenient || n === 1) throw err;
    options.onSkip?.(err);
  };
  const parse = (text: string, out: RecordingItem[]) => {
    n++;
    if (text.length === 0) return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      bad(`not valid JSON (a truncated or corrupt line): ${text.slice(0, 80)}`);
      return;
    }
    if (n === 1) {
      const h = value as Partial<RecordingHeader>;
      if (h.sextantRecording !== RECORDING_VERSION || typeof h.runId !== 'string')
        bad(`not a Sextant recording header (expected {"sextantRecording":${RECORDING_VERSION},"runId":...})`);
      out.push(h as RecordingHeader);
      return;
    }
    const line = value as Partial<RecordedLine>;
    if (typeof line.seq !== 'number' || typeof line.subject !== 'string' || !line.env || typeof line.env !== 'object') {
      bad('not a recorded message (expected {"seq":n,"subject":"...","env":{...}})');
      return;
    }
    const type = (line.env as { type?: unknown }).type;
    const checked =
      !options.checkPayload || typeof type !== 'string' || options.checkPayload(type)
        ? options.registry.validate(line.env)
        : options.registry.validateEnvelope(line.env);
    if (!checked.ok) {
      bad(
        `message ${String((line.env as { id?: unknown }).id)} (${String((line.env as { type?: unknown }).type)}): ${checked.reason}`,
      );
      return;
    }
    out.push({ seq: line.seq, subject: line.subject, env: checked.envelope });
  };
  const chunks = source[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<unknown>;
    try {
      next = await chunks.next();
    } catch (err) {
      const sys = err as NodeJS.ErrnoException;
      if (sys.syscall !== undefined)
        throw new Error(`cannot read the recording ${file}: ${sys.code === 'ENOENT' ? 'no such file' : sys.message}`, {
          cause: err,
        });
      // a gzip recording cut off by a crash ends early: what came before it is good
      const problem = `the gzip stream ends early (${(err as Error).message}): a recording cut off by a crash`;
      if (!options.lenient) throw new RecordingFormatError(file, n + 1, `${problem}; --lenient replays what is there`);
      options.onSkip?.(new RecordingFormatError(file, n + 1, problem));
      carry = '';
      break;
    }
    if (next.done) break;
    const text = carry + (next.value as Buffer).toString('utf8');
    const end = text.lastIndexOf('\n');
    carry = end < 0 ? text : text.slice(end + 1);
    // a few hundred lines at a time, each cut from the chunk just before it is parsed: lines and
    // batches die young (all of a chunk's lines and messages made at once would live through a
    // minor GC, be copied and promoted, and die in the old generation)
    let out: RecordingItem[] = [];
    for (let at = 0; at <= end;) {
      const nl = text.indexOf('\n', at);
      parse(text.slice(at, nl), out);
      at = nl + 1;
      if (out.length >= RECORDING_BATCH) {
        yield out;
        out = [];
      }
    }
    if (out.length > 0) yield out;
  }
  if (carry.length > 0) {
    const out: RecordingItem[] = [];
    parse(carry, out); // a last line without its newline: a truncated write shows here
    if (out.length > 0) yield out;
  }
  if (n === 0) throw new RecordingFormatError(file, 0, 'the file is empty (no recording header)');
}

/** The same, one item at a time. */
export async function* readRecording(file: string, options: ReadRecordingOptions): AsyncGenerator<RecordingItem> {
  for await (const batch of readRecordingBatches(file, options)) yield* batch;
}

/**
 * Subscribes `handler` to every Sextant subject (not `>`: on a NATS server without a namespace
 * that would also catch JetStream's API traffic and request inboxes, which are not envelopes).
 */
export function tapSextantSubjects(bus: Bus, handler: Handler, name: string): Subscription[] {
  return RECORDED_SUBJECTS.map((p) => bus.subscribe(p as SubjectPattern, handler, { name }));
}

/** Where recording lines go: an append log, or a gzip stream for `.gz` files. */
export interface LineSink {
  write(lines: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** Opens a new recording file (refusing one that already holds something). */
export async function openSink(file: string): Promise<LineSink> {
  const size = await stat(file).then(
    (st) => st.size,
    () => 0,
  );
  if (size > 0) throw new Error(`${file} already holds a recording; record into a new file`);
  if (!file.endsWith('.gz')) {
    const { log } = await AppendLog.open({ file, fsync: 'interval' }, () => undefined);
    return { write: (lines) => log.append(lines), close: () => log.close() };
  }
  const gzip = createGzip();
  const out = createWriteStream(file);
  gzip.pipe(out);
  const done = new Promise<void>((resolve, reject) => {
    out.on('finish', resolve);
    out.on('error', reject);
    gzip.on('error', reject);
  });
  return {
    // each batch is flushed through zlib (a sync flush): a crash leaves a readable prefix
    write: (lines) =>
      lines.length === 0
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            gzip.write(lines.join('\n') + '\n', (err) => (err ? reject(err) : undefined));
            gzip.flush(() => resolve());
          }),
    close: async () => {
      gzip.end();
      await done;
    },
  };
}

/**
 * The in-memory bus tap: writes every message published on the bus to an NDJSON recording (the
 * same format a JetStream export writes), in publish order, a batch per write. Attached before
 * the agents, so nothing they publish is missed.
 */
export class RecordingTap {
  #seq = 0;
  #subs: Subscription[] = [];
  #pending: string[] = [];
  #scheduled = false;
  #writing: Promise<void> = Promise.resolve();

  /** Lines a failed write could not put in the file (said to `onError`, never hidden). */
  lost = 0;

  private constructor(
    private readonly sink: LineSink,
    private readonly onError: (err: unknown, lines: number) => void,
  ) {}

  static async open(
    file: string,
    header: Omit<RecordingHeader, 'sextantRecording' | 'createdAt'>,
    onError: (err: unknown, lines: number) => void = () => undefined,
  ): Promise<RecordingTap> {
    const sink = await openSink(file);
    await sink.write([
      JSON.stringify({ sextantRecording: RECORDING_VERSION, createdAt: new Date().toISOString(), ...header }),
    ]);
    return new RecordingTap(sink, onError);
  }

  get recorded(): number {
    return this.#seq;
  }

  attach(bus: Bus): void {
    this.#subs = tapSextantSubjects(bus, (env, ctx) => this.write(ctx.subject, env), 'recording-tap');
  }

  write(subject: string, env: Envelope): void {
    this.#pending.push(JSON.stringify({ seq: ++this.#seq, subject, env }));
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#writePending();
    });
  }

  /**
   * Writes the pending lines after the previous write, whatever became of it. A recording that cannot be written must
   * not stop trading.
   */
  #writePending(): Promise<void> {
    const lines = this.#pending;
    this.#pending = [];
    this.#writing = this.#writing.then(() =>
      this.sink.write(lines).catch((err: unknown) => {
        this.lost += lines.length;
        this.onError(err, lines.length);
      }),
    );
    return this.#writing;
  }

  /** Writes what was recorded so far. */
  flush(): Promise<void> {
    return this.#writePending();
  }

  async close(): Promise<void> {
    await Promise.all(this.#subs.map((sub) => sub.drain().catch(() => undefined)));
    await this.flush();
    await this.sink.close().catch((err: unknown) => this.onError(err, 0));
  }
}
