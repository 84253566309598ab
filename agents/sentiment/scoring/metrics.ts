import { LABELS, type Label } from './labelled-csv.js';

/** Precision, recall and F1 of one class. */
export interface ClassMetrics {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** How many rows truly have this label. */
  readonly support: number;
}

/** How well predicted labels match the true ones. */
export interface Evaluation {
  readonly n: number;
  readonly accuracy: number;
  /** Unweighted mean of the three classes' F1. */
  readonly macroF1: number;
  readonly perClass: Readonly<Record<Label, ClassMetrics>>;
  /** confusion[truth][predicted], rows and columns in {@link LABELS} order. */
  readonly confusion: readonly (readonly number[])[];
}

/**
 * Accuracy, per-class and macro F1 over the three classes (bearish, bullish, neutral).
 * A class never predicted has precision 0, one never present recall 0, and F1 is 0 when
 * both are 0 (scikit-learn's `zero_division=0`), so a missing class pulls the macro down.
 */
export function evaluate(truth: readonly Label[], predicted: readonly Label[]): Evaluation {
  if (truth.length !== predicted.length)
    throw new RangeError(`evaluate: ${truth.length} truths but ${predicted.length} predictions`);
  const confusion = LABELS.map(() => LABELS.map(() => 0));
  for (let i = 0; i < truth.length; i++) confusion[LABELS.indexOf(truth[i]!)]![LABELS.indexOf(predicted[i]!)]!++;
  let correct = 0;
  const perClass = {} as Record<Label, ClassMetrics>;
  let f1Sum = 0;
  LABELS.forEach((label, k) => {
    const tp = confusion[k]![k]!;
    correct += tp;
    const support = confusion[k]!.reduce((a, b) => a + b, 0);
    const predictedK = confusion.reduce((a, row) => a + row[k]!, 0);
    const precision = predictedK === 0 ? 0 : tp / predictedK;
    const recall = support === 0 ? 0 : tp / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    perClass[label] = { precision, recall, f1, support };
    f1Sum += f1;
  });
  const n = truth.length;
  return { n, accuracy: n === 0 ? 0 : correct / n, macroF1: f1Sum / LABELS.length, perClass, confusion };
}
