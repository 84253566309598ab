import type {
  Bar,
  OrderFilled,
  OriginBook,
  PortfolioSnapshot,
  SentimentUpdated,
  Signal,
  StrategyPlotted,
} from '../../../../src/core/index.js';
import { api, hooks, openStream, S, setConn, TOKEN_KEY, type Message } from './api.js';
import { $, clear, clock, h, num, qty } from './dom.js';
import {
  access,
  addPoint,
  addPriceBar,
  addPriceFill,
  addPricePlot,
  offerSymbol,
  PRICE,
  resetPrice,
  addSentiment,
  agentHealth,
  agents,
  books,
  drawCharts,
  fills,
  orders,
  P,
  panelHooks,
  showSnapshot,
  signals,
  tradingState,
  type AgentRow,
  type OrderRow,
} from './panels.js';

/**
 * The dashboard script: loading, the live stream's dispatch, Halt/Resume through the command
 * layer's preview and confirm, the trace timeline, the chat panel, the token form, start.
 * Bundled by `npm run build` (scripts/build-assets.ts) into bundle.generated.ts, which the API
 * serves.
 */

const STREAM_TYPES = [
  'portfolio.updated',
  'market.bar',
  'order.*',
  'signal.generated',
  'strategy.plotted',
  'sentiment.*',
  'risk.state',
  'agent.health',
];
/** Rows a list shows at first; each "More" adds as many older ones (bounded lists: the page stays short). */
const MAX_ROWS = 25;
/** How many rows each list keeps as new ones arrive: MAX_ROWS, plus what "More" loaded. */
const SHOWN = { fills: MAX_ROWS, signals: MAX_ROWS };

/** A preview of a dangerous command, as the command layer returns it. */
interface Preview {
  readonly id: string;
  readonly command: string;
  readonly summary: string;
  readonly expiresAt: number;
  readonly check?: { readonly wouldPass: boolean; readonly code?: string; readonly reason?: string };
}

interface Reply {
  readonly ok: boolean;
  readonly text: string;
  readonly preview?: Preview;
  readonly data?: { readonly state?: string };
}

const notice = (text?: string) => void ($('notice').textContent = text || '');
const failed = (err: unknown) => notice(err instanceof Error ? err.message : String(err));

/** The newest messages of a type (needs a store; without one the caller falls back or shows none). */
const newest = <P>(type: string, limit: number, offset = 0) =>
  api<Message<P>[]>(
    'GET',
    '/events?type=' + encodeURIComponent(type) + '&newest=true&limit=' + limit + (offset ? '&offset=' + offset : ''),
  );

/**
 * "More" under a list: the next MAX_ROWS older messages, appended; the button hides when a page
 * comes back short (nothing older) and shows only where a store answers.
 */
function moreButton(which: 'fills' | 'signals', type: string, render: () => void): void {
  const button = $<HTMLButtonElement>(which + '-more');
  button.addEventListener('click', () => {
    button.disabled = true;
    const list = P[which] as { id?: string }[];
    newest<unknown>(type, MAX_ROWS, list.length)
      .then((older) => {
        const seen = new Set(list.map((m) => m.id));
        for (const m of older) if (!seen.has(m.id)) list.push(m as never);
        SHOWN[which] = Math.max(SHOWN[which], list.length);
        button.hidden = older.length < MAX_ROWS;
        render();
      }, failed)
      .finally(() => (button.disabled = false));
  });
}

