/** The public entry of src/infra/recording: what other folders may import from it (ARCHITECTURE.md). */
export * from './recording.js';
export * from './stream-recording.js';
