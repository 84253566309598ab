/**
 * Tokens for finance tweets and headlines. Words are lower-cased; noise that carries no
 * meaning in its spelling becomes one placeholder token, written in capitals so it can never
 * collide with a (lower-cased) word:
 *
 * - `URL` for links; `TICKER` for cashtags (`$ORCL`, `$BRK.B`) and `(CVA)`-style symbols,
 *   so a model learns from the fact of a ticker, not from which company it names;
 * - `+N%` / `-N%` / `N%` for percentages with and without a sign, `$N` for amounts, `N` for
 *   other numbers (the sign of a move matters, its size rarely does);
 * - hashtags become their word (`#earnings` -> `earnings`), mentions `@USER`;
 * - `n't` becomes a separate `not` (`doesn't` -> `does not`), other clitics are dropped;
 * - `|` marks a clause break (`, ; : . ! ?` and a free-standing dash), where negation ends;
 * - `…` marks a truncated text (`…` or `...`), common in tweets that quote a headline.
 */
export const TOKEN = {
  url: 'URL',
  ticker: 'TICKER',
  user: '@USER',
  pctUp: '+N%',
  pctDown: '-N%',
  pct: 'N%',
  money: '$N',
  number: 'N',
  clause: '|',
  ellipsis: '…',
} as const;

// One alternation, tried left to right at each position.
const PATTERN = new RegExp(
  [
    /(?<url>https?:\/\/\S*|www\.\S+)/.source,
    /\$(?<cashtag>[A-Za-z]{1,6}(?:\.[A-Za-z]{1,2})?)(?![A-Za-z0-9])/.source,
    /\((?<paren>[A-Z]{1,5})\)/.source,
    // a number that starts a word may carry a sign: ` -3.2%`, `(+5%`, ` $1.6`
    /(?<lead>^|[\s(])(?<sign>[+\-\u2212])?(?<leadMoney>\$)?\d+(?:,\d{3})*(?:\.\d+)?(?:\s?(?<leadPct>%|percent\b))?/
      .source,
    /(?<money>\$)?\d+(?:,\d{3})*(?:\.\d+)?(?<pct>%)?/.source,
    /#(?<hashtag>[A-Za-z0-9_]+)/.source,
    /@(?<mention>[A-Za-z0-9_]+)/.source,
    /(?<acronym>(?:[A-Za-z]\.){2,})/.source,
    /(?<word>[A-Za-z\u00C0-\u024F][A-Za-z0-9\u00C0-\u024F]*(?:['\u2019][A-Za-z]+)*)/.source,
    /(?<ellipsis>\u2026|\.\.\.)/.source,
    /(?<clause>[,;:!?]|\.(?=\s|$)|\s[-\u2013\u2014]\s)/.source,
  ].join('|'),
  'g',
);

/** The tokens of `text`, in order (see {@link TOKEN}). Pure; allocates only the result. */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  PATTERN.lastIndex = 0;
  for (let m = PATTERN.exec(text); m !== null; m = PATTERN.exec(text)) {
    const g = m.groups!;
    if (g.word !== undefined) pushWord(out, g.word);
    else if (g.url !== undefined) out.push(TOKEN.url);
    else if (g.cashtag !== undefined || g.paren !== undefined) out.push(TOKEN.ticker);
    else if (g.lead !== undefined) {
      if (g.leadPct !== undefined)
        out.push(g.sign === undefined ? TOKEN.pct : g.sign === '+' ? TOKEN.pctUp : TOKEN.pctDown);
      else out.push(g.leadMoney !== undefined ? TOKEN.money : TOKEN.number);
    } else if (g.hashtag !== undefined) pushWord(out, g.hashtag);
    else if (g.mention !== undefined) out.push(TOKEN.user);
    else if (g.acronym !== undefined) out.push(g.acronym.toLowerCase());
    else if (g.ellipsis !== undefined) out.push(TOKEN.ellipsis);
    else if (g.clause !== undefined) {
      if (out.length > 0 && out[out.length - 1] !== TOKEN.clause) out.push(TOKEN.clause);
    } else out.push(g.pct !== undefined ? TOKEN.pct : g.money !== undefined ? TOKEN.money : TOKEN.number);
  }
  if (out[out.length - 1] === TOKEN.clause) out.pop();
  return out;
}

/** Lower-cases a word and splits off its clitic: `doesn't` -> `does not`, `Oracle's` -> `oracle`. */
function pushWord(out: string[], raw: string): void {
  const word = raw.toLowerCase();
  const apostrophe = word.search(/['\u2019]/);
  if (apostrophe === -1) {
    out.push(word);
    return;
  }
  const stem = word.slice(0, apostrophe);
  const clitic = word.slice(apostrophe + 1);
  if (clitic === 't' && stem.endsWith('n')) {
    const base = stem.slice(0, -1);
    out.push(base === 'wo' ? 'will' : base === 'ca' ? 'can' : base === 'sha' ? 'shall' : base, 'not');
    return;
  }
  out.push(stem);
}
