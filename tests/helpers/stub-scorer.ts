import type { Scorer, SentimentScore } from '../../agents/sentiment/scorer.js';

/**
 * A tiny deterministic scorer implementing the port (not a mock): counts bullish and bearish cue
 * words. "beats", "surges", "upgrade" score +0.8; "misses", "plunges", "downgrade" -0.8; both or
 * neither 0. Confidence 1 when it found a cue, 0.5 otherwise. `calls` counts what it scored.
 */
export function stubScorer(name = 'stub@1'): Scorer & { readonly calls: string[] } {
  const calls: string[] = [];
  const bull = /\b(beats?|surges?|upgraded?|record)\b/i;
  const bear = /\b(miss(es)?|plunges?|downgraded?|lawsuit)\b/i;
  return {
    name,
    neutralBand: 0.1,
    calls,
    score(text: string): SentimentScore {
      calls.push(text);
      const up = bull.test(text);
      const down = bear.test(text);
      const score = up && !down ? 0.8 : down && !up ? -0.8 : 0;
      return {
        score,
        confidence: score === 0 ? 0.5 : 1,
        rationale: score > 0 ? 'bullish cue' : score < 0 ? 'bearish cue' : 'no cue',
        scorer: name,
      };
    },
  };
}
