import { createRequire } from 'node:module';
import type * as Transport from '@nats-io/transport-node';
import type * as JetStream from '@nats-io/jetstream';
import type * as KeyValue from '@nats-io/kv';

/**
 * The NATS client packages, loaded on first use. They are CommonJS, so `require` gives the same
 * module instances an `import` would; loading them lazily keeps them (~40 ms of start-up per
 * thread) out of processes that never connect: a backtest or a study on the in-memory bus, and
 * every worker thread of `sextant optimize`.
 */
const load = createRequire(import.meta.url);

let transport: typeof Transport | undefined;
let jetstream: typeof JetStream | undefined;
let keyValue: typeof KeyValue | undefined;

/** `@nats-io/transport-node`. */
export const natsTransport = (): typeof Transport =>
  (transport ??= load('@nats-io/transport-node') as typeof Transport);

/** `@nats-io/jetstream`. */
export const natsJetStream = (): typeof JetStream => (jetstream ??= load('@nats-io/jetstream') as typeof JetStream);

/** `@nats-io/kv`. */
export const natsKeyValue = (): typeof KeyValue => (keyValue ??= load('@nats-io/kv') as typeof KeyValue);
