/** The public entry of src/infra/store: what other folders may import from it (ARCHITECTURE.md). */
export * from './daily-spend.js';
export * from './embedded/embedded-store.js';
export { checkDatabase, DB_FILE, type DatabaseCheck } from './embedded/sqlite-db.js';
export { LEGACY_FILES, type LegacyImport } from './embedded/legacy-import.js';
export * from './ports.js';
export * from './recorder.js';
export * from './store-queries.js';
export * from './write-watch.js';