async function loadEquity(): Promise<void> {
  const live = { xs: P.xs, eq: P.eq, dd: P.dd };
  try {
    const list = await newest<PortfolioSnapshot>('portfolio.updated', 1000);
    P.xs = [];
    P.eq = [];
    P.dd = [];
    for (const e of list.slice().reverse()) addPoint(e.time, e.payload);
    // points the stream delivered while the history loaded
    const end = P.xs.length ? P.xs[P.xs.length - 1]! : -Infinity;
    live.xs.forEach((x, i) => {
      if (x > end) {
        P.xs.push(x);
        P.eq.push(live.eq[i]!);
        P.dd.push(live.dd[i]!);
      }
    });
    drawCharts();
  } catch {
    // no store: the curve starts now
  }
  const snap = await api<PortfolioSnapshot & { asOf: number | null }>('GET', '/portfolio');
  showSnapshot(snap);
  if (snap.asOf !== null) addPoint(snap.asOf, snap);
}

let ordersTimer: ReturnType<typeof setTimeout> | null = null;
const loadOrders = () => api<OrderRow[]>('GET', '/orders?status=open&limit=50').then(orders);
function scheduleOrders(): void {
  if (ordersTimer) return;
  ordersTimer = setTimeout(() => {
    ordersTimer = null;
    loadOrders().catch(failed);
  }, 300);
}

/** The books by strategy: loaded with the rest, then again at most once a second while fills and marks come. */
let booksTimer: ReturnType<typeof setTimeout> | null = null;
const loadBooks = () => api<OriginBook[]>('GET', '/strategies').then(books);
function scheduleBooks(): void {
  if (booksTimer) return;
  booksTimer = setTimeout(() => {
    booksTimer = null;
    loadBooks().catch(failed);
  }, 1000);
}

const loadFills = () =>
  newest<OrderFilled>('order.filled', MAX_ROWS).then(
    (list) => {
      P.fills = list;
      $('fills-more').hidden = list.length < MAX_ROWS;
      fills();
    },
    () => undefined, // no store: fills from now on
  );

const loadSignals = () =>
  newest<Signal>('signal.generated', MAX_ROWS).then(
    (list) => {
      P.signals = list;
      $('signals-more').hidden = list.length < MAX_ROWS;
      signals();
    },
    () =>
      api<Signal[]>('GET', '/signals').then((list) => {
        P.signals = list.map((s) => ({ payload: s }));
        signals();
      }),
  );

/** Sentiment per symbol from the kept sentiment.updated history, oldest first so the newest wins. */
const loadSentiment = () =>
  newest<Partial<SentimentUpdated>>('sentiment.updated', 200).then(
    (list) => list.slice().reverse().forEach(addSentiment),
    () => undefined, // none kept: the stream fills it
  );

const loadAgents = () => api<Record<string, AgentRow>>('GET', '/agents').then(agents);
const loadRisk = () =>
  api<{ role: string }>('GET', '/whoami')
    .then((me) => {
      S.role = me.role;
      access.operate = me.role === 'operator' || me.role === 'admin';
    })
    .then(() => api<{ state: string }>('GET', '/risk'))
    .then((r) => tradingState(r.state));

/** The charted symbol's recent bars and fills (a store keeps them; without one the chart starts now). */
async function loadPrice(): Promise<void> {
  const symbol = PRICE.symbol;
  if (!symbol) return;
  const q = (type: string, limit: number) =>
    api<Message<Bar | OrderFilled | StrategyPlotted>[]>(
      'GET',
      `/events?type=${type}&symbol=${encodeURIComponent(symbol)}&newest=true&limit=${limit}`,
    );
  try {
    // the strategies' lines: one message per bar and instance (with several, the latest bars' only)
    const [bars, fills, plots] = await Promise.all([
      q('market.bar', 1000),
      q('order.filled', 200),
      q('strategy.plotted', 1000),
    ]);
    if (PRICE.symbol !== symbol) return; // another symbol was chosen meanwhile
    resetPrice(symbol);
    for (const f of fills) addPriceFill(f.time, (f.payload as OrderFilled).side, (f.payload as OrderFilled).price);
    for (const b of bars.slice().reverse()) addPriceBar(b.time, b.payload as Bar);
    for (const p of plots.slice().reverse()) addPricePlot(p.time, p.payload as unknown as StrategyPlotted);
  } catch {
    // no store: the chart fills from the stream
  }
}

