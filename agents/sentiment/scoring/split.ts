import { LABELS } from './labelled-csv.js';

/** What {@link assignFolds} needs of a row. */
export interface SplitRow {
  readonly text: string;
  readonly label: (typeof LABELS)[number];
}

/**
 * The text a split groups by: lower case, links removed, spaces collapsed, so copies of one
 * tweet that differ only in their short link land on the same side (no leakage).
 */
export function splitKey(text: string): string {
  return text
    .toLowerCase()
    .replace(/https?:\/\/\S*/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** FNV-1a (32-bit) of a string's UTF-16 code units, salted; stable across runs and machines. */
export function fnv1a(text: string, salt = ''): number {
  let h = 0x811c9dc5;
  const s = salt + text;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A fold in [0, k) for every row: deterministic (a hash of the text, no randomness),
 * stratified (within each label, texts ordered by hash are dealt round-robin, so every fold
 * holds ~1/k of each class) and grouped (rows with the same {@link splitKey} share a fold;
 * a text seen with two labels is dealt with its first). `salt` gives an independent split.
 */
export function assignFolds(rows: readonly SplitRow[], k: number, salt = ''): number[] {
  const firstLabel = new Map<string, number>();
  const keys = rows.map((r) => {
    const key = splitKey(r.text);
    if (!firstLabel.has(key)) firstLabel.set(key, LABELS.indexOf(r.label));
    return key;
  });
  const foldOf = new Map<string, number>();
  for (let label = 0; label < LABELS.length; label++) {
    const group = [...firstLabel].filter(([, l]) => l === label).map(([key]) => ({ key, hash: fnv1a(key, salt) }));
    group.sort((a, b) => a.hash - b.hash || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    group.forEach(({ key }, rank) => foldOf.set(key, rank % k));
  }
  return keys.map((key) => foldOf.get(key)!);
}

/** The deterministic 80/20 split the training script reports on: `heldOut` is fold 0 of 5. */
export function holdOutSplit<T extends SplitRow>(rows: readonly T[]): { train: T[]; heldOut: T[] } {
  const folds = assignFolds(rows, 5, 'holdout');
  return { train: rows.filter((_, i) => folds[i] !== 0), heldOut: rows.filter((_, i) => folds[i] === 0) };
}
