import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/index.js';
import { quarantineLines } from '../infra/files/index.js';

const HELP = `Usage: sextant store repair [--data-dir DIR]

Checks every file of the embedded store (SEXTANT_DATA_DIR, default ./data) and moves lines that
are not valid JSON, and a torn last line, to <file>.quarantine-<time>.ndjson next to it. Nothing
is deleted: inspect the quarantine file, fix a line by hand and append it back if it matters.
Stop Sextant first. Documents that are valid JSON but fail their schema are named by id at
start-up; move those by hand (the error names file, line and id).`;

/** `sextant store repair`: the recovery path for corrupt embedded files. */
export async function storeCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'repair') {
    console.log(HELP);
    return sub === undefined || sub === '--help' ? 0 : 2;
  }
  const { values } = parseArgs({ args: rest, options: { 'data-dir': { type: 'string' } } });
  const dir = values['data-dir'] ?? loadConfig().dataDir;
  let moved = 0;
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.ndjson') && !n.includes('.quarantine-'))) {
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
      ? `${dir}: every line is valid JSON; nothing to repair`
      : `${dir}: ${moved} line(s) quarantined; start Sextant again`,
  );
  return 0;
}
