import type Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import { corruptLine, readLines, type TornTail } from '../../files/index.js';
import {
  conversationDocSchema,
  fillDocSchema,
  orderDocSchema,
  portfolioDocSchema,
  StoreCorruptError,
  type RecordedEvent,
} from '../ports.js';
import { parseDoc } from './file-snapshots.js';
import type { SqliteConversations, SqliteEvents, SqliteFills, SqliteOrders, SqlitePortfolio } from './sqlite-tables.js';

/** The append-log files of the embedded store before SQLite (one NDJSON file per collection). */
export const LEGACY_FILES = [
  'events.ndjson',
  'orders.ndjson',
  'fills.ndjson',
  'portfolio.ndjson',
  'conversations.ndjson',
] as const;

export interface LegacyTables {
  readonly events: SqliteEvents;
  readonly orders: SqliteOrders;
  readonly fills: SqliteFills;
  readonly portfolio: SqlitePortfolio;
  readonly conversations: SqliteConversations;
}

export interface LegacyImport {
  /** Lines imported per file. */
  readonly lines: Record<string, number>;
  /** Where the imported files were moved (nothing is deleted). */
  readonly movedTo: string;
}

/** Lines per transaction while importing: bounded memory whatever the file's size. */
const BATCH = 10_000;

/**
 * Imports a data directory written by the append-log store (events.ndjson and the other files)
 * into the database, once: every line is checked as the old store checked it on open (a line
 * that is not JSON or fails its schema stops the import naming file, line and id, with `sextant
 * store repair` as the way out), inserted with the same keys (so an import that was cut short
 * and runs again stores nothing twice, and events keep their append order), and then the files
 * are moved into `append-log-imported-<time>/` in the directory. A torn last line (a write a
 * crash cut off, never acknowledged) is not imported; it stays in the moved file and is reported.
 */
export async function importLegacyAppendLog(
  db: Database.Database,
  dir: string,
  tables: LegacyTables,
  onTorn?: (torn: TornTail) => void,
): Promise<LegacyImport | undefined> {
  const present = LEGACY_FILES.filter((name) => existsSync(join(dir, name)));
  if (present.length === 0) return undefined;
  const movedTo = join(dir, `append-log-imported-${Date.now()}`);
  const lines: Record<string, number> = {};
  const torn: TornTail[] = [];
  for (const name of present) {
    const file = join(dir, name);
    const insert = inserter(name, tables);
    let batch: string[] = [];
    const commit = () => {
      const rows = batch;
      batch = [];
      db.transaction(() => rows.forEach((text) => insert(text)))();
    };
    const read = await readLines(file, (text, line) => {
      try {
        insertCheck(name, text);
      } catch (err) {
        throw corruptLine(file, line, text, err, ', then start again');
      }
      batch.push(text);
      if (batch.length >= BATCH) commit();
    });
    commit();
    lines[name] = read.lines;
    if (read.goodBytes < read.size)
      torn.push({ file, bytes: read.size - read.goodBytes, savedTo: join(movedTo, name) });
  }
  await mkdir(movedTo, { recursive: true });
  for (const name of present) await rename(join(dir, name), join(movedTo, name));
  for (const t of torn) onTorn?.(t);
  return { lines, movedTo };
}

const DOC_SCHEMAS: Record<string, z.ZodType> = {
  'orders.ndjson': orderDocSchema,
  'fills.ndjson': fillDocSchema,
  'portfolio.ndjson': portfolioDocSchema,
  'conversations.ndjson': conversationDocSchema,
};

/** Throws when a line would not have been accepted by the append-log store's open. */
function insertCheck(name: string, text: string): void {
  if (name !== 'events.ndjson') {
    parseDoc(text, DOC_SCHEMAS[name]!);
    return;
  }
  let e: RecordedEvent;
  try {
    e = JSON.parse(text) as RecordedEvent;
  } catch {
    throw new Error('not valid JSON');
  }
  const env = e?.env as Partial<RecordedEvent['env']> | undefined;
  if (typeof env?.id !== 'string') throw new StoreCorruptError('event', undefined, 'has no envelope id');
  if (typeof env.type !== 'string' || typeof env.time !== 'number' || typeof e.subject !== 'string') {
    throw new StoreCorruptError('event', env.id, 'is not a recorded envelope (subject, type, time)');
  }
}

function inserter(name: string, t: LegacyTables): (text: string) => void {
  switch (name) {
    case 'events.ndjson':
      return (text) => {
        const e = JSON.parse(text) as RecordedEvent;
        t.events.insertNow([{ subject: e.subject, env: e.env }]);
      };
    case 'orders.ndjson':
      return (text) => t.orders.putNow(parseDoc(text, orderDocSchema));
    case 'fills.ndjson':
      return (text) => t.fills.addNow([parseDoc(text, fillDocSchema)]);
    case 'portfolio.ndjson':
      return (text) => t.portfolio.addNow(parseDoc(text, portfolioDocSchema));
    default:
      return (text) => t.conversations.appendNow(parseDoc(text, conversationDocSchema));
  }
}
