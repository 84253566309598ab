import type { MessageType, PayloadOf } from '../domain/messages.js';

/**
 * What a machine asks its binding to publish. Machines put these in `context.outbox` during a
 * step and emit them (XState `emit`); the binding turns each into an envelope.
 *
 * Causation: by default the output is derived from the message the machine was handling.
 * `chain: 'previous'` derives it from the previous output of the same step (signal -> intent);
 * `chain: { key }` from the output last registered under `key` (an order's `order.submitted`,
 * so a fill on a later bar still belongs to the order's chain). `key` registers this output;
 * `release` forgets a key once its chain is over. `root` starts a new chain (data feeds).
 */
export type Outbound = {
  [T in MessageType]: {
    readonly type: T;
    readonly payload: PayloadOf<T>;
    /** Event time; defaults to the cause's time. */
    readonly time?: number;
    readonly chain?: 'previous' | { readonly key: string };
    readonly key?: string;
    readonly release?: string;
    readonly root?: boolean;
  };
}[MessageType];

/** The outbox of a step that produced nothing (shared, never mutated). */
export const NO_OUTPUT: readonly Outbound[] = Object.freeze([]);

/** Machine contexts that publish carry their last step's outputs here. */
export interface WithOutbox {
  readonly outbox: readonly Outbound[];
}

export type OutboundOptions = Pick<Outbound, 'time' | 'chain' | 'key' | 'release' | 'root'>;

/** Builds one output with its payload type checked against the catalog. */
export function out<T extends MessageType>(type: T, payload: PayloadOf<T>, extra: OutboundOptions = {}): Outbound {
  return { type, payload, ...extra } as Outbound;
}
