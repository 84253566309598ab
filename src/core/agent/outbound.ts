import { emit, type EventObject } from 'xstate';
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
 * `cause` derives it from an earlier message the machine kept (a decision it deferred until a
 * later message, as the `event` it was handled as): it stays in that message's chain, with the id
 * it would have had as the first output of a step handling it.
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
    readonly cause?: {
      readonly id: string;
      readonly correlationId: string;
      readonly time: number;
      readonly event: string;
    };
  };
}[MessageType];

/**
 * A side effect a machine asks its binding to perform (a broker call): `effect.<name>` with a
 * payload. The binding's handler for it reports back with machine events, caused by the same
 * message as the request, so the chain stays intact however late the answer comes.
 */
export interface Effect {
  readonly type: `effect.${string}`;
  readonly payload: unknown;
}

/**
 * The effect every agent host performs itself: dead-letter something the machine could not use
 * (a strategy that threw, an invalid order it asked for) on `dlq.<subject>`, with the reason.
 */
export const DEAD_LETTER_EFFECT = 'effect.dead-letter';
export interface DeadLetterRequest {
  readonly subject: string;
  readonly code: string;
  readonly reason: string;
  readonly payload: unknown;
}
export const deadLetterEffect = (request: DeadLetterRequest): Effect => ({
  type: DEAD_LETTER_EFFECT,
  payload: request,
});

/** Everything a machine emits: messages to publish and effects to perform. */
export type Emitted = Outbound | Effect;

/** The outbox of a step that produced nothing (shared, never mutated). */
export const NO_OUTPUT: readonly Emitted[] = Object.freeze([]);

/** Machine contexts that publish carry their last step's outputs here. */
export interface WithOutbox {
  readonly outbox: readonly Emitted[];
}

export const isEffect = (e: Emitted): e is Effect => e.type.startsWith('effect.');

export type OutboundOptions = Pick<Outbound, 'time' | 'chain' | 'key' | 'release' | 'root' | 'cause'>;

/** Builds one output with its payload type checked against the catalog. */
export function out<T extends MessageType>(type: T, payload: PayloadOf<T>, extra: OutboundOptions = {}): Outbound {
  return { type, payload, ...extra } as Outbound;
}

/** What a publishing machine emits once per step: the step's outputs, in order. */
export interface OutboxEmitted {
  readonly type: 'outbox';
  readonly items: readonly Emitted[];
}

/**
 * The action every publishing machine ends a step with: emits the step's outputs (XState
 * `emit`, one event carrying them all, in order). Shared so the emit convention lives in one
 * place. This is the machine's own implementation, which tests driving a machine listen to; the
 * agent host provides its own `emitOutbox` (machine.provide) that keeps the outbox and publishes
 * it once the step's snapshot is in place, as the emit would, without the builtin's cost per step.
 * One per step, not one per output: XState resolves an `enqueueActions` block per step, which
 * cost more than the agents' own logic in a replay.
 */
export function emitOutbox<TContext extends WithOutbox, TEvent extends EventObject>() {
  return emit<TContext, TEvent, undefined, TEvent, OutboxEmitted>(({ context }) => ({
    type: 'outbox',
    items: context.outbox,
  }));
}
