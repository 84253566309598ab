/**
 * The sentiment scorer port. The default scorer is deterministic, offline and synchronous
 * (agents/sentiment/scoring/); an LLM scorer is asynchronous and fails closed to the default.
 * A score is in [-1, 1]: > 0 bullish, < 0 bearish; within the scorer's neutral band, neutral.
 */
export interface SentimentScore {
  /** In [-1, 1]. */
  readonly score: number;
  /** In [0, 1]: how sure the scorer is. */
  readonly confidence: number;
  /** One line a person can read: the words or reasons that moved the score. */
  readonly rationale: string;
  /** Which scorer produced it (name@version), so a recorded score says where it came from. */
  readonly scorer: string;
}

/** The default kind: pure, deterministic, fast. */
export interface Scorer {
  readonly name: string;
  /** Scores at or inside ±neutralBand count as neutral when classifying. */
  readonly neutralBand: number;
  score(text: string): SentimentScore;
}

/** Any scorer the agent can use (an LLM scorer is one). */
export interface AsyncScorer {
  readonly name: string;
  score(text: string): Promise<SentimentScore>;
}

/** bullish | bearish | neutral for a score, given the scorer's neutral band. */
export function classify(score: number, neutralBand: number): 'bullish' | 'bearish' | 'neutral' {
  if (score > neutralBand) return 'bullish';
  if (score < -neutralBand) return 'bearish';
  return 'neutral';
}
