/**
 * The only place subject strings are built (STYLE rule 1).
 *
 * Subjects are `<domain>.<event>[.<key>]`. Domain and event tokens are lower case; a symbol
 * key is encoded into exactly one token by {@link encodeSymbol}, which preserves case and
 * round-trips any symbol (`BRK.B`, `BTC/USD`, `ES 12-25`).
 *
 * Two branded string types keep concrete subjects (what you publish to) apart from patterns
 * (what you subscribe to, possibly with `*` and `>`). A concrete subject is also a valid
 * pattern (it matches itself), so `Subject` is assignable to `SubjectPattern` but not back.
 */

declare const patternBrand: unique symbol;
declare const subjectBrand: unique symbol;

/** A subscription pattern; may contain `*` (one token) and `>` (the rest, last token only). */
export type SubjectPattern = string & { readonly [patternBrand]: true };
/** A concrete subject: no wildcards. Publish targets must be of this type. */
export type Subject = SubjectPattern & { readonly [subjectBrand]: true };

/** Characters kept verbatim in an encoded symbol token; everything else is escaped. */
const SAFE = /^[A-Za-z0-9-]$/;
const ESCAPE = '_';

/** Thrown for a symbol that cannot be carried in a subject (empty, too long). */
export class InvalidSymbolError extends Error {
  readonly code = 'invalid_symbol';
  readonly retryable = false;
  constructor(symbol: string, why: string) {
    super(`symbol ${JSON.stringify(symbol)} ${why}`);
    this.name = 'InvalidSymbolError';
  }
}

const MAX_SYMBOL_LENGTH = 64;
const encodeCache = new Map<string, string>();

/**
 * Encodes a symbol into one subject token: `[A-Za-z0-9-]` pass through, every other UTF-16
 * code unit becomes `_XXXX` (4 hex digits, so `_` itself and any Unicode survive).
 */
export function encodeSymbol(symbol: string): string {
  const cached = encodeCache.get(symbol);
  if (cached !== undefined) return cached;
  if (symbol.length === 0) throw new InvalidSymbolError(symbol, 'is empty');
  if (symbol.length > MAX_SYMBOL_LENGTH) {
    throw new InvalidSymbolError(symbol, `is longer than ${MAX_SYMBOL_LENGTH} characters`);
  }
  let out = '';
  for (const ch of symbol) {
    if (SAFE.test(ch)) {
      out += ch;
      continue;
    }
    for (let i = 0; i < ch.length; i++) {
      out += ESCAPE + ch.charCodeAt(i).toString(16).toUpperCase().padStart(4, '0');
    }
  }
  if (encodeCache.size < 100_000) encodeCache.set(symbol, out);
  return out;
}

/** Inverse of {@link encodeSymbol}; throws on a token that no symbol encodes to. */
export function decodeSymbol(token: string): string {
  if (!token.includes(ESCAPE)) return token;
  let out = '';
  for (let i = 0; i < token.length; i++) {
    const ch = token[i]!;
    if (ch !== ESCAPE) {
      out += ch;
      continue;
    }
    const hex = token.slice(i + 1, i + 5);
    if (!/^[0-9A-F]{4}$/.test(hex)) throw new InvalidSymbolError(token, 'is not a valid encoded symbol token');
    out += String.fromCharCode(parseInt(hex, 16));
    i += 4;
  }
  return out;
}

const s = (value: string): Subject => value as Subject;
const p = (value: string): SubjectPattern => value as SubjectPattern;

/** Names of the six agents; also the `<name>` token in agent subjects. */
export const AGENT_NAMES = ['data', 'sentiment', 'strategy', 'risk', 'execution', 'portfolio'] as const;
export type AgentName = (typeof AGENT_NAMES)[number];

/** Request/reply services answered on `query.<what>`. */
export const QUERY_NAMES = [
  'portfolio',
  'positions',
  'strategies',
  'orders',
  'order-log',
  'fills',
  'signals',
  'trace',
  'risk',
  'events',
  'sentiment',
] as const;
export type QueryName = (typeof QUERY_NAMES)[number];

/**
 * Concrete subjects. A message is published on its type, with its key (a symbol, an agent) as
 * the last token when it has one: `market.bar.<sym>`, `signal.generated.<sym>`,
 * `agent.health.<name>`. Requests go to the service that answers them (`query.<what>`,
 * `agent.control.<name>`). The catalog (src/core/domain/messages.ts) says which type goes where.
 */
