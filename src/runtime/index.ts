/** The public entry of src/runtime: what other folders may import from it (ARCHITECTURE.md). */
export * from './agent-host.js';
export * from './partitions.js';
