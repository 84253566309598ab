/** The public entry of src/infra/observability: what other folders may import from it (ARCHITECTURE.md). */
export * from './metrics.js';
export * from './tracing.js';
