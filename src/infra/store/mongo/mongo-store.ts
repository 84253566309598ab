import {
  MongoBulkWriteError,
  MongoClient,
  MongoServerError,
  MongoWriteConcernError,
  type Collection,
  type Document,
  type Filter,
  type IndexDescription,
  type WriteError,
} from 'mongodb';
import type { z } from 'zod';
import { DEAD_LETTER_TYPE, PERSONAL_SUBJECT_PREFIX, PERSONAL_TYPES, type Envelope } from '../../../core/index.js';
import { fromStoredJson, toStoredJson } from '../json.js';
import {
  conversationDocSchema,
  fillDocSchema,
  openStatuses,
  orderDocSchema,
  portfolioDocSchema,
  snapshotDocSchema,
  StoreCorruptError,
  StoreUnavailableError,
  type RecordedEvent,
  type SnapshotDoc,
  type Store,
  type StoreHealth,
} from '../ports.js';

/**
 * The MongoDB adapter of the storage ports, used when MONGODB_URI is set; the same observable
 * behaviour as the embedded store (tests/contract/store.contract.ts).
 *
 * Guarantees:
 * - Idempotent writes: events, fills, portfolio snapshots and chat messages have `_id` = their
 *   id, so a retried or re-made write is stored once (duplicate key 11000 counts as success).
 *   Orders (`_id` = clientOrderId) and agent snapshots (`_id` = key) are replaced only by a
 *   higher `version` / `seq`, whatever order concurrent writes arrive in.
 * - Every write is acknowledged with write concern `w` (default 'majority') and `journal: true`
 *   before its promise resolves; `flush()` waits for every write accepted so far.
 * - Event queries come in event-time order, ties in append order: each document gets `_seq`, a
 *   per-process strictly increasing number (see `sequence()`).
 * - Documents read back are validated (the zod schemas of ports.ts); one that fails throws
 *   StoreCorruptError naming the collection and `_id`, it is never skipped.
 * - Failures other than duplicates reject with StoreUnavailableError (retryable) naming the
 *   operation; no message carries the URI or its credentials (hosts only, see redactMongoUri).
 *
 * Indexes (created at open; createIndexes is idempotent). Each index the design asks for is
 * extended with the tie-break key its queries sort by, so the index also serves the sort
 * (no in-memory sort over the whole log) and still serves every query on its prefix:
 * - events: {correlationId, time, _seq}, {time, _seq}, {type, time, _seq}, {payload.symbol, time, _seq}
 * - orders: {clientOrderId} unique, {status}, {updatedAt: -1, clientOrderId}
 * - fills: {clientOrderId, time, _seq}, {time, _seq}
 * - portfolio: {time, _seq}
 * - conversations: {conversationId, time, _seq}
 *
 * Verification: the store contract and whole-system tests run against FerretDB 1.24 (MongoDB
 * wire protocol on SQLite) on every `npm test`, and against MongoDB 7 in the GitHub workflow.
 * Where the two differ, the adapter uses only what both do (see the index and lane notes below).
 */
export interface MongoStoreOptions {
  readonly uri: string;
  /** Default: the database named in the URI, else 'sextant'. */
  readonly dbName?: string;
  /** Write concern `w`, always journaled; default 'majority'. */
  readonly writeConcern?: 'majority' | number;
  /** Connection pool size; default 10. */
  readonly maxPoolSize?: number;
  /** Events per insertMany; default 500. */
  readonly eventBatchSize?: number;
  /** How long an operation waits for a usable server; default 5000. */
  readonly serverSelectionTimeoutMS?: number;
  readonly appName?: string;
}

/** Every collection is keyed by a string `_id` (an envelope id, clientOrderId, snapshot key...). */
type Row = Document & { _id: string };

/** How long `health()` waits for the ping (readiness must answer quickly). */
const PING_TIMEOUT_MS = 2000;
const DUPLICATE_KEY = 11000;
/** Stands in for an unbounded (Infinity) limit: the server wants an integer. */
const MAX_LIMIT = 2 ** 31 - 1;

