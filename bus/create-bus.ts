import {
  type Bus,
  type BusObserver,
  registerBusSchemas,
  type EnvelopeDeps,
  RECORDED_SUBJECTS,
  type SchemaRegistry,
  type Logger,
  type MessageTracer,
} from '../src/core/index.js';
import { MemoryBus } from './memory-bus.js';
import { connectNatsBus, type DurableBusOptions, type NatsAuth } from './nats-bus.js';
import { recordingStreamOf } from './jetstream-path.js';

export interface CreateBusOptions {
  /** NATS server(s); unset means the in-memory bus. */
  readonly natsUrl?: string | undefined;
  /** Connection name (NATS). */
  readonly name: string;
  /** NATS only: how to sign in (a deployment's role user; bus/nats-permissions.ts). */
  readonly natsAuth?: NatsAuth;
  /** NATS only: the role's reply inbox (`_INBOX.<role>`). */
  readonly inboxPrefix?: string;
  readonly registry: SchemaRegistry;
  readonly envelopeDeps: EnvelopeDeps;
  readonly logger: Logger;
  readonly maxPayloadBytes: number;
  readonly requestTimeoutMs: number;
  readonly observer?: BusObserver;
  /** Tracing (off when unset): see MessageTracer. */
  readonly tracer?: MessageTracer | undefined;
  readonly prefix?: string;
  /** In-memory only: see MemoryBusOptions.trustLocal. */
  readonly trustLocal?: boolean;
  /** NATS only: the JetStream order path (see DurableBusOptions); unset keeps all on core NATS. */
  readonly durable?: DurableBusOptions;
}

/** The order path: everything on `order.>` goes through JetStream. */
export const ORDER_PATH = ['order.>'] as const;

/**
 * The streams of a namespace: `SEXTANT` (or `SEXTANT_<namespace>`) holds the order path, file
 * storage, kept; with `record`, `SEXTANT_RECORDING` (`SEXTANT_<namespace>_RECORDING`) holds every
 * Sextant subject (the order path sourced from the first), kept as long as its limits say. A
 * throwaway namespace (a backtest, a test) gets an in-memory order stream deleted at close.
 */
export function orderPath(
  prefix: string | undefined,
  deferAcks: boolean,
  options: { throwaway?: boolean; ackWaitMs?: number; record?: { maxAgeMs: number; maxBytes: number } } = {},
): DurableBusOptions {
  const throwaway = options.throwaway ?? prefix !== undefined;
  return {
    subjects: ORDER_PATH,
    stream: streamName(prefix),
    storage: throwaway ? 'memory' : 'file',
    deleteOnClose: throwaway,
    deferAcks,
    ...(options.ackWaitMs ? { ackWaitMs: options.ackWaitMs } : {}),
    ...(options.record
      ? {
          recording: {
            subjects: RECORDED_SUBJECTS,
            maxAgeMs: options.record.maxAgeMs,
            maxBytes: options.record.maxBytes,
          },
        }
      : {}),
  };
}

/** The recording stream of a namespace (see orderPath). */
export function recordingStreamName(prefix: string | undefined): string {
  return recordingStreamOf(streamName(prefix));
}

/** The order stream of a namespace (see orderPath). */
export function streamName(prefix: string | undefined): string {
  return prefix ? `SEXTANT_${prefix.replace(/[^A-Za-z0-9_-]/g, '_')}` : 'SEXTANT';
}

/** Builds the bus the configuration asks for: NATS when a URL is given, in-memory otherwise. */
export async function createBus(options: CreateBusOptions): Promise<Bus> {
  registerBusSchemas(options.registry);
  const common = {
    registry: options.registry,
    envelopeDeps: options.envelopeDeps,
    logger: options.logger.child({ component: 'bus' }),
    maxPayloadBytes: options.maxPayloadBytes,
    requestTimeoutMs: options.requestTimeoutMs,
    ...(options.observer ? { observer: options.observer } : {}),
    ...(options.tracer ? { tracer: options.tracer } : {}),
    ...(options.prefix ? { prefix: options.prefix } : {}),
  };
  if (options.natsUrl)
    return connectNatsBus(
      { url: options.natsUrl, name: options.name, auth: options.natsAuth, inboxPrefix: options.inboxPrefix },
      { ...common, ...(options.durable ? { durable: options.durable } : {}) },
    );
  return new MemoryBus({ ...common, trustLocal: options.trustLocal ?? false });
}
