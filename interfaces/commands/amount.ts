/**
 * A number as people write it: `20%` (0.2), `1k` (1000), `2.5m`, `$5,000` (5000), `half` (0.5);
 * undefined when it is not one. Commands and the offline parser read amounts alike.
 */
export function amount(text: string): number | undefined {
  const word = WORDS[text.trim().toLowerCase()];
  if (word !== undefined) return word;
  const m = /^\$?(-?\d[\d,]*(?:\.\d+)?)\s*(%|k|m)?$/i.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]!.replace(/,/g, ''));
  if (!Number.isFinite(n)) return undefined;
  const unit = m[2]?.toLowerCase();
  return unit === '%' ? Math.round(n * 1e6) / 1e8 : unit === 'k' ? n * 1_000 : unit === 'm' ? n * 1_000_000 : n;
}

const WORDS: Readonly<Record<string, number>> = { half: 0.5, quarter: 0.25, third: 1 / 3, all: 1 };
