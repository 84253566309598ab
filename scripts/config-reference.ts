/**
 * Keeps the README's configuration reference and `.env.example` in sync with config/keys.ts:
 * `npm run docs:config` rewrites both; `npm run docs:config -- --check` exits 1 when either is
 * stale (CI runs the check through tests/unit/config.test.ts as well).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderEnvExample, withConfigReference } from '../config/env-example.js';

const check = process.argv.includes('--check');
const targets: [string, (old: string) => string][] = [
  ['README.md', withConfigReference],
  ['.env.example', () => `${renderEnvExample().trimEnd()}\n`],
];
let stale = 0;
for (const [file, render] of targets) {
  const old = readFileSync(file, 'utf8');
  const next = render(old);
  if (old === next) continue;
  stale++;
  if (check) console.error(`${file} is out of date with config/keys.ts: run npm run docs:config`);
  else writeFileSync(file, next);
}
if (check && stale > 0) process.exit(1);
if (!check) console.log(stale > 0 ? `updated ${stale} file(s)` : 'already up to date');
