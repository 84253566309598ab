import { featureName, featurize, type FeatureOptions } from './features.js';
import { LABELS } from './labelled-csv.js';

/** Class order of every weight triple: bearish, bullish, neutral (as the labelled files number them). */
const BEAR = 0;
const BULL = 1;
const NEUTRAL = 2;

/**
 * The JSON a trained linear model is shipped as (model.json). Weights are integers, divided
 * by `scale` on load, three per vocabulary entry in {@link LABELS} order; arrays keep the file
 * small and cheap for TypeScript to type.
 */
export interface ModelFile {
  readonly format: 'sextant-sentiment-linear';
  /** Scorer name, e.g. `finlex-lr`; with `version` it names every score (`finlex-lr@1`). */
  readonly name: string;
  readonly version: number;
  readonly labels: readonly string[];
  readonly features: FeatureOptions;
  /** Scores within ±neutralBand classify as neutral. */
  readonly neutralBand: number;
  readonly scale: number;
  readonly bias: readonly number[];
  readonly vocab: readonly string[];
  readonly weights: readonly number[];
  /** How it was trained and how it scored (provenance; not used for scoring). */
  readonly training?: unknown;
}

/** Where a token leads in the vocabulary: its unigram, and the bigrams it starts. */
interface VocabEntry {
  /** Index of the unigram (or cue) `token`, -1 when only its bigrams are known. */
  uni: number;
  /** Index of each bigram `token next`, by `next`. */
  next: Map<string, number> | undefined;
}

/** A model ready to score: vocabulary indexed, weights as floats. */
export interface LinearModel {
  readonly name: string;
  readonly version: number;
  readonly features: FeatureOptions;
  readonly neutralBand: number;
  /** Vocabulary size. */
  readonly size: number;
  /**
   * By first token: a bigram is found by two lookups of the tokens themselves, never by
   * building its name, which keeps scoring free of string concatenation and rehashing.
   */
  readonly table: ReadonlyMap<string, VocabEntry>;
  /** size * 3 weights, in {@link LABELS} order per entry. */
  readonly weights: Float64Array;
  readonly bias: Float64Array;
}

/** A model file that cannot be used (hand-edited, truncated, or from another format). */
export class ModelFormatError extends Error {
  readonly code = 'sentiment_model_format';
  readonly retryable = false;
  constructor(problem: string) {
    super(`sentiment model: ${problem}`);
    this.name = 'ModelFormatError';
  }
}

/** Checks a parsed model file and builds the {@link LinearModel} it describes. */
export function loadModel(file: unknown): LinearModel {
  const m = file as Partial<ModelFile> | null;
  const fail = (problem: string) => new ModelFormatError(problem);
  if (m === null || typeof m !== 'object' || m.format !== 'sextant-sentiment-linear')
    throw fail('not a sextant-sentiment-linear model file');
  if (typeof m.name !== 'string' || !Number.isInteger(m.version)) throw fail('name and version are required');
  if (!Array.isArray(m.labels) || m.labels.join(',') !== LABELS.join(','))
    throw fail(`labels must be ${LABELS.join(',')}`);
  const f = m.features;
  if (
    !f ||
    typeof f.bigrams !== 'boolean' ||
    typeof f.lexicon !== 'boolean' ||
    !['none', 'lexicon', 'all'].includes(f.negation) ||
    !Number.isInteger(f.negationWindow)
  ) {
    throw fail('features must say bigrams, lexicon, negation and negationWindow');
  }
  if (typeof m.neutralBand !== 'number' || !(m.neutralBand >= 0 && m.neutralBand < 1))
    throw fail('neutralBand must be in [0, 1)');
  if (typeof m.scale !== 'number' || !(m.scale > 0)) throw fail('scale must be positive');
  const vocab = m.vocab;
  const weights = m.weights;
  if (!Array.isArray(vocab) || !Array.isArray(weights) || weights.length !== vocab.length * LABELS.length)
    throw fail('weights must hold three numbers per vocabulary entry');
  if (!Array.isArray(m.bias) || m.bias.length !== LABELS.length) throw fail('bias must hold three numbers');
  const table = new Map<string, VocabEntry>();
  const seen = new Set<string>();
  vocab.forEach((name, i) => {
    if (typeof name !== 'string' || name === '' || seen.has(name))
      throw fail(`vocabulary entry ${i} is not a new string`);
    seen.add(name);
    const space = name.indexOf(' ');
    const first = space === -1 ? name : name.slice(0, space);
    let entry = table.get(first);
    if (entry === undefined) table.set(first, (entry = { uni: -1, next: undefined }));
    if (space === -1) entry.uni = i;
    else (entry.next ??= new Map()).set(name.slice(space + 1), i);
  });
  const scale = m.scale;
  const w = Float64Array.from(weights, (x) => x / scale);
  const bias = Float64Array.from(m.bias, (x) => x / scale);
  if (!w.every(Number.isFinite) || !bias.every(Number.isFinite)) throw fail('weights must be finite numbers');
  return {
    name: m.name,
    version: m.version!,
    features: f,
    neutralBand: m.neutralBand,
    size: vocab.length,
    table,
    weights: w,
    bias,
  };
}

