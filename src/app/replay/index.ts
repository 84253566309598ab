/** The public entry of src/app/replay: what other folders may import from it (ARCHITECTURE.md). */
export * from './replay.js';
