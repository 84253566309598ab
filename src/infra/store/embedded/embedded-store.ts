import { link, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { fromStoredJson, toStoredJson } from '../json.js';
import {
  byEventTime,
  conversationDocSchema,
  fillDocSchema,
  openStatuses,
  orderDocSchema,
  portfolioDocSchema,
  snapshotDocSchema,
  StoreCorruptError,
  type ConversationDoc,
  type ConversationStore,
  type EventQuery,
  type EventStore,
  type FillDoc,
  type FillQuery,
  type FillStore,
  type OrderDoc,
  type OrderQuery,
  type OrderStore,
  type PortfolioDoc,
  type PortfolioStore,
  type RecordedEvent,
  type SnapshotDoc,
  type SnapshotStore,
  type Store,
  type StoreHealth,
} from '../ports.js';
import { IdWindow, visibleTo } from '../../../core/index.js';
import { AppendLog, idIn, readLines, writeDurably, type FsyncPolicy, type TornTail } from '../../files/index.js';

export interface EmbeddedStoreOptions {
  /** The data directory (SEXTANT_DATA_DIR). */
  readonly dir: string;
  readonly fsync: FsyncPolicy;
  readonly fsyncIntervalMs?: number;
  /**
   * How many recent event ids are remembered to drop a re-appended event; default 32,768 (a restart re-makes only the
   * events after the last checkpoint).
   */
  readonly dedupeWindow?: number;
  /** Told about torn tails cut off on open (the caller logs them loudly). */
  readonly onTorn?: (torn: TornTail) => void;
}

/**
 * The embedded store: the default when MONGODB_URI is unset. One directory of append-only
 * NDJSON files (events, orders, fills, portfolio, conversations) plus one JSON file per snapshot
 * key, replaced atomically (write, fsync, rename; the previous one kept as `.prev`).
 *
 * Durability: see FsyncPolicy. Appends are written in order, many lines per write call; a line
 * cut off by a crash is detected on open, saved aside and never applied. A complete line that is
 * not valid JSON or fails its schema stops the open with file, line and id; `sextant store
 * repair` moves such lines to a quarantine file.
 *
 * Limits (documented in the README): one process per directory (a lock file enforces it);
 * orders, fills, portfolio snapshots and conversations are held in memory; event queries scan
 * the event file (fine for a workstation's history, not for years of ticks); duplicate events are
 * recognised within the last `dedupeWindow` ids, where MongoDB's `_id` is exact.
 */
export async function openEmbeddedStore(options: EmbeddedStoreOptions): Promise<Store> {
  const { dir } = options;
  await mkdir(join(dir, 'snapshots'), { recursive: true });
  await takeLock(dir);
  const opened: AppendLog[] = [];
  try {
    const logOptions = (name: string) => ({
      file: join(dir, name),
      fsync: options.fsync,
      ...(options.fsyncIntervalMs !== undefined ? { fsyncIntervalMs: options.fsyncIntervalMs } : {}),
    });
    const openLog = async (name: string, onLine: (text: string, line: number) => void) => {
      const { log, torn } = await AppendLog.open(logOptions(name), onLine);
      opened.push(log);
      if (torn) options.onTorn?.(torn);
      return log;
    };

    const events = new EmbeddedEvents(options.dedupeWindow ?? 32_768);
    events.log = await openLog('events.ndjson', (text) => events.load(text));
    const orders = new EmbeddedOrders();
    orders.log = await openLog('orders.ndjson', (text) => orders.load(parseDoc(text, orderDocSchema)));
    const fills = new EmbeddedFills();
    fills.log = await openLog('fills.ndjson', (text) => fills.load(parseDoc(text, fillDocSchema)));
    const portfolio = new EmbeddedPortfolio();
    portfolio.log = await openLog('portfolio.ndjson', (text) => portfolio.load(parseDoc(text, portfolioDocSchema)));
    const conversations = new EmbeddedConversations();
    conversations.log = await openLog('conversations.ndjson', (text) =>
      conversations.load(parseDoc(text, conversationDocSchema)),
    );
    const snapshots = new EmbeddedSnapshots(join(dir, 'snapshots'));
    await snapshots.loadAll();

    let lastError: string | undefined;
    const track = <T>(p: Promise<T>): Promise<T> =>
      p.then(
        (v) => {
          lastError = undefined;
          return v;
        },
        (err: unknown) => {
          lastError = (err as Error).message;
          throw err;
        },
      );
    return {
      kind: 'embedded',
      events: {
        append: (e) => track(events.append(e)),
        query: (q) => events.query(q),
        get: (id) => events.get(id),
        count: () => events.count(),
        after: (id) => events.after(id),
      },
      orders,
      fills,
      portfolio,
      snapshots,
      conversations,
      health: (): Promise<StoreHealth> =>
        Promise.resolve({
          ok: lastError === undefined,
          kind: 'embedded',
          detail: lastError ?? `embedded store at ${dir}`,
        }),
      flush: async () => {
        await Promise.all(opened.map((l) => l.flush()));
      },
      close: async () => {
        await Promise.all(opened.map((l) => l.close()));
        await rm(join(dir, 'LOCK'), { force: true });
      },
    };
  } catch (err) {
    await Promise.all(opened.map((l) => l.close().catch(() => undefined)));
    await rm(join(dir, 'LOCK'), { force: true });
    throw err;
  }
}

/** Parses and validates one stored line; failures name the document's id. */
function parseDoc<S extends z.ZodType>(text: string, schema: S): z.infer<S> {
  let value: unknown;
  try {
    value = fromStoredJson(text);
  } catch {
    throw new Error('not valid JSON');
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new StoreCorruptError(
      'document',
      idIn(text),
      `fails its schema at ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
  }
  return parsed.data;
}

/** A second process on the same directory would interleave writes: refuse it, naming the holder. */
async function takeLock(dir: string): Promise<void> {
  const lock = join(dir, 'LOCK');
  const holder = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
  if (holder && holder !== process.pid && isAlive(holder)) {
    throw new Error(
      `the data directory ${dir} is in use by process ${holder}; stop it or set SEXTANT_DATA_DIR to another directory`,
    );
  }
  await writeFile(lock, String(process.pid));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

class EmbeddedEvents implements EventStore {
  log!: AppendLog;
  #total = 0;
  readonly #recent: IdWindow;

  constructor(window: number) {
    this.#recent = new IdWindow(window);
  }

  load(text: string): void {
    let id: string | undefined;
    try {
      id = (JSON.parse(text) as RecordedEvent).env.id;
    } catch {
      throw new Error('not valid JSON');
    }
    if (typeof id !== 'string') throw new StoreCorruptError('event', undefined, 'has no envelope id');
    this.#recent.add(id);
    this.#total++;
  }

  count(): Promise<number> {
    return Promise.resolve(this.#total);
  }

  append(events: readonly RecordedEvent[]): Promise<void> {
    const lines: string[] = [];
    for (const e of events) {
      if (!this.#recent.add(e.env.id)) continue;
      lines.push(JSON.stringify({ subject: e.subject, env: e.env }));
    }
    this.#total += lines.length;
    return this.log.append(lines);
  }

  async #scan(
    needle: string | undefined,
    keep: (e: RecordedEvent) => boolean,
    limit: number,
    offset = 0,
    newest = false,
  ): Promise<RecordedEvent[]> {
    await this.log.flush();
    const found: RecordedEvent[] = [];
    await readLines(this.log.file, (text, line) => {
      if (needle !== undefined && !text.includes(needle)) return;
      let e: RecordedEvent;
      try {
        e = JSON.parse(text) as RecordedEvent;
      } catch {
        throw new StoreCorruptError(`${this.log.file}:${line}`, idIn(text), 'not valid JSON');
      }
      if (!e.env || typeof e.env.id !== 'string' || typeof e.env.type !== 'string' || typeof e.env.time !== 'number') {
        throw new StoreCorruptError(`${this.log.file}:${line}`, idIn(text), 'is not a recorded envelope');
      }
      if (keep(e)) found.push(e);
    });
    const ordered = byEventTime(found);
    if (newest) ordered.reverse();
    return ordered.slice(offset, offset + limit);
  }

  query(q: EventQuery): Promise<RecordedEvent[]> {
    const needle =
      q.correlationId !== undefined
        ? `"correlationId":"${q.correlationId}"`
        : q.type !== undefined
          ? `"type":"${q.type}"`
          : q.symbol !== undefined
            ? `"symbol":${JSON.stringify(q.symbol)}`
            : undefined;
    return this.#scan(
      needle,
      (e) =>
        (q.correlationId === undefined || e.env.correlationId === q.correlationId) &&
        (q.type === undefined || e.env.type === q.type) &&
        (q.symbol === undefined || (e.env.payload as { symbol?: unknown } | null)?.symbol === q.symbol) &&
        (q.from === undefined || e.env.time >= q.from) &&
        (q.to === undefined || e.env.time <= q.to) &&
        (q.visibleTo === undefined || visibleTo(e.env, q.visibleTo)),
      q.limit ?? 1000,
      q.offset ?? 0,
      q.newest ?? false,
    );
  }

  async get(id: string): Promise<RecordedEvent | undefined> {
    return (await this.#scan(`"id":"${id}"`, (e) => e.env.id === id, 1))[0];
  }

  async after(id: string): Promise<RecordedEvent[] | undefined> {
    await this.log.flush();
    const needle = `"id":"${id}"`;
    let found = id === '';
    const out: RecordedEvent[] = [];
    await readLines(this.log.file, (text, line) => {
      if (!found) {
        // the envelope's own id (its causation and correlation ids are other keys)
        if (text.includes(needle) && (JSON.parse(text) as RecordedEvent).env.id === id) found = true;
        return;
      }
      try {
        out.push(JSON.parse(text) as RecordedEvent);
      } catch {
        throw new StoreCorruptError(`${this.log.file}:${line}`, idIn(text), 'not valid JSON');
      }
    });
    return found ? out : undefined;
  }
}

class EmbeddedOrders implements OrderStore {
  log!: AppendLog;
  readonly #byId = new Map<string, OrderDoc>();

  load(doc: OrderDoc): void {
    const known = this.#byId.get(doc.clientOrderId);
    if (!known || doc.version > known.version) this.#byId.set(doc.clientOrderId, doc);
  }

  put(order: OrderDoc): Promise<void> {
    const known = this.#byId.get(order.clientOrderId);
    // stored, or still queued after a failed write
    if (known && known.version >= order.version) return this.log.flush();
    this.#byId.set(order.clientOrderId, order);
    return this.log.append([toStoredJson(order)]);
  }

  get(clientOrderId: string): Promise<OrderDoc | undefined> {
    return Promise.resolve(this.#byId.get(clientOrderId));
  }

  list(q: OrderQuery = {}): Promise<OrderDoc[]> {
    const out: OrderDoc[] = [];
    for (const o of this.#byId.values()) {
      if (q.symbol !== undefined && o.symbol !== q.symbol) continue;
      if (q.status === 'open' ? !openStatuses.has(o.status) : q.status !== undefined && o.status !== q.status) continue;
      if ((q.from !== undefined && o.updatedAt < q.from) || (q.to !== undefined && o.updatedAt > q.to)) continue;
      out.push(o);
    }
    out.sort((a, b) => b.updatedAt - a.updatedAt || (a.clientOrderId < b.clientOrderId ? -1 : 1));
    return Promise.resolve(out.slice(0, q.limit ?? 100));
  }
}

/** Documents unique by `id`, all in memory, appended to one log: what fills and portfolio snapshots share. */
class UniqueDocs<T extends { readonly id: string }> {
  log!: AppendLog;
  protected readonly all: T[] = [];
  readonly #ids = new Set<string>();

  load(doc: T): void {
    if (this.#ids.has(doc.id)) return;
    this.#ids.add(doc.id);
    this.all.push(doc);
  }

  /** Appends the documents not stored yet. */
  protected addNew(docs: readonly T[]): Promise<void> {
    const lines: string[] = [];
    for (const d of docs) {
      if (this.#ids.has(d.id)) continue;
      this.load(d);
      lines.push(toStoredJson(d));
    }
    return this.log.append(lines);
  }
}

class EmbeddedFills extends UniqueDocs<FillDoc> implements FillStore {
  add(fills: readonly FillDoc[]): Promise<void> {
    return this.addNew(fills);
  }

  list(q: FillQuery = {}): Promise<FillDoc[]> {
    const out = this.all.filter(
      (f) =>
        (q.clientOrderId === undefined || f.clientOrderId === q.clientOrderId) &&
        (q.symbol === undefined || f.symbol === q.symbol) &&
        (q.from === undefined || f.time >= q.from) &&
        (q.to === undefined || f.time <= q.to),
    );
    return Promise.resolve(out.sort((a, b) => a.time - b.time).slice(0, q.limit ?? 1000));
  }
}

class EmbeddedPortfolio extends UniqueDocs<PortfolioDoc> implements PortfolioStore {
  add(snapshot: PortfolioDoc): Promise<void> {
    return this.addNew([snapshot]);
  }

  latest(): Promise<PortfolioDoc | undefined> {
    let best: PortfolioDoc | undefined;
    for (const p of this.all) if (!best || p.time >= best.time) best = p;
    return Promise.resolve(best);
  }

  history(q: { from?: number; to?: number; limit?: number } = {}): Promise<PortfolioDoc[]> {
    const out = this.all.filter(
      (p) => (q.from === undefined || p.time >= q.from) && (q.to === undefined || p.time <= q.to),
    );
    return Promise.resolve(out.sort((a, b) => a.time - b.time).slice(0, q.limit ?? 1000));
  }
}

class EmbeddedConversations implements ConversationStore {
  log!: AppendLog;
  readonly #byConversation = new Map<string, ConversationDoc[]>();
  readonly #ids = new Set<string>();

  load(doc: ConversationDoc): void {
    if (this.#ids.has(doc.id)) return;
    this.#ids.add(doc.id);
    const list = this.#byConversation.get(doc.conversationId);
    if (list) list.push(doc);
    else this.#byConversation.set(doc.conversationId, [doc]);
  }

  append(message: ConversationDoc): Promise<void> {
    if (this.#ids.has(message.id)) return this.log.flush();
    this.load(message);
    return this.log.append([toStoredJson(message)]);
  }

  history(conversationId: string, limit = 50): Promise<ConversationDoc[]> {
    const list = [...(this.#byConversation.get(conversationId) ?? [])].sort((a, b) => a.time - b.time);
    return Promise.resolve(list.slice(Math.max(0, list.length - limit)));
  }
}

/**
 * One file per key, replaced atomically: write `<key>.json.tmp`, fsync, keep the old file as
 * `<key>.json.prev` (a hard link), rename over it. Saves are serialised per key, and one with a lower or equal seq
 * than the stored one is ignored, so snapshots are kept in the order they were taken.
 */
class EmbeddedSnapshots implements SnapshotStore {
  readonly #byKey = new Map<string, SnapshotDoc>();
  /** The latest snapshot per key known to be on disk. */
  readonly #durable = new Map<string, SnapshotDoc>();
  readonly #writing = new Map<string, Promise<void>>();

  constructor(private readonly dir: string) {}

  #file(key: string): string {
    return join(this.dir, `${encodeURIComponent(key)}.json`);
  }

  async loadAll(): Promise<void> {
    for (const name of await readdir(this.dir)) {
      if (!name.endsWith('.json')) continue;
      const file = join(this.dir, name);
      const doc = await readSnapshot(file);
      this.#byKey.set(doc.key, doc);
      this.#durable.set(doc.key, doc);
    }
  }

  save(doc: SnapshotDoc): Promise<void> {
    const known = this.#byKey.get(doc.key);
    if (known && known.seq >= doc.seq) return this.#writing.get(doc.key) ?? Promise.resolve();
    this.#byKey.set(doc.key, doc);
    const file = this.#file(doc.key);
    // a failed save must not fail every later one: each waits for the previous, whatever it did
    const previous = (this.#writing.get(doc.key) ?? Promise.resolve()).catch(() => undefined);
    const write = previous.then(async () => {
      if (this.#byKey.get(doc.key) !== doc) return; // a newer save replaced it before its turn
      try {
        await writeDurably(`${file}.tmp`, toStoredJson(doc));
        // the previous one is kept as a second name of its file, and the new one renamed over it: at no
        // point is there no `<key>.json` (renaming it away first left none to a SIGKILL in between, and
        // the process started afresh)
        await rm(`${file}.prev`, { force: true });
        await link(file, `${file}.prev`).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        });
        await rename(`${file}.tmp`, file);
        this.#durable.set(doc.key, doc);
      } catch (err) {
        // what is on disk is what load() answers
        if (this.#byKey.get(doc.key) === doc) {
          const onDisk = this.#durable.get(doc.key);
          if (onDisk) this.#byKey.set(doc.key, onDisk);
          else this.#byKey.delete(doc.key);
        }
        throw err;
      }
    });
    this.#writing.set(doc.key, write);
    return write;
  }

  load(key: string): Promise<SnapshotDoc | undefined> {
    return Promise.resolve(this.#byKey.get(key));
  }
}

async function readSnapshot(file: string): Promise<SnapshotDoc> {
  const text = await readFile(file, 'utf8');
  try {
    return parseDoc(text, snapshotDocSchema);
  } catch (err) {
    const problem = err instanceof StoreCorruptError ? err.problem : (err as Error).message;
    throw new StoreCorruptError(
      file,
      undefined,
      `${problem}; the previous snapshot is kept as ${file}.prev: move it over this file to recover from it`,
    );
  }
}