/** A word or phrase and how far it moved the score (positive: towards bullish). */
export interface Contribution {
  readonly source: string;
  readonly flipped: boolean;
  readonly amount: number;
}

/** Class probabilities of one text, and what moved the bullish-minus-bearish margin. */
export interface Prediction {
  readonly bearish: number;
  readonly bullish: number;
  readonly neutral: number;
  /**
   * The largest contributions to P(bullish) - P(bearish)'s logit margin, largest first; a
   * word's own weight and the lexicon cue it fired are merged under the word.
   */
  readonly top: Contribution[];
}

/** How many feature occurrences are considered for {@link Prediction.top} before merging. */
const TOP_CANDIDATES = 8;

// Scratch space for one prediction's feature occurrences. predict() is synchronous and calls
// no outside code, so one module-level buffer is safe and spares ~50 allocations per text.
const scratch = {
  first: [] as string[],
  second: [] as (string | undefined)[],
  source: [] as (string | undefined)[],
  flipped: [] as boolean[],
  amount: [] as number[],
};

/**
 * Class probabilities for `text` under `model` (softmax of bias plus summed feature
 * weights). A flipped (negated) feature counts with its bullish and bearish weights swapped.
 */
export function predict(model: LinearModel, text: string): Prediction {
  const { table, weights: w } = model;
  let bear = model.bias[BEAR]!;
  let bull = model.bias[BULL]!;
  let neutral = model.bias[NEUTRAL]!;
  let n = 0;
  featurize(text, model.features, (first, second, value, flipped, source) => {
    const entry = table.get(first);
    if (entry === undefined) return;
    const i = second === undefined ? entry.uni : (entry.next?.get(second) ?? -1);
    if (i < 0) return;
    const o = i * 3;
    const wBear = w[o + (flipped ? BULL : BEAR)]!;
    const wBull = w[o + (flipped ? BEAR : BULL)]!;
    bear += value * wBear;
    bull += value * wBull;
    neutral += value * w[o + NEUTRAL]!;
    scratch.first[n] = first;
    scratch.second[n] = second;
    scratch.source[n] = source;
    scratch.flipped[n] = flipped;
    scratch.amount[n] = value * (wBull - wBear);
    n++;
  });
  const top = Math.max(bear, bull, neutral);
  const eBear = Math.exp(bear - top);
  const eBull = Math.exp(bull - top);
  const eNeutral = Math.exp(neutral - top);
  const sum = eBear + eBull + eNeutral;
  return { bearish: eBear / sum, bullish: eBull / sum, neutral: eNeutral / sum, top: topContributions(n) };
}

/** The largest of the first `n` scratch occurrences, merged by source and sorted by size. */
function topContributions(n: number): Contribution[] {
  const picked: number[] = [];
  const size = (i: number) => Math.abs(scratch.amount[i]!);
  for (let i = 0; i < n; i++) {
    if (picked.length === TOP_CANDIDATES && size(i) <= size(picked[TOP_CANDIDATES - 1]!)) continue;
    let at = picked.length === TOP_CANDIDATES ? TOP_CANDIDATES - 1 : picked.length;
    while (at > 0 && size(picked[at - 1]!) < size(i)) {
      picked[at] = picked[at - 1]!;
      at--;
    }
    picked[at] = i;
  }
  const merged: { source: string; flipped: boolean; amount: number }[] = [];
  for (const i of picked) {
    const source = scratch.source[i] ?? featureName(scratch.first[i]!, scratch.second[i]);
    const flipped = scratch.flipped[i]!;
    const same = merged.find((c) => c.source === source && c.flipped === flipped);
    if (same) same.amount += scratch.amount[i]!;
    else merged.push({ source, flipped, amount: scratch.amount[i]! });
  }
  return merged.sort((a, b) => Math.abs(b.amount) - Math.abs(a.amount));
}
