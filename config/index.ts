/** The public entry of config: what other folders may import from it (ARCHITECTURE.md). */
export * from './config.js';
export * from './env-example.js';
export * from './load.js';