/** A symbol seen on the stream: offered in the chart's list, and charted when it is the first. */
function seeSymbol(symbol: string): void {
  if (!offerSymbol(symbol)) return;
  resetPrice(symbol);
  void loadPrice();
}

function loadAll(): Promise<unknown> {
  notice('');
  return Promise.all([
    loadEquity(),
    loadOrders(),
    loadBooks(),
    loadFills(),
    loadSignals(),
    loadAgents(),
    loadRisk(),
    loadSentiment(),
  ]).catch(failed);
}

function onEvent(e: Message): void {
  const t = e.type;
  if (t === 'portfolio.updated') {
    showSnapshot(e.payload as unknown as PortfolioSnapshot);
    addPoint(e.time, e.payload);
    scheduleBooks();
  } else if (t === 'market.bar') {
    if (P.last) addPoint(e.time, P.last);
    const bar = e.payload as unknown as Bar;
    seeSymbol(bar.symbol);
    if (bar.symbol === PRICE.symbol) addPriceBar(e.time, bar);
  } else if (t === 'strategy.plotted') {
    addPricePlot(e.time, e.payload as unknown as StrategyPlotted);
  } else if (t === 'signal.generated') {
    P.signals.unshift(e as unknown as Message<Signal>);
    P.signals.length = Math.min(P.signals.length, SHOWN.signals);
    signals();
  } else if (t === 'risk.state') tradingState(String(e.payload.state));
  else if (t === 'agent.health') agentHealth(e);
  else if (t.startsWith('sentiment.')) addSentiment(e);
  else if (t.startsWith('order.')) {
    if (t === 'order.filled') {
      const f = e.payload as unknown as OrderFilled;
      if (f.symbol === PRICE.symbol) addPriceFill(e.time, f.side, f.price);
      P.fills.unshift(e as unknown as Message<OrderFilled>);
      P.fills.length = Math.min(P.fills.length, SHOWN.fills);
      fills();
    }
    scheduleOrders();
  }
}

/** Halt or Resume: the command layer answers with a preview; only Confirm sends it to risk. */
function riskAction(name: 'halt' | 'resume'): void {
  notice('');
  api<Reply>('POST', '/commands/' + name, { args: { reason: name + ' from the dashboard' } })
    .then((reply) => (reply.preview ? openConfirm(reply.preview) : notice(reply.text)))
    .catch(failed);
}

function openConfirm(preview: Preview): void {
  const dlg = $<HTMLDialogElement>('confirm-dialog');
  const ok = $<HTMLButtonElement>('confirm-ok');
  const check = preview.check
    ? preview.check.wouldPass
      ? 'Risk pre-check: would pass.'
      : 'Risk pre-check: would be refused (' + preview.check.code + ': ' + preview.check.reason + ').'
    : '';
  const secs = Math.max(0, Math.round((preview.expiresAt - Date.now()) / 1000));
  $('confirm-title').textContent = 'Confirm ' + preview.command + '?';
  $('confirm-text').textContent = [
    preview.summary,
    check,
    'Preview ' + preview.id + ' expires in about ' + secs + ' s.',
  ]
    .filter(Boolean)
    .join('\n');
  $('confirm-error').textContent = '';
  ok.textContent = 'Confirm ' + preview.command;
  ok.disabled = false;
  ok.onclick = () => {
    ok.disabled = true;
    api<Reply>('POST', '/commands/confirm/' + encodeURIComponent(preview.id)).then(
      (reply) => {
        dlg.close();
        if (reply.data && reply.data.state) tradingState(reply.data.state);
        notice('');
      },
      (err: Error) => void ($('confirm-error').textContent = err.message),
    );
  };
  $('confirm-cancel').onclick = () => {
    api('POST', '/commands/cancel/' + encodeURIComponent(preview.id)).catch(() => undefined); // expired or gone: nothing was sent either way
    dlg.close();
  };
  dlg.showModal();
}

