import type { Clock } from '../ports/clock.js';
import type { IdSource } from '../ports/ids.js';

/**
 * The one message shape on the bus. `time` is event time in epoch milliseconds everywhere;
 * in replay and backtest it is the recorded/data time, so effects inherit their cause's time.
 */
export interface Envelope<P = unknown, T extends string = string> {
  /** Unique message id; also the JetStream `Nats-Msg-Id`, so re-publishing is deduplicated. */
  readonly id: string;
  readonly type: T;
  /** Payload schema version; readers reject versions they do not know. */
  readonly v: number;
  /** `<agent>/<instance>` that published it. */
  readonly source: string;
  /** Id of the chain; copied unchanged from cause to effect. Roots use their own id. */
  readonly correlationId: string;
  /** Id of the message that directly caused this one; absent for roots. */
  readonly causationId?: string;
  /** Event time, epoch ms. */
  readonly time: number;
  readonly payload: P;
}

/** What envelope factories need: id and clock ports and the publisher's identity. */
export interface EnvelopeDeps {
  readonly ids: IdSource;
  readonly clock: Clock;
  readonly source: string;
}

export interface RootOptions {
  v?: number;
  /** Event time; defaults to the clock. Data feeds pass the bar/tick time. */
  time?: number;
  /** Joins an existing chain (e.g. a person's command continuing a conversation). */
  correlationId?: string;
  /** Supplied id (replay reuses recorded ids); defaults to the IdSource. */
  id?: string;
}

/** Starts a chain: `correlationId` defaults to the message's own id, no `causationId`. */
export function rootEnvelope<P, T extends string>(
  deps: EnvelopeDeps,
  type: T,
  payload: P,
  options: RootOptions = {},
): Envelope<P, T> {
  const id = options.id ?? deps.ids.next();
  return {
    id,
    type,
    v: options.v ?? 1,
    source: deps.source,
    correlationId: options.correlationId ?? id,
    time: options.time ?? deps.clock.now(),
    payload,
  };
}

export interface DeriveOptions {
  v?: number;
  /** Event time; defaults to the parent's time so replays decide at the recorded time. */
  time?: number;
  id?: string;
}

/** An effect of `parent`: same `correlationId`, `causationId` = parent's id. */
export function deriveEnvelope<P, T extends string>(
  deps: EnvelopeDeps,
  parent: Pick<Envelope, 'id' | 'correlationId' | 'time'>,
  type: T,
  payload: P,
  options: DeriveOptions = {},
): Envelope<P, T> {
  return {
    id: options.id ?? deps.ids.next(),
    type,
    v: options.v ?? 1,
    source: deps.source,
    correlationId: parent.correlationId,
    causationId: parent.id,
    time: options.time ?? parent.time,
    payload,
  };
}

/** The fields every log line about a message carries. */
export function messageLogFields(env: Pick<Envelope, 'id' | 'type' | 'correlationId' | 'causationId'>) {
  return { msgId: env.id, type: env.type, correlationId: env.correlationId, causationId: env.causationId };
}
