import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { addItem } from '../../agents/sentiment/aggregate.js';
import {
  sentimentMachine,
  type NewsEvent,
  type ScoreRequest,
  type SentimentEvent,
} from '../../agents/sentiment/machine.js';
import type { NewsItem, SentimentScored, SentimentUpdated } from '../../src/core/domain/messages.js';
import { decay, decayedScore } from '../../src/core/domain/sentiment.js';
import type { Emitted, Outbound } from '../../src/core/agent/outbound.js';

const H = 3_600_000; // one hour half-life
const T0 = Date.UTC(2024, 0, 2, 9);
const params = { halfLifeMs: H, keep: 3 };

const scored = (itemId: string, time: number, score: number, confidence = 1, symbols = ['ORCL']): SentimentScored => ({
  itemId,
  headline: `headline ${itemId}`,
  source: 'test',
  time,
  symbols,
  score,
  confidence,
  rationale: 'r',
  scorer: 'stub@1',
});

describe('sentiment decay over event time', () => {
  it('a score halves after one half-life with no news, and quarters after two', () => {
    expect(decay(0.8, T0, T0 + H, H)).toBeCloseTo(0.4, 12);
    expect(decay(0.8, T0, T0 + 2 * H, H)).toBeCloseTo(0.2, 12);
    expect(decayedScore({ score: -0.6, asOf: T0, halfLifeMs: H }, T0 + H)).toBeCloseTo(-0.3, 12);
  });

  it('asked about a time before the score was made, the score is as it was made (time does not run backwards)', () => {
    expect(decay(0.8, T0, T0 - H, H)).toBe(0.8);
  });

  it("items add their confidence-weighted scores, the older decayed to the newer one's time", () => {
    const a = addItem(undefined, 'ORCL', scored('a', T0, 0.8, 0.5), params); // 0.4
    const b = addItem(a, 'ORCL', scored('b', T0 + H, 0.5, 1), params); // 0.2 + 0.5
    expect(b.score).toBeCloseTo(0.7, 12);
    expect(b.asOf).toBe(T0 + H);
    expect(b.items).toBe(2);
  });

  it("an item arriving late (older than the sentiment) adds its contribution decayed to the sentiment's time", () => {
    const a = addItem(undefined, 'ORCL', scored('a', T0 + H, 0.2), params);
    const late = addItem(a, 'ORCL', scored('late', T0, 0.8), params);
    expect(late.score).toBeCloseTo(0.2 + 0.4, 12);
    expect(late.asOf).toBe(T0 + H);
    expect(late.recent.map((r) => r.itemId)).toEqual(['a', 'late']);
  });

  it('the sentiment stays within [-1, 1] however much news agrees', () => {
    let s: SentimentUpdated | undefined;
    for (let i = 0; i < 5; i++) s = addItem(s, 'ORCL', scored(`i${i}`, T0 + i, 0.9), params);
    expect(s!.score).toBe(1);
  });

  it('the items that moved it are named newest first, at most `keep` of them', () => {
    let s: SentimentUpdated | undefined;
    for (let i = 0; i < 5; i++) s = addItem(s, 'ORCL', scored(`i${i}`, T0 + i * 1000, 0.1), params);
    expect(s!.recent.map((r) => r.itemId)).toEqual(['i4', 'i3', 'i2']);
    expect(s!.items).toBe(5);
  });
});

function start() {
  const actor = createActor(sentimentMachine, { input: { params } });
  const emitted: Emitted[] = [];
  actor.on('outbox', (e) => emitted.push(...e.items));
  actor.start();
  const send = (ev: SentimentEvent) => {
    const from = emitted.length;
    actor.send(ev);
    return emitted.slice(from);
  };
  return { actor, send, ctx: () => actor.getSnapshot().context };
}

const news = (id: string, time: number, symbols: string[], headline = 'Oracle beats'): NewsEvent => {
  const payload: NewsItem = { id, headline, time, source: 'test' };
  return { type: 'news.item', id: `env-${id}`, time, payload, symbols };
};

