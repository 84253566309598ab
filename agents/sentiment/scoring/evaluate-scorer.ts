import { classify, type Scorer } from '../scorer.js';
import type { LabelledRow } from './labelled-csv.js';
import { evaluate, type Evaluation } from './metrics.js';

/**
 * Scores every row and compares the classes with the labels, by the rule every score carries:
 * `classify(score, scorer.neutralBand)` (bullish above the band, bearish below minus the band,
 * neutral within).
 */
export function evaluateScorer(scorer: Scorer, rows: readonly LabelledRow[]): Evaluation {
  return evaluate(
    rows.map((r) => r.label),
    rows.map((r) => classify(scorer.score(r.text).score, scorer.neutralBand)),
  );
}
