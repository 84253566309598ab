import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addItem, type SymbolSentiment } from '../../agents/sentiment/aggregate.js';
import type { Bus } from '../../src/core/messaging/bus.js';
import { rootEnvelope } from '../../src/core/messaging/envelope.js';
import { subjects } from '../../src/core/messaging/subjects.js';
import { createRegistry, versionOf, type NewsItem, type SentimentScored } from '../../src/core/domain/messages.js';
import { VirtualClock } from '../../src/core/ports/clock.js';
import { sequentialIds } from '../../src/core/ports/ids.js';
import { killHard, removeNamespaces, startAgentProcess, type AgentProcess } from '../helpers/agent-process.js';
import { collectDeadLetters, makeBus, natsUrl, testPrefix } from '../helpers/buses.js';
import { eventually } from '../helpers/eventually.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai.js';

const ITEMS = 400;
const T = Date.UTC(2024, 2, 1, 14, 30);
const HALF_LIFE_MS = 3_600_000;
const KEEP = 10;

/** A news item naming Oracle (the agent's symbol map tags it ORCL). */
const item = (i: number): NewsItem => ({
  id: `wire-${i}`,
  headline: `Oracle Corp update number ${i}`,
  time: T + i * 60_000,
  source: 'wire',
});

/** A model that never answers the same twice: call k scores ((37k mod 199) - 99) / 100. */
function changingModel(fake: FakeOpenAI): { calls: () => number } {
  let calls = 0;
  const answer = () => {
    const k = ++calls;
    return {
      content: JSON.stringify({
        score: ((37 * k) % 199) / 100 - 0.99,
        confidence: 0.5 + (k % 5) / 10,
        rationale: `call ${k}`,
      }),
    };
  };
  fake.script(...Array.from({ length: ITEMS * 3 }, () => answer));
  return { calls: () => calls };
}

