import { createReadStream } from 'node:fs';
import { mkdir, open, rename, stat, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import { StoreCorruptError } from '../store/index.js';

/**
 * When appended lines reach the disk itself (not just the OS page cache):
 * - `always`: every write is fsynced before its promise resolves (slowest, survives power loss);
 * - `interval`: writes resolve once the OS has them (they survive a crash of the process, even
 *   SIGKILL); an fsync follows at most `fsyncIntervalMs` later, so a power loss can lose that
 *   much;
 * - `never`: the OS decides.
 */
export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface AppendLogOptions {
  readonly file: string;
  readonly fsync: FsyncPolicy;
  readonly fsyncIntervalMs?: number;
}

/** A torn last line found on open (a write cut off by a crash): moved aside, never applied. */
export interface TornTail {
  readonly file: string;
  readonly bytes: number;
  /** Where the torn bytes were saved. */
  readonly savedTo: string;
}

/**
 * One append-only file of newline-terminated JSON lines. Appends are queued and written in
 * order, many lines per write call, so a line is either wholly in the file or (after a crash
 * mid-write) a torn tail without its newline, which `open` detects and moves aside.
 */
export class AppendLog {
  #handle: FileHandle;
  #queue: string[] = [];
  #waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  #writing: Promise<void> | undefined;
  #fsyncTimer: NodeJS.Timeout | undefined;
  #dirty = false;
  #closed = false;
  #lines: number;
  /** Bytes of complete lines in the file: a failed write is cut back to this. */
  #size: number;

  private constructor(
    handle: FileHandle,
    private readonly options: AppendLogOptions,
    lines: number,
    size: number,
  ) {
    this.#handle = handle;
    this.#lines = lines;
    this.#size = size;
  }

  /**
   * Opens (creating) the file and reads every complete line into `onLine` (1-based line
   * numbers). A line `onLine` throws on is reported as StoreCorruptError naming file and line.
   * A torn last line is saved to `<file>.torn-<time>` and cut off.
   */
  static async open(
    options: AppendLogOptions,
    onLine: (text: string, line: number) => void,
  ): Promise<{ log: AppendLog; torn?: TornTail }> {
    const { file } = options;
    await mkdir(dirOf(file), { recursive: true });
    await writeFile(file, '', { flag: 'a' });
    const { lines, goodBytes, size } = await readLines(file, (text, line) => {
      try {
        onLine(text, line);
      } catch (err) {
        throw corruptLine(file, line, text, err, '');
      }
    });
    let torn: TornTail | undefined;
    if (goodBytes < size) {
      const savedTo = `${file}.torn-${Date.now()}`;
      const handle = await open(file, 'r');
      try {
        const buf = Buffer.alloc(size - goodBytes);
        await handle.read(buf, 0, buf.length, goodBytes);
        await writeFile(savedTo, buf);
      } finally {
        await handle.close();
      }
      await truncate(file, goodBytes);
      torn = { file, bytes: size - goodBytes, savedTo };
    }
    const handle = await open(file, 'a');
    const log = new AppendLog(handle, options, lines, goodBytes);
    return torn ? { log, torn } : { log };
  }

  /** Complete lines in the file, including queued ones. */
  get lines(): number {
    return this.#lines;
  }

  get file(): string {
    return this.options.file;
  }

  /** Queues lines (without newlines); resolves when they are written per the fsync policy. */
  append(lines: readonly string[]): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`append log ${this.options.file} is closed`));
    if (lines.length === 0) return this.flush();
    for (const l of lines) this.#queue.push(l);
    this.#lines += lines.length;
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      this.#writing ??= new Promise<void>((r) => setImmediate(r)).then(() => this.#drain());
    });
  }

  /**
   * Resolves once everything queued so far is written and fsynced. Lines a failed write left
   * queued are tried again here; if that fails too, flush rejects (nothing is dropped).
   */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
    if (this.#queue.length > 0) {
      await new Promise<void>((resolve, reject) => {
        this.#waiters.push({ resolve, reject });
        this.#writing ??= this.#drain();
      });
    }
    if (this.#dirty && this.options.fsync !== 'never') await this.#sync();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    if (this.#fsyncTimer) clearTimeout(this.#fsyncTimer);
    await this.#handle.close();
  }

  /**
   * Writes the queue, many lines per call. A failed write puts its lines back at the head of the
   * queue (in order) and rejects their waiters: the next append or flush tries them again, so a
   * full disk delays lines but never drops them. A short write continues from where it stopped.
   */
  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const lines = this.#queue;
        const waiters = this.#waiters;
        this.#queue = [];
        this.#waiters = [];
        try {
          const buf = Buffer.from(lines.join('\n') + '\n');
          await this.#writeAll(buf);
          this.#size += buf.length;
          this.#dirty = true;
          if (this.options.fsync === 'always') await this.#sync();
          else if (this.options.fsync === 'interval') this.#scheduleSync();
          for (const w of waiters) w.resolve();
        } catch (err) {
          // a write cut short leaves part of a line: cut the file back to its last complete line
          await this.#handle.truncate(this.#size).catch(() => undefined);
          this.#queue = lines.concat(this.#queue);
          for (const w of waiters) w.reject(err);
          return;
        }
      }
    } finally {
      this.#writing = undefined;
    }
  }

  /** Writes every byte of `buf`, continuing after short writes. */
  async #writeAll(buf: Buffer): Promise<void> {
    let at = 0;
    while (at < buf.length) {
      const { bytesWritten } = await this.#handle.write(buf, at, buf.length - at);
      if (bytesWritten <= 0) throw new Error(`no bytes written to ${this.options.file}`);
      at += bytesWritten;
    }
  }

  #scheduleSync(): void {
    if (this.#fsyncTimer) return;
    this.#fsyncTimer = setTimeout(() => {
      this.#fsyncTimer = undefined;
      if (!this.#closed) void this.#sync().catch(() => undefined);
    }, this.options.fsyncIntervalMs ?? 1000);
    this.#fsyncTimer.unref();
  }

  async #sync(): Promise<void> {
    this.#dirty = false;
    await this.#handle.datasync();
  }
}

