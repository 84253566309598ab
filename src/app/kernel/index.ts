/** The public entry of src/app/kernel: what other folders may import from it (ARCHITECTURE.md). */
export * from './build-system.js';
export * from './catch-up.js';
export * from './checkpointer.js';
export * from './kernel.js';
export * from './open-store.js';
export * from './strategy-files.js';
