/** The public entry of src/infra/charts: what other folders may import from it (ARCHITECTURE.md). */
export * from './chart-assets.js';
