import { z } from 'zod';
import type { Envelope } from '../../core/index.js';

/**
 * The storage ports. Agents never see these: the recorder writes the event log and its read
 * models (orders, fills, portfolio) from the bus, the checkpointer writes agent snapshots, and
 * queries (trace, order history) read them. Two adapters implement every port with the same
 * observable behaviour (tests/contract/store.contract.ts): MongoDB (src/infra/store/mongo) and the
 * embedded files (src/infra/store/embedded), the default when MONGODB_URI is unset.
 */

/** One bus message as the event log keeps it: the envelope and the subject it was published on. */
export interface RecordedEvent {
  readonly subject: string;
  readonly env: Envelope;
}

export interface EventQuery {
  readonly correlationId?: string;
  readonly type?: string;
  /** Matches `payload.symbol`. */
  readonly symbol?: string;
  /** Event time range, inclusive, epoch ms. */
  readonly from?: number;
  readonly to?: number;
  /** At most this many, oldest first; default 1000. */
  readonly limit?: number;
  /** Skip this many first (pages: offset = page x limit). */
  readonly offset?: number;
  /** Newest first instead (the latest decisions). */
  readonly newest?: boolean;
  /**
   * Only what this person (a caller id) may read: other people's messages (PERSONAL_TYPES, such as
   * their conversations, and dead letters of chat subjects: `visibleTo` in src/core) are left out,
   * before the limit and offset apply. Unset: everything (admins, the system).
   */
  readonly visibleTo?: string;
}

/**
 * The audit log: every bus message, append-only, keyed by envelope id, so appending the same
 * message again (a retried write, a message re-made after a crash with its derived id) stores it
 * once. Results come in event-time order, ties in append order.
 */
export interface EventStore {
  append(events: readonly RecordedEvent[]): Promise<void>;
  query(q: EventQuery): Promise<RecordedEvent[]>;
  get(id: string): Promise<RecordedEvent | undefined>;
  count(): Promise<number>;
  /**
   * Every event appended after the one with `id`, in append order (the order the recorder took
   * them off the bus): what a restart feeds through its agents after their last checkpoint.
   * `''` stands before the first event (every event). Undefined when no event has that id.
   */
  after(id: string): Promise<RecordedEvent[] | undefined>;
}

export const orderStatusValues = [
  'new',
  'submitted',
  'partially_filled',
  'filled',
  'cancelled',
  'rejected',
  'expired',
  'failed',
] as const;

/** An order as the orders collection keeps it: one document per client order id, latest state. */
export const orderDocSchema = z.object({
  clientOrderId: z.string().min(1),
  symbol: z.string(),
  side: z.enum(['buy', 'sell']),
  qty: z.number(),
  type: z.string(),
  status: z.enum(orderStatusValues),
  filledQty: z.number(),
  avgPrice: z.number(),
  brokerOrderId: z.string().optional(),
  /** The chain the order belongs to (its intent's correlation id). */
  correlationId: z.string(),
  /** Why it ended when it did not fill (risk reason, broker failure, cancel reason). */
  reason: z.string().optional(),
  createdAt: z.number(),
  updatedAt: z.number(),
  /** Counts the events applied; a write with a lower version never replaces a higher one. */
  version: z.number().int(),
});
export type OrderDoc = z.infer<typeof orderDocSchema>;

export const openStatuses: ReadonlySet<OrderDoc['status']> = new Set(['new', 'submitted', 'partially_filled']);

export interface OrderQuery {
  readonly status?: 'open' | OrderDoc['status'];
  readonly symbol?: string;
  /** Last change in this range (epoch ms, inclusive). */
  readonly from?: number;
  readonly to?: number;
  /** Newest first; default 100. */
  readonly limit?: number;
}

/** Orders, unique by client order id. `put` keeps whichever version is higher. */
export interface OrderStore {
  put(order: OrderDoc): Promise<void>;
  get(clientOrderId: string): Promise<OrderDoc | undefined>;
  list(q?: OrderQuery): Promise<OrderDoc[]>;
}

export const fillDocSchema = z.object({
  /** The `order.filled` envelope id. */
  id: z.string().min(1),
  clientOrderId: z.string(),
  symbol: z.string(),
  side: z.enum(['buy', 'sell']),
  qty: z.number(),
  price: z.number(),
  fee: z.number(),
  time: z.number(),
  correlationId: z.string(),
});
export type FillDoc = z.infer<typeof fillDocSchema>;