/** Opens (connecting and creating indexes) the MongoDB store; rejects with StoreUnavailableError when it cannot. */
export async function openMongoStore(options: MongoStoreOptions): Promise<Store> {
  const where = redactMongoUri(options.uri);
  const scrub = scrubber(options.uri);
  const batchSize = options.eventBatchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`eventBatchSize must be a positive integer, got ${batchSize}`);
  const w = options.writeConcern ?? 'majority';
  // w: 0 is unacknowledged: no write could be confirmed, and duplicates would go unnoticed.
  if (w !== 'majority' && (!Number.isInteger(w) || w < 1))
    throw new RangeError(`writeConcern must be 'majority' or an integer >= 1, got ${w}`);
  const dbName = options.dbName ?? dbNameIn(options.uri) ?? 'sextant';

  let client: MongoClient;
  try {
    client = new MongoClient(options.uri, {
      writeConcern: { w, journal: true },
      maxPoolSize: options.maxPoolSize ?? 10,
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 5000,
      // JSON (the bus, the embedded store) drops undefined properties; BSON would store null.
      ignoreUndefined: true,
      ...(options.appName !== undefined ? { appName: options.appName } : {}),
    });
  } catch (err) {
    // A malformed URI is configuration, not an outage: not retryable. No cause: the driver's
    // parse errors can quote the user name, and a cause gets logged whole.
    // eslint-disable-next-line preserve-caught-error
    throw new Error(`the MongoDB URI (${where}) is not valid: ${scrub(messageOf(err), true)}`);
  }
  const db = client.db(dbName);
  const col = {
    events: db.collection<Row>('events'),
    orders: db.collection<Row>('orders'),
    fills: db.collection<Row>('fills'),
    portfolio: db.collection<Row>('portfolio'),
    snapshots: db.collection<Row>('snapshots'),
    conversations: db.collection<Row>('conversations'),
  };
  try {
    await client.connect();
    // One index per call, one at a time: FerretDB 1.24 (SQLite) drops the connection with a
    // panic ("slice bounds out of range") when one createIndexes call names several indexes of a
    // collection that has them already (every reopen), or when the collections of a new database
    // are created concurrently. MongoDB takes either; ten round trips at open cost nothing.
    const wanted: (readonly [Collection<Row>, IndexDescription])[] = [
      ...indexes([
        { correlationId: 1, time: 1, _seq: 1 },
        { time: 1, _seq: 1 },
        { type: 1, time: 1, _seq: 1 },
        { 'payload.symbol': 1, time: 1, _seq: 1 },
        { _seq: 1 },
      ]).map((d) => [col.events, d] as const),
      [col.orders, { key: { clientOrderId: 1 }, unique: true }],
      ...indexes([{ status: 1 }, { updatedAt: -1, clientOrderId: 1 }]).map((d) => [col.orders, d] as const),
      ...indexes([
        { clientOrderId: 1, time: 1, _seq: 1 },
        { time: 1, _seq: 1 },
      ]).map((d) => [col.fills, d] as const),
      [col.portfolio, { key: { time: 1, _seq: 1 } }],
      [col.conversations, { key: { conversationId: 1, time: 1, _seq: 1 } }],
    ];
    for (const [c, d] of wanted) await c.createIndexes([d]);
  } catch (err) {
    await client.close().catch(() => undefined);
    throw new StoreUnavailableError(
      `could not open the MongoDB store at ${where} (database ${dbName}): ${scrub(messageOf(err))}`,
      { cause: err },
    );
  }

  let closed = false;
  let closing: Promise<void> | undefined;
  const inflight = new Set<Promise<unknown>>();
  const seq = sequence();

  /** Runs one operation; driver failures become StoreUnavailableError naming it. */
  const run = async <T>(op: string, fn: () => Promise<T>): Promise<T> => {
    if (closed) throw new StoreUnavailableError(`mongodb ${op}: the store is closed`);
    try {
      return await fn();
    } catch (err) {
      if (err instanceof StoreCorruptError || err instanceof StoreUnavailableError) throw err;
      throw new StoreUnavailableError(`mongodb ${op} failed: ${scrub(messageOf(err))}`, { cause: err });
    }
  };
  /** A write: like `run`, and remembered until it settles so `flush()` can wait for it. */
  const write = (op: string, fn: () => Promise<unknown>): Promise<void> => {
    const p = run(op, fn).then(() => undefined);
    inflight.add(p);
    const forget = () => void inflight.delete(p);
    p.then(forget, forget);
    return p;
  };
  /** Inserts in chunks, unordered; documents already there (same `_id`) count as written. */
  const insertAll = async (c: Collection<Row>, docs: Row[]): Promise<void> => {
    for (let i = 0; i < docs.length; i += batchSize) {
      await c.insertMany(docs.slice(i, i + batchSize), { ordered: false }).catch(ignoreDuplicates);
    }
  };
  /**
   * Replaces the document `_id` only when its `field` is lower than the new one, inserting it
   * when absent. When the upsert's insert hits a duplicate key, the document exists (a concurrent
   * put inserted it first, or ours is not newer): one plain conditional replace then settles it,
   * since documents are never deleted.
   *
   * Writes of one document go one after another from this process (`lanes`): FerretDB 1.24 runs
   * a conditional replace as a read and a write that another connection can come between, so
   * two concurrent puts of one key could end with the older (a lost update; MongoDB does the
   * match and the write atomically). Each key has one writer process (the agent that owns the
   * snapshot or the order), so ordering within the process is all that is needed.
   */
  const lanes = new Map<string, Promise<void>>();
  const replaceIfNewer = (
    c: Collection<Row>,
    _id: string,
    field: string,
    value: number,
    doc: Document,
  ): Promise<void> => {
    const lane = `${c.collectionName}\u0000${_id}`;
    const replace = async () => {
      const filter: Filter<Row> = { _id, [field]: { $lt: value } };
      try {
        await c.replaceOne(filter, doc, { upsert: true });
      } catch (err) {
        if (!isDuplicateKeyOnly(err)) throw err;
        await c.replaceOne(filter, doc);
      }
    };
    const next = (lanes.get(lane) ?? Promise.resolve()).then(replace, replace);
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    lanes.set(lane, tail);
    void tail.then(() => {
      if (lanes.get(lane) === tail) lanes.delete(lane);
    });
    return next;
  };
  const flush = async (): Promise<void> => {
    // The writes accepted so far, not later ones (a busy recorder would keep it waiting forever).
    // Failed writes were rejected to their callers; flush only waits for them to settle.
    await Promise.allSettled([...inflight]);
  };

  return {
    kind: 'mongodb',
    events: {
      append: (events) => {
        // Sequenced now, in call order, whatever order the inserts complete in.
        const docs = events.map((e) => ({ ...e.env, _id: e.env.id, _seq: seq(), subject: e.subject }));
        return write('events.append', () => insertAll(col.events, docs));
      },
      query: (q) =>
        run('events.query', async () => {
          const limit = limitOf(q.limit, 1000);
          if (limit === 0) return [];
          const filter: Filter<Row> = {};
          if (q.correlationId !== undefined) filter.correlationId = q.correlationId;
          if (q.type !== undefined) filter.type = q.type;
          if (q.symbol !== undefined) filter['payload.symbol'] = q.symbol;
          if (q.from !== undefined || q.to !== undefined) filter.time = range(q.from, q.to);
          if (q.visibleTo !== undefined) filter.$nor = othersOnly(q.visibleTo);
          const direction = q.newest ? -1 : 1;
          const docs = await col.events
            .find(filter)
            .sort({ time: direction, _seq: direction })
            .skip(Math.max(0, Math.floor(q.offset ?? 0)))
            .limit(limit)
            .toArray();
          return docs.map(toRecordedEvent);
        }),
      get: (id) =>
        run('events.get', async () => {
          const doc = await col.events.findOne({ _id: id });
          return doc ? toRecordedEvent(doc) : undefined;
        }),
      // Exact (the audit log's size), at the cost of a scan; estimatedDocumentCount can be off after an unclean
      // shutdown.
      count: () => run('events.count', () => col.events.countDocuments({})),
      after: (id) =>
        run('events.after', async () => {
          // _seq is the append order (strictly increasing per process, above the previous run's)
          const mark = id === '' ? { _seq: -1 } : await col.events.findOne({ _id: id }, { projection: { _seq: 1 } });
          if (!mark) return undefined;
          const docs = await col.events
            .find({ _seq: { $gt: mark._seq as number } })
            .sort({ _seq: 1 })
            .toArray();
          return docs.map(toRecordedEvent);
        }),
    },
    orders: {
      put: (order) =>
        write('orders.put', () => replaceIfNewer(col.orders, order.clientOrderId, 'version', order.version, order)),
      get: (clientOrderId) =>
        run('orders.get', async () => {
          const doc = await col.orders.findOne({ clientOrderId });
          return doc ? parseStored('orders', doc, orderDocSchema) : undefined;
        }),
      list: (q = {}) =>
        run('orders.list', async () => {
          const limit = limitOf(q.limit, 100);
          if (limit === 0) return [];
          const filter: Filter<Row> = {};
          if (q.symbol !== undefined) filter.symbol = q.symbol;
          if (q.status === 'open') filter.status = { $in: [...openStatuses] };
          else if (q.status !== undefined) filter.status = q.status;
          if (q.from !== undefined || q.to !== undefined) filter.updatedAt = range(q.from, q.to);
          const docs = await col.orders.find(filter).sort({ updatedAt: -1, clientOrderId: 1 }).limit(limit).toArray();
          return docs.map((d) => parseStored('orders', d, orderDocSchema));
        }),
    },
    fills: {
      add: (fills) => {
        const docs = fills.map((f) => ({ _id: f.id, _seq: seq(), ...f }));
        return write('fills.add', () => insertAll(col.fills, docs));
      },
      list: (q = {}) =>
        run('fills.list', async () => {
          const limit = limitOf(q.limit, 1000);
          if (limit === 0) return [];
          const filter: Filter<Row> = {};
          if (q.clientOrderId !== undefined) filter.clientOrderId = q.clientOrderId;
          if (q.symbol !== undefined) filter.symbol = q.symbol;
          if (q.from !== undefined || q.to !== undefined) filter.time = range(q.from, q.to);
          const docs = await col.fills.find(filter).sort({ time: 1, _seq: 1 }).limit(limit).toArray();
          return docs.map((d) => parseStored('fills', d, fillDocSchema));
        }),
    },
    portfolio: {
      add: (snapshot) => {
        const doc = { _id: snapshot.id, _seq: seq(), ...snapshot };
        return write('portfolio.add', () => col.portfolio.insertOne(doc).catch(ignoreDuplicates));
      },
      latest: () =>
        run('portfolio.latest', async () => {
          // Greatest time; among equal times the last added, as the embedded store answers.
          const doc = await col.portfolio.findOne({}, { sort: { time: -1, _seq: -1 } });
          return doc ? parseStored('portfolio', doc, portfolioDocSchema) : undefined;
        }),
      history: (q = {}) =>
        run('portfolio.history', async () => {
          const limit = limitOf(q.limit, 1000);
          if (limit === 0) return [];
          const filter: Filter<Row> = q.from !== undefined || q.to !== undefined ? { time: range(q.from, q.to) } : {};
          const docs = await col.portfolio.find(filter).sort({ time: 1, _seq: 1 }).limit(limit).toArray();
          return docs.map((d) => parseStored('portfolio', d, portfolioDocSchema));
        }),
    },
    snapshots: {
      save: (doc) =>
        write('snapshots.save', () => replaceIfNewer(col.snapshots, doc.key, 'seq', doc.seq, toStoredSnapshot(doc))),
      load: (key) =>
        run('snapshots.load', async () => {
          const doc = await col.snapshots.findOne({ _id: key });
          return doc ? fromStoredSnapshot(doc) : undefined;
        }),
    },
    conversations: {
      append: (message) => {
        const doc = { _id: message.id, _seq: seq(), ...message };
        return write('conversations.append', () => col.conversations.insertOne(doc).catch(ignoreDuplicates));
      },
      history: (conversationId, limit = 50) =>
        run('conversations.history', async () => {
          const n = limitOf(limit, 50);
          if (n === 0) return [];
          // The latest n (newest first from the index), returned oldest first.
          const docs = await col.conversations.find({ conversationId }).sort({ time: -1, _seq: -1 }).limit(n).toArray();
          return docs.reverse().map((d) => parseStored('conversations', d, conversationDocSchema));
        }),
    },
    health: async (): Promise<StoreHealth> => {
      if (closed) return { ok: false, kind: 'mongodb', detail: `MongoDB store at ${where} is closed` };
      try {
        await withTimeout(db.command({ ping: 1 }), PING_TIMEOUT_MS, `no answer to ping within ${PING_TIMEOUT_MS} ms`);
        return { ok: true, kind: 'mongodb', detail: `MongoDB at ${where}, database ${dbName}` };
      } catch (err) {
        return { ok: false, kind: 'mongodb', detail: `MongoDB at ${where} unavailable: ${scrub(messageOf(err))}` };
      }
    },
    flush,
    close: () => {
      closing ??= (async () => {
        closed = true; // new operations are refused; those already accepted finish first
        await flush();
        await client.close();
      })();
      return closing;
    },
  };
}

