import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config/load.js';

const load = (env: Record<string, string>) => loadConfig({ env, file: '' });

describe('sentiment configuration', () => {
  it('defaults: the default scorer, a one-day half-life, no names, no news, no strategy filter', () => {
    const c = load({});
    expect(c.sentiment).toEqual({
      scorer: 'default',
      halfLifeMs: 86_400_000,
      symbolMap: {},
      newsFile: undefined,
      rssUrls: [],
      rssPollMs: 300_000,
      llmTokensPerDay: 100_000,
      recentItems: 10,
    });
    expect(c.strategy.sentimentMin).toBeUndefined();
  });

  it('SENTIMENT_SYMBOL_MAP reads Name=SYMBOL entries, names with spaces included', () => {
    expect(
      load({ SENTIMENT_SYMBOL_MAP: 'Oracle=ORCL, Oracle Corp=ORCL,Berkshire Hathaway=BRK.B' }).sentiment.symbolMap,
    ).toEqual({ Oracle: 'ORCL', 'Oracle Corp': 'ORCL', 'Berkshire Hathaway': 'BRK.B' });
    expect(() => load({ SENTIMENT_SYMBOL_MAP: 'Oracle' })).toThrow(/SENTIMENT_SYMBOL_MAP: .*each entry is Name=SYMBOL/);
  });

  it('STRATEGY_SENTIMENT_MIN is a sentiment from -1 to 1', () => {
    expect(load({ STRATEGY_SENTIMENT_MIN: '0.15' }).strategy.sentimentMin).toBe(0.15);
    expect(() => load({ STRATEGY_SENTIMENT_MIN: '2' })).toThrow(/STRATEGY_SENTIMENT_MIN/);
  });

  it('the LLM scorer needs a model key', () => {
    let err: unknown;
    try {
      load({ SENTIMENT_SCORER: 'llm' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toContain(
      'OPENAI_API_KEY: required when SENTIMENT_SCORER=llm; expected an API key (or SENTIMENT_SCORER=default)',
    );
    expect(load({ SENTIMENT_SCORER: 'llm', OPENAI_API_KEY: 'k' }).sentiment.scorer).toBe('llm');
  });

  it('sextant start runs the sentiment agent when it has news to read, unless AGENTS says otherwise', () => {
    expect(load({}).runtime.agents).toEqual(['data', 'strategy', 'risk', 'execution', 'portfolio']);
    expect(load({ SENTIMENT_NEWS_FILE: 'news.ndjson' }).runtime.agents).toContain('sentiment');
    expect(load({ SENTIMENT_RSS_URLS: 'https://example.com/feed.xml' }).runtime.agents).toContain('sentiment');
    expect(load({ SENTIMENT_NEWS_FILE: 'news.ndjson', AGENTS: 'data,strategy' }).runtime.agents).toEqual([
      'data',
      'strategy',
    ]);
    expect(load({ AGENTS: 'sentiment' }).runtime.agents).toEqual(['sentiment']);
  });

  it('RSS URLs must be http(s)', () => {
    expect(() => load({ SENTIMENT_RSS_URLS: 'ftp://example.com/feed' })).toThrow(/SENTIMENT_RSS_URLS/);
  });
});
