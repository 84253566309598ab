/** The public entry of src/app/live: what other folders may import from it (ARCHITECTURE.md). */
export * from './live-system.js';