type Loose = Record<string, unknown> & {
  order?: Loose;
  cancel?: Loose;
  origin?: { kind: string; id: string };
  reasons?: string[];
  checks?: string[];
};

/** One line about a message of a chain. */
function describe(m: Message): string {
  const p = (m.payload || {}) as Loose;
  const o = p.order || p;
  switch (m.type) {
    case 'market.bar':
      return (
        p.symbol +
        ' close ' +
        num(p.close) +
        ' (open ' +
        num(p.open) +
        ', high ' +
        num(p.high) +
        ', low ' +
        num(p.low) +
        ')'
      );
    case 'signal.generated':
      return (
        p.side +
        ' ' +
        p.symbol +
        ' to ' +
        qty(p.targetQty) +
        ' @ ' +
        num(p.price) +
        (p.reasons && p.reasons.length ? ': ' + p.reasons.join('; ') : '')
      );
    case 'order.intent':
      return (
        o.side +
        ' ' +
        qty(o.qty) +
        ' ' +
        o.symbol +
        ' ' +
        o.type +
        ' (' +
        (o.origin ? o.origin.kind + ' ' + o.origin.id : '') +
        ')'
      );
    case 'order.approved':
      return (
        'approved ' + o.side + ' ' + qty(o.qty) + ' ' + o.symbol + (p.checks ? ' (' + p.checks.join(', ') + ')' : '')
      );
    case 'order.rejected':
      return p.code + ': ' + p.reason;
    case 'order.submitted':
      return 'to ' + p.broker + ' as ' + p.brokerOrderId;
    case 'order.filled':
      return (
        p.side +
        ' ' +
        qty(p.qty) +
        ' ' +
        p.symbol +
        ' @ ' +
        num(p.price) +
        ' (' +
        p.status +
        ', fee ' +
        num(p.fee) +
        ')'
      );
    case 'order.cancelled':
    case 'order.failed':
      return String(p.reason);
    case 'order.cancel':
      return 'cancel ' + String(p.clientOrderId) + ': ' + String(p.reason);
    case 'order.cancel-approved':
      return 'cancel of ' + String(p.cancel?.clientOrderId) + ' passed on (' + String(p.state) + ')';
    case 'order.cancel-rejected':
      return 'cancel of ' + String(p.clientOrderId) + ' refused, ' + String(p.code) + ': ' + String(p.reason);
    case 'portfolio.updated':
      return 'equity ' + num(p.equity) + ', cash ' + num(p.cash);
    default:
      return JSON.stringify(p).slice(0, 300);
  }
}

/** A correlation id's chain as a timeline: each message after its cause, with its time offset. */
function showTrace(id: string): void {
  $<HTMLInputElement>('trace-input').value = id;
  $('trace-status').textContent = 'Loading ' + id + '…';
  const list = clear($('trace-timeline'));
  $('trace-form').scrollIntoView({ block: 'nearest' });
  api<{ messages?: Message[] }>('GET', '/trace/' + encodeURIComponent(id)).then(
    (t) => {
      const msgs = t.messages || [];
      $('trace-status').textContent = msgs.length
        ? msgs.length + ' messages in chain ' + id
        : 'Nothing recorded for ' + id + '.';
      const t0 = msgs.length ? msgs[0]!.time : 0;
      for (const m of msgs) {
        const dt = m.time - t0;
        list.appendChild(
          h('li', { 'data-type': m.type }, [
            h('div', { class: 'type', text: m.type }),
            h('div', { class: 'what', text: describe(m) }),
            h('div', {
              class: 'meta',
              text:
                (dt >= 0 ? '+' : '') +
                (dt / 1000).toFixed(3) +
                ' s · ' +
                clock(m.time) +
                ' · ' +
                m.source +
                ' · ' +
                m.id,
            }),
          ]),
        );
      }
    },
    (err: Error) => void ($('trace-status').textContent = err.message),
  );
}

