import type { Bus, BusObserver } from './bus.js';
import { registerBusSchemas } from './dead-letter.js';
import type { EnvelopeDeps } from './envelope.js';
import { MemoryBus } from './memory-bus.js';
import { connectNatsBus } from './nats-bus.js';
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
  if (options.natsUrl) return connectNatsBus({ url: options.natsUrl, name: options.name }, common);
  return new MemoryBus({ ...common, trustLocal: options.trustLocal ?? false });
}
