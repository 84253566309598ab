import type Database from 'better-sqlite3';
import type { z } from 'zod';
import { ownerOf } from '../../../core/index.js';
import { fromStoredJson, toStoredJson } from '../json.js';
import {
  conversationDocSchema,
  fillDocSchema,
  openStatuses,
  orderDocSchema,
  portfolioDocSchema,
  StoreCorruptError,
  type ConversationDoc,
  type ConversationStore,
  type EventQuery,
  type EventStore,
  type FillDoc,
  type FillQuery,
  type FillStore,
  type OrderDoc,
  type OrderQuery,
  type OrderStore,
  type PortfolioDoc,
  type PortfolioStore,
  type RecordedEvent,
} from '../ports.js';
import type { SqliteWriter } from './sqlite-db.js';

type Row = Record<string, unknown>;
type Param = string | number;

/** A WHERE clause built from the filters a query sets (an unset filter adds nothing). */
class Where {
  readonly #clauses: string[] = [];
  readonly params: Param[] = [];
  add(clause: string, value?: Param): this {
    if (value === undefined) return this;
    this.#clauses.push(clause);
    this.params.push(value);
    return this;
  }
  /** A clause without a parameter. */
  raw(clause: string): this {
    this.#clauses.push(clause);
    return this;
  }
  get sql(): string {
    return this.#clauses.length > 0 ? ` WHERE ${this.#clauses.join(' AND ')}` : '';
  }
}

/**
 * What every table shares: prepared statements by SQL text (a query shape is compiled once),
 * reads that first commit the writes queued before them (a read sees every write made before it)
 * and answer as a promise (a corrupt row rejects, never throws), and writes through the writer.
 */
abstract class Table {
  readonly #cache = new Map<string, Database.Statement>();

  constructor(
    private readonly db: Database.Database,
    protected readonly writer: SqliteWriter,
  ) {}

