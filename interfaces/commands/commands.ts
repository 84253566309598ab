import { amount } from './amount.js';
import { z } from 'zod';
import {
  boundedPrice,
  boundedQty,
  refuseUnsafeNumbers,
  type Envelope,
  type OriginBook,
  type PortfolioSnapshot,
  type Position,
  type RiskCommandResult,
} from '../../src/core/index.js';
import type { FillDoc, OrderDoc } from '../../src/infra/store/index.js';
import { roundTrips } from '../../src/app/backtest/index.js';
import { CommandRefusal, defineCommand, noArgs, type Caller, type CommandSpec, type Reply } from './registry.js';
import type { CommandServices, OrderRequest, SentOrder, Verdict } from './services.js';

type Spec = CommandSpec<unknown, CommandServices>;

const priceText = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 6 });

/** Every fill in the store (oldest first), paged by time; the same fill is never counted twice. */
async function allFills(s: CommandServices, symbol: string | undefined): Promise<FillDoc[]> {
  const out: FillDoc[] = [];
  const seen = new Set<string>();
  let from: number | undefined;
  for (let page = 0; page < 100; page++) {
    const batch = await s.ask<FillDoc[]>('fills', {
      limit: 1000,
      ...(symbol ? { symbol } : {}),
      ...(from !== undefined ? { from } : {}),
    });
    let added = 0;
    for (const f of batch)
      if (!seen.has(f.id)) {
        seen.add(f.id);
        out.push(f);
        added++;
      }
    if (batch.length < 1000 || added === 0) break;
    from = batch[batch.length - 1]!.time;
  }
  return out;
}

const money = (x: number) => x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const sym = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[A-Za-z0-9._/:-]+$/, 'a symbol: letters, digits and . _ / : -')
  .transform((s) => s.toUpperCase());
/** A number, or a plain decimal in words ("10", "99.5"): not true, [7], null or 0x10. */
const decimal = z.union([
  z.number(),
  z
    .string()
    .regex(/^-?\d+(\.\d+)?$/, 'a number')
    .transform(Number),
]);
// the API's bounds (src/core/domain/bounds.ts); the symbol's lot, minimum and tick are risk's verdict
const qty = decimal.pipe(boundedQty);
const price = decimal.pipe(boundedPrice);
const ok = (text: string, data?: unknown): Reply => ({ ok: true, text, ...(data !== undefined ? { data } : {}) });
const fail = (code: string, text: string): Reply => ({ ok: false, code, text });

const positionsText = (ps: readonly Position[]) =>
  ps.length === 0
    ? 'No positions.'
    : ps
        .map(
          (p) =>
            `${p.symbol.padEnd(10)} ${String(p.qty).padStart(10)} @ ${money(p.avgPrice)}  last ${money(p.lastPrice)}  unrealised ${money(p.unrealizedPnl)}`,
        )
        .join('\n');

type Period = 'today' | 'yesterday' | 'week' | 'lastweek' | 'month' | 'lastmonth' | 'all';
const PERIODS = ['today', 'yesterday', 'week', 'lastweek', 'month', 'lastmonth', 'all'] as const;
const periodKey = (p: Period) =>
  ({
    today: 'day',
    yesterday: 'yesterday',
    week: 'week',
    lastweek: 'lastWeek',
    month: 'month',
    lastmonth: 'lastMonth',
    all: 'all',
  })[p] as 'day' | 'yesterday' | 'week' | 'lastWeek' | 'month' | 'lastMonth' | 'all';
/** `last week`, `last-week` and `lastweek` are one period. */
const periodWords = (w: readonly string[]) => {
  const text = w.join('').toLowerCase().replace(/[-_]/g, '');
  return text ? { period: text } : {};
};
const signed = (x: number) => (x > 0 ? '+' : '') + money(x);

/** Who a book is: a strategy instance by its id, a person as `person NAME`. */
const bookName = (b: OriginBook) => (b.origin.kind === 'strategy' ? b.origin.id : `${b.origin.kind} ${b.origin.id}`);
const holdingText = (b: OriginBook) => {
  const held = b.positions.filter((p) => p.qty !== 0);
  return held.length === 0 ? 'flat' : held.map((p) => `${p.symbol} ${p.qty}`).join(', ');
};

