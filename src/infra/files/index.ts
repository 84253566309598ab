/** The public entry of src/infra/files: what other folders may import from it (ARCHITECTURE.md). */
export * from './append-log.js';