describe('sentiment machine', () => {
  it('a tagged news item is handed to the scorer as an effect; the score comes back as one sentiment.scored with item id, symbols and scorer', () => {
    const s = start();
    const [effect] = s.send(news('n1', T0, ['ORCL']));
    expect(effect).toEqual({
      type: 'effect.score',
      payload: { item: { id: 'n1', headline: 'Oracle beats', time: T0, source: 'test' }, symbols: ['ORCL'] },
    });
    const req = effect!.payload as ScoreRequest;
    const outs = s.send({
      type: 'sentiment.computed',
      item: req.item,
      symbols: req.symbols,
      result: { score: 0.6, confidence: 0.9, rationale: 'beats', scorer: 'stub@1' },
    });
    expect(outs).toEqual([
      {
        type: 'sentiment.scored',
        payload: {
          itemId: 'n1',
          headline: 'Oracle beats',
          source: 'test',
          time: T0,
          symbols: ['ORCL'],
          score: 0.6,
          confidence: 0.9,
          rationale: 'beats',
          scorer: 'stub@1',
        },
      },
    ]);
  });

  it('a scorer answering outside its ranges cannot break the message: the score is held to [-1, 1], the confidence to [0, 1]', () => {
    const s = start();
    s.send(news('n1', T0, ['ORCL']));
    const [out] = s.send({
      type: 'sentiment.computed',
      item: { id: 'n1', headline: 'h', time: T0, source: 't' },
      symbols: ['ORCL'],
      result: { score: 3, confidence: Number.NaN, rationale: '', scorer: 'bad@1' },
    }) as Outbound[];
    expect(out!.payload).toMatchObject({ score: 1, confidence: 0 });
  });

  it('a news item naming no known symbol is counted and not scored', () => {
    const s = start();
    expect(s.send(news('n1', T0, []))).toEqual([]);
    expect(s.ctx().untagged).toBe(1);
  });

  it('the same news item delivered again, while scoring or after, is not scored twice', () => {
    const s = start();
    s.send(news('n1', T0, ['ORCL']));
    expect(s.send(news('n1', T0, ['ORCL']))).toEqual([]);
    s.send({
      type: 'sentiment.computed',
      item: { id: 'n1', headline: 'h', time: T0, source: 't' },
      symbols: ['ORCL'],
      result: { score: 0, confidence: 1, rationale: '', scorer: 's' },
    });
    expect(s.send(news('n1', T0, ['ORCL']))).toEqual([]);
  });

  it('a scored item moves each of its symbols and publishes one sentiment.updated per symbol, naming the item', () => {
    const s = start();
    const outs = s.send({
      type: 'sentiment.scored',
      id: 'e1',
      time: T0,
      payload: scored('n1', T0, 0.5, 1, ['MSFT', 'ORCL']),
    }) as Outbound[];
    expect(
      outs.map((o) => [o.type, (o.payload as SentimentUpdated).symbol, (o.payload as SentimentUpdated).score]),
    ).toEqual([
      ['sentiment.updated', 'MSFT', 0.5],
      ['sentiment.updated', 'ORCL', 0.5],
    ]);
    expect((outs[1]!.payload as SentimentUpdated).recent.map((r) => r.itemId)).toEqual(['n1']);
    expect((outs[1]!.payload as SentimentUpdated).halfLifeMs).toBe(H);
  });

  it('a second item one half-life later publishes the first one halved plus its own contribution', () => {
    const s = start();
    s.send({ type: 'sentiment.scored', id: 'e1', time: T0, payload: scored('n1', T0, 0.8) });
    const [out] = s.send({
      type: 'sentiment.scored',
      id: 'e2',
      time: T0 + H,
      payload: scored('n2', T0 + H, 0, 0.5),
    }) as Outbound[];
    expect((out!.payload as SentimentUpdated).score).toBeCloseTo(0.4, 12);
    expect((out!.payload as SentimentUpdated).recent.map((r) => r.itemId)).toEqual(['n2', 'n1']);
  });

  it('a scored item seen twice (redelivery, a replay feeding it) moves nothing the second time', () => {
    const s = start();
    s.send({ type: 'sentiment.scored', id: 'e1', time: T0, payload: scored('n1', T0, 0.8) });
    expect(s.send({ type: 'sentiment.scored', id: 'e1', time: T0, payload: scored('n1', T0, 0.8) })).toEqual([]);
    expect(s.ctx().symbols.ORCL!.items).toBe(1);
  });

  it('the machine state survives a snapshot round trip (restart from a checkpoint)', () => {
    const s = start();
    s.send({ type: 'sentiment.scored', id: 'e1', time: T0, payload: scored('n1', T0, 0.8) });
    const snap = s.actor.getPersistedSnapshot();
    const restored = createActor(sentimentMachine, {
      snapshot: JSON.parse(JSON.stringify(snap)) as typeof snap,
      input: { params },
    });
    restored.start();
    expect(restored.getSnapshot().context.symbols.ORCL!.score).toBe(0.8);
    expect(restored.getSnapshot().context.aggregatedIds).toEqual(['n1']);
  });
});
