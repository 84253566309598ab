/** The public entry of agents/data: what other folders may import from it (ARCHITECTURE.md). */
export * from './agent.js';
export * from './bar-guard.js';
export * from './feeds/csv-feed.js';
export * from './feeds/csv-mapping.js';
export { TIME_DIRECTIVES } from './feeds/csv-time-format.js';
export * from './feeds/feed.js';
export * from './feeds/open-feed.js';
export * from './pump.js';
export * from './feeds/memory-feed.js';
export { seededPrng, type Prng } from './feeds/prng.js';
