import { featureName, featurize, type FeatureOptions } from './features.js';
import { LABELS, type Label, type LabelledRow } from './labelled-csv.js';
import { evaluate } from './metrics.js';
import { minimizeLbfgs } from './lbfgs.js';
import { loadModel, predict, type LinearModel, type ModelFile } from './model.js';

/** Everything that decides a trained model besides the data. */
export interface TrainOptions {
  readonly features: FeatureOptions;
  /** L2 penalty on the feature weights (not the biases), per unit of mean example weight. */
  readonly l2: number;
  /** Class weight = (n / (3 * n_class)) ^ power: 0 plain, 1 fully balanced classes. */
  readonly classWeightPower: number;
  /** Keep a feature only if at least this many training texts have it. */
  readonly minCount: number;
  readonly maxIterations: number;
  /**
   * Drop a vocabulary entry from the shipped file when its weights (centred over the three
   * classes, which leaves the probabilities unchanged) are all smaller than this: keeps the
   * file small at almost no cost in accuracy. 0 keeps every entry.
   */
  readonly pruneBelow: number;
}

/** A model's weights before they are quantised into a {@link ModelFile}. */
export interface TrainedWeights {
  readonly vocab: string[];
  /** vocab.length * 3, in {@link LABELS} order per entry. */
  readonly weights: Float64Array;
  readonly bias: Float64Array;
  readonly iterations: number;
  readonly loss: number;
}

interface SparseDoc {
  readonly label: number;
  readonly index: Int32Array;
  readonly value: Float64Array;
  readonly flipped: Uint8Array;
}

const K = LABELS.length;
/** Index of the class a flipped feature's weight is read from: bearish <-> bullish. */
const SWAP = [1, 0, 2];

/**
 * Trains a multinomial logistic regression (softmax) on `rows` by full-batch L-BFGS: no
 * sampling, so the same rows and options give the same weights, bit for bit, on every run.
 */
export function trainWeights(rows: readonly LabelledRow[], options: TrainOptions): TrainedWeights {
  const { features, l2, classWeightPower, minCount, maxIterations } = options;
  const perDoc: { names: string[]; values: number[]; flips: boolean[] }[] = [];
  const docFrequency = new Map<string, number>();
  for (const row of rows) {
    const names: string[] = [];
    const values: number[] = [];
    const flips: boolean[] = [];
    const seen = new Set<string>();
    featurize(row.text, features, (first, second, value, flipped) => {
      const name = featureName(first, second);
      names.push(name);
      values.push(value);
      flips.push(flipped);
      if (!seen.has(name)) {
        seen.add(name);
        docFrequency.set(name, (docFrequency.get(name) ?? 0) + 1);
      }
    });
    perDoc.push({ names, values, flips });
  }
  const vocab = [...docFrequency]
    .filter(([, n]) => n >= minCount)
    .map(([name]) => name)
    .sort();
  const index = new Map(vocab.map((name, i) => [name, i] as const));
  const docs: SparseDoc[] = perDoc.map(({ names, values, flips }, d) => {
    const keep = names.map((_, j) => j).filter((j) => index.has(names[j]!));
    return {
      label: LABELS.indexOf(rows[d]!.label),
      index: Int32Array.from(keep, (j) => index.get(names[j]!)!),
      value: Float64Array.from(keep, (j) => values[j]!),
      flipped: Uint8Array.from(keep, (j) => (flips[j] ? 1 : 0)),
    };
  });

  const counts = LABELS.map((_, k) => docs.filter((d) => d.label === k).length);
  const classWeight = counts.map((c) => (c === 0 ? 0 : (docs.length / (K * c)) ** classWeightPower));
  const totalWeight = docs.reduce((a, d) => a + classWeight[d.label]!, 0);
  const nWeights = vocab.length * K;
  // parameters: feature weights, then the three biases
  const objective = (x: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    let loss = 0;
    const logits = new Float64Array(K);
    for (const doc of docs) {
      logits[0] = x[nWeights]!;
      logits[1] = x[nWeights + 1]!;
      logits[2] = x[nWeights + 2]!;
      for (let j = 0; j < doc.index.length; j++) {
        const o = doc.index[j]! * K;
        const v = doc.value[j]!;
        if (doc.flipped[j]) for (let c = 0; c < K; c++) logits[c]! += v * x[o + SWAP[c]!]!;
        else for (let c = 0; c < K; c++) logits[c]! += v * x[o + c]!;
      }
      const top = Math.max(logits[0]!, logits[1]!, logits[2]!);
      let sum = 0;
      for (let c = 0; c < K; c++) sum += Math.exp(logits[c]! - top);
      const logSum = top + Math.log(sum);
      const weight = classWeight[doc.label]! / totalWeight;
      loss += weight * (logSum - logits[doc.label]!);
      for (let c = 0; c < K; c++) {
        const g = weight * (Math.exp(logits[c]! - logSum) - (c === doc.label ? 1 : 0));
        grad[nWeights + c]! += g;
        for (let j = 0; j < doc.index.length; j++) {
          const o = doc.index[j]! * K;
          grad[o + (doc.flipped[j] ? SWAP[c]! : c)]! += g * doc.value[j]!;
        }
      }
    }
    for (let i = 0; i < nWeights; i++) {
      loss += 0.5 * l2 * x[i]! * x[i]!;
      grad[i]! += l2 * x[i]!;
    }
    return loss;
  };
  const result = minimizeLbfgs(objective, new Float64Array(nWeights + K), { maxIterations });
  return {
    vocab,
    weights: result.x.slice(0, nWeights),
    bias: result.x.slice(nWeights),
    iterations: result.iterations,
    loss: result.value,
  };
}

