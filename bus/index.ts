/** The public entry of bus: what other folders may import from it (ARCHITECTURE.md). */
export * from './codec.js';
export * from './create-bus.js';
export * from './errors.js';
export * from './key-value.js';
export * from './nats-bus.js';
export * from './nats-client.js';
export * from './quiesce.js';
export * from './nats-permissions.js';
