import type { NewsItem } from '../../../src/core/index.js';

/** Tags a news item with the symbols it is about. */
export type SymbolTagger = (item: Pick<NewsItem, 'headline' | 'body' | 'symbols'>) => string[];

/** Symbols an item may carry at most (a roundup naming fifty companies is about none of them). */
const MAX_SYMBOLS = 20;

/** `$ORCL`, `$BRK.B`, `$BTC-USD`: a dollar sign, then a letter, then up to 9 letters, digits, `.` or `-`. */
const CASHTAG = /(?<![\w$])\$([A-Za-z][A-Za-z0-9]{0,9}(?:[.-][A-Za-z0-9]{1,4})?)(?![\w])/g;

/**
 * Builds the tagger. An item's symbols are the union of
 * - explicit tickers in headline or body (`$ORCL`, upper-cased),
 * - company names and aliases from `names` (`{ Oracle: 'ORCL', 'Oracle Corp': 'ORCL' }`), matched
 *   as whole words in the case they are written in, or in capitals (a shouted headline), so a
 *   common word that is also a name in lower case ("apple", "target") tags nothing,
 * - the item's own `symbols` field.
 * Sorted and without repeats; at most 20.
 */
export function symbolTagger(names: Readonly<Record<string, string>>): SymbolTagger {
  const entries = Object.entries(names)
    .map(([name, symbol]) => [name.trim(), symbol.trim()] as const)
    .filter(([name, symbol]) => name.length > 0 && symbol.length > 0)
    .sort((a, b) => b[0].length - a[0].length); // longest first: "Oracle Corp" before "Oracle"
  // keyed by the spelling with single spaces: the text may have any whitespace between a name's words
  const bySpelling = new Map<string, string>();
  for (const [raw, symbol] of entries) {
    const name = oneSpace(raw);
    bySpelling.set(name, symbol);
    if (!bySpelling.has(name.toUpperCase())) bySpelling.set(name.toUpperCase(), symbol);
  }
  const alternatives = [...bySpelling.keys()].sort((a, b) => b.length - a.length).map(escape);
  // whole words: not inside another word; a possessive ('s) or any punctuation may follow
  const pattern =
    alternatives.length > 0
      ? new RegExp(`(?<![\\p{L}\\p{N}_])(?:${alternatives.join('|')})(?![\\p{L}\\p{N}_])`, 'gu')
      : undefined;
  return (item) => {
    const found = new Set<string>();
    for (const text of [item.headline, item.body ?? '']) {
      if (text.length === 0) continue;
      for (const m of text.matchAll(CASHTAG)) found.add(m[1]!.toUpperCase());
      if (pattern) {
        for (const m of text.matchAll(pattern)) {
          const symbol = bySpelling.get(oneSpace(m[0]));
          if (symbol !== undefined) found.add(symbol);
        }
      }
    }
    for (const s of item.symbols ?? []) found.add(s);
    return [...found].sort().slice(0, MAX_SYMBOLS);
  };
}

const oneSpace = (s: string) => s.replace(/\s+/g, ' ');
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+');

/**
 * Parses `Name=SYM` entries (SENTIMENT_SYMBOL_MAP: `Oracle=ORCL,Oracle Corp=ORCL`) into a map;
 * returns the first bad entry's problem instead when there is one.
 */
export function parseSymbolMap(entries: readonly string[]): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const entry of entries) {
    const at = entry.lastIndexOf('=');
    const name = entry.slice(0, at).trim();
    const symbol = entry.slice(at + 1).trim();
    if (at <= 0 || name.length === 0 || !/^[A-Za-z0-9][A-Za-z0-9.\-/:_]{0,63}$/.test(symbol))
      return `"${entry}" is not a Name=SYMBOL entry`;
    out[name] = symbol;
  }
  return out;
}
