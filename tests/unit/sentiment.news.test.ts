import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNewsFile } from '../../agents/sentiment/news/news-file.js';
import {
  makeNewsItem,
  NewsFormatError,
  NewsUnavailableError,
  parseNewsTime,
} from '../../agents/sentiment/news/news-item.js';
import { parseNewsFeed, rssNewsSource } from '../../agents/sentiment/news/rss-feed.js';
import { parseSymbolMap, symbolTagger } from '../../agents/sentiment/news/tagger.js';
import { newsItemSchema, type NewsItem } from '../../src/core/domain/messages.js';

const dir = mkdtempSync(join(tmpdir(), 'sextant-news-'));
let n = 0;
const file = (ext: string, lines: readonly string[]) => {
  const f = join(dir, `news-${++n}.${ext}`);
  writeFileSync(f, lines.join('\n') + '\n');
  return f;
};
const T = Date.UTC(2024, 2, 1, 14, 30);

describe('news files', () => {
  it('an NDJSON file becomes news items in time order, each valid against the news.item schema', () => {
    const f = file('ndjson', [
      JSON.stringify({
        headline: 'Oracle beats estimates',
        body: 'Cloud revenue up.',
        time: T + 1000,
        source: 'wire',
        url: 'https://x/1',
        symbols: ['ORCL'],
      }),
      JSON.stringify({ headline: '  Second   item ', time: new Date(T).toISOString(), source: 'wire' }),
      '',
    ]);
    const { items, skipped, name } = readNewsFile(f);
    expect(name).toMatch(/^ndjson:news-\d+\.ndjson$/);
    expect(skipped).toBe(0);
    expect(items.map((i) => i.headline)).toEqual(['Second item', 'Oracle beats estimates']);
    expect(items[1]).toMatchObject({
      body: 'Cloud revenue up.',
      time: T + 1000,
      source: 'wire',
      url: 'https://x/1',
      symbols: ['ORCL'],
    });
    for (const item of items) expect(newsItemSchema.safeParse(item).success).toBe(true);
  });

  it('item ids are a hash of source, url, time and headline: the same file read twice gives the same ids, another headline another id', () => {
    const line = { headline: 'Oracle beats estimates', time: T, source: 'wire', url: 'https://x/1' };
    const a = readNewsFile(file('ndjson', [JSON.stringify(line)])).items[0]!;
    const b = readNewsFile(file('ndjson', [JSON.stringify(line)])).items[0]!;
    const c = readNewsFile(file('ndjson', [JSON.stringify({ ...line, headline: 'Oracle misses estimates' })]))
      .items[0]!;
    const d = readNewsFile(file('ndjson', [JSON.stringify({ ...line, time: T + 1 })])).items[0]!;
    expect(a.id).toBe(b.id);
    expect(c.id).not.toBe(a.id);
    expect(d.id).not.toBe(a.id);
    expect(a.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it('a bad NDJSON line stops the read naming file and line', () => {
    const f = file('ndjson', [JSON.stringify({ headline: 'ok', time: T }), '{"headline": "no time"}', 'garbage']);
    let err: unknown;
    try {
      readNewsFile(f);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NewsFormatError);
    expect((err as Error).message).toBe(`${f}:2: time is missing`);
  });

  it('with lenient reading bad lines are skipped, counted and told, and the good ones kept', () => {
    const f = file('ndjson', [
      JSON.stringify({ headline: 'ok', time: T }),
      '{"headline": ""}',
      'garbage',
      JSON.stringify({ headline: 'bad time', time: 'yesterday-ish' }),
      JSON.stringify({ headline: 'ok 2', time: T + 1 }),
    ]);
    const told: NewsFormatError[] = [];
    const { items, skipped } = readNewsFile(f, { lenient: true, onSkip: (e) => told.push(e) });
    expect(items.map((i) => i.headline)).toEqual(['ok', 'ok 2']);
    expect(skipped).toBe(3);
    expect(told.map((e) => [e.line, e.problem.split(':')[0]])).toEqual([
      [2, 'headline is missing or empty'],
      [3, 'not JSON'],
      [4, 'time "yesterday-ish" is neither epoch ms, an ISO-8601 date(-time) nor an RFC 822 date'],
    ]);
  });

  it('a missing file is reported as unavailable, not as a format error', () => {
    expect(() => readNewsFile(join(dir, 'nope.ndjson'))).toThrow(NewsUnavailableError);
  });

  it('a CSV file reads columns by header name in any order, with quoted commas, quotes and newlines (RFC 4180)', () => {
    const f = file('csv', [
      'time,Symbols,headline,body,source,url',
      `${T},"ORCL,MSFT","Oracle, Microsoft ""team up""","line one`,
      `line two",wire,https://x/2`,
      `2024-03-01T15:00:00,,Plain headline,,,`,
    ]);
    const { items } = readNewsFile(f);
    expect(items).toHaveLength(2);
    expect(items[0]).toMatchObject({
      headline: 'Oracle, Microsoft "team up"',
      body: 'line one\nline two',
      symbols: ['ORCL', 'MSFT'],
      source: 'wire',
      url: 'https://x/2',
      time: T,
    });
    // no offset: UTC, whatever the machine's time zone
    expect(items[1]).toMatchObject({
      headline: 'Plain headline',
      time: Date.UTC(2024, 2, 1, 15),
      source: expect.stringMatching(/^news-\d+\.csv$/),
    });
  });

  it('a bad CSV record names the line it starts on, counting the lines of earlier multi-line records', () => {
    const f = file('csv', ['headline,time', '"two', 'lines",1', 'no time here,', 'fine,2']);
    expect(() => readNewsFile(f)).toThrow(`${f}:4: time is missing`);
    expect(readNewsFile(f, { lenient: true }).items.map((i) => i.headline)).toEqual(['two lines', 'fine']);
  });

  it('a CSV header without a headline or time column stops the read whatever the mode', () => {
    const f = file('csv', ['text,label', 'Oracle beats,1']);
    expect(() => readNewsFile(f, { lenient: true })).toThrow(
      `${f}:1: the header names no headline or time column (found: text, label)`,
    );
  });

  it('times are epoch ms, ISO-8601 (UTC without offset) or RFC 822; anything else is refused', () => {
    expect(parseNewsTime(T)).toBe(T);
    expect(parseNewsTime(String(T))).toBe(T);
    expect(parseNewsTime('2024-03-01')).toBe(Date.UTC(2024, 2, 1));
    expect(parseNewsTime('2024-03-01T14:30:00+02:00')).toBe(Date.UTC(2024, 2, 1, 12, 30));
    expect(parseNewsTime('Fri, 01 Mar 2024 14:30:00 GMT')).toBe(T);
    expect(parseNewsTime('1 2 3')).toBeNaN();
    expect(parseNewsTime('soon')).toBeNaN();
  });

  it('symbols in an item must look like symbols', () => {
    expect(makeNewsItem({ headline: 'x', time: T, symbols: 'ORCL; $MSFT' }, 's')).toMatchObject({
      symbols: ['ORCL', 'MSFT'],
    });
    expect(makeNewsItem({ headline: 'x', time: T, symbols: ['OR CL!'] }, 's')).toMatch(/is not a symbol/);
  });
});

describe('RSS and Atom feeds', () => {
  const rss = `<?xml version="1.0"?>
<rss version="2.0"><channel><title>Markets &amp; More</title><link>https://m.example</link>
  <item><title><![CDATA[Oracle <b>beats</b> & raises]]></title><link>https://m.example/1</link>
    <description>&lt;p&gt;Cloud revenue &amp;amp; margins up&lt;/p&gt;</description><pubDate>Fri, 01 Mar 2024 14:30:00 GMT</pubDate><category>ORCL</category><category>Tech</category></item>
  <item><title>Undated item</title><link>https://m.example/2</link></item>
  <item><description>no title: left out</description></item>
</channel></rss>`;

  it('an RSS 2.0 feed: titles, CDATA, entities and markup undone, dates read, ticker categories kept', () => {
    const items = parseNewsFeed(rss, { fallbackSource: 'm.example', seenAt: T + 5 });
    expect(items.map((i) => i.headline)).toEqual(['Oracle beats & raises', 'Undated item']);
    expect(items[0]).toMatchObject({
      body: 'Cloud revenue & margins up',
      url: 'https://m.example/1',
      time: T,
      source: 'Markets & More',
      symbols: ['ORCL'],
    });
    expect(items[1]!.time).toBe(T + 5);
  });

  it('an undated item keeps its id from poll to poll (its id is made without the time it was first seen at)', () => {
    const undated = (seenAt: number) =>
      parseNewsFeed(rss, { fallbackSource: 'x', seenAt }).find((i) => i.headline === 'Undated item')!;
    const a = undated(T);
    const b = undated(T + 60_000);
    expect(b.time).toBe(T + 60_000);
    expect(b.id).toBe(a.id);
  });

  it('an Atom feed: entries with alternate links, summaries and published dates', () => {
    const atom = `<feed xmlns="http://www.w3.org/2005/Atom"><title>Wire</title>
      <entry><title type="html">Oracle shares &lt;i&gt;surge&lt;/i&gt;</title><link rel="self" href="https://w/self"/><link rel="alternate" href="https://w/a"/>
        <summary>Up 8%</summary><published>2024-03-01T14:30:00Z</published><category term="ORCL"/></entry>
    </feed>`;
    const [item] = parseNewsFeed(atom, { fallbackSource: 'w', seenAt: 0 });
    expect(item).toMatchObject({
      headline: 'Oracle shares surge',
      url: 'https://w/a',
      body: 'Up 8%',
      time: T,
      source: 'Wire',
      symbols: ['ORCL'],
    });
  });

  it('a polled feed reads through the injected fetch; an HTTP error is a retryable unavailability', async () => {
    let status = 200;
    const source = rssNewsSource({
      url: 'https://m.example/feed',
      pollMs: 60_000,
      now: () => T,
      fetch: () => Promise.resolve(new Response(rss, { status })),
    });
    expect((await source.read()).map((i) => i.headline)).toEqual(['Oracle beats & raises', 'Undated item']);
    status = 503;
    const err = await source.read().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NewsUnavailableError);
    expect((err as NewsUnavailableError).retryable).toBe(true);
  });
});

describe('symbol tagging', () => {
  const tag = symbolTagger({
    Oracle: 'ORCL',
    'Oracle Corp': 'ORCL',
    Apple: 'AAPL',
    Target: 'TGT',
    'Berkshire Hathaway': 'BRK.B',
  });
  const item = (headline: string, extra: Partial<NewsItem> = {}) => ({ headline, ...extra });

  it('explicit tickers ($ORCL, $BRK.B) count, upper-cased, with trailing punctuation left out', () => {
    expect(tag(item('Why $orcl and $BRK.B moved. Also $MSFT.'))).toEqual(['BRK.B', 'MSFT', 'ORCL']);
  });

  it('a dollar amount is not a ticker', () => {
    expect(tag(item('Deal worth $5 billion, up from $4.2bn'))).toEqual([]);
  });

  it('company names and aliases tag their symbol as whole words, possessives included, also in a shouted headline', () => {
    expect(tag(item("Oracle Corp's cloud grows"))).toEqual(['ORCL']);
    expect(tag(item('ORACLE BEATS'))).toEqual(['ORCL']);
    expect(tag(item('Results', { body: 'Berkshire Hathaway and Apple report' }))).toEqual(['AAPL', 'BRK.B']);
  });

  it('common words that are also names, in lower case or inside other words, tag nothing', () => {
    expect(tag(item('Shoppers target apple orchards as pineapple prices rise'))).toEqual([]);
    expect(tag(item('Oracles and Targeted ads'))).toEqual([]);
  });

  it('a name written across a line break, a doubled or a no-break space still tags its symbol (never an empty one)', () => {
    expect(tag(item('Oracle\u00a0Corp lifts outlook'))).toEqual(['ORCL']);
    expect(tag(item('Oracle  Corp lifts outlook'))).toEqual(['ORCL']);
    expect(tag(item('News', { body: 'shares of Berkshire\nHathaway rose' }))).toEqual(['BRK.B']);
  });

  it("the item's own symbols field counts too", () => {
    expect(tag(item('Quarterly results', { symbols: ['XYZ'] }))).toEqual(['XYZ']);
  });

  it('the symbol map is read from Name=SYMBOL entries; a bad entry is named', () => {
    expect(parseSymbolMap(['Oracle=ORCL', ' Oracle Corp = ORCL '])).toEqual({ Oracle: 'ORCL', 'Oracle Corp': 'ORCL' });
    expect(parseSymbolMap(['Oracle'])).toBe('"Oracle" is not a Name=SYMBOL entry');
  });
});
