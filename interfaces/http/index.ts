/** The public entry of interfaces/http: what other folders may import from it (ARCHITECTURE.md). */
export * from './app.js';
export * from './serve.js';