/**
 * A MongoDB URI reduced to its scheme and host list, safe to log: no user, password, database
 * or options. `mongodb://u:p@h1:27017,h2/db?replicaSet=rs0` -> `mongodb://h1:27017,h2`.
 */
export function redactMongoUri(uri: string): string {
  const m = /^(mongodb(?:\+srv)?):\/\/(.*)$/i.exec(uri.trim());
  if (!m) return '(not a mongodb:// URI)';
  // The user info ends at the last '@' before the options: an unescaped '@' or '/' in a password
  // must not leak the rest of it as a "host".
  const beforeQuery = m[2]!.split('?')[0]!;
  const afterUser = beforeQuery.slice(beforeQuery.lastIndexOf('@') + 1);
  const hosts = afterUser.split('/')[0]!;
  return `${m[1]!.toLowerCase()}://${hosts || '(no host)'}`;
}

/** The database named in the URI path, if any. */
function dbNameIn(uri: string): string | undefined {
  const beforeQuery = uri.trim().split('?')[0]!;
  const afterUser = beforeQuery.slice(beforeQuery.lastIndexOf('@') + 1).replace(/^mongodb(\+srv)?:\/\//i, '');
  const slash = afterUser.indexOf('/');
  if (slash < 0) return undefined;
  const name = afterUser.slice(slash + 1);
  if (!name) return undefined;
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

/**
 * Removes the URI and its credentials from text (driver messages should not carry them; this
 * makes sure). A password shorter than 3 characters is not searched for: replacing every 'a'
 * would garble the message without protecting anything.
 */
function scrubber(uri: string): (text: string, alsoUser?: boolean) => string {
  const scheme = /^mongodb(?:\+srv)?:\/\//i.exec(uri)?.[0];
  const beforeQuery = uri.split('?')[0]!;
  const at = beforeQuery.lastIndexOf('@');
  const userInfo = scheme && at > scheme.length ? beforeQuery.slice(scheme.length, at) : '';
  const colon = userInfo.indexOf(':');
  const user = colon < 0 ? userInfo : userInfo.slice(0, colon);
  const password = colon < 0 ? '' : userInfo.slice(colon + 1);
  const secrets = (alsoUser: boolean) =>
    [uri, userInfo, password, safeDecode(password), ...(alsoUser ? [user, safeDecode(user)] : [])]
      .filter((s) => s.length >= 3)
      .sort((a, b) => b.length - a.length);
  return (text, alsoUser = false) => secrets(alsoUser).reduce((t, s) => t.split(s).join('***'), text);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const indexes = (keys: Record<string, 1 | -1>[]): IndexDescription[] => keys.map((key) => ({ key }));

function range(from: number | undefined, to: number | undefined): Document {
  return { ...(from !== undefined ? { $gte: from } : {}), ...(to !== undefined ? { $lte: to } : {}) };
}

/**
 * A limit MongoDB reads as the embedded store's `slice(0, limit)` does: MongoDB takes 0 as "no
 * limit" and a negative one as "one batch", so 0, negative and NaN limits answer nothing here.
 */
function limitOf(limit: number | undefined, fallback: number): number {
  const n = Math.floor(limit ?? fallback);
  return n > 0 ? Math.min(n, MAX_LIMIT) : 0;
}

/**
 * `_seq` values: strictly increasing in this process (`max(last + 1, now * 1000)`), so events
 * with equal time keep append order across batches and calls. Seeded from the wall clock in
 * microsecond units rather than from the stored maximum (which would need one more index on the
 * busiest collection, or a scan at open): a restarted process continues above the previous one
 * unless it appended over 1000 documents per millisecond for longer than the restart took, or the
 * clock stepped back. Values stay below 2^53 (exact in a double) until the year 2255.
 */
function sequence(): () => number {
  let last = 0;
  return () => (last = Math.max(last + 1, Date.now() * 1000));
}

/**
 * True when the only failures are duplicate keys (the document is already there) and the
 * write concern was met. A write concern error is never a duplicate, whatever else failed.
 */
function isDuplicateKeyOnly(err: unknown): boolean {
  if (err instanceof MongoBulkWriteError) {
    const errors: readonly WriteError[] = Array.isArray(err.writeErrors)
      ? err.writeErrors
      : [err.writeErrors as WriteError];
    return (
      errors.length > 0 &&
      errors.every((e) => e.code === DUPLICATE_KEY) &&
      !err.err &&
      !err.result.getWriteConcernError()
    );
  }
  if (err instanceof MongoWriteConcernError) return false;
  return err instanceof MongoServerError && err.code === DUPLICATE_KEY && !err.writeConcernError;
}

function ignoreDuplicates(err: unknown): void {
  if (!isDuplicateKeyOnly(err)) throw err;
}

/** Validates a stored document; `_id` and internal fields are dropped (zod strips unknown keys). */
function parseStored<S extends z.ZodType>(collection: string, doc: Document, schema: S): z.infer<S> {
  const { _id, _seq: _ignored, ...rest } = doc;
  const parsed = schema.safeParse(rest);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new StoreCorruptError(
      `mongodb collection ${collection}`,
      String(_id),
      `fails its schema at ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
  }
  return parsed.data;
}

/** What a person may not read, as a filter (the same rule as `visibleTo` in src/core): other people's messages. */
function othersOnly(viewer: string): Filter<Row>[] {
  return [
    ...Object.entries(PERSONAL_TYPES).map(([type, field]) => ({ type, [`payload.${field}`]: { $ne: viewer } })),
    {
      type: DEAD_LETTER_TYPE,
      'payload.subject': { $regex: `^${PERSONAL_SUBJECT_PREFIX.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}` },
    },
  ];
}

/** An events document back to what was appended: the envelope fields are stored top-level, as written. */
function toRecordedEvent(doc: Document): RecordedEvent {
  const { _id, _seq: _ignored, subject, ...env } = doc;
  if (
    typeof subject !== 'string' ||
    typeof env.id !== 'string' ||
    typeof env.type !== 'string' ||
    typeof env.time !== 'number' ||
    typeof env.correlationId !== 'string'
  ) {
    throw new StoreCorruptError(
      'mongodb collection events',
      String(_id),
      'is not a recorded envelope (needs subject, id, type, correlationId and a numeric time)',
    );
  }
  return { subject, env: env as Envelope };
}

/**
 * Snapshot state is stored as a string of `toStoredJson`, not as a BSON document. BSON would keep
 * Infinity/NaN natively, but XState persisted snapshots have keys MongoDB handles badly or not at
 * all: `historyValue` is keyed by state node ids, which contain dots (`risk.active`), contexts hold
 * maps keyed by symbol (`BRK.B`), and any user-named key may start with `$`. The state is opaque
 * to queries anyway, and the encoding (non-finite numbers as {"$num": ...}) is the embedded
 * store's, so the two stores read each other's snapshots unchanged.
 */
function toStoredSnapshot(doc: SnapshotDoc): Document {
  const state = toStoredJson(doc.state);
  return {
    key: doc.key,
    seq: doc.seq,
    runId: doc.runId,
    savedAt: doc.savedAt,
    ...(state !== undefined ? { state } : {}),
  };
}

function fromStoredSnapshot(doc: Document): SnapshotDoc {
  const { state, ...rest } = doc;
  let decoded: unknown;
  if (state !== undefined) {
    if (typeof state !== 'string')
      throw new StoreCorruptError('mongodb collection snapshots', String(doc._id), 'state is not a stored JSON string');
    try {
      decoded = fromStoredJson(state);
    } catch {
      throw new StoreCorruptError('mongodb collection snapshots', String(doc._id), 'state is not valid JSON');
    }
  }
  return parseStored('snapshots', state !== undefined ? { ...rest, state: decoded } : rest, snapshotDocSchema);
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
