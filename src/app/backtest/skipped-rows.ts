import type { FeedFormatError } from '../../../agents/data/index.js';

/** Rows of the data file a lenient backtest skipped: how many, and the first few with their problem. */
export interface SkippedRows {
  readonly count: number;
  /** The first {@link SKIPPED_SHOWN} in file order: 1-based line and what was wrong with it. */
  readonly first: readonly { readonly line: number; readonly problem: string }[];
}

/** How many skipped rows a result names one by one. */
export const SKIPPED_SHOWN = 5;

/** Collects the rows a lenient feed skips (its `onSkip`); `report(count)` takes the feed's own count. */
export class SkippedRowLog {
  readonly #first: { line: number; problem: string }[] = [];

  readonly onSkip = (err: FeedFormatError): void => {
    if (this.#first.length < SKIPPED_SHOWN) this.#first.push({ line: err.line, problem: err.problem });
  };

  report(count: number): SkippedRows {
    return { count, first: [...this.#first] };
  }
}

/** The summary lines for skipped rows (none when nothing was skipped). */
export function skippedLines(s: SkippedRows): string[] {
  if (s.count === 0) return [];
  const rows = s.count === 1 ? '1 row' : `${s.count.toLocaleString('en-US')} rows`;
  const lines = [
    `  skipped       ${rows} of the data file (--lenient)${s.first.length < s.count ? ', the first:' : ':'}`,
  ];
  for (const r of s.first) lines.push(`                line ${r.line}: ${r.problem}`);
  return lines;
}