/** What a model file needs besides the weights. */
export interface ModelMeta {
  readonly name: string;
  readonly version: number;
  readonly features: FeatureOptions;
  readonly neutralBand: number;
  /** Weights are stored as round(w * scale); entries whose three weights all round to 0 are dropped. */
  readonly scale: number;
  /** See {@link TrainOptions.pruneBelow}. */
  readonly pruneBelow: number;
  readonly training?: unknown;
}

/** Quantises trained weights into the shipped JSON shape, dropping entries that would be all zero. */
export function toModelFile(trained: TrainedWeights, meta: ModelMeta): ModelFile {
  const vocab: string[] = [];
  const weights: number[] = [];
  const q = (x: number) => Math.round(x * meta.scale) + 0; // + 0 turns -0 into 0
  trained.vocab.forEach((name, i) => {
    const w = [trained.weights[i * K]!, trained.weights[i * K + 1]!, trained.weights[i * K + 2]!];
    const mean = (w[0]! + w[1]! + w[2]!) / K;
    const centred = w.map((x) => x - mean);
    if (centred.every((x) => Math.abs(x) < meta.pruneBelow)) return;
    const triple = centred.map(q);
    if (triple.every((x) => x === 0)) return;
    vocab.push(name);
    weights.push(...triple);
  });
  return {
    format: 'sextant-sentiment-linear',
    name: meta.name,
    version: meta.version,
    labels: [...LABELS],
    features: meta.features,
    neutralBand: meta.neutralBand,
    scale: meta.scale,
    bias: Array.from(trained.bias, q),
    vocab,
    weights,
    ...(meta.training !== undefined ? { training: meta.training } : {}),
  };
}

/** Trains and returns a scoring-ready model (band 0 unless given): the path tests and tuning use. */
export function trainModel(rows: readonly LabelledRow[], options: TrainOptions, neutralBand = 0): LinearModel {
  const trained = trainWeights(rows, options);
  return loadModel(
    toModelFile(trained, {
      name: 'finlex-lr',
      version: 0,
      features: options.features,
      neutralBand,
      scale: 1e4,
      pruneBelow: options.pruneBelow,
    }),
  );
}

/** P(bullish) - P(bearish) of each text: the score the default scorer reports. */
export function marginScores(model: LinearModel, texts: readonly string[]): number[] {
  return texts.map((text) => {
    const p = predict(model, text);
    return p.bullish - p.bearish;
  });
}

/** Labels of scores under a neutral band (the rule of `classify`). */
export function bandLabels(scores: readonly number[], band: number): Label[] {
  return scores.map((s) => (s > band ? 'bullish' : s < -band ? 'bearish' : 'neutral'));
}

/**
 * The neutral band in [0, 0.9] (steps of 0.01) with the best macro-F1 of `scores` against
 * `truth`; the smallest such band on ties.
 */
export function bestNeutralBand(scores: readonly number[], truth: readonly Label[]): { band: number; macroF1: number } {
  let best = { band: 0, macroF1: -1 };
  for (let step = 0; step <= 90; step++) {
    const band = step / 100;
    const { macroF1 } = evaluate(truth, bandLabels(scores, band));
    if (macroF1 > best.macroF1 + 1e-12) best = { band, macroF1 };
  }
  return best;
}
