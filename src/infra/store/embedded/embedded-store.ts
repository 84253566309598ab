import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FsyncPolicy, TornTail } from '../../files/index.js';
import type { Store, StoreHealth } from '../ports.js';
import { EmbeddedSnapshots } from './file-snapshots.js';
import { importLegacyAppendLog, type LegacyImport } from './legacy-import.js';
import { DB_FILE, openDatabase, SqliteWriter } from './sqlite-db.js';
import { SqliteConversations, SqliteEvents, SqliteFills, SqliteOrders, SqlitePortfolio } from './sqlite-tables.js';

export interface EmbeddedStoreOptions {
  /** The data directory (SEXTANT_DATA_DIR). */
  readonly dir: string;
  readonly fsync: FsyncPolicy;
  readonly fsyncIntervalMs?: number;
  /** Told about torn last lines found while importing an append-log directory (the caller logs them loudly). */
  readonly onTorn?: (torn: TornTail) => void;
  /** Told once when an append-log directory (the store before SQLite) was imported. */
  readonly onImported?: (imported: LegacyImport) => void;
  /**
   * Caps the database at this many pages (4 KiB each): writes beyond fail as on a full disk
   * (SQLITE_FULL). For tests of a store that cannot write; unset in every real run.
   */
  readonly maxPages?: number;
}

/**
 * The embedded store: the default when MONGODB_URI is unset. One SQLite database in the data
 * directory (`sextant.db`, WAL mode, better-sqlite3) holds the event log, orders, fills,
 * portfolio snapshots and conversations, each indexed for its queries (sqlite-db.ts); agent
 * checkpoints stay one JSON file per key under `snapshots/`, replaced atomically.
 *
 * Durability: see `SYNCHRONOUS` in sqlite-db.ts (the fsync policy keeps its old meaning: with the
 * default `interval`, an acknowledged write survives a process crash at once and a power loss
 * after `fsyncIntervalMs`). Writes are batched into one transaction per turn of the event loop,
 * off the caller's path. A data directory of the append-log store that came before is imported
 * once on open (legacy-import.ts) and its files moved aside.
 *
 * Limits (documented in the README): one process per directory (a lock file enforces it);
 * duplicate events are recognised exactly (a unique index on the envelope id).
 */
export async function openEmbeddedStore(options: EmbeddedStoreOptions): Promise<Store> {
  const { dir } = options;
  await mkdir(join(dir, 'snapshots'), { recursive: true });
  await takeLock(dir);
  let writer: SqliteWriter | undefined;
  try {
    const db = openDatabase(join(dir, DB_FILE), options.fsync);
    writer = new SqliteWriter(db, options.fsync, options.fsyncIntervalMs);
    const events = new SqliteEvents(db, writer);
    const orders = new SqliteOrders(db, writer);
    const fills = new SqliteFills(db, writer);
    const portfolio = new SqlitePortfolio(db, writer);
    const conversations = new SqliteConversations(db, writer);
    const imported = await importLegacyAppendLog(
      db,
      dir,
      { events, orders, fills, portfolio, conversations },
      options.onTorn,
    );
    if (imported) options.onImported?.(imported);
    if (options.maxPages !== undefined) db.pragma(`max_page_count = ${Math.floor(options.maxPages)}`);
    const snapshots = new EmbeddedSnapshots(join(dir, 'snapshots'));
    await snapshots.loadAll();
    const w = writer;
    return {
      kind: 'embedded',
      events,
      orders,
      fills,
      portfolio,
      snapshots,
      conversations,
      health: (): Promise<StoreHealth> =>
        Promise.resolve({
          ok: w.lastError === undefined,
          kind: 'embedded',
          detail: w.lastError ?? `embedded store at ${join(dir, DB_FILE)}`,
        }),
      flush: () => w.flush(),
      close: async () => {
        try {
          w.close();
        } finally {
          await rm(join(dir, 'LOCK'), { force: true });
        }
      },
    };
  } catch (err) {
    try {
      writer?.close();
    } catch {
      // the open's own error is the one to report
    }
    await rm(join(dir, 'LOCK'), { force: true });
    throw err;
  }
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