function chatLine(cls: string, text: string): HTMLElement {
  const log = $('chat-log');
  const e = h('div', { class: 'msg ' + cls, text });
  log.appendChild(e);
  log.scrollTop = log.scrollHeight;
  return e;
}

/** A message to the command layer (POST /chat); a preview gets Confirm/Cancel buttons that answer through the chat. */
function chatSend(text: string): Promise<void> {
  chatLine('me', text);
  return api<Reply>('POST', '/chat', { message: text, conversationId: 'dashboard' }).then(
    (r) => {
      const line = chatLine('bot' + (r.ok ? '' : ' failed'), r.text);
      if (!r.preview) return;
      const id = r.preview.id;
      const act = (word: string) => () => {
        row.remove();
        void chatSend(word + ' ' + id);
      };
      const row = h('div', { class: 'row' }, [
        h('button', { type: 'button', class: 'danger', text: 'Confirm ' + id, onclick: act('confirm') }),
        h('button', { type: 'button', class: 'quiet', text: 'Cancel', onclick: act('cancel') }),
      ]);
      line.appendChild(row);
    },
    (err: Error) => void chatLine('bot failed', err.message),
  );
}

function askForToken(msg?: string): void {
  $('token-form').hidden = false;
  $('token-error').textContent = msg || '';
  setConn('offline', 'no token');
  $('token-input').focus();
}

let started = false;
function start(): void {
  openStream(STREAM_TYPES, onEvent, () => void loadAll());
  void loadAll();
  if (started) return;
  started = true;
  setInterval(() => {
    if (S.token) loadAgents().catch(() => undefined);
  }, 5000);
}

/**
 * A token handed over in the URL's fragment (`/#token=...`, the link a first start prints; a
 * browser never sends the fragment to the server): kept like a typed one, and removed from the
 * address bar and the history at once.
 */
function fromFragment(): string | undefined {
  const m = /^#token=([^&]+)$/.exec(location.hash);
  if (!m) return undefined;
  const token = decodeURIComponent(m[1]!);
  localStorage.setItem(TOKEN_KEY, token);
  history.replaceState(null, '', location.pathname + location.search);
  return token;
}

function boot(): void {
  hooks.askForToken = askForToken;
  panelHooks.showTrace = showTrace;
  S.token = fromFragment() ?? (localStorage.getItem(TOKEN_KEY) || '');
  const tokenInput = $<HTMLInputElement>('token-input');
  const chatInput = $<HTMLInputElement>('chat-input');
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    S.token = tokenInput.value.trim();
    localStorage.setItem(TOKEN_KEY, S.token);
    tokenInput.value = '';
    $('token-form').hidden = true;
    start();
  });
  $('token-forget').addEventListener('click', () => {
    localStorage.removeItem(TOKEN_KEY);
    S.token = '';
    if (S.stream) S.stream.abort();
    askForToken();
  });
  $('token-button').addEventListener('click', () => askForToken());
  $('price-symbol').addEventListener('change', (ev) => {
    resetPrice((ev.target as HTMLSelectElement).value);
    void loadPrice();
  });
  moreButton('fills', 'order.filled', fills);
  moreButton('signals', 'signal.generated', signals);
  $('halt').addEventListener('click', () => riskAction('halt'));
  $('resume').addEventListener('click', () => riskAction('resume'));
  $('trace-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    showTrace($<HTMLInputElement>('trace-input').value.trim());
  });
  $('chat-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = chatInput.value.trim();
    if (!t) return;
    chatInput.value = '';
    void chatSend(t);
  });
  if (!S.token) {
    askForToken();
    return;
  }
  start();
  const m = /^#trace=(.+)$/.exec(location.hash);
  if (m) showTrace(decodeURIComponent(m[1]!));
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
else boot();
