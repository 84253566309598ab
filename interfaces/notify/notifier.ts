import {
  oncePerId,
  type Bus,
  type Subscription,
  type Envelope,
  subjects,
  type OrderFilled,
  type OrderRejected,
  type PortfolioSnapshot,
  type RiskStateChanged,
} from '../../src/core/index.js';

/** What people can be told, each switchable per chat (`/notify`). */
export const NOTIFICATION_KINDS = ['fills', 'rejections', 'risk', 'digest'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export interface Notification {
  readonly kind: NotificationKind;
  /** One or a few lines, readable on a phone. */
  readonly text: string;
  /** The chain it belongs to, so a person can `trace` it. */
  readonly correlationId?: string;
  readonly data: unknown;
}

const money = (x: number) => x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const DAY_MS = 86_400_000;

/**
 * Turns bus events into notifications for the chat adapters (Telegram, Discord): fills (the
 * last fill of an order, and partial ones), risk refusals, trading-state changes, and a daily
 * PnL digest when event time crosses into a new UTC day. Adapters decide who gets which kind.
 */
export class Notifier {
  readonly #listeners = new Set<(n: Notification) => void>();
  readonly #subs: Subscription[] = [];
  #day: number | undefined;
  #last: PortfolioSnapshot | undefined;

  constructor(private readonly bus: Bus) {}

  /** Calls `listener` with every notification; returns the way to stop. */
  subscribe(listener: (n: Notification) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  start(): void {
    // a message published again with its id (a replay after a crash) notifies once
    const on = (pattern: Parameters<Bus['subscribe']>[0], fn: (env: Envelope) => void) =>
      this.#subs.push(this.bus.subscribe(pattern, oncePerId(fn), { name: 'notifier' }));
    on(subjects.orderFilled(), (env) => {
      const f = env.payload as OrderFilled;
      const done = f.status === 'filled';
      this.#emit({
        kind: 'fills',
        text: `${done ? 'Filled' : 'Partly filled'}: ${f.side} ${f.qty} ${f.symbol} at ${f.price}${done ? '' : ` (${f.cumQty} so far, ${f.leavesQty} left)`}.`,
        correlationId: env.correlationId,
        data: f,
      });
    });
    on(subjects.orderRejected(), (env) => {
      const r = env.payload as OrderRejected;
      this.#emit({
        kind: 'rejections',
        text: `Risk refused ${r.side} ${r.qty} ${r.symbol}: ${r.reason}.`,
        correlationId: env.correlationId,
        data: r,
      });
    });
    on(subjects.riskState(), (env) => {
      const r = env.payload as RiskStateChanged;
      if (r.cause.kind === 'start') return;
      this.#emit({
        kind: 'risk',
        text: `Trading is now ${r.state} (was ${r.previous}): ${r.cause.reason}${r.cause.by ? ` (by ${r.cause.by})` : ''}.`,
        correlationId: env.correlationId,
        data: r,
      });
    });
    on(subjects.portfolioUpdated(), (env) => this.#portfolio(env.payload as PortfolioSnapshot, env.time));
  }

  /** A new UTC day in event time: the digest of the day that ended. */
  #portfolio(p: PortfolioSnapshot, time: number): void {
    const day = Math.floor(time / DAY_MS);
    if (this.#day !== undefined && day > this.#day && this.#last) {
      const l = this.#last;
      const date = new Date(this.#day * DAY_MS).toISOString().slice(0, 10);
      this.#emit({
        kind: 'digest',
        text: `${date}: PnL ${money(l.dayPnl)}, equity ${money(l.equity)}, ${l.positions.length} position(s), drawdown ${(l.drawdown * 100).toFixed(2)}%.`,
        data: { date, dayPnl: l.dayPnl, equity: l.equity, positions: l.positions },
      });
    }
    this.#day = day;
    this.#last = p;
  }

  #emit(n: Notification): void {
    for (const l of this.#listeners) {
      try {
        l(n);
      } catch {
        // an adapter's failure to deliver must not stop the others (adapters log their own)
      }
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.#subs.splice(0).map((s) => s.drain().catch(() => undefined)));
  }
}
