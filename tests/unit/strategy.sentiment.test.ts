import { describe, expect, it } from 'vitest';
import type { StrategyEvent } from '../../agents/strategy/machine.js';
import type { StrategyParams } from '../../agents/strategy/strategies.js';
import type { SentimentUpdated, Signal } from '../../src/core/domain/messages.js';
import type { Outbound } from '../../src/core/agent/outbound.js';
import { DAY, startStrategy } from '../helpers/strategy-harness.js';

// fast 2 / slow 4: [10, 9, 8, 7] sets the sign to -1 without a cross; then 12 crosses up; then a fall crosses down
const DOWN = [10, 9, 8, 7];
const UP = [12];
const FALL = [8, 5, 3];

const start = startStrategy;

const sentiment = (score: number, asOf: number, halfLifeMs = DAY, symbol = 'ORCL'): StrategyEvent => {
  const payload: SentimentUpdated = {
    symbol,
    score,
    asOf,
    halfLifeMs,
    items: 2,
    recent: [{ itemId: 'ITEM-2', time: asOf, score, confidence: 1, scorer: 'stub@1', headline: 'h' }],
  };
  return { type: 'sentiment.updated', id: `s-${asOf}`, time: asOf, payload };
};

const FILTERED: StrategyParams = { kind: 'sma-cross', id: 'sma', fast: 2, slow: 4, size: 10, sentimentMin: 0.2 };
const signals = (outs: readonly Outbound[]) =>
  outs.flatMap((o) => (o.type === 'signal.generated' ? [o.payload as Signal] : []));

describe('strategy sentiment filter', () => {
  it('a buy with no news about the symbol is held back (no news counts as 0, not above the minimum)', () => {
    const s = start(FILTERED);
    s.bars(DOWN);
    expect(s.bars(UP)).toEqual([]);
    expect(s.ctx().symbols.ORCL!.position).toBe(0);
  });

  it('a buy below the threshold is held back, and the position and target stay where they were', () => {
    const s = start(FILTERED);
    s.bars(DOWN);
    s.send(sentiment(0.1, s.nextDay()));
    expect(s.bars(UP)).toEqual([]);
    expect(s.ctx().symbols.ORCL).toMatchObject({ position: 0 });
    expect(s.ctx().symbols.ORCL!.target).toBeUndefined();
  });

  it('a buy above the threshold goes, with the sentiment used among its reasons and indicators', () => {
    const s = start(FILTERED);
    s.bars(DOWN);
    s.send(sentiment(0.5, s.nextDay()));
    const outs = s.bars(UP);
    expect(outs.map((o) => o.type)).toEqual(['signal.generated', 'order.intent']);
    const [signal] = signals(outs);
    expect(signal!.reasons.at(-1)).toBe('sentiment ORCL 0.5 (2 items, latest ITEM-2) above min 0.2');
    expect(signal!.indicators.sentiment).toBe(0.5);
  });

  it("the sentiment is decayed to the bar's time: good news two half-lives old no longer clears the bar", () => {
    const s = start(FILTERED);
    s.bars(DOWN);
    s.send(sentiment(0.6, s.nextDay() - 2 * DAY)); // 0.6 -> 0.15 at the bar
    expect(s.bars(UP)).toEqual([]);
  });

  it('sells are never held back, however bad the sentiment', () => {
    const s = start(FILTERED);
    s.bars(DOWN);
    s.send(sentiment(0.9, s.nextDay()));
    expect(signals(s.bars(UP)).map((x) => x.side)).toEqual(['buy']);
    s.send(sentiment(-1, s.nextDay()));
    const sells = signals(s.bars(FALL));
    expect(sells.map((x) => x.side)).toEqual(['sell']);
    expect(sells[0]!.reasons.join(' ')).not.toMatch(/sentiment/);
  });

  it('without a minimum the strategy ignores sentiment: the same buy goes and its reasons are unchanged', () => {
    const s = start({ kind: 'sma-cross', id: 'sma', fast: 2, slow: 4, size: 10 });
    s.bars(DOWN);
    s.send(sentiment(-1, s.nextDay()));
    const [signal] = signals(s.bars(UP));
    expect(signal!.side).toBe('buy');
    expect(signal!.reasons.join(' ')).not.toMatch(/sentiment/);
  });

  it('sentiment of another symbol does not open this one', () => {
    const s = start(FILTERED);
    s.bars(DOWN);
    s.send(sentiment(0.9, s.nextDay(), DAY, 'MSFT'));
    expect(s.bars(UP)).toEqual([]);
  });
});
