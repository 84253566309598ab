/** The public entry of interfaces/terminal: what other folders may import from it (ARCHITECTURE.md). */
export * from './narrator.js';
