import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createDefaultScorer, readLabelledCsv } from '../agents/sentiment/scoring/index.js';

/**
 * Default sentiment scorer throughput: scores every text of the labelled finance tweets
 * (9,543) several times on one core, after a warm-up pass. Goal: >= 20,000 items/s.
 */

export interface SentimentBenchResult {
  readonly scorer: string;
  readonly items: number;
  readonly rounds: number;
  /** Median over the rounds. */
  readonly itemsPerSecond: number;
  readonly bestItemsPerSecond: number;
  readonly goals: { readonly itemsPerSecond: number };
  /** Why nothing was measured (the shared data file is missing). */
  readonly skipped?: string;
}

const TWEETS = fileURLToPath(
  new URL('../tests/fixtures/data/sentiment/twitter-financial-news-train.csv', import.meta.url),
);
const GOAL = 20_000;

export function runSentimentBench(rounds = 5): SentimentBenchResult {
  const scorer = createDefaultScorer();
  const base = { scorer: scorer.name, rounds, goals: { itemsPerSecond: GOAL } };
  if (!existsSync(TWEETS))
    return { ...base, items: 0, itemsPerSecond: 0, bestItemsPerSecond: 0, skipped: `${TWEETS} is missing` };
  const texts = readLabelledCsv(TWEETS).map((r) => r.text);
  let sink = 0; // keeps the work observable so it cannot be optimised away
  for (const t of texts) sink += scorer.score(t).score;
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    for (const t of texts) sink += scorer.score(t).score;
    rates.push(texts.length / ((performance.now() - start) / 1000));
  }
  if (!Number.isFinite(sink)) throw new Error('sentiment bench: a score was not finite');
  rates.sort((a, b) => a - b);
  return {
    ...base,
    items: texts.length,
    itemsPerSecond: Math.round(rates[Math.floor(rates.length / 2)]!),
    bestItemsPerSecond: Math.round(rates[rates.length - 1]!),
  };
}
