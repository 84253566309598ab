import type { Bus, BusObserver } from './bus.js';
import { registerBusSchemas } from './dead-letter.js';
import type { EnvelopeDeps } from './envelope.js';
import { MemoryBus } from './memory-bus.js';
import { connectNatsBus, type DurableBusOptions } from './nats-bus.js';
import type { SchemaRegistry } from './schema-registry.js';
import type { Logger } from '../src/observability/logger.js';

export interface CreateBusOptions {
  /** NATS server(s); unset means the in-memory bus. */
  readonly natsUrl?: string | undefined;
  /** Connection name (NATS). */
  readonly name: string;
  readonly registry: SchemaRegistry;
  readonly envelopeDeps: EnvelopeDeps;
  readonly logger: Logger;
  readonly maxPayloadBytes: number;
  readonly requestTimeoutMs: number;
  readonly observer?: BusObserver;
  readonly prefix?: string;
  /** In-memory only: see MemoryBusOptions.trustLocal. */
  readonly trustLocal?: boolean;
  /** NATS only: the JetStream order path (see DurableBusOptions); unset keeps all on core NATS. */
  readonly durable?: DurableBusOptions;
}

/** The order path: everything on `order.>` goes through JetStream. */
export const ORDER_PATH = ['order.>'] as const;

/**
 * The durable-path settings for a namespace: the production stream `SEXTANT_ORDERS` (file
 * storage, kept), or for a prefixed, throwaway namespace (backtest, test) its own in-memory
 * stream deleted at close.
 */
export function orderPath(prefix: string | undefined, deferAcks: boolean): DurableBusOptions {
  if (!prefix) return { subjects: ORDER_PATH, stream: 'SEXTANT_ORDERS', storage: 'file', deleteOnClose: false, deferAcks };
  return { subjects: ORDER_PATH, stream: `SEXTANT_ORDERS_${prefix.replace(/[^A-Za-z0-9_-]/g, '_')}`, storage: 'memory', deleteOnClose: true, deferAcks };
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
    ...(options.prefix ? { prefix: options.prefix } : {}),
  };
  if (options.natsUrl) return connectNatsBus({ url: options.natsUrl, name: options.name }, { ...common, ...(options.durable ? { durable: options.durable } : {}) });
  return new MemoryBus({ ...common, trustLocal: options.trustLocal ?? false });
}
