import {
  FAILS,
  FINANCE_OBJECTS,
  INTENSIFIERS,
  NEGATIVE,
  NEGATORS,
  DOWN_VERBS,
  POSITIVE,
  UP_VERBS,
} from './finance-lexicon.js';
import { TOKEN, tokenize } from './tokenize.js';

/** Which features a model uses; stored in the model file so scoring featurises as training did. */
export interface FeatureOptions {
  /** Adjacent token pairs within a clause ("beats estimates"). */
  readonly bigrams: boolean;
  /**
   * What a negation ("not", "no", "never", "n't", "fails to") flips over the next
   * `negationWindow` tokens of its clause: nothing, only the lexicon cues, or every feature.
   * A flipped feature counts with its bullish and bearish weights swapped.
   */
  readonly negation: 'none' | 'lexicon' | 'all';
  readonly negationWindow: number;
  /** Finance-lexicon cues: `LEX+`/`LEX-` per listed word, `FIN+`/`FIN-` per "raises guidance"-like phrase. */
  readonly lexicon: boolean;
}

/** Cue features, in capitals like the tokenizer's placeholders so they never meet a word. */
export const CUE = { positive: 'LEX+', negative: 'LEX-', financeUp: 'FIN+', financeDown: 'FIN-' } as const;

/**
 * Receives each feature occurrence. A unigram or cue is `first` alone; a bigram is the pair
 * (`first`, `second`), named `first second` in a vocabulary (tokens never hold a space). The
 * pair is passed apart so scoring can look it up without building the string. `value` is 2
 * after an intensifier; `flipped` says negation swaps it; `source` names the words a cue came
 * from (a rationale shows those; for unigrams and bigrams the name is the source).
 */
export type FeatureSink = (
  first: string,
  second: string | undefined,
  value: number,
  flipped: boolean,
  source: string | undefined,
) => void;

/** The vocabulary name of a feature occurrence: `first` or `first second`. */
export const featureName = (first: string, second: string | undefined): string =>
  second === undefined ? first : `${first} ${second}`;

/** How many tokens after a directional verb its finance object may come ("cuts its 2020 guidance"). */
const OBJECT_REACH = 4;
/** How many tokens after a finance object its verb may come ("price target is lowered"). */
const VERB_REACH = 3;

/**
 * Turns a text into feature occurrences (unigrams, bigrams, lexicon cues), calling `sink`
 * for each. The same function featurises for training and for scoring.
 */
export function featurize(text: string, options: FeatureOptions, sink: FeatureSink): void {
  const tokens = tokenize(text);
  const { bigrams, negation, negationWindow, lexicon } = options;
  let scope = 0; // tokens left under the current negation
  let intensity = 1;
  let prev: string | undefined;
  let prevFlipped = false;
  let verb: string | undefined; // a directional verb waiting for its object
  let verbUp = false;
  let verbNegated = false;
  let verbReach = 0;
  let object: string | undefined; // a finance object waiting for a verb after it
  let objectReach = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === TOKEN.clause) {
      scope = 0;
      intensity = 1;
      prev = undefined;
      verb = undefined;
      object = undefined;
      continue;
    }
    const negated = scope > 0;
    const flipAll = negated && negation === 'all';
    sink(t, undefined, 1, flipAll, undefined);
    if (bigrams && prev !== undefined) sink(prev, t, 1, flipAll && prevFlipped, undefined);
    if (lexicon) {
      const flipCue = negated && negation !== 'none';
      if (POSITIVE.has(t)) {
        sink(CUE.positive, undefined, intensity, flipCue, t);
        intensity = 1;
      } else if (NEGATIVE.has(t)) {
        sink(CUE.negative, undefined, intensity, flipCue, t);
        intensity = 1;
      }
      if (INTENSIFIERS.has(t)) intensity = 2;
      if (object !== undefined && (UP_VERBS.has(t) || DOWN_VERBS.has(t))) {
        // object first: "price target lowered", "dividend cut"
        sink(
          UP_VERBS.has(t) ? CUE.financeUp : CUE.financeDown,
          undefined,
          1,
          negated && negation !== 'none',
          `${object} … ${t}`,
        );
        object = undefined;
        verb = undefined;
      } else if (verb !== undefined && FINANCE_OBJECTS.has(t)) {
        sink(
          verbUp ? CUE.financeUp : CUE.financeDown,
          undefined,
          1,
          verbNegated && negation !== 'none',
          `${verb} … ${t}`,
        );
        verb = undefined;
      } else if (UP_VERBS.has(t) || DOWN_VERBS.has(t)) {
        verb = t;
        verbUp = UP_VERBS.has(t);
        verbNegated = negated;
        verbReach = OBJECT_REACH;
      } else if (verb !== undefined && --verbReach === 0) verb = undefined;
      if (FINANCE_OBJECTS.has(t)) {
        object = t;
        objectReach = VERB_REACH;
      } else if (object !== undefined && --objectReach === 0) object = undefined;
    }
    if (scope > 0) scope--;
    if (NEGATORS.has(t) || (t === 'to' && prev !== undefined && FAILS.has(prev))) scope = negationWindow;
    prev = t;
    prevFlipped = flipAll;
  }
}
