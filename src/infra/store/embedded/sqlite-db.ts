import Database from 'better-sqlite3';
import type { FsyncPolicy } from '../../files/index.js';
import { StoreUnavailableError } from '../ports.js';

/** The embedded store's database file inside the data directory. */
export const DB_FILE = 'sextant.db';

/**
 * The schema. Events keep their envelope as JSON text plus the columns queries filter on, each
 * with an index ordered by (time, seq) so a query reads its page straight off the index:
 * correlation id (`trace`, `why`), type, symbol, symbol and type (`why`: the latest signal of a
 * symbol, found at once however long ago it was), time, and the payload's client order id. `seq`
 * is the append order (the rowid), so "ties in append order" and `after(id)` are exact.
 * `personal`/`owner` carry `ownerOf` (src/core privacy) so a person's query filters in SQL,
 * before limit and offset.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  time NUMERIC NOT NULL,
  type TEXT NOT NULL,
  correlation_id TEXT,
  symbol TEXT,
  client_order_id TEXT,
  personal INTEGER NOT NULL DEFAULT 0,
  owner TEXT,
  subject TEXT NOT NULL,
  env TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_time ON events (time, seq);
CREATE INDEX IF NOT EXISTS events_correlation ON events (correlation_id, time, seq);
CREATE INDEX IF NOT EXISTS events_type ON events (type, time, seq);
CREATE INDEX IF NOT EXISTS events_symbol ON events (symbol, time, seq) WHERE symbol IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_symbol_type ON events (symbol, type, time, seq) WHERE symbol IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_client_order ON events (client_order_id) WHERE client_order_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS orders (
  client_order_id TEXT PRIMARY KEY,
  symbol TEXT NOT NULL,
  status TEXT NOT NULL,
  updated_at NUMERIC NOT NULL,
  version INTEGER NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_updated ON orders (updated_at);
CREATE INDEX IF NOT EXISTS orders_symbol ON orders (symbol, updated_at);
CREATE TABLE IF NOT EXISTS fills (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  client_order_id TEXT NOT NULL,
  symbol TEXT NOT NULL,
  time NUMERIC NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS fills_time ON fills (time, seq);
CREATE INDEX IF NOT EXISTS fills_client_order ON fills (client_order_id, time, seq);
CREATE INDEX IF NOT EXISTS fills_symbol ON fills (symbol, time, seq);
CREATE TABLE IF NOT EXISTS portfolio (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  time NUMERIC NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS portfolio_time ON portfolio (time, seq);
CREATE TABLE IF NOT EXISTS conversations (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  conversation_id TEXT NOT NULL,
  time NUMERIC NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_by ON conversations (conversation_id, time, seq);
`;

/**
 * `synchronous` per fsync policy, in WAL mode (journal_mode=WAL):
 * - `always` -> FULL: the WAL is fsynced at every commit, so an acknowledged write survives a
 *   power loss (the old append log's fsync per write);
 * - `interval` (the default) -> NORMAL: a commit is written to the WAL before it is acknowledged,
 *   so it survives a crash of the process (SIGKILL included) at once; the WAL is fsynced at the
 *   next checkpoint, which `SqliteWriter` runs at most `fsyncIntervalMs` after a write (and
 *   `flush()` runs at once), so a power loss loses at most that interval: the old log's promise;
 * - `never` -> OFF: the OS decides (a process crash still loses nothing acknowledged).
 */
const SYNCHRONOUS: Record<FsyncPolicy, string> = { always: 'FULL', interval: 'NORMAL', never: 'OFF' };

/** Opens (creating) the database with WAL, the policy's `synchronous` and the schema. */
export function openDatabase(file: string, fsync: FsyncPolicy): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${SYNCHRONOUS[fsync]}`);
    // a page cache of 16 MB (negative: KiB): reads of recent pages stay in memory, RSS stays bounded
    db.pragma('cache_size = -16384');
    // no integrity check here: it reads the whole file (seconds for millions of events); a damaged
    // page is reported by the statement that reads it, naming the file (SQLITE_CORRUPT)
    db.exec(SCHEMA);
    return db;
  } catch (err) {
    db?.close();
    const code = (err as { code?: string }).code ?? '';
    const advice = /NOTADB|CORRUPT/.test(code)
      ? 'The file is damaged or not a database: move it aside (keep it: `sqlite3 FILE .recover` reads what is left) and start again'
      : 'Check that the data directory exists and this user may write to it (SEXTANT_DATA_DIR)';
    throw new StoreUnavailableError(
      `the embedded store's database ${file} cannot be opened: ${code ? `${code}: ` : ''}${(err as Error).message}. ${advice}`,
      { cause: err },
    );
  }
}

