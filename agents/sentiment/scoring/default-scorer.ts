import { classify, type Scorer, type SentimentScore } from '../scorer.js';
import { loadModel, predict, type Contribution, type LinearModel } from './model.js';
import shippedModel from './model.json' with { type: 'json' };

/**
 * Texts are cut to this many characters before scoring: a headline is a few hundred at most,
 * and the cut bounds the time a hostile or broken input can take.
 */
export const MAX_TEXT_LENGTH = 4096;

/** How many words a rationale names. */
const RATIONALE_WORDS = 3;

/**
 * A scorer over a trained linear model: score = P(bullish) - P(bearish), in [-1, 1];
 * confidence = the probability the model gives the class `classify(score, neutralBand)`
 * picks. Pure and synchronous: the text is only ever featurised, never interpreted.
 */
export function createLinearScorer(model: LinearModel): Scorer {
  const scorer = `${model.name}@${model.version}`;
  const neutralBand = model.neutralBand;
  return {
    name: scorer,
    neutralBand,
    score(text: string): SentimentScore {
      const p = predict(model, text.length > MAX_TEXT_LENGTH ? text.slice(0, MAX_TEXT_LENGTH) : text);
      const score = clamp(p.bullish - p.bearish) + 0; // + 0: never -0
      const label = classify(score, neutralBand);
      return { score, confidence: clamp(p[label], 0), rationale: rationale(p.top), scorer };
    },
  };
}

let defaultModel: LinearModel | undefined;

/**
 * The default scorer (`finlex-lr@1`): softmax regression over unigrams, bigrams and
 * finance-lexicon cues, trained by scripts/train-sentiment.ts and shipped as model.json
 * (bundled into the build, never read from disk at run time). The parsed model is built
 * once per process and shared: it is immutable.
 */
export function createDefaultScorer(): Scorer {
  defaultModel ??= loadModel(shippedModel);
  return createLinearScorer(defaultModel);
}

/**
 * `moved most: "upgraded" +1.92, "raises … guidance" +0.85, "strong" (negated) -0.80`. Tokens
 * never hold a double quote, so quoting them needs no escaping.
 */
function rationale(contributions: readonly Contribution[]): string {
  // contributions come largest first
  let line = '';
  let named = 0;
  for (const c of contributions) {
    if (named === RATIONALE_WORDS || Math.abs(c.amount) < 0.05) break;
    line += `${named++ === 0 ? 'moved most: ' : ', '}"${c.source}"${c.flipped ? ' (negated)' : ''} ${c.amount > 0 ? '+' : ''}${c.amount.toFixed(2)}`;
  }
  return named === 0 ? 'no word the model knows moved the score; neutral by default' : line;
}

const clamp = (x: number, low = -1): number => (x < low ? low : x > 1 ? 1 : x);
