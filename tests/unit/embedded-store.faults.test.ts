import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/core/messaging/envelope.js';
import { main } from '../../src/cli/main.js';
import type { TornTail } from '../../src/infra/files/append-log.js';
import { openEmbeddedStore } from '../../src/infra/store/embedded/embedded-store.js';
import {
  StoreCorruptError,
  StoreUnavailableError,
  type FillDoc,
  type OrderDoc,
  type RecordedEvent,
} from '../../src/infra/store/ports.js';

const ev = (id: string): RecordedEvent => ({
  subject: 'market.bar.ORCL',
  env: {
    id,
    type: 'market.bar',
    v: 1,
    source: 't/1',
    correlationId: id,
    time: 1,
    payload: { symbol: 'ORCL' },
  } as Envelope,
});

const order = (version: number, status: OrderDoc['status']): OrderDoc => ({
  clientOrderId: 'sma-cross-01ABC',
  symbol: 'ORCL',
  side: 'buy',
  qty: 10,
  type: 'market',
  status,
  filledQty: status === 'filled' ? 10 : 0,
  avgPrice: 0,
  correlationId: 'c1',
  createdAt: 1,
  updatedAt: version,
  version,
});

const fill = (id: string): FillDoc => ({
  id,
  clientOrderId: 'sma-cross-01ABC',
  symbol: 'ORCL',
  side: 'buy',
  qty: 10,
  price: 1,
  fee: 0,
  time: 2,
  correlationId: 'c1',
});

