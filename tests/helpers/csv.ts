import { seededPrng } from '../../agents/data/feeds/prng.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Writes a Yahoo-format daily CSV whose opens and closes are given; returns its path. */
export function dailyCsv(
  closes: readonly number[],
  options: { start?: number; opens?: readonly number[] } = {},
): string {
  const start = options.start ?? Date.UTC(2024, 0, 1);
  const rows = ['Date,Open,High,Low,Close,Adj Close,Volume'];
  closes.forEach((c, i) => {
    const o = options.opens?.[i] ?? c;
    const date = new Date(start + i * 86_400_000).toISOString().slice(0, 10);
    rows.push(`${date},${o},${Math.max(o, c)},${Math.min(o, c)},${c},${c},1000`);
  });
  const file = join(mkdtempSync(join(tmpdir(), 'sextant-csv-')), 'bars.csv');
  writeFileSync(file, rows.join('\n') + '\n');
  return file;
}

/** Closes that fall, then rise enough for a fast SMA to cross above a slow one, then fall again. */
export const vShape = (n = 12): number[] => [
  ...Array.from({ length: n }, (_, i) => 100 - i),
  ...Array.from({ length: n }, (_, i) => 100 - n + 2 * i),
  ...Array.from({ length: n }, (_, i) => 100 + n - 3 * i),
];

/** A seeded random walk of `n` daily closes (1% daily moves), as a Yahoo-format CSV path. */
export function randomWalkCsv(n: number, seed: number): string {
  const next = seededPrng(seed, 'walk');
  const closes: number[] = [];
  let c = 50;
  for (let i = 0; i < n; i++) {
    c = Math.max(1, c * (1 + 0.02 * (next() - 0.5)));
    closes.push(Math.round(c * 10_000) / 10_000);
  }
  return dailyCsv(closes);
}

/**
 * Seeded random walks of several symbols, `n` one-minute bars each, interleaved by time, as an
 * NDJSON feed file (`DATA_FEED=ndjson`); returns its path.
 */
export function multiSymbolNdjson(symbols: readonly string[], n: number, seed: number): string {
  const lines: string[] = [];
  const walks = symbols.map((s, k) => ({ s, next: seededPrng(seed + k, `walk-${s}`), c: 50 + 10 * k }));
  const start = Date.UTC(2026, 0, 5, 14, 30);
  for (let i = 0; i < n; i++) {
    for (const w of walks) {
      const open = w.c;
      w.c = Math.max(1, Math.round(w.c * (1 + 0.02 * (w.next() - 0.5)) * 10_000) / 10_000);
      lines.push(
        JSON.stringify({
          kind: 'bar',
          symbol: w.s,
          time: start + i * 60_000,
          open,
          high: Math.max(open, w.c),
          low: Math.min(open, w.c),
          close: w.c,
          volume: 1_000_000,
        }),
      );
    }
  }
  const file = join(mkdtempSync(join(tmpdir(), 'sextant-ndjson-')), 'bars.ndjson');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}