/**
 * Reads complete lines of a file in order. Returns how many, the byte length of the complete
 * lines, and the file size (larger when the last line has no newline).
 */
export async function readLines(
  file: string,
  onLine: (text: string, line: number) => void,
): Promise<{ lines: number; goodBytes: number; size: number }> {
  const size = (await stat(file)).size;
  let line = 0;
  let goodBytes = 0;
  let carry: Buffer | undefined;
  if (size === 0) return { lines: 0, goodBytes: 0, size };
  // read what the file held when asked, not what is appended meanwhile
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20, end: size - 1 })) {
    let buf = chunk as Buffer;
    if (carry) {
      buf = Buffer.concat([carry, buf]);
      carry = undefined;
    }
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      line++;
      const text = buf.toString('utf8', start, nl);
      goodBytes += nl - start + 1;
      if (text.length > 0) onLine(text, line);
      start = nl + 1;
    }
    if (start < buf.length) carry = buf.subarray(start);
  }
  return { lines: line, goodBytes, size };
}

/**
 * Moves the lines `isBad` picks out of a file into `<file>.quarantine-<time>.ndjson` and
 * rewrites the file without them (write to a temporary file, fsync, rename): nothing is deleted.
 * A torn last line is moved too. Returns the quarantine file and the count moved.
 */
export async function quarantineLines(
  file: string,
  isBad: (text: string) => boolean,
): Promise<{ moved: number; quarantine?: string }> {
  const good: string[] = [];
  const bad: string[] = [];
  const { goodBytes, size } = await readLines(file, (text) => (isBad(text) ? bad : good).push(text));
  if (goodBytes < size) {
    const handle = await open(file, 'r');
    try {
      const buf = Buffer.alloc(size - goodBytes);
      await handle.read(buf, 0, buf.length, goodBytes);
      bad.push(buf.toString('utf8'));
    } finally {
      await handle.close();
    }
  }
  if (bad.length === 0) return { moved: 0 };
  const quarantine = `${file}.quarantine-${Date.now()}.ndjson`;
  await writeDurably(quarantine, bad.join('\n') + '\n');
  await writeDurably(`${file}.repair-tmp`, good.length > 0 ? good.join('\n') + '\n' : '');
  await rename(`${file}.repair-tmp`, file);
  return { moved: bad.length, quarantine };
}

/** Writes a whole file and fsyncs it before returning. */
export async function writeDurably(file: string, text: string): Promise<void> {
  const handle = await open(file, 'w');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function dirOf(file: string): string {
  const i = file.lastIndexOf('/');
  return i <= 0 ? '.' : file.slice(0, i);
}

/**
 * A line that failed its check, as the error to report: file, line, the document's id and the way
 * out (`sextant store repair`), with `more` after it.
 */
export function corruptLine(file: string, line: number, text: string, err: unknown, more: string): StoreCorruptError {
  const problem = err instanceof StoreCorruptError ? err.problem : (err as Error).message;
  const id = err instanceof StoreCorruptError ? (err.docId ?? idIn(text)) : idIn(text);
  return new StoreCorruptError(
    `${file}:${line}`,
    id,
    `${problem}; run \`sextant store repair\` to move bad lines aside (nothing is deleted)${more}`,
  );
}

/** The document's id (`id`, `clientOrderId` or `key`) from its text, to name it even when it does not parse. */
export function idIn(text: string): string | undefined {
  return /"(?:id|clientOrderId|key)":"([^"]{1,200})"/.exec(text)?.[1];
}
