import { inject } from 'vitest';
import { createBus, orderPath, type CreateBusOptions } from '../../bus/create-bus.js';
import type { DurableBusOptions } from '../../bus/nats-bus.js';
import type { Bus } from '../../src/core/messaging/bus.js';
import { patterns } from '../../src/core/messaging/subjects.js';
import type { SchemaRegistry } from '../../src/core/messaging/schema-registry.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { VirtualClock } from '../../src/core/ports/clock.js';
import { sequentialIds } from '../../src/core/ports/ids.js';

export type TransportName = 'memory' | 'nats';

/** The NATS URL of the run (tests/setup/services.ts starts a server when none is given). */
export const natsUrl: string = inject('natsUrl');

/** Transports the contract suites run against: both, always. */
export const transports: { name: TransportName }[] = [{ name: 'memory' }, { name: 'nats' }];

let runSeq = 0;

/** A unique subject namespace per test so parallel test files never see each other's traffic. */
export function testPrefix(): string {
  return `t${process.pid}x${Date.now().toString(36)}x${++runSeq}`;
}

export interface TestBusOptions {
  registry: SchemaRegistry;
  prefix: string;
  maxPayloadBytes?: number;
  requestTimeoutMs?: number;
  name?: string;
  trustLocal?: boolean;
  /** NATS: put the order path on JetStream (its own throwaway stream); default true. */
  durable?: boolean;
  /** NATS: changes to the order path's settings (file storage, short ack wait for chaos tests). */
  durableOptions?: Partial<DurableBusOptions>;
  /** NATS: a server of the test's own instead of the shared one. */
  natsUrl?: string;
}

/** Builds a bus of the named transport for tests. */
export function makeBus(transport: TransportName, options: TestBusOptions): Promise<Bus> {
  return createBus(testBusOptions(transport, options));
}

/** The settings of a test bus of the named transport (the system builder takes them too). */
export function testBusOptions(transport: TransportName, options: TestBusOptions): CreateBusOptions {
  return {
    natsUrl: transport === 'nats' ? (options.natsUrl ?? natsUrl) : undefined,
    name: options.name ?? 'sextant-test',
    registry: options.registry,
    envelopeDeps: {
      ids: sequentialIds(`bus-${options.prefix}`),
      clock: new VirtualClock(1_700_000_000_000),
      source: 'test/bus',
    },
    logger: silentLogger,
    maxPayloadBytes: options.maxPayloadBytes ?? 64 * 1024,
    requestTimeoutMs: options.requestTimeoutMs ?? 2000,
    prefix: options.prefix,
    trustLocal: options.trustLocal ?? false,
    ...(transport === 'nats' && options.durable !== false
      ? { durable: { ...orderPath(options.prefix, false), ...options.durableOptions } }
      : {}),
  };
}

/**
 * Every dead letter `bus` sees from now on, as `type: payload` lines (cut at 300 characters): a run
 * that dead-letters nothing ends with an empty list, and one that does shows why.
 */
export function collectDeadLetters(bus: Bus): string[] {
  const lines: string[] = [];
  bus.subscribe(patterns.dlq, (e) => void lines.push(`${e.type}: ${JSON.stringify(e.payload).slice(0, 300)}`));
  return lines;
}