  protected stmt(sql: string): Database.Statement {
    let stmt = this.#cache.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.#cache.set(sql, stmt);
    }
    return stmt;
  }

  protected read<T>(query: () => T): Promise<T> {
    try {
      this.writer.settle();
      return Promise.resolve(query());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** The documents a query's rows (`id`, `doc`) hold, each validated. */
  protected docs<S extends z.ZodType>(table: string, schema: S, sql: string, params: readonly Param[]): z.infer<S>[] {
    const rows = this.stmt(sql).all(...params) as { id: string; doc: string }[];
    return rows.map((r) => parseStored(table, r.id, r.doc, schema));
  }
}

/** A limit read as the old `slice(0, limit)` read it (SQLite takes a negative limit as "none"). */
const limitOf = (limit: number | undefined, fallback: number) => Math.max(0, Math.floor(limit ?? fallback));

/** Parses and validates a stored document; a failure names the table and the document's id. */
export function parseStored<S extends z.ZodType>(table: string, id: string, text: string, schema: S): z.infer<S> {
  let value: unknown;
  try {
    value = fromStoredJson(text);
  } catch {
    throw new StoreCorruptError(table, id, 'not valid JSON');
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new StoreCorruptError(table, id, `fails its schema at ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

/** The columns an event is indexed by, taken from its envelope. */
function eventRow(e: RecordedEvent): (Param | null)[] {
  const payload = e.env.payload as { symbol?: unknown; clientOrderId?: unknown } | null;
  const owner = ownerOf(e.env);
  return [
    e.env.id,
    e.env.time,
    e.env.type,
    e.env.correlationId,
    typeof payload?.symbol === 'string' ? payload.symbol : null,
    typeof payload?.clientOrderId === 'string' ? payload.clientOrderId : null,
    owner === undefined ? 0 : 1,
    owner ?? null,
    e.subject,
    JSON.stringify(e.env),
  ];
}

const PUT_ORDER = `INSERT INTO orders (client_order_id, symbol, status, updated_at, version, doc)
  VALUES (?, ?, ?, ?, ?, ?)
  ON CONFLICT (client_order_id) DO UPDATE SET symbol = excluded.symbol, status = excluded.status,
    updated_at = excluded.updated_at, version = excluded.version, doc = excluded.doc
  WHERE excluded.version > orders.version`;
const INSERT_FILL = 'INSERT OR IGNORE INTO fills (id, client_order_id, symbol, time, doc) VALUES (?, ?, ?, ?, ?)';
const INSERT_CONVERSATION = 'INSERT OR IGNORE INTO conversations (id, conversation_id, time, doc) VALUES (?, ?, ?, ?)';

const INSERT_EVENT = `INSERT OR IGNORE INTO events
  (id, time, type, correlation_id, symbol, client_order_id, personal, owner, subject, env)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** The event log: one row per envelope id (a re-appended id is ignored, exactly). */
export class SqliteEvents extends Table implements EventStore {
  /** Inserts now, inside the caller's transaction (the writer's batch, or the legacy import). */
  insertNow(events: readonly RecordedEvent[]): void {
    for (const e of events) this.stmt(INSERT_EVENT).run(eventRow(e));
  }

  append(events: readonly RecordedEvent[]): Promise<void> {
    if (events.length === 0) return this.writer.flush();
    const copy = events.slice();
    return this.writer.write(() => this.insertNow(copy));
  }

  count(): Promise<number> {
    return this.read(() => {
      // rowids are handed out as max + 1 and never deleted: the largest is the count
      const row = this.stmt('SELECT max(seq) AS n FROM events').get() as { n: number | null };
      return row.n ?? 0;
    });
  }

  query(q: EventQuery): Promise<RecordedEvent[]> {
    return this.read(() => {
      const where = new Where()
        .add('correlation_id = ?', q.correlationId)
        .add('type = ?', q.type)
        .add('symbol = ?', q.symbol)
        .add('time >= ?', q.from)
        .add('time <= ?', q.to)
        .add('(personal = 0 OR owner = ?)', q.visibleTo);
      // a chain is small and its index is exact: never let the planner walk the time index instead
      const index = q.correlationId !== undefined ? ' INDEXED BY events_correlation' : '';
      const dir = q.newest ? 'DESC' : 'ASC';
      const sql = `SELECT seq, subject, env FROM events${index}${where.sql} ORDER BY time ${dir}, seq ${dir} LIMIT ? OFFSET ?`;
      const rows = this.stmt(sql).all(...where.params, limitOf(q.limit, 1000), Math.max(0, q.offset ?? 0)) as Row[];
      return rows.map(toEvent);
    });
  }

  get(id: string): Promise<RecordedEvent | undefined> {
    return this.read(() => {
      const row = this.stmt('SELECT seq, subject, env FROM events WHERE id = ?').get(id) as Row | undefined;
      return row ? toEvent(row) : undefined;
    });
  }

  after(id: string): Promise<RecordedEvent[] | undefined> {
    return this.read(() => {
      let from = 0;
      if (id !== '') {
        const row = this.stmt('SELECT seq FROM events WHERE id = ?').get(id) as { seq: number } | undefined;
        if (!row) return undefined;
        from = row.seq;
      }
      const rows = this.stmt('SELECT seq, subject, env FROM events WHERE seq > ? ORDER BY seq').all(from) as Row[];
      return rows.map(toEvent);
    });
  }
}

function toEvent(row: Row): RecordedEvent {
  try {
    return { subject: row.subject as string, env: JSON.parse(row.env as string) as RecordedEvent['env'] };
  } catch {
    throw new StoreCorruptError(`events row ${String(row.seq)}`, undefined, 'not valid JSON');
  }
}

/** Orders: one row per client order id; a write with a lower or equal version changes nothing. */
export class SqliteOrders extends Table implements OrderStore {
  putNow(o: OrderDoc): void {
    this.stmt(PUT_ORDER).run(o.clientOrderId, o.symbol, o.status, o.updatedAt, o.version, toStoredJson(o));
  }

  put(order: OrderDoc): Promise<void> {
    return this.writer.write(() => this.putNow(order));
  }

  get(clientOrderId: string): Promise<OrderDoc | undefined> {
    return this.read(() => {
      const row = this.stmt('SELECT doc FROM orders WHERE client_order_id = ?').get(clientOrderId) as
        { doc: string } | undefined;
      return row ? parseStored('orders', clientOrderId, row.doc, orderDocSchema) : undefined;
    });
  }

  list(q: OrderQuery = {}): Promise<OrderDoc[]> {
    return this.read(() => {
      const where = new Where()
        .add('symbol = ?', q.symbol)
        .add('status = ?', q.status === 'open' ? undefined : q.status)
        .add('updated_at >= ?', q.from)
        .add('updated_at <= ?', q.to);
      if (q.status === 'open') where.raw(`status IN (${[...openStatuses].map((st) => `'${st}'`).join(', ')})`);
      const sql = `SELECT client_order_id AS id, doc FROM orders${where.sql} ORDER BY updated_at DESC, client_order_id LIMIT ?`;
      return this.docs('orders', orderDocSchema, sql, [...where.params, limitOf(q.limit, 100)]);
    });
  }
}

/** Fills: one row per fill id, oldest first (ties in the order they were added). */
export class SqliteFills extends Table implements FillStore {
  addNow(fills: readonly FillDoc[]): void {
    for (const f of fills) this.stmt(INSERT_FILL).run(f.id, f.clientOrderId, f.symbol, f.time, toStoredJson(f));
  }

  add(fills: readonly FillDoc[]): Promise<void> {
    const copy = fills.slice();
    return this.writer.write(() => this.addNow(copy));
  }

  list(q: FillQuery = {}): Promise<FillDoc[]> {
    return this.read(() => {
      const where = new Where()
        .add('client_order_id = ?', q.clientOrderId)
        .add('symbol = ?', q.symbol)
        .add('time >= ?', q.from)
        .add('time <= ?', q.to);
      const sql = `SELECT id, doc FROM fills${where.sql} ORDER BY time, seq LIMIT ?`;
      return this.docs('fills', fillDocSchema, sql, [...where.params, limitOf(q.limit, 1000)]);
    });
  }
}

/** Portfolio snapshots: one row per id; the latest is the greatest time, among equals the last added. */
export class SqlitePortfolio extends Table implements PortfolioStore {
  addNow(p: PortfolioDoc): void {
    this.stmt('INSERT OR IGNORE INTO portfolio (id, time, doc) VALUES (?, ?, ?)').run(p.id, p.time, toStoredJson(p));
  }

  add(snapshot: PortfolioDoc): Promise<void> {
    return this.writer.write(() => this.addNow(snapshot));
  }

  latest(): Promise<PortfolioDoc | undefined> {
    return this.read(() => {
      const row = this.stmt('SELECT id, doc FROM portfolio ORDER BY time DESC, seq DESC LIMIT 1').get() as
        { id: string; doc: string } | undefined;
      return row ? parseStored('portfolio', row.id, row.doc, portfolioDocSchema) : undefined;
    });
  }

  history(q: { from?: number; to?: number; limit?: number } = {}): Promise<PortfolioDoc[]> {
    return this.read(() => {
      const where = new Where().add('time >= ?', q.from).add('time <= ?', q.to);
      const sql = `SELECT id, doc FROM portfolio${where.sql} ORDER BY time, seq LIMIT ?`;
      return this.docs('portfolio', portfolioDocSchema, sql, [...where.params, limitOf(q.limit, 1000)]);
    });
  }
}

/** Chat history: one row per message id, read per conversation. */
export class SqliteConversations extends Table implements ConversationStore {
  appendNow(m: ConversationDoc): void {
    this.stmt(INSERT_CONVERSATION).run(m.id, m.conversationId, m.time, toStoredJson(m));
  }

  append(message: ConversationDoc): Promise<void> {
    return this.writer.write(() => this.appendNow(message));
  }

  history(conversationId: string, limit = 50): Promise<ConversationDoc[]> {
    return this.read(() => {
      const sql = 'SELECT id, doc FROM conversations WHERE conversation_id = ? ORDER BY time DESC, seq DESC LIMIT ?';
      return this.docs('conversations', conversationDocSchema, sql, [conversationId, limitOf(limit, 50)]).reverse();
    });
  }
}
