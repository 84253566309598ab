/** The public entry of interfaces/notify: what other folders may import from it (ARCHITECTURE.md). */
export * from './notifier.js';
