import {
  oncePerId,
  patterns,
  subjects,
  type Bus,
  type Envelope,
  type OrderFailed,
  type OrderFilled,
  type OrderRejected,
  type PortfolioSnapshot,
  type RiskStateChanged,
  type Signal,
  type Subscription,
} from '../../src/core/index.js';

export interface NarratorOptions {
  /** Where a line goes (a terminal: console.log). */
  readonly write: (line: string) => void;
  /** ANSI colours (a terminal that shows them). */
  readonly color: boolean;
}

/** How long a fill's line waits for the portfolio update of its chain. */
const WAIT_FOR_ACCOUNT_MS = 250;
/** At most this many chains are remembered between a signal and its outcome. */
const MAX_OPEN = 10_000;

const ANSI = {
  green: '\u001b[32m',
  red: '\u001b[31m',
  yellow: '\u001b[33m',
  dim: '\u001b[2m',
  bold: '\u001b[1m',
  reset: '\u001b[0m',
} as const;
const money = (x: number) => x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const qty = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 6 });
const signed = (x: number) => (x > 0 ? '+' : x < 0 ? '−' : '') + money(Math.abs(x));
/** Event time as month, day and time (UTC): the market's time, which may run faster than the wall's. */
const when = (t: number) => new Date(t).toISOString().slice(5, 19).replace('T', ' ');

/**
 * The terminal's account of trading, for a person watching `sextant start`: one line per
 * decision, when it ends (a fill, a refusal, a failure), with the signal's first reason and the
 * account after it, and one line per trading-state change. Reads the bus like any other
 * interface; decides nothing.
 *
 *   03-04 09:31:05  SYN   BUY 100 @ 101.23  filled  ← SMA10 crossed above SMA30   equity 100,012.34 (today +12.34)
 */
export class Narrator {
  readonly #signals = new Map<string, Signal>();
  #account: PortfolioSnapshot | undefined;
  /** Fills waiting for the portfolio update they cause (same chain), to show the account after them. */
  readonly #pending = new Map<string, () => void>();
  #subs: Subscription[] = [];

  constructor(private readonly options: NarratorOptions) {}

  attach(bus: Bus): void {
    // a message published again with its id (a replay after a crash) is told once
    const on = (pattern: Parameters<Bus['subscribe']>[0], handle: (env: Envelope) => void) =>
      this.#subs.push(bus.subscribe(pattern, oncePerId(handle), { name: 'terminal' }));
    on(patterns.signals, (env) => this.#remember(env.correlationId, env.payload as Signal));
    on(subjects.portfolioUpdated(), (env) => {
      this.#account = env.payload as PortfolioSnapshot;
      this.#pending.get(env.correlationId)?.();
    });
    on(subjects.orderFilled(), (env) => this.#filled(env));
    on(subjects.orderRejected(), (env) => this.#refused(env));
    on(subjects.orderFailed(), (env) => this.#failed(env));
    on(subjects.riskState(), (env) => this.#state(env));
  }

  async detach(): Promise<void> {
    await Promise.all(this.#subs.splice(0).map((s) => s.drain().catch(() => undefined)));
  }

  #remember(correlationId: string, signal: Signal): void {
    if (this.#signals.size >= MAX_OPEN) this.#signals.delete(this.#signals.keys().next().value!);
    this.#signals.set(correlationId, signal);
  }

  #paint(color: keyof typeof ANSI, text: string): string {
    return this.options.color ? `${ANSI[color]}${text}${ANSI.reset}` : text;
  }

  /** Why: the signal's first reason, or who sent a person's order. */
  #why(correlationId: string, origin: { kind: string; id: string }, done: boolean): string {
    const signal = this.#signals.get(correlationId);
    if (done) this.#signals.delete(correlationId);
    return signal?.reasons[0] ?? (origin.kind === 'strategy' ? `strategy ${origin.id}` : `${origin.kind} ${origin.id}`);
  }

  #accountText(): string {
    const a = this.#account;
    return a ? `equity ${money(a.equity)} (today ${signed(a.dayPnl)})` : '';
  }

  #line(time: number, symbol: string, what: string, why: string): void {
    const head = `${this.#paint('dim', when(time))}  ${symbol.padEnd(6)} ${what}`;
    this.options.write(`${head}  ${this.#paint('dim', `← ${why}`)}   ${this.#accountText()}`.trimEnd());
  }

  /**
   * A fill is told with the account after it: when the portfolio update of its chain arrives, or,
   * without one (no portfolio agent in this process), after WAIT_FOR_ACCOUNT_MS with the latest known.
   */
  #filled(env: Envelope): void {
    const f = env.payload as OrderFilled;
    const done = f.status === 'filled';
    const size = done ? 'filled' : `part-filled (${qty(f.cumQty)}, ${qty(f.leavesQty)} left)`;
    const what = this.#paint(
      f.side === 'buy' ? 'green' : 'red',
      `${f.side.toUpperCase()} ${qty(f.qty)} @ ${money(f.price)}  ${size}`,
    );
    const why = this.#why(env.correlationId, f.origin, done);
    const tell = () => {
      if (this.#pending.get(env.correlationId) !== tell) return;
      this.#pending.delete(env.correlationId);
      this.#line(env.time, f.symbol, what, why);
    };
    this.#pending.get(env.correlationId)?.(); // an earlier part-fill of the order goes first
    this.#pending.set(env.correlationId, tell);
    setTimeout(tell, WAIT_FOR_ACCOUNT_MS).unref();
  }

  #refused(env: Envelope): void {
    const r = env.payload as OrderRejected;
    const what = this.#paint('yellow', `${r.side.toUpperCase()} ${qty(r.qty)}  refused (${r.code}): ${r.reason}`);
    this.#line(env.time, r.symbol, what, this.#why(env.correlationId, r.origin, true));
  }

  #failed(env: Envelope): void {
    const f = env.payload as OrderFailed;
    const what = this.#paint('red', `${f.side.toUpperCase()}  failed (${f.code}): ${f.reason}`);
    this.#line(env.time, f.symbol, what, this.#why(env.correlationId, f.origin, true));
  }

  #state(env: Envelope): void {
    const s = env.payload as RiskStateChanged;
    if (s.cause.kind === 'start' && s.state === s.previous) return;
    const color = s.state === 'ACTIVE' ? 'green' : s.state === 'HALTED' ? 'red' : 'yellow';
    const reason = s.cause.reason ? `: ${s.cause.reason}` : '';
    this.options.write(
      `${this.#paint('dim', when(env.time))}  ${this.#paint('bold', 'trading')} ${s.previous} → ${this.#paint(color, s.state)} (${s.cause.code}${reason})`,
    );
  }
}
