import { link, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { writeDurably, idIn } from '../../files/index.js';
import { fromStoredJson, toStoredJson } from '../json.js';
import { snapshotDocSchema, StoreCorruptError, type SnapshotDoc, type SnapshotStore } from '../ports.js';

/** Parses and validates one stored line; failures name the document's id. */
export function parseDoc<S extends z.ZodType>(text: string, schema: S): z.infer<S> {
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

/**
 * One file per key, replaced atomically: write `<key>.json.tmp`, fsync, keep the old file as
 * `<key>.json.prev` (a hard link), rename over it. Saves are serialised per key, and one with a lower or equal seq
 * than the stored one is ignored, so snapshots are kept in the order they were taken.
 */
export class EmbeddedSnapshots implements SnapshotStore {
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
