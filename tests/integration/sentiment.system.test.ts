import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rootEnvelope } from '../../src/core/messaging/envelope.js';
import { subjects } from '../../src/core/messaging/subjects.js';
import { loadConfig } from '../../config/load.js';
import type { SentimentUpdated } from '../../src/core/domain/messages.js';
import { startSystem, type RunningSystem } from '../../src/cli/start-system.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { VirtualClock } from '../../src/core/ports/clock.js';
import { sequentialIds } from '../../src/core/ports/ids.js';
import { eventually } from '../helpers/eventually.js';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai.js';

const T = Date.UTC(2024, 2, 1, 14, 30);

/**
 * `sextant start` with the sentiment agent (what `sextant agent sentiment` runs), built by the composition root from
 * configuration.
 */
describe('the sentiment agent as sextant starts it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-sentiment-system-'));
  const news = join(dir, 'news.ndjson');
  writeFileSync(
    news,
    [
      JSON.stringify({ headline: 'Oracle Corp reports record profit', time: T, source: 'wire' }),
      JSON.stringify({ headline: 'Weather is mild', time: T + 1, source: 'wire' }),
    ].join('\n') + '\n',
  );
  let fake: FakeOpenAI;
  let system: RunningSystem | undefined;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
  });
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });
  afterAll(async () => {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const sentimentOf = async (s: RunningSystem, symbol: string) => {
    const reply = await s.bus.request(
      subjects.query('sentiment'),
      rootEnvelope({ ids: sequentialIds('q'), clock: new VirtualClock(0), source: 'test' }, 'query.request', {
        params: { symbol },
      }),
    );
    return (reply.payload as { data: SentimentUpdated[] }).data[0];
  };

  it('with a news file configured, sextant start runs the sentiment agent: it publishes the file, scores what names a company and answers query.sentiment', async () => {
    const config = loadConfig({
      env: { STORE: 'off', PORT: '0', SENTIMENT_NEWS_FILE: news, SENTIMENT_SYMBOL_MAP: 'Oracle Corp=ORCL' },
      file: '',
    });
    expect(config.runtime.agents).toContain('sentiment');
    system = await startSystem(config, silentLogger, ['sentiment']);
    const s = await eventually(async () => {
      const got = await sentimentOf(system!, 'ORCL');
      expect(got).toBeDefined();
      return got!;
    });
    expect(s.items).toBe(1);
    expect(s.recent[0]!.headline).toBe('Oracle Corp reports record profit');
    expect(s.recent[0]!.scorer).not.toMatch(/^llm:/);
  });

  it('with SENTIMENT_SCORER=llm the LLM scorer scores over OPENAI_BASE_URL', async () => {
    fake.script({ content: JSON.stringify({ score: 0.6, confidence: 0.9, rationale: 'record profit' }) });
    const config = loadConfig({
      env: {
        STORE: 'off',
        PORT: '0',
        SENTIMENT_NEWS_FILE: news,
        SENTIMENT_SYMBOL_MAP: 'Oracle Corp=ORCL',
        SENTIMENT_SCORER: 'llm',
        OPENAI_API_KEY: 'test-key',
        OPENAI_MODEL: 'fake-model',
        OPENAI_BASE_URL: fake.baseURL,
      },
      file: '',
    });
    system = await startSystem(config, silentLogger, ['sentiment']);
    const s = await eventually(async () => {
      const got = await sentimentOf(system!, 'ORCL');
      expect(got).toBeDefined();
      return got!;
    });
    expect(s.recent[0]).toMatchObject({ scorer: 'llm:fake-model@1', score: 0.6, confidence: 0.9 });
    expect(s.score).toBeCloseTo(0.54, 12);
  });

  it('a bad line in the news file stops start-up naming file and line', async () => {
    const bad = join(dir, 'bad.ndjson');
    writeFileSync(bad, `${JSON.stringify({ headline: 'ok', time: T })}\nnot json\n`);
    const config = loadConfig({ env: { STORE: 'off', PORT: '0', SENTIMENT_NEWS_FILE: bad }, file: '' });
    await expect(startSystem(config, silentLogger, ['sentiment'])).rejects.toThrow(`${bad}:2: not JSON`);
  });
});
