import {
  type Bus,
  type Subscription,
  type Envelope,
  type OrderApproved,
  type OrderCancelled,
  type OrderFailed,
  type OrderFilled,
  type OrderRejected,
  type OrderSubmitted,
  type PortfolioSnapshot,
  type Logger,
  IdWindow,
} from '../../core/index.js';
import { EVENT_LOG_DURABLE } from '../../../bus/index.js';
import { tapSextantSubjects } from '../recording/index.js';
import {
  openStatuses,
  type FillDoc,
  type OrderDoc,
  type PortfolioDoc,
  type RecordedEvent,
  type Store,
} from './ports.js';

/** What to do when the store is away long enough for the buffer to fill. */
export type OverflowPolicy = 'backpressure' | 'halt';

export interface RecorderOptions {
  /** Events held while the store cannot take them; beyond this the overflow policy acts. */
  readonly maxBuffered: number;
  readonly overflow: OverflowPolicy;
  /** First retry delay after a failed write; doubles up to 5 s. */
  readonly retryMs?: number;
  /** Called once when the buffer first overflows with `halt`: the kernel trips the kill switch. */
  readonly onHalt?: (reason: string) => void;
  /**
   * Told of every failed and every successful write (src/infra/store/write-watch.ts stops trading while writes fail).
   */
  readonly watch?: { failed(what: string, err: unknown): void; succeeded(what: string): void };
  /**
   * Read the bus's recording stream (NATS with RECORDING_JETSTREAM) through the durable consumer
   * `event-log` instead of tapping core NATS: each message is acknowledged once the store has it, so a
   * recorder that restarts (or falls behind) continues where the log stands and loses nothing.
   */
  readonly fromStream?: boolean;
}

/** The event log's durable consumer on the recording stream (its NATS permissions name it). */
export const EVENT_LOG_CONSUMER = EVENT_LOG_DURABLE;

export interface RecorderStats {
  recorded: number;
  buffered: number;
  writeFailures: number;
  overflows: number;
  /** Always 0: nothing is ever dropped. Exported so a dashboard can show it is 0. */
  dropped: number;
}

/** The message types the read models are built from. */
const PROJECTED: ReadonlySet<string> = new Set([
  'order.approved',
  'order.rejected',
  'order.submitted',
  'order.filled',
  'order.cancelled',
  'order.failed',
  'portfolio.updated',
]);

const rank: Record<OrderDoc['status'], number> = {
  new: 0,
  submitted: 1,
  partially_filled: 2,
  filled: 3,
  cancelled: 3,
  rejected: 3,
  expired: 3,
  failed: 3,
};

/**
 * Writes every bus message to the event log and keeps the read models (orders, fills, portfolio
 * snapshots) from the same stream. Subscribed before any agent, so the log is in publish order.
 *
 * Messages are buffered and written in batches off the hot path. When the store is unreachable
 * the buffer holds everything (the write watch stops trading meanwhile) and is written in order once the store
 * is back (with backoff between attempts). If it fills up, that is an alarm (error log, the
 * `overflows` counter) and the configured policy: `backpressure` makes `whenWritable()` wait, so
 * the data feed pauses until the store catches up; `halt` trips the kill switch. Nothing is
 * dropped in either case.
 */
export class Recorder {
  readonly stats: RecorderStats = { recorded: 0, buffered: 0, writeFailures: 0, overflows: 0, dropped: 0 };
  #events: RecordedEvent[] = [];
  /** Reading the recording stream: the stream sequence of each buffered event, in `#events` order (0: tapped). */
  #seqs: number[] = [];
  /** Reading the recording stream: messages recorded and not yet acknowledged, by stream sequence. */
  readonly #unacked = new Map<number, () => void>();
  #stream: { stop(): Promise<void> } | undefined;
  #fills: FillDoc[] = [];
  #docs: (() => Promise<void>)[] = [];
  readonly #orders = new Map<string, OrderDoc>();
  #lastPositions = '';
  /** Recently projected ids: a redelivered order or portfolio message is projected once. */
  readonly #seen = new IdWindow(50_000);
  #subs: Subscription[] = [];
  #writing: Promise<void> | undefined;
  #scheduled = false;
  #retryMs: number;
  #overflowing = false;
  #halted = false;
  #waiters: (() => void)[] = [];
  #closed = false;