export const subjects = {
  marketBar: (symbol: string) => s(`market.bar.${encodeSymbol(symbol)}`),
  marketTick: (symbol: string) => s(`market.tick.${encodeSymbol(symbol)}`),
  feedCompleted: () => s('market.feed-completed'),
  newsItem: () => s('news.item'),
  sentimentUpdated: (symbol: string) => s(`sentiment.updated.${encodeSymbol(symbol)}`),
  /** One scored news item (the sentiment agent's per-item output; a replay input). */
  sentimentScored: () => s('sentiment.scored'),
  signal: (symbol: string) => s(`signal.generated.${encodeSymbol(symbol)}`),
  /** A strategy's indicator lines for one bar (its `plot`). */
  strategyPlotted: (symbol: string) => s(`strategy.plotted.${encodeSymbol(symbol)}`),
  /** Intents and cancel requests (`order.cancel` travels here too: see the catalog). */
  orderIntent: () => s('order.intent'),
  /** Risk's approvals and the cancels it passes on (`order.cancel-approved`). */
  orderApproved: () => s('order.approved'),
  orderRejected: () => s('order.rejected'),
  orderSubmitted: () => s('order.submitted'),
  orderFilled: () => s('order.filled'),
  orderCancelled: () => s('order.cancelled'),
  orderFailed: () => s('order.failed'),
  /** Execution could not cancel: the order is unknown, already final, not the requester's, or the broker cannot. */
  orderCancelRejected: () => s('order.cancel-rejected'),
  portfolioUpdated: () => s('portfolio.updated'),
  riskState: () => s('risk.state'),
  /**
   * A command to the risk agent, the command as the last token (`risk.command.halt`): NATS permissions are
   * per subject, so the kill switch, which every process may pull, is apart from resume and limit changes.
   */
  riskCommand: (command: 'halt' | 'reduce' | 'resume' | 'set-limits') => s(`risk.command.${command}`),
  /** A command from a Sextant process (`by: system:...`: the store watch): every role may send these. */
  systemRiskCommand: (command: 'halt' | 'reduce' | 'resume' | 'set-limits') => s(`risk.command.system.${command}`),
  riskCommandResult: () => s('risk.command-result'),
  /** An operator accepting a price jump the data agent holds back (its symbol the last token). */
  dataAcceptPrice: (symbol: string) => s(`data.accept-price.${symbol}`),
  /** The data agent's answer (also published here for the audit trail). */
  dataAcceptPriceResult: () => s('data.accept-price-result'),
  agentHealth: (agent: string) => s(`agent.health.${agent}`),
  runStarted: () => s('run.started'),
  chatExchange: () => s('chat.exchange'),
  agentControl: (agent: string) => s(`agent.control.${agent}`),
  query: (what: QueryName) => s(`query.${what}`),
  /** Dead letters for a subject: `dlq.<subject>`. */
  dlq: (subject: string) => s(`dlq.${subject}`),
  /** A private reply inbox (request/reply); `token` must be one subject token. */
  inbox: (token: string) => s(`_inbox.${token}`),
} as const;

/**
 * Every Sextant subject, as stream subjects for a JetStream recording (inboxes and the JetStream
 * API are not Sextant's and are never captured).
 */
export const RECORDED_SUBJECTS: readonly string[] = [
  'market.>',
  'data.>',
  'news.>',
  'sentiment.>',
  'signal.>',
  'strategy.>',
  'order.>',
  'portfolio.>',
  'risk.>',
  'agent.>',
  'run.>',
  'chat.>',
  'query.>',
  'dlq.>',
];

/** Subscription patterns. */
export const patterns = {
  all: p('>'),
  marketBars: p('market.bar.*'),
  marketTicks: p('market.tick.*'),
  market: p('market.>'),
  sentimentUpdates: p('sentiment.updated.*'),
  signals: p('signal.generated.*'),
  strategyPlots: p('strategy.plotted.*'),
  orders: p('order.*'),
  riskCommands: p('risk.command.*'),
  dataAcceptPrice: p('data.accept-price.*'),
  systemRiskCommands: p('risk.command.system.*'),
  agentHealth: p('agent.health.*'),
  dlq: p('dlq.>'),
  portfolio: p('portfolio.>'),
  agents: p('agent.>'),
  queries: p('query.>'),
  chat: p('chat.>'),
  runs: p('run.>'),
  exact: (subject: Subject): SubjectPattern => subject,
} as const;

/** The symbol carried in a keyed subject such as `market.bar.<sym>`, if any. */
export function symbolOf(subject: string): string | undefined {
  const last = subject.lastIndexOf('.');
  if (last < 0) return undefined;
  const head = subject.slice(0, last);
  if (
    head === 'market.bar' ||
    head === 'market.tick' ||
    head === 'sentiment.updated' ||
    head === 'signal.generated' ||
    head === 'strategy.plotted'
  ) {
    return decodeSymbol(subject.slice(last + 1));
  }
  return undefined;
}

/** True when `subject` is a syntactically valid concrete subject (no wildcards, no empty tokens). */
export function isConcreteSubject(subject: string): subject is Subject {
  if (subject.length === 0 || /\s/.test(subject)) return false;
  for (const token of subject.split('.')) {
    if (token.length === 0 || token === '*' || token === '>') return false;
  }
  return true;
}

/** Validates a pattern: `>` only as the last token, `*`/`>` only as whole tokens. */
export function isValidPattern(pattern: string): pattern is SubjectPattern {
  if (pattern.length === 0 || /\s/.test(pattern)) return false;
  const tokens = pattern.split('.');
  return tokens.every((t, i) => {
    if (t.length === 0) return false;
    if (t === '>') return i === tokens.length - 1;
    return t === '*' || !/[*>]/.test(t);
  });
}

/** NATS wildcard semantics: `*` matches one token, `>` one or more trailing tokens. */
export function matchesPattern(pattern: string, subject: string): boolean {
  if (pattern === subject) return true;
  const pt = pattern.split('.');
  const st = subject.split('.');
  for (let i = 0; i < pt.length; i++) {
    const t = pt[i]!;
    if (t === '>') return st.length > i;
    if (i >= st.length) return false;
    if (t !== '*' && t !== st[i]) return false;
  }
  return pt.length === st.length;
}

/** Adds a namespace prefix (`replay.<runId>`) to a subject or pattern; used only by bus transports. */
export function withPrefix<T extends string>(prefix: string, subject: T): T {
  return (prefix ? `${prefix}.${subject}` : subject) as T;
}

/** Removes a namespace prefix added by {@link withPrefix}. */
export function withoutPrefix(prefix: string, subject: string): Subject {
  if (!prefix) return subject as Subject;
  return (subject.startsWith(`${prefix}.`) ? subject.slice(prefix.length + 1) : subject) as Subject;
}
