import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/core/messaging/envelope.js';
import { main } from '../../src/cli/main.js';
import type { TornTail } from '../../src/infra/files/append-log.js';
import { openEmbeddedStore } from '../../src/infra/store/embedded/embedded-store.js';
import { StoreCorruptError, type RecordedEvent } from '../../src/infra/store/ports.js';

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

describe('embedded store: corrupt files and crashes', () => {
  let dir: string;
  const open = (onTorn?: (t: TornTail) => void) =>
    openEmbeddedStore({ dir, fsync: 'always', ...(onTorn ? { onTorn } : {}) });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sextant-faults-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a torn last line (a write cut off by a crash) is moved aside on open and everything before it is kept', async () => {
    const s = await open();
    await s.events.append([ev('a'), ev('b')]);
    await s.close();
    appendFileSync(join(dir, 'events.ndjson'), '{"subject":"market.bar.ORCL","env":{"id":"c","ty');
    const torn: TornTail[] = [];
    const again = await open((t) => torn.push(t));
    expect(await again.events.count()).toBe(2);
    expect(torn).toHaveLength(1);
    expect(readFileSync(torn[0]!.savedTo, 'utf8')).toContain('"id":"c"');
    await again.events.append([ev('d')]);
    expect((await again.events.query({})).map((e) => e.env.id)).toEqual(['a', 'b', 'd']);
    await again.close();
  });

  it('a garbage line in the middle stops the open with file, line and a recovery path; `sextant store repair` moves it aside and loses nothing else', async () => {
    const s = await open();
    await s.events.append([ev('a')]);
    await s.close();
    appendFileSync(join(dir, 'events.ndjson'), 'garbage \u0000 not json\n' + JSON.stringify(ev('b')) + '\n');
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

  it('a document that fails its schema on read is reported with its id, not skipped', async () => {
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

  it('a second process cannot open a data directory in use', async () => {
    writeFileSync(join(dir, 'LOCK'), String(process.ppid)); // a live process that is not us
    await expect(open()).rejects.toThrow(/in use by process \d+/);
    writeFileSync(join(dir, 'LOCK'), '999999999'); // a dead one: a stale lock is taken over
    const s = await open();
    await s.close();
  });

  it('a write that fails (disk full) is never reported as done: retrying the same events fails again until it can write them', async () => {
    symlinkSync('/dev/full', join(dir, 'events.ndjson')); // every write there fails with ENOSPC
    const s = await open();
    await expect(s.events.append([ev('a'), ev('b')])).rejects.toThrow(/ENOSPC/);
    await expect(s.events.append([ev('a'), ev('b')])).rejects.toThrow(/ENOSPC/); // the recorder's retry
    await expect(s.flush()).rejects.toThrow(/ENOSPC/);
  });

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