/** One line per book: who, what it holds, its PnL for the period (and since the start). */
const booksText = (books: readonly OriginBook[], period: Period) =>
  books
    .slice()
    .sort((a, b) => bookName(a).localeCompare(bookName(b)))
    .map((b) => {
      const pnl = b.pnl?.[periodKey(period)] ?? (period === 'today' ? b.dayPnl : undefined);
      const since =
        period === 'all' ? '' : `, since the start ${signed(b.pnl?.all ?? b.realizedPnl + b.unrealizedPnl)}`;
      return `  ${bookName(b)}: ${pnl === undefined ? 'n/a' : signed(pnl)} (${holdingText(b)}${since})`;
    })
    .join('\n');

const riskText = (r: RiskCommandResult) => `${r.accepted ? 'Done' : 'Refused'}: ${r.reason}. Trading is ${r.state}.`;

/** buy/sell words: SYM QTY [limit PRICE], or QTY SYM as people also type it */
const orderWords = (input: readonly string[]) => {
  const numeric = (w: string | undefined) => w !== undefined && /^\d+(\.\d+)?$/.test(w);
  const words = numeric(input[0]) && !numeric(input[1]) ? [input[1], input[0], ...input.slice(2)] : input;
  const rest = words.slice(2);
  return {
    symbol: words[0],
    qty: words[1],
    ...(rest[0]?.toLowerCase() === 'limit' ? { limitPrice: rest[1] ?? null } : {}),
    ...(rest.length > 2 || (rest[0] !== undefined && rest[0].toLowerCase() !== 'limit')
      ? { extra: rest.join(' ') }
      : {}),
  };
};
const orderArgs = z.object({ symbol: sym, qty, limitPrice: price.optional() }).strict();

function orderCommand(side: 'buy' | 'sell'): Spec {
  return defineCommand<z.infer<typeof orderArgs>, CommandServices>({
    name: side,
    summary: `Preview a ${side} order; it goes to risk once you confirm.`,
    usage: `${side} SYM QTY [limit PRICE]`,
    role: 'operator',
    args: orderArgs,
    fromWords: orderWords,
    prepare: async (s, a, caller) => {
      const order: OrderRequest = {
        symbol: a.symbol,
        side,
        qty: a.qty,
        type: a.limitPrice !== undefined ? 'limit' : 'market',
        tif: 'GTC',
        ...(a.limitPrice !== undefined ? { limitPrice: a.limitPrice } : {}),
      };
      const check = await s.precheck(order, caller);
      return {
        summary: `${side} ${a.qty} ${a.symbol} ${a.limitPrice !== undefined ? `limit ${a.limitPrice}` : 'at market'}`,
        check,
        execute: async () => {
          const sent = s.intend(order, caller);
          return verdictReply(`${side} ${a.qty} ${a.symbol}`, sent, await sent.verdict);
        },
      };
    },
  });
}

/** What a person is told once risk has decided on their order (or has not within the timeout). */
function verdictReply(what: string, sent: SentOrder, verdict: Verdict): Reply {
  const ids = `order ${sent.clientOrderId}, trace ${sent.correlationId}`;
  const data = { clientOrderId: sent.clientOrderId, correlationId: sent.correlationId, verdict };
  switch (verdict.kind) {
    case 'approved':
      return ok(`Risk approved ${what} (${ids}); it goes to the broker now.`, data);
    case 'refused':
      return {
        ok: false,
        code: 'refused',
        text: `Risk refused ${what}: ${verdict.reason} (${verdict.code}). Nothing was sent to the broker (${ids}).`,
        data,
      };
    case 'pending':
      return ok(`Sent to risk: ${what} (${ids}); no verdict yet. \`orders all\` will show what became of it.`, data);
  }
}

/** A working order as execution's `orders` query shows it. */
interface WorkingOrder {
  readonly order: {
    clientOrderId: string;
    side: string;
    qty: number;
    symbol: string;
    type: string;
    limitPrice?: number;
    stopPrice?: number;
    origin: { kind: string; id: string };
  };
  readonly status: string;
  readonly filledQty: number;
}

/**
 * `cancel-order ID [reason]`: pulls one working order (a resting limit or stop, a bracket leg) by
 * its client order id. Not `cancel`, which drops a pending preview. The preview shows the order as
 * execution has it; confirming sends `order.cancel` through risk to execution.
 */