/**
 * Serialises every write of the store into transactions off the caller's path: writes queue and
 * run together, in order, in one transaction on the next turn of the event loop (what the
 * recorder hands over in one tick becomes one commit). A failed transaction is rolled back, its
 * writes go back to the head of the queue and their callers are rejected: the next write or
 * `flush` tries them again, so a full disk delays writes but never drops one.
 */
export class SqliteWriter {
  #queue: (() => void)[] = [];
  #waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  #scheduled = false;
  #syncTimer: NodeJS.Timeout | undefined;
  #dirty = false;
  #closed = false;
  /** The last write's failure, until a write succeeds: the store's health. */
  lastError: string | undefined;

  constructor(
    private readonly db: Database.Database,
    private readonly fsync: FsyncPolicy,
    private readonly fsyncIntervalMs = 1000,
  ) {}

  /** Queues one write (run inside the batch's transaction); resolves when it is committed. */
  write(op: () => void): Promise<void> {
    if (this.#closed) return Promise.reject(new StoreUnavailableError('the embedded store is closed'));
    this.#queue.push(op);
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.#drain();
        });
      }
    });
  }

  /** Commits what is queued now; true when nothing is left queued. Never throws. */
  #drain(): boolean {
    if (this.#queue.length === 0) return true;
    const ops = this.#queue;
    const waiters = this.#waiters;
    this.#queue = [];
    this.#waiters = [];
    try {
      this.db.transaction(() => {
        for (const op of ops) op();
      })();
    } catch (err) {
      this.#queue = ops.concat(this.#queue);
      const failure = unavailable(err);
      this.lastError = failure.message;
      for (const w of waiters) w.reject(failure);
      return false;
    }
    this.lastError = undefined;
    this.#dirty = true;
    if (this.fsync === 'interval') this.#scheduleSync();
    for (const w of waiters) w.resolve();
    return true;
  }

  /**
   * Commits what is queued, if it can, before a read (so a read sees every write made before it).
   * A failing write is reported to its writer and in health; the read answers what is stored.
   */
  settle(): void {
    this.#drain();
  }

  /** Commits everything queued and makes it durable (a checkpoint: the WAL is fsynced). */
  flush(): Promise<void> {
    if (this.#queue.length > 0) {
      const waiting = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
      this.#drain();
      return waiting.then(() => this.#sync());
    }
    return Promise.resolve().then(() => this.#sync());
  }

  close(): void {
    if (this.#closed) return;
    this.#drain();
    if (this.#syncTimer) clearTimeout(this.#syncTimer);
    this.#closed = true;
    const left = this.#queue.length;
    this.db.close(); // a clean close checkpoints the WAL into the database
    if (left > 0)
      throw new StoreUnavailableError(`the embedded store closed with ${left} write(s) it could not commit`);
  }

  #scheduleSync(): void {
    if (this.#syncTimer) return;
    this.#syncTimer = setTimeout(() => {
      this.#syncTimer = undefined;
      if (!this.#closed) {
        try {
          this.#sync();
        } catch {
          // the next write or flush reports it
        }
      }
    }, this.fsyncIntervalMs);
    this.#syncTimer.unref();
  }

  #sync(): void {
    if (!this.#dirty || this.fsync === 'never' || this.#closed) return;
    this.#dirty = false;
    try {
      // in WAL mode a checkpoint fsyncs the WAL first, then the database after copying into it
      this.db.pragma('wal_checkpoint(PASSIVE)');
    } catch (err) {
      this.#dirty = true;
      throw unavailable(err);
    }
  }
}

function unavailable(err: unknown): StoreUnavailableError {
  if (err instanceof StoreUnavailableError) return err;
  const code = (err as { code?: string }).code;
  return new StoreUnavailableError(`${code ? `${code}: ` : ''}${(err as Error).message}`, { cause: err });
}

/** What `sextant store check` reports of a database. */
export interface DatabaseCheck {
  readonly file: string;
  /** `ok`, or SQLite's integrity_check findings. */
  readonly problems: readonly string[];
  /** Rows per table. */
  readonly rows: Record<string, number>;
}

/**
 * Reads a whole database read-only (PRAGMA integrity_check: every page, every index entry) and
 * counts its rows. Safe next to a running Sextant (WAL readers do not block the writer), slow on
 * a large file: it reads all of it.
 */
export function checkDatabase(file: string): DatabaseCheck {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const problems = (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check);
    const rows: Record<string, number> = {};
    for (const table of ['events', 'orders', 'fills', 'portfolio', 'conversations']) {
      rows[table] = (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    }
    return { file, problems: problems.length === 1 && problems[0] === 'ok' ? [] : problems, rows };
  } finally {
    db.close();
  }
}
