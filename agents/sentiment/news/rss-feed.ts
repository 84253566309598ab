import type { NewsItem } from '../../../src/core/index.js';
import { byTime, makeNewsItem, NewsUnavailableError } from './news-item.js';
import type { NewsSource } from './source.js';

/**
 * A small reader of RSS 2.0 (`<item>`: title, description, link, pubDate, category) and Atom
 * (`<entry>`: title, summary or content, link href, published or updated, category term). It is
 * not a general XML parser: it finds those elements, undoes CDATA and entities, and drops markup
 * from texts. Items without a title are left out; an item without a date gets `seenAt` as its time
 * (its id is then made without a time, so it is the same item at every poll).
 */
export function parseNewsFeed(
  xml: string,
  options: { readonly fallbackSource: string; readonly seenAt: number },
): NewsItem[] {
  const atom = /<feed[\s>]/.test(xml) && !/<rss[\s>]/.test(xml);
  const head = xml.split(atom ? /<entry[\s>]/ : /<item[\s>]/)[0] ?? '';
  const channelTitle = textOf(element(head, 'title'));
  const source = channelTitle || options.fallbackSource;
  const out: NewsItem[] = [];
  for (const block of elements(xml, atom ? 'entry' : 'item')) {
    const title = textOf(element(block, 'title'));
    if (!title) continue;
    const body = textOf(element(block, atom ? 'summary' : 'description') ?? element(block, 'content'));
    const url = atom
      ? attribute(block, 'link', 'href')
      : textOf(element(block, 'link')) || textOf(element(block, 'guid'));
    const when = textOf(element(block, atom ? 'published' : 'pubDate') ?? element(block, atom ? 'updated' : 'dc:date'));
    const categories = atom ? attributes(block, 'category', 'term') : elements(block, 'category').map((c) => textOf(c));
    const item = makeNewsItem(
      {
        headline: title,
        body,
        url,
        time: when || undefined,
        source,
        symbols: categories.filter((c) => /^\$?[A-Z][A-Z0-9.]{0,9}$/.test(c)),
      },
      source,
      options.seenAt,
    );
    if (typeof item !== 'string') out.push(item);
  }
  return byTime(out);
}

export interface RssSourceOptions {
  readonly url: string;
  readonly pollMs: number;
  /** Per request; default 10 s. */
  readonly timeoutMs?: number;
  /** Wall clock (the time stamped on undated items). */
  readonly now: () => number;
  /** Injected for tests; default the global fetch. */
  readonly fetch?: typeof fetch;
}

/**
 * An RSS or Atom feed polled every `pollMs` (live use). A failed read rejects; the pump tries again at the next poll.
 */
export function rssNewsSource(options: RssSourceOptions): NewsSource {
  const get = options.fetch ?? fetch;
  const host = safeHost(options.url);
  return {
    name: `rss:${options.url}`,
    pollMs: options.pollMs,
    read: async () => {
      let res: Response;
      try {
        res = await get(options.url, {
          signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
          headers: { accept: 'application/rss+xml, application/atom+xml, application/xml, text/xml' },
        });
      } catch (cause) {
        throw new NewsUnavailableError(options.url, { cause, retryable: true });
      }
      if (!res.ok)
        throw new NewsUnavailableError(options.url, {
          cause: new Error(`HTTP ${res.status}`),
          retryable: res.status >= 500 || res.status === 429,
        });
      const xml = await res.text();
      return parseNewsFeed(xml.slice(0, 5_000_000), { fallbackSource: host, seenAt: options.now() });
    },
  };
}

const safeHost = (url: string) => {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
};

const escapeName = (name: string) => name.replace(/[.:]/g, (c) => `\\${c}`);

/** The inner XML of every `<name ...>...</name>` in `xml` (not nested in one another). */
function elements(xml: string, name: string): string[] {
  const re = new RegExp(`<${escapeName(name)}(?:\\s[^>]*)?>([\\s\\S]*?)</${escapeName(name)}>`, 'g');
  return [...xml.matchAll(re)].map((m) => m[1]!);
}

function element(xml: string, name: string): string | undefined {
  return elements(xml, name)[0];
}

/** The value of `attr` on every `<name ...>` tag (self-closing or not). */
function attributes(xml: string, name: string, attr: string): string[] {
  const re = new RegExp(`<${escapeName(name)}\\s[^>]*?\\b${attr}\\s*=\\s*("([^"]*)"|'([^']*)')`, 'g');
  return [...xml.matchAll(re)].map((m) => decodeEntities(m[2] ?? m[3] ?? ''));
}

/** Atom: the `rel="alternate"` link (or the first one without a rel). */
function attribute(xml: string, name: string, attr: string): string | undefined {
  const tags = [...xml.matchAll(new RegExp(`<${escapeName(name)}\\s[^>]*>`, 'g'))].map((m) => m[0]);
  const pick =
    tags.find((t) => /\brel\s*=\s*["']alternate["']/.test(t)) ?? tags.find((t) => !/\brel\s*=/.test(t)) ?? tags[0];
  if (!pick) return undefined;
  return attributes(pick, name, attr)[0];
}

/** Text of an element: CDATA unwrapped, markup dropped, entities decoded, whitespace collapsed. */
function textOf(inner: string | undefined): string {
  if (inner === undefined) return '';
  let s = inner.replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, (_m, cdata: string) =>
    cdata.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'),
  );
  s = s.replace(/<[^>]*>/g, ' ');
  // an escaped HTML body (RSS descriptions usually are) holds markup and HTML entities after
  // decoding: drop the markup and decode once more
  s = decodeEntities(decodeEntities(s).replace(/<[^>]*>/g, ' '));
  return s.replace(/\s+/g, ' ').trim();
}

const NAMED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-zA-Z]+);/g, (m, e: string) => {
    if (e.startsWith('#x')) return safeChar(parseInt(e.slice(2), 16)) ?? m;
    if (e.startsWith('#')) return safeChar(parseInt(e.slice(1), 10)) ?? m;
    return NAMED[e] ?? m;
  });
}

const safeChar = (code: number) =>
  Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : undefined;