function cancelOrderCommand(): Spec {
  return defineCommand<{ clientOrderId: string; reason?: string | undefined }, CommandServices>({
    name: 'cancel-order',
    summary: 'Preview cancelling a working order (a resting limit or stop, a bracket leg) by its order id.',
    usage: 'cancel-order ORDER-ID [reason]',
    // Telegram's menu takes [a-z0-9_] only: the alias puts it there
    aliases: ['cancel_order'],
    role: 'operator',
    args: z.object({ clientOrderId: z.string().min(1).max(160), reason: z.string().max(300).optional() }).strict(),
    fromWords: (w) => ({
      ...(w[0] !== undefined ? { clientOrderId: w[0] } : {}),
      ...(w.length > 1 ? { reason: w.slice(1).join(' ') } : {}),
    }),
    prepare: async (s, a, caller) => {
      if (!s.cancelOrder) throw new CommandRefusal('unavailable', 'orders cannot be cancelled from here (no bus)');
      const open = await s.ask<WorkingOrder[]>('orders', { status: 'open' });
      const w = open.find((o) => o.order.clientOrderId === a.clientOrderId);
      if (!w)
        throw new CommandRefusal(
          'no_such_order',
          `${a.clientOrderId} is not a working order (\`orders\` lists them; \`orders all\` shows what became of the others)`,
        );
      const o = w.order;
      const at =
        o.limitPrice !== undefined
          ? `limit ${o.limitPrice}`
          : o.stopPrice !== undefined
            ? `stop ${o.stopPrice}`
            : o.type;
      const reason = a.reason ?? `cancelled by ${caller.id}`;
      return {
        summary: `cancel ${o.clientOrderId}: ${o.side} ${o.qty} ${o.symbol} ${at} (${w.filledQty} filled, ${o.origin.kind} ${o.origin.id})`,
        execute: async () => {
          const sent = s.cancelOrder!(a.clientOrderId, reason, caller);
          const r = await sent.outcome;
          const data = { cancelId: sent.cancelId, clientOrderId: sent.clientOrderId, outcome: r };
          switch (r.kind) {
            case 'cancelled':
              return ok(`Cancelled ${a.clientOrderId} (${r.filledQty} had filled): ${r.reason}.`, data);
            case 'refused':
              return { ok: false, code: 'refused', text: `Not cancelled: ${r.reason} (${r.code}).`, data };
            case 'pending':
              return ok(`Sent the cancel of ${a.clientOrderId}; no answer yet. \`orders all\` will show it.`, data);
          }
        },
      };
    },
  });
}

function riskCommand(name: 'halt' | 'reduce' | 'resume', what: string): Spec {
  return defineCommand<{ reason?: string | undefined }, CommandServices>({
    name,
    summary: what,
    usage: `${name} [reason]`,
    role: 'operator',
    args: z.object({ reason: z.string().max(300).optional() }).strict(),
    fromWords: (w) => (w.length > 0 ? { reason: w.join(' ') } : {}),
    prepare: (s, a, caller) =>
      Promise.resolve({
        summary: `${name} trading${a.reason ? ` (${a.reason})` : ''}`,
        execute: async () => {
          const r = await s.risk(name, a.reason ?? `${name} by ${caller.id}`, caller);
          return { ok: r.accepted, text: riskText(r), data: r, ...(r.accepted ? {} : { code: 'refused' }) };
        },
      }),
  });
}

/**
 * `part` of a position of `held` units: whole units when the position is whole (rounded down, so
 * a close never flips it), else to 6 decimals (a coin).
 */
function partOf(held: number, part: number): number {
  if (part >= 1) return held;
  const q = held * part;
  return Number.isInteger(held) ? Math.floor(q) : Math.floor(q * 1e6) / 1e6;
}

