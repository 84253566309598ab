import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/index.js';
import { quarantineLines } from '../infra/files/index.js';
import { checkDatabase, DB_FILE, LEGACY_FILES } from '../infra/store/index.js';

const HELP = `Usage: sextant store check|repair [--data-dir DIR]

The embedded store (SEXTANT_DATA_DIR, default ./data) is one SQLite database, ${DB_FILE}.

  check    Reads the whole database read-only (SQLite's integrity_check) and counts its rows.
           Safe while Sextant runs; reads every page, so slow on a large file.
  repair   For a data directory of the append-log store that came before SQLite, whose files
           (events.ndjson, orders.ndjson, ...) are imported on the next start: moves lines that
           are not valid JSON, and a torn last line, to <file>.quarantine-<time>.ndjson next to it.
           Nothing is deleted: inspect the quarantine file, fix a line by hand and append it back
           if it matters. Stop Sextant first. Documents that are valid JSON but fail their schema
           are named by file, line and id when the import stops; move those by hand.`;

/** `sextant store check|repair`: look into the embedded store, and the recovery path for append-log files. */
export async function storeCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'repair' && sub !== 'check') {
    console.log(HELP);
    return sub === undefined || sub === '--help' ? 0 : 2;
  }
  const { values } = parseArgs({ args: rest, options: { 'data-dir': { type: 'string' } } });
  const dir = values['data-dir'] ?? loadConfig().dataDir;
  return sub === 'check' ? check(dir) : repair(dir);
}

function check(dir: string): number {
  const file = join(dir, DB_FILE);
  if (!existsSync(file)) {
    console.log(`${file}: no such file (the store makes it on its first start)`);
    return 1;
  }
  const result = checkDatabase(file);
  const counts = Object.entries(result.rows)
    .map(([table, n]) => `${table} ${n.toLocaleString('en-US')}`)
    .join(', ');
  if (result.problems.length === 0) {
    console.log(`${file}: ok (${counts})`);
    return 0;
  }
  console.log(`${file}: ${result.problems.length} problem(s):\n  ${result.problems.slice(0, 20).join('\n  ')}`);
  console.log('Stop Sextant, keep a copy of the file, and recover what is readable with `sqlite3 FILE .recover`.');
  return 1;
}

async function repair(dir: string): Promise<number> {
  let moved = 0;
  for (const name of LEGACY_FILES.filter((n) => existsSync(join(dir, n)))) {
    const result = await quarantineLines(join(dir, name), (text) => {
      try {
        JSON.parse(text);
        return false;
      } catch {
        return true;
      }
    });
    if (result.moved > 0) console.log(`${join(dir, name)}: moved ${result.moved} bad line(s) to ${result.quarantine}`);
    moved += result.moved;
  }
  console.log(
    moved === 0
      ? `${dir}: every line of the append-log files is valid JSON; nothing to repair`
      : `${dir}: ${moved} line(s) quarantined; start Sextant again`,
  );
  return 0;
}