/** The sentiment agent's context in the newest checkpoint file under `dir` (undefined before one has it). */
function checkpointed(dir: string): { aggregatedIds: string[] } | undefined {
  const files = (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.json'));
  for (const f of files) {
    try {
      const doc = JSON.parse(readFileSync(join(dir, f), 'utf8')) as {
        state?: { agents?: { sentiment?: { context?: { aggregatedIds: string[] } } } };
      };
      const ctx = doc.state?.agents?.sentiment?.context;
      if (ctx) return ctx;
    } catch {
      // a file being replaced: read again on the next poll
    }
  }
  return undefined;
}

/**
 * Issue #21 item 5 for the sentiment agent: its scorer is an effect (an LLM call), so a replay must
 * not ask the model again (it would answer differently). Over NATS with the recording stream, the
 * sentiment process (checkpoints every 100 ms when no score is in flight; an LLM scorer whose
 * every answer differs from the one before) is killed with SIGKILL while it scores, and started
 * again. It comes back from its checkpoint, replays the scores recorded after it (never asking for
 * them again) and scores only what had not been published. Every item ends scored exactly once, and
 * its sentiment equals the published scores folded in order: the state it would have had without
 * the crash.
 */
describe('crash recovery of the sentiment agent over NATS: recorded scores replay, nothing is scored twice [nats]', () => {
  const dirs: string[] = [];
  const namespaces: string[] = [];
  const procs: AgentProcess[] = [];
  const buses: Bus[] = [];
  const fakes: FakeOpenAI[] = [];

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await Promise.all(buses.map((b) => b.close()));
    await Promise.all(fakes.map((f) => f.close()));
    await removeNamespaces(natsUrl, namespaces);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function setup(extraEnv: Record<string, string> = {}) {
    const namespace = testPrefix();
    namespaces.push(namespace);
    const dir = mkdtempSync(join(tmpdir(), 'sextant-sentiment-replay-'));
    dirs.push(dir);
    // 40 ms an answer, four at a time: a burst of 300 takes ~3 s, ample time to kill it midway
    const fake = await startFakeOpenAI({ latencyMs: 40 });
    fakes.push(fake);
    const model = changingModel(fake);
    const env: Record<string, string> = {
      NATS_URL: natsUrl,
      SEXTANT_NAMESPACE: namespace,
      RECORDING_JETSTREAM: 'true',
      PORT: '0',
      HEARTBEAT_INTERVAL_MS: '60000',
      BUS_REQUEST_TIMEOUT_MS: '20000',
      STORE: 'embedded',
      SEXTANT_DATA_DIR: join(dir, 'sentiment'),
      STORE_CHECKPOINT_MS: '100',
      SEXTANT_INSTANCE: 'sentiment-1',
      SENTIMENT_SYMBOL_MAP: 'Oracle Corp=ORCL',
      SENTIMENT_SCORER: 'llm',
      SENTIMENT_HALF_LIFE_MS: String(HALF_LIFE_MS),
      SENTIMENT_RECENT_ITEMS: String(KEEP),
      SENTIMENT_LLM_TOKENS_PER_DAY: '100000000',
      OPENAI_API_KEY: 'test-key',
      OPENAI_MODEL: 'fake-model',
      OPENAI_BASE_URL: fake.baseURL,
      ...extraEnv,
    };
    const observer = await makeBus('nats', {
      registry: createRegistry(),
      prefix: namespace,
      durable: false,
      requestTimeoutMs: 20_000,
    });
    buses.push(observer);
    const scored: SentimentScored[] = [];
    const deadLetters = collectDeadLetters(observer);
    observer.subscribe(subjects.sentimentScored(), (e) => void scored.push(e.payload as SentimentScored));
    await observer.flush();
    const ids = { ids: sequentialIds('wire'), clock: new VirtualClock(T), source: 'test/wire' };
    const publish = (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const n = item(i);
        observer.publish(
          subjects.newsItem(),
          rootEnvelope(ids, 'news.item', n, { v: versionOf('news.item'), time: n.time, id: `news-${n.id}` }),
        );
      }
    };
    const start = async (name: string) => {
      const p = await startAgentProcess(name, ['agent', 'sentiment'], env);
      procs.push(p);
      return p;
    };
    return { dir, env, observer, scored, deadLetters, publish, start, model };
  }

  /** After the restart: every item scored once, and the agent's sentiment the fold of the scores. */
  async function expectExact(s: Awaited<ReturnType<typeof setup>>, again: AgentProcess): Promise<string> {
    expect(again.output(), again.output().slice(0, 4000)).toContain('resuming from the last checkpoint');
    const line = /"read":(\d+),"replayed":(\{[^}]*\})[^\n]*replayed the recording stream/.exec(again.output());
    expect(line, `the sentiment agent replayed the recording stream:\n${again.output().slice(0, 6000)}`).not.toBeNull();
    const ask = async (): Promise<SymbolSentiment | undefined> => {
      const reply = await s.observer.request(
        subjects.query('sentiment'),
        rootEnvelope({ ids: sequentialIds('q'), clock: new VirtualClock(0), source: 'test' }, 'query.request', {
          params: { symbol: 'ORCL' },
        }),
        { timeoutMs: 20_000 },
      );
      return (reply.payload as { data: SymbolSentiment[] }).data[0];
    };
    const state = await eventually(
      async () => {
        const got = await ask();
        expect(got?.items).toBe(ITEMS);
        return got!;
      },
      60_000,
      50,
    );
    // each item scored once: one published score per item, never a second, different one
    const byItem = new Map<string, SentimentScored[]>();
    for (const x of s.scored) byItem.set(x.itemId, [...(byItem.get(x.itemId) ?? []), x]);
    expect(byItem.size).toBe(ITEMS);
    expect([...byItem.values()].filter((xs) => xs.length > 1).map((xs) => xs.map((x) => x.score))).toEqual([]);
    // the state it would have had without the crash: the published scores folded in order
    let expected: SymbolSentiment | undefined;
    for (const x of s.scored) expected = addItem(expected, 'ORCL', x, { halfLifeMs: HALF_LIFE_MS, keep: KEEP });
    expect(state).toEqual(expected);
    expect(s.deadLetters).toEqual([]);
    return `read ${line![1]}, replayed ${line![2]}; the model was asked ${s.model.calls()} times for ${ITEMS} items`;
  }

  it('killed after a checkpoint, mid-way through a burst of news: the scores after the cut replay, the rest are scored once', async () => {
    const s = await setup();
    const first = await s.start('sentiment');
    // a first burst, scored and checkpointed (the agent checkpoints when no score is in flight)
    const BEFORE = 100;
    s.publish(0, BEFORE);
    await eventually(() => expect(checkpointed(s.dir)?.aggregatedIds.length).toBe(BEFORE), 60_000, 10);
    // the rest at once: scored four at a time, never idle, so no checkpoint until it is killed
    s.publish(BEFORE, ITEMS);
    await eventually(() => expect(s.scored.length).toBeGreaterThan(BEFORE + 80), 60_000, 5);
    await killHard(first);
    const atKill = s.scored.length;
    expect(checkpointed(s.dir)?.aggregatedIds.length).toBeLessThan(atKill);
    const again = await s.start('sentiment again');
    const summary = await expectExact(s, again);
    console.info(`sentiment replay after a checkpoint: killed after ${atKill} of ${ITEMS} scores; ${summary}`);
  }, 240_000);

  it('killed before its first own checkpoint (the news file of its first start): everything since that start replays', async () => {
    // no checkpoint but the one its first start writes (not even one taken before the news arrive)
    const s = await setup({ STORE_CHECKPOINT_MS: '3600000' });
    const news = join(s.dir, 'news.ndjson');
    writeFileSync(news, Array.from({ length: ITEMS }, (_, i) => JSON.stringify(item(i))).join('\n') + '\n');
    s.env.SENTIMENT_NEWS_FILE = news;
    const first = await s.start('sentiment');
    await eventually(() => expect(s.scored.length).toBeGreaterThan(ITEMS * 0.3), 60_000, 5);
    await killHard(first);
    const atKill = s.scored.length;
    // the only checkpoint is the one its first start wrote, with no agent in it
    expect(checkpointed(s.dir)).toBeUndefined();
    const again = await s.start('sentiment again');
    const summary = await expectExact(s, again);
    console.info(`sentiment replay before a checkpoint: killed after ${atKill} of ${ITEMS} scores; ${summary}`);
  }, 240_000);
});
