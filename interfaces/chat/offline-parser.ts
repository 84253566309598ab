/**
 * The offline intent parser: common questions and orders in plain language mapped to commands,
 * deterministically, with no model. It answers when there is no API key, the budget is spent or
 * the model is down. It only ever produces a command text for the router, so anything it makes
 * goes through the same roles, validation and previews as a typed command.
 */

import { editDistance } from '../../src/core/index.js';
import { amount } from '../commands/index.js';

const NUMBER = String.raw`(\d+(?:\.\d+)?)`;
const SYMBOL = String.raw`\$?([a-z][a-z0-9._/-]{0,15})`;

/** Words people type around what they mean; removed before matching. */
const FILLER =
  /\b(please|pls|plz|can you|could you|would you|hey|hi|sextant|bot|me|us|the|a|an|my|our|for|of|shares?|units?|some|right now|now)\b/g;

/** Common misspellings folded to the word meant. */
const SPELLING: readonly [RegExp, string][] = [
  [/\bp(?:n|&)l\b|\bprofits?\b|\bprofit and loss\b|\bpnl\b|\bpln\b|\bpnll\b/g, 'pnl'],
  [/\bpostions?\b|\bpositons?\b|\bholdings?\b/g, 'positions'],
  [/\bportfolo\b|\bportfollio\b|\bportfoilo\b/g, 'portfolio'],
  [/\bbalance\b|\bcash\b|\bequity\b|\bmoney\b/g, 'portfolio'],
  [/\bordes\b|\boders\b|\border\b/g, 'orders'],
  [/\btoday'?s\b|\btodays\b|\btody\b/g, 'today'],
  [/\byesterday'?s\b|\byesterdays\b|\bprevious day\b/g, 'yesterday'],
  [/\blast week'?s\b|\bprevious week\b|\blast week\b/g, 'lastweek'],
  [/\blast month'?s\b|\bprevious month\b|\blast month\b/g, 'lastmonth'],
  [/\b(?:win|hit|success|winning) ?(?:rate|ratio|percentage)\b/g, 'winrate'],
  [/\bsel\b/g, 'sell'],
  [/\bbuyy\b|\bbuey\b/g, 'buy'],
];

const normalise = (text: string): string => {
  let t = ` ${text.toLowerCase().replace(/[?!,;:]+/g, ' ')} `;
  for (const [re, word] of SPELLING) t = t.replace(re, word);
  return t.replace(FILLER, ' ').replace(/\s+/g, ' ').trim();
};

type Rule = readonly [RegExp, (m: RegExpMatchArray) => string];

/** First match wins; orders before questions so "buy 10 ORCL" is never read as a question about ORCL. */
const RULES: readonly Rule[] = [
  [
    new RegExp(
      String.raw`^(?:sell|close|exit|trim) (half|a half|quarter|a quarter|third|a third|\d+(?:\.\d+)?%) ${SYMBOL}(?: position)?$`,
    ),
    (m) => `close ${m[2]!.toUpperCase()} ${m[1]!.replace(/^a /, '')}`,
  ],
  [
    new RegExp(String.raw`^(buy|sell) ${NUMBER} ${SYMBOL}(?: (?:at|limit|@) ${NUMBER})?$`),
    (m) => `${m[1]} ${m[3]!.toUpperCase()} ${m[2]}${m[4] ? ` limit ${m[4]}` : ''}`,
  ],
  [
    new RegExp(String.raw`^(buy|sell) ${SYMBOL} ${NUMBER}(?: (?:at|limit|@) ${NUMBER})?$`),
    (m) => `${m[1]} ${m[2]!.toUpperCase()} ${m[3]}${m[4] ? ` limit ${m[4]}` : ''}`,
  ],
  [new RegExp(String.raw`^(?:close|exit|flatten|liquidate) (?:all|everything|positions)$`), () => 'close all'],
  [
    new RegExp(String.raw`^(?:close|exit|flatten|liquidate) ${SYMBOL}(?: position)?$`),
    (m) => `close ${m[1]!.toUpperCase()}`,
  ],
  [/\b(stop|halt|kill|pause) (trading|everything|all)\b|^(stop|halt|kill switch|panic)$/, () => 'halt'],
  [/\b(resume|restart|start) trading\b|^resume$/, () => 'resume'],
  [/\b(only|just) (reduce|reducing)\b|^reduce$/, () => 'reduce'],
  [
    new RegExp(
      String.raw`\bwhy (?:did|do|have)? ?(?:we|you|it)? ?(?:buy|sell|bought|sold|trade|traded)? ?${SYMBOL}(?: (?:yesterday|today|earlier|this morning|lastweek|just now|recently))?$`,
    ),
    (m) => `why ${m[1]!.toUpperCase()}`,
  ],
  // the price of a symbol: "what is the current price of SYN", "SYN price", "quote ORCL"
  [
    new RegExp(
      String.raw`\b(?:current |latest |last )?price (?:is |for |on )?${SYMBOL}(?: now| today)?$|^(?:quote|px) ${SYMBOL}$|^${SYMBOL} (?:price|quote)$|^how much is ${SYMBOL}(?: trading| worth)?(?: at)?(?: now)?$|^(?:where|what) is ${SYMBOL} trading$`,
    ),
    (m) => `price ${(m[1] ?? m[2] ?? m[3] ?? m[4] ?? m[5])!.toUpperCase()}`,
  ],
  [new RegExp(String.raw`\bwinrate (?:in |on )?${SYMBOL}$`), (m) => `winrate ${m[1]!.toUpperCase()}`],
  [/\bwinrate\b/, () => 'winrate'],
  // how the money went, by period: "how much did I make this week", "how did the strategy do this month"
  [
    /\b(?:how much|what)(?: portfolio)? (?:did|have) (?:i|we|you|it)? ?(?:make|made|earn|earned|lose|lost|gain|gained)\b.*\b(today|yesterday|lastweek|week|lastmonth|month)\b|\bhow (?:did|has|is) (?:strategy|it|trading|we) (?:do|done|doing)\b.*\b(today|yesterday|lastweek|week|lastmonth|month)\b/,
    (m) => `pnl ${m[1] ?? m[2]}`,
  ],
  // "pnl by strategy", "how is each strategy doing", "strategies"
  [
    /\b(?:by|per|each|every) strateg(?:y|ies)\b.*\b(today|week|month)\b|\b(today|week|month)\b.*\b(?:by|per|each|every) strateg(?:y|ies)\b/,
    (m) => `strategies ${m[1] ?? m[2]}`,
  ],
  [/\b(?:by|per|each|every) strateg(?:y|ies)\b|\bstrategies\b/, () => 'strategies'],
  [/\b(?:since (?:start|beginning|inception)|all time|overall|in total|total return)\b/, () => 'pnl all'],
  [
    /\bpnl\b.*\b(today|yesterday|lastweek|week|lastmonth|month|all)\b|\b(today|yesterday|lastweek|week|lastmonth|month)\b.*\bpnl\b/,
    (m) => `pnl ${m[1] ?? m[2]}`,
  ],
  [/\bpnl\b/, () => 'pnl today'],
  [/\bpositions\b/, () => 'positions'],
  [/\bopen orders\b|\bworking orders\b/, () => 'orders open'],
  [/\borders\b/, () => 'orders all'],
  [/\bportfolio\b|\bhow much\b/, () => 'portfolio'],
  [/\b(risk|limits?|trading state)\b/, () => 'risk'],
  [/\bsignals?\b/, () => 'signals'],
  [/\bagents?\b|\bhealth\b/, () => 'agents'],
  [/\b(status|how are we|how is it going|what'?s going on)\b/, () => 'status'],
  [/\b(drawdown|exposure|equity curve)\b/, () => 'portfolio'],
  [
    /\b(running|alive|up and running|working|online)\b|\b(?:everything|all|things) (?:ok|okay|fine|good|healthy)\b/,
    () => 'status',
  ],
  [/\b(fills|trades|executions)\b/, () => 'orders all'],
  [new RegExp(String.raw`^how (?:is|are|s) ${SYMBOL}(?: doing)?$`), (m) => `signals ${m[1]!.toUpperCase()}`],
];

/** The rules that act (orders, closes, halt/resume/reduce): never taken from a hedged message. */
const ACTIONS: ReadonlySet<RegExp> = new Set(RULES.slice(0, 8).map(([re]) => re));

/** `limits set maxDrawdown 20%` -> `limits set maxDrawdown 0.2` (keys keep their case; units become numbers). */
function limitChange(text: string): string | undefined {
  const m = /^\s*(?:limits?|limit) set ([A-Za-z]+)(?: to| =)? (\S+)\s*$/i.exec(text);
  if (!m) return undefined;
  const value = amount(m[2]!);
  return value === undefined ? undefined : `limits set ${m[1]} ${value}`;
}

/** The command a plain-language message means, or undefined when it is not one of the known forms. */
export function parseIntent(text: string): string | undefined {
  if (text.length > 500) return undefined;
  if (/^\s*(help|what can you do|what do you do|commands)\s*\??\s*$/i.test(text)) return 'help';
  const limits = limitChange(text);
  if (limits) return limits;
  const t = normalise(text);
  if (t.length === 0) return undefined;
  // "don't stop trading", "should we resume trading?": not orders to act on
  const hedged =
    /\b(don'?t|do not|never|not|no|should|shall|would|could|can|if)\b/.test(t) || text.trim().endsWith('?');
  for (const [re, make] of RULES) {
    if (hedged && ACTIONS.has(re)) continue;
    const m = t.match(re);
    if (m) return make(m);
  }
  return undefined;
}

/** The `n` command names nearest to what was typed (its words against each name), for "did you mean". */
export function closestCommands(text: string, names: readonly string[], n: number): string[] {
  const words = normalise(text).split(' ').filter(Boolean);
  const score = (name: string) =>
    Math.min(...(words.length ? words : ['']).map((w) => editDistance(w, name) / Math.max(name.length, 1)));
  return [...names].sort((a, b) => score(a) - score(b) || a.localeCompare(b)).slice(0, n);
}