/** Every command of the router, in help order. */
export const commands: readonly Spec[] = [
  defineCommand<Record<string, never>, CommandServices>({
    name: 'status',
    summary: 'Agents, trading state and equity at a glance.',
    usage: 'status',
    role: 'viewer',
    args: noArgs,
    run: async (s) => {
      const [p, r] = await Promise.all([
        s.ask<PortfolioSnapshot>('portfolio'),
        s.ask<{ state: string; openOrders: number }>('risk'),
      ]);
      const agents = s.agents();
      const down = Object.entries(agents)
        .filter(([, a]) => !a.ok)
        .map(([n, a]) => `${n} (${a.state})`);
      return ok(
        [
          `Trading is ${r.state}; ${r.openOrders} order(s) open.`,
          `Equity ${money(p.equity)}, cash ${money(p.cash)}, today ${money(p.dayPnl)}.`,
          down.length === 0 ? 'All agents are up.' : `Not ready: ${down.join(', ')}.`,
        ].join('\n'),
        { trading: r, portfolio: p, agents },
      );
    },
  }),
  defineCommand<Record<string, never>, CommandServices>({
    name: 'agents',
    summary: 'Each agent: state, heartbeat age.',
    usage: 'agents',
    role: 'viewer',
    args: noArgs,
    run: (s) => {
      const agents = s.agents();
      return Promise.resolve(
        ok(
          Object.entries(agents)
            .map(
              ([n, a]) =>
                `${n.padEnd(10)} ${a.state.padEnd(9)} ${a.heartbeatAgeMs === null ? 'no heartbeat yet' : `heartbeat ${Math.round(a.heartbeatAgeMs / 1000)} s ago`}${a.lastError ? `, last error: ${a.lastError}` : ''}`,
            )
            .join('\n'),
          agents,
        ),
      );
    },
  }),
  defineCommand<Record<string, never>, CommandServices>({
    name: 'portfolio',
    aliases: ['balance', 'cash'],
    summary: 'Cash, equity, PnL, drawdown.',
    usage: 'portfolio',
    role: 'viewer',
    args: noArgs,
    run: async (s) => {
      const p = await s.ask<PortfolioSnapshot>('portfolio');
      return ok(
        `Equity ${money(p.equity)} (cash ${money(p.cash)}); realised ${money(p.realizedPnl)}, unrealised ${money(p.unrealizedPnl)}, today ${money(p.dayPnl)}; drawdown ${(p.drawdown * 100).toFixed(2)}%.\n${positionsText(p.positions)}`,
        p,
      );
    },
  }),
  defineCommand<Record<string, never>, CommandServices>({
    name: 'positions',
    summary: 'Open positions.',
    usage: 'positions',
    role: 'viewer',
    args: noArgs,
    run: async (s) => {
      const ps = await s.ask<Position[]>('positions');
      return ok(positionsText(ps), ps);
    },
  }),
  defineCommand<{ which: 'open' | 'all' }, CommandServices>({
    name: 'orders',
    summary: 'Working orders, or the recent ones too.',
    usage: 'orders [open|all]',
    role: 'viewer',
    args: z.object({ which: z.enum(['open', 'all']).default('open') }).strict(),
    fromWords: (w) => (w[0] ? { which: w[0].toLowerCase() } : {}),
    run: async (s, a) => {
      if (a.which === 'all') {
        // the order log (the store) has every order, refused ones with risk's reason; without a
        // store, what execution remembers (only orders risk approved)
        const log = await s.ask<OrderDoc[]>('order-log', { limit: 20 }).catch(() => undefined);
        if (log)
          return ok(
            log.length === 0
              ? 'No orders.'
              : log
                  .map(
                    (o) =>
                      `${o.clientOrderId}  ${o.side} ${o.qty} ${o.symbol}  ${o.status} (${o.filledQty} filled)${o.reason ? `: ${o.reason}` : ''}`,
                  )
                  .join('\n'),
            log,
          );
      }
      const orders = await s.ask<
        {
          order: { clientOrderId: string; side: string; qty: number; symbol: string };
          status: string;
          filledQty: number;
        }[]
      >('orders', a.which === 'open' ? { status: 'open' } : {});
      return ok(
        orders.length === 0
          ? `No ${a.which === 'open' ? 'working ' : ''}orders.`
          : orders
              .map(
                (o) =>
                  `${o.order.clientOrderId}  ${o.order.side} ${o.order.qty} ${o.order.symbol}  ${o.status} (${o.filledQty} filled)`,
              )
              .join('\n'),
        orders,
      );
    },
  }),
  defineCommand<{ period: Period }, CommandServices>({
    name: 'pnl',
    summary: 'Profit and loss today, this week, this month or since the start.',
    usage: 'pnl [today|yesterday|week|lastweek|month|lastmonth|all]',
    role: 'viewer',
    args: z.object({ period: z.enum(PERIODS).default('today') }).strict(),
    fromWords: periodWords,
    run: async (s, a) => {
      // one definition everywhere (chat, API, dashboard): equity now less equity when the UTC
      // period began, kept by the portfolio agent (agents/portfolio/book.ts)
      const p = await s.ask<PortfolioSnapshot>('portfolio');
      const key = periodKey(a.period);
      if (!p.pnl)
        return {
          ok: false,
          code: 'unavailable',
          text:
            'The portfolio agent answering is older than PnL by period; only today is known: ' + money(p.dayPnl) + '.',
        };
      const pnl = p.pnl[key];
      if (pnl === undefined)
        return {
          ok: false,
          code: 'unavailable',
          text: `The portfolio agent answering does not keep ${a.period === 'yesterday' ? "yesterday's" : `${a.period.replace('last', 'last ')}'s`} PnL yet (it started from a book saved before it did); it will from the next ${a.period === 'yesterday' ? 'day' : a.period.replace('last', '')} on.`,
        };
      const closed = a.period === 'yesterday' || a.period === 'lastweek' || a.period === 'lastmonth';
      const then = p.equity - pnl;
      const asOf =
        p.asOf === null
          ? 'no market data yet'
          : `as of ${new Date(p.asOf).toISOString().slice(0, 16).replace('T', ' ')} UTC, market time`;
      const label = {
        today: 'Today',
        yesterday: 'Yesterday (UTC, market time)',
        week: 'This week (from Monday 00:00 UTC)',
        lastweek: 'Last week (Monday to Sunday, UTC)',
        month: 'This month',
        lastmonth: 'Last month',
        all: 'Since the start',
      }[a.period];
      const detail =
        a.period === 'all'
          ? `realised ${money(p.realizedPnl)}, unrealised ${money(p.unrealizedPnl)}, fees ${money(p.fees)}`
          : closed
            ? 'from its first equity to its last'
            : `equity ${money(then)} -> ${money(p.equity)}`;
      // each strategy's (and person's) share, when more than one traded: they add up to the account
      const books = await s.ask<OriginBook[]>('strategies').catch(() => []);
      const split = books.length > 1 || books.some((b) => b.origin.kind === 'strategy');
      return ok(
        `${label}: ${money(pnl)} (${detail}; ${asOf}).` +
          (split ? `\nBy strategy:\n${booksText(books, a.period)}` : ''),
        {
          period: a.period,
          pnl,
          ...(closed ? {} : { from: then, to: p.equity }),
          ...(split ? { books } : {}),
        },
      );
    },
  }),
  defineCommand<{ period: Period }, CommandServices>({
    name: 'strategies',
    summary: "Each strategy instance's own positions and PnL (and each person's); they add up to the account.",
    usage: 'strategies [today|yesterday|week|lastweek|month|lastmonth|all]',
    role: 'viewer',
    args: z.object({ period: z.enum(PERIODS).default('all') }).strict(),
    fromWords: periodWords,
    run: async (s, a) => {
      const books = await s.ask<OriginBook[]>('strategies');
      if (books.length === 0) return ok('Nothing traded yet: no strategy or person has a book.', books);
      const label = {
        today: 'today',
        yesterday: 'yesterday',
        week: 'this week',
        lastweek: 'last week',
        month: 'this month',
        lastmonth: 'last month',
        all: 'since the start',
      }[a.period];
      return ok(`PnL ${label}, by who traded:\n${booksText(books, a.period)}`, books);
    },
  }),
  defineCommand<{ symbol?: string | undefined }, CommandServices>({
    name: 'signals',
    summary: 'The latest signal of each symbol, with its reasons.',
    usage: 'signals [SYM]',
    role: 'viewer',
    args: z.object({ symbol: sym.optional() }).strict(),
    fromWords: (w) => (w[0] ? { symbol: w[0] } : {}),
    run: async (s, a) => {
      const signals = await s.ask<{ symbol: string; side: string; reasons: string[] }[]>(
        'signals',
        a.symbol ? { symbol: a.symbol } : {},
      );
      return ok(
        signals.length === 0
          ? `No signals${a.symbol ? ` for ${a.symbol}` : ''} yet.`
          : signals.map((x) => `${x.symbol}: ${x.side} (${x.reasons.join('; ')})`).join('\n'),
        signals,
      );
    },
  }),
  defineCommand<{ symbol: string; reason?: string | undefined }, CommandServices>({
    name: 'accept-price',
    summary:
      'Accept a price jump the data agent holds back (beyond DATA_PRICE_BAND): the next bar of the symbol beyond the band is published.',
    usage: 'accept-price SYM [reason]',
    aliases: ['accept_price'],
    role: 'operator',
    args: z.object({ symbol: sym, reason: z.string().max(300).optional() }).strict(),
    fromWords: (w) => (w[0] ? { symbol: w[0], ...(w.length > 1 ? { reason: w.slice(1).join(' ') } : {}) } : {}),
    prepare: (s, a, caller) =>
      Promise.resolve({
        summary: `accept the next ${a.symbol} price beyond the band${a.reason ? ` (${a.reason})` : ''}`,
        execute: async () => {
          if (!s.acceptPrice) return fail('unavailable', 'No data agent is reachable from here to accept a price.');
          // a data agent whose file feed has ended takes nothing more: say so rather than the bus's words
          const r = await s
            .acceptPrice(a.symbol, a.reason ?? `accepted by ${caller.id}`, caller)
            .catch((err: Error) => err);
          if (r instanceof Error)
            return fail(
              'unavailable',
              `The data agent did not take it (a file feed that has ended, or no data agent running): ${r.message}`,
            );
          return { ok: r.accepted, text: `${r.accepted ? 'Done' : 'Refused'}: ${r.reason}.`, data: r };
        },
      }),
  }),
  defineCommand<{ symbol: string }, CommandServices>({
    name: 'price',
    summary: 'The latest bar of a symbol: close, open, high, low, volume and its time (market time).',
    usage: 'price SYM',
    role: 'viewer',
    args: z.object({ symbol: sym }).strict(),
    fromWords: (w) => (w[0] ? { symbol: w[0] } : {}),
    run: async (s, a) => {
      const bar = s.lastBar?.(a.symbol);
      if (!bar)
        throw new CommandRefusal(
          'unknown_symbol',
          `No price for ${a.symbol}: no bar of it has been seen here (symbols are case-sensitive; positions lists what is held).`,
        );
      const when = new Date(bar.time).toISOString().slice(0, 16).replace('T', ' ');
      return ok(
        `${bar.symbol} ${priceText(bar.close)} (bar of ${when} UTC${bar.history ? ', history' : ''}: open ${priceText(bar.open)}, high ${priceText(bar.high)}, low ${priceText(bar.low)}, volume ${bar.volume.toLocaleString('en-US')}).`,
        bar,
      );
    },
  }),
  defineCommand<{ symbol?: string | undefined }, CommandServices>({
    name: 'winrate',
    summary: 'Closed round trips (flat to flat) from the fills: win rate, profit factor, average win and loss.',
    usage: 'winrate [SYM]',
    role: 'viewer',
    args: z.object({ symbol: sym.optional() }).strict(),
    fromWords: (w) => (w[0] ? { symbol: w[0] } : {}),
    run: async (s, a) => {
      const fills = await allFills(s, a.symbol);
      const trips = roundTrips(
        fills.map((f) => ({ time: f.time, symbol: f.symbol, side: f.side, qty: f.qty, price: f.price, fee: f.fee })),
        [],
        new Map(),
      ).filter((t) => !t.open);
      const of = a.symbol ? ` in ${a.symbol}` : '';
      if (trips.length === 0)
        return ok(
          `No closed round trip${of} yet (${fills.length} fills): a win rate needs a position opened and closed.`,
          {
            trips: 0,
          },
        );
      const wins = trips.filter((t) => t.pnl > 0);
      const losses = trips.filter((t) => t.pnl < 0);
      const gross = (ts: typeof trips) => ts.reduce((x, t) => x + t.pnl, 0);
      const factor = losses.length > 0 ? gross(wins) / -gross(losses) : Infinity;
      const rate = wins.length / trips.length;
      return ok(
        `Win rate${of}: ${(100 * rate).toFixed(1)}% (${wins.length} of ${trips.length} closed round trips won, net of fees). ` +
          `Profit factor ${factor === Infinity ? '∞ (no loss)' : factor.toFixed(2)}; average win ${wins.length ? money(gross(wins) / wins.length) : 'n/a'}, average loss ${losses.length ? money(gross(losses) / losses.length) : 'n/a'}.`,
        { trips: trips.length, wins: wins.length, losses: losses.length, winRate: rate, profitFactor: factor },
      );
    },
  }),
  orderCommand('buy'),
  orderCommand('sell'),
  cancelOrderCommand(),
  defineCommand<{ target: string; part?: number | undefined }, CommandServices>({
    name: 'close',
    summary: 'Preview closing a position (or all, or a part: 50%, half) at market.',
    usage: 'close SYM|all [PART]',
    role: 'operator',
    args: z
      .object({
        target: z.string().min(1).max(32),
        /** The share of the position to close, 0..1 (`50%`, `half`); default all of it. */
        part: z.number().positive('a share above 0').max(1, 'at most the whole position (100%)').optional(),
      })
      .strict(),
    fromWords: (w) => ({ target: w[0], ...(w[1] !== undefined ? { part: amount(w[1]) ?? Number.NaN } : {}) }),
    prepare: async (s, a, caller) => {
      const ps = (await s.ask<Position[]>('positions')).filter(
        (p) => p.qty !== 0 && (a.target.toLowerCase() === 'all' || p.symbol === a.target.toUpperCase()),
      );
      if (ps.length === 0) throw new CommandRefusal('no_position', `there is no open position in ${a.target}`);
      const orders: OrderRequest[] = ps.map((p) => ({
        symbol: p.symbol,
        side: p.qty > 0 ? 'sell' : 'buy',
        qty: partOf(Math.abs(p.qty), a.part ?? 1),
        type: 'market',
        tif: 'GTC',
      }));
      if (orders.some((o) => o.qty <= 0))
        throw new CommandRefusal('too_small', `${a.part} of the position is less than one unit`);
      const checks = await Promise.all(orders.map((o) => s.precheck(o, caller)));
      const refused = checks.find((c) => !c.wouldPass);
      return {
        summary: orders.map((o) => `${o.side} ${o.qty} ${o.symbol} at market`).join(', '),
        check: refused ?? { wouldPass: true },
        execute: async () => {
          // the confirmation is for the positions as previewed: if one moved since, nothing is sent
          const now = new Map((await s.ask<Position[]>('positions')).map((p) => [p.symbol, p.qty]));
          const moved = ps.filter((p) => (now.get(p.symbol) ?? 0) !== p.qty);
          if (moved.length > 0) {
            return fail(
              'changed',
              `Nothing sent: the position changed since the preview (${moved.map((p) => `${p.symbol} was ${p.qty}, now ${now.get(p.symbol) ?? 0}`).join('; ')}). Preview the close again.`,
            );
          }
          const sent = orders.map((o) => s.intend(o, caller));
          const replies = await Promise.all(
            sent.map(async (x, i) =>
              verdictReply(`${orders[i]!.side} ${orders[i]!.qty} ${orders[i]!.symbol}`, x, await x.verdict),
            ),
          );
          return {
            ok: replies.every((r) => r.ok),
            text: replies.map((r) => r.text).join('\n'),
            data: sent,
            ...(replies.every((r) => r.ok) ? {} : { code: 'refused' }),
          };
        },
      };
    },
  }),
  riskCommand('halt', 'Preview the kill switch: nothing passes risk until resumed.'),
  riskCommand('reduce', 'Preview reducing only: only orders that shrink a position pass.'),
  riskCommand('resume', 'Preview resuming trading.'),
  defineCommand<Record<string, never>, CommandServices>({
    name: 'risk',
    summary: 'Trading state, limits, counts of decisions.',
    usage: 'risk',
    role: 'viewer',
    args: noArgs,
    run: async (s) => {
      const r = await s.ask<{
        state: string;
        limits: Record<string, unknown>;
        counts: { approved: number; rejected: number };
      }>('risk');
      return ok(
        `Trading is ${r.state}; ${r.counts.approved} approved, ${r.counts.rejected} refused.\nLimits: ${Object.entries(
          r.limits,
        )
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(', ')}`,
        r,
      );
    },
  }),
  defineCommand<{ key: string; value: number }, CommandServices>({
    name: 'limits',
    summary: 'Preview changing one risk limit (validated whole by risk, or refused with the reason).',
    usage: 'limits set KEY VALUE',
    role: 'admin',
    args: z
      .object({
        key: z.string().regex(/^[a-zA-Z]{2,40}$/, 'a limit name, e.g. maxOpenOrders'),
        value: decimal.pipe(z.number().superRefine((v, ctx) => refuseUnsafeNumbers(v, ctx))),
      })
      .strict(),
    fromWords: (w) => (w[0]?.toLowerCase() === 'set' ? { key: w[1], value: w[2] } : { key: undefined }),
    prepare: (s, a, caller) =>
      Promise.resolve({
        summary: `set the risk limit ${a.key} to ${a.value}`,
        execute: async () => {
          const r = await s.risk('set-limits', `limits set ${a.key} ${a.value}`, caller, { [a.key]: a.value });
          return { ok: r.accepted, text: riskText(r), data: r, ...(r.accepted ? {} : { code: 'refused' }) };
        },
      }),
  }),
  defineCommand<{ id: string }, CommandServices>({
    name: 'trace',
    summary: 'A whole chain by correlation id, in causal order.',
    usage: 'trace ID',
    role: 'viewer',
    args: z
      .object({
        id: z
          .string()
          .min(1)
          .max(200)
          .regex(/^[\w.:-]+$/, 'a correlation id'),
      })
      .strict(),
    fromWords: (w) => ({ id: w[0] }),
    run: async (s, a, caller) => {
      const t = await s.ask<{ messages: (Envelope & { subject: string })[] }>('trace', {
        correlationId: a.id,
        ...onlyOwn(caller),
      });
      if (t.messages.length === 0) return { ok: false, code: 'not_found', text: `Nothing recorded for ${a.id}.` };
      return ok(t.messages.map((m) => `${new Date(m.time).toISOString()} ${m.type.padEnd(18)} ${m.id}`).join('\n'), t);
    },
  }),
  defineCommand<{ symbol: string }, CommandServices>({
    name: 'why',
    summary:
      'Explains the latest decision on a symbol: the bar, the signal and its indicators, the risk verdict, the fill.',
    usage: 'why SYM',
    role: 'viewer',
    args: z.object({ symbol: sym }).strict(),
    fromWords: (w) => ({ symbol: w[0] }),
    run: async (s, a, caller) => {
      const last = (
        await s.ask<Envelope[]>('events', { type: 'signal.generated', symbol: a.symbol, limit: 1, newest: true })
      )[0];
      if (!last) return { ok: false, code: 'not_found', text: `No decision on ${a.symbol} is recorded.` };
      const { messages } = await s.ask<{ messages: Envelope[] }>('trace', {
        correlationId: last.correlationId,
        ...onlyOwn(caller),
      });
      return ok(explain(a.symbol, messages), { correlationId: last.correlationId, messages });
    },
  }),
];