  constructor(
    private readonly bus: Bus,
    private readonly store: Store,
    private readonly log: Logger,
    private readonly options: RecorderOptions,
  ) {
    this.#retryMs = options.retryMs ?? 100;
  }

  /** Loads the open orders (to continue their documents after a restart) and taps the bus. */
  async start(): Promise<void> {
    for (const o of await this.store.orders.list({ status: 'open', limit: 1_000_000 }))
      this.#orders.set(o.clientOrderId, o);
    if (this.options.fromStream && this.bus.consumeRecorded) {
      this.#stream = await this.bus.consumeRecorded(EVENT_LOG_CONSUMER, (d) => {
        if (this.#closed) return;
        if (this.#unacked.has(d.seq)) {
          // delivered again before its batch was written: the newer delivery is the one to acknowledge
          this.#unacked.set(d.seq, d.ack);
          return;
        }
        if (!d.result.ok) {
          // not an envelope: its subscribers dead-lettered it when it was published (the dead letter is recorded)
          this.log.warn(
            { subject: d.subject, seq: d.seq, reason: d.result.reason },
            'a recorded message is not a valid envelope; not in the event log (its dead letter is)',
          );
          d.ack();
          return;
        }
        this.#unacked.set(d.seq, d.ack);
        this.record(d.subject, d.result.env, d.seq);
      });
      this.log.info({ consumer: EVENT_LOG_CONSUMER }, 'the event log reads the JetStream recording stream');
      return;
    }
    this.#subs = tapSextantSubjects(this.bus, (env, ctx) => this.record(ctx.subject, env), 'recorder');
  }

  /** Id of the last message recorded: where the event log stands (a checkpoint notes it). */
  get lastId(): string | undefined {
    return this.#lastId;
  }
  #lastId: string | undefined;

  /** Records one message (the bus tap or the stream calls this; replays and tests may too). */
  record(subject: string, env: Envelope, seq = 0): void {
    this.#lastId = env.id;
    this.#events.push({ subject, env }); // a repeat here is harmless: the event store keys on the id
    this.#seqs.push(seq);
    if (PROJECTED.has(env.type) && this.#seen.add(env.id)) this.#project(env);
    this.stats.buffered = this.#events.length;
    if (this.#events.length > this.options.maxBuffered) this.#overflow();
    if (!this.#scheduled && !this.#writing) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        void this.#write();
      });
    }
  }

  /** Resolves at once unless the buffer overflowed under `backpressure`; then once it drained. */
  whenWritable(): Promise<void> {
    if (!this.#overflowing || this.options.overflow !== 'backpressure') return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Writes everything recorded so far (retrying while the store is away) and syncs the store. */
  async flush(): Promise<void> {
    while (this.#writing || this.#events.length > 0 || this.#docs.length > 0 || this.#fills.length > 0) {
      await (this.#writing ?? this.#write());
    }
    await this.store.flush();
  }

  /**
   * Stops recording and writes what is buffered, waiting at most `waitMs` for a store that is
   * away; what cannot be written then is reported (it is lost with the process), never hidden.
   */
  async stop(waitMs = 10_000): Promise<void> {
    await Promise.all(this.#subs.map((s) => s.drain().catch(() => undefined)));
    // what the stream delivers after this is not acknowledged: the next start gets it
    await this.#stream?.stop().catch(() => undefined);
    const late = await Promise.race([
      this.flush().then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), waitMs).unref()),
    ]);
    this.#closed = true;
    if (late)
      this.log.error(
        { unwritten: this.#events.length + this.#fills.length + this.#docs.length },
        'stopping with messages the store never took (it is unreachable); they are not in the event log',
      );
  }

  #overflow(): void {
    if (this.#overflowing) return;
    this.#overflowing = true;
    this.stats.overflows++;
    const reason = `store buffer full: ${this.#events.length} events waiting (max ${this.options.maxBuffered}); the store is not keeping up or is unreachable`;
    this.log.error({ buffered: this.#events.length, policy: this.options.overflow }, `ALARM ${reason}`);
    if (this.options.overflow === 'halt' && !this.#halted) {
      this.#halted = true;
      this.options.onHalt?.(reason);
    }
  }

  #write(): Promise<void> {
    this.#writing ??= this.#writeLoop().finally(() => {
      this.#writing = undefined;
    });
    return this.#writing;
  }

  async #writeLoop(): Promise<void> {
    while (!this.#closed && (this.#events.length > 0 || this.#docs.length > 0 || this.#fills.length > 0)) {
      // take everything pending (the store batches its writes); what is recorded meanwhile queues behind
      const batch = this.#events;
      const seqs = this.#seqs;
      const fills = this.#fills;
      const docs = this.#docs;
      this.#events = [];
      this.#seqs = [];
      this.#fills = [];
      this.#docs = [];
      try {
        // all at once: each store queues its writes in call order, and a document's version
        // decides between two writes of one order however they land
        await Promise.all([
          batch.length > 0 ? this.store.events.append(batch) : undefined,
          fills.length > 0 ? this.store.fills.add(fills) : undefined,
          ...docs.map((d) => d()),
        ]);
      } catch (err) {
        this.#events = batch.concat(this.#events);
        this.#seqs = seqs.concat(this.#seqs);
        this.#fills = fills.concat(this.#fills);
        this.#docs = docs.concat(this.#docs);
        this.stats.writeFailures++;
        this.log.warn(
          { err, buffered: this.#events.length, retryInMs: this.#retryMs },
          'store write failed; buffering and retrying',
        );
        this.options.watch?.failed('event log', err);
        await new Promise((r) => setTimeout(r, this.#retryMs));
        this.#retryMs = Math.min(this.#retryMs * 2, 5000);
        continue; // the same writes again: the store keys on ids and versions, so a half-done batch is harmless
      }
      this.#retryMs = this.options.retryMs ?? 100;
      // the store has them (and what they projected): acknowledged, never delivered again
      for (const seq of seqs) {
        if (seq === 0) continue;
        this.#unacked.get(seq)?.();
        this.#unacked.delete(seq);
      }
      this.options.watch?.succeeded('event log');
      this.stats.recorded += batch.length;
      this.stats.buffered = this.#events.length;
      if (this.#overflowing && this.#events.length <= this.options.maxBuffered / 2) {
        this.#overflowing = false;
        this.log.warn({ buffered: this.#events.length }, 'store buffer drained below half; writing normally again');
        for (const w of this.#waiters.splice(0)) w();
      }
    }
  }

  /** Keeps the orders, fills and portfolio read models from order and portfolio messages. */
  #project(env: Envelope): void {
    switch (env.type) {
      case 'order.approved': {
        const { order } = env.payload as OrderApproved;
        this.#order(
          order.clientOrderId,
          env,
          () => ({
            clientOrderId: order.clientOrderId,
            symbol: order.symbol,
            side: order.side,
            qty: order.qty,
            type: order.type,
            status: 'new',
            filledQty: 0,
            avgPrice: 0,
            correlationId: env.correlationId,
            createdAt: env.time,
            updatedAt: env.time,
            version: 0,
          }),
          (o) => o,
        );
        break;
      }
      case 'order.rejected': {
        const r = env.payload as OrderRejected;
        this.#order(
          r.clientOrderId,
          env,
          () => ({
            clientOrderId: r.clientOrderId,
            symbol: r.symbol,
            side: r.side,
            qty: r.qty,
            type: 'market',
            status: 'new',
            filledQty: 0,
            avgPrice: 0,
            correlationId: env.correlationId,
            createdAt: env.time,
            updatedAt: env.time,
            version: 0,
          }),
          (o) => ({ ...o, status: 'rejected', reason: `${r.code}: ${r.reason}` }),
        );
        break;
      }
      case 'order.submitted': {
        const s = env.payload as OrderSubmitted;
        this.#order(s.order.clientOrderId, env, undefined, (o) => ({
          ...o,
          status: 'submitted',
          brokerOrderId: s.brokerOrderId,
        }));
        break;
      }
      case 'order.filled': {
        const f = env.payload as OrderFilled;
        // a fill delivered again after a restart of the recorder (its order document already has it)
        const known = this.#orders.get(f.clientOrderId);
        if (known && known.filledQty >= f.cumQty) return;
        this.#fills.push({
          id: env.id,
          clientOrderId: f.clientOrderId,
          symbol: f.symbol,
          side: f.side,
          qty: f.qty,
          price: f.price,
          fee: f.fee,
          time: env.time,
          correlationId: env.correlationId,
        });
        this.#order(f.clientOrderId, env, undefined, (o) => ({
          ...o,
          status: f.status,
          filledQty: f.cumQty,
          avgPrice: (o.avgPrice * o.filledQty + f.price * f.qty) / f.cumQty,
          brokerOrderId: f.brokerOrderId,
        }));
        break;
      }
      case 'order.cancelled': {
        const c = env.payload as OrderCancelled;
        this.#order(c.clientOrderId, env, undefined, (o) => ({
          ...o,
          status: c.status,
          filledQty: c.filledQty,
          reason: c.reason,
        }));
        break;
      }
      case 'order.failed': {
        const f = env.payload as OrderFailed;
        this.#order(f.clientOrderId, env, undefined, (o) => ({
          ...o,
          status: 'failed',
          reason: `${f.code}: ${f.reason}`,
        }));
        break;
      }
      case 'portfolio.updated':
        this.#portfolio(env);
        break;
    }
  }

  /**
   * Applies one order event to the order's document. Status only moves forward (a late or
   * repeated message cannot reopen an order); each applied event bumps the version, which the
   * store uses to keep the newest document.
   */
  #order(id: string, env: Envelope, create: (() => OrderDoc) | undefined, next: (o: OrderDoc) => OrderDoc): void {
    const known = this.#orders.get(id) ?? create?.();
    if (!known) {
      this.log.warn(
        { clientOrderId: id, type: env.type },
        'order event for an order this recorder has not seen approved; not projected (it is in the event log)',
      );
      return;
    }
    const after = next(known);
    // status only moves forward, and a finished order stays as it finished
    if (known.version > 0 && (rank[after.status] < rank[known.status] || rank[known.status] === 3)) return;
    const doc: OrderDoc = { ...after, updatedAt: env.time, version: known.version + 1 };
    if (openStatuses.has(doc.status)) this.#orders.set(id, doc);
    else this.#orders.delete(id);
    this.#docs.push(() => this.store.orders.put(doc));
  }

  /** Keeps a portfolio snapshot whenever cash or a position changed (the equity curve at trades). */
  #portfolio(env: Envelope): void {
    const p = env.payload as PortfolioSnapshot;
    const key = `${p.cash}|${p.positions.map((x) => `${x.symbol}:${x.qty}`).join(',')}`;
    if (key === this.#lastPositions) return;
    this.#lastPositions = key;
    const doc: PortfolioDoc = {
      id: env.id,
      time: env.time,
      cash: p.cash,
      equity: p.equity,
      realizedPnl: p.realizedPnl,
      unrealizedPnl: p.unrealizedPnl,
      dayPnl: p.dayPnl,
      drawdown: p.drawdown,
      positions: p.positions.map((x) => ({
        symbol: x.symbol,
        qty: x.qty,
        avgPrice: x.avgPrice,
        lastPrice: x.lastPrice,
      })),
    };
    this.#docs.push(() => this.store.portfolio.add(doc));
  }
}