export interface FillQuery {
  readonly clientOrderId?: string;
  readonly symbol?: string;
  readonly from?: number;
  readonly to?: number;
  /** Oldest first; default 1000. */
  readonly limit?: number;
}

/** Fills, unique by id (a re-recorded fill is stored once). */
export interface FillStore {
  add(fills: readonly FillDoc[]): Promise<void>;
  list(q?: FillQuery): Promise<FillDoc[]>;
}

export const portfolioDocSchema = z.object({
  /** The `portfolio.updated` envelope id. */
  id: z.string().min(1),
  time: z.number(),
  cash: z.number(),
  equity: z.number(),
  realizedPnl: z.number(),
  unrealizedPnl: z.number(),
  dayPnl: z.number(),
  drawdown: z.number(),
  positions: z.array(z.object({ symbol: z.string(), qty: z.number(), avgPrice: z.number(), lastPrice: z.number() })),
});
export type PortfolioDoc = z.infer<typeof portfolioDocSchema>;

/** Positions and portfolio snapshots (the equity curve at the points positions changed). */
export interface PortfolioStore {
  add(snapshot: PortfolioDoc): Promise<void>;
  latest(): Promise<PortfolioDoc | undefined>;
  /** Oldest first. */
  history(q?: { from?: number; to?: number; limit?: number }): Promise<PortfolioDoc[]>;
}

export const snapshotDocSchema = z.object({
  /** Whose state: an agent name, or `process:<instance>` for a whole embedded process. */
  key: z.string().min(1),
  /** Increases with every save; a save with a lower or equal seq than the stored one is ignored. */
  seq: z.number().int().nonnegative(),
  runId: z.string(),
  /** Wall time of the save. */
  savedAt: z.number(),
  /** XState persisted snapshots and other JSON state. */
  state: z.unknown(),
});
export type SnapshotDoc = z.infer<typeof snapshotDocSchema>;

/** Agent snapshots, written in order: the latest per key wins, an older one never replaces it. */
export interface SnapshotStore {
  save(doc: SnapshotDoc): Promise<void>;
  load(key: string): Promise<SnapshotDoc | undefined>;
}

export const conversationDocSchema = z.object({
  id: z.string().min(1),
  conversationId: z.string().min(1),
  role: z.enum(['user', 'assistant', 'tool', 'system']),
  text: z.string(),
  time: z.number(),
  /** Who: a Telegram/Discord user id, an API token name. */
  user: z.string().optional(),
});
export type ConversationDoc = z.infer<typeof conversationDocSchema>;

/** Chat history per conversation (for the chat interfaces), unique by message id. */
export interface ConversationStore {
  append(message: ConversationDoc): Promise<void>;
  /** The latest `limit` messages, oldest first. */
  history(conversationId: string, limit?: number): Promise<ConversationDoc[]>;
}

export interface StoreHealth {
  readonly ok: boolean;
  readonly kind: 'mongodb' | 'embedded';
  readonly detail: string;
}

/** All ports of one store. */
export interface Store {
  readonly kind: 'mongodb' | 'embedded';
  readonly events: EventStore;
  readonly orders: OrderStore;
  readonly fills: FillStore;
  readonly portfolio: PortfolioStore;
  readonly snapshots: SnapshotStore;
  readonly conversations: ConversationStore;
  /** Used by readiness: can the store take writes now? */
  health(): Promise<StoreHealth>;
  /** Writes everything accepted so far to durable storage (fsync / write concern). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A stored document failed validation when read back: reported with where it is and its id,
 * never skipped silently.
 */
export class StoreCorruptError extends Error {
  readonly code = 'store_corrupt';
  readonly retryable = false;
  constructor(
    readonly where: string,
    readonly docId: string | undefined,
    readonly problem: string,
  ) {
    super(`${where}${docId ? ` (id ${docId})` : ''}: ${problem}`);
    this.name = 'StoreCorruptError';
  }
}

/** The store cannot be reached or refused a write; retryable (the recorder buffers and retries). */
export class StoreUnavailableError extends Error {
  readonly code = 'store_unavailable';
  readonly retryable = true;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/** Sorts events into event-time order, ties kept in append order (stable sort). */
export function byEventTime(events: RecordedEvent[]): RecordedEvent[] {
  return events.sort((a, b) => a.env.time - b.env.time);
}
