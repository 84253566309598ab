import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readRecordingBatches } from '../../src/infra/recording/recording.js';
import { runBacktest } from '../../src/app/backtest/run-backtest.js';
import { main } from '../../src/cli/main.js';
import { createRegistry, type SentimentScored, type Signal } from '../../src/core/domain/messages.js';
import { replay } from '../../src/app/replay/replay.js';
import { randomWalkCsv } from '../helpers/csv.js';
import { stubScorer } from '../helpers/stub-scorer.js';

const DAY = 86_400_000;
const START = Date.UTC(2024, 0, 1); // randomWalkCsv's first bar
const BARS = 300;
const registry = createRegistry();
const fromFile = (file: string) => readRecordingBatches(file, { registry });

/** News about W every few days at 12:00 UTC, good and bad in a seeded pattern, plus noise about nobody. */
function newsFile(dir: string): string {
  const lines: string[] = [];
  for (let d = 3; d < BARS; d += 4) {
    const good = (d * 7) % 5 < 3;
    lines.push(
      JSON.stringify({
        headline: good ? `$W beats estimates, day ${d}` : `$W misses estimates, day ${d}`,
        time: new Date(START + d * DAY + 12 * 3_600_000).toISOString(),
        source: 'wire',
        url: `https://news.example/${d}`,
      }),
    );
    if (d % 12 === 3)
      lines.push(
        JSON.stringify({
          headline: `Markets quiet on day ${d}`,
          time: START + d * DAY + 13 * 3_600_000,
          source: 'wire',
        }),
      );
  }
  const f = join(dir, 'news.ndjson');
  writeFileSync(f, lines.join('\n') + '\n');
  return f;
}

const strategy = (sentimentMin?: number) => ({
  kind: 'sma-cross' as const,
  id: 'sma-cross',
  fast: 3,
  slow: 9,
  size: 10,
  ...(sentimentMin !== undefined ? { sentimentMin } : {}),
});
const sentiment = { halfLifeMs: 3 * DAY, recentItems: 5, symbolMap: {} };

describe('sentiment in backtest and replay', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-sentiment-replay-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const csv = randomWalkCsv(BARS, 7);
  const news = newsFile(dir);

  it('news merged with the bars by event time moves the strategy: the filter holds some buys back, and two runs fill identically', async () => {
    const common = {
      data: csv,
      symbol: 'W',
      cash: 10_000,
      transport: 'memory' as const,
      news,
      sentiment,
      scorer: stubScorer(),
    };
    const plain = await runBacktest({
      data: csv,
      symbol: 'W',
      cash: 10_000,
      transport: 'memory',
      strategy: strategy(),
    });
    const a = await runBacktest({ ...common, strategy: strategy(0.1) });
    const b = await runBacktest({ ...common, strategy: strategy(0.1), scorer: stubScorer() });
    expect(plain.fills.length).toBeGreaterThan(a.fills.length);
    expect(a.fills.length).toBeGreaterThan(0);
    expect(b.fills).toEqual(a.fills);
    expect(b.finalValue).toBe(a.finalValue);
  });

  it('a recording of a backtest with news replays with zero divergences: recorded scores are fed back, never scored again', async () => {
    const file = join(dir, 'with-news.ndjson');
    const scorer = stubScorer();
    await runBacktest({
      data: csv,
      symbol: 'W',
      strategy: strategy(0.1),
      cash: 10_000,
      transport: 'memory',
      news,
      sentiment,
      scorer,
      recording: file,
    });
    const scoredInRun = scorer.calls.length;
    expect(scoredInRun).toBeGreaterThan(50);
    const r = await replay({ source: fromFile(file), speed: 'max' });
    expect(r.divergences).toEqual([]);
    // (the replay's sentiment agent has no scorer at all: the next test shows the recorded score is what counts)
    const updates = r.decisions.filter((d) => d.type === 'sentiment.updated');
    expect(updates.length).toBe(scoredInRun);
    const buys = r.decisions.filter((d) => d.type === 'signal.generated' && (d.payload as Signal).side === 'buy');
    expect(buys.length).toBeGreaterThan(0);
    for (const d of buys)
      expect((d.payload as Signal).reasons.at(-1)).toMatch(
        /^sentiment W [\d.]+ \(\d+ items?, latest [0-9A-Z]{26}\) above min 0\.1$/,
      );
  });

  it('a replay takes the recorded score even where scoring again would differ: a changed recorded score shows up as a divergence of the sentiment it fed', async () => {
    const file = join(dir, 'tampered.ndjson');
    await runBacktest({
      data: csv,
      symbol: 'W',
      strategy: strategy(0.1),
      cash: 10_000,
      transport: 'memory',
      news,
      sentiment,
      scorer: stubScorer(),
      recording: file,
    });
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const at = lines.findIndex((l) => l.includes('"type":"sentiment.scored"'));
    const line = JSON.parse(lines[at]!) as { env: { correlationId: string; payload: SentimentScored } };
    line.env.payload.score = line.env.payload.score > 0 ? -0.5 : 0.5;
    writeFileSync(file, [...lines.slice(0, at), JSON.stringify(line), ...lines.slice(at + 1)].join('\n') + '\n');
    const r = await replay({ source: fromFile(file), speed: 'max' });
    const first = r.divergences[0]!;
    expect(first.kind).toBe('different');
    expect(first.key).toBe(`${line.env.correlationId}|sentiment.updated|0`);
    expect(first.input?.type).toBe('news.item');
  });

  it('sextant backtest --news --recording, then sextant replay --verify: identical, with the default scorer', async () => {
    const file = join(dir, 'cli.ndjson.gz');
    const out: string[] = [];
    const log = console.log;
    console.log = (m: string) => void out.push(m);
    try {
      expect(
        await main([
          'backtest',
          '--data',
          csv,
          '--symbol',
          'W',
          '--fast',
          '3',
          '--slow',
          '9',
          '--size',
          '10',
          '--cash',
          '10000',
          '--news',
          news,
          '--sentiment-min',
          '0',
          '--recording',
          file,
          '--json',
        ]),
      ).toBe(0);
      expect(await main(['replay', file, '--verify', '--json'])).toBe(0);
    } finally {
      console.log = log;
    }
    const report = JSON.parse(out.at(-1)!) as {
      identical: boolean;
      divergent: number;
      decisions: number;
      recordedDecisions: number;
    };
    expect(report).toMatchObject({ identical: true, divergent: 0 });
    expect(report.recordedDecisions).toBeGreaterThan(75); // the sentiment updates are among them
  });

  it('--news over NATS is refused: bars and news on different subjects would not keep their order', async () => {
    await expect(
      runBacktest({
        data: csv,
        symbol: 'W',
        strategy: strategy(),
        cash: 10_000,
        transport: 'nats',
        natsUrl: 'nats://127.0.0.1:1',
        news,
      }),
    ).rejects.toThrow(/--news needs the in-memory bus/);
  });
});
