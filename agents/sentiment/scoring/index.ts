/**
 * The default sentiment scorer's public surface: the scorer, the labelled-data reader and the
 * metrics `sextant sentiment eval` uses. Training (train.ts, lbfgs.ts) is for
 * scripts/train-sentiment.ts and tests, not for the running system.
 */
export { createDefaultScorer, createLinearScorer, MAX_TEXT_LENGTH } from './default-scorer.js';
export {
  LABELS,
  readLabelledCsv,
  parseLabelledCsv,
  SentimentDataError,
  type Label,
  type LabelledRow,
} from './labelled-csv.js';
export { evaluate, type Evaluation, type ClassMetrics } from './metrics.js';
export { evaluateScorer } from './evaluate-scorer.js';
export { loadModel, ModelFormatError, type LinearModel } from './model.js';
export { tokenize } from './tokenize.js';