/** A person reads the account's messages and their own conversations; an admin reads everyone's (core `visibleTo`). */
function onlyOwn(caller: Caller): { visibleTo?: string } {
  return caller.role === 'admin' ? {} : { visibleTo: caller.id };
}

/** The story of one chain in sentences: what the bar was, why the strategy acted, what risk and the broker did. */
function explain(symbol: string, chain: readonly Envelope[]): string {
  const lines: string[] = [];
  for (const m of chain) {
    const p = m.payload as Record<string, unknown>;
    const when = new Date(m.time).toISOString().slice(0, 16).replace('T', ' ');
    switch (m.type) {
      case 'market.bar':
        lines.push(`${when}: ${symbol} closed at ${String(p.close)} (open ${String(p.open)}).`);
        break;
      case 'signal.generated':
        lines.push(
          `The strategy signalled ${String(p.side)}: ${(p.reasons as string[]).join('; ')}. Indicators: ${Object.entries(
            p.indicators as Record<string, number>,
          )
            .map(([k, v]) => `${k}=${typeof v === 'number' ? v.toFixed(4) : String(v)}`)
            .join(', ')}.`,
        );
        break;
      case 'order.intent':
        lines.push(`It asked to ${String(p.side)} ${String(p.qty)} (order ${String(p.clientOrderId)}).`);
        break;
      case 'order.approved':
        lines.push(`Risk approved it (checks passed: ${(p.checks as string[]).length}).`);
        break;
      case 'order.rejected':
        lines.push(`Risk refused it: ${String(p.reason)} (${String(p.code)}).`);
        break;
      case 'order.filled':
        lines.push(
          `Filled ${String(p.qty)} at ${String(p.price)}${p.status === 'filled' ? '' : ` (${String(p.cumQty)} so far)`}.`,
        );
        break;
      case 'order.failed':
        lines.push(`The broker did not take it: ${String(p.reason)}.`);
        break;
      case 'order.cancelled':
        lines.push(`It ended ${String(p.status)}: ${String(p.reason)}.`);
        break;
    }
  }
  lines.push(`(trace ${chain[0]?.correlationId ?? ''})`);
  return lines.join('\n');
}
