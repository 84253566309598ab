/** The public entry of interfaces/chat: what other folders may import from it (ARCHITECTURE.md). */
export * from './repl.js';
