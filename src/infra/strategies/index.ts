/** The public entry of src/infra/strategies: what other folders may import from it (ARCHITECTURE.md). */
export * from './load.js';
export * from './strategies-file.js';