describe('embedded store: corrupt files and crashes', () => {
  let dir: string;
  const open = (onTorn?: (t: TornTail) => void) =>
    openEmbeddedStore({ dir, fsync: 'always', ...(onTorn ? { onTorn } : {}) });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sextant-faults-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Writes a data directory as the append-log store (before SQLite) left it. */
  const legacy = (name: string, lines: unknown[], tail = '') =>
    writeFileSync(
      join(dir, name),
      lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l)) + '\n').join('') + tail,
    );

  it('an append-log data directory is imported once on open: every event, order and fill kept, the files moved aside', async () => {
    legacy('events.ndjson', [ev('a'), ev('b'), ev('a')]); // a re-appended id, as the old log could hold
    legacy('orders.ndjson', [order(1, 'submitted'), order(2, 'filled'), order(1, 'submitted')]);
    legacy('fills.ndjson', [fill('f1'), fill('f1')]);
    const imported: string[] = [];
    const s = await openEmbeddedStore({ dir, fsync: 'always', onImported: (i) => imported.push(i.movedTo) });
    expect(imported).toHaveLength(1);
    expect(readdirSync(imported[0]!).sort()).toEqual(['events.ndjson', 'fills.ndjson', 'orders.ndjson']);
    expect(existsSync(join(dir, 'events.ndjson'))).toBe(false);
    expect((await s.events.query({})).map((e) => e.env.id)).toEqual(['a', 'b']);
    expect((await s.orders.get('sma-cross-01ABC'))?.status).toBe('filled');
    expect(await s.fills.list()).toHaveLength(1);
    await s.close();
    const again = await openEmbeddedStore({ dir, fsync: 'always', onImported: (i) => imported.push(i.movedTo) });
    expect(imported).toHaveLength(1); // nothing left to import
    expect(await again.events.count()).toBe(2);
    await again.close();
  });

  it('a torn last line of an append-log file (a write cut off by a crash) is reported, not imported, and kept in the moved file', async () => {
    legacy('events.ndjson', [ev('a'), ev('b')], '{"subject":"market.bar.ORCL","env":{"id":"c","ty');
    const torn: TornTail[] = [];
    const s = await open((t) => torn.push(t));
    expect(await s.events.count()).toBe(2);
    expect(torn).toHaveLength(1);
    expect(readFileSync(torn[0]!.savedTo, 'utf8')).toContain('"id":"c"');
    await s.events.append([ev('d')]);
    expect((await s.events.query({})).map((e) => e.env.id)).toEqual(['a', 'b', 'd']);
    await s.close();
  });

  it('a garbage line in an append-log file stops the open with file, line and a recovery path; `sextant store repair` moves it aside and the import loses nothing else', async () => {
    legacy('events.ndjson', [ev('a'), 'garbage \u0000 not json', ev('b')]);
    const err = await open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreCorruptError);
    expect((err as Error).message).toMatch(/events\.ndjson:2: not valid JSON; run `sextant store repair`/);

    const logged: string[] = [];
    const log = console.log;
    console.log = (m: string) => void logged.push(m);
    try {
      expect(await main(['store', 'repair', '--data-dir', dir])).toBe(0);
    } finally {
      console.log = log;
    }
    expect(logged.join('\n')).toMatch(/moved 1 bad line/);
    const quarantine = readdirSync(dir).find((n) => n.includes('.quarantine-'))!;
    expect(readFileSync(join(dir, quarantine), 'utf8')).toContain('garbage');
    const repaired = await open();
    expect((await repaired.events.query({})).map((e) => e.env.id)).toEqual(['a', 'b']);
    await repaired.close();
  });

  it('an append-log document that fails its schema is reported with its id, not skipped', async () => {
    writeFileSync(
      join(dir, 'orders.ndjson'),
      JSON.stringify({ clientOrderId: 'sma-cross-01ABC', symbol: 'ORCL', side: 'sideways', qty: 1 }) + '\n',
    );
    const err = await open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreCorruptError);
    expect((err as StoreCorruptError).message).toContain('orders.ndjson:1');
    expect((err as StoreCorruptError).docId).toBe('sma-cross-01ABC');
    expect((err as Error).message).toContain('(id sma-cross-01ABC)');
    expect((err as Error).message).toMatch(/fails its schema/);
  });

  it('`sextant store check` reads the database while it is open and counts what it holds', async () => {
    const s = await open();
    await s.events.append([ev('a'), ev('b')]);
    await s.flush();
    const logged: string[] = [];
    const log = console.log;
    console.log = (m: string) => void logged.push(m);
    try {
      expect(await main(['store', 'check', '--data-dir', dir])).toBe(0);
    } finally {
      console.log = log;
    }
    expect(logged.join('\n')).toMatch(/sextant\.db: ok \(events 2, orders 0/);
    await s.close();
  });

  it('a database file that is not SQLite stops the open naming the file and what to do', async () => {
    writeFileSync(
      join(dir, 'sextant.db'),
      'this is not a database, just text long enough to have a header '.repeat(20),
    );
    const err = await open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toMatch(/sextant\.db cannot be opened: .*not a database.*move it aside/);
  });

  it('a stored document that fails its schema on read is reported with its table and id, not skipped', async () => {
    const s = await open();
    await s.orders.put(order(1, 'submitted'));
    await s.close();
    const db = new Database(join(dir, 'sextant.db'));
    db.prepare("UPDATE orders SET doc = json_set(doc, '$.side', 'sideways')").run();
    db.close();
    const again = await open();
    const err = await again.orders.get('sma-cross-01ABC').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreCorruptError);
    expect((err as Error).message).toMatch(/^orders \(id sma-cross-01ABC\): fails its schema at side/);
    await again.close();
  });

  it('a corrupt snapshot names the file and how to fall back to the previous one', async () => {
    const s = await open();
    await s.snapshots.save({ key: 'risk', seq: 1, runId: 'r', savedAt: 1, state: { a: 1 } });
    await s.snapshots.save({ key: 'risk', seq: 2, runId: 'r', savedAt: 2, state: { a: 2 } });
    await s.close();
    writeFileSync(join(dir, 'snapshots', 'risk.json'), '{"key":"risk","seq":');
    const err = await open().catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/risk\.json.*previous snapshot is kept as .*risk\.json\.prev/);
    expect(existsSync(join(dir, 'snapshots', 'risk.json.prev'))).toBe(true);
  });

  it('an append acknowledged with STORE_FSYNC=interval survives kill -9 of the process at once, before any checkpoint', async () => {
    const store = fileURLToPath(new URL('../../src/infra/store/embedded/embedded-store.ts', import.meta.url));
    const code = `
      const { openEmbeddedStore } = await import(${JSON.stringify(store)});
      const s = await openEmbeddedStore({ dir: ${JSON.stringify(dir)}, fsync: 'interval', fsyncIntervalMs: 600000 });
      const ev = (id) => ({ subject: 'market.bar.ORCL', env: { id, type: 'market.bar', v: 1, source: 't/1', correlationId: id, time: 1, payload: { symbol: 'ORCL' } } });
      await s.events.append([ev('a'), ev('b')]);
      await s.orders.put(${JSON.stringify(order(1, 'submitted'))});
      console.log('acked');
      setInterval(() => undefined, 1000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('acked') && resolve());
      child.on('exit', (c) => reject(new Error(`the writer exited ${c} before acknowledging`)));
    });
    child.kill('SIGKILL');
    await exited;
    const again = await open(); // its lock names a dead process: taken over
    expect((await again.events.query({})).map((e) => e.env.id)).toEqual(['a', 'b']);
    expect((await again.orders.get('sma-cross-01ABC'))?.status).toBe('submitted');
    await again.close();
  });

  it('a second process cannot open a data directory in use', async () => {
    writeFileSync(join(dir, 'LOCK'), String(process.ppid)); // a live process that is not us
    await expect(open()).rejects.toThrow(/in use by process \d+/);
    writeFileSync(join(dir, 'LOCK'), '999999999'); // a dead one: a stale lock is taken over
    const s = await open();
    await s.close();
  });

  it('a write that fails (disk full) is never reported as done: retrying the same events fails again until it can write them', async () => {
    const s = await openEmbeddedStore({ dir, fsync: 'always', maxPages: 64 }); // 256 KiB: full after a few hundred events
    const big = (i: number) => ({
      ...ev(`big-${i}`),
      env: { ...ev(`big-${i}`).env, payload: { pad: 'x'.repeat(4000) } },
    });
    const batch = Array.from({ length: 200 }, (_, i) => big(i));
    await expect(s.events.append(batch)).rejects.toThrow(/SQLITE_FULL/);
    expect((await s.health()).ok).toBe(false);
    await expect(s.events.append([ev('a')])).rejects.toThrow(/SQLITE_FULL/); // the recorder's retry: the batch is still first
    await expect(s.flush()).rejects.toThrow(/SQLITE_FULL/);
    expect(await s.events.count()).toBe(0); // nothing half-written
    await s.close().catch(() => undefined);
  });

  // chattr +i makes a file immutable even for root: the disk refusing writes, as a read-only mount
  // does. It needs root (CAP_LINUX_IMMUTABLE) and a file system with attributes; skipped without.
  const canFreeze = (() => {
    const probe = join(tmpdir(), `sextant-chattr-${process.pid}`);
    writeFileSync(probe, '');
    try {
      return spawnSync('chattr', ['+i', probe]).status === 0 && spawnSync('chattr', ['-i', probe]).status === 0;
    } finally {
      rmSync(probe, { force: true });
    }
  })();
  it.skipIf(!canFreeze)(
    'a database file the disk stops taking writes to fails the writes and health; once it takes them again the same writes succeed and nothing is lost',
    async () => {
      const s = await openEmbeddedStore({ dir, fsync: 'interval', fsyncIntervalMs: 50 });
      await s.events.append([ev('a')]);
      const wal = join(dir, 'sextant.db-wal');
      spawnSync('chattr', ['+i', wal]);
      try {
        const failed = s.events.append([ev('b'), ev('c')]);
        await expect(failed).rejects.toThrow(StoreUnavailableError);
        await expect(failed).rejects.toThrow(/SQLITE_(IOERR|READONLY|CANTOPEN)/);
        expect((await s.health()).ok).toBe(false);
        expect((await s.health()).detail).toMatch(/SQLITE_/);
      } finally {
        spawnSync('chattr', ['-i', wal]);
      }
      await s.events.append([ev('b'), ev('c')]); // the recorder's retry
      expect((await s.health()).ok).toBe(true);
      await s.close();
      const again = await open();
      expect((await again.events.query({})).map((e) => e.env.id)).toEqual(['a', 'b', 'c']);
      await again.close();
    },
  );

  it('a snapshot save that fails does not stop later saves, and load answers what is on disk', async () => {
    const s = await open();
    await s.snapshots.save({ key: 'risk', seq: 1, runId: 'r', savedAt: 1, state: { n: 1 } });
    mkdirSync(join(dir, 'snapshots', 'risk.json.tmp')); // the next write of risk.json fails (EISDIR)
    await expect(s.snapshots.save({ key: 'risk', seq: 2, runId: 'r', savedAt: 2, state: { n: 2 } })).rejects.toThrow();
    expect((await s.snapshots.load('risk'))?.seq).toBe(1);
    rmSync(join(dir, 'snapshots', 'risk.json.tmp'), { recursive: true });
    await s.snapshots.save({ key: 'risk', seq: 3, runId: 'r', savedAt: 3, state: { n: 3 } });
    await s.close();
    const again = await open();
    expect((await again.snapshots.load('risk'))?.state).toEqual({ n: 3 });
    await again.close();
  });
});
